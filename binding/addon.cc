// Module entry: creates the per-environment AddonData, registers every part and the error
// helpers shared by them (declared in module.h).
#include <node_version.h>

#include <cmath>
#include <cstring>

#include "binding/base/module.h"

namespace {

void DeleteAddonData(Napi::Env, AddonData* data) {
  delete data;
}

// setErrorClass(ShmError): the constructor native errors are built with in this environment.
Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    ThrowTypeError(env, "setErrorClass: expected a constructor function");
    return env.Undefined();
  }
  GetAddonData(env)->error_class = Napi::Persistent(info[0].As<Napi::Function>());
  return env.Undefined();
}

Napi::Value MakeCodedError(Napi::Env env,
                           napi_status (*make)(napi_env, napi_value, napi_value, napi_value*),
                           const std::string& message) {
  napi_value code = Napi::String::New(env, "ERR_INVALID_ARG");
  napi_value msg = Napi::String::New(env, message);
  napi_value err = nullptr;
  make(env, code, msg, &err);
  return Napi::Value(env, err);
}

}  // namespace

AddonData* GetAddonData(Napi::Env env) {
  return env.GetInstanceData<AddonData>();
}

Napi::Value MakeStatusError(Napi::Env env, shm::layout::Status status, const std::string& message,
                            const shm::SysError* sys) {
  std::string text = message;
  if (sys != nullptr && sys->detail != nullptr) text += std::string(": ") + sys->detail;
  if (sys != nullptr && sys->err != 0) {
    text += std::string(": ") + strerror(sys->err) + " (" + shm::ErrnoName(sys->err);
    if (sys->syscall != nullptr) text += std::string(", ") + sys->syscall;
    text += ")";
  }
  const char* code = shm::layout::StatusCode(status);
  Napi::Object extra = Napi::Object::New(env);
  extra.Set("status", Napi::Number::New(env, status));
  if (sys != nullptr && sys->err != 0) extra.Set("errno", Napi::Number::New(env, sys->err));
  if (sys != nullptr && sys->syscall != nullptr) extra.Set("syscall", sys->syscall);

  AddonData* data = GetAddonData(env);
  if (data != nullptr && !data->error_class.IsEmpty()) {
    Napi::Value err =
        data->error_class.New({Napi::String::New(env, code), Napi::String::New(env, text), extra});
    if (!env.IsExceptionPending()) return err;
    env.GetAndClearPendingException();  // a broken error class must not hide the real error
  }
  // No class registered (addon used directly): a plain Error with the same properties.
  Napi::Object plain = Napi::Error::New(env, text).Value();
  plain.Set("code", code);
  Napi::Array keys = extra.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    Napi::Value k = keys.Get(i);
    plain.Set(k, extra.Get(k));
  }
  return plain;
}

void ThrowStatus(Napi::Env env, shm::layout::Status status, const std::string& message,
                 const shm::SysError* sys) {
  Napi::Value err = MakeStatusError(env, status, message, sys);
  napi_throw(env, err);
}

void ThrowTypeError(Napi::Env env, const std::string& message) {
  napi_throw(env, MakeCodedError(env, napi_create_type_error, message));
}

void ThrowRangeError(Napi::Env env, const std::string& message) {
  napi_throw(env, MakeCodedError(env, napi_create_range_error, message));
}

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<AddonData, DeleteAddonData>(new AddonData());
  // The Node ABI this file was compiled for; lib/base/native.js compares it with the running node
  // (it also checks build/Release/abi.json before loading, since a mismatched V8 ABI may not
  // even get this far).
  exports.Set("moduleVersion", Napi::Number::New(env, NODE_MODULE_VERSION));
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  // A worker terminated while it loads the addon makes every later call fail: stop at the first
  // failed step (the load fails in that worker, which is ending anyway) rather than go on with
  // values that failed calls left empty.
  using InitStep = void (*)(Napi::Env, Napi::Object);
  const InitStep steps[] = {InitLayout, InitSegment, InitFutex, InitOwnership,
                            InitStore,  InitPersist, InitSync,  InitMsg};
  for (InitStep step : steps) {
    if (env.IsExceptionPending()) break;
    step(env, exports);
  }
  return exports;
}

}  // namespace

NODE_API_MODULE(shmstore, Init)
