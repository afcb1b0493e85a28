// Exports `layout`: the offsets and constants as compiled into the addon from
// src/layout/layout_gen.h, in the shape of lib/layout/layout.js ({ C, S, SIZE_CLASSES, STATUS }).
// test/20-layout/layout.test.js compares the two deep-equal. Offsets and sizes come from the
// compiler (offsetof/sizeof on the generated structs), the lists of names from the generated
// X-macros, so nothing here is a copy to keep in step by hand.
#include <cstddef>
#include <map>
#include <string>

#include "binding/base/module.h"
#include "layout/layout_gen.h"

namespace L = shm::layout;

namespace {

double Num(uint64_t v) {
  return static_cast<double>(v);
}

// Each struct's object is kept here, not read back from `s`: in a worker being terminated a
// property read fails and yields an empty value, and a call on an empty value aborts the process
// (node-addon-api's Error::New on a null env). Objects made here are never empty.
Napi::Object Structs(Napi::Env env) {
  Napi::Object s = Napi::Object::New(env);
  std::map<std::string, Napi::Object> byName;
#define SHM_STRUCT(T, NAME)                  \
  {                                          \
    Napi::Object o = Napi::Object::New(env); \
    o.Set("SIZE", Num(sizeof(L::T)));        \
    s.Set(NAME, o);                          \
    byName.emplace(NAME, o);                 \
  }
  SHM_LAYOUT_STRUCTS(SHM_STRUCT)
#undef SHM_STRUCT
#define SHM_FIELD(T, TNAME, field, NAME) byName.at(TNAME).Set(NAME, Num(offsetof(L::T, field)));
  SHM_LAYOUT_FIELDS(SHM_FIELD)
#undef SHM_FIELD
  return s;
}

Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
#define SHM_CONST(k, NAME) c.Set(NAME, Num(L::k));
  SHM_LAYOUT_CONSTANTS(SHM_CONST)
#undef SHM_CONST
  return c;
}

Napi::Array SizeClasses(Napi::Env env) {
  constexpr size_t n = sizeof(L::kSizeClasses) / sizeof(L::kSizeClasses[0]);
  Napi::Array a = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; ++i) a.Set(static_cast<uint32_t>(i), L::kSizeClasses[i]);
  return a;
}

// STATUS: { CODE_NAME: number } for every code StatusCode knows (the numbers have gaps: each
// room has its own range).
Napi::Object Statuses(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  for (int32_t s = 0; s < 1024; ++s) {
    const char* name = L::StatusCode(s);
    if (std::string(name) == "ERR_UNKNOWN") continue;
    o.Set(name, Napi::Number::New(env, s));
  }
  return o;
}

}  // namespace

void InitLayout(Napi::Env env, Napi::Object exports) {
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("C", Constants(env));
  layout.Set("S", Structs(env));
  layout.Set("SIZE_CLASSES", SizeClasses(env));
  layout.Set("STATUS", Statuses(env));
  exports.Set("layout", layout);
}
