// XXH32 (src/base/hash.h) against xxHash's published vectors, and the hashes the format derives
// from it: keyHash, the entry checksum and the header checksum (docs/format.md §1).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "base/hash.h"

namespace shm::test {
namespace {

// xxHash's own sanity buffer (xsum_sanity_check.c): byte i is the top byte of PRIME32 *
// PRIME64^i.
std::vector<uint8_t> SanityBuffer(size_t len) {
  std::vector<uint8_t> b(len);
  uint64_t gen = 2654435761u;
  for (size_t i = 0; i < len; ++i) {
    b[i] = static_cast<uint8_t>(gen >> 56);
    gen *= 11400714785074694797ull;
  }
  return b;
}

TEST(Xxh32, KnownVectors) {
  const uint32_t prime32 = 2654435761u;
  auto buf = SanityBuffer(222);
  EXPECT_EQ(Xxh32(buf.data(), 0, 0), 0x02CC5D05u);
  EXPECT_EQ(Xxh32(buf.data(), 0, prime32), 0x36B78AE7u);
  EXPECT_EQ(Xxh32(buf.data(), 1, 0), 0xCF65B03Eu);
  EXPECT_EQ(Xxh32(buf.data(), 1, prime32), 0xB4545AA4u);
  EXPECT_EQ(Xxh32(buf.data(), 14, 0), 0x1208E7E2u);
  EXPECT_EQ(Xxh32(buf.data(), 14, prime32), 0x6AF1D1FEu);
  EXPECT_EQ(Xxh32(buf.data(), 222, 0), 0x5BD11DBDu);
  EXPECT_EQ(Xxh32(buf.data(), 222, prime32), 0x58803C5Fu);
  EXPECT_EQ(Xxh32("abc", 3, 0), 0x32D153FFu);
  EXPECT_EQ(Xxh32("", 0, 0), 0x02CC5D05u);
}

TEST(Xxh32, FormatDerivedHashes) {
  EXPECT_EQ(KeyHash("key", 3, 7), Xxh32("key", 3, 7));
  EXPECT_EQ(EntryChecksum("kv", 2, 0x1234u, 2), Xxh32("kv", 2, 0x1234u ^ 2u));
  // headerChecksum is over the little-endian 28-byte image.
  uint8_t image[28] = {};
  const uint32_t magic = 0x464C4F57, version = 1, buckets = 1024, maxEntries = 5000, maxNs = 300;
  const uint64_t total = 1 << 22;
  std::memcpy(image, &magic, 4);
  std::memcpy(image + 4, &version, 4);
  std::memcpy(image + 8, &total, 8);
  std::memcpy(image + 16, &buckets, 4);
  std::memcpy(image + 20, &maxEntries, 4);
  std::memcpy(image + 24, &maxNs, 4);
  EXPECT_EQ(HeaderChecksum(magic, version, total, buckets, maxEntries, maxNs), Xxh32(image, 28, 0));
}

}  // namespace
}  // namespace shm::test
