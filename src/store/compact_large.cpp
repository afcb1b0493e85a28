// Compaction moves of large blocks (docs/format.md §8, "Compaction", "Large blocks"): a large
// value in a step's window is copied into a free large block below the window (its head) without
// any bucket lock (as a writer fills one); then, under the bucket lock of the entry that refers to
// it, a copy of that entry referring to the new block replaces it with one store, and the old
// entry's block and the old large block are freed. A holder killed before that store leaves the
// old entry and value in place (the new blocks are reclaimed by the repair pass: the large one
// still names its writer); killed after it, the new ones (the old blocks are reclaimed). The
// copy's checksum is computed afresh, so only a whole entry is copied (its checksum and keyHash
// right): a damaged one stays, an obstacle, for readers and the repair pass to judge.
#include <cstddef>
#include <cstring>

#include "base/hash.h"
#include "store/store.h"

namespace shm {

using layout::Bucket;
using layout::Entry;
using layout::LargeBlock;

namespace {
constexpr uint32_t kLiveLarge = kLargeClass << kClassShift;
}  // namespace

Status Store::MoveLarge(uint32_t lu, uint32_t above, CompactReport* r) noexcept {
  LargeBlock* from = LargeAt(base_, lu);
  // A block being written (writer not 0) or freed meanwhile stays.
  const uint32_t n = AtomicLoad(&from->valueLength);
  if (AtomicLoad(&from->flags) != kLiveLarge || AtomicLoad(&from->writer) != 0 ||
      n <= kMaxInlineValueBytes || n > kMaxValueBytes) {
    ++r->obstacles;
    return layout::kOk;
  }
  const uint32_t hash = AtomicLoad(&from->keyHash);
  const uint32_t sum = AtomicLoad(&from->valueChecksum);
  const uint32_t units = UnitsForLarge(n);
  uint32_t to = 0;
  LargeClaim claim;
  AllocStatus as = AllocLarge(pool_, env_, units, &to, &claim, lu);
  if (as != AllocStatus::kOk) {
    ++r->obstacles;
    return CompactAllocFailure(as);
  }
  // The copy, outside any lock: nobody reaches `to` before the entry that will refer to it. A copy
  // that overlapped a change of the source does not hash to the checksum read before it.
  LargeBlock* dst = LargeAt(base_, to);
  std::memcpy(dst + 1, from + 1, n);
  UnpublishedStore(&dst->next, 0u);
  UnpublishedStore(&dst->valueLength, n);
  UnpublishedStore(&dst->valueChecksum, sum);
  UnpublishedStore(&dst->keyHash, hash);
  claim.keyHash = hash;
  claim.sum = sum;
  if (LargeChecksum(dst + 1, n, hash) != sum) {
    FreeUnlinkedLarge(pool_, env_, to, claim);
    ++r->obstacles;
    return layout::kOk;
  }
  Bucket* b = BucketFor(hash);
  uint32_t held;
  Status s = LockBucket(b, &held);
  if (s != layout::kOk) {
    FreeUnlinkedLarge(pool_, env_, to, claim);
    return s;
  }
  // A repair pass since the allocation may have moved everything: an obstacle, and `to` goes back
  // if the pass kept it for this handle (FreeUnlinkedLarge).
  if (AtomicLoad(&hdr_->gcCounter) != claim.gc) {
    FreeUnlinkedLarge(pool_, env_, to, claim);
    Unlock(&b->lock, held);
    ++r->obstacles;
    return layout::kOk;
  }
  bool linked = false;
  as = RelinkLarge(b, lu, to, n, sum, above, r, &linked);
  if (!linked) FreeUnlinkedLarge(pool_, env_, to, claim);
  Unlock(&b->lock, held);
  return CompactAllocFailure(as);
}

// Under the lock of bucket `b`: the indirect entry that refers to `lu` (n bytes with
// valueChecksum `sum`) is replaced by a copy that refers to `to`, then the old entry's block and
// `lu` are freed (not counted in freedUnits: the move took as many). *linked says whether `to`
// is now referred to. kOk when there is no such entry, the entry is not whole (its checksum or
// keyHash wrong), or there is no block for the copy (an obstacle).
AllocStatus Store::RelinkLarge(Bucket* b, uint32_t lu, uint32_t to, uint32_t n, uint32_t sum,
                               uint32_t above, CompactReport* r, bool* linked) noexcept {
  const uint32_t hash = LargeAt(base_, to)->keyHash;
  ChainCursor c(Chains(), &b->head);
  Entry* old = nullptr;
  uint32_t k = 0;
  uint32_t oldFlags = 0;
  while (c.Next() == ChainStep::kEntry) {
    Entry* e = c.entry();
    k = e->keyLength;
    oldFlags = c.flags();
    if ((oldFlags & kFlagIndirect) == 0 || e->keyHash != hash || k > kMaxKeyBytes ||
        e->valueLength != kIndirectBytes || !c.Fits(k, kIndirectBytes)) {
      continue;
    }
    const LargeRef ref = RefOf(e, k);
    if (ref.unit == lu && ref.length == n) {
      old = e;
      break;
    }
  }
  const LargeBlock* from = LargeAt(base_, lu);
  // The copy gets a checksum of its own: an entry that is not whole (its checksum wrong under its
  // flags, or its keyHash not its key's) would leave as a valid-looking one, a flipped encoding bit
  // or key byte made part of it. It stays as it is, an obstacle, for readers to take for damage
  // and the repair pass to judge.
  if (old == nullptr || AtomicLoad(&from->flags) != kLiveLarge ||
      AtomicLoad(&from->valueChecksum) != sum || !RefSumMatches(old, k, hash, oldFlags) ||
      KeyHash(old + 1, k, old->namespaceId) != hash) {
    ++r->obstacles;
    return AllocStatus::kOk;
  }
  const uint32_t oldUnit = c.unit();
  const uint32_t cls = SizeClassFor(UnitsForEntry(k, kIndirectBytes));
  uint32_t nu = 0;
  AllocStatus as = AllocMoveTarget(pool_, env_, cls, lu, above, &nu);
  if (as != AllocStatus::kOk) {
    ++r->obstacles;
    return as == AllocStatus::kFull ? AllocStatus::kOk : as;
  }
  // The copy of the entry: keyHash, lengths, namespaceId, expiresAt, key, the new reference and
  // its checksum, then next and flags (encoding, INDIRECT and the mark kept, the new class).
  Entry* ne = EntryAt(nu);
  ne->keyHash = hash;
  constexpr size_t kTail = offsetof(Entry, keyLength);
  std::memcpy(reinterpret_cast<uint8_t*>(ne) + kTail, reinterpret_cast<const uint8_t*>(old) + kTail,
              sizeof(Entry) - kTail);
  auto* kv = reinterpret_cast<uint8_t*>(ne + 1);
  std::memcpy(kv, old + 1, k);
  const LargeRef ref{to, n};
  std::memcpy(kv + k, &ref, sizeof ref);
  const uint32_t flags = AtomicLoad(&old->flags);
  ne->checksum = EntryChecksum(kv, k + kIndirectBytes, hash, flags & kEntrySumFlags);
  UnpublishedStore(&ne->next, AtomicLoad(&old->next));
  UnpublishedStore(&ne->flags, (flags & ~(kClassMask << kClassShift)) | (cls << kClassShift));
  UnpublishedStore(&LargeAt(base_, to)->writer, 0u);  // linked by the store below
  AtomicStore(c.link(), nu);
  *linked = true;
  ++r->moved;
  r->movedUnits += UnitsForLarge(n);
  uint32_t held;
  as = LockAlloc(pool_, env_, &held);
  if (as != AllocStatus::kOk) return as;  // the repair pass reclaims both old blocks
  PushFree(pool_, oldUnit, ClassOfFlags(flags));
  // Behind the large list's first blocks, as a moved entry's block: it lies in the window, above
  // every destination of the window's later moves.
  PushLargeBehind(pool_, lu, AtomicLoad(&hdr_->freeHead));
  Unlock(&alloc_->lock, held);
  return AllocStatus::kOk;
}

}  // namespace shm
