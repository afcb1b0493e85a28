#include "store.h"

#include <chrono>
#include <new>

#include "hash.h"

namespace shm {

using layout::Bucket;
using layout::Entry;
using layout::Header;
using layout::kSizeClasses;

namespace {

constexpr uint32_t kEntryHeader = static_cast<uint32_t>(layout::kEntryHeaderSize);
constexpr uint64_t kMaxTotalSize = layout::kMaxSegmentUnits * layout::kUnit;
// After this many seqlock validations failed because writers kept moving the version, a reader
// takes the bucket lock for one read (progress under heavy write load).
constexpr uint32_t kLockedReadAfter = 64;
// A walk that fails its checks with an unchanged version this many times is corruption (a JS
// writer on a weakly ordered CPU can fool the version check once, never repeatedly).
constexpr int kStableFailures = 3;

bool ValidBucketCount(uint64_t n) {
  return n >= layout::kMinBuckets && n <= layout::kMaxBuckets && (n & (n - 1)) == 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Creating, validating, attaching

Status Store::Create(uint8_t* base, uint64_t size, uint32_t bucketCount,
                     uint32_t maxEntries) noexcept {
  if (base == nullptr || (reinterpret_cast<uintptr_t>(base) & 7) != 0) {
    return layout::kErrInvalidArg;
  }
  if (!ValidBucketCount(bucketCount)) return layout::kErrInvalidArg;
  uint64_t total = size & ~uint64_t{63};
  if (total > kMaxTotalSize) total = kMaxTotalSize;
  const uint64_t entriesOffset = EntriesOffset(bucketCount);
  if (entriesOffset + layout::kUnit > total) return layout::kErrBadSize;

  std::memset(base, 0, entriesOffset);
  auto* h = reinterpret_cast<Header*>(base);
  h->version = static_cast<uint32_t>(layout::kFormatVersion);
  h->totalSize = total;
  h->bucketCount = bucketCount;
  h->entryCount = 0;
  h->maxEntries = maxEntries;
  h->freeHead = static_cast<uint32_t>(entriesOffset / layout::kUnit);
  h->gcCounter = 0;
  h->headerChecksum = HeaderChecksum(static_cast<uint32_t>(layout::kMagic), h->version, total,
                                     bucketCount, maxEntries);
  auto* a = reinterpret_cast<layout::AllocState*>(base + layout::kAllocOffset);
  a->classCount = kClassCount;
  // magic last, with a sequentially consistent store: whoever sees it sees the rest.
  AtomicStore(&h->magic, static_cast<uint32_t>(layout::kMagic));
  return layout::kOk;
}

Status Store::Validate(const uint8_t* base, uint64_t size) noexcept {
  if (size < layout::kHeaderSize) return layout::kErrBadSize;
  if (base == nullptr || (reinterpret_cast<uintptr_t>(base) & 7) != 0) {
    return layout::kErrInvalidArg;
  }
  const auto* h = reinterpret_cast<const Header*>(base);
  const uint32_t magic = AtomicLoad(&h->magic);
  if (magic != layout::kMagic) return layout::kErrBadMagic;
  const uint32_t version = RacyLoad(&h->version);
  if (version != layout::kFormatVersion) return layout::kErrBadVersion;
  const uint64_t totalSize = RacyLoad(&h->totalSize);
  const uint32_t bucketCount = RacyLoad(&h->bucketCount);
  const uint32_t maxEntries = RacyLoad(&h->maxEntries);
  if (HeaderChecksum(magic, version, totalSize, bucketCount, maxEntries) !=
      RacyLoad(&h->headerChecksum)) {
    return layout::kErrBadChecksum;
  }
  if ((totalSize & 63) != 0 || totalSize > size || totalSize > kMaxTotalSize) {
    return layout::kErrBadSize;
  }
  if (!ValidBucketCount(bucketCount)) return layout::kErrCorrupt;
  const uint64_t entriesOffset = EntriesOffset(bucketCount);
  if (entriesOffset + layout::kUnit > totalSize) return layout::kErrBadSize;
  const uint64_t firstUnit = entriesOffset / layout::kUnit;
  const uint64_t totalUnits = totalSize / layout::kUnit;
  const uint32_t freeHead = AtomicLoad(&h->freeHead);
  if (freeHead < firstUnit || freeHead > totalUnits) return layout::kErrCorrupt;
  const auto* a = reinterpret_cast<const layout::AllocState*>(base + layout::kAllocOffset);
  if (RacyLoad(&a->classCount) != kClassCount) return layout::kErrCorrupt;
  return layout::kOk;
}

Status Store::Attach(uint8_t* base, uint64_t size, uint32_t pid, uint32_t tid,
                     uint32_t lockTimeoutMs, std::unique_ptr<Store>* out) noexcept {
  Status s = Validate(base, size);
  if (s != layout::kOk) return s;
  if (pid == 0) return layout::kErrInvalidArg;
  std::unique_ptr<Store> st(new (std::nothrow) Store());
  if (!st) return layout::kErrInvalidArg;
  st->scratch_.reset(new (std::nothrow) uint8_t[kMaxKeyBytes + kMaxValueBytes + 64]);
  if (!st->scratch_) return layout::kErrInvalidArg;
  auto* h = reinterpret_cast<Header*>(base);
  st->base_ = base;
  st->regionSize_ = size;
  st->totalSize_ = h->totalSize;
  st->totalUnits_ = static_cast<uint32_t>(st->totalSize_ / layout::kUnit);
  st->bucketCount_ = h->bucketCount;
  st->mask_ = st->bucketCount_ - 1;
  st->firstUnit_ = static_cast<uint32_t>(EntriesOffset(st->bucketCount_) / layout::kUnit);
  st->maxEntries_ = h->maxEntries;
  st->hdr_ = h;
  st->alloc_ = reinterpret_cast<layout::AllocState*>(base + layout::kAllocOffset);
  st->nsState_ = reinterpret_cast<layout::NsState*>(base + layout::kNsstateOffset);
  st->repairState_ = reinterpret_cast<layout::RepairState*>(base + layout::kRepairOffset);
  st->nsTable_ = reinterpret_cast<layout::Namespace*>(base + layout::kNamespacesOffset);
  st->owners_ = reinterpret_cast<layout::Owner*>(base + layout::kOwnersOffset);
  st->buckets_ = reinterpret_cast<Bucket*>(base + layout::kBucketsOffset);
  st->pool_.base = base;
  st->pool_.header = h;
  st->pool_.alloc = st->alloc_;
  st->pool_.firstUnit = st->firstUnit_;
  st->pool_.totalUnits = st->totalUnits_;
  st->env_.storeBase = base;
  st->env_.owners = st->owners_;
  st->env_.pid = pid;
  st->env_.lockTimeoutMs = lockTimeoutMs == 0 ? kDefaultLockTimeoutMs : lockTimeoutMs;

  bool adopted = false;
  uint32_t slot = ClaimOwnerSlot(st->owners_, pid, tid);
  if (slot == 0) {
    // Every slot is taken: adopt one whose process is gone and repair (the repair takes over the
    // locks that still name the adopted slot and frees the other dead slots).
    slot = AdoptDeadOwnerSlot(st->owners_, pid, tid);
    if (slot == 0) return layout::kErrTooManyHandles;
    adopted = true;
  }
  st->env_.selfSlot = slot;
  st->closed_ = false;
  RegisterLiveSlot(base, slot);
  if (adopted) {
    // Forced: a pass that ran meanwhile could not take over the locks naming this slot.
    s = st->RepairPass(true);
    if (s != layout::kOk) return s;  // ~Store releases the slot
  }
  *out = std::move(st);
  return layout::kOk;
}

Store::~Store() {
  Close();
}

void Store::FlushCounters() noexcept {
  if (closed_) return;
  if (reads_ != 0) AtomicAdd64(&hdr_->readCounter, reads_);
  if (writes_ != 0) AtomicAdd64(&hdr_->writeCounter, writes_);
  reads_ = 0;
  writes_ = 0;
}

void Store::Close() noexcept {
  if (closed_) return;
  FlushCounters();
  UnregisterLiveSlot(base_, env_.selfSlot);
  ReleaseOwnerSlot(owners_, env_.selfSlot);
  closed_ = true;
}

uint64_t Store::NowMs() const noexcept {
  using namespace std::chrono;
  return static_cast<uint64_t>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

// ---------------------------------------------------------------------------------------------
// Readers

Store::Walk Store::WalkForKey(const Bucket* b, uint32_t ns, const uint8_t* key, uint32_t keyLength,
                              uint32_t hash, Hit* hit) noexcept {
  uint32_t u = AtomicLoad(&b->head);
  uint64_t steps = 0;
  const uint64_t maxSteps = uint64_t{maxEntries_} + 1;
  while (u != 0) {
    if (++steps > maxSteps || u < firstUnit_ || u >= totalUnits_) return Walk::kViolation;
    const Entry* e = EntryAt(u);
    const uint32_t flags = AtomicLoad(&e->flags);
    const uint32_t cls = ClassOfFlags(flags);
    if (cls >= kClassCount || (flags & kFlagFree) != 0) return Walk::kViolation;
    const uint32_t units = kSizeClasses[cls];
    if (uint64_t{u} + units > totalUnits_) return Walk::kViolation;
    if (RacyLoad(&e->keyHash) == hash && RacyLoad(&e->keyLength) == keyLength &&
        RacyLoad(&e->namespaceId) == ns) {
      const uint32_t valueLength = RacyLoad(&e->valueLength);
      if (kEntryHeader + keyLength + valueLength > (units << 6)) return Walk::kViolation;
      const auto* kv = reinterpret_cast<const uint8_t*>(e + 1);
      if (keyLength == 0 || std::memcmp(kv, key, keyLength) == 0) {
        std::memcpy(scratch_.get(), kv, keyLength + valueLength);
        hit->valueLength = valueLength;
        hit->flags = flags;
        hit->checksum = RacyLoad(&e->checksum);
        return Walk::kHit;
      }
    }
    u = AtomicLoad(&e->next);
  }
  return Walk::kMiss;
}

Status Store::Lookup(uint32_t ns, const uint8_t* key, uint32_t keyLength, bool* found,
                     Value* out) noexcept {
  if (closed_) return layout::kErrClosed;
  if (keyLength > kMaxKeyBytes) return layout::kErrKeyTooLong;
  if (ns == 0 || ns > kMaxNamespaceId) return layout::kErrInvalidArg;
  const uint32_t hash = KeyHash(key, keyLength, ns);
  Bucket* b = BucketFor(hash);
  LockWaiter waiter(env_);
  uint32_t races = 0;
  int stableFailures = 0;
  bool repaired = false;
  for (;;) {
    Hit hit;
    Walk w;
    if (races < kLockedReadAfter) {
      const uint32_t v1 = AtomicLoad(&b->lock);
      if (LockIsHeld(v1)) {
        Verdict v = waiter.OnHeld(&b->lock, v1);
        if (v == Verdict::kWait) continue;
        if (v == Verdict::kTimeout) return layout::kErrLockTimeout;
        Status s = RepairFor(&b->lock, v1);
        if (s != layout::kOk) return s;
        waiter.Reset();
        continue;
      }
      w = WalkForKey(b, ns, key, keyLength, hash, &hit);
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
      w = WalkForKey(b, ns, key, keyLength, hash, &hit);
      Unlock(&b->lock, held);
      races = 0;
      stableFailures = kStableFailures - 1;  // under the lock a failure is certain
    }
    if (w == Walk::kMiss) {
      ++reads_;
      *found = false;
      return layout::kOk;
    }
    const uint32_t encoding = hit.flags & kEncodingMask;
    if (w == Walk::kHit && EntryChecksum(scratch_.get(), keyLength + hit.valueLength, hash,
                                         encoding) == hit.checksum) {
      ++reads_;
      *found = true;
      if (out != nullptr) {
        out->data = scratch_.get() + keyLength;
        out->length = hit.valueLength;
        out->encoding = encoding;
      }
      return layout::kOk;
    }
    // The walk failed a check although no writer overlapped it.
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

Status Store::Get(uint32_t ns, const void* key, uint32_t keyLength, bool* found,
                  Value* out) noexcept {
  return Lookup(ns, static_cast<const uint8_t*>(key), keyLength, found, out);
}

Status Store::Has(uint32_t ns, const void* key, uint32_t keyLength, bool* found) noexcept {
  return Lookup(ns, static_cast<const uint8_t*>(key), keyLength, found, nullptr);
}

// ---------------------------------------------------------------------------------------------
// Writers

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
      Status r = RepairFor(&alloc_->lock, AtomicLoad(&alloc_->lock));
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
  uint32_t* link = &b->head;
  uint32_t u = AtomicLoad(link);
  uint64_t steps = 0;
  while (u != 0) {
    if (++steps > uint64_t{maxEntries_} + 1 || u < firstUnit_ || u >= totalUnits_) {
      found.corrupt = true;
      return found;
    }
    Entry* e = EntryAt(u);
    const uint32_t flags = AtomicLoad(&e->flags);
    const uint32_t cls = ClassOfFlags(flags);
    if (cls >= kClassCount || (flags & kFlagFree) != 0 ||
        uint64_t{u} + kSizeClasses[cls] > totalUnits_) {
      found.corrupt = true;
      return found;
    }
    if (e->keyHash == hash && e->keyLength == keyLength && e->namespaceId == ns) {
      if (kEntryHeader + keyLength + e->valueLength > (kSizeClasses[cls] << 6)) {
        found.corrupt = true;
        return found;
      }
      if (keyLength == 0 || std::memcmp(e + 1, key, keyLength) == 0) {
        found.link = link;
        found.unit = u;
        return found;
      }
    }
    link = &e->next;
    u = AtomicLoad(link);
  }
  return found;
}

Status Store::Set(uint32_t ns, const void* key, uint32_t keyLength, const void* value,
                  uint32_t valueLength, uint32_t encoding) noexcept {
  if (closed_) return layout::kErrClosed;
  if (keyLength > kMaxKeyBytes) return layout::kErrKeyTooLong;
  if (valueLength > kMaxValueBytes) return layout::kErrValueTooLong;
  if (encoding > kEncodingMask || !NamespaceLive(ns)) return layout::kErrInvalidArg;
  const uint32_t hash = KeyHash(key, keyLength, ns);
  const uint32_t cls = SizeClassFor(UnitsForEntry(keyLength, valueLength));
  Bucket* b = BucketFor(hash);
  bool repaired = false;
  for (;;) {
    uint32_t held;
    Status s = LockBucket(b, &held);
    if (s != layout::kOk) return s;
    Found f = FindLocked(b, ns, key, keyLength, hash);
    if (f.corrupt) {
      Unlock(&b->lock, held);
      if (repaired) return layout::kErrCorrupt;
      repaired = true;
      s = RepairPass(true);
      if (s != layout::kOk) return s;
      continue;
    }
    if (f.unit == 0) {
      // Reserve a slot for the new entry.
      if (AtomicAdd(&hdr_->entryCount, 1) >= maxEntries_) {
        AtomicSub(&hdr_->entryCount, 1);
        Unlock(&b->lock, held);
        return layout::kErrStoreFull;
      }
    }
    uint32_t nu = 0;
    AllocStatus as = AllocBlock(pool_, env_, cls, &nu);
    if (as != AllocStatus::kOk) {
      if (f.unit == 0) AtomicSub(&hdr_->entryCount, 1);
      Unlock(&b->lock, held);
      bool retry;
      s = HandleAllocFailure(as, &repaired, &retry);
      if (retry) continue;
      return s;
    }
    // Write the new entry completely, then publish it with one store.
    Entry* ne = EntryAt(nu);
    AtomicStore(&ne->next, f.unit != 0 ? AtomicLoad(&EntryAt(f.unit)->next) : AtomicLoad(&b->head));
    ne->keyHash = hash;
    ne->keyLength = static_cast<uint16_t>(keyLength);
    ne->valueLength = static_cast<uint16_t>(valueLength);
    ne->namespaceId = ns;
    ne->timestamp = NowMs();
    auto* kv = reinterpret_cast<uint8_t*>(ne + 1);
    if (keyLength != 0) std::memcpy(kv, key, keyLength);
    if (valueLength != 0) std::memcpy(kv + keyLength, value, valueLength);
    ne->checksum = EntryChecksum(kv, keyLength + valueLength, hash, encoding);
    AtomicStore(&ne->flags, (cls << kClassShift) | encoding);
    AllocStatus fs = AllocStatus::kOk;
    if (f.unit != 0) {
      AtomicStore(f.link, nu);
      fs = FreeBlock(pool_, env_, f.unit);
    } else {
      AtomicStore(&b->head, nu);
      b->count = b->count + 1;
      AtomicAdd(&nsTable_[ns].count, 1);
    }
    Unlock(&b->lock, held);
    ++writes_;
    // The old block could not be freed (allocator holder gone): a repair pass reclaims it.
    if (fs == AllocStatus::kGone || fs == AllocStatus::kCorrupt) RepairPass(true);
    return layout::kOk;
  }
}

Status Store::Delete(uint32_t ns, const void* key, uint32_t keyLength, bool* existed) noexcept {
  *existed = false;
  if (closed_) return layout::kErrClosed;
  if (keyLength > kMaxKeyBytes) return layout::kErrKeyTooLong;
  if (ns == 0 || ns > kMaxNamespaceId) return layout::kErrInvalidArg;
  const uint32_t hash = KeyHash(key, keyLength, ns);
  Bucket* b = BucketFor(hash);
  bool repaired = false;
  for (;;) {
    uint32_t held;
    Status s = LockBucket(b, &held);
    if (s != layout::kOk) return s;
    Found f = FindLocked(b, ns, key, keyLength, hash);
    if (f.corrupt) {
      Unlock(&b->lock, held);
      if (repaired) return layout::kErrCorrupt;
      repaired = true;
      s = RepairPass(true);
      if (s != layout::kOk) return s;
      continue;
    }
    if (f.unit == 0) {
      Unlock(&b->lock, held);
      return layout::kOk;
    }
    AtomicStore(f.link, AtomicLoad(&EntryAt(f.unit)->next));
    AllocStatus fs = FreeBlock(pool_, env_, f.unit);
    if (b->count != 0) b->count = b->count - 1;
    AtomicDecrementSaturating(&nsTable_[ns].count);
    AtomicDecrementSaturating(&hdr_->entryCount);
    Unlock(&b->lock, held);
    ++writes_;
    *existed = true;
    if (fs == AllocStatus::kGone || fs == AllocStatus::kCorrupt) RepairPass(true);
    return layout::kOk;
  }
}

Status Store::Clear(uint32_t ns, uint32_t* removed) noexcept {
  *removed = 0;
  if (closed_) return layout::kErrClosed;
  if (ns == 0 || ns > kMaxNamespaceId) return layout::kErrInvalidArg;
  for (uint32_t i = 0; i < bucketCount_; ++i) {
    Bucket* b = &buckets_[i];
    if (AtomicLoad(&b->head) == 0) continue;
    bool repaired = false;
    for (;;) {
      uint32_t held;
      Status s = LockBucket(b, &held);
      if (s != layout::kOk) return s;
      uint32_t* link = &b->head;
      uint32_t u = AtomicLoad(link);
      uint64_t steps = 0;
      bool corrupt = false;
      bool allocGone = false;
      while (u != 0) {
        if (++steps > uint64_t{maxEntries_} + 1 || u < firstUnit_ || u >= totalUnits_) {
          corrupt = true;
          break;
        }
        Entry* e = EntryAt(u);
        const uint32_t flags = AtomicLoad(&e->flags);
        const uint32_t cls = ClassOfFlags(flags);
        if (cls >= kClassCount || (flags & kFlagFree) != 0 ||
            uint64_t{u} + kSizeClasses[cls] > totalUnits_) {
          corrupt = true;
          break;
        }
        const uint32_t next = AtomicLoad(&e->next);
        if (e->namespaceId != ns) {
          link = &e->next;
          u = next;
          continue;
        }
        AtomicStore(link, next);
        AllocStatus fs = FreeBlock(pool_, env_, u);
        if (b->count != 0) b->count = b->count - 1;
        AtomicDecrementSaturating(&nsTable_[ns].count);
        AtomicDecrementSaturating(&hdr_->entryCount);
        ++*removed;
        ++writes_;
        if (fs != AllocStatus::kOk) {
          allocGone = true;  // the unlinked block is reclaimed by the repair pass below
          break;
        }
        u = next;
      }
      Unlock(&b->lock, held);
      if (!corrupt && !allocGone) break;
      if (corrupt) {
        if (repaired) return layout::kErrCorrupt;
        repaired = true;
      }
      s = RepairPass(true);
      if (s != layout::kOk) return s;
    }
  }
  return layout::kOk;
}

uint32_t Store::Count(uint32_t ns) const noexcept {
  if (closed_) return 0;
  if (ns == 0) return AtomicLoad(&hdr_->entryCount);
  if (!NamespaceLive(ns)) return 0;
  return AtomicLoad(&nsTable_[ns].count);
}

// ---------------------------------------------------------------------------------------------
// Namespaces

namespace {

uint32_t FindNamespace(layout::Namespace* table, const void* name, uint32_t length) noexcept {
  for (uint32_t i = 1; i <= kMaxNamespaceId; ++i) {
    layout::Namespace* r = &table[i];
    if (AtomicLoad(&r->state) != layout::kNsStateLive) continue;
    if (RacyLoad(&r->nameLength) == length && std::memcmp(r->name, name, length) == 0) return i;
  }
  return 0;
}

}  // namespace

Status Store::ResolveNamespace(const void* name, uint32_t length, bool create,
                               uint32_t* id) noexcept {
  *id = 0;
  if (closed_) return layout::kErrClosed;
  if (length == 0 || length > kMaxNamespaceBytes) return layout::kErrInvalidArg;
  uint32_t found = FindNamespace(nsTable_, name, length);
  if (found != 0 || !create) {
    *id = found;
    return layout::kOk;
  }
  for (;;) {
    uint32_t held;
    LockResult r = LockFast(&nsState_->lock, env_, &held);
    if (r == LockResult::kTimeout) return layout::kErrLockTimeout;
    if (r == LockResult::kGone) {
      Status s = RepairFor(&nsState_->lock, held);
      if (s != layout::kOk) return s;
      continue;
    }
    found = FindNamespace(nsTable_, name, length);
    if (found == 0) {
      for (uint32_t i = 1; i <= kMaxNamespaceId; ++i) {
        layout::Namespace* rec = &nsTable_[i];
        if (AtomicLoad(&rec->state) == layout::kNsStateLive) continue;
        rec->nameLength = length;
        rec->reserved = 0;
        std::memset(rec->name, 0, sizeof rec->name);
        std::memcpy(rec->name, name, length);
        AtomicStore(&rec->count, 0);
        AtomicStore(&rec->state, static_cast<uint32_t>(layout::kNsStateLive));
        AtomicAdd(&nsState_->liveCount, 1);
        found = i;
        break;
      }
    }
    Unlock(&nsState_->lock, held);
    if (found == 0) return layout::kErrTooManyNamespaces;
    *id = found;
    return layout::kOk;
  }
}

Status Store::Namespaces(std::vector<NamespaceInfo>* out) const {
  out->clear();
  if (closed_) return layout::kErrClosed;
  for (uint32_t i = 1; i <= kMaxNamespaceId; ++i) {
    const layout::Namespace* r = &nsTable_[i];
    if (AtomicLoad(&r->state) != layout::kNsStateLive) continue;
    uint32_t len = RacyLoad(&r->nameLength);
    if (len > kMaxNamespaceBytes) len = kMaxNamespaceBytes;
    NamespaceInfo info;
    info.name.assign(reinterpret_cast<const char*>(r->name), len);
    info.id = i;
    info.count = AtomicLoad(&r->count);
    out->push_back(std::move(info));
  }
  return layout::kOk;
}

// ---------------------------------------------------------------------------------------------
// Iteration

bool Store::CopyChain(const Bucket* b, uint32_t ns, std::vector<uint8_t>* out) noexcept {
  uint32_t u = AtomicLoad(&b->head);
  uint64_t steps = 0;
  const uint64_t maxSteps = uint64_t{maxEntries_} + 1;
  while (u != 0) {
    if (++steps > maxSteps || u < firstUnit_ || u >= totalUnits_) return false;
    const Entry* e = EntryAt(u);
    const uint32_t flags = AtomicLoad(&e->flags);
    const uint32_t cls = ClassOfFlags(flags);
    if (cls >= kClassCount || (flags & kFlagFree) != 0) return false;
    const uint32_t units = kSizeClasses[cls];
    if (uint64_t{u} + units > totalUnits_) return false;
    const uint32_t entryNs = RacyLoad(&e->namespaceId);
    if (ns == 0 || entryNs == ns) {
      SnapRecord r;
      r.ns = entryNs;
      r.keyLength = RacyLoad(&e->keyLength);
      r.valueLength = RacyLoad(&e->valueLength);
      r.encoding = flags & kEncodingMask;
      r.keyHash = RacyLoad(&e->keyHash);
      r.checksum = RacyLoad(&e->checksum);
      const uint32_t bytes = r.keyLength + r.valueLength;
      if (r.keyLength > kMaxKeyBytes || kEntryHeader + bytes > (units << 6)) return false;
      // A consistent chain holds distinct blocks, so it cannot copy more than the pool.
      if (out->size() + sizeof r + bytes > totalSize_) return false;
      const size_t at = out->size();
      out->resize(at + sizeof r + bytes);
      std::memcpy(out->data() + at, &r, sizeof r);
      std::memcpy(out->data() + at + sizeof r, e + 1, bytes);
    }
    u = AtomicLoad(&e->next);
  }
  return true;
}

Status Store::SnapshotBucket(uint32_t bucket, uint32_t ns, std::vector<uint8_t>* out) noexcept {
  Bucket* b = &buckets_[bucket];
  LockWaiter waiter(env_);
  uint32_t races = 0;
  int stableFailures = 0;
  bool repaired = false;
  for (;;) {
    out->clear();
    bool copied;
    if (races < 8) {
      const uint32_t v1 = AtomicLoad(&b->lock);
      if (LockIsHeld(v1)) {
        Verdict v = waiter.OnHeld(&b->lock, v1);
        if (v == Verdict::kWait) continue;
        if (v == Verdict::kTimeout) return layout::kErrLockTimeout;
        Status s = RepairFor(&b->lock, v1);
        if (s != layout::kOk) return s;
        waiter.Reset();
        continue;
      }
      copied = CopyChain(b, ns, out);
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
      copied = CopyChain(b, ns, out);
      Unlock(&b->lock, held);
      races = 0;
      stableFailures = kStableFailures - 1;
    }
    bool ok = copied;
    for (size_t at = 0; ok && at < out->size();) {
      SnapRecord r;
      std::memcpy(&r, out->data() + at, sizeof r);
      at += sizeof r;
      if (EntryChecksum(out->data() + at, r.keyLength + r.valueLength, r.keyHash, r.encoding) !=
          r.checksum) {
        ok = false;
      }
      at += r.keyLength + r.valueLength;
    }
    if (ok) return layout::kOk;
    if (++stableFailures < kStableFailures) continue;
    if (repaired) return layout::kErrCorrupt;
    repaired = true;
    stableFailures = 0;
    Status s = RepairPass(true);
    if (s != layout::kOk) return s;
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics

Status Store::Stats(StoreStats* out) noexcept {
  *out = StoreStats{};
  if (closed_) return layout::kErrClosed;
  uint64_t freeListUnits = 0;
  uint32_t freeHead = 0;
  for (;;) {
    AllocStatus s = FreeListUnits(pool_, env_, &freeListUnits, &freeHead);
    if (s == AllocStatus::kOk) break;
    if (s == AllocStatus::kTimeout) return layout::kErrLockTimeout;
    Status r = s == AllocStatus::kGone ? RepairFor(&alloc_->lock, AtomicLoad(&alloc_->lock))
                                       : RepairPass();
    if (r != layout::kOk) return r;
  }
  if (freeHead < firstUnit_) freeHead = firstUnit_;
  if (freeHead > totalUnits_) freeHead = totalUnits_;
  FlushCounters();
  out->entries = AtomicLoad(&hdr_->entryCount);
  out->maxEntries = maxEntries_;
  out->buckets = bucketCount_;
  out->namespaces = AtomicLoad(&nsState_->liveCount);
  out->bytesTotal = totalSize_;
  out->bytesTail = uint64_t{totalUnits_ - freeHead} * layout::kUnit;
  out->bytesFreeLists = freeListUnits * layout::kUnit;
  out->bytesFree = out->bytesFreeLists + out->bytesTail;
  const uint64_t used = uint64_t{freeHead - firstUnit_} * layout::kUnit;
  out->bytesLive = used > out->bytesFreeLists ? used - out->bytesFreeLists : 0;
  out->fragmentation =
      out->bytesFree != 0 ? static_cast<double>(out->bytesFreeLists) / out->bytesFree : 0.0;
  out->repairs = AtomicLoad(&hdr_->gcCounter);
  out->reads = AtomicLoad64(&hdr_->readCounter);
  out->writes = AtomicLoad64(&hdr_->writeCounter);
  return layout::kOk;
}

Status Store::Repair() noexcept {
  if (closed_) return layout::kErrClosed;
  return RepairPass(true);
}

}  // namespace shm
