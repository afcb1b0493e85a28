// Maps operating-system errors (errno values) to the stable status codes of shm::layout::Status,
// and carries the errno and the failing system call out of the core so that the binding can
// report them. No Node headers, no exceptions.
#pragma once

#include <cstdint>

#include "base/status_gen.h"

namespace shm {

using layout::Status;

// What went wrong. `err` is the positive errno value (0 when the failure was not a system call,
// e.g. a bad size detected by the core itself); `syscall` is a static string naming the call
// ("shm_open", "mmap", ...) or nullptr; `detail` is a static human-readable reason for failures
// that have no errno ("not a regular file", ...) or nullptr. All strings have static storage.
struct SysError {
  int err = 0;
  const char* syscall = nullptr;
  const char* detail = nullptr;
};

// The status for an errno value. Every errno maps to some status; unknown ones to kErrShmIo.
Status StatusFromErrno(int err) noexcept;

// Records `err` and `syscall` into `out` (when out is not null) and returns
// StatusFromErrno(err). Lets call sites read as `return Fail(errno, "mmap", out);`.
Status Fail(int err, const char* syscall, SysError* out) noexcept;

// Records a failure that has no errno (err = 0) with a static `detail` and returns `status`.
Status FailStatus(Status status, const char* detail, SysError* out) noexcept;

// The symbolic name of an errno value ("ENOENT"), or "E?" when unknown. Never null.
const char* ErrnoName(int err) noexcept;

}  // namespace shm
