// Shared declarations of the addon (binding/): the per-part Init functions called by addon.cc,
// the per-environment data, and the helpers that turn core status codes into JS errors.
//
// Invariants:
// - Every exported function validates its arguments itself even though lib/ validates first:
//   calling the addon directly with bad input throws, it never crashes.
// - Errors from the core are thrown as the ShmError class registered by lib/base/native.js
//   (setErrorClass) with a stable `code` from shm::layout::StatusCode, so JS sees one class.
// - Each environment (main thread, each worker) has its own AddonData; nothing JS-related is
//   shared between threads.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

#include "base/status_gen.h"
#include "base/sys_error.h"

struct FutexState;  // futex.cc

// Per-environment state of the addon, set as the environment's instance data in addon.cc.
// Parts may add members here; all members must be safe to destroy at environment teardown.
struct AddonData {
  Napi::FunctionReference error_class;    // lib/base/errors.js ShmError, set by setErrorClass()
  Napi::FunctionReference segment_class;  // SegmentHandle (segment.cc)
  // Created on the first waitAsync; owned (and freed) by its thread-safe function, never by
  // AddonData, because the instance data may be destroyed before that function's finalizer.
  FutexState* futex = nullptr;
};

AddonData* GetAddonData(Napi::Env env);

void InitSegment(Napi::Env env, Napi::Object exports);
void InitFutex(Napi::Env env, Napi::Object exports);
void InitStore(Napi::Env env, Napi::Object exports);
void InitLayout(Napi::Env env, Napi::Object exports);

// Builds ShmError(code, message, { errno, syscall, status }) for a core status. `sys` may be
// null; its errno, syscall and detail are appended to the message and set as properties.
Napi::Value MakeStatusError(Napi::Env env, shm::layout::Status status, const std::string& message,
                            const shm::SysError* sys = nullptr);

// Throws (as a pending JS exception) MakeStatusError(...). Callers return right after.
void ThrowStatus(Napi::Env env, shm::layout::Status status, const std::string& message,
                 const shm::SysError* sys = nullptr);

// Throw TypeError / RangeError with code 'ERR_INVALID_ARG' (same shape as lib/base/validate.js).
void ThrowTypeError(Napi::Env env, const std::string& message);
void ThrowRangeError(Napi::Env env, const std::string& message);

// Reads an argument that must be a JS number holding an integer in [min, max] (max <= 2^53).
// On failure throws TypeError/RangeError naming `what` and returns false.
bool GetIntegerArg(const Napi::CallbackInfo& info, size_t index, const char* what, double min,
                   double max, int64_t* out);

// Reads a string argument; throws TypeError and returns false when it is not a string or
// contains a NUL character (which would silently truncate a C path).
bool GetStringArg(const Napi::CallbackInfo& info, size_t index, const char* what, std::string* out);

// Reads a boolean argument; throws TypeError and returns false otherwise.
bool GetBoolArg(const Napi::CallbackInfo& info, size_t index, const char* what, bool* out);
