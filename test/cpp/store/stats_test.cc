// stats() and the counters (src/store/stats.cpp): the byte accounting adds up, and the private
// read/write counts of every handle reach the header.
#include <gtest/gtest.h>

#include <string>

#include "store/store.h"
#include "test_util.h"

namespace shm::test {
namespace {

class StoreStatistics : public OpenStore {};

TEST_F(StoreStatistics, StatsAddUp) {
  const std::string v(100, 'v');
  for (int i = 0; i < 100; ++i) ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), v), L::kOk);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(Del(*s, ns, "k" + std::to_string(i)));
  for (int i = 0; i < 50; ++i) GetStr(*s, ns, "k" + std::to_string(i));
  StoreStats st;
  ASSERT_EQ(s->Stats(&st), L::kOk);
  EXPECT_EQ(st.entries, 90u);
  EXPECT_EQ(st.maxEntries, 5000u);
  EXPECT_EQ(st.buckets, 256u);
  EXPECT_EQ(st.namespaces, 1u);
  EXPECT_EQ(st.bytesTotal, r.size());
  // 130 or 131 bytes: 9 units each; bytesLive counts the rest of the inserts' last batch, parked
  // for this handle (format.md §8, "Parked blocks").
  EXPECT_EQ(st.bytesLive - st.bytesParked, 90u * 9 * kBlockUnit);
  EXPECT_EQ(st.bytesFreeLists, 10u * 9 * kBlockUnit);
  EXPECT_EQ(st.bytesTail, (r.size() / kBlockUnit - r.header()->freeHead) * kBlockUnit);
  EXPECT_EQ(st.bytesFree, st.bytesFreeLists + st.bytesTail);
  EXPECT_EQ(st.bytesLive + st.bytesFree, r.size() - EntriesOffset(256));
  EXPECT_DOUBLE_EQ(st.fragmentation, double(st.bytesFreeLists) / st.bytesFree);
  EXPECT_EQ(st.reads, 50u);
  EXPECT_EQ(st.writes, 110u);
  EXPECT_EQ(st.repairs, 0u);
  // Counters live in the header once flushed; other handles add theirs.
  EXPECT_EQ(r.header()->readCounter, 50u);
  auto t = Open(r, 2);
  GetStr(*t, ns, "k50");
  t->Close();
  ASSERT_EQ(s->Stats(&st), L::kOk);
  EXPECT_EQ(st.reads, 51u);
}

}  // namespace
}  // namespace shm::test
