// createRecordSealer(scratch, control, ownerSlot) -> { seal, map }: the end of the JavaScript
// engine's logged set (lib/persist/set-record.js) in one crossing into C++: the record's LSN and
// expiry, its CRC32C (ISA-L), its copy into the mapped log file (src/persist/wal_append.h,
// SealWalRecord), the tail moved past it and the append lock released (PublishWalAppend).
//
//   seal(lsn, expiresAt, at): seals the record encoded in `scratch`, copies it to byte `at` of
//     the mapping, stores lsn + its size as the control segment's tail and releases the append
//     lock, which the caller holds as `ownerSlot` (wal.js lockMapped). Throws a RangeError, with
//     nothing written and the lock still held, when there is no mapping or the record does not
//     fit the scratch or the mapping from `at` (a caller's bug: the append lock's holder checked
//     the place).
//   map(view) / map(null): the mapping of the current log file (a Uint8Array over the whole
//     mapping), or none. The caller sets none before it unmaps the file: the sealer never touches
//     memory it was not given.
//
// Invariants: the sealer holds strong references to the scratch's view, the control segment's
// view and the mapping's view, so their memory stays theirs while it has the pointers; no
// JavaScript runs inside seal. Plain Node-API with number arguments only: a call costs about a
// third of sealing in JavaScript, and ending the append here saves the tail's store and the
// lock's release in JavaScript.
#include "binding/persist/record_sealer.h"

#include <cstdint>
#include <new>

#include "binding/base/args.h"
#include "binding/base/module.h"
#include "binding/persist/shared_fn.h"
#include "binding/store/store_binding.h"
#include "persist/wal_append.h"

namespace {

using persist_binding::DeleteRef;

namespace L = shm::layout;

struct Sealer {
  napi_ref scratchRef = nullptr;
  uint8_t* scratch = nullptr;
  size_t capacity = 0;
  napi_ref controlRef = nullptr;
  uint8_t* control = nullptr;  // C.PERSIST_CONTROL_BYTES bytes
  uint32_t ownerSlot = 0;
  persist_binding::HeldView map;
  int refs = 0;  // the functions still alive that use this sealer (shared_fn.h)

  void Release(napi_env env) {
    DeleteRef(env, &scratchRef);
    DeleteRef(env, &controlRef);
    persist_binding::ReleaseView(env, &map);
  }
};

// A whole number in [0, 2^53). Whole is checked by the round trip through uint64_t, not floor():
// a call out of line that took a fifth of a seal's time.
bool GetPosition(napi_env env, napi_value v, uint64_t* out) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d > 9007199254740991.0) {
    return false;
  }
  const auto u = static_cast<uint64_t>(d);
  if (static_cast<double>(u) != d) return false;
  *out = u;
  return true;
}

napi_value SealFn(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 3;
  napi_value argv[3];
  void* data = nullptr;
  if (napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, &data) != napi_ok) return nullptr;
  auto* s = static_cast<Sealer*>(data);
  uint64_t lsn = 0;
  uint64_t expiresAt = 0;
  uint64_t at = 0;
  if (argc < 3 || !GetPosition(env, argv[0], &lsn) || !GetPosition(env, argv[1], &expiresAt) ||
      !GetPosition(env, argv[2], &at)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "seal needs (lsn, expiresAt, at), whole numbers below 2^53");
    return nullptr;
  }
  const persist_binding::HeldView& m = s->map;
  const uint64_t size = m.bytes == nullptr || at > m.length
                            ? 0
                            : shm::SealWalRecord(m.bytes + at, m.length - at, s->scratch,
                                                 s->capacity, lsn, expiresAt);
  if (size == 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE",
                           "seal: the record does not fit the scratch or the mapping at \"at\"");
    return nullptr;
  }
  shm::PublishWalAppend(s->control, s->ownerSlot, lsn + size);
  return nullptr;
}

napi_value MapFn(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  void* data = nullptr;
  if (napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, &data) != napi_ok) return nullptr;
  auto* s = static_cast<Sealer*>(data);
  if (argc < 1) return nullptr;
  if (persist_binding::HoldView(env, argv[0], &s->map) == persist_binding::Hold::kNotAView) {
    ThrowTypeError(Napi::Env(env), "map needs (view) or (null)");
  }
  return nullptr;
}

}  // namespace

napi_value CreateRecordSealerFn(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  const void* scratch = nullptr;
  size_t capacity = 0;
  const void* control = nullptr;
  size_t controlLength = 0;
  uint32_t slot = 0;
  if (argc < 3 || !store_binding::GetBytes(env, argv[0], &scratch, &capacity) ||
      capacity < L::kWalRecordHeaderSize ||
      !store_binding::GetBytes(env, argv[1], &control, &controlLength) ||
      controlLength < L::kPersistControlBytes) {
    ThrowTypeError(Napi::Env(env),
                   "createRecordSealer needs (scratch, control, ownerSlot): a view of a record's "
                   "bytes and a view of a control segment");
    return nullptr;
  }
  if (!GetUint32(env, argv[2], "ownerSlot", 1, L::kOwnerSlots - 1, &slot)) return nullptr;
  auto* s = new (std::nothrow) Sealer;
  if (s == nullptr) {
    ThrowStatus(Napi::Env(env), L::kErrNoMemory, "createRecordSealer");
    return nullptr;
  }
  s->scratch = static_cast<uint8_t*>(const_cast<void*>(scratch));
  s->capacity = capacity;
  s->control = static_cast<uint8_t*>(const_cast<void*>(control));
  s->ownerSlot = slot;
  napi_value out = nullptr;
  if (napi_create_reference(env, argv[0], 1, &s->scratchRef) != napi_ok ||
      napi_create_reference(env, argv[1], 1, &s->controlRef) != napi_ok ||
      napi_create_object(env, &out) != napi_ok ||
      !persist_binding::AddSharedFunction(env, out, "seal", SealFn, s) ||
      !persist_binding::AddSharedFunction(env, out, "map", MapFn, s)) {
    persist_binding::FreeUnshared(env, s);
    return nullptr;
  }
  return out;
}
