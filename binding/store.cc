// NativeStore: the JS face of shm::Store (src/store.h). lib/store.js is its only intended caller
// and validates arguments first; every method still checks types itself (TypeError) so that a
// direct call with bad input throws instead of crashing.
//
// Methods use raw Node-API calls and are per-instance functions whose data is the native core
// (see StoreCore): the key is converted into a stack buffer, the value is copied out of the store
// into the handle's scratch buffer by the core and turned into a JS string (encodings 1, 2) or a
// Buffer (0) from there. Nothing is allocated on the C++ heap per get/set.
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "external_sab.h"
#include "module.h"
#include "store.h"

namespace {

using shm::layout::Status;
namespace L = shm::layout;

// Room to see that a key or value is longer than allowed even when the conversion stopped
// before a multi-byte character (napi_get_value_string_utf8 never splits one).
constexpr size_t kKeyBufSize = shm::kMaxKeyBytes + 8;
constexpr size_t kValueBufSize = shm::kMaxValueBytes + 8;

// The native state behind one NativeStore object. The object's methods are its own properties,
// functions created per instance with this core as their data: a call then costs no napi_unwrap
// (a private-symbol lookup, ~50 ns of a ~120 ns get). The core is freed when the object and all
// of those functions have been collected (reference count).
struct StoreCore {
  napi_env env = nullptr;
  std::unique_ptr<shm::Store> store;
  napi_ref sab_ref = nullptr;
  napi_ref out_ref = nullptr;
  int32_t* out = nullptr;
  std::unique_ptr<char[]> value_buf;  // set: a string value's UTF-8 bytes
  int refs = 0;

  // close(): flushes counters, releases the owner slot and the buffers. Idempotent.
  void Release() noexcept {
    if (store) {
      store->Close();
      store.reset();
    }
    out = nullptr;
    if (sab_ref != nullptr) {
      napi_delete_reference(env, sab_ref);
      sab_ref = nullptr;
    }
    if (out_ref != nullptr) {
      napi_delete_reference(env, out_ref);
      out_ref = nullptr;
    }
  }
  void Unref() noexcept {
    if (--refs == 0) {
      Release();
      delete this;
    }
  }
};

// ---- argument helpers (each throws and returns false on bad input) ---------------------------

napi_value Undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

bool GetUint32(napi_env env, napi_value v, const char* what, uint32_t min, uint32_t max,
               uint32_t* out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    ThrowTypeError(Napi::Env(env),
                   std::string("The \"") + what + "\" argument must be of type number");
    return false;
  }
  if (!(d >= min && d <= max) || std::trunc(d) != d) {
    ThrowRangeError(Napi::Env(env), std::string("The \"") + what + "\" argument is out of range");
    return false;
  }
  *out = static_cast<uint32_t>(d);
  return true;
}

// The namespace id of get/set/...: an integer in [1, 255] (min 0 for count).
inline bool GetNs(napi_env env, napi_value v, uint32_t min, uint32_t* out) {
  double d;
  if (napi_get_value_double(env, v, &d) == napi_ok && d >= min && d <= shm::kMaxNamespaceId &&
      static_cast<double>(static_cast<uint32_t>(d)) == d) {
    *out = static_cast<uint32_t>(d);
    return true;
  }
  return GetUint32(env, v, "nsId", min, shm::kMaxNamespaceId, out);
}

// Converts a key to UTF-8 in `buf` (kKeyBufSize bytes). *len may exceed kMaxKeyBytes: the
// caller reports ERR_KEY_TOO_LONG.
inline bool GetKey(napi_env env, napi_value v, char* buf, size_t* len) {
  if (napi_get_value_string_utf8(env, v, buf, kKeyBufSize, len) != napi_ok) {
    ThrowTypeError(Napi::Env(env), "The \"key\" argument must be of type string");
    return false;
  }
  return true;
}

inline bool GetBool(napi_env env, napi_value v, const char* what, bool* out) {
  if (napi_get_value_bool(env, v, out) != napi_ok) {
    ThrowTypeError(Napi::Env(env),
                   std::string("The \"") + what + "\" argument must be of type boolean");
    return false;
  }
  return true;
}

// The bytes of a binary value: any ArrayBufferView, ArrayBuffer or SharedArrayBuffer.
bool GetBytes(napi_env env, napi_value v, const void** data, size_t* len) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t length;
    void* p;
    if (napi_get_typedarray_info(env, v, &type, &length, &p, nullptr, nullptr) != napi_ok) {
      return false;
    }
    size_t elem = 1;
    switch (type) {
      case napi_int16_array:
      case napi_uint16_array:
        elem = 2;
        break;
      case napi_int32_array:
      case napi_uint32_array:
      case napi_float32_array:
        elem = 4;
        break;
      case napi_float64_array:
      case napi_bigint64_array:
      case napi_biguint64_array:
        elem = 8;
        break;
      default:
        break;
    }
    *data = p;
    *len = length * elem;
    return true;
  }
  if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    void* p;
    return napi_get_dataview_info(env, v, len, &p, nullptr, nullptr) == napi_ok &&
           ((*data = p), true);
  }
  if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
    void* p;
    return napi_get_arraybuffer_info(env, v, &p, len) == napi_ok && ((*data = p), true);
  }
  void* p;
  if (GetSharedArrayBufferData(env, v, &p, len)) {
    *data = p;
    return true;
  }
  ThrowTypeError(Napi::Env(env), "The \"value\" argument must be a Uint8Array for encoding 0");
  return false;
}

inline bool IsAscii(const uint8_t* p, size_t n) {
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    acc |= w;
  }
  for (; i < n; ++i) acc |= p[i];
  return (acc & 0x8080808080808080ull) == 0;
}

// A value read from the store as JS: a string for UTF-8 / JSON text, a Buffer (copy) otherwise.
// ASCII text is created as a one-byte string directly (V8 skips UTF-8 decoding).
inline napi_value MakeValue(napi_env env, const uint8_t* data, uint32_t len, uint32_t encoding) {
  napi_value r = nullptr;
  if (encoding == L::kEncUtf8 || encoding == L::kEncJson) {
    const char* text = reinterpret_cast<const char*>(data);
    if (IsAscii(data, len)) {
      napi_create_string_latin1(env, text, len, &r);
    } else {
      napi_create_string_utf8(env, text, len, &r);
    }
  } else {
    napi_create_buffer_copy(env, len, data, nullptr, &r);
  }
  return r;
}

inline napi_value Number(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

inline napi_value Boolean(napi_env env, bool v) {
  napi_value r;
  napi_get_boolean(env, v, &r);
  return r;
}

inline napi_value Int(napi_env env, int32_t v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}

void ThrowFailed(napi_env env, Status s, const char* what) {
  ThrowStatus(Napi::Env(env), s, std::string(what) + ": " + L::StatusCode(s));
}

// ---- methods: (env, core, argv) with argv padded with undefined; the core is open -------------

// get(nsId, key) -> string | Buffer | undefined; out[0] = encoding on a hit.
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
  c->out[0] = static_cast<int32_t>(v.encoding);
  return MakeValue(env, v.data, v.length, v.encoding);
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

// One write (set and setMany): the status, or -1 with a pending TypeError/RangeError.
int32_t SetOne(napi_env env, StoreCore* c, uint32_t ns, napi_value keyValue, napi_value value,
               napi_value encodingValue) {
  char key[kKeyBufSize];
  size_t klen;
  uint32_t encoding;
  if (!GetKey(env, keyValue, key, &klen) ||
      !GetUint32(env, encodingValue, "encoding", 0, L::kEncJson, &encoding)) {
    return -1;
  }
  const void* data;
  size_t vlen;
  if (encoding == L::kEncUtf8 || encoding == L::kEncJson) {
    if (napi_get_value_string_utf8(env, value, c->value_buf.get(), kValueBufSize, &vlen) !=
        napi_ok) {
      ThrowTypeError(Napi::Env(env),
                     "The \"value\" argument must be a string for encodings 1 and 2");
      return -1;
    }
    data = c->value_buf.get();
  } else if (!GetBytes(env, value, &data, &vlen)) {
    return -1;
  }
  if (klen > shm::kMaxKeyBytes) return L::kErrKeyTooLong;
  if (vlen > shm::kMaxValueBytes) return L::kErrValueTooLong;
  return c->store->Set(ns, key, static_cast<uint32_t>(klen), data, static_cast<uint32_t>(vlen),
                       encoding);
}

// set(nsId, key, value, encoding) -> status
napi_value MSet(napi_env env, StoreCore* c, napi_value* argv) {
  uint32_t ns;
  if (!GetNs(env, argv[0], 1, &ns)) return nullptr;
  int32_t s = SetOne(env, c, ns, argv[1], argv[2], argv[3]);
  if (s < 0) return nullptr;
  return Int(env, s);
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

// count(nsId) -> number (nsId 0: the whole store)
napi_value MCount(napi_env env, StoreCore* c, napi_value* argv) {
  uint32_t ns;
  if (!GetNs(env, argv[0], 0, &ns)) return nullptr;
  return Number(env, c->store->Count(ns));
}

// keys(nsId) -> [key...]
napi_value MKeys(napi_env env, StoreCore* c, napi_value* argv) {
  uint32_t ns;
  if (!GetNs(env, argv[0], 1, &ns)) return nullptr;
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t n = 0;
  Status s = c->store->ForEach(
      ns, [&](uint32_t, const uint8_t* key, uint32_t klen, const uint8_t*, uint32_t, uint32_t) {
        napi_handle_scope scope;  // the array keeps the string; the handle can go
        if (napi_open_handle_scope(env, &scope) != napi_ok) return;
        napi_value k;
        if (napi_create_string_utf8(env, reinterpret_cast<const char*>(key), klen, &k) == napi_ok) {
          napi_set_element(env, arr, n++, k);
        }
        napi_close_handle_scope(env, scope);
      });
  if (s != L::kOk) {
    ThrowFailed(env, s, "keys");
    return nullptr;
  }
  return arr;
}

// entries(nsId) -> [[key, value, encoding]...]
napi_value MEntries(napi_env env, StoreCore* c, napi_value* argv) {
  uint32_t ns;
  if (!GetNs(env, argv[0], 1, &ns)) return nullptr;
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t n = 0;
  Status s = c->store->ForEach(ns, [&](uint32_t, const uint8_t* key, uint32_t klen,
                                       const uint8_t* value, uint32_t vlen, uint32_t encoding) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value triple, k;
    if (napi_create_array_with_length(env, 3, &triple) == napi_ok &&
        napi_create_string_utf8(env, reinterpret_cast<const char*>(key), klen, &k) == napi_ok) {
      napi_set_element(env, triple, 0, k);
      napi_set_element(env, triple, 1, MakeValue(env, value, vlen, encoding));
      napi_set_element(env, triple, 2, Int(env, static_cast<int32_t>(encoding)));
      napi_set_element(env, arr, n++, triple);
    }
    napi_close_handle_scope(env, scope);
  });
  if (s != L::kOk) {
    ThrowFailed(env, s, "entries");
    return nullptr;
  }
  return arr;
}

// getMany(nsId, keys) -> [values, encodings]; a miss is undefined with encoding -1.
napi_value MGetMany(napi_env env, StoreCore* c, napi_value* argv) {
  uint32_t ns;
  if (!GetNs(env, argv[0], 1, &ns)) return nullptr;
  napi_value keys = argv[1];
  bool isArray = false;
  uint32_t n = 0;
  if (napi_is_array(env, keys, &isArray) != napi_ok || !isArray ||
      napi_get_array_length(env, keys, &n) != napi_ok) {
    ThrowTypeError(Napi::Env(env), "The \"keys\" argument must be an array of strings");
    return nullptr;
  }
  napi_value values, encodings, undef = Undefined(env);
  napi_create_array_with_length(env, n, &values);
  napi_create_array_with_length(env, n, &encodings);
  char key[kKeyBufSize];
  for (uint32_t i = 0; i < n; ++i) {
    napi_value k;
    size_t klen;
    if (napi_get_element(env, keys, i, &k) != napi_ok || !GetKey(env, k, key, &klen)) {
      return nullptr;
    }
    if (klen > shm::kMaxKeyBytes) {
      ThrowFailed(env, L::kErrKeyTooLong, "getMany");
      return nullptr;
    }
    bool found;
    shm::Store::Value v;
    Status s = c->store->Get(ns, key, static_cast<uint32_t>(klen), &found, &v);
    if (s != L::kOk) {
      ThrowFailed(env, s, "getMany");
      return nullptr;
    }
    if (found) {
      napi_set_element(env, values, i, MakeValue(env, v.data, v.length, v.encoding));
      napi_set_element(env, encodings, i, Int(env, static_cast<int32_t>(v.encoding)));
    } else {
      napi_set_element(env, values, i, undef);
      napi_set_element(env, encodings, i, Int(env, -1));
    }
  }
  napi_value result;
  napi_create_array_with_length(env, 2, &result);
  napi_set_element(env, result, 0, values);
  napi_set_element(env, result, 1, encodings);
  return result;
}

// setMany(nsId, keys, values, encodings) -> [status of the first failure or 0, number written]
napi_value MSetMany(napi_env env, StoreCore* c, napi_value* argv) {
  uint32_t ns;
  if (!GetNs(env, argv[0], 1, &ns)) return nullptr;
  napi_value* arrays = argv + 1;
  uint32_t n = 0;
  for (int a = 0; a < 3; ++a) {
    bool isArray = false;
    uint32_t len = 0;
    if (napi_is_array(env, arrays[a], &isArray) != napi_ok || !isArray ||
        napi_get_array_length(env, arrays[a], &len) != napi_ok || (a > 0 && len != n)) {
      ThrowTypeError(Napi::Env(env),
                     "setMany: keys, values and encodings must be arrays of one length");
      return nullptr;
    }
    n = len;
  }
  int32_t status = 0;
  uint32_t done = 0;
  for (; done < n; ++done) {
    napi_value k, v, e;
    if (napi_get_element(env, arrays[0], done, &k) != napi_ok ||
        napi_get_element(env, arrays[1], done, &v) != napi_ok ||
        napi_get_element(env, arrays[2], done, &e) != napi_ok) {
      return nullptr;
    }
    int32_t s = SetOne(env, c, ns, k, v, e);
    if (s < 0) return nullptr;
    if (s != L::kOk) {
      status = s;
      break;
    }
  }
  napi_value result;
  napi_create_array_with_length(env, 2, &result);
  napi_set_element(env, result, 0, Int(env, status));
  napi_set_element(env, result, 1, Number(env, done));
  return result;
}

// resolveNamespace(name, create) -> id (1..255), 0 (absent), or -status
napi_value MResolveNamespace(napi_env env, StoreCore* c, napi_value* argv) {
  char name[shm::kMaxNamespaceBytes + 8];
  size_t len;
  bool create;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    ThrowTypeError(Napi::Env(env), "The \"name\" argument must be of type string");
    return nullptr;
  }
  if (!GetBool(env, argv[1], "create", &create)) return nullptr;
  if (len == 0 || len > shm::kMaxNamespaceBytes) return Int(env, -L::kErrInvalidArg);
  uint32_t id;
  Status s = c->store->ResolveNamespace(name, static_cast<uint32_t>(len), create, &id);
  if (s != L::kOk) return Int(env, -s);
  return Int(env, static_cast<int32_t>(id));
}

// namespaces() -> [[name, id, count]...]
napi_value MNamespaces(napi_env e, StoreCore* c, napi_value*) {
  Napi::Env env(e);
  std::vector<shm::NamespaceInfo> list;
  c->store->Namespaces(&list);
  Napi::Array arr = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    Napi::Array t = Napi::Array::New(env, 3);
    t.Set(0u, Napi::String::New(env, list[i].name));
    t.Set(1u, Napi::Number::New(env, list[i].id));
    t.Set(2u, Napi::Number::New(env, list[i].count));
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
  num("buckets", static_cast<double>(st.buckets));
  num("namespaces", static_cast<double>(st.namespaces));
  num("bytesTotal", static_cast<double>(st.bytesTotal));
  num("bytesLive", static_cast<double>(st.bytesLive));
  num("bytesFree", static_cast<double>(st.bytesFree));
  num("bytesFreeLists", static_cast<double>(st.bytesFreeLists));
  num("bytesTail", static_cast<double>(st.bytesTail));
  num("fragmentation", st.fragmentation);
  num("repairs", static_cast<double>(st.repairs));
  num("reads", static_cast<double>(st.reads));
  num("writes", static_cast<double>(st.writes));
  return o;
}

// verify() -> { ok, errors, entries, liveUnits, freeUnits, leakedUnits }
napi_value MVerify(napi_env e, StoreCore* c, napi_value*) {
  Napi::Env env(e);
  shm::VerifyReport r;
  Status s = c->store->Verify(&r);
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

// ---- per-instance functions -------------------------------------------------------------------

using Method = napi_value (*)(napi_env, StoreCore*, napi_value*);

template <Method M, size_t N>
napi_value Call(napi_env env, napi_callback_info info) {
  size_t argc = N;
  napi_value argv[N == 0 ? 1 : N];
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok) return nullptr;
  auto* core = static_cast<StoreCore*>(data);
  if (!core->store) {
    ThrowStatus(Napi::Env(env), L::kErrClosed, "the store is closed");
    return nullptr;
  }
  return M(env, core, argv);
}

// close() -> undefined; idempotent.
napi_value CallClose(napi_env env, napi_callback_info info) {
  void* data = nullptr;
  size_t argc = 0;
  if (napi_get_cb_info(env, info, &argc, nullptr, nullptr, &data) == napi_ok) {
    static_cast<StoreCore*>(data)->Release();
  }
  return Undefined(env);
}

struct MethodDef {
  const char* name;
  napi_callback cb;
};

constexpr MethodDef kMethods[] = {
    {"get", Call<MGet, 2>},
    {"has", Call<MHas, 2>},
    {"set", Call<MSet, 4>},
    {"delete", Call<MDelete, 2>},
    {"clear", Call<MClear, 1>},
    {"count", Call<MCount, 1>},
    {"keys", Call<MKeys, 1>},
    {"entries", Call<MEntries, 1>},
    {"getMany", Call<MGetMany, 2>},
    {"setMany", Call<MSetMany, 4>},
    {"resolveNamespace", Call<MResolveNamespace, 2>},
    {"namespaces", Call<MNamespaces, 0>},
    {"stats", Call<MStats, 0>},
    {"verify", Call<MVerify, 0>},
    {"repair", Call<MRepair, 0>},
    {"close", CallClose},
};
constexpr size_t kMethodCount = sizeof kMethods / sizeof kMethods[0];

void UnrefCore(napi_env, void* data, void*) {
  static_cast<StoreCore*>(data)->Unref();
}

// NativeStore.create(sab, bucketCount, maxEntries) -> status
napi_value Create(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  void* data = nullptr;
  size_t length = 0;
  if (!GetSharedArrayBufferData(env, argv[0], &data, &length)) {
    ThrowTypeError(Napi::Env(env), "The \"buffer\" argument must be a SharedArrayBuffer");
    return nullptr;
  }
  uint32_t buckets, maxEntries;
  if (!GetUint32(env, argv[1], "bucketCount", 0, UINT32_MAX, &buckets) ||
      !GetUint32(env, argv[2], "maxEntries", 0, UINT32_MAX, &maxEntries)) {
    return nullptr;
  }
  return Int(env, shm::Store::Create(static_cast<uint8_t*>(data), length, buckets, maxEntries));
}

// new NativeStore(sab, pid, tid, lockTimeoutMs, outInt32Array)
napi_value Construct(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_value self;
  if (napi_get_cb_info(env, info, &argc, argv, &self, nullptr) != napi_ok) return nullptr;
  napi_value newTarget = nullptr;
  if (napi_get_new_target(env, info, &newTarget) != napi_ok || newTarget == nullptr) {
    ThrowTypeError(Napi::Env(env), "NativeStore must be called with new");
    return nullptr;
  }
  void* data = nullptr;
  size_t length = 0;
  if (!GetSharedArrayBufferData(env, argv[0], &data, &length)) {
    ThrowTypeError(Napi::Env(env), "The \"buffer\" argument must be a SharedArrayBuffer");
    return nullptr;
  }
  uint32_t pid, tid, timeout;
  if (!GetUint32(env, argv[1], "pid", 1, UINT32_MAX, &pid) ||
      !GetUint32(env, argv[2], "tid", 0, UINT32_MAX, &tid) ||
      !GetUint32(env, argv[3], "lockTimeoutMs", 0, UINT32_MAX, &timeout)) {
    return nullptr;
  }
  bool isTyped = false;
  napi_typedarray_type type;
  size_t outLength = 0;
  void* outData = nullptr;
  if (napi_is_typedarray(env, argv[4], &isTyped) != napi_ok || !isTyped ||
      napi_get_typedarray_info(env, argv[4], &type, &outLength, &outData, nullptr, nullptr) !=
          napi_ok ||
      type != napi_int32_array || outLength < 1) {
    ThrowTypeError(Napi::Env(env), "The \"out\" argument must be an Int32Array of length >= 1");
    return nullptr;
  }

  auto* core = new (std::nothrow) StoreCore();
  if (core == nullptr) {
    ThrowStatus(Napi::Env(env), L::kErrInvalidArg, "open: out of memory");
    return nullptr;
  }
  core->env = env;
  core->value_buf.reset(new (std::nothrow) char[kValueBufSize]);
  Status s = core->value_buf ? shm::Store::Attach(static_cast<uint8_t*>(data), length, pid, tid,
                                                  timeout, &core->store)
                             : L::kErrInvalidArg;
  if (s != L::kOk) {
    delete core;
    ThrowStatus(Napi::Env(env), s, std::string("open: ") + L::StatusCode(s));
    return nullptr;
  }
  // The buffer and the out array stay alive while the handle is open.
  if (napi_create_reference(env, argv[0], 1, &core->sab_ref) != napi_ok ||
      napi_create_reference(env, argv[4], 1, &core->out_ref) != napi_ok ||
      napi_wrap(env, self, core, UnrefCore, nullptr, nullptr) != napi_ok) {
    core->Release();
    delete core;
    ThrowStatus(Napi::Env(env), L::kErrInvalidArg, "open: cannot reference the buffer");
    return nullptr;
  }
  core->out = static_cast<int32_t*>(outData);
  core->refs = 1;  // the object itself
  napi_property_descriptor props[kMethodCount];
  for (size_t i = 0; i < kMethodCount; ++i) {
    napi_value fn;
    if (napi_create_function(env, kMethods[i].name, NAPI_AUTO_LENGTH, kMethods[i].cb, core, &fn) !=
            napi_ok ||
        napi_add_finalizer(env, fn, core, UnrefCore, nullptr, nullptr) != napi_ok) {
      return nullptr;  // a pending exception; the object's finalizer frees the core
    }
    ++core->refs;
    props[i] = napi_property_descriptor{kMethods[i].name, nullptr, nullptr,       nullptr,
                                        nullptr,          fn,      napi_writable, nullptr};
  }
  if (napi_define_properties(env, self, kMethodCount, props) != napi_ok) return nullptr;
  return self;
}

}  // namespace

void InitStore(Napi::Env env, Napi::Object exports) {
  napi_property_descriptor statics[] = {
      {"create", nullptr, Create, nullptr, nullptr, nullptr,
       static_cast<napi_property_attributes>(napi_static | napi_writable), nullptr},
  };
  napi_value cls;
  if (napi_define_class(env, "NativeStore", NAPI_AUTO_LENGTH, Construct, nullptr, 1, statics,
                        &cls) != napi_ok) {
    return;
  }
  exports.Set("NativeStore", Napi::Value(env, cls));
}
