// shm::Store namespaces (docs/format.md §5): lookup by name, creation under NsState.lock, listing.
// A record is published by its `state = live` store after its name is written, and is never
// removed (but by a repair pass, when its nameLength is one no name has: §5), so a reader that
// sees it live may trust (and cache) the name -> id mapping.
#include <new>

#include "store/store.h"

namespace shm {

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
        // The policy record starts afresh too: no policy, TTL or count of an earlier namespace.
        layout::NsPolicy* pol = &nsPolicy_[i];
        AtomicStore(&pol->policy, kPolicyInherit);
        AtomicStore64(&pol->ttlMs, 0);
        AtomicStore64(&pol->hits, 0);
        AtomicStore64(&pol->misses, 0);
        AtomicStore64(&pol->evictions, 0);
        AtomicStore64(&pol->expirations, 0);
        AtomicStore64(&pol->bytes, 0);
        nsCounts_[i] = NsCounts{};
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

Status Store::ConfigureNamespace(uint32_t ns, int64_t policy, int64_t ttlMs) noexcept {
  if (closed_) return layout::kErrClosed;
  if (!NamespaceLive(ns) || policy > static_cast<int64_t>(kPolicyClock)) {
    return layout::kErrInvalidArg;
  }
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
