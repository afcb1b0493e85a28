// Waiting for a held lock word: backoff, the stuck-lock rule of docs/format.md §9 (a holder whose
// process is gone is taken over or repaired after), heartbeats of long passes, and the timeout.
#pragma once

#include <chrono>
#include <cstdint>

#include "layout/layout_gen.h"
#include "ownership/lockword.h"
#include "ownership/owners.h"

namespace shm {

// What a lock wait needs to know about the waiter.
struct LockEnv {
  const void* regionBase = nullptr;  // the mapping holding the owner table (live-slot registry)
  layout::Owner* owners = nullptr;   // the owner table (kOwnerSlots records)
  // The lock word of long passes (a store's RepairState.lock), or nullptr: its holder shows it
  // is alive by advancing the version (heartbeat.h) and is then never presumed gone.
  const uint32_t* heartbeatWord = nullptr;
  uint32_t selfSlot = 0;  // the waiter's own owner slot
  OwnerIdentity self;     // the waiter's identity (its process id, start time, boot id)
  uint32_t lockTimeoutMs = 1000;
};

enum class Verdict { kWait, kGone, kTimeout };

// Tracks one wait for a held word: backs off (pause, then sched_yield, then short sleeps) and,
// when the word stays unchanged, applies the stuck-lock rule of §9, heartbeats included: a holder
// of this process is not presumed gone while it holds env.heartbeatWord and keeps advancing it.
class LockWaiter {
 public:
  explicit LockWaiter(const LockEnv& env) noexcept : env_(env), heartbeatWord_(env.heartbeatWord) {}
  // Call each time `word` was observed held with value `w`. Backs off, then returns kWait (try
  // again), kGone (the holder is gone: repair or take over) or kTimeout (a live holder kept it
  // for lockTimeoutMs * 10).
  Verdict OnHeld(const uint32_t* word, uint32_t w) noexcept;
  // Short backoff for a seqlock reader whose version moved (no stuck-lock bookkeeping).
  void Backoff() noexcept;
  void Reset() noexcept { last_ = 0, rounds_ = 0, timing_ = false; }

 private:
  using Clock = std::chrono::steady_clock;
  // True when `word` went from `before` to `after` because the holder of the heartbeat word
  // heartbeated (still held, same owner): the wait goes on without restarting the backoff.
  bool IsHeartbeat(const uint32_t* word, uint32_t before, uint32_t after) const noexcept {
    return word == heartbeatWord_ && LockIsHeld(after) && LockOwnerOf(after) == LockOwnerOf(before);
  }
  // Reloads `word`: true when it is no longer `w` (the caller waits on).
  bool Moved(const uint32_t* word, uint32_t w) noexcept;
  // Called before presuming `owner` (a slot of this process) gone under the timeout rule: true,
  // with the timer restarted, when `owner` holds the heartbeat word and advanced it since the wait
  // started or since the last check (a repair pass or verify() that is alive).
  bool HolderHeartbeats(uint32_t owner) noexcept;
  // Adds the time since the previous look to waited_, at most kLockWaitStepMs (WaitClock).
  void Tick(Clock::time_point now) noexcept;

  const LockEnv& env_;
  const uint32_t* heartbeatWord_;  // env.heartbeatWord (a store's RepairState.lock) or nullptr
  uint32_t heartbeatSeen_ = 0;     // *heartbeatWord_ when the timer (re)started
  uint32_t last_ = 0;
  uint32_t rounds_ = 0;
  bool timing_ = false;
  // The waiter's own waiting time since the timer (re)started: the time between two looks counts
  // up to kLockWaitStepMs, so that a pause of the whole process (which paused the holder too)
  // does not make a live holder of this process look stuck (format.md §9).
  Clock::duration waited_{};
  Clock::time_point lastLook_{};
  Clock::time_point nextCheck_{};
  int backoffRounds_ = 0;
};

enum class LockResult { kAcquired, kGone, kTimeout };

// Acquires `word`. Returns kAcquired with *held = the word now stored; kGone when the holder is
// gone (only when takeover is false: the caller repairs and retries), with *held = the word
// observed; kTimeout. With takeover true a gone holder's lock is taken over (CAS to the same odd
// version with our owner).
LockResult AcquireLock(uint32_t* word, const LockEnv& env, bool takeover, uint32_t* held) noexcept;

// Acquires an advisory lock word: one that guards no data and only orders its holders (a store's
// room lease, docs/format.md §8), so that nothing a holder did needs repair. A word that names no
// valid slot, or the waiter's own, or an owner gone by §6, is taken over at once (CAS to the same
// odd version with our owner), after the backoff and the checks of LockWaiter. Any other holder
// is waited for at most env.lockTimeoutMs in all, whoever holds it meanwhile; then a thread of
// this process that kept the same word the whole time and is none of its open native handles is
// presumed gone, as the rule of §9 presumes it of a lock's holder, and taken over; else kTimeout,
// and the caller goes on without the lock (it must stay available). *waited: whether the word
// was met held (the caller may find what it waited for done meanwhile).
LockResult AcquireAdvisory(uint32_t* word, const LockEnv& env, uint32_t* held,
                           bool* waited) noexcept;

// Fast path inline; falls back to AcquireLock.
inline LockResult LockFast(uint32_t* word, const LockEnv& env, uint32_t* held) noexcept {
  const uint32_t w = AtomicLoad(word);
  if (!LockIsHeld(w) && TryLockFrom(word, w, env.selfSlot, held)) return LockResult::kAcquired;
  return AcquireLock(word, env, false, held);
}

}  // namespace shm
