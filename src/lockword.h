// Lock words, owner slots and the stuck-lock policy (docs/format.md §1, §6, §9).
//
// A lock word is an atomic u32: bits 0-19 a version (odd while held), bits 20-31 the holder's
// owner slot (0 while free). Every access to a shared atomic word goes through std::atomic_ref
// with sequentially consistent ordering, the one ordering the JS engine has too.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "layout_gen.h"

namespace shm {

static_assert(std::atomic_ref<uint32_t>::is_always_lock_free, "u32 atomics must be lock free");
static_assert(std::atomic_ref<uint64_t>::is_always_lock_free, "u64 atomics must be lock free");
static_assert(sizeof(void*) == 8, "64-bit platforms only");

inline uint32_t AtomicLoad(const uint32_t* p) noexcept {
  return std::atomic_ref<uint32_t>(*const_cast<uint32_t*>(p)).load(std::memory_order_seq_cst);
}
inline void AtomicStore(uint32_t* p, uint32_t v) noexcept {
  std::atomic_ref<uint32_t>(*p).store(v, std::memory_order_seq_cst);
}
// For words of a block nobody can reach yet: the store that publishes the block is sequentially
// consistent, which orders these before it (a plain mov on x86 instead of an xchg).
inline void UnpublishedStore(uint32_t* p, uint32_t v) noexcept {
  std::atomic_ref<uint32_t>(*p).store(v, std::memory_order_relaxed);
}
inline bool AtomicCas(uint32_t* p, uint32_t expected, uint32_t desired) noexcept {
  return std::atomic_ref<uint32_t>(*p).compare_exchange_strong(expected, desired,
                                                               std::memory_order_seq_cst);
}
inline uint32_t AtomicAdd(uint32_t* p, uint32_t v) noexcept {
  return std::atomic_ref<uint32_t>(*p).fetch_add(v, std::memory_order_seq_cst);
}
inline uint32_t AtomicSub(uint32_t* p, uint32_t v) noexcept {
  return std::atomic_ref<uint32_t>(*p).fetch_sub(v, std::memory_order_seq_cst);
}
// Decrement that stops at 0 (counts may be one low after a writer died; they must not wrap).
inline void AtomicDecrementSaturating(uint32_t* p) noexcept {
  std::atomic_ref<uint32_t> a(*p);
  uint32_t cur = a.load(std::memory_order_seq_cst);
  while (cur != 0 && !a.compare_exchange_weak(cur, cur - 1, std::memory_order_seq_cst)) {
  }
}
inline uint64_t AtomicLoad64(const uint64_t* p) noexcept {
  return std::atomic_ref<uint64_t>(*const_cast<uint64_t*>(p)).load(std::memory_order_seq_cst);
}
inline void AtomicAdd64(uint64_t* p, uint64_t v) noexcept {
  std::atomic_ref<uint64_t>(*p).fetch_add(v, std::memory_order_seq_cst);
}
// Racy reads of plain (lock-protected or seqlock-validated) shared data: a relaxed atomic load is
// a plain load on every target but forbids the compiler from re-reading the location, so a value
// that was bounds-checked is the value that gets used.
template <class T>
inline T RacyLoad(const T* p) noexcept {
  static_assert(std::atomic_ref<T>::is_always_lock_free);
  return std::atomic_ref<T>(*const_cast<T*>(p)).load(std::memory_order_relaxed);
}

inline constexpr uint32_t kLockVersionMask = static_cast<uint32_t>(layout::kLockVersionMask);
inline constexpr uint32_t kLockOwnerShift = static_cast<uint32_t>(layout::kLockOwnerShift);
inline constexpr uint32_t kOwnerSlots = static_cast<uint32_t>(layout::kOwnerSlots);

inline constexpr bool LockIsHeld(uint32_t word) noexcept {
  return (word & 1u) != 0;
}
inline constexpr uint32_t LockOwnerOf(uint32_t word) noexcept {
  return word >> kLockOwnerShift;
}
// The word a holder writes when it acquires the free word `word`.
inline constexpr uint32_t LockAcquiredWord(uint32_t word, uint32_t owner) noexcept {
  return ((word + 1) & kLockVersionMask) | (owner << kLockOwnerShift);
}
// The word a holder writes when it releases the held word `held` (owner bits cleared).
inline constexpr uint32_t LockReleasedWord(uint32_t held) noexcept {
  return (held + 1) & kLockVersionMask;
}
// The word a repairer writes to take over `held` from a gone holder: same odd version.
inline constexpr uint32_t LockTakeoverWord(uint32_t held, uint32_t owner) noexcept {
  return (held & kLockVersionMask) | (owner << kLockOwnerShift);
}
// The word the holder of `held` writes to show it is alive during a long pass (§9, "Heartbeat of
// long passes"): the version advances by 2, so the lock stays held, by the same owner.
inline constexpr uint32_t LockHeartbeatWord(uint32_t held) noexcept {
  return ((held + 2) & kLockVersionMask) | (held & ~kLockVersionMask);
}

// RepairState.lock of the store mapped at `storeBase` (held by repair passes and verify()).
inline const uint32_t* RepairLockWord(const void* storeBase) noexcept {
  return reinterpret_cast<const uint32_t*>(static_cast<const uint8_t*>(storeBase) +
                                           layout::kRepairOffset);
}

// What a lock wait needs to know about the waiter.
struct LockEnv {
  const void* storeBase = nullptr;  // the store's mapping, for the live-slot registry
  layout::Owner* owners = nullptr;  // the owner table (4096 records)
  uint32_t selfSlot = 0;            // the waiter's own owner slot
  uint32_t pid = 0;                 // the waiter's process id
  uint32_t lockTimeoutMs = 1000;
};

enum class Verdict { kWait, kGone, kTimeout };

// Tracks one wait for a held word: backs off (pause, then sched_yield, then short sleeps) and,
// when the word stays unchanged, applies the stuck-lock rule of §9, heartbeats included: a holder
// of this process is not presumed gone while it holds RepairState.lock and keeps advancing it.
class LockWaiter {
 public:
  explicit LockWaiter(const LockEnv& env) noexcept
      : env_(env),
        repairLock_(env.storeBase != nullptr ? RepairLockWord(env.storeBase) : nullptr) {}
  // Call each time `word` was observed held with value `w`. Backs off, then returns kWait (try
  // again), kGone (the holder is gone: repair or take over) or kTimeout (a live holder kept it
  // for lockTimeoutMs * 10).
  Verdict OnHeld(const uint32_t* word, uint32_t w) noexcept;
  // Short backoff for a seqlock reader whose version moved (no stuck-lock bookkeeping).
  void Backoff() noexcept;
  void Reset() noexcept { last_ = 0, rounds_ = 0, timing_ = false; }

 private:
  using Clock = std::chrono::steady_clock;
  // True when `word` went from `before` to `after` because the holder of RepairState.lock
  // heartbeated (still held, same owner): the wait goes on without restarting the backoff.
  bool IsHeartbeat(const uint32_t* word, uint32_t before, uint32_t after) const noexcept {
    return word == repairLock_ && LockIsHeld(after) && LockOwnerOf(after) == LockOwnerOf(before);
  }
  // Reloads `word`: true when it is no longer `w` (the caller waits on).
  bool Moved(const uint32_t* word, uint32_t w) noexcept;
  // Called before presuming `owner` (a slot of this process) gone under the timeout rule: true,
  // with the timer restarted, when `owner` holds RepairState.lock and advanced it since the wait
  // started or since the last check (a repair pass or verify() that is alive).
  bool HolderHeartbeats(uint32_t owner, Clock::time_point now) noexcept;

  const LockEnv& env_;
  const uint32_t* repairLock_;  // RepairState.lock, nullptr when the env names no store
  uint32_t repairSeen_ = 0;     // RepairState.lock when the timer (re)started
  uint32_t last_ = 0;
  uint32_t rounds_ = 0;
  bool timing_ = false;
  Clock::time_point since_{};
  Clock::time_point nextCheck_{};
  int backoffRounds_ = 0;
};

enum class LockResult { kAcquired, kGone, kTimeout };

// Acquires `word`. Returns kAcquired with *held = the word now stored; kGone when the holder is
// gone (only when takeover is false: the caller repairs and retries), with *held = the word
// observed; kTimeout. With takeover true a gone holder's lock is taken over (CAS to the same odd
// version with our owner).
LockResult AcquireLock(uint32_t* word, const LockEnv& env, bool takeover, uint32_t* held) noexcept;

// One attempt to take a lock whose word was seen free as `w`.
inline bool TryLockFrom(uint32_t* word, uint32_t w, uint32_t selfSlot, uint32_t* held) noexcept {
  const uint32_t next = LockAcquiredWord(w, selfSlot);
  if (!AtomicCas(word, w, next)) return false;
  // Later plain stores must not become visible before the odd version (ARM: LDAXR/STLXR lets
  // them; x86: no instruction).
  std::atomic_thread_fence(std::memory_order_release);
  *held = next;
  return true;
}

// Fast path inline; falls back to AcquireLock.
inline LockResult LockFast(uint32_t* word, const LockEnv& env, uint32_t* held) noexcept {
  const uint32_t w = AtomicLoad(word);
  if (!LockIsHeld(w) && TryLockFrom(word, w, env.selfSlot, held)) return LockResult::kAcquired;
  return AcquireLock(word, env, false, held);
}

// Releases a lock held with word `held`. A CAS rather than a plain store, so that a holder that
// was (wrongly) presumed gone and taken over cannot release the new holder's lock.
inline void Unlock(uint32_t* word, uint32_t held) noexcept {
  AtomicCas(word, held, LockReleasedWord(held));
}

// The heartbeat of a long pass (§9, "Heartbeat of long passes"): while a repair pass or verify()
// holds RepairState.lock it counts its units of work (locks taken; blocks, buckets, chain entries
// and free-list entries walked) and, after every kUnitsPerBeat of them, advances the word's version
// by 2 with a CAS from the word it holds. The word it holds therefore changes: Release() releases
// with the current one.
class LockHeartbeat {
 public:
  static constexpr uint32_t kUnitsPerBeat = 4096;

  // `word` was just acquired and holds `held`.
  void Start(uint32_t* word, uint32_t held) noexcept {
    word_ = word;
    held_ = held;
    units_ = 0;
  }
  // One unit of work: a counter, and a CAS every kUnitsPerBeat units.
  void Work() noexcept {
    if (++units_ >= kUnitsPerBeat) Beat();
  }
  // Advances the version now (and restarts the count). If the CAS fails the lock was taken over
  // (this holder was presumed gone): the heartbeat stops and Release() leaves the word alone.
  void Beat() noexcept {
    units_ = 0;
    if (word_ == nullptr) return;
    const uint32_t next = LockHeartbeatWord(held_);
    if (AtomicCas(word_, held_, next)) {
      held_ = next;
    } else {
      word_ = nullptr;
    }
  }
  // Releases the word (a CAS from the word held now) and stops.
  void Release() noexcept {
    if (word_ != nullptr) Unlock(word_, held_);
    word_ = nullptr;
  }
  uint32_t held() const noexcept { return held_; }

 private:
  uint32_t* word_ = nullptr;
  uint32_t held_ = 0;
  uint32_t units_ = 0;
};

// True when process `pid` no longer exists (kill(pid, 0) fails with ESRCH, or it is a zombie).
bool ProcessGone(uint32_t pid) noexcept;

// Owner slots (§6). Claims the lowest free slot; returns 0 when none is free.
uint32_t ClaimOwnerSlot(layout::Owner* owners, uint32_t pid, uint32_t tid) noexcept;
// Claims a slot whose process is gone (for an attacher that found the table full; it must run a
// repair pass right after, which takes over the locks still naming that slot). 0 if none.
uint32_t AdoptDeadOwnerSlot(layout::Owner* owners, uint32_t pid, uint32_t tid) noexcept;
void ReleaseOwnerSlot(layout::Owner* owners, uint32_t slot) noexcept;

// Process-local registry of owner slots held by open native handles, so that a waiter can tell
// that a lock held by another thread of its own process is held by a live handle (native calls
// are never cut short by worker.terminate()) and must not be presumed gone after lockTimeoutMs.
// storeBase is where the caller mapped the store; entries are matched by the memory behind it
// (device, inode, offset), so a handle that mapped the same segment elsewhere is recognised.
void RegisterLiveSlot(const void* storeBase, uint32_t slot) noexcept;
void UnregisterLiveSlot(const void* storeBase, uint32_t slot) noexcept;
bool IsLiveSlot(const void* storeBase, uint32_t slot) noexcept;

}  // namespace shm
