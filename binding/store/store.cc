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
// methods are in ops.cc, argument conversion in args.cc.
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

// NativeStore.create(sab, bucketCount, maxEntries, policy, maxNamespaces) -> undefined (throws
// on failure)
napi_value Create(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5] = {};
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  void* data = nullptr;
  size_t length = 0;
  if (!GetSharedArrayBufferData(env, argv[0], &data, &length)) {
    ThrowTypeError(Napi::Env(env), "The \"buffer\" argument must be a SharedArrayBuffer");
    return nullptr;
  }
  uint32_t buckets, maxEntries, policy = shm::kPolicyNone,
                                maxNamespaces = shm::kDefaultMaxNamespaces;
  napi_valuetype policyType = napi_undefined, nsType = napi_undefined;
  if (argv[3] != nullptr) napi_typeof(env, argv[3], &policyType);
  if (argv[4] != nullptr) napi_typeof(env, argv[4], &nsType);
  if (!GetUint32(env, argv[1], "bucketCount", 0, UINT32_MAX, &buckets) ||
      !GetUint32(env, argv[2], "maxEntries", 0, UINT32_MAX, &maxEntries) ||
      (policyType != napi_undefined &&
       !GetUint32(env, argv[3], "policy", shm::kPolicyNone, shm::kPolicyClock, &policy)) ||
      (nsType != napi_undefined &&
       !GetUint32(env, argv[4], "maxNamespaces", 1, shm::kMaxNamespaceId, &maxNamespaces))) {
    return nullptr;
  }
  Status s = shm::Store::Create(static_cast<uint8_t*>(data), length, buckets, maxEntries, policy,
                                maxNamespaces);
  if (s != L::kOk) {
    ThrowFailed(env, s, "create");
    return nullptr;
  }
  return Undefined(env);
}

// The arguments of new NativeStore(sab, pid, tid, lockTimeoutMs, outInt32Array), converted.
struct ConstructArgs {
  napi_value self = nullptr;
  napi_value argv[5] = {};
  void* data = nullptr;  // the SharedArrayBuffer's bytes
  size_t length = 0;
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint32_t timeout = 0;
  int32_t* out = nullptr;  // the out array's elements (at least the GetOut words)
};

// Establishes: called with new, a SharedArrayBuffer and pid, tid and lockTimeoutMs in range in
// *a; false with an exception pending otherwise.
bool ReadConstructArgs(napi_env env, napi_callback_info info, ConstructArgs* a) {
  size_t argc = 5;
  if (napi_get_cb_info(env, info, &argc, a->argv, &a->self, nullptr) != napi_ok) return false;
  napi_value newTarget = nullptr;
  if (napi_get_new_target(env, info, &newTarget) != napi_ok || newTarget == nullptr) {
    ThrowTypeError(Napi::Env(env), "NativeStore must be called with new");
    return false;
  }
  if (!GetSharedArrayBufferData(env, a->argv[0], &a->data, &a->length)) {
    ThrowTypeError(Napi::Env(env), "The \"buffer\" argument must be a SharedArrayBuffer");
    return false;
  }
  return GetUint32(env, a->argv[1], "pid", 1, UINT32_MAX, &a->pid) &&
         GetUint32(env, a->argv[2], "tid", 0, UINT32_MAX, &a->tid) &&
         GetUint32(env, a->argv[3], "lockTimeoutMs", 0, UINT32_MAX, &a->timeout);
}

// The out array's length: the GetOut words a get leaves there.
constexpr size_t kGetOutWords = sizeof(L::GetOut) / sizeof(int32_t);
static_assert(kGetOutWords == 10, "the TypeError message below names the length");

// Establishes: a->out points at the elements of an Int32Array of kGetOutWords or more over a
// SharedArrayBuffer; false with a TypeError pending otherwise. The handle keeps that raw pointer:
// only shared memory cannot be detached (transferred) under it.
bool CheckOutArray(napi_env env, ConstructArgs* a) {
  bool isTyped = false;
  napi_typedarray_type type;
  size_t outLength = 0;
  void* outData = nullptr;
  if (napi_is_typedarray(env, a->argv[4], &isTyped) != napi_ok || !isTyped ||
      napi_get_typedarray_info(env, a->argv[4], &type, &outLength, &outData, nullptr, nullptr) !=
          napi_ok ||
      type != napi_int32_array || outLength < kGetOutWords) {
    ThrowTypeError(Napi::Env(env), "The \"out\" argument must be an Int32Array of length >= 10");
    return false;
  }
  napi_value outBuffer;
  void* outBufferData = nullptr;
  size_t outBufferLength = 0;
  if (napi_get_typedarray_info(env, a->argv[4], &type, &outLength, &outData, &outBuffer, nullptr) !=
          napi_ok ||
      !GetSharedArrayBufferData(env, outBuffer, &outBufferData, &outBufferLength)) {
    ThrowTypeError(Napi::Env(env),
                   "The \"out\" argument must be an Int32Array over a SharedArrayBuffer");
    return false;
  }
  a->out = static_cast<int32_t*>(outData);
  return true;
}

// Establishes: a new core with its value buffer and a shm::Store attached to the buffer (an owner
// slot claimed); nullptr with a ShmError pending otherwise.
StoreCore* AttachCore(napi_env env, const ConstructArgs& a) {
  auto* core = new (std::nothrow) StoreCore();
  if (core == nullptr) {
    ThrowFailed(env, L::kErrNoMemory, "open");
    return nullptr;
  }
  core->env = env;
  core->value_buf.reset(new (std::nothrow) char[kValueBufSize]);
  Status s = core->value_buf ? shm::Store::Attach(static_cast<uint8_t*>(a.data), a.length, a.pid,
                                                  a.tid, a.timeout, &core->store)
                             : L::kErrNoMemory;
  if (s != L::kOk) {
    delete core;
    ThrowStatus(Napi::Env(env), s, std::string("open: ") + L::StatusCode(s));
    return nullptr;
  }
  return core;
}

// Establishes: the core keeps the buffer and the out array alive while the handle is open, and
// is owned by the object (one reference, dropped by its finalizer); false with the core freed and
// an exception pending otherwise.
bool WrapCore(napi_env env, const ConstructArgs& a, StoreCore* core) {
  if (napi_type_tag_object(env, a.self, &kStoreCoreTag) != napi_ok ||
      napi_create_reference(env, a.argv[0], 1, &core->sab_ref) != napi_ok ||
      napi_create_reference(env, a.argv[4], 1, &core->out_ref) != napi_ok ||
      napi_wrap(env, a.self, core, UnrefCore, nullptr, nullptr) != napi_ok) {
    core->Release();
    delete core;
    ThrowStatus(Napi::Env(env), L::kErrInvalidArg, "open: cannot reference the buffer");
    return false;
  }
  core->out = a.out;
  core->refs = 1;  // the object itself
  return true;
}

// Establishes: the object has the methods of kMethods as its own properties, functions whose
// data is the core, each holding one more reference on it; false with an exception pending
// otherwise (the object's finalizer then frees the core).
bool DefineMethods(napi_env env, napi_value self, StoreCore* core) {
  std::vector<napi_property_descriptor> props(kMethodCount);
  for (size_t i = 0; i < kMethodCount; ++i) {
    napi_value fn;
    if (napi_create_function(env, kMethods[i].name, NAPI_AUTO_LENGTH, kMethods[i].cb, core, &fn) !=
            napi_ok ||
        napi_add_finalizer(env, fn, core, UnrefCore, nullptr, nullptr) != napi_ok) {
      return false;
    }
    ++core->refs;
    props[i] = napi_property_descriptor{kMethods[i].name, nullptr, nullptr,       nullptr,
                                        nullptr,          fn,      napi_writable, nullptr};
  }
  return napi_define_properties(env, self, kMethodCount, props.data()) == napi_ok;
}

// new NativeStore(sab, pid, tid, lockTimeoutMs, outInt32Array)
napi_value Construct(napi_env env, napi_callback_info info) {
  ConstructArgs a;
  if (!ReadConstructArgs(env, info, &a) || !CheckOutArray(env, &a)) return nullptr;
  StoreCore* core = AttachCore(env, a);
  if (core == nullptr || !WrapCore(env, a, core) || !DefineMethods(env, a.self, core)) {
    return nullptr;
  }
  return a.self;
}

}  // namespace

StoreCore* CoreOf(napi_env env, napi_value v) {
  bool tagged = false;
  void* core = nullptr;
  napi_valuetype type = napi_undefined;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_object ||
      napi_check_object_type_tag(env, v, &kStoreCoreTag, &tagged) != napi_ok || !tagged ||
      napi_unwrap(env, v, &core) != napi_ok || core == nullptr) {
    ThrowTypeError(Napi::Env(env), "The \"engine\" argument must be a NativeStore");
    return nullptr;
  }
  auto* c = static_cast<StoreCore*>(core);
  if (!c->open()) {
    ThrowStatus(Napi::Env(env), L::kErrClosed, "the store is closed");
    return nullptr;
  }
  return c;
}

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
