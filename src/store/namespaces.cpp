// shm::Store namespaces (docs/format.md §5): lookup by name, creation and the two locked steps of
// a drop under NsState.lock, listing. A record is published by its `state = live` store after its
// name is written; a drop first changes its generation, so a handle caches the name -> id mapping
// with the generation it saw and checks it on every use (§5, "Dropping").
#include <new>

#include "store/store.h"

namespace shm {

namespace {

// The live namespace `name`, its generation in gens[id]; 0 if none. The generation is read before
// and after the name: equal, both belong to one life of the record (a drop changes it first).
uint32_t FindNamespace(layout::Namespace* table, const void* name, uint32_t length,
                       uint32_t* gens) noexcept {
  for (uint32_t i = 1; i <= kMaxNamespaceId; ++i) {
    layout::Namespace* r = &table[i];
    const uint32_t gen = AtomicLoad(&r->generation);
    if (AtomicLoad(&r->state) != layout::kNsStateLive) continue;
    if (RacyLoad(&r->nameLength) != length || std::memcmp(r->name, name, length) != 0) continue;
    if (AtomicLoad(&r->generation) != gen) {
      --i;  // dropped meanwhile: look at the record again
      continue;
    }
    gens[i] = gen;
    return i;
  }
  return 0;
}

bool AnyDropping(const layout::Namespace* table) noexcept {
  for (uint32_t i = 1; i <= kMaxNamespaceId; ++i) {
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

}  // namespace

Status Store::ResolveNamespace(const void* name, uint32_t length, bool create,
                               uint32_t* id) noexcept {
  *id = 0;
  if (closed_) return layout::kErrClosed;
  if (length == 0 || length > kMaxNamespaceBytes) return layout::kErrInvalidArg;
  uint32_t found = FindNamespace(nsTable_, name, length, nsGen_);
  if (found != 0 || !create) {
    *id = found;
    return layout::kOk;
  }
  for (bool repaired = false;;) {
    uint32_t held;
    Status s = LockNamespaces(&held);
    if (s != layout::kOk) return s;
    found = FindNamespace(nsTable_, name, length, nsGen_);
    if (found == 0) {
      for (uint32_t i = 1; i <= kMaxNamespaceId; ++i) {
        layout::Namespace* rec = &nsTable_[i];
        // Any state but live or dropping is reusable. The generation stays: it is what tells the
        // handles of a dropped namespace apart.
        const uint32_t state = AtomicLoad(&rec->state);
        if (state == layout::kNsStateLive || state == layout::kNsStateDropping) continue;
        rec->nameLength = length;
        nsGen_[i] = AtomicLoad(&rec->generation);
        std::memset(rec->name, 0, sizeof rec->name);
        std::memcpy(rec->name, name, length);
        // The policy record starts afresh too: no policy, TTL or count of an earlier namespace.
        ResetPolicy(&nsPolicy_[i]);
        nsCounts_[i] = NsCounts{};
        AtomicStore(&rec->count, 0);
        AtomicStore(&rec->state, static_cast<uint32_t>(layout::kNsStateLive));
        AtomicAdd(&nsState_->liveCount, 1);
        found = i;
        break;
      }
    }
    Unlock(&nsState_->lock, held);
    if (found == 0 && !repaired && AnyDropping(nsTable_)) {
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

Status Store::LockNamespaces(uint32_t* held) noexcept {
  for (;;) {
    LockResult r = LockFast(&nsState_->lock, env_, held);
    if (r == LockResult::kTimeout) return layout::kErrLockTimeout;
    if (r == LockResult::kAcquired) return layout::kOk;
    Status s = RepairFor(&nsState_->lock, *held);
    if (s != layout::kOk) return s;
  }
}

Status Store::DropNamespace(uint32_t ns, uint32_t* removed) noexcept {
  *removed = 0;
  if (closed_) return layout::kErrClosed;
  if (ns == 0 || ns > kMaxNamespaceId) return layout::kErrInvalidArg;
  uint32_t held;
  Status s = LockNamespaces(&held);
  if (s != layout::kOk) return s;
  if (!NamespaceCurrent(ns)) {
    Unlock(&nsState_->lock, held);
    return layout::kErrNamespaceDropped;
  }
  layout::Namespace* rec = &nsTable_[ns];
  // The state first: from here every write that takes a bucket lock refuses the id; then the
  // generation, so that a lookup that saw the record live before this drop cached the old one.
  const uint32_t gen = AtomicLoad(&rec->generation) + 1;
  AtomicStore(&rec->state, static_cast<uint32_t>(layout::kNsStateDropping));
  AtomicStore(&rec->generation, gen);
  AtomicDecrementSaturating(&nsState_->liveCount);
  Unlock(&nsState_->lock, held);
  s = ClearAll(ns, removed, &gen);
  // kErrNamespaceDropped here: a repair pass finished the drop (and freed the record) meanwhile.
  if (s != layout::kOk && s != layout::kErrNamespaceDropped) return s;
  s = LockNamespaces(&held);
  if (s != layout::kOk) return s;
  if (StillClearing(ns, &gen)) {
    ResetPolicy(&nsPolicy_[ns]);
    AtomicStore(&rec->count, 0);
    AtomicStore(&rec->state, static_cast<uint32_t>(layout::kNsStateFree));
  }
  Unlock(&nsState_->lock, held);
  nsCounts_[ns] = NsCounts{};
  return layout::kOk;
}

Status Store::ConfigureNamespace(uint32_t ns, int64_t policy, int64_t ttlMs) noexcept {
  if (closed_) return layout::kErrClosed;
  if (ns == 0 || ns > kMaxNamespaceId || policy > static_cast<int64_t>(kPolicyClock)) {
    return layout::kErrInvalidArg;
  }
  if (!NamespaceCurrent(ns)) return layout::kErrNamespaceDropped;
  layout::NsPolicy* pol = &nsPolicy_[ns];
  if (ttlMs >= 0) AtomicStore64(&pol->ttlMs, static_cast<uint64_t>(ttlMs));
  if (policy >= 0) {
    // Readers mark hits, and full stores evict, once any namespace may be evicted.
    if (policy == kPolicyClock) AtomicStore(&evict_->marking, 1u);
    AtomicStore(&pol->policy, static_cast<uint32_t>(policy));
  }
  return layout::kOk;
}

Status Store::Namespaces(std::vector<NamespaceInfo>* out) noexcept {
  out->clear();
  if (closed_) return layout::kErrClosed;
  FlushCounters();
  try {
    for (uint32_t i = 1; i <= kMaxNamespaceId; ++i) {
      const layout::Namespace* r = &nsTable_[i];
      if (AtomicLoad(&r->state) != layout::kNsStateLive) continue;
      uint32_t len = RacyLoad(&r->nameLength);
      if (len > kMaxNamespaceBytes) len = kMaxNamespaceBytes;
      NamespaceInfo info;
      info.name.assign(reinterpret_cast<const char*>(r->name), len);
      info.id = i;
      info.count = AtomicLoad(&r->count);
      const layout::NsPolicy* pol = &nsPolicy_[i];
      info.policy = AtomicLoad(&pol->policy);
      info.ttlMs = AtomicLoad64(&pol->ttlMs);
      info.hits = AtomicLoad64(&pol->hits);
      info.misses = AtomicLoad64(&pol->misses);
      info.evictions = AtomicLoad64(&pol->evictions);
      info.expirations = AtomicLoad64(&pol->expirations);
      // A gauge built from flushed changes: a handle killed before flushing leaves it off until
      // the next repair pass recounts it; never shown below zero.
      const uint64_t bytes = AtomicLoad64(&pol->bytes);
      info.bytes = static_cast<int64_t>(bytes) < 0 ? 0 : bytes;
      out->push_back(std::move(info));
    }
  } catch (const std::bad_alloc&) {
    out->clear();
    return layout::kErrNoMemory;
  }
  return layout::kOk;
}

uint32_t Store::LiveNamespaces(bool* nsLive) const noexcept {
  uint32_t live = 0;
  for (uint32_t i = 1; i <= kMaxNamespaceId; ++i) {
    nsLive[i] = NamespaceLive(i);
    if (nsLive[i]) ++live;
  }
  return live;
}

}  // namespace shm
