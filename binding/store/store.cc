// NativeStore: the JS face of shm::Store (src/store/store.h). lib/store/store.js is its only
// intended caller and validates arguments first; every method still checks types itself (TypeError)
// so that a direct call with bad input throws instead of crashing.
//
// Methods use raw Node-API calls and are per-instance functions whose data is the native core
// (StoreCore, store_binding.h): the key is converted into a stack buffer, the value is copied
// out of the store into the handle's scratch buffer by the core and turned into a JS string
// (encodings 1, 2) or a Buffer (0) from there. Nothing is allocated on the C++ heap per get/set.
//
// This file holds the class: construction, close and the core's lifetime, registration. The
// methods are in store_ops.cc, argument conversion in store_args.cc.
#include <new>
#include <string>
#include <vector>

#include "binding/segment/external_sab.h"
#include "binding/store/store_binding.h"

namespace store_binding {

void StoreCore::Release() noexcept {
  if (store) {
    store->Close();
    store.reset();
  }
  out = nullptr;
  closing = false;
  if (sab_ref != nullptr) {
    napi_delete_reference(env, sab_ref);
    sab_ref = nullptr;
  }
  if (out_ref != nullptr) {
    napi_delete_reference(env, out_ref);
    out_ref = nullptr;
  }
}

void StoreCore::Close() noexcept {
  if (busy > 0) {
    closing = true;  // a method of this handle is on the stack (it ran the user JS calling us)
  } else {
    Release();
  }
}

void StoreCore::Unref() noexcept {
  if (--refs == 0) {
    Release();
    delete this;
  }
}

napi_value CallClose(napi_env env, napi_callback_info info) {
  void* data = nullptr;
  size_t argc = 0;
  if (napi_get_cb_info(env, info, &argc, nullptr, nullptr, &data) == napi_ok) {
    static_cast<StoreCore*>(data)->Close();
  }
  return Undefined(env);
}

namespace {

void UnrefCore(napi_env, void* data, void*) {
  static_cast<StoreCore*>(data)->Unref();
}

// NativeStore.create(sab, bucketCount, maxEntries) -> undefined (throws on failure)
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
  Status s = shm::Store::Create(static_cast<uint8_t*>(data), length, buckets, maxEntries);
  if (s != L::kOk) {
    ThrowFailed(env, s, "create");
    return nullptr;
  }
  return Undefined(env);
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
  // The handle keeps a raw pointer to `out`: only shared memory cannot be detached (transferred)
  // under it.
  napi_value outBuffer;
  void* outBufferData = nullptr;
  size_t outBufferLength = 0;
  if (napi_get_typedarray_info(env, argv[4], &type, &outLength, &outData, &outBuffer, nullptr) !=
          napi_ok ||
      !GetSharedArrayBufferData(env, outBuffer, &outBufferData, &outBufferLength)) {
    ThrowTypeError(Napi::Env(env),
                   "The \"out\" argument must be an Int32Array over a SharedArrayBuffer");
    return nullptr;
  }

  auto* core = new (std::nothrow) StoreCore();
  if (core == nullptr) {
    ThrowFailed(env, L::kErrNoMemory, "open");
    return nullptr;
  }
  core->env = env;
  core->value_buf.reset(new (std::nothrow) char[kValueBufSize]);
  Status s = core->value_buf ? shm::Store::Attach(static_cast<uint8_t*>(data), length, pid, tid,
                                                  timeout, &core->store)
                             : L::kErrNoMemory;
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
  std::vector<napi_property_descriptor> props(kMethodCount);
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
  if (napi_define_properties(env, self, kMethodCount, props.data()) != napi_ok) return nullptr;
  return self;
}

}  // namespace

}  // namespace store_binding

void InitStore(Napi::Env env, Napi::Object exports) {
  napi_property_descriptor statics[] = {
      {"create", nullptr, store_binding::Create, nullptr, nullptr, nullptr,
       static_cast<napi_property_attributes>(napi_static | napi_writable), nullptr},
  };
  napi_value cls;
  if (napi_define_class(env, "NativeStore", NAPI_AUTO_LENGTH, store_binding::Construct, nullptr, 1,
                        statics, &cls) != napi_ok) {
    return;
  }
  exports.Set("NativeStore", Napi::Value(env, cls));
}
