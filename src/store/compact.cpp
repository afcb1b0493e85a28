// Incremental compaction (docs/format.md §8, "Compaction"): a cursor sweeps the pool in address
// order, one bounded window per step. The live entries of a window are moved down, into holes of
// their class or blocks carved from free large space below it, each under its bucket lock exactly
// as an overwrite with the same bytes, and then every run of adjacent free blocks in the window is
// merged into one free large block.
// AllocState.lock is held only for one walk of the window at a time (at most
// COMPACT_STEP_UNITS blocks), never while a bucket lock is awaited.
#include <cstddef>

#include "store/store.h"

namespace shm {

using layout::Bucket;
using layout::Entry;

namespace {

constexpr uint32_t kStepUnits = static_cast<uint32_t>(layout::kCompactStepUnits);
constexpr uint32_t kListProbe = static_cast<uint32_t>(layout::kCompactListProbe);

}  // namespace

namespace {

// Under AllocState.lock: the head of the free block at `u`, for an entry of class `cls` (`size`
// units): the whole block when it is a free block of that class, its first `size` units when it
// is a free large block of at least that many; linked on its list either way. false, nothing
// changed, otherwise.
bool TakeHead(const PoolView& pool, uint32_t u, uint32_t cls, uint32_t size,
              uint32_t freeHead) noexcept {
  if (u < pool.firstUnit || u >= freeHead || freeHead > pool.totalUnits) return false;
  const uint32_t flags = AtomicLoad(&pool.EntryAt(u)->flags);
  if ((flags & kFlagFree) == 0) return false;
  const uint32_t c = ClassOfFlags(flags);
  if (c == cls) {
    if (!UnlinkFree(pool, u, cls, freeHead)) return false;
    AtomicStore(&pool.EntryAt(u)->flags, cls << kClassShift);
    return true;
  }
  if (flags != (kFlagFree | (kLargeClass << kClassShift))) return false;
  const uint32_t units = AtomicLoad(&FreeAt(pool.base, u)->units);
  if (units < size || uint64_t{u} + units > freeHead) return false;
  uint32_t* link = LinkOf(pool, u, kLargeClass, freeHead);
  if (link == nullptr) return false;
  const layout::FreeBlock* fb = FreeAt(pool.base, u);
  CarveHead(pool, u, link, AtomicLoad(&fb->prev), AtomicLoad(&fb->next), units, size, cls);
  return true;
}

}  // namespace

AllocStatus AllocMoveTarget(const PoolView& pool, const LockEnv& env, uint32_t cls, uint32_t below,
                            uint32_t above, uint32_t* unit, uint32_t head,
                            uint32_t headStamp) noexcept {
  if (cls >= kClassCount) return AllocStatus::kFull;
  uint32_t held;
  const AllocStatus s = LockAlloc(pool, env, &held);
  if (s != AllocStatus::kOk) return s;
  const uint32_t freeHead = AtomicLoad(&pool.header->freeHead);
  const uint32_t size = layout::kSizeClasses[cls];
  // The run's first block is still a block start only while no merge, join or repair pass ran
  // since its stamp (format.md §8, "Joined runs", step 3): else `head` may lie inside a block,
  // even one carved since whose bytes mimic a linked free block.
  const auto* cs =
      reinterpret_cast<const layout::CompactState*>(pool.base + layout::kCompactOffset);
  if (head != 0 && AtomicLoad(&cs->merged) + AtomicLoad(&pool.header->gcCounter) == headStamp &&
      TakeHead(pool, head, cls, size, freeHead)) {
    Unlock(&pool.alloc->lock, held);
    *unit = head;
    return AllocStatus::kOk;
  }
  AllocStatus result = AllocStatus::kFull;
  // The first hole of the probe below the block moved, else the first above `above`.
  uint32_t low = 0, high = 0;
  uint32_t u = AtomicLoad(&pool.alloc->freeHeads[cls]);
  for (uint32_t probed = 0; u != 0 && probed < kListProbe; ++probed) {
    const uint32_t flags =
        u >= pool.firstUnit && u < freeHead ? AtomicLoad(&pool.EntryAt(u)->flags) : 0;
    if ((flags & kFlagFree) == 0 || ClassOfFlags(flags) != cls || uint64_t{u} + size > freeHead ||
        freeHead > pool.totalUnits) {
      result = AllocStatus::kCorrupt;
      break;
    }
    if (uint64_t{u} + size <= below) {
      low = u;
      break;
    }
    if (high == 0 && u >= above) high = u;
    u = AtomicLoad(&pool.EntryAt(u)->next);
  }
  if (result != AllocStatus::kCorrupt) {
    const uint32_t hole = low != 0 ? low : high;
    if (hole != 0) {
      if (UnlinkFree(pool, hole, cls, freeHead)) {
        AtomicStore(&pool.EntryAt(hole)->flags, cls << kClassShift);
        *unit = hole;
        result = AllocStatus::kOk;
      } else {
        result = AllocStatus::kCorrupt;
      }
    } else if (freeHead <= pool.totalUnits) {
      // No hole of the class: a block carved from the head of free large space below.
      result = TakeBelow(pool, size, cls, freeHead, below, kListProbe, unit);
    }
  }
  Unlock(&pool.alloc->lock, held);
  return result;
}

// The block of a moved entry (above the destination) is freed as a free large block of its
// class's size behind the first blocks of the large list: the merge at the step's end takes it in,
// and it stands neither at the head of its class's list nor among the large blocks the window's
// later moves probe, where after COMPACT_LIST_PROBE moves it would hide every destination below
// (format.md §8, "Compaction", step 2). `units` before `flags`, as a merge writes them.
AllocStatus FreeMovedBlock(const PoolView& pool, const LockEnv& env, uint32_t unit) noexcept {
  const uint32_t cls = ClassOfFlags(AtomicLoad(&pool.EntryAt(unit)->flags));
  if (cls >= kClassCount) return AllocStatus::kCorrupt;
  uint32_t held;
  const AllocStatus s = LockAlloc(pool, env, &held);
  if (s != AllocStatus::kOk) return s;
  AtomicStore(&FreeAt(pool.base, unit)->units, layout::kSizeClasses[cls]);
  PushLargeBehind(pool, unit, AtomicLoad(&pool.header->freeHead));
  Unlock(&pool.alloc->lock, held);
  return AllocStatus::kOk;
}

// After an allocator failure of a step: a gone holder or a damaged list gets a repair pass (which
// coalesces everything itself); kOk unless that pass failed or the lock timed out.
Status Store::CompactAllocFailure(AllocStatus s) noexcept {
  switch (s) {
    case AllocStatus::kOk:
    case AllocStatus::kFull:
      return layout::kOk;
    case AllocStatus::kTimeout:
      return layout::kErrLockTimeout;
    case AllocStatus::kGone:
      return RepairFor(&alloc_->lock, allocGoneSeen_);
    case AllocStatus::kCorrupt:
      break;
  }
  return RepairPass(true);
}

// Moves the entry at `unit` (if it is still a live entry there) into a hole of its class below it
// or at or above unit `above` (the window's end), else into a block carved from free large space
// wholly below it (AllocMoveTarget): the new block gets a copy of the entry, its `next` the old
// one's, and one store into the old entry's link publishes it; then the old block is freed. All
// of it under the bucket lock, as an overwrite of the value with itself: a reader sees the version
// move and retries, a writer waits, and a holder killed anywhere leaves the old or the new entry
// on the chain (and a block the repair pass reclaims). *to (when not null): the new block, 0 when
// nothing moved.
Status Store::MoveEntry(uint32_t unit, uint32_t above, CompactReport* r, uint32_t* to,
                        uint32_t runStart, uint32_t runStamp) noexcept {
  if (to != nullptr) *to = 0;
  Entry* old = EntryAt(unit);
  const uint32_t seen = AtomicLoad(&old->flags);
  // A parked block is no entry (format.md §8, "Parked blocks"): an obstacle, like a free one.
  if ((seen & (kFlagFree | kFlagParked)) != 0 || ClassOfFlags(seen) >= kClassCount)
    return layout::kOk;
  // Read without a lock: a block freed and reused meanwhile names another bucket, whose chain
  // then decides (the unit is moved only if that chain holds it).
  const uint32_t hash = AtomicLoad(&old->keyHash);
  Bucket* b = BucketFor(hash);
  uint32_t held;
  Status s = LockBucket(b, &held);
  if (s != layout::kOk) return s;
  ChainCursor c(Chains(), &b->head);
  bool found = false;
  for (;;) {
    const ChainStep step = c.Next();
    if (step != ChainStep::kEntry) break;  // the end, or a damaged chain (left to its writers)
    if (c.unit() == unit) {
      found = true;
      break;
    }
  }
  const uint32_t k = old->keyLength;
  const uint32_t n = old->valueLength;
  if (!found || k > kMaxKeyBytes || !c.Fits(k, n)) {
    Unlock(&b->lock, held);
    ++r->obstacles;
    return layout::kOk;
  }
  // The class the entry needs (an evicting store may have put it in a larger block).
  const uint32_t cls = SizeClassFor(UnitsForEntry(k, n));
  uint32_t nu = 0;
  // A write's move goes below its run, or to the run's own head.
  const AllocStatus as =
      runStart != 0 ? AllocMoveTarget(pool_, env_, cls, runStart, above, &nu, runStart, runStamp)
                    : AllocMoveTarget(pool_, env_, cls, unit, above, &nu);
  if (as != AllocStatus::kOk) {
    Unlock(&b->lock, held);
    ++r->obstacles;
    return CompactAllocFailure(as);
  }
  Entry* ne = EntryAt(nu);
  // keyHash, checksum, then keyLength, valueLength, namespaceId, expiresAt (bytes 16..27), key,
  // value.
  ne->keyHash = old->keyHash;
  ne->checksum = old->checksum;
  constexpr size_t kTail = offsetof(Entry, keyLength);
  std::memcpy(reinterpret_cast<uint8_t*>(ne) + kTail, reinterpret_cast<const uint8_t*>(old) + kTail,
              sizeof(Entry) - kTail);
  std::memcpy(ne + 1, old + 1, k + n);
  UnpublishedStore(&ne->next, AtomicLoad(&old->next));
  // The same flags (encoding, INDIRECT, the mark) with the new block's class.
  const uint32_t flags = AtomicLoad(&old->flags);
  UnpublishedStore(&ne->flags, (flags & ~(kClassMask << kClassShift)) | (cls << kClassShift));
  AtomicStore(c.link(), nu);
  const AllocStatus fs = FreeMovedBlock(pool_, env_, unit);
  Unlock(&b->lock, held);
  ++r->moved;
  r->movedUnits += layout::kSizeClasses[cls];
  if (to != nullptr) *to = nu;
  // The old block could not be freed: the repair pass reclaims it.
  if (fs != AllocStatus::kOk) return CompactAllocFailure(fs);
  return layout::kOk;
}

// A write making room met, at the end of its run from `start`, the entry at `unit` that it must
// not evict (a pinned namespace's): moves it down, exactly as a compaction step moves an entry
// (MoveEntry: the copy, one store into its link, the old block freed, all under its bucket lock),
// so that its block joins the run (format.md §8, "Joined runs"). The destination is the head of
// the run's first block (a free block of the entry's class, or free large space that holds it),
// while the run's `stamp` says it is still a block start, else one wholly below the run (a hole of
// its class among the first COMPACT_LIST_PROBE blocks of the class's list, else a block carved from
// the head of the lowest of the first COMPACT_LIST_PROBE free large blocks below the run), never
// above it: the run grows that way. *freed: the units of the block it freed, 0 when it moved
// nothing; *to and *toUnits: the block it moved to. As lib/store/js/compact.js moveOutOfRun.
Status Store::MoveOutOfRun(uint32_t unit, uint32_t start, uint32_t stamp, uint32_t* freed,
                           uint32_t* to, uint32_t* toUnits) noexcept {
  *freed = 0;
  *to = 0;
  *toUnits = 0;
  const uint32_t f = AtomicLoad(&EntryAt(unit)->flags);
  const uint32_t cls = ClassOfFlags(f);
  if (cls >= kClassCount || (f & (kFlagFree | kFlagParked)) != 0 || start == 0 || start >= unit) {
    return layout::kOk;
  }
  CompactReport r{};
  // No hole above: the run grows that way.
  const Status s = MoveEntry(unit, totalUnits_, &r, to, start, stamp);
  if (r.moved != 0) {
    *freed = layout::kSizeClasses[cls];
    *toUnits = static_cast<uint32_t>(r.movedUnits);
  }
  return s;
}

// Under AllocState.lock: walks [winStart, winEnd) and merges each run of two or more adjacent free
// blocks into one free large block (each block unlinked from its list, the run's first block
// rewritten: `units` before `flags`, so that a walk without the lock meets only block starts,
// then pushed on the large list). Returns false on a damaged block or list (nothing more merged).
bool Store::MergeWindow(uint32_t winStart, uint32_t winEnd, uint32_t freeHead,
                        CompactReport* r) noexcept {
  uint32_t runStart = 0, runUnits = 0, runBlocks = 0;
  // The run's units that were not a free large block already: a run merged by an earlier step
  // (the trailing run a window hands on to the next) was taken off the hint then.
  uint32_t runFresh = 0;
  auto fresh = [](uint32_t flags, uint32_t size) {
    return ClassOfFlags(flags) == kLargeClass ? 0u : size;
  };
  auto unlinkAt = [&](uint32_t u) {
    return UnlinkFree(pool_, u, ClassOfFlags(AtomicLoad(&EntryAt(u)->flags)), freeHead);
  };
  auto flush = [&] {
    if (runBlocks >= 2) {
      AtomicStore(&FreeAt(base_, runStart)->units, runUnits);
      PushFree(pool_, runStart, kLargeClass);
      ++r->merged;
      // The hint of format.md §8: freed space that a merge has not taken in yet.
      const uint32_t freed = AtomicLoad(&alloc_->freedUnits);
      AtomicStore(&alloc_->freedUnits, freed > runFresh ? freed - runFresh : 0u);
    }
    runBlocks = 0;
  };
  for (uint32_t u = winStart; u < winEnd;) {
    const uint32_t flags = AtomicLoad(&EntryAt(u)->flags);
    const uint32_t size = BlockUnitsOf(base_, u, flags);
    if (size == 0 || size > winEnd - u) return false;
    if ((flags & kFlagFree) == 0) {
      flush();
    } else if (runBlocks == 0) {
      runStart = u;
      runUnits = size;
      runFresh = fresh(flags, size);
      runBlocks = 1;
    } else {
      // The run has two blocks now: its first leaves its list too.
      if (runBlocks == 1 && !unlinkAt(runStart)) return false;
      if (!unlinkAt(u)) return false;
      runUnits += size;
      runFresh += fresh(flags, size);
      ++runBlocks;
    }
    u += size;
  }
  // A run that reaches the window's end is where the next window starts, so that it can grow.
  const bool trailing = runBlocks != 0;
  const uint32_t trailStart = runStart;
  flush();
  if (trailing && AtomicLoad(&compact_->cursor) == winEnd) {
    AtomicStore(&compact_->cursor, trailStart);
  }
  return true;
}

// A write making room (format.md §8, "Making room", joined runs): under the allocator lock, makes
// the run [start, end) its evictions freed one free large block, if no merge, join or repair pass
// ran since the run's `stamp` (StampOf) and every block of it is still a free block on its list (a
// walk from `start` by block size that lands on `end`). *joined: the run's units, or 0 with
// nothing changed: a block of it was allocated or carved meanwhile, or `start` may no longer be a
// block start. A join moves block starts no compaction step expects: it adds 1 to
// CompactState.wraps, so that a step between its walk and its merge merges nothing; a cursor
// inside the run goes back to its start, and the eviction hand, when inside it, on to its end.
// As lib/store/js/compact.js joinFreed.
uint32_t Store::StampOf() const noexcept {
  return AtomicLoad(&compact_->merged) + AtomicLoad(&hdr_->gcCounter);
}

Status Store::JoinFreed(uint32_t start, uint32_t end, uint32_t stamp, uint32_t* joined) noexcept {
  *joined = 0;
  uint32_t held;
  const AllocStatus as = LockAlloc(pool_, env_, &held);
  if (as != AllocStatus::kOk) return CompactAllocFailure(as);
  const uint32_t top = AtomicLoad(&hdr_->freeHead);
  uint32_t u = start;
  uint32_t count = 0;
  // Only merges, joins and repair passes remove block starts; with none since the run started
  // (its stamp), `start` and every block start the write saw in it still are.
  if (top <= totalUnits_ && start >= firstUnit_ && end <= top && StampOf() == stamp) {
    while (u < end) {
      const uint32_t f = AtomicLoad(&EntryAt(u)->flags);
      const uint32_t size = BlockUnitsOf(base_, u, f);
      if ((f & kFlagFree) == 0 || size == 0 || size > end - u ||
          LinkOf(pool_, u, ClassOfFlags(f), top) == nullptr) {
        break;
      }
      ++count;
      u += size;
    }
  }
  if (u != end || count < 2) {
    Unlock(&alloc_->lock, held);
    return layout::kOk;
  }
  // Every block is linked, as the walk above saw: each unlink succeeds. freedUnits keeps the
  // units taken: a write whose run breaks after a join of part of it still runs the batches the
  // hint asks for (a join merges what one write freed in a row, not what is scattered).
  for (u = start; u < end;) {
    const uint32_t f = AtomicLoad(&EntryAt(u)->flags);
    const uint32_t size = BlockUnitsOf(base_, u, f);
    UnlinkFree(pool_, u, ClassOfFlags(f), top);
    u += size;
  }
  // units before flags: a walk without the lock meets only block starts.
  AtomicStore(&FreeAt(base_, start)->units, end - start);
  PushFree(pool_, start, kLargeClass);
  AtomicAdd(&compact_->wraps, 1);
  AtomicAdd(&compact_->merged, 1);
  const uint32_t cursor = AtomicLoad(&compact_->cursor);
  if (cursor > start && cursor < end) AtomicStore(&compact_->cursor, start);
  const uint32_t hand = AtomicLoad(&evict_->hand);
  if (hand > start && hand < end) AtomicCas(&evict_->hand, hand, end);
  Unlock(&alloc_->lock, held);
  *joined = end - start;
  return layout::kOk;
}

// Without a lock (a hint: JoinFreed checks under the lock): the end of the free blocks that
// follow `u`, at most JOIN_BLOCKS of them and below freeHead.
uint32_t Store::FreeAfter(uint32_t u) const noexcept {
  uint32_t top = AtomicLoad(&hdr_->freeHead);
  if (top > totalUnits_) top = totalUnits_;
  for (uint32_t n = 0; n < layout::kJoinBlocks && u < top; ++n) {
    const uint32_t f = AtomicLoad(&EntryAt(u)->flags);
    const uint32_t size = BlockUnitsOf(base_, u, f);
    if ((f & kFlagFree) == 0 || size == 0 || size > top - u) break;
    u += size;
  }
  return u;
}

Status Store::CompactStep(uint32_t maxUnits, CompactReport* r) noexcept {
  *r = CompactReport{};
  if (closed_) return layout::kErrClosed;
  if (maxUnits == 0) maxUnits = 1;
  if (maxUnits > kStepUnits) maxUnits = kStepUnits;
  // The window's entries and large blocks in use: at most one per unit of the window, and the
  // first block.
  uint32_t entries[kStepUnits + 1];
  uint32_t larges[kStepUnits + 1];
  uint32_t count = 0, largeCount = 0;
  // The window's first COMPACT_LIST_PROBE free large blocks.
  uint32_t low[kListProbe];
  uint32_t lowCount = 0;
  uint32_t held;
  AllocStatus as = LockAlloc(pool_, env_, &held);
  if (as != AllocStatus::kOk) return CompactAllocFailure(as);
  const uint32_t top = AtomicLoad(&hdr_->freeHead);
  if (top < firstUnit_ || top > totalUnits_) {
    Unlock(&alloc_->lock, held);
    return RepairPass(true);
  }
  uint32_t start = AtomicLoad(&compact_->cursor);
  if (start < firstUnit_ || start >= top) {
    // A new sweep: the windows of the last one still in flight do not merge (CompactState.wraps).
    start = firstUnit_;
    AtomicAdd(&compact_->wraps, 1);
  }
  uint32_t u = start;
  // A free block the window starts with (the run the last window ended with) does not count
  // against maxUnits: the window always reaches past it.
  uint32_t carried = 0;
  bool damaged = false;
  while (u < top) {
    const uint32_t flags = AtomicLoad(&EntryAt(u)->flags);
    const uint32_t size = BlockUnitsOf(base_, u, flags);
    if (size == 0 || size > top - u) {
      damaged = true;
      break;
    }
    if (u == start && (flags & kFlagFree) != 0) carried = size;
    if ((flags & kFlagFree) == 0 && ClassOfFlags(flags) < kClassCount) {
      entries[count++] = u;
    } else if (flags == kLargeClass << kClassShift) {
      larges[largeCount++] = u;
    } else if (flags == (kFlagFree | (kLargeClass << kClassShift)) && lowCount < kListProbe) {
      low[lowCount++] = u;
    }
    u += size;
    if (u - start - carried >= maxUnits) break;
  }
  if (damaged) {
    Unlock(&alloc_->lock, held);
    return RepairPass(true);
  }
  // The window's lowest free large blocks go to the head of the large list, the lowest first:
  // the carves of the window's moves probe there (TakeBelow), and a block the list holds deeper
  // (merged in an earlier sweep, pushed before every later push) would never be found. With them,
  // each entry of the window goes down into the window's lowest free space, or lower: the live
  // blocks slide down and the free space gathers above them, into the run the merge makes and
  // hands on to the next window. Unlinked and pushed again: listedUnits does not change.
  for (uint32_t i = lowCount; i-- > 0;) {
    if (UnlinkFree(pool_, low[i], kLargeClass, top)) PushFree(pool_, low[i], kLargeClass);
  }
  const uint32_t end = u;
  r->start = start;
  r->end = end;
  r->done = end >= top;
  AtomicStore(&compact_->cursor, end);
  AtomicAdd(&compact_->steps, 1);
  const uint32_t gc = AtomicLoad(&hdr_->gcCounter);
  const uint32_t sweeps = AtomicLoad(&compact_->sweeps);
  const uint32_t wraps = AtomicLoad(&compact_->wraps);
  Unlock(&alloc_->lock, held);

  for (uint32_t i = 0; i < count; ++i) {
    const Status s = MoveEntry(entries[i], end, r);
    if (s != layout::kOk) return s;
  }
  // After the entries: an indirect entry of the window moved above is found on its chain anyway.
  for (uint32_t i = 0; i < largeCount; ++i) {
    const Status s = MoveLarge(larges[i], end, r);
    if (s != layout::kOk) return s;
  }

  as = LockAlloc(pool_, env_, &held);
  if (as != AllocStatus::kOk) return CompactAllocFailure(as);
  // A repair pass since the first walk coalesced the whole pool and moved the block starts; a
  // sweep completed or started since may have given this window (or part of it) to another step.
  bool merged = true;
  if (AtomicLoad(&hdr_->gcCounter) == gc && AtomicLoad(&compact_->sweeps) == sweeps &&
      AtomicLoad(&compact_->wraps) == wraps) {
    merged = MergeWindow(start, end, AtomicLoad(&hdr_->freeHead), r);
    if (r->done) {
      // The sweep is complete: the next window starts at firstUnit.
      AtomicStore(&compact_->cursor, 0u);
      AtomicAdd(&compact_->sweeps, 1);
    }
    AtomicAdd(&compact_->moved, r->moved);
    AtomicAdd(&compact_->merged, r->merged);
  }
  r->cursor = AtomicLoad(&compact_->cursor);
  Unlock(&alloc_->lock, held);
  return merged ? layout::kOk : RepairPass(true);
}

Status Store::CountedStep(uint32_t units, uint32_t* changed) noexcept {
  CompactReport r;
  const Status s = CompactStep(units, &r);
  if (s != layout::kOk) return s;
  if (changed != nullptr) *changed = r.moved + r.merged;
  idleUnits_ = r.moved + r.merged != 0 ? 0 : idleUnits_ + (r.end - r.start);
  // This handle's steps went over the whole pool without moving or merging anything: what was
  // freed lies where no step can merge it (between blocks in use, no hole to move them to). The
  // hint forgets it, so that later writes that find no room refuse at once and a fragmented
  // store's automatic steps stop (format.md §8).
  if (idleUnits_ >= uint64_t{totalUnits_} - firstUnit_) {
    AtomicStore(&alloc_->freedUnits, 0u);
    idleUnits_ = 0;
  }
  return layout::kOk;
}

void Store::AutoCompact() noexcept {
  if (++autoTick_ < static_cast<uint32_t>(layout::kAutoCompactEvery)) return;
  autoTick_ = 0;
  // Hints, read without the lock: nothing shared is written unless a step runs.
  const uint32_t freed = AtomicLoad(&alloc_->freedUnits);
  const uint32_t top = AtomicLoad(&hdr_->freeHead);
  if (freed >= static_cast<uint32_t>(layout::kAutoCompactMinUnits) && top <= totalUnits_ &&
      freed >= totalUnits_ - top) {
    // The set succeeded already: a step that fails (a lock timeout) is left to the next one.
    (void)CountedStep(static_cast<uint32_t>(layout::kAutoCompactUnits));
  }
}

}  // namespace shm
