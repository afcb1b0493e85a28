// Lock words (docs/format.md §1, §6): an atomic u32 whose bits 0-19 are a version, odd while the
// lock is held, and whose bits 20-31 name the holder's owner slot (0 while free). Acquiring and
// releasing both advance the version, so a bucket's lock word is also its seqlock.
#pragma once

#include <atomic>
#include <cstdint>

#include "base/atomic.h"
#include "layout/layout_gen.h"

namespace shm {

inline constexpr uint32_t kLockVersionMask = static_cast<uint32_t>(layout::kLockVersionMask);
inline constexpr uint32_t kLockOwnerShift = static_cast<uint32_t>(layout::kLockOwnerShift);

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

// Releases a lock held with word `held`. A CAS rather than a plain store, so that a holder that
// was (wrongly) presumed gone and taken over cannot release the new holder's lock.
inline void Unlock(uint32_t* word, uint32_t held) noexcept {
  AtomicCas(word, held, LockReleasedWord(held));
}

}  // namespace shm
