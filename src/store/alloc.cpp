#include "store/alloc.h"

namespace shm {

using layout::kSizeClasses;

uint32_t SizeClassFor(uint32_t units) noexcept {
  // Binary search over the kClassCount ascending classes.
  uint32_t lo = 0, hi = kClassCount;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (kSizeClasses[mid] < units) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

AllocStatus LockAlloc(const PoolView& pool, const LockEnv& env, uint32_t* held) noexcept {
  switch (LockFast(&pool.alloc->lock, env, held)) {
    case LockResult::kAcquired:
      return AllocStatus::kOk;
    case LockResult::kGone:
      if (pool.goneSeen != nullptr) *pool.goneSeen = *held;
      return AllocStatus::kGone;
    case LockResult::kTimeout:
      break;
  }
  return AllocStatus::kTimeout;
}

uint32_t* ListOf(layout::AllocState* a, uint32_t cls) noexcept {
  return cls == kLargeClass ? &a->largeHead : &a->freeHeads[cls];
}

void PushFree(const PoolView& pool, uint32_t unit, uint32_t cls) noexcept {
  uint32_t* head = ListOf(pool.alloc, cls);
  const uint32_t old = AtomicLoad(head);
  layout::FreeBlock* fb = FreeAt(pool.base, unit);
  AddListed(pool.alloc, cls < kClassCount ? kSizeClasses[cls] : AtomicLoad(&fb->units));
  AtomicStore(&fb->flags, kFlagFree | (cls << kClassShift));
  AtomicStore(&fb->prev, 0u);
  AtomicStore(&fb->next, old);
  // A damaged head is not followed (the repair pass rebuilds the lists).
  if (old >= pool.firstUnit && old < pool.totalUnits)
    AtomicStore(&FreeAt(pool.base, old)->prev, unit);
  AtomicStore(head, unit);
}

uint32_t* LinkOf(const PoolView& pool, uint32_t unit, uint32_t cls, uint32_t freeHead) noexcept {
  const layout::FreeBlock* fb = FreeAt(pool.base, unit);
  const uint32_t next = AtomicLoad(&fb->next);
  const uint32_t prev = AtomicLoad(&fb->prev);
  auto inPool = [&](uint32_t u) { return u >= pool.firstUnit && u < freeHead; };
  // Both neighbours must name this block: anything else is a damaged list, changed by nobody.
  if (next != 0 && (!inPool(next) || AtomicLoad(&FreeAt(pool.base, next)->prev) != unit)) {
    return nullptr;
  }
  uint32_t* link = ListOf(pool.alloc, cls);
  if (prev != 0) {
    if (!inPool(prev)) return nullptr;
    link = &FreeAt(pool.base, prev)->next;
  }
  return AtomicLoad(link) == unit ? link : nullptr;
}

bool UnlinkFree(const PoolView& pool, uint32_t unit, uint32_t cls, uint32_t freeHead) noexcept {
  uint32_t* link = LinkOf(pool, unit, cls, freeHead);
  if (link == nullptr) return false;
  layout::FreeBlock* fb = FreeAt(pool.base, unit);
  const uint32_t next = AtomicLoad(&fb->next);
  const uint32_t prev = AtomicLoad(&fb->prev);
  AtomicStore(link, next);
  if (next != 0) AtomicStore(&FreeAt(pool.base, next)->prev, prev);
  SubListed(pool.alloc, cls < kClassCount ? kSizeClasses[cls] : AtomicLoad(&fb->units));
  return true;
}

namespace {

// Under AllocState.lock: pops the head of class c's list into *unit (kOk), or finds it corrupt.
AllocStatus PopList(const PoolView& pool, uint32_t c, uint32_t head, uint32_t freeHead,
                    uint32_t* unit) noexcept {
  layout::Entry* e = pool.EntryAt(head);
  const uint32_t size = kSizeClasses[c];
  uint32_t flags;
  uint32_t next;
  if (head < pool.firstUnit || head >= freeHead || freeHead > pool.totalUnits ||
      ((flags = AtomicLoad(&e->flags)) & kFlagFree) == 0 || ClassOfFlags(flags) != c ||
      static_cast<uint64_t>(head) + size > freeHead ||
      ((next = AtomicLoad(&e->next)) != 0 && (next < pool.firstUnit || next >= freeHead))) {
    return AllocStatus::kCorrupt;
  }
  AtomicStore(&pool.alloc->freeHeads[c], next);
  if (next != 0) AtomicStore(&FreeAt(pool.base, next)->prev, 0u);
  SubListed(pool.alloc, size);
  AtomicStore(&e->flags, c << kClassShift);
  *unit = head;
  return AllocStatus::kOk;
}

}  // namespace

namespace {

// Under AllocState.lock: the size and `next` of block `u`, the `steps`-th block a walk of the
// large list met. False when the list is damaged there: `u` outside the pool, not a free large
// block, of size 0 or crossing freeHead, a `next` outside the pool, or more steps than the pool
// has units (a cycle).
bool ReadListedLarge(const PoolView& pool, uint32_t u, uint32_t freeHead, uint64_t steps,
                     uint32_t* size, uint32_t* next) noexcept {
  if (steps >= pool.totalUnits || u < pool.firstUnit || u >= freeHead) return false;
  layout::LargeBlock* lb = LargeAt(pool.base, u);
  if (AtomicLoad(&lb->flags) != (kFlagFree | (kLargeClass << kClassShift))) return false;
  *size = AtomicLoad(&lb->units);
  *next = AtomicLoad(&lb->next);
  return *size != 0 && uint64_t{u} + *size <= freeHead &&
         (*next == 0 || (*next >= pool.firstUnit && *next < freeHead));
}

// Under AllocState.lock: first fit on the large list for a block of exactly `units` units of
// class `cls` (a large block, or a table class carved from free large space): a free large block
// of that size is unlinked, a larger one gives its tail (the rest stays free and listed). kFull
// when no free large block is large enough. (A compaction move's destination is TakeBelow's.)
AllocStatus TakeFromLarge(const PoolView& pool, uint32_t units, uint32_t cls, uint32_t freeHead,
                          uint32_t* unit) noexcept {
  layout::AllocState* a = pool.alloc;
  uint32_t* link = &a->largeHead;
  uint32_t prev = 0;  // the block whose `next` is link (0: the head)
  // A list cannot hold more blocks than the pool has units: longer is a cycle.
  for (uint64_t steps = 0;; ++steps) {
    const uint32_t u = AtomicLoad(link);
    if (u == 0) return AllocStatus::kFull;
    layout::LargeBlock* lb = LargeAt(pool.base, u);
    uint32_t size, next;
    if (!ReadListedLarge(pool, u, freeHead, steps, &size, &next)) return AllocStatus::kCorrupt;
    if (size < units) {
      link = &lb->next;
      prev = u;
      continue;
    }
    // The block handed out: u itself, or the tail. Its size (a large block's) and class are
    // written before the free block shrinks, so a pool walk that reads either size meets only
    // block starts.
    const uint32_t got = size == units ? u : u + size - units;
    if (cls == kLargeClass) AtomicStore(&LargeAt(pool.base, got)->units, units);
    AtomicStore(&pool.EntryAt(got)->flags, cls << kClassShift);
    if (size == units) {
      AtomicStore(link, next);
      if (next != 0) AtomicStore(&FreeAt(pool.base, next)->prev, prev);
    } else {
      AtomicStore(&lb->units, size - units);
    }
    // Whole or split, `units` left the list.
    SubListed(a, units);
    *unit = got;
    return AllocStatus::kOk;
  }
}

}  // namespace

AllocStatus TakeBelow(const PoolView& pool, uint32_t units, uint32_t cls, uint32_t freeHead,
                      uint32_t below, uint32_t probe, uint32_t* unit) noexcept {
  layout::AllocState* a = pool.alloc;
  uint32_t* link = &a->largeHead;
  uint32_t prev = 0;  // the block whose `next` is link (0: the head)
  // The block chosen: its unit, the word that links it, its neighbours on the list and its size.
  uint32_t best = 0, bestPrev = 0, bestNext = 0, bestSize = 0;
  uint32_t* bestLink = nullptr;
  // A list cannot hold more blocks than the pool has units: longer is a cycle.
  for (uint64_t steps = 0; probe == 0 || steps < probe; ++steps) {
    const uint32_t u = AtomicLoad(link);
    if (u == 0) break;
    layout::LargeBlock* lb = LargeAt(pool.base, u);
    uint32_t size, next;
    if (!ReadListedLarge(pool, u, freeHead, steps, &size, &next)) return AllocStatus::kCorrupt;
    if (size >= units && uint64_t{u} + size <= below && (best == 0 || u < best)) {
      best = u;
      bestPrev = prev;
      bestNext = next;
      bestSize = size;
      bestLink = link;
      if (probe == 0) break;  // first fit
    }
    link = &lb->next;
    prev = u;
  }
  if (best == 0) return AllocStatus::kFull;
  CarveHead(pool, best, bestLink, bestPrev, bestNext, bestSize, units, cls);
  *unit = best;
  return AllocStatus::kOk;
}

void CarveHead(const PoolView& pool, uint32_t u, uint32_t* link, uint32_t prev, uint32_t next,
               uint32_t size, uint32_t units, uint32_t cls) noexcept {
  if (size > units) {
    // The rest, above the block handed out, takes the free block's place on the list. Its header
    // is written before the block at `u` changes size, so that a pool walk without the lock that
    // reads either size of `u` meets only block starts.
    const uint32_t rest = u + units;
    layout::FreeBlock* rb = FreeAt(pool.base, rest);
    AtomicStore(&rb->units, size - units);
    AtomicStore(&rb->flags, kFlagFree | (kLargeClass << kClassShift));
    AtomicStore(&rb->prev, prev);
    AtomicStore(&rb->next, next);
    AtomicStore(link, rest);
    if (next != 0) AtomicStore(&FreeAt(pool.base, next)->prev, rest);
  } else {
    AtomicStore(link, next);
    if (next != 0) AtomicStore(&FreeAt(pool.base, next)->prev, prev);
  }
  if (cls == kLargeClass) AtomicStore(&LargeAt(pool.base, u)->units, units);
  AtomicStore(&pool.EntryAt(u)->flags, cls << kClassShift);
  // Whole or split, `units` left the list.
  SubListed(pool.alloc, units);
}

void PushLargeBehind(const PoolView& pool, uint32_t unit, uint32_t freeHead) noexcept {
  layout::AllocState* a = pool.alloc;
  uint32_t after = 0;  // the last block of the list's first COMPACT_LIST_PROBE
  uint32_t u = AtomicLoad(&a->largeHead);
  for (uint32_t n = 0; n < static_cast<uint32_t>(layout::kCompactListProbe) && u != 0; ++n) {
    // A damaged list is not followed: the block goes to the head (the repair pass rebuilds it).
    if (u < pool.firstUnit || u >= freeHead) {
      after = 0;
      break;
    }
    after = u;
    u = AtomicLoad(&FreeAt(pool.base, u)->next);
  }
  if (after == 0 || (u != 0 && (u < pool.firstUnit || u >= freeHead))) {
    PushFree(pool, unit, kLargeClass);
    return;
  }
  layout::FreeBlock* fb = FreeAt(pool.base, unit);
  AddListed(a, AtomicLoad(&fb->units));
  AtomicStore(&fb->flags, kFlagFree | (kLargeClass << kClassShift));
  AtomicStore(&fb->prev, after);
  AtomicStore(&fb->next, u);
  if (u != 0) AtomicStore(&FreeAt(pool.base, u)->prev, unit);
  AtomicStore(&FreeAt(pool.base, after)->next, unit);
}

AllocStatus AllocBlock(const PoolView& pool, const LockEnv& env, uint32_t cls, uint32_t* unit,
                       bool larger) noexcept {
  // A batch of one: no block is parked.
  uint32_t got = 0;
  return AllocBatch(pool, env, cls, 1, larger, unit, &got);
}

AllocStatus AllocBatch(const PoolView& pool, const LockEnv& env, uint32_t cls, uint32_t count,
                       bool larger, uint32_t* units, uint32_t* got) noexcept {
  *got = 0;
  if (cls >= kClassCount) return AllocStatus::kFull;
  uint32_t held;
  AllocStatus s = LockAlloc(pool, env, &held);
  if (s != AllocStatus::kOk) return s;
  layout::AllocState* a = pool.alloc;
  const uint32_t size = kSizeClasses[cls];
  uint32_t freeHead = AtomicLoad(&pool.header->freeHead);
  uint32_t n = 0;
  AllocStatus result = AllocStatus::kOk;
  if (freeHead < pool.firstUnit || freeHead > pool.totalUnits) result = AllocStatus::kCorrupt;
  while (result == AllocStatus::kOk && n < count) {
    const uint32_t head = AtomicLoad(&a->freeHeads[cls]);
    if (head != 0) {
      result = PopList(pool, cls, head, freeHead, &units[n]);
    } else if (static_cast<uint64_t>(freeHead) + size <= pool.totalUnits) {
      // The class is written before the block joins [firstUnit, freeHead).
      AtomicStore(&pool.EntryAt(freeHead)->flags, cls << kClassShift);
      units[n] = freeHead;
      freeHead += size;
      AtomicStore(&pool.header->freeHead, freeHead);
    } else {
      result = TakeFromLarge(pool, size, cls, freeHead, &units[n]);
      if (result == AllocStatus::kFull) break;
    }
    if (result == AllocStatus::kOk) ++n;
  }
  if (n == 0 && result != AllocStatus::kCorrupt && larger) {
    for (uint32_t c = cls + 1; c < kClassCount; ++c) {
      const uint32_t h = AtomicLoad(&a->freeHeads[c]);
      if (h == 0) continue;
      if (PopList(pool, c, h, freeHead, &units[0]) == AllocStatus::kOk)
        n = 1;
      else
        result = AllocStatus::kCorrupt;
      break;
    }
  }
  // The extra blocks become the caller's parked blocks: `next` first, so that a block marked
  // PARKED always names its owner (one killed between the two stores is unreachable, and the
  // repair pass frees it).
  for (uint32_t i = 1; i < n; ++i) {
    layout::Entry* e = pool.EntryAt(units[i]);
    AtomicStore(&e->next, env.selfSlot);
    AtomicStore(&e->flags, kFlagParked | (cls << kClassShift));
  }
  Unlock(&a->lock, held);
  *got = n;
  if (n != 0) return AllocStatus::kOk;
  return result == AllocStatus::kCorrupt ? result : AllocStatus::kFull;
}

namespace {

// RepairState: cuts and cutGc are written only by a repair pass, which holds every lock (format.md
// §9, step 3).
const layout::RepairState* RepairOf(const PoolView& pool) noexcept {
  return reinterpret_cast<const layout::RepairState*>(pool.base + layout::kRepairOffset);
}
const uint32_t* CutsOf(const PoolView& pool) noexcept {
  return &RepairOf(pool)->cuts;
}

// Under AllocState.lock: AllocState.freedUnits += units, saturating.
void CountFreed(layout::AllocState* a, uint64_t units) noexcept {
  const uint64_t sum = AtomicLoad(&a->freedUnits) + units;
  AtomicStore(&a->freedUnits, sum > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(sum));
}

// Whether the unlinked entry `e` (flags `flags`) is an indirect entry whose reference its checksum
// vouches for (RefSumMatches, its value 8 bytes as reads require). Only such a reference names a
// block its free may free: FLAG_INDIRECT alone is one bit, and an inline 8-byte value that gained
// it may equal another entry's reference. On a mismatch the entry's own block is freed and the
// block its bytes name is left to the repair pass (reclaimed there when no entry refers to it), as
// a reader takes such an entry for damage. Read before the allocator lock is taken: the caller
// unlinked the entry and holds its bucket lock, so its bytes do not change; an inline entry costs
// no hash.
bool RefTrusted(const layout::Entry* e, uint32_t flags) noexcept {
  const uint32_t k = e->keyLength;
  return RefInBlock(flags, k) && e->valueLength == kIndirectBytes &&
         RefSumMatches(e, k, e->keyHash, flags);
}

// Under AllocState.lock: the large block an indirect entry (RefTrusted) refers to, if it is one
// that is in use (0 otherwise: a damaged reference frees nothing, and the repair pass reclaims the
// block).
uint32_t LiveLargeOf(const PoolView& pool, const layout::Entry* e) noexcept {
  const uint32_t u = RefOf(e, e->keyLength).unit;
  const uint32_t freeHead = AtomicLoad(&pool.header->freeHead);
  if (u < pool.firstUnit || u >= freeHead || freeHead > pool.totalUnits) return 0;
  const uint32_t f = AtomicLoad(&pool.EntryAt(u)->flags);
  return ClassOfFlags(f) == kLargeClass && (f & kFlagFree) == 0 ? u : 0;
}

}  // namespace

AllocStatus AllocLarge(const PoolView& pool, const LockEnv& env, uint32_t units, uint32_t* unit,
                       LargeClaim* claim, uint32_t below) noexcept {
  if (units == 0) return AllocStatus::kFull;
  uint32_t held;
  AllocStatus s = LockAlloc(pool, env, &held);
  if (s != AllocStatus::kOk) return s;
  layout::AllocState* a = pool.alloc;
  claim->gc = AtomicLoad(&pool.header->gcCounter);
  const uint32_t freeHead = AtomicLoad(&pool.header->freeHead);
  AllocStatus result = AllocStatus::kCorrupt;
  if (freeHead >= pool.firstUnit && freeHead <= pool.totalUnits) {
    result = below != 0 ? TakeBelow(pool, units, kLargeClass, freeHead, below, 0, unit)
                        : TakeFromLarge(pool, units, kLargeClass, freeHead, unit);
  }
  if (result == AllocStatus::kFull && below == 0 && uint64_t{freeHead} + units <= pool.totalUnits) {
    layout::LargeBlock* lb = LargeAt(pool.base, freeHead);
    AtomicStore(&lb->units, units);
    AtomicStore(&lb->flags, kLargeClass << kClassShift);
    AtomicStore(&pool.header->freeHead, freeHead + units);
    *unit = freeHead;
    result = AllocStatus::kOk;
  }
  if (result == AllocStatus::kOk) {
    layout::LargeBlock* lb = LargeAt(pool.base, *unit);
    // Until an entry refers to it, the block names its writer (verify(): in flight, not leaked),
    // and holds the cuts count as of now: a pass that cuts later and does not keep the block in
    // flight leaves this value in it (LargeHeld).
    AtomicStore(&lb->writer, env.selfSlot);
    AtomicStore(&lb->cuts, AtomicLoad(CutsOf(pool)));
    claim->keyHash = AtomicLoad(&lb->keyHash);
    claim->sum = AtomicLoad(&lb->valueChecksum);
  }
  Unlock(&a->lock, held);
  return result;
}

AllocStatus FreeBlock(const PoolView& pool, const LockEnv& env, uint32_t unit) noexcept {
  layout::Entry* e = pool.EntryAt(unit);
  const uint32_t flags = AtomicLoad(&e->flags);
  const uint32_t cls = ClassOfFlags(flags);
  if (cls > kLargeClass) return AllocStatus::kCorrupt;
  const bool ref = cls != kLargeClass && RefTrusted(e, flags);
  uint32_t held;
  AllocStatus s = LockAlloc(pool, env, &held);
  if (s != AllocStatus::kOk) return s;
  layout::AllocState* a = pool.alloc;
  const uint32_t large = ref ? LiveLargeOf(pool, e) : 0;
  uint64_t freed = BlockUnitsOf(pool.base, unit, flags);
  PushFree(pool, unit, cls);
  if (large != 0) {
    freed += AtomicLoad(&LargeAt(pool.base, large)->units);
    PushFree(pool, large, kLargeClass);
  }
  CountFreed(a, freed);
  Unlock(&a->lock, held);
  return AllocStatus::kOk;
}

AllocStatus FreeParked(const PoolView& pool, const LockEnv& env, const uint32_t* units, uint32_t n,
                       const uint32_t* cuts, uint32_t cutsSeen, bool* cut) noexcept {
  uint32_t held;
  AllocStatus s = LockAlloc(pool, env, &held);
  if (s != AllocStatus::kOk) return s;
  layout::AllocState* a = pool.alloc;
  // A repair pass cut the pool since the caller looked: its units may lie in blocks carved since.
  *cut = AtomicLoad(cuts) != cutsSeen;
  if (*cut) n = 0;
  uint64_t freed = 0;
  for (uint32_t i = 0; i < n; ++i) {
    layout::Entry* e = pool.EntryAt(units[i]);
    const uint32_t flags = AtomicLoad(&e->flags);
    const uint32_t cls = ClassOfFlags(flags);
    if ((flags & kFlagParked) == 0 || cls >= kClassCount || AtomicLoad(&e->next) != env.selfSlot) {
      continue;
    }
    freed += kSizeClasses[cls];
    PushFree(pool, units[i], cls);
  }
  CountFreed(a, freed);
  Unlock(&a->lock, held);
  return AllocStatus::kOk;
}

bool LargeHeld(const PoolView& pool, const LockEnv& env, uint32_t unit,
               const LargeClaim& claim) noexcept {
  if (AtomicLoad(&pool.header->gcCounter) == claim.gc) return true;
  const layout::LargeBlock* lb = LargeAt(pool.base, unit);
  // A block that does not end by freeHead is unallocated space, whatever its header says: a pass
  // that restored a freeHead damaged downwards left it beyond (format.md §9, step 3), and the bump
  // pointer hands its units out again. A block whose cuts word is not the current count was not
  // kept by a pass that cut since: it lay beyond where the walk of a restored freeHead ended, and
  // the units bumped since may cover it with its header intact (a pass stores the count into
  // every block in flight it keeps, step 5).
  const uint32_t cutGc = AtomicLoad(&RepairOf(pool)->cutGc);  // before cuts: stored first
  const uint32_t cuts = AtomicLoad(CutsOf(pool));
  const uint32_t units = AtomicLoad(&lb->units);
  if (AtomicLoad(&lb->flags) != (kLargeClass << kClassShift) || units == 0 ||
      uint64_t{unit} + units > AtomicLoad(&pool.header->freeHead) ||
      AtomicLoad(&lb->writer) != env.selfSlot || AtomicLoad(&lb->keyHash) != claim.keyHash ||
      AtomicLoad(&lb->valueChecksum) != claim.sum) {
    return false;
  }
  // One count behind: held while the pass that moved cuts last has not completed (cutGc is still
  // gcCounter), read last. That pass holds every lock, so only the give-up of FreeUnlinkedLarge
  // gets here while it runs: it stamps the block in step 5, or frees it once given up, and a
  // block it does not see lies beyond freeHead (checked above after cuts was read) until it
  // completes.
  const uint32_t stamp = AtomicLoad(&lb->cuts);
  return stamp == cuts || (stamp == cuts - 1 && cutGc == AtomicLoad(&pool.header->gcCounter));
}

AllocStatus FreeUnlinkedLarge(const PoolView& pool, const LockEnv& env, uint32_t unit,
                              const LargeClaim& claim) noexcept {
  uint32_t held;
  AllocStatus s = LockAlloc(pool, env, &held);
  if (s != AllocStatus::kOk) {
    // Not freed (the allocator's holder is gone, or a live one kept it past the timeout): given
    // up instead, writer = 0, so that the next repair pass frees it whichever handle runs it
    // (format.md §8, "Writing a large value"); one of another handle would keep it in flight for
    // as long as this handle lives. No lock is needed: a pass of this handle's own is not
    // running while it is here, and a pass run by another handle frees a block in flight of a live
    // writer only as damage; then LargeHeld or the CAS fails, or the CAS lands between the flags
    // and the writer stores of another writer's allocation of the same unit (AllocLarge), whose
    // writer store then replaces it. A pass running now that cut, and has not stamped the block
    // yet, is why LargeHeld takes a cuts word one count behind while that pass has not completed:
    // refused, the block would stay in flight of this live handle, kept by every pass.
    if (LargeHeld(pool, env, unit, claim)) {
      AtomicCas(&LargeAt(pool.base, unit)->writer, env.selfSlot, 0u);
    }
    return s;
  }
  layout::AllocState* a = pool.alloc;
  if (LargeHeld(pool, env, unit, claim)) {
    CountFreed(a, AtomicLoad(&LargeAt(pool.base, unit)->units));
    PushFree(pool, unit, kLargeClass);
  }
  Unlock(&a->lock, held);
  return AllocStatus::kOk;
}

AllocStatus FreeListUnits(const PoolView& pool, const LockEnv& env, uint64_t* freeListUnits,
                          uint32_t* freeHeadOut, uint32_t* largestFree) noexcept {
  uint32_t held;
  AllocStatus s = LockAlloc(pool, env, &held);
  if (s != AllocStatus::kOk) return s;
  const uint32_t freeHead = AtomicLoad(&pool.header->freeHead);
  // The count, not a walk: the class lists may hold hundreds of thousands of blocks, and every
  // writer that needs the allocator waits while the lock is held.
  const uint32_t units = AtomicLoad(&pool.alloc->listedUnits);
  uint32_t largest = 0;
  if (largestFree != nullptr) {
    // A list cannot hold more blocks than the pool has units: cut the walk there (a cycle).
    const uint64_t maxSteps = pool.totalUnits;
    uint32_t u = AtomicLoad(&pool.alloc->largeHead);
    for (uint64_t steps = 0; u != 0 && steps < maxSteps; ++steps) {
      if (u < pool.firstUnit || u >= freeHead || freeHead > pool.totalUnits) break;
      const uint32_t size = AtomicLoad(&LargeAt(pool.base, u)->units);
      if (size > freeHead - u) break;
      if (size > largest) largest = size;
      u = AtomicLoad(&LargeAt(pool.base, u)->next);
    }
  }
  Unlock(&pool.alloc->lock, held);
  if (largestFree != nullptr) *largestFree = largest;
  *freeListUnits = units;
  *freeHeadOut = freeHead;
  return AllocStatus::kOk;
}

}  // namespace shm
