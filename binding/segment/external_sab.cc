#include "binding/segment/external_sab.h"

#include <v8.h>

#include <cstring>
#include <memory>
#include <new>

namespace {

// napi_value and v8::Local<v8::Value> have the same representation in Node (a pointer to a
// handle slot), which is how Node-API itself converts them (JsValueFromV8LocalValue).
static_assert(sizeof(napi_value) == sizeof(v8::Local<v8::Value>),
              "napi_value and v8::Local must have the same size");

v8::Local<v8::Value> ToLocal(napi_value v) noexcept {
  v8::Local<v8::Value> local;
  memcpy(static_cast<void*>(&local), &v, sizeof(v));
  return local;
}

napi_value FromLocal(v8::Local<v8::Value> local) noexcept {
  napi_value v;
  memcpy(&v, static_cast<void*>(&local), sizeof(v));
  return v;
}

// V8 CHECK-fails (aborts) on larger lengths; refuse them here instead.
constexpr size_t kMaxByteLength = (size_t{1} << 53) - 1;

}  // namespace

napi_status CreateExternalSharedArrayBuffer(napi_env env, void* data, size_t length,
                                            ExternalDeleter deleter, void* ctx,
                                            napi_value* result) noexcept {
  if (env == nullptr || data == nullptr || length == 0 || length > kMaxByteLength ||
      deleter == nullptr || result == nullptr) {
    return napi_invalid_arg;
  }
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (isolate == nullptr) return napi_generic_failure;
  // The caller's Node-API callback scope has an open HandleScope; the Local lives in it.
  std::unique_ptr<v8::BackingStore> store =
      v8::SharedArrayBuffer::NewBackingStore(data, length, deleter, ctx);
  v8::Local<v8::SharedArrayBuffer> sab = v8::SharedArrayBuffer::New(isolate, std::move(store));
  *result = FromLocal(sab.As<v8::Value>());
  return napi_ok;
}

bool GetSharedArrayBufferData(napi_env env, napi_value value, void** data,
                              size_t* length) noexcept {
  if (env == nullptr || value == nullptr) return false;
  v8::Local<v8::Value> local = ToLocal(value);
  if (!local->IsSharedArrayBuffer()) return false;
  v8::Local<v8::SharedArrayBuffer> sab = local.As<v8::SharedArrayBuffer>();
  if (data != nullptr) *data = sab->Data();
  if (length != nullptr) *length = sab->ByteLength();
  return true;
}

bool IsSoleSharedArrayBufferReference(napi_env env, napi_value value) noexcept {
  if (env == nullptr || value == nullptr) return false;
  v8::Local<v8::Value> local = ToLocal(value);
  if (!local->IsSharedArrayBuffer()) return false;
  // Every SharedArrayBuffer object (per isolate) and every serialized copy holds one
  // shared_ptr to the backing store; `store` here is one more.
  std::shared_ptr<v8::BackingStore> store = local.As<v8::SharedArrayBuffer>()->GetBackingStore();
  return store.use_count() == 2;
}

bool SharedMemoryPin::Take(napi_env env, napi_value value) noexcept {
  if (env == nullptr || value == nullptr || store_ != nullptr) return false;
  v8::Local<v8::Value> local = ToLocal(value);
  if (!local->IsSharedArrayBuffer()) return false;
  store_ = new (std::nothrow)
      std::shared_ptr<v8::BackingStore>(local.As<v8::SharedArrayBuffer>()->GetBackingStore());
  return store_ != nullptr;
}

void SharedMemoryPin::Release() noexcept {
  delete static_cast<std::shared_ptr<v8::BackingStore>*>(store_);
  store_ = nullptr;
}
