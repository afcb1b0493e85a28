// The repair pass (docs/format.md §9, "Stuck locks and repair").
#include <new>

#include "base/hash.h"
#include "store/chain.h"
#include "store/internal.h"
#include "store/store.h"

namespace shm {

using layout::Bucket;
using layout::Entry;

namespace internal {

// What the repair pass has found so far, for its later steps.
struct RepairScan {
  bool Init(uint32_t firstUnit, uint32_t totalUnits, uint32_t maxNs) noexcept {
    nsLive.reset(new (std::nothrow) bool[maxNs + 1]());
    nsCounts.reset(new (std::nothrow) uint32_t[maxNs + 1]());
    nsBytes.reset(new (std::nothrow) uint64_t[maxNs + 1]());
    if (!nsLive || !nsCounts || !nsBytes) return false;
    return starts.Init(firstUnit, totalUnits) && seen.Init(firstUnit, totalUnits) &&
           live.Init(firstUnit, totalUnits) && refs.Init(firstUnit, totalUnits);
  }

  UnitBitmap refs;     // the units the chains name (step 3's resync)
  uint32_t holes = 0;  // damaged stretches step 3 made free blocks of
  bool cut = false;    // RepairState.cuts was incremented by this pass (CountCut)
  UnitBitmap starts;   // every block start below freeHead
  UnitBitmap seen;     // blocks met on the chains
  UnitBitmap live;     // blocks of the entries kept
  uint32_t freeHead = 0;
  std::unique_ptr<bool[]> nsLive;  // maxNamespaces + 1 each
  uint32_t liveNamespaces = 0;
  std::unique_ptr<uint32_t[]> nsCounts;
  std::unique_ptr<uint64_t[]> nsBytes;
  uint64_t entries = 0;
  uint64_t expiring = 0;  // the entries kept whose expiresAt is not 0
  // What the pass found of each owner slot that names parked blocks or a large block it is writing
  // (Store::ParkedOwnerGone): 0 not asked, 1 live, 2 gone. A slot found live keeps those blocks
  // and is not freed by step 6 of this pass, even if its owner ends meanwhile: the next pass frees
  // both.
  uint8_t ownerVerdicts[kOwnerSlots] = {};
};

}  // namespace internal

namespace {

// Releases a lock word this handle holds (whatever its version); never a lock someone else took.
void ReleaseOwned(uint32_t* word, uint32_t self) noexcept {
  const uint32_t w = AtomicLoad(word);
  if (LockIsHeld(w) && LockOwnerOf(w) == self) AtomicCas(word, w, LockReleasedWord(w));
}

}  // namespace

const char* Store::EntryProblem(const ChainCursor& at, uint32_t bucket,
                                const bool* nsLive) const noexcept {
  const Entry* e = at.entry();
  const uint32_t flags = at.flags();
  if ((flags & kFlagFree) != 0) return "has FREE set";
  if ((flags & kFlagParked) != 0) return "has PARKED set";
  const uint32_t keyHash = e->keyHash;
  if ((keyHash & mask_) != bucket) return "sits in the wrong bucket";
  const uint32_t ns = e->namespaceId;
  if (ns == 0 || ns > maxNs_ || !nsLive[ns]) return "names a namespace that is not live";
  const uint32_t k = e->keyLength;
  const uint32_t n = e->valueLength;
  if (k > kMaxKeyBytes) return "has a key longer than 1024 bytes";
  if (!at.Fits(k, n)) return "does not fit its block";
  if (KeyHash(e + 1, k, ns) != keyHash) return "has a keyHash that is not its key's";
  if (!EntrySumMatches(e, k + n, keyHash, flags)) {
    // The checksum covers FLAG_INDIRECT (format.md §8): right with the bit flipped, it names the
    // flip (a repair pass flips it back first, MendIndirect).
    if (!EntrySumMatches(e, k + n, keyHash, flags ^ kFlagIndirect)) return "has a wrong checksum";
    return (flags & kFlagIndirect) != 0
               ? "has FLAG_INDIRECT on an inline value (its checksum covers the flag)"
               : "is an indirect entry without FLAG_INDIRECT (its checksum covers the flag)";
  }
  if ((flags & kFlagIndirect) != 0) return LargeProblem(e, k, n, keyHash);
  return nullptr;
}

bool Store::MendIndirect(ChainCursor& c) noexcept {
  const Entry* e = c.entry();
  const uint32_t flags = c.flags();
  const uint32_t k = e->keyLength;
  const uint32_t n = e->valueLength;
  if ((flags & (kFlagFree | kFlagParked)) != 0 || k > kMaxKeyBytes || !c.Fits(k, n)) return false;
  const uint32_t keyHash = e->keyHash;
  if (EntrySumMatches(e, k + n, keyHash, flags) ||
      !EntrySumMatches(e, k + n, keyHash, flags ^ kFlagIndirect)) {
    return false;
  }
  c.SetFlags(flags ^ kFlagIndirect);
  return true;
}

const char* Store::LargeProblem(const Entry* e, uint32_t k, uint32_t n,
                                uint32_t keyHash) const noexcept {
  if (n != kIndirectBytes) return "is indirect but its reference is not 8 bytes";
  const LargeRef ref = RefOf(e, k);
  if (ref.length <= kMaxInlineValueBytes || ref.length > kMaxValueBytes) {
    return "refers to a value of an impossible length";
  }
  if (ref.unit < firstUnit_ || ref.unit >= totalUnits_) return "refers to a unit outside the pool";
  const layout::LargeBlock* lb = LargeAt(base_, ref.unit);
  if (AtomicLoad(&lb->flags) != kLargeClass << kClassShift) {
    return "refers to a block that is not a live large block";
  }
  const uint32_t units = AtomicLoad(&lb->units);
  if (units < UnitsForLarge(ref.length) || units > totalUnits_ - ref.unit) {
    return "refers to a large block too small for its value";
  }
  if (lb->valueLength != ref.length) return "refers to a large block of another length";
  if (LargeChecksum(lb + 1, ref.length, keyHash) != lb->valueChecksum) {
    return "has a large value with a wrong checksum";
  }
  return nullptr;
}

LockResult Store::AcquireAllLocks(bool takeover) noexcept {
  uint32_t held;
  for (uint32_t i = 0; i < bucketCount_; ++i) {
    LockResult r = AcquireLock(&buckets_[i].lock, env_, takeover, &held);
    if (r != LockResult::kAcquired) {
      passBeat_.Beat();
      while (i-- > 0) ReleaseOwned(&buckets_[i].lock, env_.selfSlot);
      return r;
    }
    passBeat_.Work();
  }
  LockResult r = AcquireLock(&alloc_->lock, env_, takeover, &held);
  if (r == LockResult::kAcquired) {
    passBeat_.Work();
    r = AcquireLock(&nsState_->lock, env_, takeover, &held);
    if (r == LockResult::kAcquired) {
      passBeat_.Work();
    } else {
      passBeat_.Beat();
      ReleaseOwned(&alloc_->lock, env_.selfSlot);
    }
  } else {
    passBeat_.Beat();
  }
  if (r != LockResult::kAcquired) {
    for (uint32_t i = bucketCount_; i-- > 0;) ReleaseOwned(&buckets_[i].lock, env_.selfSlot);
  }
  return r;
}

void Store::ReleaseAllLocks() noexcept {
  passBeat_.Beat();  // waiters that checked since the last beat see the pass alive until here
  ReleaseOwned(&nsState_->lock, env_.selfSlot);
  ReleaseOwned(&alloc_->lock, env_.selfSlot);
  for (uint32_t i = 0; i < bucketCount_; ++i) ReleaseOwned(&buckets_[i].lock, env_.selfSlot);
}

Status Store::RepairFor(const uint32_t* word, uint32_t seen) noexcept {
  if (!LockIsHeld(seen) || AtomicLoad(word) != seen) return layout::kOk;
  return RepairPass(false, word, seen);
}

Status Store::RepairPass(bool force, const uint32_t* stuckWord, uint32_t seen) noexcept {
  const uint32_t gc0 = AtomicLoad(&hdr_->gcCounter);
  uint32_t held;
  if (AcquireLock(&repairState_->lock, env_, true, &held) != LockResult::kAcquired) {
    return layout::kErrLockTimeout;
  }
  passBeat_.Start(&repairState_->lock, held);
  if (!force && (AtomicLoad(&hdr_->gcCounter) != gc0 ||
                 (stuckWord != nullptr && AtomicLoad(stuckWord) != seen))) {
    passBeat_.Release();
    return layout::kOk;
  }
  if (AcquireAllLocks(true) != LockResult::kAcquired) {
    passBeat_.Release();
    return layout::kErrLockTimeout;
  }
  Status s;
  try {
    s = RepairLocked();
    if (s == layout::kOk) AtomicAdd(&hdr_->gcCounter, 1);
  } catch (const std::bad_alloc&) {
    // The index of a chain's keys ran out of memory part way through step 4: the store is left as
    // far as the pass got (holes made, freeHead restored, entries unlinked but not yet freed, free
    // lists and counts not yet rebuilt), for the next pass to mend. gcCounter moves all the same
    // (format.md §9, step 7): step 3 may have restored freeHead below a large block in flight or
    // cut without step 5 stamping the blocks it keeps, and a writer takes an unmoved gcCounter
    // for "no pass since" (LargeHeld), so it would link a block whose units the bump pointer
    // hands out again.
    AtomicAdd(&hdr_->gcCounter, 1);
    s = layout::kErrNoMemory;
  }
  if (s == layout::kOk) AtomicAdd(&repairState_->repairs, 1);
  ReleaseAllLocks();
  passBeat_.Release();  // with the word held now: the heartbeats moved its version
  return s;
}

// Steps 3 to 6 of format.md §9 ("Stuck locks and repair"), every lock held.
Status Store::RepairLocked() {
  internal::RepairScan scan;
  if (!scan.Init(firstUnit_, totalUnits_, maxNs_))
    return layout::kErrNoMemory;  // before any change: gcCounter stays
  RepairPool(&scan);
  DropUnnamedNamespaces();
  RepairChains(&scan);
  RepairCounts(&scan);
  RebuildFreeLists(&scan);
  // This handle's parked blocks were freed with the rest (ParkedOwnerGone): its cache is empty.
  for (uint8_t& c : parkedCount_) c = 0;
  parkedUnits_ = 0;
  // Before the slots are freed: a lease naming a freed slot would seem held by its next owner.
  ReleaseGoneLease();
  FreeGoneOwnerSlots(scan);
  return layout::kOk;
}

// Step 3. Establishes: freeHead covers every block a proven entry keeps (RestoreFreeHead), and
// scan->starts holds every block start below it, the blocks tiling [firstUnit, freeHead). A block
// that is not valid (an invalid size class, or one that crosses freeHead), or one that covers the
// start of an entry the chains name and that proves itself (Trusted), is damage: the units from it
// to the next such entry, or to the next large block in flight of a live other owner (HoleEnd), or
// to freeHead when neither follows, become one free large block (a hole; a free block's header
// fits one unit) and the walk goes on there, so that damage to one block header costs the blocks
// it covers, not the rest of the pool. A large block in flight of a live other owner is never
// damage, whatever entries its units seem to hold: its writer is copying over them without any
// lock, and a hole over it would let another writer take units that copy still writes.
// RepairChains then unlinks the hole's unit as a free block and goes on at its `next`, which the
// damage may have spared (what follows is checked as ever).
void Store::RepairPool(internal::RepairScan* scan) noexcept {
  uint32_t head = AtomicLoad(&hdr_->freeHead);
  if (head < firstUnit_) head = firstUnit_;
  if (head > totalUnits_) head = totalUnits_;
  const uint32_t kept = ChainRefs(scan, head);
  if (kept > head) {
    // freeHead only grows (§8): a proven entry beyond it means the word was damaged downwards.
    // Every unit up to the kept blocks' end was allocated and tiles as ever, and so may a large
    // block in flight of a live other owner after them (InFlightEnd); the blocks beyond go back to
    // unallocated space, where a live writer may keep parked blocks: counted as a cut, so that it
    // forgets them before the bump pointer hands their units out again.
    CountCut(scan);
    head = InFlightEnd(scan, kept);
  }
  for (uint32_t u = firstUnit_; u < head;) {
    const uint32_t flags = AtomicLoad(&EntryAt(u)->flags);
    const uint32_t size = BlockUnitsOf(base_, u, flags);
    const bool bad = size == 0 || uint64_t{u} + size > head;
    if (!bad && InFlightByLive(u, flags, scan)) {
      scan->starts.Set(u);
      u += size;
      passBeat_.Work();
      continue;
    }
    uint32_t next = NextTrusted(*scan, u + 1, bad ? head : u + size, head);
    if (bad || next != 0) {
      if (next == 0) next = head;
      CountCut(scan);  // before the first hole is written
      next = HoleEnd(scan, u + 1, next, head);
      layout::FreeBlock* hole = FreeAt(base_, u);
      AtomicStore(&hole->flags, kFlagFree | kLargeClass << kClassShift);
      AtomicStore(&hole->units, next - u);
      ++scan->holes;
      scan->starts.Set(u);
      u = next;
      continue;
    }
    scan->starts.Set(u);
    u += size;
    passBeat_.Work();
  }
  AtomicStore(&hdr_->freeHead, head);  // clamped into the pool, or restored over the kept blocks
  scan->freeHead = head;
}

// After freeHead was found damaged downwards (RepairPool), the blocks after `from` (the end of
// the blocks proven entries keep), walked by size while they tile (a size class of a block, within
// the pool), may hold a large block in flight of a live other owner: its writer fills it without
// any lock, so the bump pointer must not hand its units out. Returns the end of the last such
// block, or `from`. Every other large block in use the walk meets gets writer = 0: beyond the
// restored freeHead its header stays, and its writer (this handle, or a gone one) must not take it
// for one a pass kept (LargeHeld); below it, RebuildFreeLists frees it. The walk runs only on a
// pass that found the damage, and stops at the first size that does not tile or after more
// blocks in a row whose header reads zero than there are owner slots: units never written since
// the store was created read so (and as blocks of class 0, to the end of the pool), while every
// block below freeHead's true value had its header written when it was handed out, but for an
// entry block of class 0 whose writer was killed right after its allocation (flags = 0, the rest
// not yet written). A run of those takes as many writers killed at that moment, each holding
// its bucket lock until a pass: the bound covers one per owner slot, and costs at most
// 2 * kOwnerSlots units walked past the end of what was written. A large block in flight beyond
// where the walk stops is not seen, and its units go back to unallocated space; the cut this pass
// counts leaves its cuts word behind RepairState.cuts, so that its writer does not take it for its
// own even once later bumps cover it (LargeHeld).
uint32_t Store::InFlightEnd(internal::RepairScan* scan, uint32_t from) noexcept {
  uint32_t end = from;
  uint64_t zeros = 0;  // blocks in a row whose header reads zero
  for (uint32_t u = from; u < totalUnits_;) {
    passBeat_.Work();
    layout::LargeBlock* lb = LargeAt(base_, u);
    const uint32_t flags = AtomicLoad(&lb->flags);
    const bool zero = flags == 0 && AtomicLoad(&lb->next) == 0 && AtomicLoad(&lb->cuts) == 0 &&
                      AtomicLoad(&lb->units) == 0;
    zeros = zero ? zeros + 1 : 0;
    if (zeros > layout::kOwnerSlots) break;
    const uint32_t size = BlockUnitsOf(base_, u, flags);
    if (size == 0 || size > totalUnits_ - u) break;
    if (InFlightByLive(u, flags, scan)) {
      end = u + size;
    } else if (flags == (kLargeClass << kClassShift) && AtomicLoad(&lb->writer) != 0) {
      AtomicStore(&lb->writer, 0u);
    }
    u += size;
  }
  return end;
}

// A pass that makes holes, or restores a freeHead damaged downwards, is counted once: a live
// writer may keep parked blocks in a hole's units, or beyond the restored freeHead (§8, "Parked
// blocks"), known to it by unit only; seeing the count move, it forgets all of them before it
// takes, parks or returns one, since a block carved or bumped later over those units may hold any
// bytes, a copy of its mark included. Every lock is held: no writer is between its check and its
// use. Counted before the first hole is written: a pass killed after writing it leaves a valid
// free block, which the next pass does not see as damage. RepairState.cutGc gets the gcCounter
// this pass read first, which stays its value until the pass completes (or fails, step 7): a
// writer giving its large block up without a lock tells by it that the cut is this running pass's,
// which stamps the blocks it keeps later (LargeHeld). Stored before cuts moves, and read before
// cuts by that writer, so that it never pairs the new cutGc with the old count.
void Store::CountCut(internal::RepairScan* scan) noexcept {
  if (scan->cut) return;
  scan->cut = true;
  AtomicStore(&repairState_->cutGc, AtomicLoad(&hdr_->gcCounter));
  AtomicStore(&repairState_->cuts, AtomicLoad(&repairState_->cuts) + 1);
}

bool Store::InFlightByLive(uint32_t unit, uint32_t flags,
                           internal::RepairScan* scan) const noexcept {
  return flags == (kLargeClass << kClassShift) &&
         !ParkedOwnerGone(AtomicLoad(&LargeAt(base_, unit)->writer), scan->ownerVerdicts);
}

// Every unit is looked at: the headers after damage cannot be trusted to give block sizes, and the
// bytes of a hole are free once it is cut (a value's copy of a header taken for a block in flight
// only keeps its units out of the hole while that owner lives). Every other large block in use met
// before the end gets writer = 0, as one RebuildFreeLists frees: inside the hole its header stays,
// and its writer (this handle, or a gone one) must not take it for one a pass kept (LargeHeld).
uint32_t Store::HoleEnd(internal::RepairScan* scan, uint32_t from, uint32_t to,
                        uint32_t head) noexcept {
  for (uint32_t x = from; x < to; ++x) {
    passBeat_.Work();
    layout::LargeBlock* lb = LargeAt(base_, x);
    const uint32_t flags = AtomicLoad(&lb->flags);
    if (flags != (kLargeClass << kClassShift)) continue;
    const uint32_t units = AtomicLoad(&lb->units);
    if (units != 0 && units <= head - x && InFlightByLive(x, flags, scan)) return x;
    if (AtomicLoad(&lb->writer) != 0) AtomicStore(&lb->writer, 0u);
  }
  return to;
}

// Every chain from its bucket's head until a unit outside the pool or one met before (a cycle or a
// shared chain). A link read past damage may name any unit: Trusted() judges it. Returns where the
// blocks that proven entries keep end, when that is beyond `head` (KeptEnd), else `head`.
uint32_t Store::ChainRefs(internal::RepairScan* scan, uint32_t head) noexcept {
  uint32_t kept = head;
  for (uint32_t b = 0; b < bucketCount_; ++b) {
    passBeat_.Work();
    for (uint32_t u = AtomicLoad(&buckets_[b].head); u >= firstUnit_ && u < totalUnits_;) {
      if (scan->refs.Get(u)) break;
      scan->refs.Set(u);
      const uint32_t end = KeptEnd(u, head);
      if (end > kept) kept = end;
      u = AtomicLoad(&EntryAt(u)->next);
    }
  }
  return kept;
}

// The end of the blocks the entry a chain names at `unit` keeps beyond `head` (freeHead as read):
// its own block when that ends beyond it, and the large block its 8 value bytes refer to (whether
// or not it has INDIRECT: Trusted accepts one flipped bit, which step 4 flips back) when that ends
// beyond it; only when the entry proves itself (Trusted, within the pool) and the large block is
// whole (LargeProblem). 0 when it keeps none. On a sound store no block ends beyond freeHead, so
// the cheap bounds checks end it and no hash is computed.
uint32_t Store::KeptEnd(uint32_t unit, uint32_t head) const noexcept {
  const Entry* e = EntryAt(unit);
  const uint32_t cls = ClassOfFlags(AtomicLoad(&e->flags));
  if (cls >= kClassCount) return 0;
  const uint32_t size = layout::kSizeClasses[cls];
  uint32_t end = 0;
  if (uint64_t{unit} + size > head) {
    if (!Trusted(unit, totalUnits_)) return 0;
    end = unit + size;
  }
  const uint32_t k = e->keyLength;
  const uint32_t n = e->valueLength;
  if (n != kIndirectBytes || k > kMaxKeyBytes ||
      uint64_t{layout::kEntryHeaderSize} + k + kIndirectBytes > UnitBytes(size)) {
    return end;
  }
  const LargeRef ref = RefOf(e, k);
  if (ref.unit < firstUnit_ || ref.unit >= totalUnits_) return end;
  const uint32_t units = AtomicLoad(&LargeAt(base_, ref.unit)->units);
  if (units == 0 || units > totalUnits_ - ref.unit || ref.unit + units <= head) return end;
  if ((end == 0 && !Trusted(unit, totalUnits_)) || LargeProblem(e, k, n, e->keyHash) != nullptr) {
    return end;
  }
  return ref.unit + units > end ? ref.unit + units : end;
}

uint32_t Store::NextTrusted(const internal::RepairScan& scan, uint32_t from, uint32_t to,
                            uint32_t head) const noexcept {
  for (uint32_t u = from; u < to; ++u) {
    u = scan.refs.NextSet(u, to);
    if (u == 0) return 0;
    if (Trusted(u, head)) return u;
  }
  return 0;
}

// An entry whose own bytes prove it (not free, an entry's size class, ending by `head`, its key
// hash and checksum right), whatever its bucket or namespace: a start the walk can trust after
// damage. Bytes inside a block pass these checks only by chance (two 32-bit hashes).
bool Store::Trusted(uint32_t unit, uint32_t head) const noexcept {
  const Entry* e = EntryAt(unit);
  const uint32_t flags = AtomicLoad(&e->flags);
  const uint32_t cls = ClassOfFlags(flags);
  if ((flags & kFlagFree) != 0 || cls >= kClassCount) return false;
  const uint32_t units = layout::kSizeClasses[cls];
  if (units > head - unit) return false;
  const uint32_t k = e->keyLength;
  const uint32_t n = e->valueLength;
  if (k > kMaxKeyBytes || uint64_t{layout::kEntryHeaderSize} + k + n > UnitBytes(units)) {
    return false;
  }
  // A checksum right with FLAG_INDIRECT flipped proves the entry too: step 4 flips the bit back
  // (MendIndirect). The lengths hashed are the ones checked: `unit` may be a link's guess inside
  // a large block a live writer is filling without any lock, where a second read may differ.
  const uint32_t keyHash = e->keyHash;
  return KeyHash(e + 1, k, e->namespaceId) == keyHash &&
         (EntrySumMatches(e, k + n, keyHash, flags) ||
          EntrySumMatches(e, k + n, keyHash, flags ^ kFlagIndirect));
}

// Step 4. Establishes: no live namespace record has a nameLength no name can have. Such a record
// names no namespace anybody can find: it is freed, and RepairChains unlinks its entries as entries
// of a namespace that is not live.
// So is a record being dropped (§5, "Dropping"): the pass finishes the drop, whether its dropper
// died or still runs (that one stops at its next bucket, seeing the record free), and resets its
// policy record as the dropper would.
void Store::DropUnnamedNamespaces() noexcept {
  uint32_t lowestFree = 0;
  for (uint32_t i = 1; i <= maxNs_; ++i) {
    layout::Namespace* rec = &nsTable_[i];
    const uint32_t len = rec->nameLength;
    const uint32_t state = AtomicLoad(&rec->state);
    if (state == layout::kNsStateLive && len != 0 && len <= kMaxNamespaceBytes) {
      // The index finds a record by the hash of its name: recomputed, so that damage to nameHash
      // cannot hide a live namespace.
      rec->nameHash = Xxh32(NameOf(i), len, static_cast<uint32_t>(layout::kNsHashSeed));
      continue;
    }
    if (state == layout::kNsStateDropping) {
      std::memset(static_cast<void*>(&nsPolicy_[i]), 0, sizeof nsPolicy_[i]);
    }
    if (state == layout::kNsStateDropping || state == layout::kNsStateLive) {
      AtomicStore(&rec->state, static_cast<uint32_t>(layout::kNsStateFree));
    }
    // A live record freed for its name: a new generation, as a drop gives (a dropping record has
    // its new one), so that a handle that resolved the old name fails its check once a new
    // namespace takes the record (§9 step 4).
    if (state == layout::kNsStateLive) AtomicAdd(&rec->generation, 1);
    if (lowestFree == 0) lowestFree = i;
  }
  // The name index holds exactly the live records (a creator or dropper that died under
  // NsState.lock may have left it part way), and freeHint the lowest free record.
  RebuildIndex();
  AtomicStore(&nsState_->freeHint, lowestFree == 0 ? maxNs_ + 1 : lowestFree);
}

// Step 4. Establishes: every chain holds only valid, unique entries of its bucket (a link that
// cannot be trusted ends the chain), each bucket's count is right, and scan->live, nsCounts,
// entries and expiring hold what was kept. Throws nothing but std::bad_alloc (the index of a
// chain's keys).
void Store::RepairChains(internal::RepairScan* scan) {
  scan->liveNamespaces = LiveNamespaces(scan->nsLive.get());
  const ChainBounds pool{base_, firstUnit_, scan->freeHead, kNoStepLimit};
  internal::DupIndex dups;
  for (uint32_t bi = 0; bi < bucketCount_; ++bi) {
    Bucket* b = &buckets_[bi];
    dups.Clear();
    uint32_t count = 0;
    ChainCursor c(pool, &b->head);
    passBeat_.Work();  // a bucket: on a store of many empty buckets these are the work
    for (;;) {
      const ChainStep step = c.Next();
      if (step == ChainStep::kEnd) break;
      passBeat_.Work();
      const uint32_t u = c.unit();
      if (step == ChainStep::kBadClass && scan->starts.Get(u) && !scan->seen.Get(u)) {
        // A block start of step 3 that is no entry (a large block, free or not, or a hole step 3
        // made): its `next` is read as any unlinked entry's is, and what it names is checked as
        // ever (format.md §9, step 4: a block start with FREE set, or not an entry, is unlinked).
        scan->seen.Set(u);
        c.Unlink();
        continue;
      }
      if ((step != ChainStep::kEntry && step != ChainStep::kFree) || !scan->starts.Get(u) ||
          scan->seen.Get(u)) {
        // Not a block, or a block already met (a cycle or a shared tail): its `next` cannot be
        // trusted, so the chain ends here.
        c.Cut();
        break;
      }
      scan->seen.Set(u);
      const Entry* e = c.entry();
      const char* problem = EntryProblem(c, bi, scan->nsLive.get());
      // One flipped FLAG_INDIRECT, which the checksum names, is flipped back: a large value's
      // entry that lost it refers to its value again, an inline value that gained it is read
      // inline again; the entry is then checked as any other.
      if (problem != nullptr && MendIndirect(c)) problem = EntryProblem(c, bi, scan->nsLive.get());
      // Read only where it lies in the entry's block (EntryProblem has not checked its length yet).
      const uint32_t large = RefInBlock(c.flags(), e->keyLength) ? RefOf(e, e->keyLength).unit : 0;
      // A large block must be a block start that no entry kept before refers to: `live` marks
      // the ones claimed (`seen` only what the chains met, a damaged link may name a large block).
      if (problem != nullptr || dups.Contains(base_, e) ||
          (large != 0 && (!scan->starts.Get(large) || scan->live.Get(large)))) {
        c.Unlink();  // the block is freed by RebuildFreeLists
        continue;
      }
      if (large != 0) scan->live.Set(large);
      scan->live.Set(u);
      dups.Add(e->keyHash, u);
      ++count;
      ++scan->nsCounts[e->namespaceId];
      if (ExpiresAtOf(e) != 0) ++scan->expiring;
      scan->nsBytes[e->namespaceId] += PayloadOf(e);
    }
    b->count = count;
    scan->entries += count;
  }
}

// Step 4. Establishes: the count cells hold what the chains hold (the store's entries, those with
// an expiry and each live namespace's, in cell 0, granted exactly: §5 "Count cells"), and
// NsState.liveCount.
void Store::RepairCounts(internal::RepairScan* scan) noexcept {
  for (uint32_t i = 1; i <= maxNs_; ++i) {
    if (!scan->nsLive[i]) {
      scan->nsCounts[i] = 0;
      continue;
    }
    AtomicStore64(&nsPolicy_[i].bytes, scan->nsBytes[i]);
    nsCounts_[i].bytes = 0;  // counted in what was just stored
  }
  cells_.Recount(static_cast<uint32_t>(scan->entries), static_cast<uint32_t>(scan->expiring),
                 scan->nsCounts.get());
  // The hand starts a new turn at a block start (a cut pool may have left it inside a block).
  AtomicStore(&evict_->hand, firstUnit_);
  AtomicStore(&nsState_->liveCount, scan->liveNamespaces);
}

// Step 5. Establishes: every run of adjacent blocks below freeHead that are neither live, nor
// parked by a live other owner, nor a large block in flight of a live other owner (no entry
// refers to it, its `writer` names that owner: a set or a compaction move fills it without any
// lock) is free: a run of one block on the free list of its class (a large block on the large
// list), a longer run one free large block covering it (coalesced: its units are the run's, the
// headers inside it are not read again), each list in address order and linked both ways
// (`prev`); listedUnits is the units of all runs, classCount is kClassCount, freedUnits 0 and the
// compaction cursor 0. A block parked or in flight of a live other owner is left as it is and ends
// a run (format.md §8, "Parked blocks"; §9 step 5). A large block in use that is freed gets
// writer = 0 first: inside a run its header stays, and its writer (this handle) must not take it
// for one a pass kept (LargeHeld). A large block kept in flight gets cuts = RepairState.cuts: its
// writer takes for its own only a block whose cuts word holds the current count (LargeHeld), and
// one that a pass which cut since did not see holds an older one.
void Store::RebuildFreeLists(internal::RepairScan* scanp) noexcept {
  internal::RepairScan& scan = *scanp;
  uint32_t tails[kLargeClass + 1] = {};
  for (uint32_t c = 0; c < kClassCount; ++c) AtomicStore(&alloc_->freeHeads[c], 0);
  AtomicStore(&alloc_->largeHead, 0);
  // The run being gathered: its first block, units, blocks and (for a run of one) class.
  uint32_t runStart = 0, runUnits = 0, runBlocks = 0, runClass = 0;
  // The units of every run listed: AllocState.listedUnits, exact.
  uint64_t listed = 0;
  auto flush = [&] {
    if (runBlocks == 0) return;
    listed += runUnits;
    const uint32_t cls = runBlocks == 1 ? runClass : kLargeClass;
    Entry* e = EntryAt(runStart);
    if (runBlocks > 1) AtomicStore(&LargeAt(base_, runStart)->units, runUnits);
    AtomicStore(&e->flags, kFlagFree | (cls << kClassShift));
    AtomicStore(&e->next, 0);
    AtomicStore(&FreeAt(base_, runStart)->prev, tails[cls]);
    if (tails[cls] != 0) {
      AtomicStore(&EntryAt(tails[cls])->next, runStart);
    } else {
      AtomicStore(cls == kLargeClass ? &alloc_->largeHead : &alloc_->freeHeads[cls], runStart);
    }
    tails[cls] = runStart;
    runBlocks = 0;
  };
  for (uint32_t u = firstUnit_; u < scan.freeHead;) {
    const uint32_t flags = AtomicLoad(&EntryAt(u)->flags);
    const uint32_t size = BlockUnitsOf(base_, u, flags);  // valid: RepairPool walked these
    const bool live = scan.live.Get(u);
    const bool parked = (flags & kFlagParked) != 0 && ClassOfFlags(flags) < kClassCount && !live &&
                        !ParkedOwnerGone(AtomicLoad(&EntryAt(u)->next), scan.ownerVerdicts);
    const bool inUseLarge = flags == (kLargeClass << kClassShift) && !live;
    const bool inFlight = inUseLarge && InFlightByLive(u, flags, scanp);
    if (inUseLarge && !inFlight) AtomicStore(&LargeAt(base_, u)->writer, 0u);
    // Kept in flight: stamped with the cuts count, which step 3 moved if it cut, so that its
    // writer tells it from a block of its own no pass saw (LargeHeld).
    if (inFlight) AtomicStore(&LargeAt(base_, u)->cuts, AtomicLoad(&repairState_->cuts));
    if (live || parked || inFlight) {
      flush();
    } else if (runBlocks == 0) {
      runStart = u;
      runUnits = size;
      runBlocks = 1;
      runClass = ClassOfFlags(flags);
    } else {
      runUnits += size;
      ++runBlocks;
    }
    u += size;
    passBeat_.Work();
  }
  flush();
  // At most the pool's units, which fit a u32 (format.md §2).
  AtomicStore(&alloc_->listedUnits, static_cast<uint32_t>(listed));
  AtomicStore(&alloc_->classCount, kClassCount);
  AtomicStore(&alloc_->freedUnits, 0);
  // Every run is merged: the compaction sweep starts again (and its cursor may be inside a run).
  AtomicStore(&compact_->cursor, 0u);
}

// Step 6. Establishes: no owner slot but this handle's names an owner that is gone (§6; their
// locks were taken over when the pass acquired every lock).
void Store::FreeGoneOwnerSlots(const internal::RepairScan& scan) noexcept {
  for (uint32_t o = 1; o < kOwnerSlots; ++o) {
    if (o == env_.selfSlot || AtomicLoad(&owners_[o].pid) == 0) continue;
    if (scan.ownerVerdicts[o] == 1) continue;  // it keeps parked or large blocks: see RepairScan
    passBeat_.Work();
    FreeGoneOwnerSlot(owners_, o, env_.self);
  }
}

}  // namespace shm
