// The persist room's native functions: crc32c(view, crc) over the bytes of any ArrayBuffer view,
// applyWal(engine, view, lsn, nowMs, out), the native replay of log records into a NativeStore
// (src/persist/wal_replay.h), createLogWriter (log_writer.cc), the native logged set,
// createRecordSealer (record_sealer.cc), the sealing of the JavaScript engine's set record, and
// allocateLogSpace(fd, offset, length), the growth of a log file (src/persist/wal_file.h), and
// prefaultLogSpace (prefault.cc), the prefault of its mapping, and tryLockFileExclusive(fd), one
// try of the flock a backup takes a dead backup's marker over under (lib/persist/backup.js).
#include "binding/base/args.h"
#include "binding/base/module.h"
#include "binding/persist/log_writer.h"
#include "binding/persist/prefault.h"
#include "binding/persist/record_sealer.h"
#include "binding/store/store_binding.h"
#include "persist/crc32c.h"
#include "persist/wal_file.h"
#include "persist/wal_replay.h"

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

// allocateLogSpace(fd, offset, length) -> errno: allocates the range of the open log file `fd`
// (src/persist/wal_file.h); 0 when done, else the errno of the refusal (the caller decides).
napi_value AllocateLogSpaceFn(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  if (argc < 3) {
    ThrowTypeError(Napi::Env(env), "allocateLogSpace needs (fd, offset, length)");
    return nullptr;
  }
  uint32_t fd = 0;
  int64_t offset = 0;
  int64_t length = 0;
  // Offsets and lengths below 2^53: a file position as a Number is exact there.
  if (!GetUint32(env, argv[0], "fd", 0, INT32_MAX, &fd) ||
      !GetInteger(env, argv[1], "offset", 0, kMaxSafeInteger, &offset) ||
      !GetInteger(env, argv[2], "length", 1, kMaxSafeInteger, &length)) {
    return nullptr;
  }
  const int err = shm::AllocateLogSpace(static_cast<int>(fd), static_cast<uint64_t>(offset),
                                        static_cast<uint64_t>(length));
  napi_value out = nullptr;
  napi_create_int32(env, err, &out);
  return out;
}

// tryLockFileExclusive(fd) -> errno: tries once, without waiting, to take an exclusive flock on
// the open file or directory `fd` (src/persist/wal_file.h); closing `fd` releases it. 0 when
// taken, EWOULDBLOCK while another holds it (the caller waits, up to its deadline), else the errno.
napi_value TryLockFileExclusiveFn(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  uint32_t fd = 0;
  if (argc < 1) {
    ThrowTypeError(Napi::Env(env), "tryLockFileExclusive needs (fd)");
    return nullptr;
  }
  if (!GetUint32(env, argv[0], "fd", 0, INT32_MAX, &fd)) return nullptr;
  napi_value out = nullptr;
  napi_create_int32(env, shm::TryLockFileExclusive(static_cast<int>(fd)), &out);
  return out;
}

// applyWal(engine, view, lsn, nowMs, out, types?, skip?) -> status: applies the valid records at
// the start of `view` (the first at LSN `lsn`; lsn and nowMs in [0, 2^53)) to the NativeStore
// `engine` (format.md §16); with `types` (a u32 mask, bit t for type t), a record of another type
// stops the walk; with `skip` (a Uint8Array of a power of two bytes: the replay filter's bits,
// shm::WalSkipFilter), so does a set record it names. out, a Float64Array of 3, receives [records
// applied, their bytes, what the record after them is: 0 incomplete (read more), 1 invalid or of
// another type, 2 named by the filter]. A status other than 0 (OK) is the store's refusal of
// the record at out[1], which is not applied. No JS runs meanwhile: the core stays open.
napi_value ApplyWalFn(napi_env env, napi_callback_info cbinfo) {
  // lsn and nowMs below 2^53 (kMaxSafeInteger): a larger double, or Infinity, has no uint64_t
  // value (the conversion would be undefined behaviour).
  size_t argc = 7;
  napi_value argv[7];
  if (napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  if (argc < 5) {
    ThrowTypeError(Napi::Env(env), "applyWal needs (engine, view, lsn, nowMs, out)");
    return nullptr;
  }
  store_binding::StoreCore* core = store_binding::CoreOf(env, argv[0]);
  if (core == nullptr) return nullptr;
  const void* data = nullptr;
  size_t length = 0;
  double lsn = 0;
  double now = 0;
  napi_typedarray_type outType;
  size_t outLength = 0;
  void* outData = nullptr;
  if (!store_binding::GetBytes(env, argv[1], &data, &length) ||
      napi_get_value_double(env, argv[2], &lsn) != napi_ok ||
      napi_get_value_double(env, argv[3], &now) != napi_ok || !(lsn >= 0) || !(now >= 0) ||
      lsn > kMaxSafeInteger || now > kMaxSafeInteger ||
      napi_get_typedarray_info(env, argv[4], &outType, &outLength, &outData, nullptr, nullptr) !=
          napi_ok ||
      outType != napi_float64_array || outLength < 3) {
    ThrowTypeError(Napi::Env(env),
                   "applyWal needs a view, an LSN, a clock and a Float64Array of 3");
    return nullptr;
  }
  uint32_t types = shm::kAllWalTypes;
  napi_valuetype typesType = napi_undefined;
  if (argc >= 6 && napi_typeof(env, argv[5], &typesType) == napi_ok &&
      typesType != napi_undefined && !GetUint32(env, argv[5], "types", 0, UINT32_MAX, &types)) {
    return nullptr;
  }
  shm::WalSkipFilter skip;
  napi_valuetype skipType = napi_undefined;
  if (argc >= 7 && napi_typeof(env, argv[6], &skipType) == napi_ok && skipType != napi_undefined) {
    napi_typedarray_type skipArrayType;
    size_t skipLength = 0;
    void* skipData = nullptr;
    if (napi_get_typedarray_info(env, argv[6], &skipArrayType, &skipLength, &skipData, nullptr,
                                 nullptr) != napi_ok ||
        skipArrayType != napi_uint8_array || skipLength == 0 ||
        (skipLength & (skipLength - 1)) != 0 || skipLength > (size_t{1} << 28)) {
      ThrowTypeError(Napi::Env(env), "applyWal's skip is a Uint8Array of a power of two bytes");
      return nullptr;
    }
    skip.bits = static_cast<const uint8_t*>(skipData);
    skip.mask = static_cast<uint32_t>(skipLength * 8 - 1);
  }
  shm::WalApplied done;
  const shm::layout::Status s = shm::ApplyWalRecords(
      core->store.get(), static_cast<const uint8_t*>(data), length, static_cast<uint64_t>(lsn),
      static_cast<uint64_t>(now), &done, types, skip);
  double* out = static_cast<double*>(outData);
  out[0] = static_cast<double>(done.records);
  out[1] = static_cast<double>(done.bytes);
  out[2] = done.stop == shm::WalCheck::kInvalid     ? 1
           : done.stop == shm::WalCheck::kCandidate ? 2
                                                    : 0;
  napi_value r = nullptr;
  napi_create_uint32(env, static_cast<uint32_t>(s), &r);
  return r;
}

}  // namespace

// Plain Node-API calls: a worker terminated while it loads the addon makes them fail, and a failure
// here is then left unreported (the worker never runs JavaScript again) instead of aborting the
// process the way a node-addon-api wrapper's failure does.
void InitPersist(Napi::Env env, Napi::Object exports) {
  const struct {
    const char* name;
    napi_callback cb;
  } fns[] = {{"crc32c", Crc32cFn},
             {"applyWal", ApplyWalFn},
             {"createLogWriter", CreateLogWriterFn},
             {"createRecordSealer", CreateRecordSealerFn},
             {"allocateLogSpace", AllocateLogSpaceFn},
             {"prefaultLogSpace", PrefaultLogSpaceFn},
             {"tryLockFileExclusive", TryLockFileExclusiveFn}};
  for (const auto& f : fns) {
    napi_value fn = nullptr;
    if (napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn) != napi_ok ||
        napi_set_named_property(env, exports, f.name, fn) != napi_ok) {
      return;
    }
  }
}
