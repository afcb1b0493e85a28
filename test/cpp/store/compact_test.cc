// shm::Store incremental compaction (docs/format.md §8, "Compaction"): a step moves the live
// entries of its window into holes of their class elsewhere and merges the window's free runs;
// entries keep their values, verify() stays clean, free lists stay linked both ways, and readers
// on other threads never miss a key nor read a wrong value while entries move.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace shm::test {
namespace {

// Values of 10..1500 bytes, each a function of its key: entries of many size classes.
std::string ValueOf(int i) {
  return std::string(static_cast<size_t>((i * 7919) % 1490 + 10), static_cast<char>('a' + i % 26)) +
         std::to_string(i);
}

class StoreCompact : public ::testing::Test {
 protected:
  static constexpr int kKeys = 2000;
  void SetUp() override {
    ASSERT_EQ(Store::Create(r.base(), r.size(), 1024, 20000), L::kOk);
    s = Open(r);
    ns = Ns(*s, "m");
    for (int i = 0; i < kKeys; ++i)
      ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), ValueOf(i)), L::kOk);
    // Every other key deleted: holes of every class, no two adjacent.
    for (int i = 0; i < kKeys; i += 2) ASSERT_TRUE(Del(*s, ns, "k" + std::to_string(i)));
  }
  void ExpectAll(Store& st) {
    for (int i = 1; i < kKeys; i += 2) {
      ASSERT_EQ(GetStr(st, ns, "k" + std::to_string(i)), ValueOf(i)) << i;
    }
    EXPECT_EQ(st.Count(ns), static_cast<uint32_t>(kKeys / 2));
    VerifyOk(st);
  }
  Region r{4 << 20};
  std::unique_ptr<Store> s;
  uint32_t ns = 0;
};

TEST_F(StoreCompact, StepsMoveEntriesAndMergeRunsWithoutARepairPass) {
  const uint32_t gc = r.header()->gcCounter;
  StoreStats before;
  ASSERT_EQ(s->Stats(&before), L::kOk);
  uint64_t moved = 0, merged = 0;
  CompactReport rep;
  int steps = 0;
  do {
    ASSERT_EQ(s->CompactStep(1024, &rep), L::kOk);
    ASSERT_LE(rep.start, rep.end);
    moved += rep.moved;
    merged += rep.merged;
    ASSERT_LT(++steps, 1000);
  } while (!rep.done);
  EXPECT_EQ(r.header()->gcCounter, gc) << "no repair pass";
  EXPECT_GT(moved, 0u);
  EXPECT_GT(merged, 0u);
  StoreStats after;
  ASSERT_EQ(s->Stats(&after), L::kOk);
  EXPECT_EQ(after.bytesFree, before.bytesFree);
  EXPECT_LE(after.bytesFreeLists, before.bytesFreeLists);
  EXPECT_EQ(after.compactSweeps, before.compactSweeps + 1);
  EXPECT_EQ(after.compactMoved, moved);
  ExpectAll(*s);
}

TEST_F(StoreCompact, AWindowCoversAtMostItsBoundBeyondTheBlockItStartsWith) {
  CompactReport rep;
  ASSERT_EQ(s->CompactStep(8, &rep), L::kOk);
  // The last block may reach past the bound: at most the largest class of these entries.
  EXPECT_LE(rep.end - rep.start, 8u + 32u);
  EXPECT_GE(rep.end - rep.start, 1u);
  // The bound is capped at COMPACT_STEP_UNITS.
  ASSERT_EQ(s->CompactStep(1u << 30, &rep), L::kOk);
  EXPECT_LE(rep.end - rep.start,
            static_cast<uint32_t>(L::kCompactStepUnits) + L::kSizeClasses[kClassCount - 1]);
  ExpectAll(*s);
}

TEST_F(StoreCompact, ReadersOnOtherThreadsNeverMissAMovedEntry) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bad{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      auto h = Open(r, 10 + t);
      for (int i = 1; !stop.load(); i = (i + 2) % kKeys) {
        if (GetStr(*h, ns, "k" + std::to_string(i)) != ValueOf(i)) bad.fetch_add(1);
        reads.fetch_add(1);
      }
      h->Close();
    });
  }
  // The sweeps start once both readers read (bounded: a loaded machine may start them late).
  for (int i = 0; i < 60000 && reads.load() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Sweeps, with churn of other keys in between so that new holes keep appearing.
  for (int round = 0; round < 6; ++round) {
    CompactReport rep;
    do {
      ASSERT_EQ(s->CompactStep(256, &rep), L::kOk);
    } while (!rep.done);
    for (int i = 0; i < 200; ++i) {
      const std::string k = "c" + std::to_string(round * 200 + i);
      ASSERT_EQ(Put(*s, ns, k, ValueOf(i)), L::kOk);
      if (i % 2 == 0) {
        ASSERT_TRUE(Del(*s, ns, k));
      }
    }
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
  for (int i = 1; i < kKeys; i += 2) ASSERT_EQ(GetStr(*s, ns, "k" + std::to_string(i)), ValueOf(i));
  VerifyOk(*s);
}

// Large values between holes (format.md §8, "Compaction", large blocks): a sweep moves them into
// free large blocks outside its windows, so the holes join one run; every value is kept.
TEST(StoreCompactLarge, LargeValuesMoveAndTheLargestFreeBlockGrows) {
  Region r{3 << 20};
  ASSERT_EQ(Store::Create(r.base(), r.size(), 256, 2000), L::kOk);
  auto s = Open(r);
  const uint32_t ns = Ns(*s, "big");
  auto big = [](int i) {
    return std::string(static_cast<size_t>(70000 + (i % 5) * 3000),
                       static_cast<char>('A' + i % 26));
  };
  int n = 0;
  for (; n < 40; ++n) {
    if (Put(*s, ns, "t" + std::to_string(n), big(n + 1)) != L::kOk) break;
    if (Put(*s, ns, "b" + std::to_string(n), big(n)) != L::kOk) break;
  }
  ASSERT_GE(n, 8);
  for (int i = 0; i <= n; ++i) (void)Del(*s, ns, "t" + std::to_string(i));
  StoreStats before;
  ASSERT_EQ(s->Stats(&before), L::kOk);
  uint64_t moved = 0;
  CompactReport rep;
  do {
    ASSERT_EQ(s->CompactStep(4096, &rep), L::kOk);
    moved += rep.moved;
  } while (!rep.done);
  StoreStats after;
  ASSERT_EQ(s->Stats(&after), L::kOk);
  EXPECT_GE(moved, static_cast<uint64_t>(n / 2));
  EXPECT_GT(after.bytesLargestFree, 3 * before.bytesLargestFree);
  for (int i = 0; i < n; ++i) ASSERT_EQ(GetStr(*s, ns, "b" + std::to_string(i)), big(i)) << i;
  VerifyOk(*s);
}

}  // namespace
}  // namespace shm::test
