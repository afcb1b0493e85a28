// The only place in the addon that uses V8 directly. Node-API on Node 20 cannot create a
// SharedArrayBuffer over memory it did not allocate (node_api_create_external_sharedarraybuffer
// arrives in Node 26.1); when it can, CreateExternalSharedArrayBuffer switches to it and this
// file is the only one that changes.
#pragma once

#include <node_api.h>

#include <cstddef>

// Called once, on any thread (often a V8 background thread), when the last SharedArrayBuffer
// referring to the memory is gone in every isolate. Must not call into JS or Node-API.
using ExternalDeleter = void (*)(void* data, size_t length, void* ctx);

// Creates a SharedArrayBuffer over [data, data + length) without copying. The memory is then
// owned by V8's backing store: `deleter(data, length, ctx)` releases it. V8 aborts if two
// backing stores cover the same address, so call this at most once per mapping and hand out
// that one object (it can be posted to workers, which share the backing store).
// Returns napi_invalid_arg (and does not call the deleter) when data is null or length is 0.
napi_status CreateExternalSharedArrayBuffer(napi_env env, void* data, size_t length,
                                            ExternalDeleter deleter, void* ctx,
                                            napi_value* result) noexcept;

// When `value` is a SharedArrayBuffer, stores its memory and length and returns true.
// The pointer is valid while the caller keeps a reference to the SharedArrayBuffer.
bool GetSharedArrayBufferData(napi_env env, napi_value value, void** data, size_t* length) noexcept;

// True when `value` is a SharedArrayBuffer whose backing store is referenced by this one
// object only: no other SharedArrayBuffer object in any isolate (a worker it was posted to)
// and no message in flight holds it. Nobody else can add a reference concurrently (that needs
// an existing one), so the answer cannot go stale while the caller's thread does not post it.
bool IsSoleSharedArrayBufferReference(napi_env env, napi_value value) noexcept;

// A counted reference to the memory of a SharedArrayBuffer held by native code that uses the
// memory without JS (a thread of its own): while it is held, the memory stays mapped and
// IsSoleSharedArrayBufferReference() is false for every object over it, so a segment's close()
// leaves the pages shared, as it does for a worker that holds the buffer. Take() and the last
// Release() run on the thread of the environment the buffer belongs to.
class SharedMemoryPin {
 public:
  SharedMemoryPin() noexcept = default;
  ~SharedMemoryPin() { Release(); }
  SharedMemoryPin(const SharedMemoryPin&) = delete;
  SharedMemoryPin& operator=(const SharedMemoryPin&) = delete;

  // Takes a reference to the backing store of `value`, a SharedArrayBuffer (false if it is
  // not one, or one is held already).
  bool Take(napi_env env, napi_value value) noexcept;
  // Drops the reference (idempotent). When it was the last one, the memory's deleter runs here.
  void Release() noexcept;

 private:
  void* store_ = nullptr;  // a std::shared_ptr<v8::BackingStore> of its own, on the heap
};
