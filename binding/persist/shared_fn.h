// A native object shared by the functions of one JavaScript object (createLogWriter's { set, map }
// and createRecordSealer's { seal, map }): each function holds the object and counts itself in
// the object's `refs`; when the last of them is collected, the object's Release(env) drops its
// references and the object is deleted. Until a function holds it, the creator frees it.
#pragma once

#include <node_api.h>

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

// After a failed creation: frees `o` unless a function already holds it.
template <typename T>
void FreeUnshared(napi_env env, T* o) {
  if (o->refs != 0) return;
  o->Release(env);
  delete o;
}

}  // namespace persist_binding
