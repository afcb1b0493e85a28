#include "persist/wal_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace shm {

int AllocateLogSpace(int fd, uint64_t offset, uint64_t length) noexcept {
  // off_t is signed: a range past its largest value is one no file can have.
  constexpr uint64_t kMaxOff = static_cast<uint64_t>(INT64_MAX);
  if (length == 0 || offset > kMaxOff || length > kMaxOff - offset) return EINVAL;
  for (;;) {
    if (fallocate(fd, 0, static_cast<off_t>(offset), static_cast<off_t>(length)) == 0) return 0;
    if (errno != EINTR) return errno;
  }
}

int PrefaultLogSpace(void* addr, size_t length) noexcept {
#ifndef MADV_POPULATE_WRITE
  // Headers older than Linux 5.14: the value is the kernel's
  // (include/uapi/asm-generic/mman-common.h); a kernel without it refuses it with EINVAL.
  constexpr int MADV_POPULATE_WRITE = 23;
#endif
  if (length == 0) return 0;
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(addr) & ~(page - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(addr) + length;
  // No MADV_HUGEPAGE first: it halved the kernel time per page of a standalone loop of stores,
  // but raised a logged set's system time by about half in bench/logged-set.js (median 187 ns
  // against 119 ns per set; why was not found).
  for (;;) {
    if (madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE) == 0) return 0;
    // EINTR: a signal arrived before every page was made present; the ones done stay done.
    if (errno != EINTR) return errno;
  }
}

int TryLockFileExclusive(int fd) noexcept {
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
    if (errno != EINTR) return errno;
  }
}

}  // namespace shm
