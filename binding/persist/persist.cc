// The persist room's native functions: crc32c(view, crc) over the bytes of any ArrayBuffer view.
#include "binding/base/args.h"
#include "binding/base/module.h"
#include "binding/store/store_binding.h"
#include "persist/crc32c.h"

namespace {

// crc32c(view, crc = 0): the CRC32C of the view's bytes, continuing from crc (a u32).
napi_value Crc32cFn(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  const void* data = nullptr;
  size_t length = 0;
  if (argc < 1 || !store_binding::GetBytes(env, argv[0], &data, &length)) {
    ThrowTypeError(Napi::Env(env), "The \"data\" argument must be a TypedArray or DataView");
    return nullptr;
  }
  uint32_t crc = 0;
  napi_valuetype type = napi_undefined;
  if (argc >= 2 && napi_typeof(env, argv[1], &type) == napi_ok && type != napi_undefined &&
      !GetUint32(env, argv[1], "crc", 0, UINT32_MAX, &crc)) {
    return nullptr;
  }
  napi_value out = nullptr;
  napi_create_uint32(env, shm::Crc32c(data, length, crc), &out);
  return out;
}

}  // namespace

void InitPersist(Napi::Env env, Napi::Object exports) {
  napi_value fn = nullptr;
  napi_create_function(env, "crc32c", NAPI_AUTO_LENGTH, Crc32cFn, nullptr, &fn);
  exports.Set("crc32c", Napi::Value(env, fn));
}
