// Exports `layout`: the offsets and constants as compiled into the addon from src/layout_gen.h,
// in the shape of lib/layout.js ({ C, S, SIZE_CLASSES, STATUS }). test/layout.test.js compares
// the two deep-equal, so a stale or hand-edited copy of the layout on either side is caught.
// Hand-written (the generator belongs to scripts/gen-layout.js): when a struct or field is
// added to scripts/layout-spec.js, add it here too, or that test fails.
#include <cstddef>

#include "layout_gen.h"
#include "module.h"

namespace L = shm::layout;

namespace {

#define SHM_FIELD(obj, T, field, NAME) \
  obj.Set(NAME, Napi::Number::New(env, static_cast<double>(offsetof(L::T, field))))
#define SHM_SIZE(obj, T) obj.Set("SIZE", Napi::Number::New(env, static_cast<double>(sizeof(L::T))))
#define SHM_CONST(obj, k, NAME) obj.Set(NAME, Napi::Number::New(env, static_cast<double>(L::k)))

Napi::Object Structs(Napi::Env env) {
  Napi::Object s = Napi::Object::New(env);

  Napi::Object header = Napi::Object::New(env);
  SHM_SIZE(header, Header);
  SHM_FIELD(header, Header, magic, "MAGIC");
  SHM_FIELD(header, Header, version, "VERSION");
  SHM_FIELD(header, Header, totalSize, "TOTAL_SIZE");
  SHM_FIELD(header, Header, bucketCount, "BUCKET_COUNT");
  SHM_FIELD(header, Header, entryCount, "ENTRY_COUNT");
  SHM_FIELD(header, Header, maxEntries, "MAX_ENTRIES");
  SHM_FIELD(header, Header, freeHead, "FREE_HEAD");
  SHM_FIELD(header, Header, gcCounter, "GC_COUNTER");
  SHM_FIELD(header, Header, headerChecksum, "HEADER_CHECKSUM");
  SHM_FIELD(header, Header, writeCounter, "WRITE_COUNTER");
  SHM_FIELD(header, Header, readCounter, "READ_COUNTER");
  SHM_FIELD(header, Header, reserved, "RESERVED");
  s.Set("HEADER", header);

  Napi::Object alloc = Napi::Object::New(env);
  SHM_SIZE(alloc, AllocState);
  SHM_FIELD(alloc, AllocState, lock, "LOCK");
  SHM_FIELD(alloc, AllocState, classCount, "CLASS_COUNT");
  SHM_FIELD(alloc, AllocState, reserved, "RESERVED");
  SHM_FIELD(alloc, AllocState, freeHeads, "FREE_HEADS");
  SHM_FIELD(alloc, AllocState, reserved2, "RESERVED2");
  s.Set("ALLOC_STATE", alloc);

  Napi::Object ns_state = Napi::Object::New(env);
  SHM_SIZE(ns_state, NsState);
  SHM_FIELD(ns_state, NsState, lock, "LOCK");
  SHM_FIELD(ns_state, NsState, liveCount, "LIVE_COUNT");
  SHM_FIELD(ns_state, NsState, reserved, "RESERVED");
  s.Set("NS_STATE", ns_state);

  Napi::Object repair = Napi::Object::New(env);
  SHM_SIZE(repair, RepairState);
  SHM_FIELD(repair, RepairState, lock, "LOCK");
  SHM_FIELD(repair, RepairState, repairs, "REPAIRS");
  SHM_FIELD(repair, RepairState, reserved, "RESERVED");
  s.Set("REPAIR_STATE", repair);

  Napi::Object ns = Napi::Object::New(env);
  SHM_SIZE(ns, Namespace);
  SHM_FIELD(ns, Namespace, state, "STATE");
  SHM_FIELD(ns, Namespace, count, "COUNT");
  SHM_FIELD(ns, Namespace, nameLength, "NAME_LENGTH");
  SHM_FIELD(ns, Namespace, reserved, "RESERVED");
  SHM_FIELD(ns, Namespace, name, "NAME");
  s.Set("NAMESPACE", ns);

  Napi::Object owner = Napi::Object::New(env);
  SHM_SIZE(owner, Owner);
  SHM_FIELD(owner, Owner, pid, "PID");
  SHM_FIELD(owner, Owner, tid, "TID");
  s.Set("OWNER", owner);

  Napi::Object bucket = Napi::Object::New(env);
  SHM_SIZE(bucket, Bucket);
  SHM_FIELD(bucket, Bucket, head, "HEAD");
  SHM_FIELD(bucket, Bucket, count, "COUNT");
  SHM_FIELD(bucket, Bucket, lock, "LOCK");
  SHM_FIELD(bucket, Bucket, reserved, "RESERVED");
  s.Set("BUCKET", bucket);

  Napi::Object entry = Napi::Object::New(env);
  SHM_SIZE(entry, Entry);
  SHM_FIELD(entry, Entry, next, "NEXT");
  SHM_FIELD(entry, Entry, keyHash, "KEY_HASH");
  SHM_FIELD(entry, Entry, keyLength, "KEY_LENGTH");
  SHM_FIELD(entry, Entry, valueLength, "VALUE_LENGTH");
  SHM_FIELD(entry, Entry, namespaceId, "NAMESPACE_ID");
  SHM_FIELD(entry, Entry, timestamp, "TIMESTAMP");
  SHM_FIELD(entry, Entry, flags, "FLAGS");
  SHM_FIELD(entry, Entry, checksum, "CHECKSUM");
  s.Set("ENTRY", entry);
  return s;
}

Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  SHM_CONST(c, kMagic, "MAGIC");
  SHM_CONST(c, kFormatVersion, "FORMAT_VERSION");
  SHM_CONST(c, kUnit, "UNIT");
  SHM_CONST(c, kUnitShift, "UNIT_SHIFT");
  SHM_CONST(c, kHeaderOffset, "HEADER_OFFSET");
  SHM_CONST(c, kHeaderSize, "HEADER_SIZE");
  SHM_CONST(c, kMetadataOffset, "METADATA_OFFSET");
  SHM_CONST(c, kMetadataEnd, "METADATA_END");
  SHM_CONST(c, kAllocOffset, "ALLOC_OFFSET");
  SHM_CONST(c, kNsstateOffset, "NSSTATE_OFFSET");
  SHM_CONST(c, kRepairOffset, "REPAIR_OFFSET");
  SHM_CONST(c, kNamespacesOffset, "NAMESPACES_OFFSET");
  SHM_CONST(c, kNamespaceSlots, "NAMESPACE_SLOTS");
  SHM_CONST(c, kOwnersOffset, "OWNERS_OFFSET");
  SHM_CONST(c, kOwnerSlots, "OWNER_SLOTS");
  SHM_CONST(c, kBucketsOffset, "BUCKETS_OFFSET");
  SHM_CONST(c, kBucketSize, "BUCKET_SIZE");
  SHM_CONST(c, kEntryHeaderSize, "ENTRY_HEADER_SIZE");
  SHM_CONST(c, kMinBuckets, "MIN_BUCKETS");
  SHM_CONST(c, kMaxBuckets, "MAX_BUCKETS");
  SHM_CONST(c, kMaxKeyBytes, "MAX_KEY_BYTES");
  SHM_CONST(c, kMaxValueBytes, "MAX_VALUE_BYTES");
  SHM_CONST(c, kMaxNamespaceBytes, "MAX_NAMESPACE_BYTES");
  SHM_CONST(c, kLockVersionMask, "LOCK_VERSION_MASK");
  SHM_CONST(c, kLockOwnerShift, "LOCK_OWNER_SHIFT");
  SHM_CONST(c, kFlagEncodingMask, "FLAG_ENCODING_MASK");
  SHM_CONST(c, kEncBinary, "ENC_BINARY");
  SHM_CONST(c, kEncUtf8, "ENC_UTF8");
  SHM_CONST(c, kEncJson, "ENC_JSON");
  SHM_CONST(c, kFlagClassShift, "FLAG_CLASS_SHIFT");
  SHM_CONST(c, kFlagClassMask, "FLAG_CLASS_MASK");
  SHM_CONST(c, kFlagFree, "FLAG_FREE");
  SHM_CONST(c, kNsStateFree, "NS_STATE_FREE");
  SHM_CONST(c, kNsStateLive, "NS_STATE_LIVE");
  SHM_CONST(c, kSizeClassCount, "SIZE_CLASS_COUNT");
  SHM_CONST(c, kMaxSegmentUnits, "MAX_SEGMENT_UNITS");
  return c;
}

#undef SHM_FIELD
#undef SHM_SIZE
#undef SHM_CONST

Napi::Array SizeClasses(Napi::Env env) {
  constexpr size_t n = sizeof(L::kSizeClasses) / sizeof(L::kSizeClasses[0]);
  Napi::Array a = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; ++i) a.Set(static_cast<uint32_t>(i), L::kSizeClasses[i]);
  return a;
}

// STATUS: { CODE_NAME: number } for every code StatusCode knows (they are dense from 0).
Napi::Object Statuses(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  for (int32_t s = 0; s < 1024; ++s) {
    const char* name = L::StatusCode(s);
    if (std::string(name) == "ERR_UNKNOWN") break;
    o.Set(name, Napi::Number::New(env, s));
  }
  return o;
}

}  // namespace

void InitLayout(Napi::Env env, Napi::Object exports) {
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("C", Constants(env));
  layout.Set("S", Structs(env));
  layout.Set("SIZE_CLASSES", SizeClasses(env));
  layout.Set("STATUS", Statuses(env));
  exports.Set("layout", layout);
}
