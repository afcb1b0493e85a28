// The per-writer block cache (docs/format.md §8, "Parked blocks"): overwrites of same-sized values
// reuse the writer's parked block without touching the free lists or AllocState.lock, close()
// and a full store give the blocks back, and a writer that dies leaves blocks the repair pass
// frees while a live writer's stay its own.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "store/store.h"
#include "test_util.h"

namespace shm::test {
namespace {

class StoreCache : public OpenStore {
 protected:
  // Blocks of the pool marked parked, and the units they cover, by owner slot `o`.
  uint32_t ParkedBy(uint32_t o, uint64_t* units = nullptr) const {
    uint32_t n = 0;
    uint64_t total = 0;
    const uint32_t first = s->firstUnit();
    for (uint32_t u = first; u < r.header()->freeHead;) {
      const uint32_t flags = r.entry(u)->flags;
      const uint32_t size = BlockUnitsOf(r.base(), u, flags);
      if ((flags & kFlagParked) != 0 && r.entry(u)->next == o) {
        ++n;
        total += size;
      }
      u += size;
    }
    if (units != nullptr) *units = total;
    return n;
  }
  std::string V(char c, size_t n = 100) const { return std::string(n, c); }
};

TEST_F(StoreCache, OverwritesOfOneSizeReuseTheParkedBlockWithoutTheAllocator) {
  ASSERT_EQ(Put(*s, ns, "k", V('a')), L::kOk);
  ASSERT_EQ(Put(*s, ns, "k", V('b')), L::kOk);  // parks the first block
  EXPECT_EQ(ParkedBy(s->ownerSlot()), 1u);
  const uint32_t freeHead = r.header()->freeHead;
  const uint32_t lockWord = r.alloc()->lock;
  const uint32_t freed = r.alloc()->freedUnits;
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(Put(*s, ns, "k", V(static_cast<char>('c' + i % 20))), L::kOk);
  }
  // The allocator lock never moved (its version changes on every acquisition), nothing was
  // carved or freed: the two blocks took turns.
  EXPECT_EQ(r.alloc()->lock, lockWord);
  EXPECT_EQ(r.header()->freeHead, freeHead);
  EXPECT_EQ(r.alloc()->freedUnits, freed);
  EXPECT_EQ(GetStr(*s, ns, "k"), V(static_cast<char>('c' + 99 % 20)));
  StoreStats st;
  ASSERT_EQ(s->Stats(&st), L::kOk);
  EXPECT_EQ(st.bytesParked, 9u * kBlockUnit);  // "k" and 100 bytes: 129 bytes in 9 units
  const VerifyReport rep = VerifyOk(*s);
  EXPECT_EQ(rep.parkedUnits, 9u);
  EXPECT_EQ(rep.liveUnits, 9u);
}

TEST_F(StoreCache, BoundedPerClassAndInAll) {
  // Many keys of one class overwritten: at most PARK_PER_CLASS parked, the rest freed.
  const int keys = 2 * static_cast<int>(kParkPerClass);
  for (int i = 0; i < keys; ++i) ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), V('a')), L::kOk);
  for (int i = 0; i < keys; ++i) {
    ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), V('b', 200)), L::kOk);
  }
  EXPECT_EQ(ParkedBy(s->ownerSlot()), kParkPerClass);
  // Large classes: PARK_MAX_UNITS units in all (a 256-unit block, then 512 would pass it).
  ASSERT_EQ(Put(*s, ns, "big", V('x', 4000)), L::kOk);
  ASSERT_EQ(Put(*s, ns, "big", V('y', 8000)), L::kOk);
  ASSERT_EQ(Put(*s, ns, "big", V('z', 100)), L::kOk);
  uint64_t units = 0;
  ParkedBy(s->ownerSlot(), &units);
  EXPECT_LE(units, kParkMaxUnits);
  VerifyOk(*s);
}

TEST_F(StoreCache, InsertsTakeBatchesThatDoubleAndParkTheRest) {
  // Batches of 1, 2, 4, ... PARK_REFILL / 2 blocks (format.md §8, "Parked blocks", "Batches"):
  // after PARK_REFILL - 1 inserts of one size every block taken is used, the next takes a batch
  // of PARK_REFILL and parks the rest, and the next PARK_REFILL - 1 inserts leave
  // AllocState.lock untouched.
  int i = 0;
  for (; i < static_cast<int>(kParkRefill) - 1; ++i) {
    ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), V('a')), L::kOk);
  }
  EXPECT_EQ(ParkedBy(s->ownerSlot()), 0u);
  const uint32_t before = r.alloc()->lock;
  ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i++), V('a')), L::kOk);
  EXPECT_NE(r.alloc()->lock, before);
  EXPECT_EQ(ParkedBy(s->ownerSlot()), kParkRefill - 1);
  const uint32_t lockWord = r.alloc()->lock;
  for (uint32_t n = 0; n + 1 < kParkRefill; ++n) {
    ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i++), V('a')), L::kOk);
  }
  EXPECT_EQ(r.alloc()->lock, lockWord) << "inserts that had parked blocks took the lock";
  EXPECT_EQ(ParkedBy(s->ownerSlot()), 0u);
  EXPECT_EQ(VerifyOk(*s).entries, static_cast<uint64_t>(i));
}

TEST_F(StoreCache, CloseReturnsTheParkedBlocks) {
  for (int i = 0; i < 4; ++i) ASSERT_EQ(Put(*s, ns, "k", V('a', 100 + 300 * i)), L::kOk);
  const uint32_t slot = s->ownerSlot();
  ASSERT_GT(ParkedBy(slot), 0u);
  s->Close();
  EXPECT_EQ(ParkedBy(slot), 0u);
  s = Open(r);
  const VerifyReport rep = VerifyOk(*s);
  EXPECT_EQ(rep.parkedUnits, 0u);
  EXPECT_EQ(rep.liveUnits + rep.freeUnits, uint64_t{r.header()->freeHead} - s->firstUnit());
}

TEST_F(StoreCache, AFullStoreGivesBackItsParkedBlocksBeforeRefusing) {
  // A pool that fills before the entry count does. Fill it with 9-unit entries: the insert that
  // finds no room gives the rest of its batch back first, so none stays parked and no room is
  // left. Then overwrite one so that a block is parked; a new key must still find room (the
  // parked block), not ERR_STORE_FULL.
  Region small(EntriesOffset(256) + kBlockUnit * 4000);
  ASSERT_EQ(Store::Create(small.base(), small.size(), 256, 5000), L::kOk);
  auto t = Open(small, 2);
  const uint32_t id = Ns(*t, "agents");
  const auto parked = [&] {
    StoreStats st;
    EXPECT_EQ(t->Stats(&st), L::kOk);
    return st;
  };
  int n = 0;
  while (Put(*t, id, "f" + std::to_string(n), V('a')) == L::kOk) ++n;
  EXPECT_EQ(n, 4000 / 9);
  EXPECT_EQ(parked().bytesParked, 0u);
  EXPECT_LT(parked().bytesFree, 9u * kBlockUnit);
  ASSERT_EQ(Del(*t, id, "f0"), true);
  ASSERT_EQ(Put(*t, id, "f1", V('b')), L::kOk);  // takes f0's block, parks f1's old one
  ASSERT_EQ(parked().bytesParked, 9u * kBlockUnit);
  EXPECT_EQ(Put(*t, id, "new", V('c')), L::kOk);
  EXPECT_EQ(parked().bytesParked, 0u);
  EXPECT_EQ(GetStr(*t, id, "new"), V('c'));
  VerifyOk(*t);
}

TEST_F(StoreCache, TheEvictionHandSkipsParkedBlocks) {
  ASSERT_EQ(Put(*s, ns, "k", V('a')), L::kOk);
  ASSERT_EQ(Put(*s, ns, "k", V('b')), L::kOk);
  ASSERT_EQ(s->ConfigureNamespace(ns, kPolicyClock, -1), L::kOk);
  uint32_t evicted = 0;
  ASSERT_EQ(s->EvictOne(kClassCount, &evicted), L::kOk);
  EXPECT_NE(evicted, 0u);  // the entry, never the parked block
  EXPECT_EQ(ParkedBy(s->ownerSlot()), 1u);
  EXPECT_EQ(GetStr(*s, ns, "k"), "<miss>");
  VerifyOk(*s);
}

TEST_F(StoreCache, ALiveWritersParkedBlocksSurviveAnotherHandlesRepair) {
  ASSERT_EQ(Put(*s, ns, "k", V('a')), L::kOk);
  ASSERT_EQ(Put(*s, ns, "k", V('b')), L::kOk);
  auto other = Open(r, 2);
  ASSERT_EQ(other->Repair(), L::kOk);
  EXPECT_EQ(ParkedBy(s->ownerSlot()), 1u) << "a live writer's parked block is its own";
  VerifyReport rep = VerifyOk(*other);
  EXPECT_EQ(rep.parkedUnits, 9u);
  // The writer still uses it, and its own repair pass frees it.
  ASSERT_EQ(Put(*s, ns, "k", V('c')), L::kOk);
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(ParkedBy(s->ownerSlot()), 0u);
  rep = VerifyOk(*s);
  EXPECT_EQ(rep.parkedUnits, 0u);
  EXPECT_EQ(GetStr(*s, ns, "k"), V('c'));
}

TEST_F(StoreCache, AKilledWritersParkedBlocksAreRecovered) {
  // Baseline: the number of 3-unit entries a fresh pool takes.
  s->Close();
  const pid_t pid = fork();
  if (pid == 0) {
    auto w = Open(r, 7);
    uint32_t id = Ns(*w, "agents");
    // Blocks of several classes parked, then the process dies without closing.
    for (int i = 0; i < 6; ++i) {
      if (Put(*w, id, "w" + std::to_string(i % 3), V('a', 100 + 700 * (i % 3))) != L::kOk) _exit(2);
    }
    kill(getpid(), SIGKILL);
    _exit(3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  s = Open(r);
  // verify() meets blocks parked by a gone owner: it repairs, then reports the store clean with
  // nothing parked and nothing leaked.
  const VerifyReport rep = VerifyOk(*s);
  EXPECT_EQ(rep.parkedUnits, 0u);
  EXPECT_EQ(rep.entries, 3u);
  EXPECT_EQ(rep.liveUnits + rep.freeUnits, uint64_t{r.header()->freeHead} - s->firstUnit());
}

TEST_F(StoreCache, TwoThreadsOverwritingDisjointKeysEndExact) {
  constexpr int kKeys = 64;
  constexpr int kRounds = 300;
  for (int t = 0; t < 2; ++t) {
    for (int k = 0; k < kKeys; ++k) {
      ASSERT_EQ(Put(*s, ns, std::to_string(t) + ":" + std::to_string(k), "0"), L::kOk);
    }
  }
  std::vector<std::thread> ts;
  std::atomic<int> bad{0};
  for (int t = 0; t < 2; ++t) {
    ts.emplace_back([&, t] {
      auto h = Open(r, 10 + t);
      for (int round = 1; round <= kRounds; ++round) {
        for (int k = 0; k < kKeys; ++k) {
          // Sizes vary with the round so that several classes are parked and taken.
          std::string v = std::to_string(round) + std::string((round % 3) * 150, '.');
          if (Put(*h, ns, std::to_string(t) + ":" + std::to_string(k), v) != L::kOk) ++bad;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
  for (int t = 0; t < 2; ++t) {
    for (int k = 0; k < kKeys; ++k) {
      const std::string v = GetStr(*s, ns, std::to_string(t) + ":" + std::to_string(k));
      EXPECT_EQ(v, std::to_string(kRounds) + std::string((kRounds % 3) * 150, '.'));
    }
  }
  const VerifyReport rep = VerifyOk(*s);
  EXPECT_EQ(rep.entries, 2u * kKeys);
  // Only the blocks the inserting handle parked (format.md §8): closed handles keep nothing.
  StoreStats st;
  ASSERT_EQ(s->Stats(&st), L::kOk);
  EXPECT_EQ(rep.parkedUnits * kBlockUnit, st.bytesParked) << "closed handles keep nothing parked";
}

}  // namespace
}  // namespace shm::test
