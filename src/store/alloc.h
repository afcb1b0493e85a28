// The entry-pool allocator (docs/format.md §8): 48 size classes, one free list per class, and
// large blocks of any number of units on a list of their own, all under AllocState.lock. Blocks
// of the 48 classes are never split; a free large block is split by an allocation, and runs of
// adjacent free blocks are merged into free large blocks by compaction (compact.cpp).
#pragma once

#include <cstdint>
#include <cstring>

#include "base/atomic.h"
#include "base/hash.h"
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
inline constexpr uint32_t kFlagIndirect = static_cast<uint32_t>(layout::kFlagIndirect);
// The flag bits an entry's checksum covers (format.md §8): the encoding and FLAG_INDIRECT, so that
// a flag flipped between an inline 8-byte value and a large value's reference fails the checksum.
inline constexpr uint32_t kEntrySumFlags = static_cast<uint32_t>(layout::kEntrySumFlags);
static_assert((kEntrySumFlags & (kClassMask << kClassShift | kFlagAccessed | kFlagFree)) == 0,
              "a checksum covers no flag a linked entry's or a moved entry's flags change");
inline constexpr uint32_t kLargeClass = static_cast<uint32_t>(layout::kLargeClass);
inline constexpr uint32_t kIndirectBytes = static_cast<uint32_t>(layout::kIndirectValueBytes);
inline constexpr uint32_t kFlagParked = static_cast<uint32_t>(layout::kFlagParked);
inline constexpr uint32_t kParkPerClass = static_cast<uint32_t>(layout::kParkPerClass);
inline constexpr uint32_t kParkRefill = static_cast<uint32_t>(layout::kParkRefill);
static_assert(kParkRefill >= 1 && kParkRefill <= kParkPerClass,
              "a batch's parked blocks fit its class");
inline constexpr uint32_t kParkMaxUnits = static_cast<uint32_t>(layout::kParkMaxUnits);
static_assert(kLargeClass == kClassCount, "a chain's class check must reject a large block");

inline constexpr uint32_t kBlockShift = static_cast<uint32_t>(layout::kBlockShift);
inline constexpr uint32_t kBlockUnit = static_cast<uint32_t>(layout::kBlockUnit);
static_assert(kBlockUnit == 1u << kBlockShift, "a pool unit is a power of two");
static_assert(sizeof(layout::Entry) == layout::kEntryHeaderSize, "the key follows the header");
static_assert(sizeof(layout::LargeBlock) == layout::kLargeHeaderSize,
              "the value follows the header");
static_assert(sizeof(layout::FreeBlock) <= layout::kBlockUnit, "a free header fits one unit");

// Units an entry with key length k and value length n needs: ceil((28 + k + n) / 16).
inline constexpr uint32_t UnitsForEntry(uint32_t keyLength, uint32_t valueLength) noexcept {
  return (static_cast<uint32_t>(layout::kEntryHeaderSize) + keyLength + valueLength + kBlockUnit -
          1) >>
         kBlockShift;
}
// Bytes of `units` pool units.
inline constexpr uint64_t UnitBytes(uint64_t units) noexcept {
  return units << kBlockShift;
}
// The smallest size class holding `units`, or kClassCount when none does.
uint32_t SizeClassFor(uint32_t units) noexcept;
inline constexpr uint32_t ClassOfFlags(uint32_t flags) noexcept {
  return (flags >> kClassShift) & kClassMask;
}

// The block at unit index `unit`: byte offset unit * 16 (docs/format.md §1). The one place a unit
// becomes a pointer.
inline layout::Entry* EntryAt(uint8_t* base, uint32_t unit) noexcept {
  return reinterpret_cast<layout::Entry*>(base + UnitBytes(unit));
}
inline const layout::Entry* EntryAt(const uint8_t* base, uint32_t unit) noexcept {
  return reinterpret_cast<const layout::Entry*>(base + UnitBytes(unit));
}

inline layout::FreeBlock* FreeAt(uint8_t* base, uint32_t unit) noexcept {
  return reinterpret_cast<layout::FreeBlock*>(base + UnitBytes(unit));
}

inline layout::LargeBlock* LargeAt(uint8_t* base, uint32_t unit) noexcept {
  return reinterpret_cast<layout::LargeBlock*>(base + UnitBytes(unit));
}

// Units a large block needs for a value of n bytes: ceil((32 + n) / 16).
inline constexpr uint32_t UnitsForLarge(uint32_t valueLength) noexcept {
  return static_cast<uint32_t>(
      (uint64_t{layout::kLargeHeaderSize} + valueLength + kBlockUnit - 1) >> kBlockShift);
}

// Entry.expiresAt, 48 bits in two fields (docs/format.md §8): racy loads, as every entry field a
// reader copies before its version check; written only before the entry is linked.
inline uint64_t ExpiresAtOf(const layout::Entry* e) noexcept {
  return uint64_t{RacyLoad(&e->expiresHi)} << 32 | RacyLoad(&e->expiresLo);
}
inline void SetExpiresAt(layout::Entry* e, uint64_t expiresAt) noexcept {
  e->expiresHi = static_cast<uint16_t>(expiresAt >> 32);
  e->expiresLo = static_cast<uint32_t>(expiresAt);
}

// The size of the block at `unit` whose flags are `flags`: the class table, or LargeBlock.units
// for a large block; 0 when the class is invalid. A pool walk reads every block this way.
inline uint32_t BlockUnitsOf(const uint8_t* base, uint32_t unit, uint32_t flags) noexcept {
  const uint32_t cls = ClassOfFlags(flags);
  if (cls < kClassCount) return layout::kSizeClasses[cls];
  if (cls != kLargeClass) return 0;
  return AtomicLoad(&reinterpret_cast<const layout::LargeBlock*>(base + UnitBytes(unit))->units);
}

// An indirect entry's reference (its value bytes, unaligned after the key): the large block's
// unit and the value length.
using LargeRef = layout::IndirectRef;
static_assert(sizeof(LargeRef) == kIndirectBytes, "the reference is the entry's value bytes");
inline LargeRef RefOf(const layout::Entry* e, uint32_t keyLength) noexcept {
  LargeRef r;
  std::memcpy(&r, reinterpret_cast<const uint8_t*>(e + 1) + keyLength, sizeof r);
  return r;
}
// Whether an entry whose flags are `flags` has INDIRECT set and a reference after a key of
// keyLength bytes inside its block (of a class 0..47). An entry a chain walk found is a block of a
// valid class inside the pool, but its key length (up to 65535) is only checked against its block
// here: a damaged one would read the reference from past the block (past the end of the store,
// near it), where the bytes may even name another entry's large block.
inline bool RefInBlock(uint32_t flags, uint32_t keyLength) noexcept {
  const uint32_t cls = ClassOfFlags(flags);
  return (flags & kFlagIndirect) != 0 && cls < kClassCount &&
         uint64_t{layout::kEntryHeaderSize} + keyLength + kIndirectBytes <=
             UnitBytes(layout::kSizeClasses[cls]);
}
// Whether the checksum of entry `e` is the one of its key and value bytes, `length` of them (the
// caller's keyLength + valueLength, checked to lie within its block), under `keyHash` and `flags`
// (format.md §8: seeded with keyHash XOR (flags & ENTRY_SUM_FLAGS)). The lengths and keyHash are
// the caller's, never read again here: the repair pass may look at bytes a live writer changes
// without any lock (a damaged link into the large block it is filling), and a length read again
// could make the hash read past the block, or past the mapping.
inline bool EntrySumMatches(const layout::Entry* e, uint32_t length, uint32_t keyHash,
                            uint32_t flags) noexcept {
  return EntryChecksum(e + 1, length, keyHash, flags & kEntrySumFlags) == e->checksum;
}
// Whether an entry with a reference inside its block (RefInBlock(flags, keyLength), checked by the
// caller with this keyLength) has the checksum of its key and reference under `flags` and
// `keyHash`. A party that frees or moves the large block a reference names checks this first: an
// inline 8-byte value that gained FLAG_INDIRECT (one bit) may equal another entry's reference, and
// a compaction move would give a damaged entry a fresh checksum.
inline bool RefSumMatches(const layout::Entry* e, uint32_t keyLength, uint32_t keyHash,
                          uint32_t flags) noexcept {
  return EntrySumMatches(e, keyLength + kIndirectBytes, keyHash, flags);
}
// Key + value bytes the entry holds for its user (the value length of an indirect entry is the
// large block's, not the reference's 8 bytes). Under its bucket lock. A damaged indirect entry
// whose reference is not in its block (RefInBlock) counts its own lengths (the repair pass
// recounts the bytes).
inline uint32_t PayloadOf(const layout::Entry* e) noexcept {
  const uint32_t kl = e->keyLength;
  if (!RefInBlock(AtomicLoad(&e->flags), kl)) return kl + e->valueLength;
  return kl + RefOf(e, kl).length;
}

// What the allocator needs to reach the shared state.
struct PoolView {
  uint8_t* base = nullptr;
  layout::Header* header = nullptr;
  layout::AllocState* alloc = nullptr;
  uint32_t firstUnit = 0;
  uint32_t totalUnits = 0;
  // Where LockAlloc leaves the lock word it judged gone (nullptr: nowhere). The caller repairs
  // for that word, not for one it loads later: a word that changed since was released by the
  // holder judged gone, or by a pass that mended what it left, and needs no pass (format.md §9).
  uint32_t* goneSeen = nullptr;
  layout::Entry* EntryAt(uint32_t unit) const noexcept { return shm::EntryAt(base, unit); }
};

enum class AllocStatus { kOk, kFull, kGone, kTimeout, kCorrupt };

// Takes AllocState.lock (kGone: its holder is gone, the caller repairs for the word judged, which
// is in *held and *pool.goneSeen; never repairs itself).
AllocStatus LockAlloc(const PoolView& pool, const LockEnv& env, uint32_t* held) noexcept;
// Under AllocState.lock: the free-list head word of class `cls` (the large list for LARGE).
uint32_t* ListOf(layout::AllocState* a, uint32_t cls) noexcept;
// Under AllocState.lock: AllocState.listedUnits += units (or -= units), modulo 2^32: the count
// of the units on the free lists (format.md §8, "Listed units"). An atomic store, as readers load
// it without the lock (a hint); every push, pop, unlink and split of a free list goes through
// these, and the repair pass stores the exact count.
inline void AddListed(layout::AllocState* a, uint32_t units) noexcept {
  AtomicStore(&a->listedUnits, AtomicLoad(&a->listedUnits) + units);
}
inline void SubListed(layout::AllocState* a, uint32_t units) noexcept {
  AtomicStore(&a->listedUnits, AtomicLoad(&a->listedUnits) - units);
}
// Under AllocState.lock: block `unit` becomes free (flags = FREE | cls << 8) at the head of its
// list, both links kept (format.md §8: FreeBlock.prev of the old head names it, its own is 0),
// and its units (the class's, or a large block's `units`, written before) join listedUnits.
void PushFree(const PoolView& pool, uint32_t unit, uint32_t cls) noexcept;
// Under AllocState.lock: removes free block `unit` from the list of class `cls`, wherever it is
// on it, through its `prev` link, and takes its units off listedUnits. false, and nothing changed,
// when the links around it do not agree (a damaged list: the caller runs a repair pass).
bool UnlinkFree(const PoolView& pool, uint32_t unit, uint32_t cls, uint32_t freeHead) noexcept;
// Under AllocState.lock: the word that links free block `unit` into class cls's list (the list's
// head or its predecessor's `next`) when both its neighbours name it; nullptr otherwise (a damaged
// list, or a stale header inside a block a merge or a join made, which no list names).
uint32_t* LinkOf(const PoolView& pool, uint32_t unit, uint32_t cls, uint32_t freeHead) noexcept;

// Takes AllocState.lock (never repairs: kGone tells the caller, who must release its bucket lock
// before repairing), pops or bumps a block of class `cls`, writes flags = cls << 8. With
// `larger`, when neither is possible, pops the head of the smallest non-empty list of a larger
// class instead (an evicting store, format.md §8): the block keeps its class, which the caller
// reads from its flags.
AllocStatus AllocBlock(const PoolView& pool, const LockEnv& env, uint32_t cls, uint32_t* unit,
                       bool larger = false) noexcept;
// A batch for the per-writer block cache (format.md §8, "Parked blocks"): takes AllocState.lock
// (kGone: its holder is gone, the caller repairs) and hands out up to `count` blocks of class cls
// into units[] under that one hold: popped from the class's list, bumped, or carved from free
// large space, in that order, as AllocBlock does one. units[0] gets flags = cls << 8, as any
// allocation; every other one is parked for the caller (next = its slot, then flags = PARKED |
// cls << 8) before the lock is released. With `larger` and no block of cls anywhere, units[0] is
// the head of the smallest non-empty list of a larger class, alone. *got is how many it handed
// out; kFull when none, kCorrupt when a damaged list or freeHead was met before any block was
// taken (one met later ends the batch).
AllocStatus AllocBatch(const PoolView& pool, const LockEnv& env, uint32_t cls, uint32_t count,
                       bool larger, uint32_t* units, uint32_t* got) noexcept;
// What the writer of a large block it has not linked yet knows of it (LargeHeld): Header.gcCounter,
// read under AllocState.lock at the allocation, and the block's keyHash and valueChecksum as the
// writer knows them (read there too, then the ones it writes).
struct LargeClaim {
  uint32_t gc = 0;
  uint32_t keyHash = 0;
  uint32_t sum = 0;
};
// Takes AllocState.lock and hands out a large block of exactly `units` units: first fit on the
// large free list, the tail of a larger free block split off (the rest stays free), else the
// bump pointer. The block has flags = LARGE_CLASS << 8, LargeBlock.units = units, writer = the
// caller's owner slot and cuts = RepairState.cuts; *claim is read under the lock. A compaction move
// of a large block passes its window's start (below > 0): only the first free large block that
// lies wholly below it will do, carved from its head (TakeBelow), never the bump pointer.
AllocStatus AllocLarge(const PoolView& pool, const LockEnv& env, uint32_t units, uint32_t* unit,
                       LargeClaim* claim, uint32_t below = 0) noexcept;
// Whether the large block at `unit`, allocated by the caller with `claim` and not linked, is
// still the caller's, under a lock that keeps repair passes out (a bucket lock or AllocState.lock).
// No pass since: it is. A pass run by another handle keeps a block in flight of a live writer as
// it is, holes or not, and stores RepairState.cuts into its cuts word (format.md §9, steps 3 and
// 5); one the caller ran, or one that found the writer gone, freed it, or left it beyond a
// restored freeHead, and stored writer = 0 in it. A block that does not end by freeHead is never
// held, nor one whose cuts word is not RepairState.cuts (a pass cut since without seeing it: it
// lay beyond where the walk of a restored freeHead ended), but for one count behind while the pass
// that moved it has not completed (RepairState.cutGc is gcCounter), which only a check without a
// lock (FreeUnlinkedLarge's give-up) meets. Its keyHash and valueChecksum tell it
// from a block the caller allocated at the same unit after such a pass (a compaction move's, left
// unlinked), which names the caller too.
bool LargeHeld(const PoolView& pool, const LockEnv& env, uint32_t unit,
               const LargeClaim& claim) noexcept;
// Under AllocState.lock: a block of `units` units of class `cls` (a large block, or a table
// class) carved from the HEAD of a free large block that lies wholly below unit `below` (a move's
// destination, format.md §8 "Compaction", step 2): among the first `probe` blocks of the large list
// the lowest-addressed one large enough, or, with `probe` 0, the first such block of the whole
// list. A block of exactly `units` is unlinked; a larger one leaves its rest, above the block
// handed out, in its place on the list. kFull when there is none, kCorrupt on a damaged list.
// Every move thus lowers the address of the block it moves, and the block moved sits against
// what lay below the free block, its rest against what lay above.
AllocStatus TakeBelow(const PoolView& pool, uint32_t units, uint32_t cls, uint32_t freeHead,
                      uint32_t below, uint32_t probe, uint32_t* unit) noexcept;
// Under AllocState.lock: hands out the first `units` units of the free large block `u` (`size`
// units, linked through `link`, its neighbours on the large list `prev` and `next`) as a block of
// class `cls`: unlinked when it has exactly `units`, else its rest, above, takes its place on the
// list (its header written before `u` changes size). listedUnits loses `units`.
void CarveHead(const PoolView& pool, uint32_t u, uint32_t* link, uint32_t prev, uint32_t next,
               uint32_t size, uint32_t units, uint32_t cls) noexcept;
// Under AllocState.lock: pushes the free large block at `unit` (its `units` written) on the large
// list behind the list's first COMPACT_LIST_PROBE blocks (at its end when shorter): the block a
// move left, which lies above every destination the window's later moves may take, would
// otherwise stand among the blocks they probe and, after COMPACT_LIST_PROBE moves, hide them all.
void PushLargeBehind(const PoolView& pool, uint32_t unit, uint32_t freeHead) noexcept;
// Compaction (compact.cpp, format.md §8 "Compaction"). Takes AllocState.lock and hands out a
// block of class `cls` for a block moved from unit `below` (an entry, or a large block whose entry
// is copied) out of a window that ends at `above`: among the first COMPACT_LIST_PROBE blocks of
// the class's list, the first that lies wholly below `below`, else the first at or above `above`
// (a hole filled: it stops being stranded, and the moves that fill holes end when the holes do);
// else a block carved from free large space wholly below `below` (TakeBelow, among the first
// COMPACT_LIST_PROBE blocks of the large list), never above: a carve always moves the block
// down, so that carving moves end and free space gathers at the pool's top. kFull when none.
// With `head` (not 0: the first block of a making-room write's run, below `below`), that block
// comes first while CompactState.merged + gcCounter is still `headStamp` (the run's stamp: no
// merge, join or repair pass since, so `head` is a block start): when it is a free block of class
// `cls`, or a free large block that holds one, it gives its head.
AllocStatus AllocMoveTarget(const PoolView& pool, const LockEnv& env, uint32_t cls, uint32_t below,
                            uint32_t above, uint32_t* unit, uint32_t head = 0,
                            uint32_t headStamp = 0) noexcept;
// Takes AllocState.lock and frees the block of an entry that was moved: a free large block of
// its class's size behind the large list's first blocks (PushLargeBehind), and never the large
// block it refers to (the moved entry refers to it now). Not counted in freedUnits (the move took
// as many).
AllocStatus FreeMovedBlock(const PoolView& pool, const LockEnv& env, uint32_t unit) noexcept;

// Frees a large block that was allocated with AllocLarge (with `claim`) and never linked, if it
// is still the caller's (LargeHeld: a repair pass may have freed it, and handed it out since).
// When AllocState.lock cannot be taken (kGone, kTimeout), it gives the block up instead: writer =
// 0, and the next repair pass, run by any handle, frees it.
AllocStatus FreeUnlinkedLarge(const PoolView& pool, const LockEnv& env, uint32_t unit,
                              const LargeClaim& claim) noexcept;
// Takes AllocState.lock and pushes the block at `unit` on its class's free list (a large block
// on the large list). An indirect entry's large block is freed with it, under the same lock.
AllocStatus FreeBlock(const PoolView& pool, const LockEnv& env, uint32_t unit) noexcept;

// Takes AllocState.lock and pushes the n blocks at units[] that the caller parked (format.md §8,
// "Parked blocks": flags FREE cleared, FLAG_PARKED set, `next` = the caller's owner slot) on their
// free lists, all under one hold. A unit that no longer carries the caller's mark is skipped (a
// repair pass reclaimed it). Counts the units in AllocState.freedUnits. When the word `cuts`
// (RepairState.cuts) is not `cutsSeen` under the lock, frees nothing and sets *cut (the caller
// forgets the blocks: §9 step 3), else clears it.
AllocStatus FreeParked(const PoolView& pool, const LockEnv& env, const uint32_t* units, uint32_t n,
                       const uint32_t* cuts, uint32_t cutsSeen, bool* cut) noexcept;

// Under AllocState.lock: the units on the free lists (AllocState.listedUnits: no class list is
// walked), the bump pointer, and, when largestFree is given, the largest free large block, for
// which the large list alone is walked (bounded, bounds-checked).
AllocStatus FreeListUnits(const PoolView& pool, const LockEnv& env, uint64_t* freeListUnits,
                          uint32_t* freeHead, uint32_t* largestFree = nullptr) noexcept;

}  // namespace shm
