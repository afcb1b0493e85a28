// The entry-pool allocator (docs/format.md §8): 40 size classes, one free list per class, all
// under AllocState.lock; blocks are never split or merged.
#pragma once

#include <cstdint>

#include "layout/layout_gen.h"
#include "ownership/heartbeat.h"
#include "ownership/owners.h"
#include "ownership/waiter.h"

namespace shm {

inline constexpr uint32_t kClassCount = static_cast<uint32_t>(layout::kSizeClassCount);
inline constexpr uint32_t kFlagFree = static_cast<uint32_t>(layout::kFlagFree);
inline constexpr uint32_t kFlagAccessed = static_cast<uint32_t>(layout::kFlagAccessed);
inline constexpr uint32_t kClassShift = static_cast<uint32_t>(layout::kFlagClassShift);
inline constexpr uint32_t kClassMask = static_cast<uint32_t>(layout::kFlagClassMask);
inline constexpr uint32_t kEncodingMask = static_cast<uint32_t>(layout::kFlagEncodingMask);

// Units an entry with key length k and value length n needs: ceil((32 + k + n) / 64).
inline constexpr uint32_t UnitsForEntry(uint32_t keyLength, uint32_t valueLength) noexcept {
  return (static_cast<uint32_t>(layout::kEntryHeaderSize) + keyLength + valueLength + 63) / 64;
}
// The smallest size class holding `units`, or kClassCount when none does.
uint32_t SizeClassFor(uint32_t units) noexcept;
inline constexpr uint32_t ClassOfFlags(uint32_t flags) noexcept {
  return (flags >> kClassShift) & kClassMask;
}

// The block at unit index `unit`: byte offset unit * 64 (docs/format.md §1). The one place a unit
// becomes a pointer.
inline layout::Entry* EntryAt(uint8_t* base, uint32_t unit) noexcept {
  return reinterpret_cast<layout::Entry*>(base + (static_cast<uint64_t>(unit) << 6));
}
inline const layout::Entry* EntryAt(const uint8_t* base, uint32_t unit) noexcept {
  return reinterpret_cast<const layout::Entry*>(base + (static_cast<uint64_t>(unit) << 6));
}

// What the allocator needs to reach the shared state.
struct PoolView {
  uint8_t* base = nullptr;
  layout::Header* header = nullptr;
  layout::AllocState* alloc = nullptr;
  uint32_t firstUnit = 0;
  uint32_t totalUnits = 0;
  layout::Entry* EntryAt(uint32_t unit) const noexcept { return shm::EntryAt(base, unit); }
};

enum class AllocStatus { kOk, kFull, kGone, kTimeout, kCorrupt };

// Takes AllocState.lock (never repairs: kGone tells the caller, who must release its bucket lock
// before repairing), pops or bumps a block of class `cls`, writes flags = cls << 8. With
// `larger`, when neither is possible, pops the head of the smallest non-empty list of a larger
// class instead (an evicting store, format.md §8): the block keeps its class, which the caller
// reads from its flags.
AllocStatus AllocBlock(const PoolView& pool, const LockEnv& env, uint32_t cls, uint32_t* unit,
                       bool larger = false) noexcept;
// Takes AllocState.lock and pushes the block at `unit` on its class's free list.
AllocStatus FreeBlock(const PoolView& pool, const LockEnv& env, uint32_t unit) noexcept;

// Units on the free lists, walked under AllocState.lock (bounded, bounds-checked), and the
// bump pointer read under the same lock.
AllocStatus FreeListUnits(const PoolView& pool, const LockEnv& env, uint64_t* freeListUnits,
                          uint32_t* freeHead) noexcept;

}  // namespace shm
