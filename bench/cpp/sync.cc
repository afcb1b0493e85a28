// Google Benchmark programs of the sync room: the native Mutex (shm::sync::Mutex, src/sync/) next
// to its peer, a glibc pthread_mutex with PTHREAD_PROCESS_SHARED + PTHREAD_MUTEX_ROBUST (the one
// other lock that survives a killed holder), both in one MAP_SHARED mapping as in a segment.
// Built with -DSHMSTORE_BENCH=ON (bench_sync); run by `npm run bench:sync` (which puts the
// numbers in its table) or `npm run bench:cpp`.
//
//   BM_*LockUnlock       uncontended lock + unlock, one thread
//   BM_*HandoffThreads   hand-off latency between this thread and a second thread
//   BM_*HandoffProcesses hand-off latency between this process and a forked child
//
// Hand-off latency: the time from a holder's release to the moment a waiter blocked in lock()
// holds the mutex. The two parties take turns: the waiter announces that it is about to lock
// and calls lock(); the holder waits for the announcement and kHoldNs more (so that the waiter
// has gone to sleep, as a waiter behind a real critical section would), stamps the time and
// releases; the waiter, once it holds the mutex, takes the clock. The holder does not lock again
// before the waiter holds it (it waits for the waiter's next announcement), so no party barges:
// each measured hand-off is exactly one release reaching one blocked waiter. Manual time: only
// the latencies count, one per iteration (the main party's acquisitions).
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <thread>

#include "base/atomic.h"
#include "sync/mutex.h"

namespace {

using shm::AtomicLoad;
using shm::AtomicStore;

// The shared mapping: a sync region, then the pthread mutex, the release stamp, the two parties'
// announcement counters and the stop flag, each on its own cache line.
constexpr size_t kPthreadOffset = shm::sync::kRegionBytes;
constexpr size_t kStampOffset = kPthreadOffset + 64;
constexpr size_t kAskedOffset = kStampOffset + 64;  // two lines: party 0, party 1
constexpr size_t kGotOffset = kAskedOffset + 128;   // two lines: party 0, party 1
constexpr size_t kStopOffset = kGotOffset + 128;
constexpr size_t kMapBytes = kStopOffset + 64;
// How long a holder keeps the mutex after the waiter announced itself: longer than any spin
// phase, so the hand-off reaches a sleeping waiter.
constexpr int64_t kHoldNs = 30000;
static_assert(sizeof(pthread_mutex_t) <= 64, "the pthread mutex fits its line");
static_assert(kPthreadOffset % 64 == 0, "lines are aligned");

class Shared {
 public:
  Shared() {
    void* m = mmap(nullptr, kMapBytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) std::abort();
    base_ = static_cast<uint8_t*>(m);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (pthread_mutex_init(pthread(), &a) != 0) std::abort();
    pthread_mutexattr_destroy(&a);
  }
  ~Shared() {
    pthread_mutex_destroy(pthread());
    munmap(base_, kMapBytes);
  }
  uint8_t* region() const { return base_; }
  pthread_mutex_t* pthread() const {
    return reinterpret_cast<pthread_mutex_t*>(base_ + kPthreadOffset);
  }
  uint64_t* stamp() const { return reinterpret_cast<uint64_t*>(base_ + kStampOffset); }
  uint32_t* asked(uint32_t party) const {
    return reinterpret_cast<uint32_t*>(base_ + kAskedOffset + 64 * party);
  }
  uint32_t* got(uint32_t party) const {
    return reinterpret_cast<uint32_t*>(base_ + kGotOffset + 64 * party);
  }
  uint32_t* stop() const { return reinterpret_cast<uint32_t*>(base_ + kStopOffset); }

 private:
  uint8_t* base_ = nullptr;
};

// The robust pthread mutex, as a user of it must call it: EOWNERDEAD is a successful lock whose
// state must be marked consistent.
class PthreadLock {
 public:
  explicit PthreadLock(const Shared& s) : m_(s.pthread()) {}
  void lock() {
    const int rc = pthread_mutex_lock(m_);
    if (rc == EOWNERDEAD) {
      pthread_mutex_consistent(m_);
    } else if (rc != 0) {
      std::abort();
    }
  }
  void unlock() { pthread_mutex_unlock(m_); }

 private:
  pthread_mutex_t* m_;
};

// A handle of the native Mutex (one per thread, as the room requires).
class SyncLock {
 public:
  explicit SyncLock(const Shared& s) {
    static std::atomic<uint32_t> tid{1};
    if (m_.Open(s.region(), shm::sync::kRegionBytes, static_cast<uint32_t>(getpid()), tid++) !=
        shm::layout::kOk) {
      std::abort();
    }
  }
  void lock() {
    bool recovered;
    if (m_.Lock(shm::sync::kForever, &recovered) != shm::layout::kOk) std::abort();
  }
  void unlock() {
    if (m_.Unlock() != shm::layout::kOk) std::abort();
  }

 private:
  shm::sync::Mutex m_;
};

template <class Lock>
void BM_LockUnlock(benchmark::State& state) {
  Shared s;
  Lock l(s);
  for (auto _ : state) {
    l.lock();
    l.unlock();
  }
  state.SetItemsProcessed(state.iterations());
}

// One party of the hand-off: party 0 is the benchmark's thread, party 1 the partner.
template <class Lock>
class Party {
 public:
  Party(const Shared& s, uint32_t me) : s_(s), me_(me), lock_(s) {}
  void Hold() { lock_.lock(); }
  // As the holder: waits for the other's announcement, holds kHoldNs more, stamps the time,
  // releases, and waits until the other holds the mutex (no barging back in). False (released)
  // when told to stop.
  bool Release() {
    while (AtomicLoad(s_.asked(1 - me_)) == seen_) {
      if (Stopped()) {
        lock_.unlock();
        return false;
      }
      shm::CpuRelax();
    }
    ++seen_;
    const int64_t until = shm::sync::MonotonicNs() + kHoldNs;
    while (shm::sync::MonotonicNs() < until) shm::CpuRelax();
    shm::AtomicStore64(s_.stamp(), static_cast<uint64_t>(shm::sync::MonotonicNs()));
    lock_.unlock();
    while (AtomicLoad(s_.got(1 - me_)) != seen_) {
      if (Stopped()) return false;
      shm::CpuRelax();
    }
    return true;
  }
  // As the waiter: announces itself, blocks in lock(), returns the hand-off latency in ns.
  int64_t Acquire() {
    shm::AtomicAdd(s_.asked(me_), 1);
    lock_.lock();
    const int64_t ns =
        shm::sync::MonotonicNs() - static_cast<int64_t>(shm::AtomicLoad64(s_.stamp()));
    shm::AtomicAdd(s_.got(me_), 1);
    return ns;
  }
  bool Stopped() const { return AtomicLoad(s_.stop()) != 0; }
  void Unlock() { lock_.unlock(); }

 private:
  const Shared& s_;
  uint32_t me_;
  uint32_t seen_ = 0;  // announcements of the other party answered
  Lock lock_;
};

template <class Lock>
void Partner(const Shared& s) {
  Party<Lock> p(s, 1);
  for (;;) {
    p.Acquire();
    if (p.Stopped()) {
      p.Unlock();
      return;
    }
    if (!p.Release()) return;
  }
}

// Runs party 0, which holds the mutex on entry, against a started partner.
template <class Lock>
void Measure(benchmark::State& state, const Shared& s, Party<Lock>& p) {
  for (auto _ : state) {
    p.Release();
    state.SetIterationTime(static_cast<double>(p.Acquire()) * 1e-9);
  }
  state.SetItemsProcessed(state.iterations());
  AtomicStore(s.stop(), 1);
  p.Unlock();
}

template <class Lock>
void BM_HandoffThreads(benchmark::State& state) {
  Shared s;
  Party<Lock> p(s, 0);
  p.Hold();
  std::thread partner([&] { Partner<Lock>(s); });
  Measure<Lock>(state, s, p);
  partner.join();
}

template <class Lock>
void BM_HandoffProcesses(benchmark::State& state) {
  Shared s;
  Party<Lock> p(s, 0);
  p.Hold();
  const pid_t pid = fork();
  if (pid < 0) std::abort();
  if (pid == 0) {
    Partner<Lock>(s);
    _exit(0);
  }
  Measure<Lock>(state, s, p);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) state.SkipWithError("the partner failed");
}

constexpr int kHandoffs = 1000;

BENCHMARK_TEMPLATE(BM_LockUnlock, SyncLock)->Name("BM_SyncMutexLockUnlock");
BENCHMARK_TEMPLATE(BM_LockUnlock, PthreadLock)->Name("BM_PthreadRobustLockUnlock");
BENCHMARK_TEMPLATE(BM_HandoffThreads, SyncLock)
    ->Name("BM_SyncMutexHandoffThreads")
    ->UseManualTime()
    ->Iterations(kHandoffs);
BENCHMARK_TEMPLATE(BM_HandoffThreads, PthreadLock)
    ->Name("BM_PthreadRobustHandoffThreads")
    ->UseManualTime()
    ->Iterations(kHandoffs);
BENCHMARK_TEMPLATE(BM_HandoffProcesses, SyncLock)
    ->Name("BM_SyncMutexHandoffProcesses")
    ->UseManualTime()
    ->Iterations(kHandoffs);
BENCHMARK_TEMPLATE(BM_HandoffProcesses, PthreadLock)
    ->Name("BM_PthreadRobustHandoffProcesses")
    ->UseManualTime()
    ->Iterations(kHandoffs);

}  // namespace
