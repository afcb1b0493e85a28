// Growing a write-ahead log file (docs/format.md §16, "Log files"): the space a log handle stores
// records into through a shared mapping must be allocated before any record goes there, so that a
// store cannot fault for lack of space. lib/persist/wal.js grows the file either with written
// zeros or, in sync mode 'none', with AllocateLogSpace.
#pragma once

#include <cstdint>

namespace shm {

// Allocates the bytes [offset, offset + length) of the open file `fd` with fallocate(2) mode 0:
// the file grows to cover them if it is shorter, they read as zeros, their blocks are reserved on
// the file system, and no page cache is filled (a page is allocated when a record is first stored
// into it). Returns 0, or the errno of the refusal: EOPNOTSUPP where the file system cannot
// (the caller writes zeros instead), ENOSPC, EFBIG, EBADF, EINVAL (length 0). Retried on EINTR.
int AllocateLogSpace(int fd, uint64_t offset, uint64_t length) noexcept;

}  // namespace shm
