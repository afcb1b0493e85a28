// The heartbeat of long passes (docs/format.md §9, "Heartbeat of long passes"): a repair pass or
// verify() advances RepairState.lock by 2 every 4096 units of work, and a waiter does not presume
// a holder of its own process gone while that holder keeps advancing RepairState.lock.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/hash.h"
#include "ownership/heartbeat.h"
#include "ownership/owners.h"
#include "ownership/waiter.h"
#include "store/store.h"
#include "test_util.h"

namespace shm::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uint32_t kVersionMask = 0xFFFFF;

uint32_t VersionOf(uint32_t word) {
  return word & kVersionMask;
}

// A long pass simulated by owner slot `slot` of this process that no open native handle owns (as
// a JS-engine handle in a worker): it holds RepairState.lock and `word` (which may be
// RepairState.lock itself) for `hold`, advancing RepairState.lock every 10 ms when `beat`, then
// releases both with a CAS from the words it holds, as a pass does. A release that fails means a
// waiter presumed the pass gone and took the lock over.
class SimulatedPass {
 public:
  SimulatedPass(const Region& r, uint32_t slot, uint32_t* word, bool beat, milliseconds hold)
      : repair_(&r.repairState()->lock), word_(word) {
    const OwnerIdentity id = IdentityOf(static_cast<uint32_t>(getpid()), 9);
    r.owner(slot)->pid = id.pid;
    r.owner(slot)->tid = id.tid;
    r.owner(slot)->startTime = id.startTime;
    r.owner(slot)->bootId = id.bootId;
    repairHeld_ = LockAcquiredWord(AtomicLoad(repair_), slot);
    AtomicStore(repair_, repairHeld_);
    if (word_ != repair_) {
      wordHeld_ = LockAcquiredWord(AtomicLoad(word_), slot);
      AtomicStore(word_, wordHeld_);
    }
    thread_ = std::thread([this, slot, beat, hold] {
      const auto end = Clock::now() + hold;
      while (Clock::now() < end) {
        std::this_thread::sleep_for(milliseconds(10));
        if (!beat) continue;
        // ((v + 2) & 0xFFFFF) | (owner << 20), from the word held.
        const uint32_t next = ((VersionOf(repairHeld_) + 2) & kVersionMask) | (slot << 20);
        if (AtomicCas(repair_, repairHeld_, next)) repairHeld_ = next;
        ++beats_;
      }
      ending_ = true;
      if (word_ != repair_)
        wordReleased_ = AtomicCas(word_, wordHeld_, LockReleasedWord(wordHeld_));
      repairReleasedWord_ = LockReleasedWord(repairHeld_);
      repairReleased_ = AtomicCas(repair_, repairHeld_, repairReleasedWord_);
    });
  }
  ~SimulatedPass() { Join(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  // The pass is over: it is releasing (or has released) its locks.
  bool ending() const { return ending_; }
  int beats() const { return beats_; }
  // Whether the pass could release what it held (false: it was taken over).
  bool released() const { return repairReleased_ && (word_ == repair_ || wordReleased_); }
  // The word the pass stored into RepairState.lock when it released it.
  uint32_t repairReleasedWord() const { return repairReleasedWord_; }

 private:
  uint32_t* repair_;
  uint32_t* word_;
  uint32_t repairHeld_ = 0;
  uint32_t wordHeld_ = 0;
  uint32_t repairReleasedWord_ = 0;
  std::atomic<bool> ending_{false};
  std::atomic<int> beats_{0};
  bool repairReleased_ = false;
  bool wordReleased_ = false;
  std::thread thread_;
};

// What the waiter does, and which lock the simulated pass holds besides RepairState.lock.
enum class Target { kBucketWriter, kBucketReader, kAlloc, kNamespace, kRepairLock };

std::string TargetName(const ::testing::TestParamInfo<Target>& info) {
  switch (info.param) {
    case Target::kBucketWriter:
      return "BucketWriter";
    case Target::kBucketReader:
      return "BucketReader";
    case Target::kAlloc:
      return "AllocLock";
    case Target::kNamespace:
      return "NamespaceLock";
    case Target::kRepairLock:
      return "RepairLock";
  }
  return "?";
}

class Heartbeat : public ::testing::TestWithParam<Target> {
 protected:
  static constexpr uint32_t kBuckets = 64;
  static constexpr uint32_t kSlot = 100;
  static constexpr uint32_t kWaiterTimeoutMs = 200;
  static constexpr auto kHold = milliseconds(1000);
  void SetUp() override {
    ASSERT_EQ(Store::Create(r.base(), r.size(), kBuckets, 1000), L::kOk);
    s = Open(r, 1, 200);
    ns = Ns(*s, "n");
    ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
    bucket = r.bucket(Xxh32("k", 1, ns) & (kBuckets - 1));
    // lockTimeoutMs 200: far below the pass's 1000 ms, and far above the 10 ms between beats, so
    // that a beating thread descheduled on a loaded machine is not presumed gone.
    waiter = Open(r, 2, kWaiterTimeoutMs);
  }
  void TearDown() override {
    r.owner(kSlot)->pid = 0;  // this process's slots are not cleared by repair
    r.owner(kSlot)->tid = 0;
  }
  uint32_t* TargetWord() {
    switch (GetParam()) {
      case Target::kBucketWriter:
      case Target::kBucketReader:
        return &bucket->lock;
      case Target::kAlloc:
        return &r.alloc()->lock;
      case Target::kNamespace:
        return &r.nsState()->lock;
      case Target::kRepairLock:
        return &r.repairState()->lock;
    }
    return nullptr;
  }
  // The waiter's operation; it must succeed whether it waited or took the lock over.
  void Operate() {
    switch (GetParam()) {
      case Target::kBucketWriter:
        EXPECT_EQ(Put(*waiter, ns, "k", "new"), L::kOk);
        break;
      case Target::kBucketReader:
        EXPECT_EQ(GetStr(*waiter, ns, "k"), "v");
        break;
      case Target::kAlloc:
        EXPECT_EQ(Put(*waiter, ns, "another", "x"), L::kOk);  // a new entry needs a block
        break;
      case Target::kNamespace: {
        uint32_t id = 0;
        EXPECT_EQ(waiter->ResolveNamespace("fresh", 5, true, &id), L::kOk);
        EXPECT_EQ(id, 2u);
        break;
      }
      case Target::kRepairLock:
        EXPECT_EQ(waiter->Repair(), L::kOk);
        break;
    }
  }
  // Repair passes the waiter's operation runs by itself when nobody is presumed gone.
  uint32_t OwnPasses() const { return GetParam() == Target::kRepairLock ? 1 : 0; }

  Region r{1 << 20};
  std::unique_ptr<Store> s;
  std::unique_ptr<Store> waiter;
  uint32_t ns = 0;
  L::Bucket* bucket = nullptr;
};

TEST_P(Heartbeat, HolderThatHeartbeatsIsWaitedFor) {
  SimulatedPass pass(r, kSlot, TargetWord(), /*beat=*/true, kHold);
  const auto t0 = Clock::now();
  Operate();
  const auto waited = Clock::now() - t0;
  EXPECT_TRUE(pass.ending()) << "the waiter went ahead while the pass held the lock";
  EXPECT_GE(waited, kHold - milliseconds(100));
  pass.Join();
  EXPECT_TRUE(pass.released()) << "the pass was taken over";
  EXPECT_GE(pass.beats(), 10);
  EXPECT_EQ(r.header()->gcCounter, OwnPasses());  // no repair pass for a gone holder
  if (GetParam() != Target::kRepairLock) {
    // The waiter never presumed the holder gone: it did not even start a repair pass (which
    // would have waited for RepairState.lock and taken it once the pass released it).
    EXPECT_EQ(AtomicLoad(&r.repairState()->lock), pass.repairReleasedWord());
  }
  VerifyOk(*s);
}

TEST_P(Heartbeat, HolderWithoutHeartbeatIsTakenOverAfterTheTimeout) {
  SimulatedPass pass(r, kSlot, TargetWord(), /*beat=*/false, kHold);
  const auto t0 = Clock::now();
  Operate();
  const auto waited = Clock::now() - t0;
  EXPECT_FALSE(pass.ending()) << "the waiter waited for the whole pass";
  EXPECT_GE(waited, milliseconds(kWaiterTimeoutMs));
  pass.Join();
  EXPECT_FALSE(pass.released());
  EXPECT_EQ(r.header()->gcCounter, 1u);
  VerifyOk(*s);
}

INSTANTIATE_TEST_SUITE_P(StoreHeartbeat, Heartbeat,
                         ::testing::Values(Target::kBucketWriter, Target::kBucketReader,
                                           Target::kAlloc, Target::kNamespace, Target::kRepairLock),
                         TargetName);

// The native passes heartbeat: on 16384 buckets acquiring the bucket locks alone is 4 x 4096
// units of work, then there is one more beat before releasing. Each beat advances
// RepairState.lock by 2 beyond the acquire and the release, and the release must still succeed
// from the moved word.
TEST(StoreHeartbeat, RepairAndVerifyAdvanceRepairStateLock) {
  constexpr uint32_t kBuckets = 1 << 14;
  Region r(4 << 20);
  ASSERT_EQ(Store::Create(r.base(), r.size(), kBuckets, 10000), L::kOk);
  auto s = Open(r);
  const uint32_t ns = Ns(*s, "n");
  for (int i = 0; i < 100; ++i) ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), "v"), L::kOk);
  uint32_t* repair = &r.repairState()->lock;

  const uint32_t before = AtomicLoad(repair);
  ASSERT_EQ(s->Repair(), L::kOk);
  uint32_t after = AtomicLoad(repair);
  EXPECT_FALSE(LockIsHeld(after)) << "the repair pass left RepairState.lock held";
  EXPECT_EQ(LockOwnerOf(after), 0u);
  EXPECT_GE(VersionOf(after - before), 2u + 2u * 5u);  // acquire, 5 beats or more, release
  EXPECT_EQ(VersionOf(after - before) % 2, 0u);

  const uint32_t beforeVerify = after;
  VerifyReport rep = VerifyOk(*s);
  EXPECT_EQ(rep.entries, 100u);
  after = AtomicLoad(repair);
  EXPECT_FALSE(LockIsHeld(after)) << "verify() left RepairState.lock held";
  EXPECT_EQ(LockOwnerOf(after), 0u);
  EXPECT_GE(VersionOf(after - beforeVerify), 2u + 2u * 5u);
  EXPECT_EQ(r.header()->gcCounter, 1u);
  // Nothing is left held: another handle verifies (and writes) without waiting or repairing.
  auto other = Open(r, 2, 50);
  VerifyOk(*other);
  EXPECT_EQ(Put(*other, ns, "k0", "w"), L::kOk);
  EXPECT_EQ(r.header()->gcCounter, 1u);
}

// A real pass, much longer than the waiter's lockTimeoutMs, by a handle of this process that the
// waiter cannot tell is alive (unregistered, as a JS-engine handle would be): the waiter waits
// for it instead of taking its locks over and running a second pass at the same time.
TEST(StoreHeartbeat, LongRepairPassOfAnUnregisteredHandleIsNotTakenOver) {
  // A long pass: 2M locks to take and chains to walk, 100000 entries to check.
  constexpr uint32_t kBuckets = 1 << 21;
  constexpr int kEntries = 100000;
  Region r(EntriesOffset(kBuckets) + (16 << 20));
  ASSERT_EQ(Store::Create(r.base(), r.size(), kBuckets, kEntries + 10), L::kOk);
  auto s = Open(r, 1, 1000);
  const uint32_t ns = Ns(*s, "n");
  const std::string value(40, 'x');
  // The key in the lowest bucket: the pass takes its lock early and holds it to the end.
  std::string key;
  uint32_t keyBucket = kBuckets;
  for (int i = 0; i < kEntries; ++i) {
    const std::string k = "key" + std::to_string(i);
    ASSERT_EQ(Put(*s, ns, k, value), L::kOk);
    const uint32_t b = Xxh32(k.data(), k.size(), ns) & (kBuckets - 1);
    if (b < keyBucket) keyBucket = b, key = k;
  }

  auto passer = Open(r, 2, 1000);
  const uint32_t slot = passer->ownerSlot();
  UnregisterLiveSlot(r.base(), slot);
  // Without heartbeats a waiter with lockTimeoutMs 30 would presume the pass (about 90 ms here)
  // gone after 30 ms, take RepairState.lock over 30 ms later and run a second pass over the
  // first. 30 ms, not less: a pass thread descheduled on a loaded machine must not look gone.
  auto waiter = Open(r, 3, 30);
  uint32_t* repair = &r.repairState()->lock;

  std::atomic<bool> passDone{false};
  Clock::duration passTime{};
  std::thread pass([&] {
    const auto t0 = Clock::now();
    EXPECT_EQ(passer->Repair(), L::kOk);
    passTime = Clock::now() - t0;
    passDone = true;
  });
  // Every value RepairState.lock takes while the pass holds it keeps the held bit and the owner.
  std::set<uint32_t> seen;
  std::thread sampler([&] {
    while (!passDone) {
      seen.insert(AtomicLoad(repair));
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  });
  while (!passDone && LockOwnerOf(AtomicLoad(&r.bucket(keyBucket)->lock)) != slot) {
    std::this_thread::yield();
  }
  const auto t0 = Clock::now();
  EXPECT_EQ(Put(*waiter, ns, key, "new"), L::kOk);
  const auto waited = Clock::now() - t0;
  pass.join();
  sampler.join();
  std::printf("[ pass     ] repair pass %lld ms, the writer waited %lld ms, %zu words seen\n",
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(passTime).count()),
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(waited).count()),
              seen.size());

  EXPECT_EQ(r.header()->gcCounter, 1u) << "the waiter ran a repair pass of its own";
  for (uint32_t w : seen) {
    if (LockIsHeld(w)) {
      EXPECT_EQ(LockOwnerOf(w), slot) << std::hex << w;
    }
  }
  EXPECT_FALSE(LockIsHeld(AtomicLoad(repair)));
  EXPECT_EQ(GetStr(*s, ns, key), "new");
  VerifyReport rep = VerifyOk(*s);
  EXPECT_EQ(rep.entries, static_cast<uint64_t>(kEntries));
}

}  // namespace
}  // namespace shm::test
