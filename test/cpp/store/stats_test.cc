// stats() and the counters (src/store/stats.cpp): the byte accounting adds up, the private
// read/write counts of every handle reach the header, and a handle's per-namespace counts reach
// the life of the namespace they were counted in and no other (format.md §5, "Namespace policy
// records").
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

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

uint64_t NowMs() {
  using namespace std::chrono;
  return static_cast<uint64_t>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

Status PutExp(Store& s, uint32_t ns, const std::string& key, const std::string& value,
              uint64_t expiresAt) {
  return s.Set(ns, key.data(), static_cast<uint32_t>(key.size()), value.data(),
               static_cast<uint32_t>(value.size()), 1, expiresAt);
}

// The row of namespace `name` in s's listing (which flushes s's counts first).
NamespaceInfo Row(Store& s, const std::string& name) {
  std::vector<NamespaceInfo> list;
  EXPECT_EQ(s.Namespaces(&list), L::kOk);
  for (const NamespaceInfo& i : list) {
    if (i.name == name) return i;
  }
  ADD_FAILURE() << "no namespace " << name;
  return NamespaceInfo{};
}

// Inserts enough new keys into namespace "other" for the expiry sweep (SWEEP_BUCKETS buckets
// after each insert) to visit every bucket of the fixture's store.
void SweepEveryBucket(Store& s, uint32_t buckets) {
  const uint32_t other = Ns(s, "other");
  for (uint32_t i = 0; i * layout::kSweepBuckets < buckets; ++i) {
    ASSERT_EQ(Put(s, other, "sweep" + std::to_string(i), "w"), L::kOk);
  }
}

// Per-namespace counts and the lives of a namespace id (format.md §5): each count goes to the
// life it was counted in, and is flushed only while that life is live.
class NamespaceStats : public OpenStore {};

// A handle's unflushed counts of a life that another handle dropped are discarded when it
// resolves the life that reuses the id: they never reach the new namespace's row.
TEST_F(NamespaceStats, CountsOfADroppedLifeNeverReachTheLifeThatReusesTheId) {
  auto o = Open(r, 2);
  const uint32_t id = Ns(*o, "agents");
  ASSERT_EQ(id, ns);
  ASSERT_EQ(Put(*o, id, "big", std::string(1000, 'v')), L::kOk);
  EXPECT_EQ(GetStr(*o, id, "big"), std::string(1000, 'v'));
  EXPECT_EQ(GetStr(*o, id, "missing"), "<miss>");
  // An expired entry a read meets: a miss and an expiration (the read reclaims it).
  ASSERT_EQ(PutExp(*s, ns, "t", "x", NowMs() - 1), L::kOk);
  EXPECT_EQ(GetStr(*o, id, "t"), "<miss>");
  uint32_t removed = 0;
  ASSERT_EQ(s->DropNamespace(ns, &removed), L::kOk);
  EXPECT_EQ(removed, 1u);
  ASSERT_EQ(Ns(*s, "agents"), ns);  // the lowest free record: the same id, the next generation
  ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
  // o's id is stale: refused; resolved again, it is the new life.
  EXPECT_EQ(GetStr(*o, id, "k"), "<ERR_NAMESPACE_DROPPED>");
  ASSERT_EQ(Ns(*o, "agents"), ns);
  EXPECT_EQ(GetStr(*o, ns, "k"), "v");
  o->FlushCounters();
  const NamespaceInfo row = Row(*s, "agents");
  EXPECT_EQ(row.generation, 1u);
  EXPECT_EQ(row.count, 1u);
  EXPECT_EQ(row.bytes, 2u);
  EXPECT_EQ(row.hits, 1u);
  EXPECT_EQ(row.misses, 0u);
  EXPECT_EQ(row.expirations, 0u);
  EXPECT_EQ(row.evictions, 0u);
  VerifyOk(*s);
}

// The expiry sweep of a handle that never resolved the namespace counts its removals for the
// namespace's life, also in a record a dropped namespace used before (generation above 0).
TEST_F(NamespaceStats, TheSweepCountsForTheLifeOfANamespaceThisHandleNeverResolved) {
  uint32_t removed = 0;
  ASSERT_EQ(s->DropNamespace(ns, &removed), L::kOk);
  const uint32_t sess = Ns(*s, "sess");
  ASSERT_EQ(sess, ns);
  ASSERT_EQ(r.ns(sess)->generation, 1u);
  const uint64_t at = NowMs() + 20;
  for (int i = 0; i < 50; ++i)
    ASSERT_EQ(PutExp(*s, sess, "k" + std::to_string(i), "v", at), L::kOk);
  while (NowMs() <= at) SleepMs(1);
  auto o = Open(r, 2);
  SweepEveryBucket(*o, 256);
  o->FlushCounters();
  const NamespaceInfo row = Row(*s, "sess");
  ASSERT_EQ(row.count, 0u);  // every entry expired and swept
  EXPECT_EQ(row.expirations, 50u);
  EXPECT_EQ(row.evictions, 0u);
  EXPECT_EQ(row.bytes, 0u);
  VerifyOk(*s);
}

// The eviction hand of a handle that never resolved the namespace: evictions and bytes reach the
// namespace's life, in a record a dropped namespace used before.
TEST(NamespaceStatsEviction, TheHandCountsForTheLifeOfANamespaceThisHandleNeverResolved) {
  Region r(1 << 20);
  ASSERT_EQ(Store::Create(r.base(), r.size(), 64, 100, kPolicyClock), L::kOk);
  auto s = Open(r);
  uint32_t removed = 0;
  ASSERT_EQ(s->DropNamespace(Ns(*s, "tmp"), &removed), L::kOk);
  const uint32_t cache = Ns(*s, "cache");
  ASSERT_EQ(r.ns(cache)->generation, 1u);
  // Keys of 4 bytes, values of 1: 5 bytes an entry.
  char key[8];
  for (int i = 0; i < 100; ++i) {
    std::snprintf(key, sizeof key, "c%03d", i);
    ASSERT_EQ(Put(*s, cache, key, "v"), L::kOk);
  }
  auto o = Open(r, 2);
  const uint32_t other = Ns(*o, "other");
  for (int i = 0; i < 40; ++i) {
    std::snprintf(key, sizeof key, "o%03d", i);
    ASSERT_EQ(Put(*o, other, key, "w"), L::kOk);
  }
  o->FlushCounters();
  const NamespaceInfo row = Row(*s, "cache");
  ASSERT_LT(row.count, 100u);  // the hand evicted entries of "cache"
  EXPECT_EQ(row.evictions, 100u - row.count);
  EXPECT_EQ(row.bytes, 5u * row.count);
  const NamespaceInfo mine = Row(*s, "other");
  EXPECT_EQ(mine.evictions, 40u - mine.count);
  EXPECT_EQ(mine.bytes, 5u * mine.count);
  VerifyOk(*s);
}

// A removal that meets an entry of the life that reuses an id makes the handle's counts of that
// id the new life's; a read through the handle's stale id (of the life before) then counts
// nothing for the new life: only the read after it resolved the name again counts.
TEST_F(NamespaceStats, AStaleReadAfterARemovalMetTheNewLifeCountsNothingForIt) {
  auto o = Open(r, 2);
  const uint32_t id = Ns(*o, "agents");
  uint32_t removed = 0;
  ASSERT_EQ(s->DropNamespace(ns, &removed), L::kOk);
  ASSERT_EQ(Ns(*s, "agents"), ns);
  const uint64_t at = NowMs() + 20;
  ASSERT_EQ(PutExp(*s, ns, "e", "x", at), L::kOk);
  ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
  while (NowMs() <= at) SleepMs(1);
  SweepEveryBucket(*o, 256);  // removes "e", of the new life
  EXPECT_EQ(s->Count(ns), 1u);
  EXPECT_EQ(GetStr(*o, id, "nope"), "<ERR_NAMESPACE_DROPPED>");
  EXPECT_EQ(GetStr(*o, id, "k"), "<ERR_NAMESPACE_DROPPED>");
  ASSERT_EQ(Ns(*o, "agents"), ns);
  EXPECT_EQ(GetStr(*o, ns, "nope"), "<miss>");
  EXPECT_EQ(GetStr(*o, ns, "k"), "v");
  o->FlushCounters();
  const NamespaceInfo row = Row(*s, "agents");
  EXPECT_EQ(row.generation, 1u);
  EXPECT_EQ(row.expirations, 1u);
  EXPECT_EQ(row.hits, 1u);
  EXPECT_EQ(row.misses, 1u);
  EXPECT_EQ(row.bytes, 2u);
  VerifyOk(*s);
}

// A delete or clear that meets an expired entry removes it as a read that meets it does: an
// expiration (with its bytes), not a removal the caller asked for. delete reports that no entry
// existed, clear does not count it; both judge the expiry with the reads' clock (format.md §9,
// "Writers"). The entries expire by overwrites, which do not sweep, so that only the delete and
// the clear meet them.
TEST_F(NamespaceStats, DeleteAndClearOfAnExpiredEntryCountAnExpirationAndReportNone) {
  auto o = Open(r, 2);
  for (const char* k : {"e1", "e2", "e3", "later", "live", "live2"})
    ASSERT_EQ(Put(*s, ns, k, "v"), L::kOk);
  const uint64_t past = NowMs() - 1;
  ASSERT_EQ(PutExp(*s, ns, "e1", "x", past), L::kOk);
  ASSERT_EQ(PutExp(*s, ns, "e2", "xy", past), L::kOk);
  ASSERT_EQ(PutExp(*s, ns, "e3", "xyz", past), L::kOk);
  ASSERT_EQ(PutExp(*s, ns, "later", "v", NowMs() + 3600000), L::kOk);
  s->FlushCounters();
  const NamespaceInfo before = Row(*s, "agents");
  EXPECT_EQ(before.count, 6u);
  EXPECT_EQ(before.bytes, 3u + 4 + 5 + 6 + 5 + 6);
  // Another handle deletes: the expired entry is removed, and reported as absent.
  EXPECT_FALSE(Del(*o, ns, "e1"));
  EXPECT_EQ(s->Count(ns), 5u);
  EXPECT_FALSE(Del(*o, ns, "e1"));
  EXPECT_TRUE(Del(*o, ns, "live"));
  // The clear counts the two live entries only; e2 and e3 are expirations.
  uint32_t removed = 0;
  ASSERT_EQ(s->Clear(ns, &removed), L::kOk);
  EXPECT_EQ(removed, 2u);
  EXPECT_EQ(s->Count(ns), 0u);
  o->FlushCounters();
  const NamespaceInfo row = Row(*s, "agents");
  EXPECT_EQ(row.count, 0u);
  EXPECT_EQ(row.bytes, 0u);
  EXPECT_EQ(row.expirations, 3u);
  EXPECT_EQ(row.hits, 0u);
  EXPECT_EQ(row.misses, 0u);
  EXPECT_EQ(row.evictions, 0u);
  EXPECT_EQ(r.cellExpiring(), 0u);
  VerifyOk(*s);
}

}  // namespace
}  // namespace shm::test
