// NativeStore methods: (env, core, argv) with argv padded with undefined, called through Call<>,
// which checks that the core is open and keeps it from being released until the method returns
// (user JS run by a getter or setter inside a method may call close()).
#include <cstddef>
#include <string>
#include <vector>

#include "binding/base/args.h"
#include "binding/store/store_binding.h"

namespace store_binding {

namespace {

// get(nsId, key) -> string | Buffer | undefined; on a hit `out` holds the GetOut words: the
// encoding, and where the entry was with the header words read (format.md §9, "Cached reads").
napi_value MGet(napi_env env, StoreCore* c, napi_value* argv) {
  uint32_t ns;
  char key[kKeyBufSize];
  size_t klen;
  if (!GetNs(env, argv[0], 1, &ns) || !GetKey(env, argv[1], key, &klen)) return nullptr;
  if (klen > shm::kMaxKeyBytes) {
    ThrowFailed(env, L::kErrKeyTooLong, "get");
    return nullptr;
  }
  bool found;
  shm::Store::Value v;
  Status s = c->store->Get(ns, key, static_cast<uint32_t>(klen), &found, &v);
  if (s != L::kOk) {
    ThrowFailed(env, s, "get");
    return nullptr;
  }
  if (!found) return Undefined(env);
  L::GetOut o{};
  o.encoding = v.encoding;
  o.unit = v.unit;
  o.keyHash = v.keyHash;
  o.flags = v.flags;
  o.checksum = v.checksum;
  o.keyLength = static_cast<uint32_t>(klen);
  o.valueLength = v.length;
  o.expiresAt = v.expiresAt;
  std::memcpy(c->out, &o, sizeof o);  // the array holds kGetOutWords elements (store.cc)
  napi_value r = MakeValue(env, v.data, v.length, v.encoding);
  return r != nullptr ? r : ThrowNoMemory(env, "get");  // never a miss for a hit
}

// has(nsId, key) -> boolean
napi_value MHas(napi_env env, StoreCore* c, napi_value* argv) {
  uint32_t ns;
  char key[kKeyBufSize];
  size_t klen;
  if (!GetNs(env, argv[0], 1, &ns) || !GetKey(env, argv[1], key, &klen)) return nullptr;
  if (klen > shm::kMaxKeyBytes) {
    ThrowFailed(env, L::kErrKeyTooLong, "has");
    return nullptr;
  }
  bool found;
  Status s = c->store->Has(ns, key, static_cast<uint32_t>(klen), &found);
  if (s != L::kOk) {
    ThrowFailed(env, s, "has");
    return nullptr;
  }
  return Boolean(env, found);
}

// The expiry argument of set: undefined or 0 -> the namespace's default, -1 -> none, else the
// epoch ms (a positive integer). false with a pending TypeError/RangeError otherwise.
bool GetExpiry(napi_env env, napi_value v, uint64_t* out) {
  napi_valuetype t;
  if (v == nullptr || napi_typeof(env, v, &t) != napi_ok || t == napi_undefined) {
    *out = shm::kExpiryDefault;
    return true;
  }
  double d;
  if (t != napi_number || napi_get_value_double(env, v, &d) != napi_ok) {
    ThrowTypeError(Napi::Env(env), "The \"expiresAt\" argument must be of type number");
    return false;
  }
  if (d == -1) {
    *out = shm::kExpiryNever;
    return true;
  }
  if (!(d >= 0 && d <= kMaxSafeInteger) || static_cast<double>(static_cast<uint64_t>(d)) != d) {
    ThrowRangeError(Napi::Env(env),
                    "The \"expiresAt\" argument must be -1 or an integer in [0, 2^53)");
    return false;
  }
  *out = static_cast<uint64_t>(d);
  return true;
}

}  // namespace

int32_t ConvertSet(napi_env env, StoreCore* c, napi_value keyValue, napi_value value,
                   napi_value encodingValue, napi_value expiryValue, SetArgs* a) {
  uint32_t encoding;
  if (!GetKey(env, keyValue, a->key, &a->keyLength) ||
      !GetUint32(env, encodingValue, "encoding", 0, L::kEncJson, &encoding) ||
      !GetExpiry(env, expiryValue, &a->expiresAt)) {
    return -1;
  }
  a->encoding = encoding;
  if (encoding == L::kEncUtf8 || encoding == L::kEncJson) {
    size_t vlen;
    if (napi_get_value_string_utf8(env, value, c->value_buf.get(), kValueBufSize, &vlen) !=
        napi_ok) {
      ThrowTypeError(Napi::Env(env),
                     "The \"value\" argument must be a string for encodings 1 and 2");
      return -1;
    }
    a->value = c->value_buf.get();
    // Within a character of filling the buffer: the string may be longer (a large value).
    if (vlen + 4 >= kValueBufSize) {
      if (napi_get_value_string_utf8(env, value, nullptr, 0, &vlen) != napi_ok) return -1;
      if (vlen > shm::kMaxValueBytes) return L::kErrValueTooLong;
      if (vlen + 1 > c->large_cap) {
        c->large_buf.reset(new (std::nothrow) char[vlen + 1]);
        c->large_cap = c->large_buf ? vlen + 1 : 0;
        if (!c->large_buf) return L::kErrNoMemory;
      }
      if (napi_get_value_string_utf8(env, value, c->large_buf.get(), vlen + 1, &vlen) != napi_ok) {
        return -1;
      }
      a->value = c->large_buf.get();
    }
    a->valueLength = vlen;
  } else if (!GetBytes(env, value, &a->value, &a->valueLength)) {
    return -1;
  }
  if (a->keyLength > shm::kMaxKeyBytes) return L::kErrKeyTooLong;
  if (a->valueLength > shm::kMaxValueBytes) return L::kErrValueTooLong;
  return L::kOk;
}

namespace {

// Where a set leaves the expiry the entry got (lib/store/contract.js, `out`, which the constructor
// checked holds the GetOut words): the GetOut expiry words, low 32 bits first, as a get leaves
// the expiry it read.
constexpr size_t kOutExpiry = offsetof(L::GetOut, expiresAt) / sizeof(int32_t);

// Leaves the expiry a set gave its entry for a caller that logs the write
// (lib/store/contract.js, `out`).
void StoreExpiry(StoreCore* c, uint64_t stored) {
  c->out[kOutExpiry] = static_cast<int32_t>(static_cast<uint32_t>(stored));
  c->out[kOutExpiry + 1] = static_cast<int32_t>(static_cast<uint32_t>(stored >> 32));
}

// One write (set): the status, or -1 with a pending TypeError/RangeError.
int32_t SetOne(napi_env env, StoreCore* c, uint32_t ns, napi_value keyValue, napi_value value,
               napi_value encodingValue, napi_value expiryValue) {
  SetArgs a;
  const int32_t s = ConvertSet(env, c, keyValue, value, encodingValue, expiryValue, &a);
  if (s != L::kOk) return s;
  uint64_t stored = 0;
  const Status st =
      c->store->Set(ns, a.key, static_cast<uint32_t>(a.keyLength), a.value,
                    static_cast<uint32_t>(a.valueLength), a.encoding, a.expiresAt, &stored);
  if (st == L::kOk) StoreExpiry(c, stored);
  return st;
}

// set(nsId, key, value, encoding, expiresAt) -> undefined (throws on failure, like every
// method); expiresAt as GetExpiry.
napi_value MSet(napi_env env, StoreCore* c, napi_value* argv) {
  uint32_t ns;
  if (!GetNs(env, argv[0], 1, &ns)) return nullptr;
  int32_t s = SetOne(env, c, ns, argv[1], argv[2], argv[3], argv[4]);
  if (s < 0) return nullptr;
  if (s != L::kOk) {
    ThrowFailed(env, static_cast<Status>(s), "set");
    return nullptr;
  }
  return Undefined(env);
}

// setEncoded(nsId, bytes, keyAt, keyLength, valueLength, encoding, expiresAt) -> undefined: set
// with the key's UTF-8 bytes at bytes[keyAt] and the payload's right after them (bytes a
// Uint8Array), taken as they are.
napi_value MSetEncoded(napi_env env, StoreCore* c, napi_value* argv) {
  uint32_t ns;
  if (!GetNs(env, argv[0], 1, &ns)) return nullptr;
  bool is = false;
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_is_typedarray(env, argv[1], &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, argv[1], &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_uint8_array) {
    ThrowTypeError(Napi::Env(env), "The \"bytes\" argument must be a Uint8Array");
    return nullptr;
  }
  uint32_t keyAt, keyLength, valueLength, encoding;
  uint64_t expiresAt;
  if (!GetUint32(env, argv[2], "keyAt", 0, UINT32_MAX, &keyAt) ||
      !GetUint32(env, argv[3], "keyLength", 0, UINT32_MAX, &keyLength) ||
      !GetUint32(env, argv[4], "valueLength", 0, UINT32_MAX, &valueLength)) {
    return nullptr;
  }
  if (uint64_t{keyAt} + keyLength + valueLength > length) {
    ThrowRangeError(Napi::Env(env), "The key and value bytes must lie within \"bytes\"");
    return nullptr;
  }
  if (!GetUint32(env, argv[5], "encoding", 0, L::kEncJson, &encoding) ||
      !GetExpiry(env, argv[6], &expiresAt)) {
    return nullptr;
  }
  Status st = L::kOk;
  if (keyLength > shm::kMaxKeyBytes)
    st = L::kErrKeyTooLong;
  else if (valueLength > shm::kMaxValueBytes)
    st = L::kErrValueTooLong;
  if (st == L::kOk) {
    const auto* key = static_cast<const char*>(data) + keyAt;
    uint64_t stored = 0;
    st = c->store->Set(ns, key, keyLength, key + keyLength, valueLength, encoding, expiresAt,
                       &stored);
    if (st == L::kOk) StoreExpiry(c, stored);
  }
  if (st != L::kOk) {
    ThrowFailed(env, st, "set");
    return nullptr;
  }
  return Undefined(env);
}

// expiresAt(nsId, key) -> -1 absent or expired, 0 no expiry, else the expiry in epoch ms
napi_value MExpiresAt(napi_env env, StoreCore* c, napi_value* argv) {
  uint32_t ns;
  char key[kKeyBufSize];
  size_t klen;
  if (!GetNs(env, argv[0], 1, &ns) || !GetKey(env, argv[1], key, &klen)) return nullptr;
  if (klen > shm::kMaxKeyBytes) {
    ThrowFailed(env, L::kErrKeyTooLong, "expiresAt");
    return nullptr;
  }
  bool found;
  shm::Store::Value v;
  Status s = c->store->Get(ns, key, static_cast<uint32_t>(klen), &found, &v);
  if (s != L::kOk) {
    ThrowFailed(env, s, "expiresAt");
    return nullptr;
  }
  return Number(env, found ? static_cast<double>(v.expiresAt) : -1);
}

// configureNamespace(nsId, policy, ttlMs) -> undefined; -1 leaves a setting as it is.
napi_value MConfigureNamespace(napi_env env, StoreCore* c, napi_value* argv) {
  uint32_t ns;
  double policy, ttl;
  if (!GetNs(env, argv[0], 1, &ns)) return nullptr;
  if (napi_get_value_double(env, argv[1], &policy) != napi_ok ||
      napi_get_value_double(env, argv[2], &ttl) != napi_ok) {
    ThrowTypeError(Napi::Env(env), "The \"policy\" and \"ttlMs\" arguments must be numbers");
    return nullptr;
  }
  if (!(policy >= -1 && policy <= shm::kPolicyClock) || policy != static_cast<int64_t>(policy) ||
      !(ttl >= -1 && ttl <= kMaxSafeInteger) || ttl != static_cast<int64_t>(ttl)) {
    ThrowRangeError(Napi::Env(env), "The \"policy\" or \"ttlMs\" argument is out of range");
    return nullptr;
  }
  Status s =
      c->store->ConfigureNamespace(ns, static_cast<int64_t>(policy), static_cast<int64_t>(ttl));
  if (s != L::kOk) {
    ThrowFailed(env, s, "namespace");
    return nullptr;
  }
  return Undefined(env);
}

// delete(nsId, key) -> boolean (existed)
napi_value MDelete(napi_env env, StoreCore* c, napi_value* argv) {
  uint32_t ns;
  char key[kKeyBufSize];
  size_t klen;
  if (!GetNs(env, argv[0], 1, &ns) || !GetKey(env, argv[1], key, &klen)) return nullptr;
  if (klen > shm::kMaxKeyBytes) {
    ThrowFailed(env, L::kErrKeyTooLong, "delete");
    return nullptr;
  }
  bool existed;
  Status s = c->store->Delete(ns, key, static_cast<uint32_t>(klen), &existed);
  if (s != L::kOk) {
    ThrowFailed(env, s, "delete");
    return nullptr;
  }
  return Boolean(env, existed);
}

// clear(nsId) -> number removed
napi_value MClear(napi_env env, StoreCore* c, napi_value* argv) {
  uint32_t ns;
  if (!GetNs(env, argv[0], 1, &ns)) return nullptr;
  uint32_t removed;
  Status s = c->store->Clear(ns, &removed);
  if (s != L::kOk) {
    ThrowFailed(env, s, "clear");
    return nullptr;
  }
  return Number(env, removed);
}

// dropNamespace(nsId) -> number removed
napi_value MDropNamespace(napi_env env, StoreCore* c, napi_value* argv) {
  uint32_t ns;
  if (!GetNs(env, argv[0], 1, &ns)) return nullptr;
  uint32_t removed;
  Status s = c->store->DropNamespace(ns, &removed);
  if (s != L::kOk) {
    ThrowFailed(env, s, "dropNamespace");
    return nullptr;
  }
  return Number(env, removed);
}

// After a listing or a count of namespace ns: false (ERR_NAMESPACE_DROPPED thrown) when ns is no
// longer the namespace this handle resolved, so the result may not be its (format.md §5).
bool StillCurrent(napi_env env, StoreCore* c, uint32_t ns, const char* what) {
  if (ns == 0 || c->store->NamespaceCurrent(ns)) return true;
  ThrowFailed(env, L::kErrNamespaceDropped, what);
  return false;
}

// count(nsId) -> number (nsId 0: the whole store)
napi_value MCount(napi_env env, StoreCore* c, napi_value* argv) {
  uint32_t ns;
  if (!GetNs(env, argv[0], 0, &ns)) return nullptr;
  const uint32_t n = c->store->Count(ns);
  return StillCurrent(env, c, ns, "count") ? Number(env, n) : nullptr;
}

// keys(nsId) -> [key...]
napi_value MKeys(napi_env env, StoreCore* c, napi_value* argv) {
  uint32_t ns;
  if (!GetNs(env, argv[0], 1, &ns)) return nullptr;
  napi_value arr;
  if (napi_create_array(env, &arr) != napi_ok) return ThrowNoMemory(env, "keys");
  uint32_t n = 0;
  bool failed = false;  // a key could not be created: never a list with keys missing
  Status s = c->store->ForEach(
      ns, [&](uint32_t, const uint8_t* key, uint32_t klen, const uint8_t*, uint32_t, uint32_t) {
        napi_handle_scope scope;  // the array keeps the string; the handle can go
        if (failed || napi_open_handle_scope(env, &scope) != napi_ok) {
          failed = true;
          return;
        }
        napi_value k;
        if (napi_create_string_utf8(env, reinterpret_cast<const char*>(key), klen, &k) == napi_ok) {
          napi_set_element(env, arr, n++, k);
        } else {
          failed = true;
        }
        napi_close_handle_scope(env, scope);
      });
  if (s != L::kOk) {
    ThrowFailed(env, s, "keys");
    return nullptr;
  }
  if (!StillCurrent(env, c, ns, "keys")) return nullptr;
  return failed ? ThrowNoMemory(env, "keys") : arr;
}

// entries(nsId) -> [[key, value, encoding]...]
napi_value MEntries(napi_env env, StoreCore* c, napi_value* argv) {
  uint32_t ns;
  if (!GetNs(env, argv[0], 1, &ns)) return nullptr;
  napi_value arr;
  if (napi_create_array(env, &arr) != napi_ok) return ThrowNoMemory(env, "entries");
  uint32_t n = 0;
  bool failed = false;  // a key or value could not be created: never a list with entries missing
  Status s = c->store->ForEach(ns, [&](uint32_t, const uint8_t* key, uint32_t klen,
                                       const uint8_t* value, uint32_t vlen, uint32_t encoding) {
    napi_handle_scope scope;
    if (failed || napi_open_handle_scope(env, &scope) != napi_ok) {
      failed = true;
      return;
    }
    napi_value triple, k, v;
    if (napi_create_array_with_length(env, 3, &triple) == napi_ok &&
        napi_create_string_utf8(env, reinterpret_cast<const char*>(key), klen, &k) == napi_ok &&
        (v = MakeValue(env, value, vlen, encoding)) != nullptr) {
      napi_set_element(env, triple, 0, k);
      napi_set_element(env, triple, 1, v);
      napi_set_element(env, triple, 2, Int(env, static_cast<int32_t>(encoding)));
      napi_set_element(env, arr, n++, triple);
    } else {
      failed = true;
    }
    napi_close_handle_scope(env, scope);
  });
  if (s != L::kOk) {
    ThrowFailed(env, s, "entries");
    return nullptr;
  }
  if (!StillCurrent(env, c, ns, "entries")) return nullptr;
  return failed ? ThrowNoMemory(env, "entries") : arr;
}

// resolveNamespace(name, create) -> id (1..maxNamespaces), or 0 when absent and create is false
napi_value MResolveNamespace(napi_env env, StoreCore* c, napi_value* argv) {
  char name[shm::kMaxNamespaceBytes + 8];
  size_t len;
  bool create;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    ThrowTypeError(Napi::Env(env), "The \"name\" argument must be of type string");
    return nullptr;
  }
  if (!GetBool(env, argv[1], "create", &create)) return nullptr;
  if (len == 0 || len > shm::kMaxNamespaceBytes) {
    ThrowRangeError(Napi::Env(env), "The \"name\" argument must be 1 to 255 UTF-8 bytes");
    return nullptr;
  }
  uint32_t id;
  Status s = c->store->ResolveNamespace(name, static_cast<uint32_t>(len), create, &id);
  if (s != L::kOk) {
    ThrowFailed(env, s, "namespace");
    return nullptr;
  }
  return Int(env, static_cast<int32_t>(id));
}

// namespaces() -> [[name, id, count, policy, ttlMs, hits, misses, evictions, expirations,
//                   bytes, generation]...]
napi_value MNamespaces(napi_env e, StoreCore* c, napi_value*) {
  Napi::Env env(e);
  std::vector<shm::NamespaceInfo> list;
  Status s = c->store->Namespaces(&list);
  if (s != L::kOk) {
    ThrowFailed(e, s, "namespaces");
    return nullptr;
  }
  Napi::Array arr = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const shm::NamespaceInfo& n = list[i];
    Napi::Array t = Napi::Array::New(env, 11);
    t.Set(0u, Napi::String::New(env, n.name));
    t.Set(1u, Napi::Number::New(env, n.id));
    t.Set(2u, Napi::Number::New(env, n.count));
    t.Set(3u, Napi::Number::New(env, n.policy));
    const uint64_t rest[] = {n.ttlMs, n.hits, n.misses, n.evictions, n.expirations, n.bytes};
    for (uint32_t k = 0; k < 6; ++k) {
      t.Set(4 + k, Napi::Number::New(env, static_cast<double>(rest[k])));
    }
    t.Set(10u, Napi::Number::New(env, n.generation));
    arr.Set(static_cast<uint32_t>(i), t);
  }
  return arr;
}

// stats() -> { entries, maxEntries, buckets, namespaces, bytesTotal, bytesLive, bytesFree,
//              bytesFreeLists, bytesTail, fragmentation, repairs, reads, writes }
napi_value MStats(napi_env e, StoreCore* c, napi_value*) {
  Napi::Env env(e);
  shm::StoreStats st;
  Status s = c->store->Stats(&st);
  if (s != L::kOk) {
    ThrowFailed(e, s, "stats");
    return nullptr;
  }
  Napi::Object o = Napi::Object::New(env);
  auto num = [&](const char* k, double v) { o.Set(k, Napi::Number::New(env, v)); };
  num("entries", static_cast<double>(st.entries));
  num("maxEntries", static_cast<double>(st.maxEntries));
  num("maxNamespaces", static_cast<double>(st.maxNamespaces));
  num("buckets", static_cast<double>(st.buckets));
  num("namespaces", static_cast<double>(st.namespaces));
  num("bytesTotal", static_cast<double>(st.bytesTotal));
  num("bytesLive", static_cast<double>(st.bytesLive));
  num("bytesFree", static_cast<double>(st.bytesFree));
  num("bytesFreeLists", static_cast<double>(st.bytesFreeLists));
  num("bytesTail", static_cast<double>(st.bytesTail));
  num("bytesLargestFree", static_cast<double>(st.bytesLargestFree));
  num("bytesParked", static_cast<double>(st.bytesParked));
  num("allocationMisses", static_cast<double>(st.allocationMisses));
  num("fragmentation", st.fragmentation);
  num("repairs", static_cast<double>(st.repairs));
  num("reads", static_cast<double>(st.reads));
  num("writes", static_cast<double>(st.writes));
  num("policy", static_cast<double>(st.policy));
  num("evictionHand", static_cast<double>(st.hand));
  num("evictionTurns", static_cast<double>(st.turns));
  num("compactionCursor", static_cast<double>(st.compactCursor));
  num("compactionSweeps", static_cast<double>(st.compactSweeps));
  num("compactionSteps", static_cast<double>(st.compactSteps));
  num("compactionMoved", static_cast<double>(st.compactMoved));
  num("compactionMerged", static_cast<double>(st.compactMerged));
  return o;
}

// flushCounters() -> undefined
napi_value MFlushCounters(napi_env env, StoreCore* c, napi_value*) {
  c->store->FlushCounters();
  return Undefined(env);
}

// addHits(nsId, hits) -> undefined: gets the facade's read cache answered, counted as Get would.
napi_value MAddHits(napi_env env, StoreCore* c, napi_value* argv) {
  uint32_t ns;
  uint32_t hits;
  if (!GetNs(env, argv[0], 1, &ns) || !GetUint32(env, argv[1], "hits", 0, UINT32_MAX, &hits)) {
    return nullptr;
  }
  const Status s = c->store->AddHits(ns, hits);
  if (s != L::kOk) {
    ThrowFailed(env, s, "addHits");
    return nullptr;
  }
  return Undefined(env);
}

// verify() -> { ok, errors, entries, liveUnits, freeUnits, leakedUnits, parkedUnits }
napi_value MVerify(napi_env e, StoreCore* c, napi_value* argv) {
  Napi::Env env(e);
  // progress: undefined, or an Int32Array of length >= 2 the check keeps [done, total] in. The
  // call is synchronous and runs no JS, so its memory stays in place until it returns.
  uint32_t* progress = nullptr;
  napi_valuetype t;
  if (napi_typeof(e, argv[0], &t) != napi_ok) return nullptr;
  if (t != napi_undefined) {
    bool isTyped = false;
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (napi_is_typedarray(e, argv[0], &isTyped) != napi_ok || !isTyped ||
        napi_get_typedarray_info(e, argv[0], &type, &length, &data, nullptr, nullptr) != napi_ok ||
        type != napi_int32_array || length < 2) {
      ThrowTypeError(env, "The \"progress\" argument must be an Int32Array of length >= 2");
      return nullptr;
    }
    progress = static_cast<uint32_t*>(data);
  }
  shm::VerifyReport r;
  Status s = c->store->Verify(&r, progress);
  if (s != L::kOk) {
    ThrowFailed(e, s, "verify");
    return nullptr;
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("ok", Napi::Boolean::New(env, r.ok));
  Napi::Array errors = Napi::Array::New(env, r.errors.size());
  for (size_t i = 0; i < r.errors.size(); ++i) {
    errors.Set(static_cast<uint32_t>(i), Napi::String::New(env, r.errors[i]));
  }
  o.Set("errors", errors);
  o.Set("entries", Napi::Number::New(env, static_cast<double>(r.entries)));
  o.Set("liveUnits", Napi::Number::New(env, static_cast<double>(r.liveUnits)));
  o.Set("freeUnits", Napi::Number::New(env, static_cast<double>(r.freeUnits)));
  o.Set("leakedUnits", Napi::Number::New(env, static_cast<double>(r.leakedUnits)));
  o.Set("parkedUnits", Napi::Number::New(env, static_cast<double>(r.parkedUnits)));
  return o;
}

// repair() -> undefined (throws on failure)
napi_value MRepair(napi_env env, StoreCore* c, napi_value*) {
  Status s = c->store->Repair();
  if (s != L::kOk) {
    ThrowFailed(env, s, "repair");
    return nullptr;
  }
  return Undefined(env);
}

// compactStep(maxUnits) -> [moved, movedUnits, merged, obstacles, start, end, cursor, done]
// (one step of format.md §8 "Compaction"; maxUnits validated by lib/store/store.js).
napi_value MCompactStep(napi_env e, StoreCore* c, napi_value* argv) {
  Napi::Env env(e);
  uint32_t maxUnits = 0;
  if (napi_get_value_uint32(e, argv[0], &maxUnits) != napi_ok) {
    ThrowStatus(env, L::kErrInvalidArg, "compactStep: maxUnits must be a number");
    return nullptr;
  }
  shm::CompactReport r;
  const Status s = c->store->CompactStep(maxUnits, &r);
  if (s != L::kOk) {
    ThrowFailed(e, s, "compact");
    return nullptr;
  }
  const double v[] = {static_cast<double>(r.moved),  static_cast<double>(r.movedUnits),
                      static_cast<double>(r.merged), static_cast<double>(r.obstacles),
                      static_cast<double>(r.start),  static_cast<double>(r.end),
                      static_cast<double>(r.cursor), r.done ? 1.0 : 0.0};
  Napi::Array arr = Napi::Array::New(env, sizeof v / sizeof v[0]);
  for (uint32_t i = 0; i < sizeof v / sizeof v[0]; ++i) arr.Set(i, Napi::Number::New(env, v[i]));
  return arr;
}

using Method = napi_value (*)(napi_env, StoreCore*, napi_value*);

// Instantiated here, next to the method bodies, so that each M is inlined into its entry point.
template <Method M, size_t N>
napi_value Call(napi_env env, napi_callback_info info) {
  size_t argc = N;
  napi_value argv[N == 0 ? 1 : N];
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok) return nullptr;
  auto* core = static_cast<StoreCore*>(data);
  if (!core->open()) {
    ThrowStatus(Napi::Env(env), L::kErrClosed, "the store is closed");
    return nullptr;
  }
  ++core->busy;
  napi_value r = M(env, core, argv);
  if (--core->busy == 0 && core->closing) core->Release();
  return r;
}

}  // namespace

const MethodDef kMethods[] = {
    {"get", Call<MGet, 2>},
    {"has", Call<MHas, 2>},
    {"set", Call<MSet, 5>},
    {"setEncoded", Call<MSetEncoded, 7>},
    {"expiresAt", Call<MExpiresAt, 2>},
    {"configureNamespace", Call<MConfigureNamespace, 3>},
    {"delete", Call<MDelete, 2>},
    {"clear", Call<MClear, 1>},
    {"dropNamespace", Call<MDropNamespace, 1>},
    {"count", Call<MCount, 1>},
    {"keys", Call<MKeys, 1>},
    {"entries", Call<MEntries, 1>},
    {"resolveNamespace", Call<MResolveNamespace, 2>},
    {"namespaces", Call<MNamespaces, 0>},
    {"stats", Call<MStats, 0>},
    {"flushCounters", Call<MFlushCounters, 0>},
    {"addHits", Call<MAddHits, 2>},
    {"verify", Call<MVerify, 1>},
    {"repair", Call<MRepair, 0>},
    {"compactStep", Call<MCompactStep, 1>},
    {"close", CallClose},
};
const size_t kMethodCount = sizeof kMethods / sizeof kMethods[0];

}  // namespace store_binding
