#include "persist/wal_replay.h"

#include <cstring>

#include "base/hash.h"
#include "persist/crc32c.h"

namespace shm {

namespace L = layout;

namespace {

constexpr uint64_t kHeader = L::kWalRecordHeaderSize;
constexpr uint64_t kAlign = L::kWalRecordAlign;
constexpr uint64_t kMaxRecordLength =
    kHeader + L::kMaxNamespaceBytes + L::kMaxKeyBytes + L::kMaxValueBytes;
static_assert(sizeof(L::WalRecord) == kHeader, "the record header is the generated struct");

bool KnownType(uint8_t t) noexcept {
  return t == L::kWalRecSet || t == L::kWalRecDelete || t == L::kWalRecClear ||
         t == L::kWalRecNsCreate || t == L::kWalRecNsDrop || t == L::kWalRecNsSettings;
}

// The namespace of the records being applied, resolved once for a run of records naming it (a
// log mostly repeats its namespaces); forgotten at a drop, which may free and reuse ids.
struct NsCache {
  uint8_t name[L::kMaxNamespaceBytes];
  uint32_t length = 0;
  uint32_t id = 0;  // 0: nothing cached
  bool created = false;

  // *id of the namespace (0 when absent and !create).
  L::Status Resolve(Store* store, const uint8_t* ns, uint32_t len, bool create,
                    uint32_t* out) noexcept {
    if (id != 0 && len == length && std::memcmp(ns, name, len) == 0) {
      *out = id;
      return L::kOk;
    }
    uint32_t got = 0;
    L::Status s = store->ResolveNamespace(ns, len, create, &got);
    if (s != L::kOk) return s;
    if (got != 0) {
      std::memcpy(name, ns, len);
      length = len;
      id = got;
    }
    *out = got;
    return L::kOk;
  }
};

L::Status Apply(Store* store, const WalRecordView& r, uint64_t nowMs, NsCache* cache) noexcept {
  const L::WalRecord& h = r.header;
  uint32_t id = 0;
  L::Status s;
  switch (h.type) {
    case L::kWalRecSet: {
      const bool expired = h.expiresAt != 0 && h.expiresAt <= nowMs;
      s = cache->Resolve(store, r.ns, h.nsLength, !expired, &id);
      if (s != L::kOk || id == 0) return s;
      if (expired) {
        // The value expired, and so did the one it replaced.
        bool existed = false;
        return store->Delete(id, r.key, h.keyLength, &existed);
      }
      // The logged expiry is the entry's own (0: never), never a namespace default.
      return store->Set(id, r.key, h.keyLength, r.value, r.valueLength, h.encoding,
                        h.expiresAt != 0 ? h.expiresAt : kExpiryNever);
    }
    case L::kWalRecDelete: {
      s = cache->Resolve(store, r.ns, h.nsLength, false, &id);
      if (s != L::kOk || id == 0) return s;
      bool existed = false;
      return store->Delete(id, r.key, h.keyLength, &existed);
    }
    case L::kWalRecClear: {
      s = cache->Resolve(store, r.ns, h.nsLength, false, &id);
      if (s != L::kOk || id == 0) return s;
      uint32_t removed = 0;
      return store->Clear(id, &removed);
    }
    case L::kWalRecNsDrop: {
      s = cache->Resolve(store, r.ns, h.nsLength, false, &id);
      cache->id = 0;
      if (s != L::kOk || id == 0) return s;
      uint32_t removed = 0;
      return store->DropNamespace(id, &removed);
    }
    case L::kWalRecNsCreate:
      return cache->Resolve(store, r.ns, h.nsLength, true, &id);
    case L::kWalRecNsSettings:
      // Absolute settings: the policy in the encoding field, the default TTL in expiresAt.
      s = cache->Resolve(store, r.ns, h.nsLength, true, &id);
      if (s != L::kOk) return s;
      return store->ConfigureNamespace(id, h.encoding, static_cast<int64_t>(h.expiresAt));
    default:
      return L::kErrInvalidArg;  // CheckWalRecord lets no other type through
  }
}

}  // namespace

WalCheck CheckWalRecord(const uint8_t* buf, size_t len, uint64_t lsn, WalRecordView* out) noexcept {
  if (len < kHeader) return WalCheck::kIncomplete;
  L::WalRecord h;
  std::memcpy(&h, buf, sizeof h);
  if (h.length < kHeader || h.length > kMaxRecordLength) return WalCheck::kInvalid;
  const uint64_t size = (h.length + kAlign - 1) / kAlign * kAlign;
  if (len < size) return WalCheck::kIncomplete;
  if (Crc32c(buf + 4, h.length - 4) != h.checksum) return WalCheck::kInvalid;
  if (h.lsn != lsn || !KnownType(h.type)) return WalCheck::kInvalid;
  const int64_t valueLength =
      static_cast<int64_t>(h.length) - static_cast<int64_t>(kHeader) - h.nsLength - h.keyLength;
  if (h.nsLength > L::kMaxNamespaceBytes || h.keyLength > L::kMaxKeyBytes || valueLength < 0 ||
      valueLength > static_cast<int64_t>(L::kMaxValueBytes)) {
    return WalCheck::kInvalid;
  }
  if (h.type == L::kWalRecNsSettings &&
      (h.nsLength == 0 || h.keyLength != 0 || valueLength != 0 || h.encoding > L::kPolicyClock)) {
    return WalCheck::kInvalid;
  }
  out->header = h;
  out->size = static_cast<uint32_t>(size);
  out->ns = buf + kHeader;
  out->key = out->ns + h.nsLength;
  out->value = out->key + h.keyLength;
  out->valueLength = static_cast<uint32_t>(valueLength);
  return WalCheck::kValid;
}

namespace {

// Whether the filter names the set record `r` (its key or its namespace): maybe a false hit.
bool Named(const WalSkipFilter& skip, const WalRecordView& r) noexcept {
  const auto bit = [&skip](uint32_t h) {
    const uint32_t b = h & skip.mask;
    return (skip.bits[b >> 3] >> (b & 7)) & 1;
  };
  const uint32_t nsLength = r.header.nsLength;
  // The key's bytes follow the namespace's in a record: one hash covers both.
  return bit(Xxh32(r.ns, nsLength + r.header.keyLength,
                   static_cast<uint32_t>(L::kReplayFilterKeySeed))) ||
         bit(Xxh32(r.ns, nsLength, static_cast<uint32_t>(L::kReplayFilterNsSeed)));
}

}  // namespace

L::Status ApplyWalRecords(Store* store, const uint8_t* buf, size_t len, uint64_t lsn,
                          uint64_t nowMs, WalApplied* out, uint32_t types,
                          WalSkipFilter skip) noexcept {
  *out = WalApplied{};
  NsCache cache;
  for (;;) {
    WalRecordView r;
    const WalCheck c = CheckWalRecord(buf + out->bytes, len - out->bytes, lsn + out->bytes, &r);
    if (c == WalCheck::kValid && (types & (uint32_t{1} << r.header.type)) == 0) {
      out->stop = WalCheck::kInvalid;
      return L::kOk;
    }
    if (c != WalCheck::kValid) {
      out->stop = c;
      return L::kOk;
    }
    if (skip.bits != nullptr && r.header.type == L::kWalRecSet && Named(skip, r)) {
      out->stop = WalCheck::kCandidate;
      return L::kOk;
    }
    L::Status s = Apply(store, r, nowMs, &cache);
    if (s != L::kOk) return s;
    out->records += 1;
    out->bytes += r.size;
  }
}

}  // namespace shm
