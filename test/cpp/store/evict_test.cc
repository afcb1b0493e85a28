// shm::Store expiry and eviction (docs/format.md §8, "Expiry" and "Eviction"): the hand evicts
// unmarked entries of evictable namespaces only, a hit marks without writing twice, a full
// evicting store accepts, expired entries are hidden and reclaimed.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/hash.h"
#include "ownership/lockword.h"
#include "ownership/owners.h"
#include "test_util.h"

namespace shm::test {
namespace {

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

TEST(StoreEviction, NoneRefusesWhenFullAndChangesNothing) {
  Region r(1 << 20);
  ASSERT_EQ(Store::Create(r.base(), r.size(), 64, 10, kPolicyNone), L::kOk);
  auto s = Open(r);
  const uint32_t ns = Ns(*s, "n");
  for (int i = 0; i < 10; ++i) ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), "v"), L::kOk);
  EXPECT_EQ(Put(*s, ns, "one more", "v"), L::kErrStoreFull);
  EXPECT_EQ(s->Count(ns), 10u);
  VerifyOk(*s);
}

TEST(StoreEviction, ClockEvictsUnmarkedFirstAndNeverPinned) {
  Region r(1 << 20);
  ASSERT_EQ(Store::Create(r.base(), r.size(), 64, 100, kPolicyClock), L::kOk);
  auto s = Open(r);
  const uint32_t pinned = Ns(*s, "memories");
  ASSERT_EQ(s->ConfigureNamespace(pinned, kPolicyNone, -1), L::kOk);
  const uint32_t cache = Ns(*s, "cache");
  for (int i = 0; i < 20; ++i) ASSERT_EQ(Put(*s, pinned, "m" + std::to_string(i), "keep"), L::kOk);
  for (int i = 0; i < 80; ++i) ASSERT_EQ(Put(*s, cache, "c" + std::to_string(i), "v"), L::kOk);
  // Hits mark c0..c39: the hand gives them a second chance and evicts from c40..c79 and the new
  // entries (which it meets first: it goes back to the block it freed, format.md §8).
  for (int i = 0; i < 40; ++i) EXPECT_EQ(GetStr(*s, cache, "c" + std::to_string(i)), "v");
  for (int i = 0; i < 40; ++i) ASSERT_EQ(Put(*s, cache, "n" + std::to_string(i), "w"), L::kOk);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(GetStr(*s, cache, "c" + std::to_string(i)), "v") << i;
  int misses = 0;
  for (int i = 40; i < 80; ++i) misses += GetStr(*s, cache, "c" + std::to_string(i)) == "<miss>";
  for (int i = 0; i < 40; ++i) misses += GetStr(*s, cache, "n" + std::to_string(i)) == "<miss>";
  EXPECT_EQ(misses, 40);  // as many as were evicted, none of them marked or pinned
  EXPECT_EQ(GetStr(*s, cache, "n39"), "w");  // the entry just inserted
  for (int i = 0; i < 20; ++i) EXPECT_EQ(GetStr(*s, pinned, "m" + std::to_string(i)), "keep");
  EXPECT_EQ(s->Count(0), 100u);
  std::vector<NamespaceInfo> list;
  ASSERT_EQ(s->Namespaces(&list), L::kOk);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].evictions, 40u);
  EXPECT_EQ(list[0].evictions, 0u);
  EXPECT_EQ(list[1].hits, 40u + 40u + 40u + 1u);
  EXPECT_EQ(list[1].misses, 40u);
  VerifyOk(*s);
}

TEST(StoreEviction, AHitWritesTheMarkOnlyWhenItChanges) {
  Region r(1 << 20);
  ASSERT_EQ(Store::Create(r.base(), r.size(), 64, 100, kPolicyClock), L::kOk);
  auto s = Open(r);
  const uint32_t ns = Ns(*s, "cache");
  ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
  const L::Entry* e = r.entry(r.bucket(Xxh32("k", 1, ns) & 63)->head);
  EXPECT_EQ(e->flags & kFlagAccessed, 0u);
  EXPECT_EQ(GetStr(*s, ns, "k"), "v");
  EXPECT_NE(e->flags & kFlagAccessed, 0u);
  const uint32_t lock = r.bucket(Xxh32("k", 1, ns) & 63)->lock;
  EXPECT_EQ(GetStr(*s, ns, "k"), "v");
  EXPECT_EQ(r.bucket(Xxh32("k", 1, ns) & 63)->lock, lock);  // readers never touch the bucket
}

TEST(StoreEviction, AFullEvictingStoreAcceptsBySpaceToo) {
  Region r(1 << 20);
  // Entries are not limited by count: space runs out first.
  ASSERT_EQ(Store::Create(r.base(), r.size(), 256, 1000000, kPolicyClock), L::kOk);
  auto s = Open(r);
  const uint32_t ns = Ns(*s, "cache");
  const std::string big(3000, 'x');
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), big), L::kOk) << i;
  EXPECT_LT(s->Count(ns), 2000u);
  EXPECT_EQ(GetStr(*s, ns, "k1999"), big);
  VerifyOk(*s);
}

TEST(StoreExpiry, ExpiredEntriesAreHiddenAndReclaimed) {
  Region r(1 << 20);
  ASSERT_EQ(Store::Create(r.base(), r.size(), 16, 1000, kPolicyNone), L::kOk);
  auto s = Open(r);
  const uint32_t ns = Ns(*s, "t");
  const uint64_t past = NowMs() - 1;
  ASSERT_EQ(PutExp(*s, ns, "gone", "v", past), L::kOk);
  ASSERT_EQ(PutExp(*s, ns, "later", "v", NowMs() + 3600000), L::kOk);
  ASSERT_EQ(PutExp(*s, ns, "never", "v", kExpiryNever), L::kOk);
  // count() may include the expired entry until a reader or the sweep of an insert removes it.
  EXPECT_GE(s->Count(ns), 2u);
  EXPECT_EQ(GetStr(*s, ns, "gone"), "<miss>");
  EXPECT_EQ(s->Count(ns), 2u);
  EXPECT_EQ(GetStr(*s, ns, "later"), "v");
  ASSERT_EQ(s->ConfigureNamespace(ns, -1, 1), L::kOk);  // default TTL of 1 ms
  ASSERT_EQ(Put(*s, ns, "short", "v"), L::kOk);
  SleepMs(5);
  EXPECT_EQ(GetStr(*s, ns, "short"), "<miss>");
  VerifyOk(*s);
}

// Threads of one store: writers insert far more keys than it holds (some with short expiries),
// so that nearly every insert evicts or sweeps, while readers check every value they find. A
// value names its key and carries its checksum: a torn or misdirected read cannot pass. Also run
// under ASan/UBSan (npm run test:sanitize).
TEST(StoreEviction, ThreadsReadWhileOthersEvictAndExpire) {
  Region r(4 << 20);
  ASSERT_EQ(Store::Create(r.base(), r.size(), 256, 500, kPolicyClock), L::kOk);
  auto main = Open(r, 100);
  const uint32_t ns = Ns(*main, "cache");
  const uint32_t pinned = Ns(*main, "pinned");
  ASSERT_EQ(main->ConfigureNamespace(pinned, kPolicyNone, -1), L::kOk);
  for (int i = 0; i < 50; ++i)
    ASSERT_EQ(Put(*main, pinned, "p" + std::to_string(i), "kept"), L::kOk);
  auto valueOf = [](uint32_t k) {
    std::string v = "v" + std::to_string(k) + ":";
    v.resize(24 + k % 200, static_cast<char>('a' + k % 26));
    return v;
  };
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bad{0}, failures{0}, hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto s = Open(r, static_cast<uint32_t>(t + 1));
      std::mt19937 rng(99 + t);
      while (!stop.load(std::memory_order_relaxed)) {
        const uint32_t k = rng() % 5000;
        const std::string key = "k" + std::to_string(k);
        if (t < 2) {
          const std::string v = valueOf(k);
          const uint64_t exp = (k % 3 == 0) ? NowMs() + rng() % 20 : kExpiryDefault;
          if (PutExp(*s, ns, key, v, exp) != L::kOk) failures++;
        } else {
          bool found = false;
          Store::Value v;
          if (s->Get(ns, key.data(), static_cast<uint32_t>(key.size()), &found, &v) != L::kOk) {
            failures++;
          } else if (found) {
            hits++;
            const std::string want = valueOf(k);
            if (v.length != want.size() || std::memcmp(v.data, want.data(), v.length) != 0) bad++;
          }
        }
      }
    });
  }
  SleepMs(1500);
  stop = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_GT(hits.load(), 0u);
  EXPECT_LE(main->Count(0), 500u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(GetStr(*main, pinned, "p" + std::to_string(i)), "kept");
  VerifyOk(*main);
}

// The hand looks at a block without a lock, then takes its bucket's lock to remove it (format.md
// §8, "Eviction", step 5). Meanwhile the entry it saw may be deleted and its block reused by an
// entry of a pinned namespace whose key falls in the same bucket. The test holds the bucket's lock
// (as a live handle of this process, so the hand waits) from before the hand looks until it has
// moved past the block, and makes that change under it: the entry becomes a pinned one, as a
// delete and an insert that takes the freed block leave it.
TEST(StoreEviction, AnEntryOfAPinnedNamespaceWrittenWhereTheHandLookedIsKept) {
  Region r(1 << 20);
  ASSERT_EQ(Store::Create(r.base(), r.size(), 1, 4, kPolicyClock), L::kOk);
  auto s = Open(r);
  const uint32_t pinned = Ns(*s, "pinned");
  ASSERT_EQ(s->ConfigureNamespace(pinned, kPolicyNone, -1), L::kOk);
  const uint32_t cache = Ns(*s, "cache");
  for (int i = 0; i < 4; ++i) ASSERT_EQ(Put(*s, cache, "c" + std::to_string(i), "v"), L::kOk);
  // c0 took the pool's first block, where the hand starts.
  const uint32_t u = s->firstUnit();
  L::Entry* e = r.entry(u);
  uint8_t* kv = reinterpret_cast<uint8_t*>(e) + L::kEntryHeaderSize;
  ASSERT_EQ(e->namespaceId, cache);
  ASSERT_EQ(std::string(reinterpret_cast<const char*>(kv), e->keyLength), "c0");

  auto holder = Open(r, 2);
  std::atomic_ref<uint32_t> lock(r.bucket(0)->lock);
  uint32_t free = lock.load();
  const uint32_t held = ((free + 1) & 0xFFFFF) | holder->ownerSlot() << 20;
  ASSERT_TRUE(lock.compare_exchange_strong(free, held));

  auto hand = Open(r, 3);
  uint32_t evicted = 0;
  Status st = L::kOk;
  std::thread evictor([&] { st = hand->EvictOne(kClassCount, &evicted); });
  auto* evict = reinterpret_cast<L::EvictState*>(r.base() + L::kEvictOffset);
  while (std::atomic_ref<uint32_t>(evict->hand).load() <= u) std::this_thread::yield();
  // The hand has looked at c0 and waits for the bucket: c0 is gone, and "p" of the pinned
  // namespace, as long, is in its block, counted as an insert and a delete count it.
  e->namespaceId = static_cast<uint16_t>(pinned);
  kv[0] = 'p';
  e->keyHash = KeyHash(kv, e->keyLength, pinned);
  e->checksum = EntryChecksum(kv, e->keyLength + e->valueLength, e->keyHash, 1);
  *r.cellNs(0, cache) -= 1;
  *r.cellNs(0, pinned) += 1;
  uint32_t expected = held;
  ASSERT_TRUE(lock.compare_exchange_strong(expected, (held + 1) & 0xFFFFF));
  evictor.join();
  ASSERT_EQ(st, L::kOk);
  EXPECT_NE(evicted, 0u);  // another entry of the cache
  EXPECT_EQ(GetStr(*s, pinned, "p0"), "v");
  EXPECT_EQ(s->Count(pinned), 1u);
  EXPECT_EQ(s->Count(cache), 2u);
  hand.reset();
  holder.reset();
  VerifyOk(*s);
}

// The unit of the entry of key `key` on the chain of bucket 0 (a store of one bucket), 0 if none.
uint32_t UnitOf(const Region& r, const std::string& key) {
  for (uint32_t u = r.bucket(0)->head; u != 0; u = r.entry(u)->next) {
    const L::Entry* e = r.entry(u);
    const char* k = reinterpret_cast<const char*>(e) + L::kEntryHeaderSize;
    if (std::string(k, e->keyLength) == key) return u;
  }
  return 0;
}

// A write growing a run of freed blocks names the run's end to the hand (format.md §8, "Joined
// runs"): a marked entry whose block starts there is evicted without a second chance, a marked
// entry elsewhere still gets one, and a pinned entry there is kept: the hand stops past it,
// having removed nothing, for the write to move it down.
TEST(StoreEviction, TheEntryAtTheRunsEndIsEvictedMarkedOrNotButNeverPinned) {
  for (const bool pinnedAtEnd : {false, true}) {
    SCOPED_TRACE(pinnedAtEnd ? "a pinned entry at the run's end" : "a marked entry there");
    Region r(1 << 20);
    ASSERT_EQ(Store::Create(r.base(), r.size(), 1, 100, kPolicyClock), L::kOk);
    auto s = Open(r);
    const uint32_t pinned = Ns(*s, "pinned");
    ASSERT_EQ(s->ConfigureNamespace(pinned, kPolicyNone, -1), L::kOk);
    const uint32_t cache = Ns(*s, "cache");
    ASSERT_EQ(Put(*s, cache, "c0", "v"), L::kOk);
    ASSERT_EQ(Put(*s, pinned, "p1", "v"), L::kOk);
    ASSERT_EQ(Put(*s, cache, "c2", "v"), L::kOk);
    ASSERT_EQ(Put(*s, cache, "c3", "v"), L::kOk);
    const uint32_t u0 = UnitOf(r, "c0"), u1 = UnitOf(r, "p1"), u2 = UnitOf(r, "c2"),
                   u3 = UnitOf(r, "c3");
    // In address order from the pool's first block, where the hand starts.
    ASSERT_EQ(u0, s->firstUnit());
    ASSERT_LT(u0, u1);
    ASSERT_LT(u1, u2);
    ASSERT_LT(u2, u3);
    EXPECT_EQ(GetStr(*s, cache, "c0"), "v");  // marks c0 and c2
    EXPECT_EQ(GetStr(*s, cache, "c2"), "v");
    ASSERT_NE(r.entry(u2)->flags & kFlagAccessed, 0u);
    uint32_t freed = 0;
    ASSERT_EQ(s->EvictOne(kClassCount, &freed, nullptr, false, pinnedAtEnd ? u1 : u2, true),
              L::kOk);
    if (pinnedAtEnd) {
      // Stopped at p1, the hand past it, nothing removed.
      EXPECT_EQ(freed, 0u);
      auto* evict = reinterpret_cast<L::EvictState*>(r.base() + L::kEvictOffset);
      EXPECT_EQ(std::atomic_ref<uint32_t>(evict->hand).load(), u2);
      EXPECT_EQ(s->Count(0), 4u);
      // The next run goes on from there.
      ASSERT_EQ(s->EvictOne(kClassCount, &freed), L::kOk);
    }
    EXPECT_NE(freed, 0u);
    // c0 had its second chance: kept, its mark cleared.
    EXPECT_EQ(r.entry(u0)->flags & kFlagAccessed, 0u);
    EXPECT_EQ(GetStr(*s, cache, "c0"), "v");
    EXPECT_EQ(GetStr(*s, pinned, "p1"), "v");
    if (pinnedAtEnd) {
      // The hand went on past p1: c2 had its second chance, c3 went.
      EXPECT_EQ(GetStr(*s, cache, "c2"), "v");
      EXPECT_EQ(GetStr(*s, cache, "c3"), "<miss>");
    } else {
      EXPECT_EQ(GetStr(*s, cache, "c2"), "<miss>");
      EXPECT_EQ(GetStr(*s, cache, "c3"), "v");
    }
    std::vector<NamespaceInfo> list;
    ASSERT_EQ(s->Namespaces(&list), L::kOk);
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0].evictions, 0u);
    EXPECT_EQ(list[1].evictions, 1u);
    EXPECT_EQ(s->Count(0), 3u);
    VerifyOk(*s);
  }
}

// ---- the room lease (format.md §8, "The room lease") -------------------------------------------

class RoomLease : public ::testing::Test {
 protected:
  static constexpr uint32_t kSlot = 3000;
  // A 2 MiB evicting store full of 100-byte entries of "c", opened with `timeoutMs`; "big" pinned.
  void Fill(uint32_t timeoutMs) {
    ASSERT_EQ(Store::Create(r.base(), r.size(), 4096, 100000, kPolicyClock), L::kOk);
    s = Open(r, 1, timeoutMs);
    cache = Ns(*s, "c");
    big = Ns(*s, "big");
    ASSERT_EQ(s->ConfigureNamespace(big, kPolicyNone, -1), L::kOk);
    const std::string v(100, 'v');
    for (uint32_t i = 0; s->Count(0) == i; ++i)
      ASSERT_EQ(Put(*s, cache, "k" + std::to_string(i), v), L::kOk);
  }
  uint32_t Lease() const { return std::atomic_ref<uint32_t>(r.evict()->roomLease).load(); }
  // Makes owner slot kSlot name thread `tid` of process `pid` and the lease held by it.
  void HoldAs(uint32_t pid, uint32_t tid = 9) {
    const OwnerIdentity id = IdentityOf(pid, tid);
    r.owner(kSlot)->tid = id.tid;
    r.owner(kSlot)->startTime = id.startTime;
    r.owner(kSlot)->bootId = id.bootId;
    r.owner(kSlot)->state = kOwnerLive;
    r.owner(kSlot)->pid = id.pid;
    r.evict()->roomLease = LockAcquiredWord(r.evict()->roomLease, kSlot);
  }
  Status PutLarge(const std::string& key, char fill) {
    const std::string value(256 << 10, fill);
    return Put(*s, big, key, value, 0);
  }
  Region r{2 << 20};
  std::unique_ptr<Store> s;
  uint32_t cache = 0, big = 0;
};

TEST_F(RoomLease, ALargeWriteTakesItAndGivesItBackASmallOneOfItsClassDoesNotTouchIt) {
  Fill(1000);
  const uint32_t w0 = Lease();
  ASSERT_EQ(Put(*s, cache, "one more", std::string(100, 'v')), L::kOk);  // step 1: one entry
  EXPECT_EQ(Lease(), w0);
  ASSERT_EQ(PutLarge("v", 'a'), L::kOk);
  const uint32_t w1 = Lease();
  EXPECT_FALSE(LockIsHeld(w1));
  EXPECT_EQ(LockOwnerOf(w1), 0u);
  EXPECT_NE(w1, w0) << "taken and released: its version moved";
  EXPECT_EQ(GetStr(*s, big, "v"), std::string(256 << 10, 'a'));
  VerifyOk(*s);
}

TEST_F(RoomLease, ALeaseOfAProcessThatEndedIsTakenOverAndARepairPassReleasesOne) {
  // A lockTimeoutMs of a minute: a write that waited it out would not be back for a minute.
  Fill(60000);
  HoldAs(DeadPid());
  ASSERT_EQ(PutLarge("v", 'b'), L::kOk);
  EXPECT_FALSE(LockIsHeld(Lease())) << "taken over and released";
  EXPECT_EQ(GetStr(*s, big, "v"), std::string(256 << 10, 'b'));
  // Left again by the process that ended: the repair pass releases it before it frees the slot.
  r.evict()->roomLease = LockAcquiredWord(r.evict()->roomLease, kSlot);
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_FALSE(LockIsHeld(Lease()));
  EXPECT_EQ(r.owner(kSlot)->pid, 0u);
  VerifyOk(*s);
}

TEST_F(RoomLease, ALeaseALiveProcessKeepsIsWaitedForThenTheWriteGoesOnWithoutIt) {
  Fill(50);
  const pid_t child = fork();
  ASSERT_GE(child, 0) << "fork failed";
  if (child == 0) {
    for (;;) pause();
  }
  // The child is killed and reaped however the test ends (a failed ASSERT returns early).
  struct Reap {
    pid_t pid;
    ~Reap() {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  } reap{child};
  HoldAs(static_cast<uint32_t>(child));
  const uint32_t seen = Lease();
  EXPECT_EQ(PutLarge("v", 'c'), L::kOk);
  EXPECT_EQ(Lease(), seen) << "not taken over";
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(Lease(), seen) << "a live holder's lease stays through a repair pass";
  EXPECT_EQ(GetStr(*s, big, "v"), std::string(256 << 10, 'c'));
  VerifyOk(*s);
}

}  // namespace
}  // namespace shm::test
