// shm::Store writers (docs/format.md §9, "Writers"): set (delete and clear are remove.cpp). Every
// change to a chain happens under its bucket lock, a writer holds at most one bucket lock (and
// possibly the allocator lock inside it), and an entry is complete before the one atomic store that
// links it, so a chain is a valid list of valid entries at every instant.
#include <algorithm>
#include <chrono>

#include "base/hash.h"
#include "store/chain.h"
#include "store/store.h"

namespace shm {

using layout::Bucket;
using layout::Entry;

uint64_t Store::NowMs() const noexcept {
  using namespace std::chrono;
  return static_cast<uint64_t>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

// The clock is read only for a namespace default TTL, the one expiry that needs it.
// An expiry past the 48 bits of Entry.expiresAt is stored as the last one (format.md §8).
uint64_t Store::ExpiryFor(uint32_t ns, uint64_t expiresAt) const noexcept {
  if (expiresAt == kExpiryNever) return 0;
  uint64_t at = expiresAt;
  if (expiresAt == kExpiryDefault) {
    const uint64_t ttl = AtomicLoad64(&nsPolicy_[ns].ttlMs);
    if (ttl == 0) return 0;
    at = NowMs() + ttl;
  }
  return at < layout::kMaxExpiresAt ? at : layout::kMaxExpiresAt;
}

Status Store::LockBucket(Bucket* b, uint32_t* held) noexcept {
  for (;;) {
    switch (LockFast(&b->lock, env_, held)) {
      case LockResult::kAcquired:
        return layout::kOk;
      case LockResult::kTimeout:
        return layout::kErrLockTimeout;
      case LockResult::kGone: {
        Status s = RepairFor(&b->lock, *held);
        if (s != layout::kOk) return s;
        break;
      }
    }
  }
}

Status Store::HandleAllocFailure(AllocStatus s, bool* repaired, bool* retry) noexcept {
  *retry = false;
  switch (s) {
    case AllocStatus::kOk:
      return layout::kOk;
    case AllocStatus::kFull:
      return layout::kErrStoreFull;
    case AllocStatus::kTimeout:
      return layout::kErrLockTimeout;
    case AllocStatus::kCorrupt:
      if (*repaired) return layout::kErrCorrupt;
      *repaired = true;
      break;
    case AllocStatus::kGone: {
      Status r = RepairFor(&alloc_->lock, allocGoneSeen_);
      if (r != layout::kOk) return r;
      *retry = true;
      return layout::kOk;
    }
  }
  Status r = RepairPass(true);  // a corrupt free list
  if (r != layout::kOk) return r;
  *retry = true;
  return layout::kOk;
}

Store::Found Store::FindLocked(Bucket* b, uint32_t ns, const void* key, uint32_t keyLength,
                               uint32_t hash) noexcept {
  Found found;
  ChainCursor c(Chains(), &b->head);
  for (;;) {
    const ChainStep step = c.Next();
    if (step == ChainStep::kEnd) return found;
    if (step != ChainStep::kEntry) {
      found.corrupt = true;
      return found;
    }
    const Entry* e = c.entry();
    if (e->keyHash == hash && e->keyLength == keyLength && e->namespaceId == ns) {
      if (!c.Fits(keyLength, e->valueLength)) {
        found.corrupt = true;
        return found;
      }
      if (keyLength == 0 || std::memcmp(e + 1, key, keyLength) == 0) {
        found.link = c.link();
        found.unit = c.unit();
        return found;
      }
    }
  }
}

Status Store::LockAndFind(Bucket* b, uint32_t ns, const void* key, uint32_t keyLength,
                          uint32_t hash, uint32_t* held, Found* f, bool* repaired) noexcept {
  for (;;) {
    Status s = LockBucket(b, held);
    if (s != layout::kOk) return s;
    *f = FindLocked(b, ns, key, keyLength, hash);
    if (!f->corrupt) return layout::kOk;
    // A chain that is invalid under its own lock is corruption: one repair pass, then give up.
    Unlock(&b->lock, *held);
    if (*repaired) return layout::kErrCorrupt;
    *repaired = true;
    s = RepairPass(true);
    if (s != layout::kOk) return s;
  }
}

namespace {
constexpr int kStepsPerBatch = static_cast<int>(layout::kCompactStepsPerBatch);
// The bounds of the work one set does to make room, for a block of `need` units (format.md §8,
// "Making room"): evictions, and batches of compaction steps. Both grow with the space the set
// needs, so that a set into a full evictable store succeeds at once whenever evicting cold entries
// can make room, and stay constant for the common small set (as lib/store/js/write.js).
// Whether a set may run the hand once more (format.md §8, "Making room"; as lib/store/js/write.js
// mayEvict): its first EVICT_BASE_PER_SET searches, then while the units its evictions freed are
// below EVICT_UNITS_PER_NEED × need. The bound is on units, not entries: entries far smaller than
// the block needed would otherwise let one set empty the store.
constexpr bool MayEvict(uint32_t evictions, uint64_t evictedUnits, uint32_t need) noexcept {
  return evictions < layout::kEvictBasePerSet ||
         evictedUnits < layout::kEvictUnitsPerNeed * uint64_t{need};
}
constexpr uint64_t MaxBatches(uint32_t need) noexcept {
  constexpr uint64_t kBatchUnits = layout::kCompactStepsPerBatch * layout::kCompactStepUnits;
  return layout::kCompactBatchesPerSet +
         layout::kCompactBatchesPerNeed * ((need + kBatchUnits - 1) / kBatchUnits);
}
}  // namespace

// Allocates a large block for a value of n bytes (evicting, bounded, when the store may) and
// fills it outside any bucket lock: nobody can reach the block until an entry refers to it.
// *claim tells whether a repair pass since freed it (AllocLarge, LargeHeld).
Status Store::PrepareLarge(const void* value, uint32_t n, uint32_t hash, uint32_t* unit,
                           LargeClaim* claim, RoomState* room) noexcept {
  bool repaired = false;
  for (;;) {
    const AllocStatus as = AllocLarge(pool_, env_, UnitsForLarge(n), unit, claim);
    // The room lease, if taken for the large block, is kept until the entry's block is allocated
    // too (Set): the entry's allocation may evict, and that eviction would fall in the run of
    // the write that took the lease next.
    if (as == AllocStatus::kOk) break;
    if (as == AllocStatus::kFull && parkedUnits_ != 0) {
      // This handle's parked blocks go back first, where a coalescing pass can merge them.
      Status s = ReturnParked();
      if (s != layout::kOk) return s;
      continue;
    }
    if (as == AllocStatus::kFull) {
      bool retry;
      Status s = MakeRoom(kEvictForLarge, UnitsForLarge(n), room, &retry);
      if (s != layout::kOk) return s;
      if (retry) continue;
      return layout::kErrStoreFull;
    }
    bool retry;
    Status s = HandleAllocFailure(as, &repaired, &retry);
    if (!retry) return s;
  }
  layout::LargeBlock* lb = LargeAt(base_, *unit);
  std::memcpy(lb + 1, value, n);
  const uint32_t sum = LargeChecksum(value, n, hash);
  UnpublishedStore(&lb->next, 0u);
  UnpublishedStore(&lb->valueLength, n);
  UnpublishedStore(&lb->valueChecksum, sum);
  UnpublishedStore(&lb->keyHash, hash);
  claim->keyHash = hash;
  claim->sum = sum;
  return layout::kOk;
}

// An allocation of `units` failed for want of space: when the units freed and not merged since
// could hold it (or `always`), one batch of compaction steps (at most MaxBatches(room->need)
// batches per write; format.md §8, "Making room") moves entries and merges free runs, and the
// allocation is retried (*retry; with `always`, only when the batch moved or merged anything).
// kOk without a retry: nothing to gain.
Status Store::CompactFor(uint32_t units, RoomState* room, bool always, bool* retry) noexcept {
  *retry = false;
  if (room->compacted >= MaxBatches(room->need) ||
      (!always && AtomicLoad(&alloc_->freedUnits) < units)) {
    return layout::kOk;
  }
  ++room->compacted;
  uint32_t changed = 0;
  for (int i = 0; i < kStepsPerBatch; ++i) {
    uint32_t c = 0;
    const Status s = CountedStep(static_cast<uint32_t>(layout::kCompactStepUnits), &c);
    if (s != layout::kOk) return s;
    changed += c;
  }
  *retry = !always || changed != 0;
  return layout::kOk;
}

// A small set first asks the hand for an entry of its class or a larger one, whose block is its
// room; once the hand has none, it evicts any cold entry and coalesces what it freed, as a large
// value does from the start (unless the search for its class passed over nothing it could remove
// of any class): a batch of compaction steps whenever the units freed and not merged could hold
// the block, else one more eviction (an eviction frees a block where the hand is, not where a run
// can grow). Once nothing is left to evict, or MayEvict says no more, a set that evicted nothing
// refuses; otherwise the batches left to it run whatever the hint says (what was freed may lie
// between entries that moves must take out first), until one moves and merges nothing, at most
// MaxBatches more. A block larger than the pool is refused before anything is evicted. As
// lib/store/js/write.js makeRoom.
Status Store::MakeRoom(uint32_t cls, uint32_t units, RoomState* room, bool* retry) noexcept {
  *retry = false;
  ++allocMisses_;
  // A block larger than the pool never fits, whatever is evicted: refused before any eviction.
  if (room->need > totalUnits_ - firstUnit_) return layout::kOk;
  const bool evicting = !room->drained && !room->nothingToEvict &&
                        MayEvict(room->evictions, room->evictedUnits, room->need) &&
                        (AtomicLoad(&evict_->marking) != 0 || MayExpire());
  Status s;
  if (!room->anyClass) {
    if (evicting) {
      ++room->evictions;
      uint32_t freed = 0;
      HandEnd end = HandEnd::kNothing;
      s = EvictOne(cls, &freed, &end);
      if (s != layout::kOk) return s;
      if (freed != 0) {
        ++room->removed;
        room->evictedUnits += freed;
        *retry = true;
        return layout::kOk;
      }
      // The hand passed over no entry it could remove of any class: a search for any class would
      // find none either (but for concurrent writes), and costs up to two more turns.
      room->nothingToEvict = end == HandEnd::kNothing;
      room->classCut = end == HandEnd::kCut;
    }
    room->anyClass = true;
  }
  // An eviction of any class frees a block smaller than `units` more often than not: an
  // allocation retried after it fails again, and a failed allocation of a large block walks the
  // whole large list. Such evictions go on here, without a retry, until a batch may merge what
  // they freed (or one freed a block that could hold it); a set needing a large block would
  // otherwise walk the large list once per eviction, tens of thousands of times.
  // One write at a time makes room by joined runs (format.md §8, "The room lease"): two at once
  // took each other's blocks into their runs and broke them, and each evicted up to its bounds.
  // Taken here, before the first batch or eviction of step 2 or 3, holding no lock and no parked
  // block (returned before MakeRoom runs). A write that had to wait retries its allocation
  // first: the room may be there now.
  if (evicting && !room->nothingToEvict) {
    bool waited = false;
    TakeRoomLease(room, &waited);
    if (waited) {
      *retry = true;
      return layout::kOk;
    }
  }
  for (bool evict = evicting && !room->nothingToEvict;;) {
    // No batch while the write's run grows past a join (its evictions are contiguous: the run is
    // the room, and a batch's merge there would end it, format.md §8 "Joined runs").
    if (!room->drained && room->runJoined == 0) {
      s = CompactFor(units, room, false, retry);
      if (s != layout::kOk || *retry) return s;
    }
    if (!evict) break;
    ++room->evictions;
    uint32_t freed = 0;
    removedUnit_ = 0;
    const uint32_t stamp = StampOf();
    // The block at the end of the write's run is removed even when a read marked it: the run is
    // the write's room (format.md §8, "Joined runs"). Only while no run of this round broke: once
    // one did (a pinned entry that could not move, another party's allocation, a refused join),
    // the evictions may go on to the round's bound, and a read entry there keeps its second
    // chance. A pinned entry there stops the hand whatever the marks.
    const uint32_t runEnd = room->runUnits != 0 ? room->runStart + room->runUnits : 0;
    keptUnit_ = 0;
    s = EvictOne(kEvictForLarge, &freed, nullptr, false, runEnd, room->waiveMarks);
    if (s != layout::kOk) return s;
    if (freed == 0 && keptUnit_ != 0) {
      // A pinned entry ends the run unless it moves down, to the run's head or below the run
      // (format.md §8, "Joined runs"): then its block joins the run as an evicted one's would,
      // counted against the same bound.
      s = KeepOutOfRun(room, &freed);
      if (s != layout::kOk) return s;
      if (freed != 0) {
        room->evictedUnits += freed;
        s = JoinRemoved(room, units, stamp, retry);
        if (s != layout::kOk || *retry) return s;
      }
      evict = MayEvict(room->evictions, room->evictedUnits, room->need);
      continue;
    }
    if (freed == 0) break;
    ++room->removed;
    room->evictedUnits += freed;
    if (freed >= units) {
      *retry = true;
      return layout::kOk;
    }
    s = JoinRemoved(room, units, stamp, retry);
    if (s != layout::kOk || *retry) return s;
    evict = MayEvict(room->evictions, room->evictedUnits, room->need);
  }
  // A write that evicted nothing has nothing of its own to bring together: it refuses at once (a
  // store where nothing may be evicted, or all of it is pinned).
  if (room->removed == 0) {
    room->drained = true;  // no hand again after a retry of the sweep's
    return SweepFor(units, room, retry);
  }
  if (!room->drained) {
    // The batches run once nothing is left to evict (or the set evicted all it may) have a bound
    // of their own.
    room->drained = true;
    room->compacted = 0;
  }
  s = CompactFor(units, room, true, retry);
  if (s != layout::kOk || *retry) return s;
  s = WholeSearch(cls, room, retry);
  if (s != layout::kOk || *retry) return s;
  s = SweepFor(units, room, retry);
  if (s != layout::kOk || *retry) return s;
  // A write that evicted and still found no room gets its bounds once more (format.md §8, "Making
  // room", step 6): its evictions, batches and sweeps ran out while entries it may evict are left,
  // and a set refused there would make the caller's retry do the same work. At most twice the
  // bounds of one round. As lib/store/js/write.js secondRound.
  if (!room->secondRound && !room->nothingToEvict) {
    room->secondRound = true;
    room->ResetBounds();
    *retry = true;
  }
  return layout::kOk;
}

// Before a write refuses for want of space, when the store's free space could hold its block
// (listedUnits and the room after freeHead: hints): batches of compaction steps from the cursor,
// up to two sweeps of the pool, until one moved or merged anything (then retry), as compact()
// does (format.md §8, "Making room", step 5). Its bounds ran out while what was freed lay apart
// (between pinned entries, or far from where its evictions freed space). As
// lib/store/js/write.js sweepFor.
Status Store::SweepFor(uint32_t units, RoomState* room, bool* retry) noexcept {
  *retry = false;
  const uint64_t pool = 2 * (uint64_t{totalUnits_} - firstUnit_ + layout::kCompactStepUnits);
  uint32_t top = AtomicLoad(&hdr_->freeHead);
  if (top > totalUnits_) top = totalUnits_;
  const uint64_t free = uint64_t{AtomicLoad(&alloc_->listedUnits)} + (totalUnits_ - top);
  // freedUnits too: a handle whose steps covered the pool without moving or merging anything
  // zeroes it (CountedStep), so that sets refused one after another in a store whose free space
  // no step can bring together do not each sweep the pool.
  if (room->swept >= pool || AtomicLoad(&alloc_->freedUnits) < units || free < units) {
    return layout::kOk;
  }
  while (room->swept < pool) {
    uint32_t changed = 0;
    for (int i = 0; i < kStepsPerBatch && room->swept < pool; ++i) {
      uint32_t c = 0;
      const Status s = CountedStep(static_cast<uint32_t>(layout::kCompactStepUnits), &c);
      if (s != layout::kOk) return s;
      changed += c;
      // Each window reaches COMPACT_STEP_UNITS past the run it starts with, or the pool's end.
      room->swept += layout::kCompactStepUnits;
    }
    if (changed != 0) {
      *retry = true;
      return layout::kOk;
    }
  }
  return layout::kOk;
}

// After an eviction of any class: the write's run, the free blocks its evictions left in a row
// (the hand walks the pool in address order, so they mostly lie side by side), grows by the block
// it freed and the free blocks after it (its value's large block, holes); once the run could hold
// `units` it becomes one free block (JoinFreed, in steps for a long run), and the allocation is
// retried (format.md §8, "Making room", joined runs). Without joins, evicted blocks sit apart on
// their class's lists until a batch of compaction steps, which starts at the compaction cursor, not
// where the hand freed them, merges them: a large value took far more evictions than its size, or
// was refused. Nothing changes before the join: a run that breaks (the hand kept entries between,
// marked or pinned) leaves its blocks on their lists, for the batches' moves to fill. As
// lib/store/js/write.js joinRemoved.
Status Store::JoinRemoved(RoomState* room, uint32_t units, uint32_t stamp, bool* retry) noexcept {
  *retry = false;
  const uint32_t u = removedUnit_;
  if (u == 0) return layout::kOk;
  const uint32_t runEnd = room->runStart + room->runUnits;
  if (room->runUnits == 0 || u < runEnd || FreeAfter(runEnd) <= u) {
    if (room->runUnits != 0) room->waiveMarks = false;  // the run broke
    room->runStart = u;
    room->runJoined = 0;
    room->runStamp = stamp;  // read before the eviction that freed u
  }
  room->runUnits = FreeAfter(u) - room->runStart;
  // A join walks the run under the allocator lock: one at least every COMPACT_STEP_UNITS units
  // (what a compaction step's window walks), so that a run for a value of many MiB never holds
  // the lock for a walk of the whole run. The part joined is one block the next walk steps over.
  const bool enough = room->runUnits >= units;
  if (!enough && room->runUnits - room->runJoined < layout::kCompactStepUnits) return layout::kOk;
  uint32_t joined = 0;
  const Status s =
      JoinFreed(room->runStart, room->runStart + room->runUnits, room->runStamp, &joined);
  room->runJoined = enough ? 0u : joined;
  if (joined == 0) room->waiveMarks = false;  // a join refused: the run is given up
  room->runStamp += 1;                        // the join's own addition to merged
  if (room->runJoined == 0) room->runUnits = 0;
  *retry = enough && joined >= units;
  return s;
}

// The hand stopped at a pinned entry at the end of the write's run (keptUnit_): the entry is moved
// as a compaction step moves an entry (MoveOutOfRun), to the head of the run's first block when
// that can hold it, else below the run. At the run's head it sits at the run's bottom, against
// what lies below the run, and the run starts after it: the pinned entries a run meets gather
// there, and its free space stays in one piece. Nothing is joined for it (a join changes the stamp
// every other write's run was started with, and refuses their joins), and the run's blocks are
// never its destination but for that head (a block inside the run would break it). *freed: the
// units of the block the move freed, which then joins the run (removedUnit_); 0 when nothing moved
// (no destination): the run ends there. As lib/store/js/write.js keepOutOfRun.
Status Store::KeepOutOfRun(RoomState* room, uint32_t* freed) noexcept {
  *freed = 0;
  const uint32_t u = keptUnit_;
  keptUnit_ = 0;
  if (room->runUnits == 0 || u != room->runStart + room->runUnits) return layout::kOk;
  uint32_t to = 0, toUnits = 0;
  const Status s = MoveOutOfRun(u, room->runStart, room->runStamp, freed, &to, &toUnits);
  if (*freed == 0) {
    // The run ends at the entry: broken, as by an entry the hand kept.
    room->runUnits = room->runJoined = 0;
    room->waiveMarks = false;
    return s;
  }
  removedUnit_ = u;
  if (to == room->runStart) {
    // The head of the run's first block: the run starts after it (a carve leaves every other
    // block start in place, and the stamp unchanged).
    if (toUnits >= room->runUnits) {
      room->runUnits = room->runJoined = 0;  // the run was that block: one starts at u
    } else {
      room->runStart += toUnits;
      room->runUnits -= toUnits;
      room->runJoined = room->runJoined > toUnits ? room->runJoined - toUnits : 0;
    }
  }
  return s;
}

// The search for the write's class stopped at EVICT_CLASS_STEPS, and the evictions of any class
// left no run that could hold its block: an entry of the class may still lie further on. As
// lib/store/js/write.js wholeSearch.
Status Store::WholeSearch(uint32_t cls, RoomState* room, bool* retry) noexcept {
  *retry = false;
  if (!room->classCut) return layout::kOk;
  room->classCut = false;
  ++room->evictions;
  uint32_t freed = 0;
  const Status s = EvictOne(cls, &freed, nullptr, true);
  if (s != layout::kOk || freed == 0) return s;
  ++room->removed;
  room->evictedUnits += freed;
  *retry = true;
  return layout::kOk;
}

Status Store::Set(uint32_t ns, const void* key, uint32_t keyLength, const void* value,
                  uint32_t valueLength, uint32_t encoding, uint64_t expiresAt,
                  uint64_t* storedExpiry) noexcept {
  if (closed_) return layout::kErrClosed;
  if (keyLength > kMaxKeyBytes) return layout::kErrKeyTooLong;
  if (valueLength > kMaxValueBytes) return layout::kErrValueTooLong;
  if (encoding > kEncodingMask || ns == 0 || ns > maxNs_) return layout::kErrInvalidArg;
  // An entry of a namespace that is not live would be corrupt, and one written through an id
  // dropped since would land in another namespace: checked again under the bucket lock, where a
  // drop cannot pass it (format.md §5, "Dropping").
  if (!NamespaceCurrent(ns)) return layout::kErrNamespaceDropped;
  const uint32_t hash = KeyHash(key, keyLength, ns);
  // A large value is held by a large block; its entry holds the reference (format.md §8).
  const bool large = valueLength > kMaxInlineValueBytes;
  const uint32_t inEntry = large ? kIndirectBytes : valueLength;
  const uint32_t cls = SizeClassFor(UnitsForEntry(keyLength, inEntry));
  Bucket* b = BucketFor(hash);
  // The bucket is almost always a cache miss: start loading it (for writing) while the expiry is
  // worked out. That reads the clock (for a namespace TTL) before taking the lock: it is not
  // cheap and the lock is shared.
  __builtin_prefetch(b, 1);
  const uint64_t expiry = ExpiryFor(ns, expiresAt);
  if (storedExpiry != nullptr) *storedExpiry = expiry;
  if (expiry != 0 && AtomicLoad(&evict_->ttlSeen) == 0) AtomicStore(&evict_->ttlSeen, 1u);
  bool repaired = false;
  RoomState room;
  room.need = large ? UnitsForLarge(valueLength) : layout::kSizeClasses[cls];
  room.anyClass = large;
  // The room lease, if the write took it, is released on every way out (format.md §8).
  struct LeaseRelease {
    Store* store;
    ~LeaseRelease() {
      if (store->leaseHeld_ != 0) store->ReleaseRoomLease();
    }
  } leaseRelease{this};
  uint32_t largeUnit = 0;
  LargeClaim largeClaim;
  // Every return before the entry links the large block gives the block back.
  auto fail = [&](Status st) {
    if (largeUnit != 0) FreeUnlinkedLarge(pool_, env_, largeUnit, largeClaim);
    return st;
  };
  for (;;) {
    if (large && largeUnit == 0) {
      Status s = PrepareLarge(value, valueLength, hash, &largeUnit, &largeClaim, &room);
      if (s != layout::kOk) return s;
    }
    uint32_t held;
    Found f;
    Status s = LockAndFind(b, ns, key, keyLength, hash, &held, &f, &repaired);
    if (s != layout::kOk) return fail(s);
    if (!NamespaceCurrent(ns)) {
      Unlock(&b->lock, held);
      return fail(layout::kErrNamespaceDropped);
    }
    if (large && AtomicLoad(&hdr_->gcCounter) != largeClaim.gc) {
      // A repair pass ran since the large block was allocated. One run by another handle kept it
      // (its writer is live); one that freed it lets another writer have it: allocate again.
      if (!LargeHeld(pool_, env_, largeUnit, largeClaim)) {
        Unlock(&b->lock, held);
        largeUnit = 0;
        continue;
      }
      largeClaim.gc = AtomicLoad(&hdr_->gcCounter);
    }
    // An evicting store (some namespace may evict, format.md §8) makes room instead of refusing;
    // so does one where entries may have expired (the hand then removes only those), which the
    // count cells say only when the entry count is full (MayExpire reads every cell).
    const bool marking = AtomicLoad(&evict_->marking) != 0;
    const bool mayEvict = MayEvict(room.evictions, room.evictedUnits, room.need);
    // A block of a larger class may hold the entry while the set may evict, and once it evicted:
    // the block its last eviction freed (WholeSearch's, past the eviction bound) is its room.
    const bool larger = marking && (mayEvict || room.removed != 0);
    // An insert takes one entry of the grant under maxEntries, counted in a count cell.
    uint32_t* cell = nullptr;
    if (f.unit == 0) {
      cell = cells_.Take();
      if (cell == nullptr) {
        Unlock(&b->lock, held);
        uint32_t freed = 0;
        if (mayEvict && (marking || MayExpire())) {
          ++room.evictions;
          s = EvictOne(kClassCount, &freed);
          if (s != layout::kOk) return fail(s);
          room.evictedUnits += freed;
        }
        if (freed != 0) continue;
        return fail(layout::kErrStoreFull);
      }
    }
    uint32_t nu = 0;
    // A block this handle parked comes first: no allocator lock (format.md §8, "Parked blocks").
    // Else an insert takes a batch under one hold of it, the rest parked for its next inserts of
    // the class (a replacing set parks the block it frees instead). A set that ran the hand takes
    // one block from the allocator: the one the hand just freed, where quick demotion expects
    // its entry (format.md §8, "Eviction", step 6).
    AllocStatus as;
    if (room.evictions != 0) {
      as = AllocBlock(pool_, env_, cls, &nu, larger);
    } else if (TakeParked(cls, &nu)) {
      as = AllocStatus::kOk;
    } else if (f.unit == 0) {
      as = Refill(cls, &nu, larger);
    } else {
      as = AllocBlock(pool_, env_, cls, &nu, larger);
    }
    if (as != AllocStatus::kOk) {
      if (f.unit == 0) CountCells::Untake(cell);
      Unlock(&b->lock, held);
      if (as == AllocStatus::kFull && parkedUnits_ != 0) {
        // Before evicting or coalescing, the blocks this handle holds back go to the free lists.
        s = ReturnParked();
        if (s != layout::kOk) return fail(s);
        continue;
      }
      bool retry;
      if (as == AllocStatus::kFull) {
        s = MakeRoom(cls, layout::kSizeClasses[cls], &room, &retry);
        if (s != layout::kOk) return fail(s);
        if (retry) continue;
      }
      s = HandleAllocFailure(as, &repaired, &retry);
      if (retry) continue;
      return fail(s);
    }
    if (leaseHeld_ != 0) ReleaseRoomLease();  // the room is made: the next write's turn
    // Write the new entry completely, then publish it with one store. The block may be of a
    // larger class than cls (AllocBlock's `larger`): its flags say which.
    Entry* ne = EntryAt(nu);
    const uint32_t blockCls = ClassOfFlags(AtomicLoad(&ne->flags));
    UnpublishedStore(&ne->next,
                     f.unit != 0 ? AtomicLoad(&EntryAt(f.unit)->next) : AtomicLoad(&b->head));
    ne->keyHash = hash;
    ne->keyLength = static_cast<uint16_t>(keyLength);
    ne->valueLength = static_cast<uint16_t>(inEntry);
    ne->namespaceId = static_cast<uint16_t>(ns);
    SetExpiresAt(ne, expiry);
    auto* kv = reinterpret_cast<uint8_t*>(ne + 1);
    if (keyLength != 0) std::memcpy(kv, key, keyLength);
    if (large) {
      const LargeRef ref{largeUnit, valueLength};
      std::memcpy(kv + keyLength, &ref, sizeof ref);
      UnpublishedStore(&LargeAt(base_, largeUnit)->writer, 0u);  // linked by the store below
    } else if (valueLength != 0) {
      std::memcpy(kv + keyLength, value, valueLength);
    }
    const uint32_t sumFlags = encoding | (large ? kFlagIndirect : 0u);
    ne->checksum = EntryChecksum(kv, keyLength + inEntry, hash, sumFlags);
    UnpublishedStore(&ne->flags, (blockCls << kClassShift) | sumFlags);
    AllocStatus fs = AllocStatus::kOk;
    NsCounts& counts = nsCounts_[ns];
    counts.bytes += keyLength + valueLength;
    // The count of entries with an expiry (format.md §5, "Count cells"): one more before the
    // store that links an entry with one, one fewer after the store that unlinks one, so that
    // the hint errs towards running the hand. A set that replaces an entry changes it only when
    // one of the two has an expiry and the other none.
    const bool oldExpiring = f.unit != 0 && ExpiresAtOf(EntryAt(f.unit)) != 0;
    if (expiry != 0 && !oldExpiring) cells_.ExpiryLinked();
    if (f.unit != 0) {
      counts.bytes -= PayloadOf(EntryAt(f.unit));
      AtomicStore(f.link, nu);
      if (oldExpiring && expiry == 0) cells_.ExpiryUnlinked(1);
      // The old block is parked for this handle's next write, or freed (with the old value's
      // large block, if any).
      if (!Park(f.unit)) fs = FreeBlock(pool_, env_, f.unit);
    } else {
      AtomicStore(&b->head, nu);
      b->count = b->count + 1;
      cells_.Inserted(ns);
    }
    Unlock(&b->lock, held);
    ++writes_;
    // The old block could not be freed (allocator holder gone): a repair pass reclaims it.
    if (fs == AllocStatus::kGone || fs == AllocStatus::kCorrupt) RepairPass(true);
    if (f.unit == 0) SweepExpired();
    AutoCompact();
    return layout::kOk;
  }
}

}  // namespace shm
