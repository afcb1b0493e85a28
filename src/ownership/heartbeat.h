// The heartbeat of a long pass (docs/format.md §9): a holder that keeps a lock for long shows it
// is alive by advancing the word's version while keeping it held.
#pragma once

#include <cstdint>

#include "ownership/lockword.h"

namespace shm {

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

}  // namespace shm
