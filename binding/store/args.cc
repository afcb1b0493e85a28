// NativeStore argument conversion: binary values from JS (numbers, booleans and strings:
// binding/base/args.h), and status errors back. The hot helpers (GetNs, GetKey, MakeValue) are
// inline in store_binding.h.
#include <string>

#include "binding/segment/external_sab.h"
#include "binding/store/store_binding.h"

namespace store_binding {

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

bool GetSharedBytes(napi_env env, napi_value v, const void** data, size_t* len) {
  napi_value buffer = v;
  bool is = false;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    if (napi_get_typedarray_info(env, v, nullptr, nullptr, nullptr, &buffer, nullptr) != napi_ok) {
      return false;
    }
  } else if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    if (napi_get_dataview_info(env, v, nullptr, nullptr, &buffer, nullptr) != napi_ok) {
      return false;
    }
  }
  if (!GetSharedArrayBufferData(env, buffer, nullptr, nullptr)) return false;
  return GetBytes(env, v, data, len);
}

void ThrowFailed(napi_env env, Status s, const char* what) {
  ThrowStatus(Napi::Env(env), s, std::string(what) + ": " + L::StatusCode(s));
}

napi_value ThrowNoMemory(napi_env env, const char* what) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) {
    ThrowFailed(env, L::kErrNoMemory, what);
  }
  return nullptr;
}

}  // namespace store_binding
