// CRC32C (src/persist/crc32c.h) against the published check values, a bitwise implementation
// from the definition, and chained computation (docs/format.md §16).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "persist/crc32c.h"

namespace shm::test {
namespace {

uint32_t Bitwise(const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return ~c;
}

TEST(Crc32c, CheckValues) {
  EXPECT_EQ(Crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(Crc32c("", 0), 0u);
  std::vector<uint8_t> zeros(32, 0), ones(32, 0xFF), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<uint8_t>(i);
    down[i] = static_cast<uint8_t>(31 - i);
  }
  EXPECT_EQ(Crc32c(zeros.data(), 32), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(ones.data(), 32), 0x62A8AB43u);
  EXPECT_EQ(Crc32c(up.data(), 32), 0x46DD794Eu);
  EXPECT_EQ(Crc32c(down.data(), 32), 0x113FDB5Cu);
}

TEST(Crc32c, RandomBuffersMatchTheDefinitionAndChain) {
  std::mt19937 rng(12345);
  std::vector<uint8_t> buf(8192);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (int i = 0; i < 200; ++i) {
    const size_t off = rng() % 64;
    const size_t len = rng() % (buf.size() - off);
    const uint32_t whole = Crc32c(buf.data() + off, len);
    ASSERT_EQ(whole, Bitwise(buf.data() + off, len)) << off << " " << len;
    const size_t cut = len == 0 ? 0 : rng() % len;
    ASSERT_EQ(Crc32c(buf.data() + off + cut, len - cut, Crc32c(buf.data() + off, cut)), whole);
  }
}

}  // namespace
}  // namespace shm::test
