// Mutex: the native implementation of the sync region's mutex (docs/format.md §13), on the same
// bytes and with the same protocol as lib/sync/mutex.js, so that native and JS handles of one
// region exclude each other and recover each other's locks. The lock word and the owner records
// are the ownership room's (§1, §6), judged by the same gone rule; blocking uses the wait/wake
// algorithm of wait.h on the segment room's futex.
//
// A handle is one owner slot: it belongs to one thread at a time (like a JS handle, one per
// thread), and it is not recursive. Every method is noexcept and returns a status.
//
// Recovery: an acquirer that finds the holder gone (its process ended, or its slot was marked
// dead) takes the lock over in place, sets `recovering` and is told *recovered = true; so is
// every acquirer until a holder calls Unlock(), which declares the protected state consistent.
#pragma once

#include <cstdint>

#include "base/atomic.h"
#include "base/status_gen.h"
#include "layout/layout_gen.h"
#include "ownership/lockword.h"
#include "ownership/owners.h"
#include "sync/wait.h"

namespace shm::sync {

inline constexpr uint64_t kRegionBytes = layout::kSyncRegionBytes;
// The unit a region's offset in its buffer is a multiple of (§13), so that the lock word and the
// waiter count sit on cache lines of their own; the core itself needs only 8-byte alignment.
inline constexpr uint64_t kRegionAlign = 64;
inline constexpr uint32_t kMutexOwnerSlots = static_cast<uint32_t>(layout::kSyncOwnerSlots);
static_assert(layout::kSyncOwnersOffset + kMutexOwnerSlots * sizeof(layout::Owner) == kRegionBytes,
              "the owner table ends the region");
static_assert(kMutexOwnerSlots <= kOwnerSlots, "a lock word's owner bits name every slot");
static_assert(layout::kSyncMutexOffset % 64 == 0 && offsetof(layout::MutexState, waiters) % 64 == 0,
              "the lock word and the waiter count are on cache lines of their own");

class Mutex {
 public:
  Mutex() noexcept = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;
  ~Mutex() { Close(); }

  // Opens the mutex of the region at `region` (`size` bytes available, at least kRegionBytes;
  // 8-byte aligned, 64 for speed), stamping a region of zero bytes, and claims an owner slot for
  // thread `tid` of process `pid` (adopting a gone owner's slot when the table is full). Statuses:
  // kErrInvalidArg (null, misaligned, open already, pid 0), kErrBadSize, kErrBadMagic (not a sync
  // region, or not a mutex), kErrBadVersion, kErrTooManyHandles.
  layout::Status Open(uint8_t* region, uint64_t size, uint32_t pid, uint32_t tid) noexcept;

  // Acquires the mutex, waiting at most timeout_ns (negative: no limit). kOk with *recovered;
  // kErrLockTimeout (also when this handle holds it already: it is not recursive); kErrClosed
  // when the handle is closed or `stop` ended the wait.
  layout::Status Lock(int64_t timeout_ns, bool* recovered, const StopCheck& stop = {}) noexcept {
    // The uncontended case inline: one load and one CAS of a free word.
    if (state_ != nullptr && !held_) {
      const uint32_t w = AtomicLoad(&state_->lock);
      if (!LockIsHeld(w) && AtomicCas(&state_->lock, w, LockAcquiredWord(w, slot_))) {
        Acquired(false, recovered);
        return layout::kOk;
      }
    }
    return LockSlow(timeout_ns, recovered, stop);
  }
  // Acquires the mutex if it is free or its holder is gone: kOk with *acquired and *recovered.
  layout::Status TryLock(bool* acquired, bool* recovered) noexcept;
  // Releases the mutex declaring the protected state consistent (clears `recovering`).
  // kErrNotOwner when this handle does not hold it, or it was taken over from this handle.
  layout::Status Unlock() noexcept;
  // Releases the owner slot; a held mutex is abandoned (released with a recovery pending, so the
  // next acquirer is told recovered). Idempotent.
  void Close() noexcept;

  bool open() const noexcept { return state_ != nullptr; }
  bool held() const noexcept { return held_; }
  uint32_t slot() const noexcept { return slot_; }
  // How many times the mutex was taken over from a gone holder (wraps).
  uint32_t Recoveries() const noexcept;

 private:
  layout::Status LockSlow(int64_t timeout_ns, bool* recovered, const StopCheck& stop) noexcept;
  // One look at the lock word: true when the lock is now ours (*recovered set), else false with
  // *seen = the held word.
  bool Attempt(bool checkGone, uint32_t* seen, bool* recovered) noexcept;
  bool HolderGone(uint32_t word) const noexcept;
  void Acquired(bool tookOver, bool* recovered) noexcept {
    held_ = true;
    if (tookOver) {
      AtomicStore(&state_->recovering, 1);
      AtomicAdd(&state_->generation, 1);
    }
    *recovered = AtomicLoad(&state_->recovering) != 0;
  }
  // Releases the held word `w` without declaring anything consistent.
  void Abandon(uint32_t w) noexcept;

  layout::MutexState* state_ = nullptr;
  layout::Owner* owners_ = nullptr;
  OwnerIdentity self_;
  uint32_t slot_ = 0;
  bool held_ = false;
};

}  // namespace shm::sync
