#include "base/sys_error.h"

#include <cerrno>
#include <cstring>

namespace shm {

Status StatusFromErrno(int err) noexcept {
  switch (err) {
    case 0:
      return layout::kOk;
    case ENOENT:
      return layout::kErrShmNotFound;
    case EEXIST:
      return layout::kErrShmExists;
    case EACCES:
    case EPERM:
    case EROFS:
    case ETXTBSY:
      return layout::kErrShmAccess;
    case ENOSPC:
    case EDQUOT:
      return layout::kErrShmNoSpace;
    // Address space or file size limits: the request is larger than the platform can map.
    case ENOMEM:
    case EFBIG:
    case EOVERFLOW:
      return layout::kErrShmTooLarge;
    // The name or path itself is unusable.
    case EINVAL:
    case ENAMETOOLONG:
    case EISDIR:
    case ENOTDIR:
    case ELOOP:
    case ENODEV:
    case ENXIO:
      return layout::kErrInvalidArg;
    case EBADF:
      return layout::kErrClosed;
    default:
      return layout::kErrShmIo;
  }
}

Status Fail(int err, const char* syscall, SysError* out) noexcept {
  if (out != nullptr) {
    out->err = err;
    out->syscall = syscall;
    out->detail = nullptr;
  }
  return StatusFromErrno(err);
}

Status FailStatus(Status status, const char* detail, SysError* out) noexcept {
  if (out != nullptr) {
    out->err = 0;
    out->syscall = nullptr;
    out->detail = detail;
  }
  return status;
}

const char* ErrnoName(int err) noexcept {
  // glibc >= 2.32. Returns null for unknown values.
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : "E?";
}

}  // namespace shm
