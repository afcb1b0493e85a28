#include "binding/base/args.h"

#include <cmath>

#include "binding/base/module.h"

namespace {

bool Fail(bool type, napi_env env, const char* what, const char* must) {
  const std::string message = std::string("The \"") + what + "\" argument " + must;
  if (type) {
    ThrowTypeError(Napi::Env(env), message);
  } else {
    ThrowRangeError(Napi::Env(env), message);
  }
  return false;
}

}  // namespace

bool GetInteger(napi_env env, napi_value v, const char* what, double min, double max,
                int64_t* out) {
  double d;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number ||
      napi_get_value_double(env, v, &d) != napi_ok) {
    return Fail(true, env, what, "must be of type number");
  }
  if (!std::isfinite(d) || std::trunc(d) != d || d < min || d > max) {
    return Fail(false, env, what, "is out of range");
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool GetUint32(napi_env env, napi_value v, const char* what, uint32_t min, uint32_t max,
               uint32_t* out) {
  int64_t i;
  if (!GetInteger(env, v, what, min, max, &i)) return false;
  *out = static_cast<uint32_t>(i);
  return true;
}

bool GetBool(napi_env env, napi_value v, const char* what, bool* out) {
  if (napi_get_value_bool(env, v, out) != napi_ok) {
    return Fail(true, env, what, "must be of type boolean");
  }
  return true;
}

bool GetString(napi_env env, napi_value v, const char* what, std::string* out) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok) {
    return Fail(true, env, what, "must be of type string");
  }
  out->assign(len, '\0');
  if (napi_get_value_string_utf8(env, v, out->data(), len + 1, &len) != napi_ok) {
    return Fail(true, env, what, "must be of type string");
  }
  if (out->find('\0') != std::string::npos) return Fail(true, env, what, "must not contain NUL");
  return true;
}
