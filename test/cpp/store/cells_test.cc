// The count cells (docs/format.md §5, "Count cells"): counts that are sums over the cells, the
// grant under maxEntries that is never passed and never lost, and a repair that recounts.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"
#include "test_util.h"

namespace shm::test {
namespace {

constexpr uint32_t kChunk = L::kCountGrantChunk;

// Two handles in different cells: an insert through one and a delete through the other leave
// one cell's entries "negative", and the count, a sum, is right.
TEST(CountCells, CountsAreSumsOverTheCells) {
  Region r(1 << 22);
  ASSERT_EQ(Store::Create(r.base(), r.size(), 256, 5000), L::kOk);
  auto a = Open(r, 1);
  auto b = Open(r, 2);
  ASSERT_NE(a->ownerSlot() % L::kCountCells, b->ownerSlot() % L::kCountCells);
  const uint32_t ns = Ns(*a, "n");
  for (int i = 0; i < 10; ++i) ASSERT_EQ(Put(*a, ns, "k" + std::to_string(i), "v"), L::kOk);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Del(*b, ns, "k" + std::to_string(i)));
  EXPECT_EQ(a->Count(ns), 6u);
  EXPECT_EQ(b->Count(0), 6u);
  L::CountCell* ca = r.cell(a->ownerSlot() % L::kCountCells);
  L::CountCell* cb = r.cell(b->ownerSlot() % L::kCountCells);
  EXPECT_EQ(ca->entries, 10u);
  EXPECT_EQ(cb->entries, static_cast<uint32_t>(-4));
  // a took one chunk; b's cell holds the four deleted entries' grant.
  EXPECT_EQ(ca->limit, kChunk);
  EXPECT_EQ(cb->limit, 0u);
  EXPECT_EQ(r.header()->grantedEntries, kChunk);
  VerifyOk(*a);
}

// The entries with an expiry are counted as the entries are: linked through one cell, unlinked
// through another, changed by an overwrite only when the expiry comes or goes; a repair pass
// recounts a damaged count into cell 0.
TEST(CountCells, ExpiringCountsTheEntriesWithAnExpiry) {
  Region r(1 << 22);
  ASSERT_EQ(Store::Create(r.base(), r.size(), 256, 5000), L::kOk);
  auto a = Open(r, 1);
  auto b = Open(r, 2);
  ASSERT_NE(a->ownerSlot() % L::kCountCells, b->ownerSlot() % L::kCountCells);
  const uint32_t ns = Ns(*a, "n");
  const uint64_t later = uint64_t{1} << 46;  // ms since the epoch: about the year 4200
  auto putExp = [&](Store& s, const std::string& key, uint64_t expiresAt) {
    return s.Set(ns, key.data(), static_cast<uint32_t>(key.size()), "v", 1, 1, expiresAt);
  };
  for (int i = 0; i < 10; ++i) ASSERT_EQ(putExp(*a, "k" + std::to_string(i), later), L::kOk);
  ASSERT_EQ(Put(*a, ns, "plain", "v"), L::kOk);
  EXPECT_EQ(r.cellExpiring(), 10u);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Del(*b, ns, "k" + std::to_string(i)));
  EXPECT_EQ(r.cellExpiring(), 7u);
  EXPECT_EQ(r.cell(b->ownerSlot() % L::kCountCells)->expiring, static_cast<uint32_t>(-3));
  ASSERT_EQ(Put(*b, ns, "k5", "w"), L::kOk);  // loses its expiry
  EXPECT_EQ(r.cellExpiring(), 6u);
  ASSERT_EQ(putExp(*b, "k6", later + 1), L::kOk);  // keeps one
  EXPECT_EQ(r.cellExpiring(), 6u);
  ASSERT_EQ(putExp(*a, "plain", later), L::kOk);  // gains one
  EXPECT_EQ(r.cellExpiring(), 7u);
  VerifyOk(*a);
  r.cell(7)->expiring += 5;
  VerifyReport bad;
  ASSERT_EQ(a->Verify(&bad), L::kOk);
  ASSERT_FALSE(bad.ok);
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_EQ(bad.errors[0], "count cells: 12 entries with an expiry, found 7");
  ASSERT_EQ(a->Repair(), L::kOk);
  EXPECT_EQ(r.cell(0)->expiring, 7u);
  EXPECT_EQ(r.cellExpiring(), 7u);
  VerifyOk(*b);
}

// Deletes give a cell's unused grant back once it holds more than two chunks: the header's grant
// follows what is stored, so other cells can take it.
TEST(CountCells, UnusedGrantGoesBackToTheHeader) {
  Region r(1 << 23);
  ASSERT_EQ(Store::Create(r.base(), r.size(), 1024, 20000), L::kOk);
  auto s = Open(r, 1);
  const uint32_t ns = Ns(*s, "n");
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), "v"), L::kOk);
  EXPECT_GE(r.header()->grantedEntries, 1000u);
  EXPECT_LT(r.header()->grantedEntries, 1000u + kChunk);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(Del(*s, ns, "k" + std::to_string(i)));
  EXPECT_LE(r.header()->grantedEntries, 2 * kChunk);
  EXPECT_EQ(s->Count(0), 0u);
  VerifyOk(*s);
}

// Many handles (more than cells: some share one) insert and delete at the cap from threads. No
// count ever passes maxEntries, a set is refused only at the cap, and afterwards the store takes
// exactly maxEntries entries: no grant was lost in a cell.
TEST(CountCells, HandlesAtTheCapNeverPassItAndLoseNoGrant) {
  constexpr uint32_t kMax = 700;
  constexpr int kThreads = 20;
  Region r(1 << 23);
  ASSERT_EQ(Store::Create(r.base(), r.size(), 512, kMax), L::kOk);
  auto main = Open(r, 100);
  const uint32_t ns = Ns(*main, "n");
  std::atomic<uint32_t> over{0}, failures{0};
  std::atomic<int64_t> net{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto s = Open(r, static_cast<uint32_t>(t + 1));
      if (!s) {
        failures++;
        return;
      }
      std::mt19937 rng(77 + t);
      std::vector<std::string> mine;
      for (int i = 0; i < 3000; ++i) {
        if (mine.empty() || rng() % 3 != 0) {
          const std::string key = "t" + std::to_string(t) + ":" + std::to_string(i);
          const Status st = Put(*s, ns, key, "v");
          if (st == L::kOk) {
            mine.push_back(key);
            net++;
          } else if (st != L::kErrStoreFull) {
            failures++;
          }
        } else {
          const size_t j = rng() % mine.size();
          if (!Del(*s, ns, mine[j])) failures++;
          mine[j] = mine.back();
          mine.pop_back();
          net--;
        }
        if (s->Count(0) > kMax) over++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_EQ(over.load(), 0u);
  EXPECT_EQ(main->Count(0), static_cast<uint32_t>(net.load()));
  EXPECT_EQ(main->Count(ns), static_cast<uint32_t>(net.load()));
  VerifyOk(*main);
  // Fill up from one handle: the grants other cells hold are taken (stolen) one by one.
  uint32_t added = 0;
  for (int i = 0; Put(*main, ns, "fill" + std::to_string(i), "v") == L::kOk; ++i) ++added;
  EXPECT_EQ(main->Count(0), kMax);
  EXPECT_EQ(static_cast<int64_t>(added), static_cast<int64_t>(kMax) - net.load());
  EXPECT_EQ(r.header()->grantedEntries, kMax);
  VerifyOk(*main);
}

// A namespace id reused after a drop starts at 0 in every cell, whatever a cell held.
TEST(CountCells, ReusedNamespaceIdStartsAtZero) {
  Region r(1 << 22);
  ASSERT_EQ(Store::Create(r.base(), r.size(), 256, 5000), L::kOk);
  auto s = Open(r, 1);
  const uint32_t ns = Ns(*s, "old");
  ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
  uint32_t removed = 0;
  ASSERT_EQ(s->DropNamespace(ns, &removed), L::kOk);
  *r.cellNs(7, ns) = 12345;  // left by damage
  const uint32_t again = Ns(*s, "new");
  ASSERT_EQ(again, ns);
  EXPECT_EQ(s->Count(again), 0u);
  EXPECT_EQ(*r.cellNs(7, ns), 0u);
}

}  // namespace
}  // namespace shm::test
