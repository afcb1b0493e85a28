// Growing a write-ahead log file (docs/format.md §16, "Log files"): the space a log handle stores
// records into through a shared mapping must be allocated before any record goes there, so that a
// store cannot fault for lack of space. lib/persist/wal.js grows the file either with written
// zeros or, in sync mode 'none', with AllocateLogSpace, and there prefaults the mapping of the
// new space with PrefaultLogSpace.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shm {

// Allocates the bytes [offset, offset + length) of the open file `fd` with fallocate(2) mode 0:
// the file grows to cover them if it is shorter, they read as zeros, their blocks are reserved on
// the file system, and no page cache is filled (a page is allocated when a record is first stored
// into it). Returns 0, or the errno of the refusal: EOPNOTSUPP where the file system cannot
// (the caller writes zeros instead), ENOSPC, EFBIG, EBADF, EINVAL (length 0). Retried on EINTR.
int AllocateLogSpace(int fd, uint64_t offset, uint64_t length) noexcept;

// Makes the pages of the shared file mapping [addr, addr + length) present and writable in this
// process's page tables in one call (madvise MADV_POPULATE_WRITE, Linux 5.14 and later), as if a
// byte of each had been stored to, without changing any byte: the page-cache pages and the file
// system's preparation for writing them are made here, once, rather than in one page fault each
// as records are first stored into them. The range is widened to whole pages. Safe while other
// threads or processes store into the same pages (nothing is written). Returns 0, or the errno:
// EINVAL where the kernel has no MADV_POPULATE_WRITE (the caller goes on without: the pages then
// fault one at a time as before), EFAULT past the end of the file, ENOMEM for a range not mapped.
int PrefaultLogSpace(void* addr, size_t length) noexcept;

// Tries once to take an exclusive flock(2) on the open file or directory `fd`, without waiting
// (LOCK_NB; retried on EINTR only): a holder that never lets go (any process may flock a
// directory it can open) must not block the caller for ever, so the caller waits between tries,
// up to a deadline of its own. The lock belongs to the open file description: closing `fd`
// releases it, and so does the end of the process that holds it, however it ends, so a holder
// killed part way never leaves it held. Returns 0 when taken, EWOULDBLOCK while another open
// file description holds it, or the errno of the refusal (EBADF, ENOLCK).
int TryLockFileExclusive(int fd) noexcept;

}  // namespace shm
