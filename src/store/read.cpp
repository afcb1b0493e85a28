// shm::Store readers (docs/format.md §9, "Readers"): get/has and the per-bucket snapshot behind
// forEach. Readers take no lock and write nothing: each walk is validated by the bucket's
// version (an acquire fence orders the data loads before the closing version load) and by the
// entry checksum over the private copy, which is the only thing decoded.
#include <new>

#include "base/hash.h"
#include "store/chain.h"
#include "store/store.h"

namespace shm {

using layout::Bucket;
using layout::Entry;

namespace {

// After this many seqlock validations failed because writers kept moving the version, a reader
// takes the bucket lock for one read (progress under heavy write load).
constexpr uint32_t kLockedReadAfter = 64;
// The same for a forEach snapshot, which copies a whole chain and so races writers more often.
constexpr uint32_t kLockedSnapshotAfter = 8;
// A walk that fails its checks with an unchanged version this many times is corruption (a JS
// writer on a weakly ordered CPU can fool the version check once, never repeatedly); why this
// many: scripts/layout-spec.js.
constexpr int kStableFailures = static_cast<int>(layout::kCorruptReadRetries);

}  // namespace

const layout::LargeBlock* Store::LargeSource(uint32_t unit, uint32_t length) const noexcept {
  if (length <= kMaxInlineValueBytes || length > kMaxValueBytes || unit < firstUnit_ ||
      unit >= totalUnits_) {
    return nullptr;
  }
  const layout::LargeBlock* lb = LargeAt(base_, unit);
  const uint32_t units = AtomicLoad(&lb->units);
  if (AtomicLoad(&lb->flags) != kLargeClass << kClassShift || units < UnitsForLarge(length) ||
      units > totalUnits_ - unit || RacyLoad(&lb->valueLength) != length) {
    return nullptr;
  }
  return lb;
}

bool Store::EnsureLarge(uint32_t n) noexcept {
  if (n <= largeCap_) return true;
  large_.reset(new (std::nothrow) uint8_t[n]);
  largeCap_ = large_ ? n : 0;
  return large_ != nullptr;
}

Store::Walk Store::WalkForKey(Bucket* b, uint32_t ns, const uint8_t* key, uint32_t keyLength,
                              uint32_t hash, Hit* hit) noexcept {
  ChainCursor c(Chains(), &b->head);
  for (;;) {
    const ChainStep step = c.Next();
    if (step == ChainStep::kEnd) return Walk::kMiss;
    if (step != ChainStep::kEntry) return Walk::kViolation;
    const Entry* e = c.entry();
    if (RacyLoad(&e->keyHash) == hash && RacyLoad(&e->keyLength) == keyLength &&
        RacyLoad(&e->namespaceId) == ns) {
      const uint32_t valueLength = RacyLoad(&e->valueLength);
      if (!c.Fits(keyLength, valueLength)) return Walk::kViolation;
      const auto* kv = reinterpret_cast<const uint8_t*>(e + 1);
      if (keyLength == 0 || std::memcmp(kv, key, keyLength) == 0) {
        std::memcpy(scratch_.get(), kv, keyLength + valueLength);
        hit->valueLength = valueLength;
        if ((c.flags() & kFlagIndirect) != 0) {
          // The value is in a large block: copied too, before the version check.
          if (valueLength != kIndirectBytes) return Walk::kViolation;
          LargeRef ref;
          std::memcpy(&ref, scratch_.get() + keyLength, sizeof ref);
          const layout::LargeBlock* lb = LargeSource(ref.unit, ref.length);
          if (lb == nullptr) return Walk::kViolation;
          if (!EnsureLarge(ref.length)) return Walk::kNoMemory;
          std::memcpy(large_.get(), lb + 1, ref.length);
          hit->largeChecksum = RacyLoad(&lb->valueChecksum);
          hit->valueLength = ref.length;
        }
        hit->flags = c.flags();
        hit->checksum = RacyLoad(&e->checksum);
        hit->unit = c.unit();
        hit->expiresAt = ExpiresAtOf(e);
        return Walk::kHit;
      }
    }
  }
}

// A reader met a held bucket lock: wait for the writer, or repair when the holder is gone.
// kOk means "read again".
Status Store::AwaitWriter(LockWaiter* waiter, uint32_t* lock, uint32_t seen) noexcept {
  const Verdict v = waiter->OnHeld(lock, seen);
  if (v == Verdict::kWait) return layout::kOk;
  if (v == Verdict::kTimeout) return layout::kErrLockTimeout;
  const Status s = RepairFor(lock, seen);
  if (s == layout::kOk) waiter->Reset();
  return s;
}

// The reader protocol of format.md §9 around one bucket. `walk` reads the chain without the lock
// (or, after `lockedAfter` races with writers, once under it); when the version check passed,
// `accept` validates what was copied and returns true when the read is done. Failures under an
// unchanged version are corruption, not races: one repair pass, then ERR_CORRUPT.
template <class WalkFn, class AcceptFn>
Status Store::ReadBucket(Bucket* b, uint32_t lockedAfter, WalkFn&& walk,
                         AcceptFn&& accept) noexcept {
  LockWaiter waiter(env_);
  uint32_t races = 0;
  int stableFailures = 0;
  bool repaired = false;
  for (;;) {
    if (races < lockedAfter) {
      const uint32_t v1 = AtomicLoad(&b->lock);
      if (LockIsHeld(v1)) {
        Status s = AwaitWriter(&waiter, &b->lock, v1);
        if (s != layout::kOk) return s;
        continue;
      }
      walk();
      // The data loads above must not be satisfied after the closing version load.
      std::atomic_thread_fence(std::memory_order_acquire);
      if (AtomicLoad(&b->lock) != v1) {
        ++races;
        waiter.Backoff();
        continue;
      }
    } else {
      uint32_t held;
      Status s = LockBucket(b, &held);
      if (s != layout::kOk) return s;
      walk();
      Unlock(&b->lock, held);
      races = 0;
      stableFailures = kStableFailures - 1;  // under the lock a failure is certain
    }
    if (accept()) return layout::kOk;
    if (++stableFailures < kStableFailures) {
      waiter.Backoff();
      continue;
    }
    if (repaired) return layout::kErrCorrupt;
    repaired = true;
    stableFailures = 0;
    Status s = RepairPass(true);
    if (s != layout::kOk) return s;
  }
}

Status Store::Lookup(uint32_t ns, const uint8_t* key, uint32_t keyLength, bool* found,
                     Value* out) noexcept {
  if (closed_) return layout::kErrClosed;
  if (keyLength > kMaxKeyBytes) return layout::kErrKeyTooLong;
  if (ns == 0 || ns > maxNs_) return layout::kErrInvalidArg;
  const uint32_t hash = KeyHash(key, keyLength, ns);
  Bucket* b = BucketFor(hash);
  Hit hit;
  Walk w = Walk::kMiss;
  bool expired = false;
  NsCounts& counts = ReadCounts(ns);
  Status s = ReadBucket(
      b, kLockedReadAfter, [&] { w = WalkForKey(b, ns, key, keyLength, hash, &hit); },
      [&] {
        if (w == Walk::kNoMemory) return true;
        if (w == Walk::kMiss) {
          ++reads_;
          ++counts.misses;
          *found = false;
          return true;
        }
        const uint32_t encoding = hit.flags & kEncodingMask;
        const bool indirect = (hit.flags & kFlagIndirect) != 0;
        const uint32_t inEntry = indirect ? kIndirectBytes : hit.valueLength;
        // The checksum covers FLAG_INDIRECT too: a flipped flag never reads a reference as a
        // value or a value as a reference.
        if (w != Walk::kHit ||
            EntryChecksum(scratch_.get(), keyLength + inEntry, hash, hit.flags & kEntrySumFlags) !=
                hit.checksum ||
            (indirect && LargeChecksum(large_.get(), hit.valueLength, hash) != hit.largeChecksum)) {
          return false;
        }
        ++reads_;
        // The clock is read only for an entry that has an expiry.
        if (hit.expiresAt != 0 && Expired(hit.expiresAt, NowMs())) {
          ++counts.misses;
          expired = true;
          *found = false;
          return true;
        }
        ++counts.hits;
        *found = true;
        // The CLOCK mark (format.md §8): written only when it changes, with a CAS from the flags
        // this read validated, so that a block freed or reused meanwhile is left alone.
        if ((hit.flags & kFlagAccessed) == 0 && AtomicLoad(&evict_->marking) != 0) {
          AtomicCas(&EntryAt(hit.unit)->flags, hit.flags, hit.flags | kFlagAccessed);
        }
        if (out != nullptr) {
          out->data = indirect ? large_.get() : scratch_.get() + keyLength;
          out->length = hit.valueLength;
          out->encoding = encoding;
          out->expiresAt = hit.expiresAt;
          out->unit = hit.unit;
          out->keyHash = hash;
          out->flags = hit.flags;
          out->checksum = hit.checksum;
        }
        return true;
      });
  if (s == layout::kOk && w == Walk::kNoMemory) s = layout::kErrNoMemory;
  if (s == layout::kOk && expired) ReclaimExpired(ns, key, keyLength, hash);
  // After the lookup (format.md §5, "Dropping"): the generation is the one this handle resolved
  // only if no drop started before now, so what was found belongs to the namespace asked for.
  if (s == layout::kOk && !NamespaceCurrent(ns)) return layout::kErrNamespaceDropped;
  return s;
}

Status Store::Get(uint32_t ns, const void* key, uint32_t keyLength, bool* found,
                  Value* out) noexcept {
  return Lookup(ns, static_cast<const uint8_t*>(key), keyLength, found, out);
}

Status Store::Has(uint32_t ns, const void* key, uint32_t keyLength, bool* found) noexcept {
  return Lookup(ns, static_cast<const uint8_t*>(key), keyLength, found, nullptr);
}

// ---------------------------------------------------------------------------------------------
// forEach: one bucket at a time, copied under the same validation as a get, checksums included.

bool Store::CopyChain(Bucket* b, uint32_t ns, uint64_t now, std::vector<uint8_t>* out) noexcept {
  ChainCursor c(Chains(), &b->head);
  for (;;) {
    const ChainStep step = c.Next();
    if (step == ChainStep::kEnd) return true;
    if (step != ChainStep::kEntry) return false;
    const Entry* e = c.entry();
    const uint32_t entryNs = RacyLoad(&e->namespaceId);
    if (ns != 0 && entryNs != ns) continue;
    if (Expired(ExpiresAtOf(e), now)) continue;
    SnapRecord r;
    r.ns = entryNs;
    r.keyLength = RacyLoad(&e->keyLength);
    r.valueLength = RacyLoad(&e->valueLength);
    r.encoding = c.flags() & kEncodingMask;
    r.keyHash = RacyLoad(&e->keyHash);
    r.checksum = RacyLoad(&e->checksum);
    r.indirect = (c.flags() & kFlagIndirect) != 0 ? 1 : 0;
    if (r.keyLength > kMaxKeyBytes || !c.Fits(r.keyLength, r.valueLength)) return false;
    const layout::LargeBlock* lb = nullptr;
    if (r.indirect != 0) {
      // The snapshot holds the value itself; the reference is kept to check the entry checksum.
      if (r.valueLength != kIndirectBytes) return false;
      const LargeRef ref = RefOf(e, r.keyLength);
      lb = LargeSource(ref.unit, ref.length);
      if (lb == nullptr) return false;
      r.refUnit = ref.unit;
      r.valueLength = ref.length;
      r.largeChecksum = RacyLoad(&lb->valueChecksum);
    }
    const uint64_t bytes = uint64_t{r.keyLength} + r.valueLength;
    // A consistent chain holds distinct blocks, so it cannot copy more than the pool.
    if (out->size() + sizeof r + bytes > totalSize_) return false;
    const size_t at = out->size();
    out->resize(at + sizeof r + bytes);
    std::memcpy(out->data() + at, &r, sizeof r);
    if (lb == nullptr) {
      std::memcpy(out->data() + at + sizeof r, e + 1, bytes);
    } else {
      std::memcpy(out->data() + at + sizeof r, e + 1, r.keyLength);
      std::memcpy(out->data() + at + sizeof r + r.keyLength, lb + 1, r.valueLength);
    }
  }
}

Status Store::SnapshotBucket(uint32_t bucket, uint32_t ns, uint64_t now,
                             std::vector<uint8_t>* out) noexcept {
  Bucket* b = &buckets_[bucket];
  bool copied = false;
  return ReadBucket(
      b, kLockedSnapshotAfter,
      [&] {
        out->clear();
        copied = CopyChain(b, ns, now, out);
      },
      [&] {
        bool ok = copied;
        for (size_t at = 0; ok && at < out->size();) {
          SnapRecord r;
          std::memcpy(&r, out->data() + at, sizeof r);
          at += sizeof r;
          const uint8_t* kv = out->data() + at;
          if (r.indirect == 0) {
            ok =
                EntryChecksum(kv, r.keyLength + r.valueLength, r.keyHash, r.encoding) == r.checksum;
          } else {
            // The entry's checksum covers key ‖ reference: rebuild those bytes.
            uint8_t image[kMaxKeyBytes + kIndirectBytes];
            const LargeRef ref{r.refUnit, r.valueLength};
            std::memcpy(image, kv, r.keyLength);
            std::memcpy(image + r.keyLength, &ref, sizeof ref);
            ok = EntryChecksum(image, r.keyLength + kIndirectBytes, r.keyHash,
                               r.encoding | kFlagIndirect) == r.checksum &&
                 LargeChecksum(kv + r.keyLength, r.valueLength, r.keyHash) == r.largeChecksum;
          }
          at += r.keyLength + r.valueLength;
        }
        return ok;
      });
}

}  // namespace shm
