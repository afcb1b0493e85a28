// The msg room's native side reached from JS: a C++ producer or consumer of an SPSC ring
// (src/msg/spsc.h) running on a thread of libuv's pool, on the bytes a JS party uses at the same
// time. It passes numbered messages (the interop tests and the benchmarks):
//
//   msgSpscProduce(region, count, size) -> Promise<count>
//     enqueues `count` binary messages of `size` (>= 4) bytes: message i holds i as a u32 (little
//     endian) in bytes 0..3 and the byte (i & 255) in every other byte.
//   msgSpscConsume(region, count) -> Promise<{ count, sum }>
//     dequeues `count` messages and sums the u32 at byte 0 of each (as a double: exact to 2^53).
//   msgMpmcProduce(region, count, size, producer) -> Promise<count>
//     enqueues `count` binary messages of `size` (>= 8) bytes on an MPMC queue with an owner
//     record of its own thread: message i holds `producer` and i as u32 (little endian) in bytes
//     0..7 and (i & 255) in every other byte.
//   msgMpmcProduceBatch(region, count, size, producer, batch) -> Promise<count>
//     the same messages as msgMpmcProduce, enqueued with EnqueueBatch() of `batch` (1..64)
//     messages at a time (the last batch may be shorter).
//   msgMpmcConsumeBatch(region, count, batch) -> Promise<{ count, sum }>
//     dequeues `count` messages of at least 8 bytes (as msgMpmcProduce's, from any producer) with
//     DequeueBatch() of up to `batch` (1..64) at a time, with an owner record of its own thread;
//     checks that each producer's numbers increase (ERR_CORRUPT if not) and sums them.
//   msgChannelSend(region, count, size) -> Promise<sent>
//     sends up to `count` messages of `size` (>= 4) bytes as msgSpscProduce's on a channel (an
//     MPMC queue region) with an owner record of its own thread, then closes the channel; stops
//     early, without error, when another party closed it first. Resolves how many it sent.
//   msgChannelReceive(region) -> Promise<{ count, sum }>
//     receives on a channel until its end (closed and drained), summing the u32 at byte 0.
//   msgYield() -> undefined
//     sched_yield(): a waiting party gives its CPU to another runnable thread there, if any,
//     before it parks (lib/msg/park.js).
//
// `region` is a Uint8Array over a SharedArrayBuffer covering the ring (header included). The job
// keeps a reference to it and a pin of the buffer's memory (SharedMemoryPin) from its start until
// its thread is joined: the reference keeps the object alive, and the pin counts the job as a
// user of the memory, so that a segment's close() in this thread while the job runs leaves the
// pages shared (as for a worker that holds the buffer, docs/api.md `segment.close()` case 3)
// instead of swapping them for private zeros under the job's thread.
//
// Each job runs on a thread of its own (not libuv's pool) and settles its promise through a
// thread-safe function of its own, which keeps the event loop alive until then. Teardown of the
// environment (worker.terminate(), process exit) must not wait for a job that waits for ever (a
// consumer on a ring nobody fills): Node's teardown waits for the environment's pending pool work
// before it runs the cleanup hooks, so a pool job could never be told to stop. Instead the job's
// environment cleanup hook raises its stop flag and joins its thread. The job looks at the flag
// where it sleeps (the core's StopCheck, asked once per sleep of at most 200 ms) and, while it
// does not sleep, once every kStopStride messages; the core's calls themselves do nothing more per
// message. A stopped job's promise is never settled (nobody is left to see it).
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include <sched.h>
#include <sys/types.h>
#include <unistd.h>
#include "binding/base/args.h"
#include "binding/base/module.h"
#include "binding/segment/external_sab.h"

#include "msg/channel.h"
#include "msg/mpmc.h"
#include "msg/spsc.h"

namespace L = shm::layout;

namespace {

constexpr int64_t kForever = -1;

enum class Job {
  kSpscProduce,
  kSpscConsume,
  kMpmcProduce,
  kChannelSend,
  kChannelReceive,
  kMpmcProduceBatch,
  kMpmcConsumeBatch
};

bool Produces(Job job) {
  return job != Job::kSpscConsume && job != Job::kChannelReceive && job != Job::kMpmcConsumeBatch;
}

bool OnMpmc(Job job) {
  return job == Job::kMpmcProduce || job == Job::kChannelSend || job == Job::kChannelReceive ||
         job == Job::kMpmcProduceBatch || job == Job::kMpmcConsumeBatch;
}

// The most producers a native batch consumer tells apart (their order is checked per producer).
constexpr uint32_t kMaxProducers = 1024;

shm::OwnerIdentity ThisThread() {
  return shm::IdentityOf(static_cast<uint32_t>(getpid()), static_cast<uint32_t>(gettid()));
}

constexpr const char* kJobNames[] = {"native SPSC producer",      "native SPSC consumer",
                                     "native MPMC producer",      "native channel sender",
                                     "native channel receiver",   "native MPMC batch producer",
                                     "native MPMC batch consumer"};

// How many messages a job passes between two looks at its stop flag when it does not sleep (a
// producer whose consumer keeps up): a teardown waits for at most that many more.
constexpr uint32_t kStopStride = 1024;

class MsgJob {
 public:
  MsgJob(uint8_t* base, size_t bytes, Job job, uint32_t count, uint32_t size, uint32_t producer,
         uint32_t batch)
      : base_(base),
        bytes_(bytes),
        produce_(Produces(job)),
        job_(job),
        count_(count),
        size_(size),
        producer_(producer),
        batch_(batch) {}

  // Starts the job: its promise, its thread-safe function, its cleanup hook, its thread.
  // Returns the promise, or nullptr with a JS exception (nothing is left behind).
  static napi_value Start(napi_env env, napi_value region, napi_value buffer, MsgJob* job);

  void Execute() {
    if (job_ == Job::kMpmcProduce) {
      ProduceMpmc();
      return;
    }
    if (job_ == Job::kMpmcProduceBatch) {
      ProduceMpmcBatches();
      return;
    }
    if (job_ == Job::kMpmcConsumeBatch) {
      ConsumeMpmcBatches();
      return;
    }
    if (job_ == Job::kChannelSend || job_ == Job::kChannelReceive) {
      RunChannel();
      return;
    }
    shm::msg::SpscRing ring;
    status_ = ring.Attach(base_, bytes_);
    if (status_ != L::kOk) return;
    if (produce_) {
      std::vector<uint8_t> msg(size_);
      for (uint32_t i = 0; i < count_; ++i) {
        if (StopDue(i)) return Stopped();
        std::memset(msg.data(), static_cast<int>(i & 255), size_);
        std::memcpy(msg.data(), &i, sizeof i);
        status_ = ring.Enqueue(msg.data(), size_, L::kMsgTagBinary, kForever, Stop());
        if (status_ == L::kErrQueueTimeout) return Stopped();  // no deadline: only a stop
        if (status_ != L::kOk) return;
        ++done_;
      }
      return;
    }
    std::vector<uint8_t> msg(ring.max_message());
    for (uint32_t i = 0; i < count_; ++i) {
      if (StopDue(i)) return Stopped();
      uint32_t tag = 0;
      const int64_t n =
          ring.Dequeue(msg.data(), static_cast<uint32_t>(msg.size()), &tag, kForever, Stop());
      if (n == -1) return Stopped();  // empty after no deadline: only a stop
      if (n < 4) {
        status_ = L::kErrCorrupt;
        return;
      }
      uint32_t v = 0;
      std::memcpy(&v, msg.data(), sizeof v);
      sum_ += v;
      ++done_;
    }
  }

  void ProduceMpmc() {
    shm::msg::MpmcQueue q;
    status_ = q.Attach(base_, bytes_, ThisThread());
    if (status_ != L::kOk) return;
    std::vector<uint8_t> msg(size_);
    for (uint32_t i = 0; i < count_; ++i) {
      if (StopDue(i)) return Stopped();
      std::memset(msg.data(), static_cast<int>(i & 255), size_);
      std::memcpy(msg.data(), &producer_, sizeof producer_);
      std::memcpy(msg.data() + 4, &i, sizeof i);
      status_ = q.Enqueue(msg.data(), size_, L::kMsgTagBinary, kForever, Stop());
      if (status_ == L::kErrQueueTimeout) return Stopped();
      if (status_ != L::kOk) return;
      ++done_;
    }
  }

  void ProduceMpmcBatches() {
    shm::msg::MpmcQueue q;
    status_ = q.Attach(base_, bytes_, ThisThread());
    if (status_ != L::kOk) return;
    std::vector<uint8_t> bytes(uint64_t{batch_} * size_);
    std::vector<shm::msg::MpmcMessage> msgs(batch_);
    while (done_ < count_) {
      if (Stopping()) return Stopped();  // once per batch
      const uint32_t n = std::min(batch_, count_ - done_);
      for (uint32_t k = 0; k < n; ++k) {
        const uint32_t i = done_ + k;
        uint8_t* m = bytes.data() + uint64_t{k} * size_;
        std::memset(m, static_cast<int>(i & 255), size_);
        std::memcpy(m, &producer_, sizeof producer_);
        std::memcpy(m + 4, &i, sizeof i);
        msgs[k] = shm::msg::MpmcMessage{m, size_, L::kMsgTagBinary};
      }
      uint32_t enqueued = 0;
      status_ = q.EnqueueBatch(msgs.data(), n, &enqueued, kForever, Stop());
      done_ += enqueued;
      if (status_ == L::kErrQueueTimeout) return Stopped();
      if (status_ != L::kOk) return;
    }
  }

  void ConsumeMpmcBatches() {
    shm::msg::MpmcQueue q;
    status_ = q.Attach(base_, bytes_, ThisThread());
    if (status_ != L::kOk) return;
    std::vector<uint8_t> out(uint64_t{batch_} * q.message_bytes());
    std::vector<shm::msg::MpmcSlice> slices(batch_);
    std::vector<int64_t> last(kMaxProducers, -1);
    while (done_ < count_) {
      if (Stopping()) return Stopped();  // once per batch
      const uint32_t got = q.DequeueBatch(out.data(), out.size(), slices.data(),
                                          std::min(batch_, count_ - done_), kForever, Stop());
      if (got == 0) {  // nothing after no deadline: damage, or a stop
        if (!q.corrupt()) return Stopped();
        status_ = L::kErrCorrupt;
        return;
      }
      for (uint32_t j = 0; j < got; ++j) {
        uint32_t head[2];
        if (slices[j].length < sizeof head) {
          status_ = L::kErrCorrupt;
          return;
        }
        std::memcpy(head, out.data() + slices[j].offset, sizeof head);
        if (head[0] >= kMaxProducers || static_cast<int64_t>(head[1]) <= last[head[0]]) {
          status_ = L::kErrCorrupt;  // out of order, or twice
          return;
        }
        last[head[0]] = head[1];
        sum_ += head[1];
        ++done_;
      }
    }
  }

  void RunChannel() {
    shm::msg::Channel ch;
    status_ = ch.Attach(base_, bytes_, ThisThread());
    if (status_ != L::kOk) return;
    std::vector<uint8_t> msg(job_ == Job::kChannelSend ? size_ : ch.message_bytes());
    if (job_ == Job::kChannelReceive) {
      for (uint32_t i = 0;; ++i) {
        if (StopDue(i)) return Stopped();
        uint32_t tag = 0;
        const int64_t n =
            ch.Receive(msg.data(), static_cast<uint32_t>(msg.size()), &tag, kForever, Stop());
        if (n == shm::msg::Channel::kEnd) return;
        if (n == shm::msg::Channel::kEmpty) return Stopped();  // no deadline: only a stop
        if (n < 4) {
          status_ = L::kErrCorrupt;
          return;
        }
        uint32_t v = 0;
        std::memcpy(&v, msg.data(), sizeof v);
        sum_ += v;
        ++done_;
      }
    }
    for (uint32_t i = 0; i < count_; ++i) {
      if (StopDue(i)) return Stopped();
      std::memset(msg.data(), static_cast<int>(i & 255), size_);
      std::memcpy(msg.data(), &i, sizeof i);
      const L::Status s = ch.Send(msg.data(), size_, L::kMsgTagBinary, kForever, Stop());
      if (s == L::kErrChannelClosed) return;  // closed by another party: done, not an error
      if (s == L::kErrQueueTimeout) return Stopped();
      status_ = s;
      if (status_ != L::kOk) return;
      ++done_;
    }
    const L::Status closed = ch.Close();
    if (closed != L::kErrChannelClosed) status_ = closed;
  }

  // On the JS thread, once the thread has queued its result: settles the promise.
  void Settle(Napi::Env env) {
    if (status_ != L::kOk) {
      napi_reject_deferred(env, deferred_,
                           MakeStatusError(env, status_, kJobNames[static_cast<int>(job_)]));
      return;
    }
    if (produce_) {
      napi_resolve_deferred(env, deferred_, Napi::Number::New(env, done_));
      return;
    }
    Napi::Object r = Napi::Object::New(env);
    r.Set("count", Napi::Number::New(env, done_));
    r.Set("sum", Napi::Number::New(env, sum_));
    napi_resolve_deferred(env, deferred_, r);
  }

 private:
  static void* Run(void* arg);
  static void Deliver(napi_env env, napi_value, void* context, void*);
  static void OnTeardown(void* arg);
  static void Finalize(napi_env, void* data, void*);
  // Raises the stop flag and joins the thread (idempotent; JS thread only).
  void StopAndJoin();

  bool Stopping() const { return stop_.load(std::memory_order_relaxed); }
  static bool StopAsked(void* ctx) {
    return static_cast<const std::atomic<bool>*>(ctx)->load(std::memory_order_relaxed);
  }
  shm::msg::StopCheck Stop() { return shm::msg::StopCheck{StopAsked, &stop_}; }
  // Every kStopStride messages (i counts them): the flag, when nothing sleeps to ask it.
  bool StopDue(uint32_t i) const { return i % kStopStride == 0 && Stopping(); }
  // The job was stopped: its result is never delivered, the status only says why it ended.
  void Stopped() { status_ = L::kErrClosed; }

  napi_env env_ = nullptr;
  napi_deferred deferred_ = nullptr;
  napi_ref region_ = nullptr;
  SharedMemoryPin memory_;  // held from Start until the thread is joined (released with region_)
  napi_threadsafe_function tsfn_ = nullptr;
  pthread_t thread_{};
  bool running_ = false;  // the thread was started and is not joined yet
  bool hooked_ = false;   // the cleanup hook is registered
  std::atomic<bool> stop_{false};
  uint8_t* base_;
  size_t bytes_;
  bool produce_;
  Job job_;
  uint32_t count_;
  uint32_t size_;
  uint32_t producer_;
  uint32_t batch_;
  L::Status status_ = L::kOk;
  uint32_t done_ = 0;
  double sum_ = 0;
};

void* MsgJob::Run(void* arg) {
  auto* job = static_cast<MsgJob*>(arg);
  job->Execute();
  // Fails only while the function is closing (teardown): the cleanup hook then owns the job.
  napi_call_threadsafe_function(job->tsfn_, nullptr, napi_tsfn_nonblocking);
  return nullptr;
}

void MsgJob::StopAndJoin() {
  if (!running_) return;
  stop_.store(true, std::memory_order_relaxed);
  pthread_join(thread_, nullptr);
  running_ = false;
}

// On the JS thread: the job is over. env is null when the function is being torn down, after
// the cleanup hook stopped the job: nothing is left to settle.
void MsgJob::Deliver(napi_env env, napi_value, void* context, void*) {
  auto* job = static_cast<MsgJob*>(context);
  if (env == nullptr || job->region_ == nullptr) return;
  job->StopAndJoin();  // the thread returns right after queueing this call
  if (job->hooked_) napi_remove_env_cleanup_hook(env, OnTeardown, job);
  job->hooked_ = false;
  job->Settle(Napi::Env(env));
  napi_delete_reference(env, job->region_);
  job->region_ = nullptr;
  job->memory_.Release();
  napi_release_threadsafe_function(job->tsfn_, napi_tsfn_release);  // Finalize frees the job
}

// The environment's teardown: the promise stays pending, nobody can observe it any more.
void MsgJob::OnTeardown(void* arg) {
  auto* job = static_cast<MsgJob*>(arg);
  job->hooked_ = false;
  job->StopAndJoin();
  if (job->region_ != nullptr) napi_delete_reference(job->env_, job->region_);
  job->region_ = nullptr;
  job->memory_.Release();
}

// Runs after Deliver released the function, or at teardown after OnTeardown (the hook was
// registered after the function was made, and hooks run last-in, first-out); should the
// function be closed first, it stops the job itself.
void MsgJob::Finalize(napi_env, void* data, void*) {
  auto* job = static_cast<MsgJob*>(data);
  if (job->hooked_) napi_remove_env_cleanup_hook(job->env_, OnTeardown, job);
  job->StopAndJoin();
  delete job;
}

napi_value MsgJob::Start(napi_env env, napi_value region, napi_value buffer, MsgJob* job) {
  job->env_ = env;
  napi_value promise = nullptr;
  napi_value name = nullptr;
  if (!job->memory_.Take(env, buffer) ||
      napi_create_promise(env, &job->deferred_, &promise) != napi_ok ||
      napi_create_string_utf8(env, kJobNames[static_cast<int>(job->job_)], NAPI_AUTO_LENGTH,
                              &name) != napi_ok ||
      napi_create_reference(env, region, 1, &job->region_) != napi_ok) {
    delete job;  // only while the environment stops: no promise is given out
    return nullptr;
  }
  if (napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, job, Finalize, job,
                                      Deliver, &job->tsfn_) != napi_ok) {
    napi_delete_reference(env, job->region_);
    delete job;
    return nullptr;
  }
  // From here Finalize frees the job, once the function is released.
  job->hooked_ = napi_add_env_cleanup_hook(env, OnTeardown, job) == napi_ok;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  const int rc = pthread_create(&job->thread_, &attr, Run, job);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    shm::SysError err{rc, "pthread_create", nullptr};
    napi_reject_deferred(env, job->deferred_,
                         MakeStatusError(Napi::Env(env), L::kErrShmIo,
                                         "cannot start the native job's thread", &err));
    napi_delete_reference(env, job->region_);
    job->region_ = nullptr;
    job->memory_.Release();
    napi_release_threadsafe_function(job->tsfn_, napi_tsfn_release);
    return promise;
  }
  job->running_ = true;
  return promise;
}

// Reads argument 0 as a Uint8Array over a SharedArrayBuffer (stored in *sab).
bool GetRegion(const Napi::CallbackInfo& info, uint8_t** base, size_t* bytes, napi_value* sab) {
  Napi::Env env = info.Env();
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer = nullptr;
  bool is_ta = false, is_ab = true;
  if (info.Length() < 1 || napi_is_typedarray(env, info[0], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, info[0], &type, &length, &data, &buffer, nullptr) != napi_ok ||
      type != napi_uint8_array || napi_is_arraybuffer(env, buffer, &is_ab) != napi_ok || is_ab) {
    ThrowTypeError(env, "The \"region\" argument must be a Uint8Array over a SharedArrayBuffer");
    return false;
  }
  *base = static_cast<uint8_t*>(data);
  *bytes = length;
  *sab = buffer;
  return true;
}

Napi::Value Start(const Napi::CallbackInfo& info, Job job) {
  Napi::Env env = info.Env();
  uint8_t* base = nullptr;
  size_t bytes = 0;
  napi_value sab = nullptr;
  if (!GetRegion(info, &base, &bytes, &sab)) return env.Undefined();
  const bool produce = Produces(job);
  int64_t count = 0, size = 0, producer = 0, batch = 0;
  if (job != Job::kChannelReceive && !GetIntegerArg(info, 1, "count", 0, 4294967295.0, &count)) {
    return env.Undefined();
  }
  const double min_size = job == Job::kMpmcProduce || job == Job::kMpmcProduceBatch ? 8 : 4;
  if (produce && !GetIntegerArg(info, 2, "size", min_size, L::kMsgLengthMask, &size)) {
    return env.Undefined();
  }
  if ((job == Job::kMpmcProduce || job == Job::kMpmcProduceBatch) &&
      !GetIntegerArg(info, 3, "producer", 0, 4294967295.0, &producer)) {
    return env.Undefined();
  }
  if (job == Job::kMpmcProduceBatch &&
      !GetIntegerArg(info, 4, "batch", 1, shm::msg::MpmcQueue::kMaxClaim, &batch)) {
    return env.Undefined();
  }
  if (job == Job::kMpmcConsumeBatch &&
      !GetIntegerArg(info, 2, "batch", 1, shm::msg::MpmcQueue::kMaxClaim, &batch)) {
    return env.Undefined();
  }
  if (OnMpmc(job)) {
    // Checked here so that a bad region throws at once; the thread attaches with its own record.
    shm::msg::MpmcQueue probe;
    const L::Status s =
        probe.Attach(base, bytes, shm::IdentityOf(static_cast<uint32_t>(getpid()), 0));
    if (s != L::kOk) {
      ThrowStatus(env, s, "Not an MPMC queue");
      return env.Undefined();
    }
    if (size > probe.message_bytes()) {
      ThrowStatus(env, L::kErrMessageTooLarge, "The queue cannot hold these messages");
      return env.Undefined();
    }
  } else {
    shm::msg::SpscRing probe;
    const L::Status s = probe.Attach(base, bytes);
    if (s == L::kErrBadVersion) {
      ThrowStatus(env, s,
                  "An SPSC ring of another format version, made by another version of "
                  "shmstore: create it again");
      return env.Undefined();
    }
    if (s != L::kOk) {
      ThrowStatus(env, s, "Not an SPSC ring");
      return env.Undefined();
    }
    if (probe.element_size() != 0 || (produce && size > probe.max_message())) {
      ThrowStatus(env, L::kErrMessageTooLarge, "The ring cannot hold these messages");
      return env.Undefined();
    }
  }
  auto* j = new MsgJob(base, bytes, job, static_cast<uint32_t>(count), static_cast<uint32_t>(size),
                       static_cast<uint32_t>(producer), static_cast<uint32_t>(batch));
  napi_value promise = MsgJob::Start(env, info[0], sab, j);
  return promise != nullptr ? Napi::Value(env, promise) : env.Undefined();
}

Napi::Value Produce(const Napi::CallbackInfo& info) {
  return Start(info, Job::kSpscProduce);
}

Napi::Value Consume(const Napi::CallbackInfo& info) {
  return Start(info, Job::kSpscConsume);
}

Napi::Value ProduceMpmc(const Napi::CallbackInfo& info) {
  return Start(info, Job::kMpmcProduce);
}

Napi::Value ProduceMpmcBatches(const Napi::CallbackInfo& info) {
  return Start(info, Job::kMpmcProduceBatch);
}

Napi::Value ConsumeMpmcBatches(const Napi::CallbackInfo& info) {
  return Start(info, Job::kMpmcConsumeBatch);
}

Napi::Value ChannelSend(const Napi::CallbackInfo& info) {
  return Start(info, Job::kChannelSend);
}

Napi::Value ChannelReceive(const Napi::CallbackInfo& info) {
  return Start(info, Job::kChannelReceive);
}

// Always succeeds on Linux (sched_yield(2)); the result says nothing a caller could use.
Napi::Value Yield(const Napi::CallbackInfo& info) {
  sched_yield();
  return info.Env().Undefined();
}

}  // namespace

void InitMsg(Napi::Env env, Napi::Object exports) {
  exports.Set("msgSpscProduce", Napi::Function::New(env, Produce, "msgSpscProduce"));
  exports.Set("msgSpscConsume", Napi::Function::New(env, Consume, "msgSpscConsume"));
  exports.Set("msgMpmcProduce", Napi::Function::New(env, ProduceMpmc, "msgMpmcProduce"));
  exports.Set("msgMpmcProduceBatch",
              Napi::Function::New(env, ProduceMpmcBatches, "msgMpmcProduceBatch"));
  exports.Set("msgMpmcConsumeBatch",
              Napi::Function::New(env, ConsumeMpmcBatches, "msgMpmcConsumeBatch"));
  exports.Set("msgChannelSend", Napi::Function::New(env, ChannelSend, "msgChannelSend"));
  exports.Set("msgChannelReceive", Napi::Function::New(env, ChannelReceive, "msgChannelReceive"));
  exports.Set("msgYield", Napi::Function::New(env, Yield, "msgYield"));
}
