// The wait/wake algorithm of the sync room (docs/format.md §13, "Wait"), shared by every
// primitive of src/sync/: retry briefly without sleeping, then park on the cross-process futex of
// the word waited on, registered in a waiter count so that a releaser makes the wake system call
// only when somebody sleeps. Each sleep lasts at most one recheck period (SYNC_RECHECK_MS), after
// which the caller looks again and applies its slow checks (the gone rule: a dead holder wakes
// nobody). No Node headers, no exceptions.
//
// No wake is lost: a sleeper adds 1 to `waiters` before the futex compares the word with the
// value it saw, and a releaser changes the word before it reads `waiters`; every access is
// sequentially consistent, so either the releaser sees the sleeper counted (and wakes it) or the
// futex sees the new word (and does not sleep).
//
// A waiter stays counted from its first sleep until its wait ends (not only while asleep): woken
// and looking again it is still "about to sleep", and a releaser that keeps re-taking the word
// (a party passing the lock back and forth) keeps making the wake call, whose duration is the
// window in which the woken waiter takes the word. Uncounted between sleeps, the woken waiter
// would meet only releases without a system call, nanoseconds long, and could lose the race for
// a long time.
#pragma once

#include <cstdint>

#include "layout/layout_gen.h"

namespace shm::sync {

// Attempts before the first sleep: a holder of a short critical section lets go meanwhile, and
// an uncontended hand-off costs no system call.
inline constexpr uint32_t kSpinAttempts = 100;
inline constexpr int64_t kRecheckNs = static_cast<int64_t>(layout::kSyncRecheckMs) * 1000000;
// The first slow check is due this long after spinning ends: a holder keeping the lock longer
// than the spin is common (a critical section of microseconds), one that died is rare, and the
// check reads /proc (tens of microseconds) while the holder may be releasing.
inline constexpr int64_t kFirstCheckNs = 1000000;
// A timeout meaning "no deadline".
inline constexpr int64_t kForever = -1;

// Nanoseconds on the monotonic clock.
int64_t MonotonicNs() noexcept;

// Asked once per sleep whether the wait must end early (the thread's environment is being torn
// down): a wait never outlives what it runs in by more than one recheck period.
struct StopCheck {
  bool (*stop)(void* ctx) = nullptr;
  void* ctx = nullptr;
  bool operator()() const noexcept { return stop != nullptr && stop(ctx); }
};

// The state of one wait: its deadline, its spin budget and the period of its slow checks.
// The clock is read only once spinning is over.
class Wait {
 public:
  // timeout_ns < 0: no deadline; 0: look (spin included) and give up.
  explicit Wait(int64_t timeout_ns) noexcept : timeout_ns_(timeout_ns) {}

  // True for the first kSpinAttempts calls (after a pause instruction): the caller looks again
  // at once. Then false for good.
  bool Spin() noexcept;
  // True kFirstCheckNs after spinning ended and then at most once per recheck period: time for
  // the caller's slow checks (reading /proc for the gone rule).
  bool Recheck() noexcept;
  // Sleeps while *word == seen, for at most the time left and until the next check is due, and
  // returns true (woken, timed out or not equal: the caller looks again). The first call counts the
  // waiter in *waiters until the Wait is destroyed (the same `waiters` on every call). Returns
  // false without sleeping when the deadline has passed, or when `stop` says so (*stopped is then
  // set).
  bool Park(uint32_t* word, uint32_t* waiters, uint32_t seen, const StopCheck& stop,
            bool* stopped) noexcept;

  ~Wait();
  Wait(const Wait&) = delete;
  Wait& operator=(const Wait&) = delete;

 private:
  void Start() noexcept;

  uint32_t* counted_ = nullptr;  // the waiter count this wait is counted in, once it slept
  int64_t timeout_ns_;
  int64_t start_ns_ = 0;
  int64_t next_check_ns_ = 0;
  uint32_t spins_ = 0;
  bool started_ = false;
};

// Wakes up to `count` sleepers of `word` if `waiters` says anybody sleeps. Call after changing
// the word.
void WakeWaiters(uint32_t* word, const uint32_t* waiters, int count) noexcept;

}  // namespace shm::sync
