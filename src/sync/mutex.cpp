#include "sync/mutex.h"

#include <unistd.h>

#include "base/atomic.h"
#include "ownership/lockword.h"

namespace shm::sync {

namespace L = layout;

namespace {

// How long an opener waits for the magic of a region another stamper claimed (§13, as
// lib/sync/region.js): 1000 looks 1 ms apart.
constexpr int kStampWaitSteps = 1000;
constexpr useconds_t kStampWaitStepUs = 1000;

// Stamps a region of zero bytes (every opener stores the same values, the magic last) and checks
// the header of a stamped one (§13). The claim is a CAS of `kind` from 0: a region another kind
// claimed, or a creator with parameters (the CREATING mark), is waited for, never stamped as a
// mutex over its claim.
L::Status Stamp(L::SyncHeader* h) noexcept {
  if (AtomicLoad(&h->magic) == 0) {
    if (AtomicCas(&h->kind, 0, L::kSyncKindMutex) || AtomicLoad(&h->kind) == L::kSyncKindMutex) {
      if (AtomicLoad(&h->version) == 0) AtomicStore(&h->version, L::kSyncFormatVersion);
      AtomicCas(&h->magic, 0, L::kSyncMagic);
    } else {
      for (int i = 0; i < kStampWaitSteps && AtomicLoad(&h->magic) == 0; ++i)
        usleep(kStampWaitStepUs);
    }
  }
  if (AtomicLoad(&h->magic) != L::kSyncMagic) return L::kErrBadMagic;
  if (AtomicLoad(&h->kind) != L::kSyncKindMutex) return L::kErrBadMagic;
  if (AtomicLoad(&h->version) != L::kSyncFormatVersion) return L::kErrBadVersion;
  return L::kOk;
}

}  // namespace

L::Status Mutex::Open(uint8_t* region, uint64_t size, uint32_t pid, uint32_t tid) noexcept {
  if (state_ != nullptr || region == nullptr || pid == 0 ||
      reinterpret_cast<uintptr_t>(region) % alignof(L::Owner) != 0) {
    return L::kErrInvalidArg;
  }
  if (size < kRegionBytes) return L::kErrBadSize;
  const L::Status s = Stamp(reinterpret_cast<L::SyncHeader*>(region + L::kSyncHeaderOffset));
  if (s != L::kOk) return s;
  auto* state = reinterpret_cast<L::MutexState*>(region + L::kSyncMutexOffset);
  auto* owners = reinterpret_cast<L::Owner*>(region + L::kSyncOwnersOffset);
  self_ = IdentityOf(pid, tid);
  uint32_t slot = ClaimOwnerSlot(owners, self_, kMutexOwnerSlots);
  bool adopted = false;
  if (slot == 0) {
    slot = AdoptDeadOwnerSlot(owners, self_, kMutexOwnerSlots);
    if (slot == 0) return L::kErrTooManyHandles;
    adopted = true;
  }
  state_ = state;
  owners_ = owners;
  slot_ = slot;
  held_ = false;
  if (adopted) {
    // The gone owner of the adopted slot may have died holding the lock: a lock naming a live
    // slot would never read as gone again, so it is abandoned now (§13).
    const uint32_t w = AtomicLoad(&state->lock);
    if (LockIsHeld(w) && LockOwnerOf(w) == slot) Abandon(w);
  }
  return L::kOk;
}

uint32_t Mutex::Recoveries() const noexcept {
  return state_ != nullptr ? AtomicLoad(&state_->generation) : 0;
}

// The gone rule of §6 for the holder named by the held word `word`.
bool Mutex::HolderGone(uint32_t word) const noexcept {
  const uint32_t o = LockOwnerOf(word);
  // Our own slot: held by this handle, or left by the owner that had the slot before us.
  if (o == slot_) return !held_;
  if (o == 0 || o >= kMutexOwnerSlots) return true;  // no owner can hold it: a damaged word
  return ClassifyOwner(&owners_[o], self_) == OwnerStatus::kGone;
}

bool Mutex::Attempt(bool checkGone, uint32_t* seen, bool* recovered) noexcept {
  uint32_t* lock = &state_->lock;
  for (;;) {
    const uint32_t w = AtomicLoad(lock);
    if (!LockIsHeld(w)) {
      if (AtomicCas(lock, w, LockAcquiredWord(w, slot_))) {
        Acquired(false, recovered);
        return true;
      }
      continue;
    }
    if (checkGone && HolderGone(w)) {
      if (AtomicCas(lock, w, LockTakeoverWord(w, slot_))) {
        Acquired(true, recovered);
        return true;
      }
      continue;
    }
    *seen = w;
    return false;
  }
}

L::Status Mutex::LockSlow(int64_t timeout_ns, bool* recovered, const StopCheck& stop) noexcept {
  if (state_ == nullptr) return L::kErrClosed;
  if (held_) return L::kErrLockTimeout;
  uint32_t seen = 0;
  Wait wait(timeout_ns);
  // Spinning looks at the word only.
  while (wait.Spin()) {
    if (Attempt(false, &seen, recovered)) return L::kOk;
  }
  for (;;) {
    // The gone rule reads /proc for a holder in another process: only for a word that has not
    // moved since the previous look (a word that moves has live users), first 1 ms after
    // spinning, then at most once per recheck period (wait.h).
    const bool check = AtomicLoad(&state_->lock) == seen && wait.Recheck();
    if (Attempt(check, &seen, recovered)) return L::kOk;
    bool stopped = false;
    if (!wait.Park(&state_->lock, &state_->waiters, seen, stop, &stopped)) {
      return stopped ? L::kErrClosed : L::kErrLockTimeout;
    }
  }
}

L::Status Mutex::TryLock(bool* acquired, bool* recovered) noexcept {
  *acquired = false;
  *recovered = false;
  if (state_ == nullptr) return L::kErrClosed;
  if (held_) return L::kOk;
  uint32_t seen;
  *acquired = Attempt(true, &seen, recovered);
  return L::kOk;
}

L::Status Mutex::Unlock() noexcept {
  if (state_ == nullptr) return L::kErrClosed;
  if (!held_) return L::kErrNotOwner;
  held_ = false;
  uint32_t* lock = &state_->lock;
  const uint32_t w = AtomicLoad(lock);
  if (!LockIsHeld(w) || LockOwnerOf(w) != slot_) return L::kErrNotOwner;  // taken over from us
  // Only a holder writes `recovering`: reading it first spares the common release a store.
  if (AtomicLoad(&state_->recovering) != 0) AtomicStore(&state_->recovering, 0);
  if (!AtomicCas(lock, w, LockReleasedWord(w))) return L::kErrNotOwner;
  WakeWaiters(lock, &state_->waiters, 1);
  return L::kOk;
}

void Mutex::Abandon(uint32_t w) noexcept {
  AtomicStore(&state_->recovering, 1);
  if (AtomicCas(&state_->lock, w, LockReleasedWord(w))) {
    WakeWaiters(&state_->lock, &state_->waiters, 1);
  }
}

void Mutex::Close() noexcept {
  if (state_ == nullptr) return;
  if (held_) {
    held_ = false;
    const uint32_t w = AtomicLoad(&state_->lock);
    if (LockIsHeld(w) && LockOwnerOf(w) == slot_) Abandon(w);
  }
  ReleaseOwnerSlot(owners_, slot_);
  state_ = nullptr;
  owners_ = nullptr;
  slot_ = 0;
}

}  // namespace shm::sync
