// NativeMutex: the JS face of shm::sync::Mutex (src/sync/mutex.h), the native implementation of
// the sync region's mutex (docs/format.md §13) over a SharedArrayBuffer: a region that JS Mutex
// handles (lib/sync/mutex.js) use at the same time. One handle per thread, like a JS handle.
//
//   new NativeMutex(sab, byteOffset, pid, tid)
//   lock(timeoutMs?) -> recovered (boolean); throws ShmError ERR_LOCK_TIMEOUT
//   tryLock() -> 0 (not acquired), 1 (acquired), 2 (acquired, recovered)
//   unlock() -> undefined; throws ShmError ERR_NOT_OWNER
//   close(), held(), slot(), recoveries()
//
// Invariants:
// - Methods are per-instance functions whose data is the core (no napi_unwrap per call), and
//   they validate their arguments themselves: a direct call with bad input throws.
// - lock() blocks the JS thread in the core, which looks once per recheck period (50 ms) whether
//   the environment is stopping (worker.terminate(), process exit) and then gives up: a blocked
//   lock() never holds up a teardown.
// - The environment's teardown closes the handle (an env cleanup hook): a handle of a terminated
//   worker that held the mutex abandons it, so the next acquirer is told recovered, and its
//   owner slot is released.
#include <cmath>
#include <cstdio>
#include <new>
#include <string>

#include "binding/base/args.h"
#include "binding/base/module.h"
#include "binding/segment/external_sab.h"
#include "sync/mutex.h"

namespace {

namespace L = shm::layout;
using shm::sync::Mutex;

struct MutexCore {
  napi_env env = nullptr;
  Mutex mutex;
  napi_ref sab_ref = nullptr;  // keeps the memory of the region alive while the handle is open
  int refs = 0;                // the object and each of its method functions
  bool hooked = false;         // the teardown hook is registered

  // Closes the handle (abandoning a held mutex) and drops the buffer. Idempotent.
  void Close() noexcept {
    mutex.Close();
    if (sab_ref != nullptr) {
      napi_delete_reference(env, sab_ref);
      sab_ref = nullptr;
    }
  }
  void Unref() noexcept;
};

void OnTeardown(void* arg) {
  auto* core = static_cast<MutexCore*>(arg);
  core->hooked = false;
  core->Close();
}

void MutexCore::Unref() noexcept {
  if (--refs > 0) return;
  if (hooked) napi_remove_env_cleanup_hook(env, OnTeardown, this);
  Close();
  delete this;
}

void UnrefCore(napi_env, void* data, void*) {
  static_cast<MutexCore*>(data)->Unref();
}

napi_value Undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

// True when the environment is stopping: Node-API calls that may run JS then fail with a pending
// exception although none was thrown (Node sets the flag from the thread that terminates a worker).
bool EnvStopping(void* ctx) {
  auto env = static_cast<napi_env>(ctx);
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || pending) return false;
  napi_value zero, number;
  if (napi_create_int32(env, 0, &zero) != napi_ok) return false;
  const napi_status s = napi_coerce_to_number(env, zero, &number);
  return s == napi_pending_exception || s == napi_cannot_run_js;
}

// The core of a method call, and its arguments (up to 1).
MutexCore* CoreOf(napi_env env, napi_callback_info info, napi_value* arg) {
  size_t argc = 1;
  napi_value argv[1];
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok) return nullptr;
  if (arg != nullptr) *arg = argc >= 1 ? argv[0] : Undefined(env);
  return static_cast<MutexCore*>(data);
}

// A timeout as JS prints it (20, 0.5, Infinity), for messages.
std::string Millis(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", ms);
  return std::isinf(ms) ? "Infinity" : buf;
}

void Throw(napi_env env, L::Status s, const std::string& message) {
  ThrowStatus(Napi::Env(env), s, message);
}

// lock(timeoutMs?) -> recovered
napi_value Lock(napi_env env, napi_callback_info info) {
  napi_value arg;
  MutexCore* core = CoreOf(env, info, &arg);
  if (core == nullptr) return nullptr;
  napi_valuetype type;
  napi_typeof(env, arg, &type);
  int64_t timeout_ns = shm::sync::kForever;
  double ms = INFINITY;
  if (type != napi_undefined) {
    if (type != napi_number || napi_get_value_double(env, arg, &ms) != napi_ok) {
      ThrowTypeError(Napi::Env(env), "The \"timeoutMs\" argument must be of type number");
      return nullptr;
    }
    if (!(ms >= 0)) {
      ThrowRangeError(Napi::Env(env), "The \"timeoutMs\" argument must be >= 0");
      return nullptr;
    }
    if (std::isfinite(ms) && ms < 9.2e12) timeout_ns = static_cast<int64_t>(ms * 1e6);
  }
  bool recovered = false;
  const L::Status s =
      core->mutex.Lock(timeout_ns, &recovered, shm::sync::StopCheck{EnvStopping, env});
  if (s == L::kOk) {
    napi_value r;
    napi_get_boolean(env, recovered, &r);
    return r;
  }
  // The environment is stopping: no JS error can be made any more, and none will be seen.
  if (s == L::kErrClosed && core->mutex.open()) return nullptr;
  if (s == L::kErrLockTimeout) {
    Throw(env, s,
          core->mutex.held() ? "This handle already holds the mutex (it is not recursive)"
                             : "Mutex not acquired within " + Millis(ms) + " ms");
  } else {
    Throw(env, s, std::string("lock: ") + L::StatusCode(s));
  }
  return nullptr;
}

// tryLock() -> 0 | 1 | 2
napi_value TryLock(napi_env env, napi_callback_info info) {
  MutexCore* core = CoreOf(env, info, nullptr);
  if (core == nullptr) return nullptr;
  bool acquired, recovered;
  const L::Status s = core->mutex.TryLock(&acquired, &recovered);
  if (s != L::kOk) {
    Throw(env, s, std::string("tryLock: ") + L::StatusCode(s));
    return nullptr;
  }
  napi_value r;
  napi_create_int32(env, acquired ? (recovered ? 2 : 1) : 0, &r);
  return r;
}

napi_value Unlock(napi_env env, napi_callback_info info) {
  MutexCore* core = CoreOf(env, info, nullptr);
  if (core == nullptr) return nullptr;
  const L::Status s = core->mutex.Unlock();
  if (s == L::kErrNotOwner) {
    Throw(env, s, "unlock() of a mutex this handle does not hold (or that was taken over)");
    return nullptr;
  }
  if (s != L::kOk) {
    Throw(env, s, std::string("unlock: ") + L::StatusCode(s));
    return nullptr;
  }
  return Undefined(env);
}

napi_value Close(napi_env env, napi_callback_info info) {
  MutexCore* core = CoreOf(env, info, nullptr);
  if (core != nullptr) core->Close();
  return Undefined(env);
}

napi_value Held(napi_env env, napi_callback_info info) {
  MutexCore* core = CoreOf(env, info, nullptr);
  if (core == nullptr) return nullptr;
  napi_value r;
  napi_get_boolean(env, core->mutex.held(), &r);
  return r;
}

napi_value Slot(napi_env env, napi_callback_info info) {
  MutexCore* core = CoreOf(env, info, nullptr);
  if (core == nullptr) return nullptr;
  napi_value r;
  napi_create_uint32(env, core->mutex.slot(), &r);
  return r;
}

napi_value Recoveries(napi_env env, napi_callback_info info) {
  MutexCore* core = CoreOf(env, info, nullptr);
  if (core == nullptr) return nullptr;
  napi_value r;
  napi_create_uint32(env, core->mutex.Recoveries(), &r);
  return r;
}

struct MethodDef {
  const char* name;
  napi_callback cb;
};
constexpr MethodDef kMethods[] = {
    {"lock", Lock}, {"tryLock", TryLock}, {"unlock", Unlock},         {"close", Close},
    {"held", Held}, {"slot", Slot},       {"recoveries", Recoveries},
};
constexpr size_t kMethodCount = sizeof(kMethods) / sizeof(kMethods[0]);

// Establishes: the object has the methods as its own properties, each holding a reference on
// the core; false with an exception pending otherwise (the object's finalizer frees the core).
bool DefineMethods(napi_env env, napi_value self, MutexCore* core) {
  napi_property_descriptor props[kMethodCount];
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
  return napi_define_properties(env, self, kMethodCount, props) == napi_ok;
}

// new NativeMutex(sab, byteOffset, pid, tid)
napi_value Construct(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_value self;
  if (napi_get_cb_info(env, info, &argc, argv, &self, nullptr) != napi_ok) return nullptr;
  napi_value newTarget = nullptr;
  if (napi_get_new_target(env, info, &newTarget) != napi_ok || newTarget == nullptr) {
    ThrowTypeError(Napi::Env(env), "NativeMutex must be called with new");
    return nullptr;
  }
  napi_value undef = Undefined(env);
  for (size_t i = argc; i < 4; ++i) argv[i] = undef;
  void* data = nullptr;
  size_t length = 0;
  if (!GetSharedArrayBufferData(env, argv[0], &data, &length)) {
    ThrowTypeError(Napi::Env(env), "The \"buffer\" argument must be a SharedArrayBuffer");
    return nullptr;
  }
  int64_t offset;
  uint32_t pid, tid;
  if (!GetInteger(env, argv[1], "byteOffset", 0, kMaxSafeInteger, &offset) ||
      !GetUint32(env, argv[2], "pid", 1, UINT32_MAX, &pid) ||
      !GetUint32(env, argv[3], "tid", 0, UINT32_MAX, &tid)) {
    return nullptr;
  }
  if (offset % shm::sync::kRegionAlign != 0) {
    ThrowRangeError(Napi::Env(env), "The \"byteOffset\" argument must be a multiple of 64");
    return nullptr;
  }
  if (static_cast<uint64_t>(offset) + shm::sync::kRegionBytes > length) {
    ThrowRangeError(Napi::Env(env),
                    "The \"buffer\" argument must hold a sync region at byteOffset");
    return nullptr;
  }
  auto* core = new (std::nothrow) MutexCore();
  if (core == nullptr) {
    Throw(env, L::kErrNoMemory, "open: ERR_NO_MEMORY");
    return nullptr;
  }
  core->env = env;
  const L::Status s =
      core->mutex.Open(static_cast<uint8_t*>(data) + offset, length - offset, pid, tid);
  if (s != L::kOk) {
    delete core;
    Throw(env, s, std::string("open: ") + L::StatusCode(s));
    return nullptr;
  }
  if (napi_create_reference(env, argv[0], 1, &core->sab_ref) != napi_ok ||
      napi_wrap(env, self, core, UnrefCore, nullptr, nullptr) != napi_ok) {
    core->Close();
    delete core;
    Throw(env, L::kErrInvalidArg, "open: cannot reference the buffer");
    return nullptr;
  }
  core->refs = 1;  // the object itself
  core->hooked = napi_add_env_cleanup_hook(env, OnTeardown, core) == napi_ok;
  if (!DefineMethods(env, self, core)) return nullptr;
  return self;
}

}  // namespace

void InitSync(Napi::Env env, Napi::Object exports) {
  napi_value cls;
  if (napi_define_class(env, "NativeMutex", NAPI_AUTO_LENGTH, Construct, nullptr, 0, nullptr,
                        &cls) != napi_ok) {
    return;
  }
  exports.Set("NativeMutex", Napi::Value(env, cls));
}
