// Locks left by owners that are gone, or not (docs/format.md §9, "Stuck locks and repair"): who
// is presumed gone (a dead or zombie process, a released slot, a foreign slot of this process
// after the timeout), who is waited for (a live process, a live handle of this process through
// any mapping), and that one repair pass serves every waiter.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/hash.h"
#include "ownership/lockword.h"
#include "ownership/owners.h"
#include "store/alloc.h"
#include "store/store.h"
#include "test_util.h"

namespace shm::test {
namespace {

using Clock = std::chrono::steady_clock;

class StuckLocks : public ::testing::Test {
 protected:
  static constexpr uint32_t kBuckets = 64;
  static constexpr uint32_t kSlot = 100;
  void SetUp() override {
    ASSERT_EQ(Store::Create(r.base(), r.size(), kBuckets, 1000), L::kOk);
    s = Open(r, 1, 200);
    ns = Ns(*s, "n");
    ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
    bucket = r.bucket(Xxh32("k", 1, ns) & (kBuckets - 1));
  }
  // Makes owner slot kSlot belong to `pid` and `word` held by it.
  void HoldAs(uint32_t pid, uint32_t* word) { HoldAsIdentity(IdentityOf(pid, 9), word); }
  // Makes owner slot kSlot name `id` (all of its record) and `word` held by it.
  void HoldAsIdentity(const OwnerIdentity& id, uint32_t* word) {
    r.owner(kSlot)->pid = id.pid;
    r.owner(kSlot)->tid = id.tid;
    r.owner(kSlot)->startTime = id.startTime;
    r.owner(kSlot)->bootId = id.bootId;
    r.owner(kSlot)->state = kOwnerLive;
    *word = LockAcquiredWord(*word, kSlot);
  }
  void ExpectRepaired(uint32_t passes = 1) {
    EXPECT_EQ(r.header()->gcCounter, passes);
    EXPECT_EQ(r.owner(kSlot)->pid, 0u);
    ExpectNoLockHeld(r, kBuckets);
    VerifyOk(*s);
  }
  Region r{1 << 20};
  std::unique_ptr<Store> s;
  uint32_t ns = 0;
  L::Bucket* bucket = nullptr;
};

TEST_F(StuckLocks, DeadWriterBucketLockIsRepairedByTheNextWriter) {
  HoldAs(DeadPid(), &bucket->lock);
  const auto t0 = Clock::now();
  EXPECT_EQ(Put(*s, ns, "k", "new"), L::kOk);
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(500));  // no timeout: kill() said so
  EXPECT_EQ(GetStr(*s, ns, "k"), "new");
  ExpectRepaired();
}

TEST_F(StuckLocks, DeadWriterBucketLockIsRepairedByAReader) {
  HoldAs(DeadPid(), &bucket->lock);
  EXPECT_EQ(GetStr(*s, ns, "k"), "v");
  ExpectRepaired();
}

TEST_F(StuckLocks, DeadWriterLeakIsReclaimed) {
  // The dead writer had allocated a block and not published it yet.
  const uint32_t leaked = r.header()->freeHead;
  r.entry(leaked)->flags = 2u << 8;
  r.header()->freeHead = leaked + L::kSizeClasses[2];
  HoldAs(DeadPid(), &bucket->lock);
  EXPECT_EQ(Put(*s, ns, "k2", "x"), L::kOk);  // any bucket: verify() meets the held lock
  // The repair pass verify() runs frees this handle's parked blocks too (format.md §8).
  StoreStats st;
  ASSERT_EQ(s->Stats(&st), L::kOk);
  VerifyReport rep;
  ASSERT_EQ(s->Verify(&rep), L::kOk);
  EXPECT_TRUE(rep.ok);
  EXPECT_EQ(rep.freeUnits * kBlockUnit, L::kSizeClasses[2] * kBlockUnit + st.bytesParked);
  ExpectRepaired();
}

TEST_F(StuckLocks, ZombieHolderIsGone) {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  SleepMs(20);  // exited, not reaped: kill(pid, 0) still succeeds
  HoldAs(static_cast<uint32_t>(pid), &bucket->lock);
  EXPECT_EQ(Put(*s, ns, "k", "new"), L::kOk);
  ExpectRepaired();
  waitpid(pid, nullptr, 0);
}

TEST_F(StuckLocks, DeadAllocatorHolder) {
  HoldAs(DeadPid(), &r.alloc()->lock);
  EXPECT_EQ(Put(*s, ns, "k", "new"), L::kOk);
  EXPECT_EQ(GetStr(*s, ns, "k"), "new");
  ExpectRepaired();
}

// LockAlloc leaves the word it judged gone where the handle repairs for it: a word loaded again
// later may be a live holder's, taken after the gone holder's lock was mended (format.md §9).
TEST_F(StuckLocks, AllocatorLockJudgedGoneIsTheWordTheCallerRepairsFor) {
  HoldAs(DeadPid(), &r.alloc()->lock);
  const uint32_t judged = r.alloc()->lock;
  PoolView pool;
  pool.base = r.base();
  pool.alloc = r.alloc();
  uint32_t seen = 0;
  pool.goneSeen = &seen;
  LockEnv env;
  env.regionBase = r.base();
  env.owners = r.owner(0);
  env.self = IdentityOf(static_cast<uint32_t>(getpid()), 7);
  env.selfSlot = 200;
  env.lockTimeoutMs = 200;
  uint32_t held = 0;
  EXPECT_EQ(LockAlloc(pool, env, &held), AllocStatus::kGone);
  EXPECT_EQ(held, judged);
  EXPECT_EQ(seen, judged);
  EXPECT_EQ(r.alloc()->lock, judged) << "the verdict changes nothing";
  // Without a place for it, the verdict is still reported.
  pool.goneSeen = nullptr;
  EXPECT_EQ(LockAlloc(pool, env, &held), AllocStatus::kGone);
  // The handle's own allocator calls leave it too: its set repairs once, for that word.
  EXPECT_EQ(Put(*s, ns, "k", "new"), L::kOk);
  ExpectRepaired();
}

TEST_F(StuckLocks, DeadNamespaceCreator) {
  HoldAs(DeadPid(), &r.nsState()->lock);
  uint32_t id = 0;
  EXPECT_EQ(s->ResolveNamespace("fresh", 5, true, &id), L::kOk);
  EXPECT_EQ(id, 2u);
  ExpectRepaired();
}

TEST_F(StuckLocks, DeadRepairer) {
  // A repairer died holding RepairState.lock and a bucket lock; the next one takes both over.
  const uint32_t dead = DeadPid();
  HoldAs(dead, &r.repairState()->lock);
  bucket->lock = LockAcquiredWord(bucket->lock, kSlot);
  EXPECT_EQ(Put(*s, ns, "k", "new"), L::kOk);
  EXPECT_EQ(GetStr(*s, ns, "k"), "new");
  ExpectRepaired();
}

TEST_F(StuckLocks, VerifyRepairsFirst) {
  HoldAs(DeadPid(), &bucket->lock);
  VerifyOk(*s);
  EXPECT_EQ(r.header()->gcCounter, 1u);
}

TEST_F(StuckLocks, LiveOtherProcessIsWaitedForThenTimesOut) {
  pid_t pid = fork();
  if (pid == 0) {
    pause();
    _exit(0);
  }
  HoldAs(static_cast<uint32_t>(pid), &bucket->lock);
  auto h = Open(r, 2, 50);
  auto t0 = Clock::now();
  EXPECT_EQ(Put(*h, ns, "k", "new"), L::kErrLockTimeout);
  const auto waited = Clock::now() - t0;
  EXPECT_GE(waited, std::chrono::milliseconds(500));  // lockTimeoutMs (50) x 10
  EXPECT_LT(waited, std::chrono::milliseconds(5000));
  EXPECT_EQ(GetStr(*h, ns, "k"), "<ERR_LOCK_TIMEOUT>");
  EXPECT_EQ(r.header()->gcCounter, 0u);
  // Once it is gone, the lock is repaired.
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  EXPECT_EQ(Put(*s, ns, "k", "new"), L::kOk);
  ExpectRepaired();
}

// A live process whose pid the record names, but not its start time: the recorded owner ended
// and its pid was reused (or this is a store on a file reopened after a reboot). Gone at once,
// not waited for 10 x lockTimeoutMs and then ERR_LOCK_TIMEOUT.
class IdentityOfAGoneOwner : public StuckLocks, public ::testing::WithParamInterface<int> {
 protected:
  pid_t sleeper_ = -1;
  void TearDown() override {
    if (sleeper_ > 0) {
      kill(sleeper_, SIGKILL);
      waitpid(sleeper_, nullptr, 0);
    }
  }
  // The identity of the parameter's case: a live other process or this one, with its start time
  // or its boot id changed.
  OwnerIdentity Planted() {
    const int c = GetParam();
    OwnerIdentity id;
    if (c < 2) {
      sleeper_ = fork();
      if (sleeper_ == 0) {
        for (;;) pause();
      }
      id = IdentityOf(static_cast<uint32_t>(sleeper_), 9);
    } else {
      id = IdentityOf(static_cast<uint32_t>(getpid()), 9);
    }
    if (c % 2 == 0) {
      id.startTime += 12345;
    } else {
      id.bootId ^= 0x5a5a;
    }
    return id;
  }
};

TEST_P(IdentityOfAGoneOwner, OperationsVerifyAndRepairTakeTheLockBackAtOnce) {
  const OwnerIdentity id = Planted();
  auto h = Open(r, 2, 5000);
  auto prompt = [](Clock::time_point t0) {
    return Clock::now() - t0 < std::chrono::milliseconds(1000);
  };
  HoldAsIdentity(id, &bucket->lock);
  auto t0 = Clock::now();
  EXPECT_EQ(Put(*h, ns, "k", "new"), L::kOk);
  EXPECT_TRUE(prompt(t0));
  EXPECT_EQ(r.owner(kSlot)->pid, 0u) << "the repair pass freed the gone owner's slot";
  HoldAsIdentity(id, &bucket->lock);
  t0 = Clock::now();
  EXPECT_EQ(GetStr(*h, ns, "k"), "new");
  EXPECT_TRUE(prompt(t0));
  HoldAsIdentity(id, &bucket->lock);
  t0 = Clock::now();
  VerifyOk(*h);
  EXPECT_TRUE(prompt(t0));
  HoldAsIdentity(id, &bucket->lock);
  t0 = Clock::now();
  EXPECT_EQ(h->Repair(), L::kOk);
  EXPECT_TRUE(prompt(t0));
  ExpectRepaired(4);
}

std::string GoneOwnerCase(const ::testing::TestParamInfo<int>& info) {
  static const char* const kNames[] = {"OtherPidReused", "OtherPidOtherBoot",
                                       "ThisPidEarlierProcess", "ThisPidOtherBoot"};
  return kNames[info.param];
}

INSTANTIATE_TEST_SUITE_P(StuckLocks, IdentityOfAGoneOwner, ::testing::Values(0, 1, 2, 3),
                         GoneOwnerCase);

TEST_F(StuckLocks, LiveOtherProcessWithItsIdentityIsWaitedFor) {
  pid_t pid = fork();
  if (pid == 0) {
    pause();
    _exit(0);
  }
  HoldAsIdentity(IdentityOf(static_cast<uint32_t>(pid), 9), &bucket->lock);
  auto h = Open(r, 2, 20);
  auto t0 = Clock::now();
  EXPECT_EQ(Put(*h, ns, "k", "new"), L::kErrLockTimeout);
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(200));  // lockTimeoutMs (20) x 10
  VerifyReport rep;
  EXPECT_EQ(h->Verify(&rep), L::kErrLockTimeout);
  EXPECT_EQ(h->Repair(), L::kErrLockTimeout);
  EXPECT_EQ(r.header()->gcCounter, 0u);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  EXPECT_EQ(Put(*s, ns, "k", "new"), L::kOk);
  ExpectRepaired();
}

TEST_F(StuckLocks, DeadMarkedSlotOfThisProcessIsGoneAtOnce) {
  // A JS-engine handle of a worker that was terminated: the addon marked its slot dead.
  const OwnerIdentity id = IdentityOf(static_cast<uint32_t>(getpid()), 9);
  HoldAsIdentity(id, &bucket->lock);
  ASSERT_TRUE(MarkOwnerSlotDead(r.owner(0), kSlot, id));
  auto h = Open(r, 2, 5000);
  const auto t0 = Clock::now();
  EXPECT_EQ(Put(*h, ns, "k", "new"), L::kOk);
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(1000));
  ExpectRepaired();
}

TEST_F(StuckLocks, LiveHandleOfThisProcessIsNotPresumedGone) {
  auto other = Open(r, 2, 200);
  auto h = Open(r, 3, 50);
  bucket->lock = LockAcquiredWord(bucket->lock, other->ownerSlot());
  EXPECT_EQ(Put(*h, ns, "k", "new"), L::kErrLockTimeout);
  EXPECT_EQ(r.header()->gcCounter, 0u);
  bucket->lock = LockReleasedWord(bucket->lock);
  EXPECT_EQ(Put(*s, ns, "k", "new"), L::kOk);
}

TEST_F(StuckLocks, ForeignSlotOfThisProcessIsGoneAfterTheTimeout) {
  // A slot with this pid that no open native handle owns (a JS-engine handle in a terminated
  // worker): gone once the word stayed unchanged for lockTimeoutMs.
  HoldAs(static_cast<uint32_t>(getpid()), &bucket->lock);
  auto t0 = Clock::now();
  EXPECT_EQ(Put(*s, ns, "k", "new"), L::kOk);
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(200));
  EXPECT_EQ(r.header()->gcCounter, 1u);
  ExpectNoLockHeld(r, kBuckets);
  r.owner(kSlot)->pid = 0;  // this process's slots are not cleared by repair
  VerifyOk(*s);
}

TEST_F(StuckLocks, ReleasedSlotMeansGone) {
  // The lock names a slot that is free: nobody can be holding it.
  bucket->lock = LockAcquiredWord(bucket->lock, kSlot);
  EXPECT_EQ(Put(*s, ns, "k", "new"), L::kOk);
  ExpectRepaired();
}

TEST_F(StuckLocks, ManyWaitersOneRepair) {
  HoldAs(DeadPid(), &bucket->lock);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto h = Open(r, 10 + t, 200);
      if (GetStr(*h, ns, "k") == "v") ok++;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(r.header()->gcCounter, 1u);  // the others waited for the first repair
  ExpectRepaired();
}

// A native handle of this process is never presumed gone (§9), also when the waiter reached the
// store through another mapping of the same segment (two workers that each opened it by name).
// Before the fix the live-slot registry was keyed by the mapping's address, so the waiter took
// the live handle's lock over after lockTimeoutMs and both wrote the bucket at once.
TEST(StuckLocksAcrossMappings, LiveHandleSeenThroughAnotherMappingIsNotPresumedGone) {
  constexpr size_t kSize = 1 << 20;
  const int fd = memfd_create("shmstore-two-mappings", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, kSize), 0);
  auto map = [&] {
    void* p = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
  };
  uint8_t* first = map();
  uint8_t* second = map();
  close(fd);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  ASSERT_NE(first, second);
  ASSERT_EQ(Store::Create(first, kSize, 64, 1000), L::kOk);

  std::unique_ptr<Store> holder, waiter;
  const uint32_t pid = static_cast<uint32_t>(getpid());
  ASSERT_EQ(Store::Attach(first, kSize, pid, 1, 1000, &holder), L::kOk);
  ASSERT_EQ(Store::Attach(second, kSize, pid, 2, 20, &waiter), L::kOk);
  uint32_t ns = 0;
  ASSERT_EQ(waiter->ResolveNamespace("n", 1, true, &ns), L::kOk);

  // The holder is inside an operation on every bucket (as a writer waiting for the allocator).
  auto* buckets = reinterpret_cast<L::Bucket*>(first + L::kBucketsOffset);
  for (uint32_t i = 0; i < 64; ++i) {
    buckets[i].lock = LockAcquiredWord(buckets[i].lock, holder->ownerSlot());
  }
  EXPECT_EQ(waiter->Set(ns, "k", 1, "v", 1, 1), L::kErrLockTimeout);
  EXPECT_EQ(reinterpret_cast<L::Header*>(first)->gcCounter, 0u);  // nothing was taken over
  for (uint32_t i = 0; i < 64; ++i) {
    EXPECT_EQ(LockOwnerOf(buckets[i].lock), holder->ownerSlot()) << "bucket " << i;
    buckets[i].lock = LockReleasedWord(buckets[i].lock);
  }
  EXPECT_EQ(waiter->Set(ns, "k", 1, "v", 1, 1), L::kOk);

  holder.reset();
  waiter.reset();
  munmap(first, kSize);
  munmap(second, kSize);
}

}  // namespace
}  // namespace shm::test
