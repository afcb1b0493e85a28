#include "ownership/waiter.h"

#include <sched.h>

#include <algorithm>

#include "base/atomic.h"
#include "base/process.h"

namespace shm {

namespace {

using WaitClock = std::chrono::steady_clock;

// The most one step between two looks adds to a wait (format.md §9, LOCK_WAIT_STEP_MS).
constexpr auto kMaxStep = std::chrono::milliseconds(layout::kLockWaitStepMs);

WaitClock::duration StepOf(WaitClock::time_point last, WaitClock::time_point now) noexcept {
  return std::min<WaitClock::duration>(now - last, kMaxStep);
}

// Spin phase, then yield phase, then sleeps growing from 10 us to 1 ms.
constexpr uint32_t kSpinRounds = 32;
constexpr uint32_t kYieldRounds = 64;
// The holder is looked at only once the word has been unchanged this long, then at most once per
// kCheckEvery; no operation holds a lock for more than microseconds.
constexpr auto kFirstCheck = std::chrono::milliseconds(2);
constexpr auto kCheckEvery = std::chrono::milliseconds(1);

void BackoffRound(uint32_t round) noexcept {
  if (round <= kSpinRounds) {
    for (uint32_t i = 0; i < 16u << std::min<uint32_t>(round / 8, 3); ++i) CpuRelax();
  } else if (round <= kYieldRounds) {
    sched_yield();
  } else {
    uint32_t k = std::min<uint32_t>(round - kYieldRounds, 7);
    SleepMicros(10u << k);  // 20 us .. 1.28 ms
  }
}

}  // namespace

void LockWaiter::Backoff() noexcept {
  ++backoffRounds_;
  if (backoffRounds_ < 8) {
    for (int i = 0; i < (4 << backoffRounds_); ++i) CpuRelax();
  } else if (backoffRounds_ < 32) {
    sched_yield();
  } else {
    SleepMicros(20);
  }
}

bool LockWaiter::Moved(const uint32_t* word, uint32_t w) noexcept {
  const uint32_t now = AtomicLoad(word);
  if (now == w) return false;
  if (!IsHeartbeat(word, w, now)) rounds_ = 0;
  return true;
}

bool LockWaiter::HolderHeartbeats(uint32_t owner) noexcept {
  if (heartbeatWord_ == nullptr) return false;
  const uint32_t r = AtomicLoad(heartbeatWord_);
  if (!LockIsHeld(r) || LockOwnerOf(r) != owner || r == heartbeatSeen_) return false;
  heartbeatSeen_ = r;
  waited_ = Clock::duration::zero();
  return true;
}

void LockWaiter::Tick(Clock::time_point now) noexcept {
  waited_ += StepOf(lastLook_, now);
  lastLook_ = now;
}

Verdict LockWaiter::OnHeld(const uint32_t* word, uint32_t w) noexcept {
  if (w != last_ || rounds_ == 0) {
    // A holder that heartbeats RepairState.lock (the word waited on) keeps the backoff going, so
    // that waiting out a long pass sleeps instead of spinning; the timer restarts either way.
    if (!IsHeartbeat(word, last_, w)) rounds_ = 0;
    last_ = w;
    timing_ = false;
  }
  ++rounds_;
  BackoffRound(rounds_);
  if (rounds_ <= kSpinRounds / 2) return Verdict::kWait;
  auto now = Clock::now();
  if (!timing_) {
    timing_ = true;
    waited_ = Clock::duration::zero();
    lastLook_ = now;
    nextCheck_ = now + kFirstCheck;
    if (heartbeatWord_ != nullptr) heartbeatSeen_ = AtomicLoad(heartbeatWord_);
    return Verdict::kWait;
  }
  Tick(now);
  if (now < nextCheck_) return Verdict::kWait;
  nextCheck_ = now + kCheckEvery;
  if (Moved(word, w)) return Verdict::kWait;
  const auto elapsed = waited_;
  const auto timeout = std::chrono::milliseconds(env_.lockTimeoutMs);
  const uint32_t owner = LockOwnerOf(w);
  bool gone;
  if (owner == 0 || owner >= kOwnerSlots) {
    // No valid holder is named (a corrupt word): presume it gone after the timeout.
    gone = elapsed >= timeout;
  } else if (owner == env_.selfSlot) {
    // Our own slot: we are not inside an operation holding this lock, so nobody is (a slot
    // adopted from a dead process names that process's locks).
    gone = true;
  } else {
    // Released, marked dead, of another boot, or a process that ended (§6): nobody can be
    // holding the lock.
    const OwnerStatus status = ClassifyOwner(&env_.owners[owner], env_.self);
    if (Moved(word, w)) return Verdict::kWait;
    if (status == OwnerStatus::kThisProcess) {
      gone = !IsLiveSlot(env_.regionBase, owner) && elapsed >= timeout;
      // A repair pass or verify() holds every lock for a long time and proves it is alive by
      // advancing RepairState.lock (§9, "Heartbeat of long passes").
      if (gone && HolderHeartbeats(owner)) return Verdict::kWait;
    } else {
      gone = status == OwnerStatus::kGone;
    }
  }
  if (gone) {
    if (Moved(word, w)) return Verdict::kWait;
    return Verdict::kGone;
  }
  // A live holder (or one not yet presumed gone) is waited for up to lockTimeoutMs x 10.
  return elapsed >= timeout * 10 ? Verdict::kTimeout : Verdict::kWait;
}

LockResult AcquireLock(uint32_t* word, const LockEnv& env, bool takeover, uint32_t* held) noexcept {
  LockWaiter waiter(env);
  for (;;) {
    uint32_t w = AtomicLoad(word);
    if (!LockIsHeld(w)) {
      if (TryLockFrom(word, w, env.selfSlot, held)) return LockResult::kAcquired;
      waiter.Backoff();
      continue;
    }
    Verdict v = waiter.OnHeld(word, w);
    if (v == Verdict::kWait) continue;
    if (v == Verdict::kTimeout) return LockResult::kTimeout;
    if (!takeover) {
      *held = w;  // the word whose holder is gone, for the caller's repair
      return LockResult::kGone;
    }
    uint32_t next = LockTakeoverWord(w, env.selfSlot);
    if (AtomicCas(word, w, next)) {
      std::atomic_thread_fence(std::memory_order_release);
      *held = next;
      return LockResult::kAcquired;
    }
    waiter.Reset();
  }
}

LockResult AcquireAdvisory(uint32_t* word, const LockEnv& env, uint32_t* held,
                           bool* waited) noexcept {
  *waited = false;
  LockWaiter waiter(env);
  const auto limit = std::chrono::milliseconds(env.lockTimeoutMs);
  // The waiter's own waiting time, as LockWaiter counts it (a pause of the process is one step).
  WaitClock::duration waitedFor{};
  WaitClock::time_point lastLook{};
  uint32_t first = 0;  // the word met held first
  for (;;) {
    const uint32_t w = AtomicLoad(word);
    if (!LockIsHeld(w)) {
      if (TryLockFrom(word, w, env.selfSlot, held)) return LockResult::kAcquired;
      waiter.Backoff();
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!*waited) {
      *waited = true;
      lastLook = now;
      first = w;
    }
    waitedFor += StepOf(lastLook, now);
    lastLook = now;
    const uint32_t owner = LockOwnerOf(w);
    Verdict v;
    if (owner == 0 || owner >= kOwnerSlots) {
      // No holder to wait for: a word that names no valid slot is taken over at once (the timeout
      // rule of a lock that guards data would make every waiter wait it out, and nobody would
      // ever release it).
      v = Verdict::kGone;
    } else if (waitedFor >= limit) {
      // The limit: a holder gone by §6 is taken over, and so is a thread of this process that
      // kept the same word the whole time and is none of its open native handles (the rule of §9
      // for a lock's holder); any other keeps it, and the caller goes on without.
      if (owner != env.selfSlot) {
        const OwnerStatus st = ClassifyOwner(&env.owners[owner], env.self);
        const bool presumed =
            st == OwnerStatus::kGone ||
            (st == OwnerStatus::kThisProcess && w == first && !IsLiveSlot(env.regionBase, owner));
        if (!presumed) return LockResult::kTimeout;
      }
      v = Verdict::kGone;
    } else {
      v = waiter.OnHeld(word, w);
    }
    if (v == Verdict::kWait) continue;
    if (v == Verdict::kTimeout) return LockResult::kTimeout;
    const uint32_t next = LockTakeoverWord(w, env.selfSlot);
    if (AtomicCas(word, w, next)) {
      std::atomic_thread_fence(std::memory_order_release);
      *held = next;
      return LockResult::kAcquired;
    }
    waiter.Reset();
  }
}

}  // namespace shm
