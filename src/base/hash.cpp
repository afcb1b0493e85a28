#include "base/hash.h"

#include <cstring>

// The library's own implementation, inlined into this translation unit so that the hot paths pay
// no PLT call; it is the same code as libxxhash's XXH32().
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace shm {

static_assert(XXH_VERSION_MAJOR == 0 && XXH_VERSION_MINOR >= 8, "xxHash 0.8 is required");

uint32_t Xxh32(const void* data, size_t len, uint32_t seed) noexcept {
  return XXH32(data, len, seed);
}

uint32_t HeaderChecksum(uint32_t magic, uint32_t version, uint64_t totalSize, uint32_t bucketCount,
                        uint32_t maxEntries, uint32_t maxNamespaces) noexcept {
  uint8_t image[28];
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) image[at + i] = static_cast<uint8_t>(v >> (8 * i));
  };
  put32(0, magic);
  put32(4, version);
  for (int i = 0; i < 8; ++i) image[8 + i] = static_cast<uint8_t>(totalSize >> (8 * i));
  put32(16, bucketCount);
  put32(20, maxEntries);
  put32(24, maxNamespaces);
  return XXH32(image, sizeof image, 0);
}

}  // namespace shm
