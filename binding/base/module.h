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
void InitOwnership(Napi::Env env, Napi::Object exports);
void InitStore(Napi::Env env, Napi::Object exports);
void InitSync(Napi::Env env, Napi::Object exports);
void InitPersist(Napi::Env env, Napi::Object exports);
void InitLayout(Napi::Env env, Napi::Object exports);
void InitMsg(Napi::Env env, Napi::Object exports);

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

// Argument converters: binding/base/args.h.
