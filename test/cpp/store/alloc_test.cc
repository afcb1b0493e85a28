// The allocator (src/store/alloc.cpp, docs/format.md §8): size classes, exhaustion of the pool,
// and reuse of freed blocks.
#include <gtest/gtest.h>

#include <string>

#include "store/alloc.h"
#include "store/store.h"
#include "test_util.h"

namespace shm::test {
namespace {

TEST(Alloc, SizeClasses) {
  EXPECT_EQ(SizeClassFor(1), 0u);
  EXPECT_EQ(SizeClassFor(8), 7u);
  EXPECT_EQ(SizeClassFor(9), 8u);  // 10 units
  EXPECT_EQ(SizeClassFor(2048), 39u);
  EXPECT_EQ(SizeClassFor(2049), kClassCount);
  EXPECT_EQ(UnitsForEntry(14, 100), 3u);  // 146 bytes
  EXPECT_EQ(UnitsForEntry(0, 32), 1u);
  EXPECT_EQ(UnitsForEntry(0, 33), 2u);
  // The largest entry fits the largest class.
  EXPECT_LT(SizeClassFor(UnitsForEntry(kMaxKeyBytes, kMaxValueBytes)), kClassCount);
}

class StoreAlloc : public OpenStore {};

TEST_F(StoreAlloc, SpaceExhaustionGivesStoreFull) {
  Region small(EntriesOffset(16) + 64 * 1000);
  ASSERT_EQ(Store::Create(small.base(), small.size(), 16, 100000), L::kOk);
  auto t = Open(small);
  const uint32_t id = Ns(*t, "x");
  const std::string big(60000, 'b');  // 940 units: class 1024
  int stored = 0;
  Status st;
  while ((st = Put(*t, id, "k" + std::to_string(stored), big)) == L::kOk) ++stored;
  EXPECT_EQ(st, L::kErrStoreFull);
  EXPECT_EQ(stored, 0);  // 1024 units do not fit in 1000
  for (int i = 0; i < 1000; ++i) {
    st = Put(*t, id, "s" + std::to_string(i), std::string(100, 's'));  // 3 units
    if (st != L::kOk) break;
  }
  EXPECT_EQ(st, L::kErrStoreFull);
  EXPECT_EQ(t->Count(0), 333u);  // 333 * 3 = 999 units
  EXPECT_EQ(GetStr(*t, id, "s7"), std::string(100, 's'));
  VerifyOk(*t);
  // Freed blocks are reused.
  EXPECT_TRUE(Del(*t, id, "s7"));
  EXPECT_EQ(Put(*t, id, "again", std::string(60, 'a')), L::kErrStoreFull);  // 2 units: none free
  EXPECT_EQ(Put(*t, id, "again", std::string(100, 'a')), L::kOk);           // class 2: reused
}

TEST_F(StoreAlloc, AllocatorReusesFreedBlocks) {
  const std::string v(100, 'v');
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), v), L::kOk);
  const uint32_t high = r.header()->freeHead;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 1000; ++i) EXPECT_TRUE(Del(*s, ns, "k" + std::to_string(i)));
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), v), L::kOk);
  }
  for (int i = 0; i < 20000; ++i) ASSERT_EQ(Put(*s, ns, "k7", v), L::kOk);  // overwrite in place
  EXPECT_EQ(r.header()->freeHead, high + 3);  // one spare block for the replace
  StoreStats st;
  ASSERT_EQ(s->Stats(&st), L::kOk);
  EXPECT_EQ(st.bytesLive, 1000u * 3 * 64);
  EXPECT_EQ(st.bytesFreeLists, 3u * 64);
  VerifyOk(*s);
}

}  // namespace
}  // namespace shm::test
