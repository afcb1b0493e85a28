// futexWait / futexWaitAsync / futexWake / futexWakeOwn over an Int32Array on a SharedArrayBuffer.
//
// waitAsync hands each pending wait to the environment's WaitWatch (src/segment/futex_watch.h):
// a few watcher threads, each blocked in one futex_waitv over up to 127 waits. Where the kernel
// lacks futex_waitv (Linux < 5.16), or SHMSTORE_FUTEX_WAITV=0 is set in the environment, each
// pending wait runs on its own small thread blocked in the shared futex instead. Either way the
// result comes back to the JS thread through one thread-safe function per environment (which
// also keeps the event loop alive while waits are pending).
//
// Teardown (worker.terminate(), environment exit) must not hang on those threads. The
// environment cleanup hook stops and joins the watchers (they wake on their control word), and
// marks every thread-per-wait wait cancelled and wakes it with a futex wake restricted to that
// wait's own bitset bit, then joins its thread:
// - sync waiters use bitset bit 0 and async waiters one of bits 1..31, so futex.wake (all bits)
//   reaches everybody while a cancellation wake reaches only async waiters sharing that bit;
//   another waiter woken that way returns 'ok' early, which futex callers must tolerate anyway
//   (a futex wait can return spuriously: always re-check the word).
// - a cancellation wake can miss a thread that has not entered the kernel yet, so the hook
//   repeats the wake until the join succeeds. futexWakeOwn ends a thread-per-wait wait the same
//   way: the word did not change, so a wake that missed would leave it waiting until its timeout.
// - the hook is registered after the thread-safe function is created: hooks run last-in,
//   first-out, so every thread is joined before Node closes that function.
//
// A segment closed in this thread swaps the pages of its mapping for private zeros when nothing
// else holds them (binding/segment/segment.cc). A wait pending there would then wait for ever on
// the shared word no view of this thread reaches, keeping the event loop alive: before the swap
// the segment calls RejectFutexWaitsIn, which takes those waits from their watcher (or cancels
// their thread) while the shared word is still mapped, and rejects them with ERR_CLOSED. A wait
// settled by a watcher or thread just before that is delivered later, to nobody (`dropped`).
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <unordered_set>
#include <vector>

#include "binding/segment/futex.h"

#include "binding/base/args.h"
#include "binding/base/module.h"
#include "segment/futex.h"
#include "segment/futex_watch.h"

namespace futex = shm::futex;

struct AsyncWait;

struct FutexState {
  napi_env env = nullptr;
  napi_threadsafe_function tsfn = nullptr;
  std::unordered_set<AsyncWait*> waits;  // touched only on the JS thread
  // Settled on the JS thread (RejectFutexWaitsIn; futexWakeOwn, thread-per-wait waits) after their
  // watcher or thread had settled them: their delivery is still to come (JS thread).
  std::unordered_set<AsyncWait*> dropped;
  shm::futex::WaitWatch* watch = nullptr;  // null: a thread per wait
  bool closed = false;                     // set by Cleanup; results arriving later are dropped
  uint32_t next_bit = 0;
};

// addr, expected, deadline_ns and result come from WatchedWait; the thread-per-wait path uses
// them too (with timeout_ns instead of the deadline).
struct AsyncWait : shm::futex::WatchedWait {
  FutexState* state = nullptr;
  bool threaded = false;  // runs on its own thread (no futex_waitv)
  int64_t timeout_ns = futex::kForever;
  uint32_t bitset = 0;
  napi_deferred deferred = nullptr;
  napi_ref keep = nullptr;  // the Int32Array: keeps the memory mapped while we wait on it
  pthread_t thread{};
  std::atomic<bool> cancelled{false};
  bool delivered = false;  // RunWait queued its delivery (read after the thread is joined)
};

namespace {

constexpr uint32_t kSyncBitset = 1u;  // bit 0: never targeted by cancellation wakes

const char* ResultString(futex::WaitResult r) {
  switch (r) {
    case futex::WaitResult::kOk:
      return "ok";
    case futex::WaitResult::kNotEqual:
      return "not-equal";
    default:
      return "timed-out";
  }
}

// Joins a cancelled wait's thread, waking it until it leaves the kernel. RunWait reads
// `cancelled` just before its futex wait, so a thread that had not got that far returns without
// waiting; a wake misses only a thread caught between that read and the kernel, and the next wake
// reaches it. The joins between wakes start short (the JS thread calls this from futexWakeOwn, and
// a thread blocked in the kernel leaves within microseconds of a wake) and grow to 2 ms.
void CancelAndJoin(AsyncWait* w) {
  w->cancelled.store(true, std::memory_order_release);
  long wait_ns = 50000;  // 50 us
  for (;;) {
    futex::Wake(w->addr, INT_MAX, w->bitset);
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += wait_ns;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_nsec -= 1000000000;
      ts.tv_sec += 1;
    }
    if (pthread_timedjoin_np(w->thread, nullptr, &ts) == 0) return;
    if (wait_ns < 2000000) wait_ns *= 2;
  }
}

void Cleanup(void* arg) {
  FutexState* state = static_cast<FutexState*>(arg);
  if (state->closed) return;
  state->closed = true;
  if (state->watch != nullptr) {
    state->watch->Stop();  // joined: no watcher touches a wait after this
    delete state->watch;
    state->watch = nullptr;
  }
  for (AsyncWait* w : state->waits) {
    if (w->threaded) CancelAndJoin(w);
    napi_delete_reference(state->env, w->keep);
    // The promise stays pending: its environment is going away, nobody can observe it.
    delete w;
  }
  state->waits.clear();
  // Settled and joined or handed over by their watcher already: only their delivery is left,
  // which CallJs (env == nullptr from here) never makes.
  for (AsyncWait* w : state->dropped) delete w;
  state->dropped.clear();
}

// Runs on the JS thread (env != nullptr) or at teardown with env == nullptr, when only
// freeing would be allowed; Cleanup owns every wait by then, so there is nothing to do.
void CallJs(napi_env env, napi_value, void* context, void* data) {
  FutexState* state = static_cast<FutexState*>(context);
  AsyncWait* w = static_cast<AsyncWait*>(data);
  if (env == nullptr || state->closed) return;
  if (state->dropped.erase(w) != 0) {  // settled already (`dropped`): only forget it
    if (!w->threaded) state->watch->Done(w);
    delete w;
    return;
  }
  if (w->threaded) {
    pthread_join(w->thread, nullptr);  // it returns right after queueing this call
  } else {
    state->watch->Done(w);
  }
  napi_value result;
  napi_create_string_utf8(env, ResultString(w->result), NAPI_AUTO_LENGTH, &result);
  napi_resolve_deferred(env, w->deferred, result);
  napi_delete_reference(env, w->keep);
  state->waits.erase(w);
  delete w;
  if (state->waits.empty()) napi_unref_threadsafe_function(env, state->tsfn);
}

void FinalizeState(napi_env env, void* data, void*) {
  FutexState* state = static_cast<FutexState*>(data);
  // Normally Cleanup ran already; if this function was closed first, clean up here.
  napi_remove_env_cleanup_hook(env, Cleanup, state);
  Cleanup(state);
  // AddonData::futex is left dangling on purpose: this runs only at environment teardown, when
  // no JS call can reach it, and the instance data itself may already be gone.
  delete state;
}

// A cancelled wait (CancelAndJoin) delivers nothing: its canceller settles or frees it. The read
// before the wait keeps a thread that starts after its cancellation out of the kernel, where the
// canceller's wake may already have passed and the unchanged word would hold it until its timeout.
void* RunWait(void* arg) {
  AsyncWait* w = static_cast<AsyncWait*>(arg);
  if (w->cancelled.load(std::memory_order_acquire)) return nullptr;
  const futex::WaitResult r = futex::Wait(w->addr, w->expected, w->timeout_ns, w->bitset);
  if (w->cancelled.load(std::memory_order_acquire)) return nullptr;
  w->result = r;
  w->delivered = true;
  // Fails only while the environment is closing; Cleanup then owns and frees `w`.
  napi_call_threadsafe_function(w->state->tsfn, w, napi_tsfn_nonblocking);
  return nullptr;
}

// On a watcher thread: the wait settled. Fails only while the environment is closing; Cleanup
// then owns and frees the wait.
void Deliver(void* ctx, shm::futex::WatchedWait* ww) {
  FutexState* state = static_cast<FutexState*>(ctx);
  napi_call_threadsafe_function(state->tsfn, static_cast<AsyncWait*>(ww), napi_tsfn_nonblocking);
}

// futex_waitv where the kernel has it, unless SHMSTORE_FUTEX_WAITV=0 asks for a thread per wait
// (the fallback of older kernels, kept testable on newer ones).
bool UseWatchers() {
  const char* env = getenv("SHMSTORE_FUTEX_WAITV");
  if (env != nullptr && strcmp(env, "0") == 0) return false;
  return futex::WaitAnySupported();
}

FutexState* GetState(Napi::Env env) {
  AddonData* addon = GetAddonData(env);
  if (addon->futex != nullptr) return addon->futex;
  FutexState* state = new FutexState();
  state->env = env;
  state->next_bit = static_cast<uint32_t>(getpid());
  napi_value name = Napi::String::New(env, "shmstore.futex.waitAsync");
  if (napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, state, FinalizeState,
                                      state, CallJs, &state->tsfn) != napi_ok) {
    delete state;
    return nullptr;
  }
  napi_unref_threadsafe_function(env, state->tsfn);
  if (UseWatchers()) state->watch = new shm::futex::WaitWatch(Deliver, state);
  napi_add_env_cleanup_hook(env, Cleanup, state);  // after the tsfn: runs before its cleanup
  addon->futex = state;
  return state;
}

// Reads (int32Array, index) into the futex word address. Throws and returns false when the
// array is not an Int32Array over a SharedArrayBuffer or the index is out of range.
bool GetWord(const Napi::CallbackInfo& info, const uint32_t** addr) {
  Napi::Env env = info.Env();
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer = nullptr;
  bool is_ta = false, is_ab = true;
  if (info.Length() < 1 || napi_is_typedarray(env, info[0], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, info[0], &type, &length, &data, &buffer, nullptr) != napi_ok ||
      type != napi_int32_array || napi_is_arraybuffer(env, buffer, &is_ab) != napi_ok || is_ab) {
    // A typed array is backed by an ArrayBuffer or a SharedArrayBuffer: not the first here.
    ThrowTypeError(env,
                   "The \"int32Array\" argument must be an Int32Array over a SharedArrayBuffer");
    return false;
  }
  int64_t index = 0;
  if (!GetIntegerArg(info, 1, "index", 0, static_cast<double>(length) - 1, &index)) return false;
  const uint32_t* p = static_cast<const uint32_t*>(data) + index;
  if (data == nullptr || (reinterpret_cast<uintptr_t>(p) & 3u) != 0) {
    ThrowRangeError(env, "The futex word must be 4-byte aligned");
    return false;
  }
  *addr = p;
  return true;
}

// expected: an integer in [-2^31, 2^32) compared as the same 32 bits.
bool GetExpected(const Napi::CallbackInfo& info, uint32_t* out) {
  int64_t v = 0;
  if (!GetIntegerArg(info, 2, "expected", -2147483648.0, 4294967295.0, &v)) return false;
  *out = static_cast<uint32_t>(v & 0xffffffff);
  return true;
}

// timeoutMs: undefined or +Infinity for forever, else a number >= 0 (fractions allowed).
bool GetTimeout(const Napi::CallbackInfo& info, size_t index, int64_t* ns) {
  Napi::Env env = info.Env();
  if (index >= info.Length() || info[index].IsUndefined()) {
    *ns = futex::kForever;
    return true;
  }
  if (!info[index].IsNumber()) {
    ThrowTypeError(env, "The \"timeoutMs\" argument must be of type number");
    return false;
  }
  const double ms = info[index].As<Napi::Number>().DoubleValue();
  if (std::isnan(ms) || ms < 0) {
    ThrowRangeError(env, "The \"timeoutMs\" argument must be >= 0 or Infinity");
    return false;
  }
  // Beyond ~292 years int64 nanoseconds overflow; that is "forever" for any caller.
  *ns = ms >= 9.2e12 ? futex::kForever : static_cast<int64_t>(std::ceil(ms * 1e6));
  return true;
}

Napi::Value ResultValue(Napi::Env env, futex::WaitResult r) {
  if (r == futex::WaitResult::kInvalid) {
    ThrowStatus(env, shm::layout::kErrInvalidArg, "futex wait failed: invalid futex word");
    return env.Undefined();
  }
  return Napi::String::New(env, ResultString(r));
}

// futexWait(int32Array, index, expected, timeoutMs?) -> 'ok' | 'not-equal' | 'timed-out'
Napi::Value FutexWait(const Napi::CallbackInfo& info) {
  const uint32_t* addr;
  uint32_t expected;
  int64_t ns;
  if (!GetWord(info, &addr) || !GetExpected(info, &expected) || !GetTimeout(info, 3, &ns)) {
    return info.Env().Undefined();
  }
  return ResultValue(info.Env(), futex::Wait(addr, expected, ns, kSyncBitset));
}

// futexWaitAsync(int32Array, index, expected, timeoutMs?) -> Promise<string>
Napi::Value FutexWaitAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t* addr;
  uint32_t expected;
  int64_t ns;
  if (!GetWord(info, &addr) || !GetExpected(info, &expected) || !GetTimeout(info, 3, &ns)) {
    return env.Undefined();
  }
  napi_deferred deferred = nullptr;
  napi_value promise = nullptr;
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) return env.Undefined();
  // Settled without a thread: the word already differs, or a zero timeout.
  if (__atomic_load_n(addr, __ATOMIC_SEQ_CST) != expected || ns == 0) {
    Napi::Value r = ResultValue(env, futex::Wait(addr, expected, 0, kSyncBitset));
    if (env.IsExceptionPending()) {
      napi_reject_deferred(env, deferred, env.GetAndClearPendingException().Value());
    } else {
      napi_resolve_deferred(env, deferred, r);
    }
    return Napi::Value(env, promise);
  }
  FutexState* state = GetState(env);
  if (state == nullptr) {
    napi_reject_deferred(env, deferred,
                         MakeStatusError(env, shm::layout::kErrShmIo, "cannot start futex waiter"));
    return Napi::Value(env, promise);
  }
  AsyncWait* w = new AsyncWait();
  w->state = state;
  w->addr = addr;
  w->expected = expected;
  w->deferred = deferred;
  napi_create_reference(env, info[0], 1, &w->keep);
  int rc = 0;
  if (state->watch != nullptr) {
    w->deadline_ns = futex::DeadlineAfter(ns);
    rc = state->watch->Add(w);  // fails when no watcher thread could start
  } else {
    w->threaded = true;
    w->timeout_ns = ns;
    w->bitset = 2u << (state->next_bit++ % 31);  // one of bits 1..31
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    rc = pthread_create(&w->thread, &attr, RunWait, w);
    pthread_attr_destroy(&attr);
  }
  if (rc != 0) {
    napi_delete_reference(env, w->keep);
    delete w;
    shm::SysError err{rc, "pthread_create", nullptr};
    napi_reject_deferred(
        env, deferred,
        MakeStatusError(env, shm::layout::kErrShmIo, "cannot start futex waiter", &err));
    return Napi::Value(env, promise);
  }
  // From here CallJs owns `w` and settles the promise (or Cleanup frees it at teardown).
  if (state->waits.empty()) napi_ref_threadsafe_function(env, state->tsfn);
  state->waits.insert(w);
  return Napi::Value(env, promise);
}

// futexWake(int32Array, index, count?) -> number of waiters woken (any process)
Napi::Value FutexWake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t* addr;
  if (!GetWord(info, &addr)) return env.Undefined();
  int count = INT_MAX;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    if (!info[2].IsNumber()) {
      ThrowTypeError(env, "The \"count\" argument must be of type number");
      return env.Undefined();
    }
    const double c = info[2].As<Napi::Number>().DoubleValue();
    if (std::isnan(c) || c < 0 || (std::isfinite(c) && std::trunc(c) != c)) {
      ThrowRangeError(env, "The \"count\" argument must be an integer >= 0 or Infinity");
      return env.Undefined();
    }
    count = c >= INT_MAX ? INT_MAX : static_cast<int>(c);
  }
  const int n = futex::Wake(addr, count);
  if (n < 0) {
    shm::SysError err{-n, "futex", nullptr};
    ThrowStatus(env, shm::layout::kErrInvalidArg, "futex wake failed", &err);
    return env.Undefined();
  }
  return Napi::Number::New(env, n);
}

// futexWakeOwn(int32Array, index) -> number: settles as 'ok', now, every futexWaitAsync of this
// environment pending on the word, and returns how many it reached. Unlike futexWake it reaches
// them when the word did not change: a watcher can miss such a futexWake when another of its waits
// is woken at the same instant (futex_watch.h). What a waiting loop of this thread uses to end its
// own park (lib/msg/async-fifo.js). A watched wait is taken from its watcher and resolved here; one
// its watcher settled already is left to its delivery, which is on the way. A thread-per-wait wait
// is cancelled and its thread joined (CancelAndJoin: one futex wake misses a thread that has not
// entered the kernel yet, which the unchanged word would then hold until its timeout), then
// resolved here: as 'ok', or with the result its thread queued just before the cancellation,
// whose delivery then only frees it (`dropped`). As for the watcher, only the waits it cancelled
// are counted, not those their thread had settled already.
Napi::Value FutexWakeOwn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t* addr;
  if (!GetWord(info, &addr)) return env.Undefined();
  FutexState* state = GetAddonData(env)->futex;
  if (state == nullptr || state->closed) return Napi::Number::New(env, 0);
  std::vector<AsyncWait*> hit;
  for (AsyncWait* w : state->waits) {
    if (w->addr == addr) hit.push_back(w);
  }
  int n = 0;
  for (AsyncWait* w : hit) {
    if (w->threaded) {
      CancelAndJoin(w);
      state->waits.erase(w);
      // Joined: `delivered` and `result` are the thread's last writes.
      const futex::WaitResult r = w->delivered ? w->result : futex::WaitResult::kOk;
      napi_resolve_deferred(env, w->deferred, Napi::String::New(env, ResultString(r)));
      napi_delete_reference(env, w->keep);
      w->keep = nullptr;
      if (w->delivered) {
        state->dropped.insert(w);  // its queued CallJs frees it
      } else {
        delete w;
        ++n;
      }
      continue;
    }
    if (!state->watch->Cancel(w)) continue;  // settled: its delivery resolves it
    state->waits.erase(w);
    napi_resolve_deferred(env, w->deferred,
                          Napi::String::New(env, ResultString(futex::WaitResult::kOk)));
    napi_delete_reference(env, w->keep);
    delete w;
    ++n;
  }
  if (!hit.empty() && state->waits.empty()) napi_unref_threadsafe_function(env, state->tsfn);
  return Napi::Number::New(env, n);
}

}  // namespace

void RejectFutexWaitsIn(napi_env env, const void* begin, size_t bytes) {
  FutexState* state = GetAddonData(Napi::Env(env))->futex;
  if (state == nullptr || state->closed) return;
  const auto lo = reinterpret_cast<uintptr_t>(begin);
  std::vector<AsyncWait*> hit;
  for (AsyncWait* w : state->waits) {
    const auto at = reinterpret_cast<uintptr_t>(w->addr);
    if (at >= lo && at - lo < bytes) hit.push_back(w);
  }
  for (AsyncWait* w : hit) {
    state->waits.erase(w);
    bool pending_delivery;
    if (w->threaded) {
      CancelAndJoin(w);  // its futex wake reaches the thread: the word is still mapped
      pending_delivery = w->delivered;
    } else {
      pending_delivery = !state->watch->Cancel(w);
    }
    napi_reject_deferred(
        env, w->deferred,
        MakeStatusError(Napi::Env(env), shm::layout::kErrClosed,
                        "the segment was closed while futex.waitAsync waited on it"));
    napi_delete_reference(env, w->keep);
    w->keep = nullptr;
    if (pending_delivery) {
      state->dropped.insert(w);
    } else {
      delete w;
    }
  }
  if (!hit.empty() && state->waits.empty()) napi_unref_threadsafe_function(env, state->tsfn);
}

void InitFutex(Napi::Env env, Napi::Object exports) {
  exports.Set("futexWait", Napi::Function::New(env, FutexWait, "futexWait"));
  exports.Set("futexWaitAsync", Napi::Function::New(env, FutexWaitAsync, "futexWaitAsync"));
  exports.Set("futexWake", Napi::Function::New(env, FutexWake, "futexWake"));
  exports.Set("futexWakeOwn", Napi::Function::New(env, FutexWakeOwn, "futexWakeOwn"));
}
