#include "sync/wait.h"

#include <time.h>

#include <algorithm>

#include "base/atomic.h"
#include "segment/futex.h"

namespace shm::sync {

int64_t MonotonicNs() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

bool Wait::Spin() noexcept {
  if (spins_ >= kSpinAttempts) return false;
  ++spins_;
  CpuRelax();
  return true;
}

void Wait::Start() noexcept {
  if (started_) return;
  started_ = true;
  start_ns_ = MonotonicNs();
  next_check_ns_ = start_ns_ + kFirstCheckNs;
}

bool Wait::Recheck() noexcept {
  Start();
  const int64_t now = MonotonicNs();
  if (now < next_check_ns_) return false;
  next_check_ns_ = now + kRecheckNs;
  return true;
}

bool Wait::Park(uint32_t* word, uint32_t* waiters, uint32_t seen, const StopCheck& stop,
                bool* stopped) noexcept {
  Start();
  if (stop()) {
    *stopped = true;
    return false;
  }
  const int64_t now = MonotonicNs();
  // Until the next check is due (at least a little: a due check was just made or skipped).
  int64_t sleep_ns = std::max<int64_t>(next_check_ns_ - now, kFirstCheckNs);
  if (timeout_ns_ >= 0) {
    const int64_t left = timeout_ns_ - (now - start_ns_);
    if (left <= 0) return false;
    sleep_ns = std::min(left, sleep_ns);
  }
  if (counted_ == nullptr) {
    counted_ = waiters;
    AtomicAdd(waiters, 1);
  }
  futex::Wait(word, seen, sleep_ns);
  return true;
}

Wait::~Wait() {
  // Saturating: a damaged count must not wrap (a count too high, left by a waiter that died, only
  // costs releasers a wake call).
  if (counted_ != nullptr) AtomicDecrementSaturating(counted_);
}

void WakeWaiters(uint32_t* word, const uint32_t* waiters, int count) noexcept {
  if (AtomicLoad(waiters) != 0) futex::Wake(word, count);
}

}  // namespace shm::sync
