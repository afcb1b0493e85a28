// createLogWriter(engine, control, ownerSlot) -> { set, map }: a persisted store handle's native
// set (src/persist/wal_append.h), one crossing into C++ for the store write, the record's
// encoding, its CRC32C and its copy into the mapped log file.
//
//   set(nsId, nsName, key, value, encoding, expiresAt) -> the LSN after the record, or 0 when
//     the set was not done here (nothing changed: the caller takes the general path, which also
//     reports any refusal of the store). Arguments as NativeStore#set, plus the namespace's name,
//     or undefined for the name of the writer's previous call that gave one: its UTF-8 bytes and
//     its part of the key's stripe hash (format.md §16, "Stripes") are kept from that call, so
//     that a run of sets to one namespace converts and hashes the name once. The key's stripe is
//     computed here: over the key's UTF-8 bytes when they are ASCII (each byte is then its UTF-16
//     unit), over its UTF-16 units otherwise.
//   map(view, fileStart) / map(null): the mapping of the current log file (a Uint8Array over the
//     whole mapping; fileStart the LSN in its name), or none. The caller sets none before it
//     unmaps the file: the writer never touches memory it was not given.
//
// Invariants: the writer holds strong references to the engine object (its core outlives the
// writer), to the control segment's buffer and to the mapping's view; no JS runs inside set.
#include "binding/persist/log_writer.h"

#include "binding/base/args.h"
#include "binding/base/module.h"
#include "binding/persist/shared_fn.h"
#include "binding/store/store_binding.h"
#include "persist/wal_append.h"

namespace {

using persist_binding::DeleteRef;

namespace L = shm::layout;

struct LogWriter {
  store_binding::StoreCore* core = nullptr;
  napi_ref engine = nullptr;
  napi_ref control = nullptr;
  persist_binding::HeldView map;  // target.map and target.mapLength are its bytes
  shm::WalTarget target;
  // The namespace name last given to set: its UTF-8 bytes (nsLength 0: none usable, the set then
  // goes the general way) and the stripe hash after its units and the unit 0.
  char nsName[L::kMaxNamespaceBytes + 8];
  size_t nsLength = 0;
  uint32_t nsHash = 0;
  int refs = 0;  // the functions still alive that use this writer (shared_fn.h)

  void Release(napi_env env) {
    DeleteRef(env, &engine);
    DeleteRef(env, &control);
    persist_binding::ReleaseView(env, &map);
  }
};

napi_value Number(napi_env env, double v) {
  napi_value r = nullptr;
  napi_create_double(env, v, &r);
  return r;
}

// Takes the namespace name `v` as the writer's current one: its bytes and its stripe hash. False
// with a pending TypeError when `v` is not a string; a name of no or too many bytes is kept as
// unusable (nsLength 0).
bool TakeNsName(napi_env env, LogWriter* w, napi_value v) {
  w->nsLength = 0;
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, w->nsName, sizeof w->nsName, &n) != napi_ok) {
    ThrowTypeError(Napi::Env(env), "The \"nsName\" argument must be of type string");
    return false;
  }
  if (n == 0 || n > L::kMaxNamespaceBytes) return true;
  // A name of at most 255 UTF-8 bytes has at most 255 UTF-16 units.
  char16_t units[L::kMaxNamespaceBytes + 8];
  size_t u = 0;
  if (napi_get_value_string_utf16(env, v, units, sizeof units / sizeof units[0], &u) != napi_ok) {
    return true;
  }
  w->nsHash = shm::StripeFold(shm::StripeFoldUnits(shm::kStripeHashStart, units, u), 0);
  w->nsLength = n;
  return true;
}

// The key's stripe from the namespace's hash `h`: over the key's UTF-8 bytes when every one is
// ASCII (its UTF-16 units are then its bytes), else over the units of the string `keyValue`
// (UTF-8 cannot give them back: the conversion replaced any lone surrogate), each lone surrogate
// as U+FFFD. false when the key's units could not be read.
bool KeyStripe(napi_env env, uint32_t h, napi_value keyValue, const char* key, size_t keyLength,
               uint32_t* stripe) {
  const auto* k = reinterpret_cast<const uint8_t*>(key);
  if (store_binding::IsAscii(k, keyLength)) {
    for (size_t i = 0; i < keyLength; ++i) h = shm::StripeFold(h, k[i]);
  } else {
    // At most one unit per UTF-8 byte of a key within the limit.
    char16_t units[L::kMaxKeyBytes + 8];
    size_t u = 0;
    if (keyLength > L::kMaxKeyBytes ||
        napi_get_value_string_utf16(env, keyValue, units, sizeof units / sizeof units[0], &u) !=
            napi_ok) {
      return false;
    }
    h = shm::StripeFoldUnits(h, units, u);
  }
  *stripe = shm::StripeOfHash(h);
  return true;
}

napi_value SetFn(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 0;
  napi_value argv[6];
  auto* w = persist_binding::SharedArgs<LogWriter>(env, cbinfo, argv, &argc);
  if (w == nullptr) return nullptr;
  if (argc < 6) {
    ThrowTypeError(Napi::Env(env), "set needs (nsId, nsName, key, value, encoding, expiresAt)");
    return nullptr;
  }
  // A closed engine: the general path (it reports a closed store).
  if (!w->core->open()) return Number(env, 0);
  uint32_t ns = 0;
  if (!store_binding::GetNs(env, argv[0], 1, &ns)) return nullptr;
  napi_valuetype nameType = napi_undefined;
  if (napi_typeof(env, argv[1], &nameType) != napi_ok) return nullptr;
  if (nameType != napi_undefined && !TakeNsName(env, w, argv[1])) return nullptr;
  store_binding::SetArgs a;
  const int32_t converted =
      store_binding::ConvertSet(env, w->core, argv[2], argv[3], argv[4], argv[5], &a);
  if (converted < 0) return nullptr;
  uint32_t stripe = 0;
  if (converted != L::kOk || w->nsLength == 0 || w->target.map == nullptr ||
      !KeyStripe(env, w->nsHash, argv[2], a.key, a.keyLength, &stripe)) {
    return Number(env, 0);
  }
  shm::WalSet s;
  s.ns = ns;
  s.nsName = w->nsName;
  s.nsLength = static_cast<uint32_t>(w->nsLength);
  s.key = a.key;
  s.keyLength = static_cast<uint32_t>(a.keyLength);
  s.value = a.value;
  s.valueLength = static_cast<uint32_t>(a.valueLength);
  s.encoding = a.encoding;
  s.expiresAt = a.expiresAt;
  s.stripe = stripe;
  uint64_t end = 0;
  L::Status status = L::kOk;
  const shm::WalSetResult r = shm::SetAndLog(w->core->store.get(), w->target, s, &end, &status);
  return Number(env, r == shm::WalSetResult::kLogged ? static_cast<double>(end) : 0);
}

napi_value MapFn(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 0;
  napi_value argv[2];
  auto* w = persist_binding::SharedArgs<LogWriter>(env, cbinfo, argv, &argc);
  if (w == nullptr) return nullptr;
  persist_binding::MapLogFile(env, argc, argv, &w->map, &w->target);
  return nullptr;
}

}  // namespace

napi_value CreateLogWriterFn(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  if (argc < 3) {
    ThrowTypeError(Napi::Env(env), "createLogWriter needs (engine, control, ownerSlot)");
    return nullptr;
  }
  store_binding::StoreCore* core = store_binding::CoreOf(env, argv[0]);
  if (core == nullptr) return nullptr;
  const void* control = nullptr;
  size_t controlLength = 0;
  uint32_t slot = 0;
  // Shared memory only: the writer keeps the pointer (store_binding::GetSharedBytes).
  if (!store_binding::GetSharedBytes(env, argv[1], &control, &controlLength) ||
      controlLength < L::kPersistControlBytes) {
    ThrowTypeError(Napi::Env(env), "The \"control\" argument must be a view of a control segment");
    return nullptr;
  }
  if (!GetUint32(env, argv[2], "ownerSlot", 1, L::kOwnerSlots - 1, &slot)) return nullptr;
  auto* w = new (std::nothrow) LogWriter;
  if (w == nullptr) {
    ThrowStatus(Napi::Env(env), L::kErrNoMemory, "createLogWriter");
    return nullptr;
  }
  w->core = core;
  w->target.control = static_cast<uint8_t*>(const_cast<void*>(control));
  w->target.ownerSlot = slot;
  w->target.recoveries = shm::RecoveriesOf(w->target.control);
  napi_value out = nullptr;
  if (napi_create_reference(env, argv[0], 1, &w->engine) != napi_ok ||
      napi_create_reference(env, argv[1], 1, &w->control) != napi_ok ||
      napi_create_object(env, &out) != napi_ok ||
      !persist_binding::AddSharedFunction(env, out, "set", SetFn, w) ||
      !persist_binding::AddSharedFunction(env, out, "map", MapFn, w)) {
    persist_binding::FreeUnshared(env, w);
    return nullptr;
  }
  return out;
}
