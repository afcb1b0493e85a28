// prefaultLogSpace(view, offset, length) -> Promise<errno>: makes the pages of view[offset,
// offset + length) present and writable (src/persist/wal_file.h, PrefaultLogSpace) on libuv's
// thread pool, `view` a Uint8Array over a shared mapping of a log file; resolves to 0 when done,
// else the errno (EINVAL: the kernel cannot). The set path then stores records into pages that
// are already there, while the work of making them present runs beside it.
//
// Invariants: the range is checked against the view's length before the work is queued; the
// work holds a reference to the view until it completes, so that the address range stays the
// view's (the file's mapping, or the private zeros that replace it once its segment is closed:
// segment.js) while the pool thread works on it. A prefault changes no byte of either.
#include "binding/persist/prefault.h"

#include <cerrno>
#include <cstdint>

#include "binding/base/args.h"
#include "binding/base/module.h"
#include "binding/store/store_binding.h"
#include "persist/wal_file.h"

namespace {

struct PrefaultWork {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  napi_ref view = nullptr;
  uint8_t* at = nullptr;
  size_t length = 0;
  int err = 0;
};

void Execute(napi_env, void* data) {
  auto* w = static_cast<PrefaultWork*>(data);
  w->err = shm::PrefaultLogSpace(w->at, w->length);
}

void Complete(napi_env env, napi_status status, void* data) {
  auto* w = static_cast<PrefaultWork*>(data);
  napi_value out = nullptr;
  // Cancelled (the environment is being torn down): nothing was done.
  napi_create_int32(env, status == napi_ok ? w->err : ECANCELED, &out);
  napi_resolve_deferred(env, w->deferred, out);
  napi_delete_reference(env, w->view);
  napi_delete_async_work(env, w->work);
  delete w;
}

}  // namespace

napi_value PrefaultLogSpaceFn(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  const void* data = nullptr;
  size_t length = 0;
  // Shared memory only: the pool thread uses the pointer after this returns, and a plain
  // ArrayBuffer could be detached and freed meanwhile (store_binding::GetSharedBytes).
  if (argc < 3 || !store_binding::GetSharedBytes(env, argv[0], &data, &length)) {
    ThrowTypeError(Napi::Env(env), "prefaultLogSpace needs (view, offset, length)");
    return nullptr;
  }
  int64_t offset = 0;
  int64_t count = 0;
  if (!GetInteger(env, argv[1], "offset", 0, static_cast<double>(length), &offset) ||
      !GetInteger(env, argv[2], "length", 0, static_cast<double>(length - offset), &count)) {
    return nullptr;
  }
  auto* w = new PrefaultWork();
  w->at = static_cast<uint8_t*>(const_cast<void*>(data)) + offset;
  w->length = static_cast<size_t>(count);
  napi_value promise = nullptr;
  napi_value name = nullptr;
  if (napi_create_reference(env, argv[0], 1, &w->view) != napi_ok ||
      napi_create_promise(env, &w->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "prefaultLogSpace", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, nullptr, name, Execute, Complete, w, &w->work) != napi_ok ||
      napi_queue_async_work(env, w->work) != napi_ok) {
    // Nothing was queued: the caller gets the exception, not the promise.
    if (w->work != nullptr) napi_delete_async_work(env, w->work);
    if (w->view != nullptr) napi_delete_reference(env, w->view);
    delete w;
    napi_throw_error(env, "ERR_PERSIST_IO", "persist: the prefault of the log could not be queued");
    return nullptr;
  }
  return promise;
}
