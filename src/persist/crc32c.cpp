#include "persist/crc32c.h"

#include <isa-l/crc.h>

#include <climits>

namespace shm {

uint32_t Crc32c(const void* data, size_t len, uint32_t crc) noexcept {
  // crc32_iscsi neither inverts its initial value nor its result, and takes an int length.
  const unsigned char* p = static_cast<const unsigned char*>(data);
  uint32_t state = ~crc;
  constexpr size_t kChunk = size_t{1} << 30;
  static_assert(kChunk <= INT_MAX);
  while (len > 0) {
    const size_t n = len < kChunk ? len : kChunk;
    state = crc32_iscsi(const_cast<unsigned char*>(p), static_cast<int>(n), state);
    p += n;
    len -= n;
  }
  return ~state;
}

}  // namespace shm
