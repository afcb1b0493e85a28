// shm::Store namespaces (docs/format.md §5): lookup by name through the name index, creation and
// the two locked steps of a drop under NsState.lock, listing. A record is published by its
// `state = live` store after its name is written, and enters the index after that; a drop first
// changes its generation, so a handle caches the name -> id mapping with the generation it saw and
// checks it on every use (§5, "Dropping").
#include <new>

#include "base/hash.h"
#include "store/store.h"

namespace shm {

namespace {

// Reads of one namespace record by Namespaces() while drops keep changing its generation: each
// retry follows a drop and a creation that both completed meanwhile.
constexpr int kNamespaceRowAttempts = 16;

bool AnyDropping(const layout::Namespace* table, uint32_t maxNs) noexcept {
  for (uint32_t i = 1; i <= maxNs; ++i) {
    if (AtomicLoad(&table[i].state) == layout::kNsStateDropping) return true;
  }
  return false;
}

void ResetPolicy(layout::NsPolicy* pol) noexcept {
  AtomicStore(&pol->policy, kPolicyInherit);
  AtomicStore64(&pol->ttlMs, 0);
  AtomicStore64(&pol->hits, 0);
  AtomicStore64(&pol->misses, 0);
  AtomicStore64(&pol->evictions, 0);
  AtomicStore64(&pol->expirations, 0);
  AtomicStore64(&pol->bytes, 0);
}

// Whether slot `home` lies cyclically in (hole, at]: an entry there may not move back to `hole`.
bool HomeBetween(uint32_t hole, uint32_t home, uint32_t at) noexcept {
  return hole <= at ? (hole < home && home <= at) : (hole < home || home <= at);
}

}  // namespace

bool Store::NameMatches(uint32_t id, const void* name, uint32_t length,
                        uint32_t hash) const noexcept {
  const layout::Namespace* r = &nsTable_[id];
  return RacyLoad(&r->nameHash) == hash && RacyLoad(&r->nameLength) == length &&
         std::memcmp(NameOf(id), name, length) == 0;
}

uint32_t Store::FindNamespace(const void* name, uint32_t length, uint32_t hash,
                              bool* sure) noexcept {
  // The lock word's version moves on every acquisition and release: unchanged and free around
  // the probe, no creation or drop rearranged the index meanwhile, so a miss is a real one.
  const uint32_t before = AtomicLoad(&nsState_->lock);
  uint32_t i = hash & indexMask_;
  for (uint32_t probes = 0; probes <= indexMask_; ++probes, i = (i + 1) & indexMask_) {
    const uint32_t slot = AtomicLoad(&nsIndex_[i]);
    if (slot == 0) break;
    // Another name's tag: passed over without reading its record.
    if (((slot ^ hash) & kNsIndexTagMask) != 0) continue;
    const uint32_t id = slot & kNsIndexIdMask;
    if (id == 0 || id > maxNs_) continue;  // damage: a repair pass rebuilds the index
    const layout::Namespace* r = &nsTable_[id];
    for (;;) {
      const uint32_t gen = AtomicLoad(&r->generation);
      if (AtomicLoad(&r->state) != layout::kNsStateLive || !NameMatches(id, name, length, hash)) {
        break;
      }
      // Equal, the name and the generation belong to one life of the record (a drop changes the
      // generation before anything else); else look at the record again.
      if (AtomicLoad(&r->generation) != gen) continue;
      Resolved(id, gen);
      *sure = true;
      return id;
    }
  }
  *sure = (before & 1) == 0 && AtomicLoad(&nsState_->lock) == before;
  return 0;
}

void Store::IndexInsert(uint32_t id, uint32_t hash) noexcept {
  uint32_t i = hash & indexMask_;
  // At most maxNamespaces ids in at least twice as many slots: an empty slot exists.
  for (uint32_t probes = 0; probes <= indexMask_; ++probes, i = (i + 1) & indexMask_) {
    if (AtomicLoad(&nsIndex_[i]) == 0) {
      AtomicStore(&nsIndex_[i], NsIndexSlot(id, hash));
      return;
    }
  }
}

void Store::IndexRemove(uint32_t id) noexcept {
  uint32_t hole = RacyLoad(&nsTable_[id].nameHash) & indexMask_;
  uint32_t probes = 0;
  for (; probes <= indexMask_; ++probes, hole = (hole + 1) & indexMask_) {
    const uint32_t at = AtomicLoad(&nsIndex_[hole]);
    if ((at & kNsIndexIdMask) == id) break;
    if (at == 0) return;  // not indexed (damage a repair pass rebuilt around)
  }
  if (probes > indexMask_) return;
  // Backward shift: each later entry of the run that may live at the hole moves into it (stored
  // at its new slot before its old one is reused), so the index never holds a tombstone and a
  // probe still ends at the first empty slot.
  for (uint32_t at = (hole + 1) & indexMask_;; at = (at + 1) & indexMask_) {
    const uint32_t other = AtomicLoad(&nsIndex_[at]);
    if (other == 0 || at == hole) break;
    const uint32_t otherId = other & kNsIndexIdMask;
    const uint32_t home =
        (otherId <= maxNs_ ? RacyLoad(&nsTable_[otherId].nameHash) : at) & indexMask_;
    if (HomeBetween(hole, home, at)) continue;
    AtomicStore(&nsIndex_[hole], other);
    hole = at;
  }
  AtomicStore(&nsIndex_[hole], 0u);
}

void Store::RebuildIndex() noexcept {
  for (uint32_t i = 0; i <= indexMask_; ++i) AtomicStore(&nsIndex_[i], 0u);
  for (uint32_t id = 1; id <= maxNs_; ++id) {
    if (NamespaceLive(id)) IndexInsert(id, RacyLoad(&nsTable_[id].nameHash));
  }
}

Status Store::ResolveNamespace(const void* name, uint32_t length, bool create,
                               uint32_t* id) noexcept {
  *id = 0;
  if (closed_) return layout::kErrClosed;
  if (length == 0 || length > kMaxNamespaceBytes) return layout::kErrInvalidArg;
  const uint32_t hash = Xxh32(name, length, kNsHashSeed);
  bool sure = false;
  uint32_t found = FindNamespace(name, length, hash, &sure);
  if (found != 0 || (!create && sure)) {
    *id = found;
    return layout::kOk;
  }
  for (bool repaired = false;;) {
    uint32_t held;
    Status s = LockNamespaces(&held);
    if (s != layout::kOk) return s;
    // Under the lock the index is stable: what the probe finds is the answer.
    found = FindNamespace(name, length, hash, &sure);
    if (found == 0 && !create) {
      Unlock(&nsState_->lock, held);
      return layout::kOk;
    }
    if (found == 0) found = CreateLocked(name, length, hash);
    Unlock(&nsState_->lock, held);
    if (found == 0 && !repaired && AnyDropping(nsTable_, maxNs_)) {
      // No free record, but a drop's record is not free yet: a repair pass finishes a drop whose
      // dropper died, then the creation is tried once more.
      repaired = true;
      s = RepairPass(true);
      if (s != layout::kOk) return s;
      continue;
    }
    if (found == 0) return layout::kErrTooManyNamespaces;
    *id = found;
    return layout::kOk;
  }
}

uint32_t Store::CreateLocked(const void* name, uint32_t length, uint32_t hash) noexcept {
  // No record below freeHint is free (§5): the lowest free id is found from there. The second
  // round only runs when the hint was damaged.
  uint32_t hint = RacyLoad(&nsState_->freeHint);
  if (hint == 0 || hint > maxNs_) hint = 1;
  for (uint32_t round = 0; round < 2; ++round) {
    const uint32_t from = round == 0 ? hint : 1;
    const uint32_t to = round == 0 ? maxNs_ : hint - 1;
    for (uint32_t i = from; i <= to; ++i) {
      layout::Namespace* rec = &nsTable_[i];
      // Any state but live or dropping is reusable. The generation stays: it is what tells the
      // handles of a dropped namespace apart.
      const uint32_t state = AtomicLoad(&rec->state);
      if (state == layout::kNsStateLive || state == layout::kNsStateDropping) continue;
      rec->nameLength = length;
      rec->nameHash = hash;
      Resolved(i, AtomicLoad(&rec->generation));
      uint8_t* n = NameOf(i);
      std::memset(n, 0, sizeof(layout::NsName));
      std::memcpy(n, name, length);
      // The policy record starts afresh too: no policy, TTL or count of an earlier namespace.
      ResetPolicy(&nsPolicy_[i]);
      // And so do this handle's counts, which Resolved keeps when the generation is unchanged: a
      // read through an id this handle never resolved (generation 0 here, as in a record never
      // used) counts in the id's slot.
      nsCounts_[i] = NsCounts{};
      cells_.ClearNs(i);
      AtomicStore(&rec->state, static_cast<uint32_t>(layout::kNsStateLive));
      IndexInsert(i, hash);
      AtomicAdd(&nsState_->liveCount, 1);
      AtomicStore(&nsState_->freeHint, i + 1);
      return i;
    }
  }
  return 0;
}

Status Store::LockNamespaces(uint32_t* held) noexcept {
  for (;;) {
    LockResult r = LockFast(&nsState_->lock, env_, held);
    if (r == LockResult::kTimeout) return layout::kErrLockTimeout;
    if (r == LockResult::kAcquired) return layout::kOk;
    Status s = RepairFor(&nsState_->lock, *held);
    if (s != layout::kOk) return s;
  }
}

Status Store::LockCurrentNamespace(uint32_t ns, uint32_t* held) noexcept {
  Status s = LockNamespaces(held);
  if (s != layout::kOk) return s;
  if (!NamespaceCurrent(ns)) {
    Unlock(&nsState_->lock, *held);
    return layout::kErrNamespaceDropped;
  }
  return layout::kOk;
}

Status Store::DropNamespace(uint32_t ns, uint32_t* removed) noexcept {
  *removed = 0;
  if (closed_) return layout::kErrClosed;
  if (ns == 0 || ns > maxNs_) return layout::kErrInvalidArg;
  uint32_t held;
  Status s = LockCurrentNamespace(ns, &held);
  if (s != layout::kOk) return s;
  layout::Namespace* rec = &nsTable_[ns];
  // The state first: from here every write that takes a bucket lock refuses the id; then the
  // generation, so that a lookup that saw the record live before this drop cached the old one.
  const uint32_t gen = AtomicLoad(&rec->generation) + 1;
  AtomicStore(&rec->state, static_cast<uint32_t>(layout::kNsStateDropping));
  AtomicStore(&rec->generation, gen);
  AtomicDecrementSaturating(&nsState_->liveCount);
  // Out of the index: a lookup of the name misses from here on (a new namespace of the same name
  // gets a record of its own).
  IndexRemove(ns);
  Unlock(&nsState_->lock, held);
  s = ClearAll(ns, removed, &gen, 0);
  // kErrNamespaceDropped here: a repair pass finished the drop (and freed the record) meanwhile.
  if (s != layout::kOk && s != layout::kErrNamespaceDropped) return s;
  s = LockNamespaces(&held);
  if (s != layout::kOk) return s;
  if (StillClearing(ns, &gen)) {
    ResetPolicy(&nsPolicy_[ns]);
    cells_.ClearNs(ns);
    AtomicStore(&rec->state, static_cast<uint32_t>(layout::kNsStateFree));
    if (RacyLoad(&nsState_->freeHint) > ns) AtomicStore(&nsState_->freeHint, ns);
  }
  Unlock(&nsState_->lock, held);
  nsCounts_[ns] = NsCounts{};
  return layout::kOk;
}

Status Store::ConfigureNamespace(uint32_t ns, int64_t policy, int64_t ttlMs) noexcept {
  if (closed_) return layout::kErrClosed;
  if (ns == 0 || ns > maxNs_ || policy > static_cast<int64_t>(kPolicyClock)) {
    return layout::kErrInvalidArg;
  }
  // Under NsState.lock, as a drop's first and last steps and a creation are: a drop that starts
  // after the check makes it fail, one that started before resets the record after these stores,
  // and no store lands in a record a drop freed and a new namespace took meanwhile (format.md §5,
  // "Namespace policy records").
  uint32_t held;
  Status s = LockCurrentNamespace(ns, &held);
  if (s != layout::kOk) return s;
  layout::NsPolicy* pol = &nsPolicy_[ns];
  if (ttlMs >= 0) AtomicStore64(&pol->ttlMs, static_cast<uint64_t>(ttlMs));
  if (policy >= 0) {
    // Readers mark hits, and full stores evict, once any namespace may be evicted.
    if (policy == kPolicyClock) AtomicStore(&evict_->marking, 1u);
    AtomicStore(&pol->policy, static_cast<uint32_t>(policy));
  }
  Unlock(&nsState_->lock, held);
  return layout::kOk;
}

Status Store::Namespaces(std::vector<NamespaceInfo>* out) noexcept {
  out->clear();
  if (closed_) return layout::kErrClosed;
  FlushCounters();
  try {
    for (uint32_t i = 1; i <= maxNs_; ++i) {
      const layout::Namespace* r = &nsTable_[i];
      // The generation is loaded before the state and again after every field, as a lookup
      // does (format.md §5): a drop stores state 1 and then the next generation before it
      // zeroes the counters or a creation reuses the record, so equal loads make the row one
      // life of the namespace, (id, generation), never the counters of one life under the
      // generation of the next. A record dropped in between is read again; one no longer live,
      // or still changing after kNamespaceRowAttempts reads, is left out, as a dropping one is.
      NamespaceInfo info;
      bool whole = false;
      for (int attempt = 0; attempt < kNamespaceRowAttempts && !whole; ++attempt) {
        const uint32_t gen = AtomicLoad(&r->generation);
        if (AtomicLoad(&r->state) != layout::kNsStateLive) break;
        uint32_t len = RacyLoad(&r->nameLength);
        if (len > kMaxNamespaceBytes) len = kMaxNamespaceBytes;
        info.name.assign(reinterpret_cast<const char*>(NameOf(i)), len);
        info.id = i;
        info.generation = gen;
        info.count = cells_.NsCount(i);
        const layout::NsPolicy* pol = &nsPolicy_[i];
        info.policy = AtomicLoad(&pol->policy);
        info.ttlMs = AtomicLoad64(&pol->ttlMs);
        info.hits = AtomicLoad64(&pol->hits);
        info.misses = AtomicLoad64(&pol->misses);
        info.evictions = AtomicLoad64(&pol->evictions);
        info.expirations = AtomicLoad64(&pol->expirations);
        // A gauge built from flushed changes: a handle killed before flushing leaves it off
        // until the next repair pass recounts it; never shown below zero.
        const uint64_t bytes = AtomicLoad64(&pol->bytes);
        info.bytes = static_cast<int64_t>(bytes) < 0 ? 0 : bytes;
        whole = AtomicLoad(&r->generation) == gen;
      }
      if (whole) out->push_back(std::move(info));
    }
  } catch (const std::bad_alloc&) {
    out->clear();
    return layout::kErrNoMemory;
  }
  return layout::kOk;
}

uint32_t Store::LiveNamespaces(bool* nsLive) const noexcept {
  uint32_t live = 0;
  for (uint32_t i = 1; i <= maxNs_; ++i) {
    nsLive[i] = NamespaceLive(i);
    if (nsLive[i]) ++live;
  }
  return live;
}

}  // namespace shm
