// The one family of argument converters of the addon. Each reads a JS value, and on failure
// throws a TypeError (wrong type) or RangeError (a value not allowed) with code ERR_INVALID_ARG,
// naming the argument `what` in the words of lib/base/validate.js, and returns false. The
// napi_value forms serve the hot store methods (no Napi::Value wrapping); the CallbackInfo forms
// read argument `index`, undefined when it is missing.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

// 2^53 - 1, the largest integer a JS number holds exactly: the bound of every offset, size,
// LSN or clock argument a double carries.
constexpr double kMaxSafeInteger = 9007199254740991.0;

// A number holding an integer in [min, max] (max <= 2^53).
bool GetInteger(napi_env env, napi_value v, const char* what, double min, double max, int64_t* out);
// The same for a u32 range.
bool GetUint32(napi_env env, napi_value v, const char* what, uint32_t min, uint32_t max,
               uint32_t* out);
bool GetBool(napi_env env, napi_value v, const char* what, bool* out);
// A string without NUL characters (which would silently truncate a C path).
bool GetString(napi_env env, napi_value v, const char* what, std::string* out);

inline napi_value ArgAt(const Napi::CallbackInfo& info, size_t index) {
  return index < info.Length() ? static_cast<napi_value>(info[index])
                               : static_cast<napi_value>(info.Env().Undefined());
}
inline bool GetIntegerArg(const Napi::CallbackInfo& info, size_t index, const char* what,
                          double min, double max, int64_t* out) {
  return GetInteger(info.Env(), ArgAt(info, index), what, min, max, out);
}
inline bool GetStringArg(const Napi::CallbackInfo& info, size_t index, const char* what,
                         std::string* out) {
  return GetString(info.Env(), ArgAt(info, index), what, out);
}
inline bool GetBoolArg(const Napi::CallbackInfo& info, size_t index, const char* what, bool* out) {
  return GetBool(info.Env(), ArgAt(info, index), what, out);
}
