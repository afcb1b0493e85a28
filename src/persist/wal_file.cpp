#include "persist/wal_file.h"

#include <fcntl.h>

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

}  // namespace shm
