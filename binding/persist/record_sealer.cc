// createRecordSealer(scratch, control, ownerSlot, out) -> { begin, put, seal, map }: the
// JavaScript engine's logged set (lib/persist/logged-store.js, _fastSet) around its store write,
// in two crossings into C++: before it, the append lock and the record's place; after it, the
// record's LSN and expiry, its CRC32C (ISA-L), its copy into the mapped log file, the tail moved
// past it and the append lock released (src/persist/wal_append.h).
//
//   begin(stripe) -> true, or false: takes the append lock as `ownerSlot` and the place of the
//   record
//     encoded in `scratch` at the tail, when the lock is free (or freed within a short spin and a
//     few yields), the key's `stripe` is free, the log has not failed, the control segment's
//     startLsn is the fileStart of the mapping and the record fits the allocated file and the
//     mapping (TakeMappedAppend); false with nothing held otherwise (the caller then takes the
//     lock in JavaScript, which waits, grows and maps the file).
//   put() -> the LSN after the record: seals the record of the last begin with the expiry the
//     engine's last set left in `out` (lib/store/contract.js, OUT_EXPIRY), copies it to its place,
//     moves the tail past it and releases the append lock. A RangeError, with nothing written,
//     when no begin precedes it (a caller whose store write failed releases the lock itself), or
//     with the lock released when the scratch's record no longer fits the place begin took.
//   seal(lsn, expiresAt, at): for an append whose lock the caller took in JavaScript (wal.js
//     lockMapped): seals the record, copies it to byte `at` of the mapping, stores lsn + its size
//     as the tail and releases the append lock. Throws a RangeError, with nothing written and the
//     lock still held, when there is no mapping or the record does not fit the scratch or the
//     mapping from `at` (a caller's bug: the append lock's holder checked the place).
//   map(view, fileStart) / map(null): the mapping of the current log file (a Uint8Array over the
//     whole mapping; fileStart the LSN in its name), or none. The caller sets none before it
//     unmaps the file: the sealer never touches memory it was not given.
//
// Invariants: the sealer holds strong references to the scratch's, the control segment's, the
// out words' and the mapping's views, so their memory stays theirs while it has the pointers; no
// JavaScript runs inside its calls. Plain Node-API with few number arguments: a call costs less
// than the atomics, the checks and the checksum it replaces in JavaScript.
#include "binding/persist/record_sealer.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "base/atomic.h"
#include "binding/base/args.h"
#include "binding/base/module.h"
#include "binding/persist/shared_fn.h"
#include "binding/store/store_binding.h"
#include "ownership/lockword.h"
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
  napi_ref outRef = nullptr;
  const uint8_t* out = nullptr;  // the engine's out words (L::GetOut)
  shm::WalTarget target;         // control, ownerSlot and the mapping (map.bytes, map.length)
  // The append begin took and put ends: its LSN, its byte offset in the mapping, the lock's word.
  bool begun = false;
  uint64_t lsn = 0;
  uint64_t at = 0;
  uint32_t held = 0;
  persist_binding::HeldView map;
  int refs = 0;  // the functions still alive that use this sealer (shared_fn.h)

  void Release(napi_env env) {
    DeleteRef(env, &scratchRef);
    DeleteRef(env, &controlRef);
    DeleteRef(env, &outRef);
    persist_binding::ReleaseView(env, &map);
  }
};

// A whole number in [0, 2^53). Whole is checked by the round trip through uint64_t, not floor():
// a call out of line that took a fifth of a seal's time.
bool GetPosition(napi_env env, napi_value v, uint64_t* out) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d > kMaxSafeInteger) {
    return false;
  }
  const auto u = static_cast<uint64_t>(d);
  if (static_cast<double>(u) != d) return false;
  *out = u;
  return true;
}

napi_value SealFn(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 0;
  napi_value argv[3];
  auto* s = persist_binding::SharedArgs<Sealer>(env, cbinfo, argv, &argc);
  if (s == nullptr) return nullptr;
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

// The aligned size of the record encoded in the scratch, 0 when its length field is below the
// header or it does not fit the scratch.
uint64_t ScratchRecordSize(const Sealer* s) {
  uint32_t length = 0;
  std::memcpy(&length, s->scratch + offsetof(L::WalRecord, length), sizeof length);
  const uint64_t size =
      (uint64_t{length} + L::kWalRecordAlign - 1) / L::kWalRecordAlign * L::kWalRecordAlign;
  return length < L::kWalRecordHeaderSize || size > s->capacity ? 0 : size;
}

napi_value BeginFn(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 0;
  napi_value argv[1];
  auto* s = persist_binding::SharedArgs<Sealer>(env, cbinfo, argv, &argc);
  if (s == nullptr) return nullptr;
  uint32_t stripe = 0;
  if (argc < 1 || !GetUint32(env, argv[0], "stripe", 0, L::kPersistStripes - 1, &stripe)) {
    return nullptr;
  }
  const uint64_t size = ScratchRecordSize(s);
  s->begun = size != 0 && shm::TakeMappedAppend(s->target, stripe, size, &s->lsn, &s->at, &s->held);
  // A boolean, not the LSN: a number past 2^31 would be allocated on every call.
  napi_value out = nullptr;
  napi_get_boolean(env, s->begun, &out);
  return out;
}

napi_value PutFn(napi_env env, napi_callback_info cbinfo) {
  auto* s = persist_binding::SharedObject<Sealer>(env, cbinfo);
  if (s == nullptr) return nullptr;
  if (!s->begun || s->target.map == nullptr) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "put: no append begun");
    return nullptr;
  }
  s->begun = false;
  // The expiry as the engines leave it: two 32-bit words, the low one first
  // (lib/store/contract.js).
  constexpr size_t kExpiry = offsetof(L::GetOut, expiresAt);
  uint32_t lo = 0;
  uint32_t hi = 0;
  std::memcpy(&lo, s->out + kExpiry, sizeof lo);
  std::memcpy(&hi, s->out + kExpiry + sizeof lo, sizeof hi);
  const uint64_t expiresAt = (uint64_t{hi} << 32) | lo;
  // begin checked that the record fits the scratch and the mapping at its place; a record changed
  // since (a caller's bug) is refused, with the lock released and nothing logged.
  const uint64_t size = shm::SealWalRecord(s->target.map + s->at, s->target.mapLength - s->at,
                                           s->scratch, s->capacity, s->lsn, expiresAt);
  auto* log = reinterpret_cast<L::PersistLog*>(s->control + L::kPersistLogOffset);
  if (size != 0) shm::AtomicStore64(&log->tail, s->lsn + size);
  shm::Unlock(&log->appendLock, s->held);
  if (size == 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "put: the record does not fit its place");
    return nullptr;
  }
  napi_value out = nullptr;
  napi_create_double(env, static_cast<double>(s->lsn + size), &out);
  return out;
}

napi_value MapFn(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 0;
  napi_value argv[2];
  auto* s = persist_binding::SharedArgs<Sealer>(env, cbinfo, argv, &argc);
  if (s == nullptr) return nullptr;
  if (argc >= 1) s->begun = false;
  persist_binding::MapLogFile(env, argc, argv, &s->map, &s->target);
  return nullptr;
}

}  // namespace

napi_value CreateRecordSealerFn(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  const void* scratch = nullptr;
  size_t capacity = 0;
  const void* control = nullptr;
  size_t controlLength = 0;
  const void* outWords = nullptr;
  size_t outLength = 0;
  uint32_t slot = 0;
  // Views of shared memory only: the sealer keeps their pointers, which a plain ArrayBuffer's
  // detach (a transfer) would leave dangling (store_binding::GetSharedBytes).
  if (argc < 4 || !store_binding::GetSharedBytes(env, argv[0], &scratch, &capacity) ||
      capacity < L::kWalRecordHeaderSize ||
      !store_binding::GetSharedBytes(env, argv[1], &control, &controlLength) ||
      controlLength < L::kPersistControlBytes ||
      !store_binding::GetSharedBytes(env, argv[3], &outWords, &outLength) ||
      outLength < sizeof(L::GetOut) ||
      reinterpret_cast<uintptr_t>(outWords) % alignof(uint64_t) != 0) {
    ThrowTypeError(Napi::Env(env),
                   "createRecordSealer needs (scratch, control, ownerSlot, out): views over "
                   "SharedArrayBuffers of a record's bytes, of a control segment and of a store's "
                   "out words");
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
  s->out = static_cast<const uint8_t*>(outWords);
  s->target.control = s->control;
  s->target.ownerSlot = slot;
  s->target.recoveries = shm::RecoveriesOf(s->control);
  napi_value out = nullptr;
  if (napi_create_reference(env, argv[0], 1, &s->scratchRef) != napi_ok ||
      napi_create_reference(env, argv[1], 1, &s->controlRef) != napi_ok ||
      napi_create_reference(env, argv[3], 1, &s->outRef) != napi_ok ||
      napi_create_object(env, &out) != napi_ok ||
      !persist_binding::AddSharedFunction(env, out, "begin", BeginFn, s) ||
      !persist_binding::AddSharedFunction(env, out, "put", PutFn, s) ||
      !persist_binding::AddSharedFunction(env, out, "seal", SealFn, s) ||
      !persist_binding::AddSharedFunction(env, out, "map", MapFn, s)) {
    persist_binding::FreeUnshared(env, s);
    return nullptr;
  }
  return out;
}
