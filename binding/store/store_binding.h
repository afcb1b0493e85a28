// Internals of the NativeStore binding shared by store.cc (the class: construction, close,
// registration), ops.cc (the methods) and args.cc (argument conversion).
//
// Invariants:
// - A method runs only while its StoreCore is open; close() called from user JS that runs inside
//   a method of the same handle (an array getter in getMany, an Array.prototype setter hit by
//   napi_set_element in keys) only marks the core closing, and the last method to return
//   releases it, so no method ever sees its shm::Store or SharedArrayBuffer go away mid-call.
// - Nothing here allocates on the C++ heap per get/set: keys are converted into stack buffers,
//   string values into the core's value_buf, and values are read through the store's scratch.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>

#include "binding/base/args.h"
#include "binding/base/module.h"
#include "store/store.h"

namespace store_binding {

namespace L = shm::layout;
using shm::layout::Status;

// Room to see that a key or value is longer than allowed even when the conversion stopped
// before a multi-byte character (napi_get_value_string_utf8 never splits one).
inline constexpr size_t kKeyBufSize = shm::kMaxKeyBytes + 8;
inline constexpr size_t kValueBufSize = shm::kMaxInlineValueBytes + 8;

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
  std::unique_ptr<char[]> large_buf;  // set: a longer string's, large_cap bytes (grown once)
  size_t large_cap = 0;
  int refs = 0;
  int busy = 0;          // methods of this handle on the stack (user JS can re-enter)
  bool closing = false;  // close() was called while busy: released when busy drops to 0

  bool open() const noexcept { return store != nullptr && !closing; }
  // Flushes counters, releases the owner slot and the buffers. Idempotent.
  void Release() noexcept;
  // close(): Release() now, or when the outermost running method returns.
  void Close() noexcept;
  void Unref() noexcept;
};

// The type tag of a NativeStore object (napi_type_tag_object), so that a function of another
// room's binding given an object can tell that napi_unwrap yields a StoreCore.
inline constexpr napi_type_tag kStoreCoreTag = {0x73686d73746f7265ull, 0x436f726554616731ull};

// The core of NativeStore object `v`, or nullptr (an exception pending) when `v` is not one or
// its handle is closed. The caller must not let JS run while it uses the core.
StoreCore* CoreOf(napi_env env, napi_value v);

// ---- argument conversion (args.cc); each throws and returns false on bad input ---------

inline napi_value Undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

// The namespace id of get/set/...: an integer in [1, 65535] (min 0 for count); the store checks
// its own bound.
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
//
// An ASCII key (the usual one) is fetched as UTF-16 code units, a plain copy of V8's string,
// and narrowed here: its UTF-8 bytes are its units. That is cheaper than V8's UTF-8 writer,
// which measures and encodes. A key with any other unit is converted by V8 as before, so lone
// surrogates and the rest come out exactly as napi_get_value_string_utf8 makes them.
inline bool GetKey(napi_env env, napi_value v, char* buf, size_t* len) {
  // One unit more than the longest key: a copy that fills it means too long (every unit is at
  // least one UTF-8 byte), whatever follows.
  char16_t units[shm::kMaxKeyBytes + 2];
  size_t n;
  if (napi_get_value_string_utf16(env, v, units, sizeof units / sizeof units[0], &n) != napi_ok) {
    ThrowTypeError(Napi::Env(env), "The \"key\" argument must be of type string");
    return false;
  }
  char16_t any = 0;
  for (size_t i = 0; i < n; ++i) any |= units[i];
  if (any < 0x80) {
    for (size_t i = 0; i < n; ++i) buf[i] = static_cast<char>(units[i]);
    *len = n;  // above kMaxKeyBytes only when the key is too long
    return true;
  }
  return napi_get_value_string_utf8(env, v, buf, kKeyBufSize, len) == napi_ok;
}

// The bytes of a binary value: any ArrayBufferView, ArrayBuffer or SharedArrayBuffer.
bool GetBytes(napi_env env, napi_value v, const void** data, size_t* len);

// The bytes of a SharedArrayBuffer or of a typed array or DataView over one; false (nothing
// thrown) for anything else. For native code that keeps the pointer past the call (a thread-pool
// job, an object's later calls): only shared memory cannot be detached (transferred) and freed
// under it, while a plain ArrayBuffer's can be by any structuredClone or postMessage transfer.
bool GetSharedBytes(napi_env env, napi_value v, const void** data, size_t* len);

// The arguments of a set converted for shm::Store::Set (the key in `key`, a string value in the
// core's buffers: valid until the core's next call).
struct SetArgs {
  char key[kKeyBufSize];
  size_t keyLength = 0;
  const void* value = nullptr;
  size_t valueLength = 0;
  uint32_t encoding = 0;
  uint64_t expiresAt = 0;
};

// Converts set's (key, value, encoding, expiresAt) arguments (expiresAt: undefined or 0 the
// namespace's default, -1 none, else epoch ms). Returns kOk, a status (a key or value too long,
// no memory), or -1 with a pending TypeError/RangeError.
int32_t ConvertSet(napi_env env, StoreCore* c, napi_value keyValue, napi_value value,
                   napi_value encodingValue, napi_value expiryValue, SetArgs* a);

// ---- results ----------------------------------------------------------------------------------

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

// Throws ShmError(status) with the message "<what>: <CODE>".
void ThrowFailed(napi_env env, Status s, const char* what);

// For a JS value Node-API could not create (the heap is exhausted): throws ShmError
// ERR_NO_MEMORY, unless an exception is pending already (it then propagates). Returns nullptr,
// for the method to return.
napi_value ThrowNoMemory(napi_env env, const char* what);

// ---- the per-instance methods (ops.cc) --------------------------------------------------

struct MethodDef {
  const char* name;
  napi_callback cb;
};
extern const MethodDef kMethods[];
extern const size_t kMethodCount;

// close() -> undefined; idempotent (store.cc).
napi_value CallClose(napi_env env, napi_callback_info info);

}  // namespace store_binding
