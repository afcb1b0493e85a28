// A native object shared by the functions of one JavaScript object (createLogWriter's { set, map }
// and createRecordSealer's { seal, map }): each function holds the object and counts itself in
// the object's `refs`; when the last of them is collected, the object's Release(env) drops its
// references and the object is deleted. Until a function holds it, the creator frees it. Both
// objects also hold the mapping of the current log file the same way (HeldView, HoldView).
#pragma once

#include <node_api.h>

#include <cstddef>
#include <cstdint>

#include "binding/base/args.h"
#include "binding/base/module.h"
#include "binding/store/store_binding.h"
#include "persist/wal_append.h"

namespace persist_binding {

inline void DeleteRef(napi_env env, napi_ref* ref) {
  if (*ref != nullptr) napi_delete_reference(env, *ref);
  *ref = nullptr;
}

template <typename T>
void FinalizeShared(napi_env env, void* data, void*) {
  auto* o = static_cast<T*>(data);
  if (--o->refs > 0) return;
  o->Release(env);
  delete o;
}

// Creates the function `name` over `o` as a user of it and sets it on `out`. False when it could
// not: a function that was created and counted still frees `o` with the others when collected.
template <typename T>
bool AddSharedFunction(napi_env env, napi_value out, const char* name, napi_callback cb, T* o) {
  napi_value fn = nullptr;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, o, &fn) != napi_ok) return false;
  ++o->refs;
  if (napi_add_finalizer(env, fn, o, FinalizeShared<T>, nullptr, nullptr) != napi_ok) {
    --o->refs;
    return false;
  }
  return napi_set_named_property(env, out, name, fn) == napi_ok;
}

// The object a shared function was created over, with its arguments in `argv` (at most N; *argc
// says how many were given), or nullptr when N-API could not say (an exception is pending then).
template <typename T, size_t N>
T* SharedArgs(napi_env env, napi_callback_info cbinfo, napi_value (&argv)[N], size_t* argc) {
  *argc = N;
  void* data = nullptr;
  if (napi_get_cb_info(env, cbinfo, argc, argv, nullptr, &data) != napi_ok) return nullptr;
  return static_cast<T*>(data);
}

// The same for a function that takes no argument.
template <typename T>
T* SharedObject(napi_env env, napi_callback_info cbinfo) {
  void* data = nullptr;
  if (napi_get_cb_info(env, cbinfo, nullptr, nullptr, nullptr, &data) != napi_ok) return nullptr;
  return static_cast<T*>(data);
}

// After a failed creation: frees `o` unless a function already holds it.
template <typename T>
void FreeUnshared(napi_env env, T* o) {
  if (o->refs != 0) return;
  o->Release(env);
  delete o;
}

// A view whose bytes native code writes (a log file's mapping): `ref` keeps it alive while
// `bytes` points into it. Only a view of shared memory is held: a plain ArrayBuffer's bytes could
// be detached and freed under `bytes` (GetSharedBytes).
struct HeldView {
  napi_ref ref = nullptr;
  uint8_t* bytes = nullptr;
  size_t length = 0;
};

enum class Hold { kNone, kHeld, kNotAView, kFailed };

// Lets go of the view `h` holds; then holds `v` unless it is null or undefined (kNone). kNotAView:
// `v` is not a view (the caller throws); kFailed: Node-API failed (an exception is pending).
inline void ReleaseView(napi_env env, HeldView* h) {
  DeleteRef(env, &h->ref);
  h->bytes = nullptr;
  h->length = 0;
}

inline Hold HoldView(napi_env env, napi_value v, HeldView* h) {
  ReleaseView(env, h);
  napi_valuetype type = napi_undefined;
  if (napi_typeof(env, v, &type) != napi_ok) return Hold::kFailed;
  if (type == napi_null || type == napi_undefined) return Hold::kNone;
  const void* bytes = nullptr;
  size_t length = 0;
  if (!store_binding::GetSharedBytes(env, v, &bytes, &length)) return Hold::kNotAView;
  if (napi_create_reference(env, v, 1, &h->ref) != napi_ok) return Hold::kFailed;
  h->bytes = static_cast<uint8_t*>(const_cast<void*>(bytes));
  h->length = length;
  return Hold::kHeld;
}

// The map(view, fileStart) of both objects, map(null) to forget the mapping: holds the view of the
// current log file's mapping in `held` and points `target` at it, fileStart being the LSN of the
// file's first record byte. Anything else throws a TypeError, the mapping forgotten.
inline void MapLogFile(napi_env env, size_t argc, const napi_value* argv, HeldView* held,
                       shm::WalTarget* target) {
  if (argc < 1) return;
  target->map = nullptr;
  target->mapLength = 0;
  const Hold h = HoldView(env, argv[0], held);
  if (h == Hold::kNone || h == Hold::kFailed) return;
  double start = 0;
  if (h == Hold::kNotAView || argc < 2 || napi_get_value_double(env, argv[1], &start) != napi_ok ||
      !(start >= 0) || start > kMaxSafeInteger) {
    ReleaseView(env, held);
    ThrowTypeError(Napi::Env(env), "map needs (view, fileStart) or (null)");
    return;
  }
  target->map = held->bytes;
  target->mapLength = held->length;
  target->fileStart = static_cast<uint64_t>(start);
}

}  // namespace persist_binding
