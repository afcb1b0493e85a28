// The chain cursor: one walk along a bucket chain (or a free list) with every link checked
// (docs/format.md §7-9). Every walk of the native engine goes through it: readers (get/has and
// the forEach snapshot) retry when it reports an invalid link, writers report corruption, the
// repair pass cuts the chain there and verify() reports why. No allocation, no virtual call:
// everything is inline so that a walk compiles to the loop it replaces.
#pragma once

#include <cstdint>

#include "base/atomic.h"
#include "layout/layout_gen.h"
#include "store/alloc.h"

namespace shm {

// What following one link found.
enum class ChainStep : uint8_t {
  kEnd,    // the link is 0: the chain ends
  kEntry,  // a block that can be a linked entry: a valid size class, inside [firstUnit, endUnit)
           // and not marked free
  // An invalid link, and why:
  kTooLong,     // more links than any valid chain has: a cycle (or, for a reader, a race)
  kOutOfRange,  // the unit is outside [firstUnit, endUnit)
  kBadClass,    // the block's size class is invalid, or the block runs past endUnit
  kFree,        // the block is marked free (the normal case on a free list)
};

// No valid chain holds more entries than the store allows nor more blocks than the pool has, so a
// walk that follows more links than this is in a cycle (format.md §9, "Readers", step 2).
// (An open store has totalUnits > firstUnit: format.md §3.)
inline constexpr uint64_t ChainStepLimit(uint32_t maxEntries, uint32_t firstUnit,
                                         uint32_t totalUnits) noexcept {
  const uint64_t blocks = uint64_t{totalUnits} - firstUnit;
  return (maxEntries < blocks ? uint64_t{maxEntries} : blocks) + 1;
}
// For walks that cut cycles themselves (repair and verify mark every block they visit).
inline constexpr uint64_t kNoStepLimit = ~uint64_t{0};

// Where blocks may be and how long a chain may be, for every walk over one store.
struct ChainBounds {
  uint8_t* base = nullptr;
  uint32_t firstUnit = 0;
  uint32_t endUnit = 0;  // no block reaches past it: totalUnits, or where the pool walk ended
  uint64_t maxSteps = 0;
};

class ChainCursor {
 public:
  // A walk from `head` (a bucket's head or a free list's head). The cursor reads `bounds` where
  // it is (the store's, or a local of the walk), so that a walk keeps few values in registers:
  // they must outlive it.
  ChainCursor(const ChainBounds& bounds, uint32_t* head) noexcept
      : b_(&bounds), stepsLeft_(bounds.maxSteps), follow_(head) {}
  ChainCursor(const ChainBounds&& bounds, uint32_t* head) = delete;

  // Follows the next link: the head at first, then the `next` of the block the cursor is at, or,
  // after Unlink() or Cut(), the link that now skips it. Afterwards link() is the word followed
  // and unit() what it held; once the unit passed the range check (kBadClass, kFree, kEntry)
  // entry() and flags() describe its block, and units() its size (kFree, kEntry).
  ChainStep Next() noexcept {
    link_ = follow_;
    unit_ = AtomicLoad(link_);
    if (unit_ == 0) return ChainStep::kEnd;
    if (stepsLeft_ == 0) return ChainStep::kTooLong;
    --stepsLeft_;
    if (unit_ < b_->firstUnit || unit_ >= b_->endUnit) return ChainStep::kOutOfRange;
    entry_ = EntryAt(b_->base, unit_);
    follow_ = &entry_->next;
    flags_ = AtomicLoad(&entry_->flags);
    const uint32_t cls = ClassOfFlags(flags_);
    if (cls >= kClassCount) return ChainStep::kBadClass;
    units_ = layout::kSizeClasses[cls];
    // The block runs past endUnit (unit_ < endUnit here, so this cannot wrap).
    if (units_ > b_->endUnit - unit_) return ChainStep::kBadClass;
    if ((flags_ & kFlagFree) != 0) return ChainStep::kFree;
    return ChainStep::kEntry;
  }

  uint32_t unit() const noexcept { return unit_; }
  // The word that named unit(): the head, or the `next` of the block before it.
  uint32_t* link() const noexcept { return link_; }
  layout::Entry* entry() const noexcept { return entry_; }
  uint32_t flags() const noexcept { return flags_; }  // loaded once, atomically
  // Under the chain's lock (a repair pass): stores the entry's flags, and keeps them as loaded.
  void SetFlags(uint32_t flags) noexcept {
    AtomicStore(&entry_->flags, flags);
    flags_ = flags;
  }
  uint32_t units() const noexcept { return units_; }  // the block's size

  // Whether an entry of these lengths fits the block the cursor is at (after kFree or kEntry).
  bool Fits(uint32_t keyLength, uint32_t valueLength) const noexcept {
    return uint64_t{layout::kEntryHeaderSize} + keyLength + valueLength <= UnitBytes(units_);
  }

  // Under the chain's lock: link() takes the `next` of the block the cursor is at, which leaves
  // the chain; Next() continues with the block that followed it.
  void Unlink() noexcept {
    AtomicStore(link_, AtomicLoad(follow_));
    follow_ = link_;
  }
  // Under the chain's lock: the chain ends at link() (a link that cannot be trusted).
  void Cut() noexcept {
    AtomicStore(link_, 0);
    follow_ = link_;
  }

 private:
  const ChainBounds* b_;
  uint64_t stepsLeft_;        // links Next() may still follow
  uint32_t* follow_;          // the link Next() follows
  uint32_t* link_ = nullptr;  // the link that named unit_
  layout::Entry* entry_ = nullptr;
  uint32_t unit_ = 0;
  uint32_t flags_ = 0;
  uint32_t units_ = 0;
};

}  // namespace shm
