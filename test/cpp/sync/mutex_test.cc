// Tests of shm::sync::Mutex (src/sync/mutex.h) on the bytes of docs/format.md §13: exclusion
// between many threads (an exact sum), timeouts, a holder process killed with SIGKILL (the next
// acquirer takes over and is told, sleeping waiters are woken), abandoned locks, a full owner
// table, and the checks of a region's header. Also built with ThreadSanitizer (npm run test:tsan).
#include "sync/mutex.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "base/atomic.h"
#include "ownership/lockword.h"

namespace shm::sync {
namespace {

namespace L = layout;
using Clock = std::chrono::steady_clock;
constexpr int64_t kMs = 1000000;
// Every wait of these tests is bounded: a broken recovery fails instead of hanging.
constexpr int64_t kBound = 20000 * kMs;

// A zero-filled region in MAP_SHARED memory (a forked child shares it, and so does its futex).
class Region {
 public:
  explicit Region(size_t bytes = kRegionBytes) : bytes_(bytes) {
    void* m = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    base_ = m == MAP_FAILED ? nullptr : static_cast<uint8_t*>(m);
  }
  ~Region() {
    if (base_ != nullptr) munmap(base_, bytes_);
  }
  uint8_t* base() const { return base_; }
  L::MutexState* state() const {
    return reinterpret_cast<L::MutexState*>(base_ + L::kSyncMutexOffset);
  }
  L::Owner* owners() const { return reinterpret_cast<L::Owner*>(base_ + L::kSyncOwnersOffset); }
  L::SyncHeader* header() const {
    return reinterpret_cast<L::SyncHeader*>(base_ + L::kSyncHeaderOffset);
  }
  uint32_t lock() const { return AtomicLoad(&state()->lock); }

 private:
  size_t bytes_;
  uint8_t* base_;
};

uint32_t Pid() {
  return static_cast<uint32_t>(getpid());
}

// A thread id for an owner record: distinct per test thread (only its uniqueness matters).
uint32_t Tid() {
  static std::atomic<uint32_t> next{1};
  thread_local uint32_t tid = next.fetch_add(1);
  return tid;
}

// A child process that opens the mutex, locks it, reports 'L' on a pipe and sleeps until killed.
class Holder {
 public:
  explicit Holder(const Region& r) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(fds[0]);
      Mutex m;
      bool recovered = false;
      char c =
          m.Open(r.base(), kRegionBytes, Pid(), 1) == L::kOk && m.Lock(kBound, &recovered) == L::kOk
              ? 'L'
              : 'E';
      if (write(fds[1], &c, 1) != 1) _exit(2);
      for (;;) pause();
    }
    close(fds[1]);
    char c = 0;
    locked_ = read(fds[0], &c, 1) == 1 && c == 'L';
    close(fds[0]);
  }
  ~Holder() { Kill(); }
  bool locked() const { return locked_; }
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  bool locked_ = false;
};

TEST(SyncMutex, StampsZeroBytesAndChecksTheHeader) {
  Region r;
  Mutex m;
  ASSERT_EQ(m.Open(r.base(), kRegionBytes, Pid(), Tid()), L::kOk);
  EXPECT_EQ(AtomicLoad(&r.header()->magic), L::kSyncMagic);
  EXPECT_EQ(AtomicLoad(&r.header()->kind), L::kSyncKindMutex);
  EXPECT_EQ(AtomicLoad(&r.header()->version), L::kSyncFormatVersion);
  EXPECT_EQ(m.slot(), 1u);
  EXPECT_EQ(AtomicLoad(&r.owners()[1].pid), Pid());
  EXPECT_EQ(m.Open(r.base(), kRegionBytes, Pid(), Tid()), L::kErrInvalidArg) << "open twice";
  m.Close();
  EXPECT_EQ(AtomicLoad(&r.owners()[1].pid), 0u) << "Close releases the slot";

  Mutex n;
  EXPECT_EQ(n.Open(nullptr, kRegionBytes, Pid(), Tid()), L::kErrInvalidArg);
  EXPECT_EQ(n.Open(r.base() + 4, kRegionBytes, Pid(), Tid()), L::kErrInvalidArg);
  EXPECT_EQ(n.Open(r.base(), kRegionBytes, 0, Tid()), L::kErrInvalidArg);
  EXPECT_EQ(n.Open(r.base(), kRegionBytes - 1, Pid(), Tid()), L::kErrBadSize);
  AtomicStore(&r.header()->version, 2);
  EXPECT_EQ(n.Open(r.base(), kRegionBytes, Pid(), Tid()), L::kErrBadVersion);
  AtomicStore(&r.header()->version, 1);
  AtomicStore(&r.header()->kind, 2);
  EXPECT_EQ(n.Open(r.base(), kRegionBytes, Pid(), Tid()), L::kErrBadMagic);
  AtomicStore(&r.header()->kind, 1);
  AtomicStore(&r.header()->magic, 0x12345678);
  EXPECT_EQ(n.Open(r.base(), kRegionBytes, Pid(), Tid()), L::kErrBadMagic);
  EXPECT_FALSE(n.open());
  bool recovered;
  EXPECT_EQ(n.Lock(0, &recovered), L::kErrClosed);
  EXPECT_EQ(n.Unlock(), L::kErrClosed);
}

// A region another stamper claimed (another kind, or a creator with parameters still writing
// them) is waited for and refused, never stamped as a mutex over that claim (§13, "Stamping").
TEST(SyncMutex, LeavesAClaimOfAnotherStamperAlone) {
  for (const uint32_t claim :
       {static_cast<uint32_t>(L::kSyncKindBarrier),
        static_cast<uint32_t>(L::kSyncKindSemaphore | L::kSyncKindCreating)}) {
    Region r;
    AtomicStore(&r.header()->kind, claim);
    Mutex m;
    EXPECT_EQ(m.Open(r.base(), kRegionBytes, Pid(), Tid()), L::kErrBadMagic);
    EXPECT_EQ(AtomicLoad(&r.header()->magic), 0u);
    EXPECT_EQ(AtomicLoad(&r.header()->kind), claim);
    EXPECT_EQ(AtomicLoad(&r.header()->version), 0u);
  }
}

TEST(SyncMutex, LockUnlockAdvanceTheLockWord) {
  Region r;
  Mutex m;
  ASSERT_EQ(m.Open(r.base(), kRegionBytes, Pid(), Tid()), L::kOk);
  bool recovered = true;
  ASSERT_EQ(m.Lock(kForever, &recovered), L::kOk);
  EXPECT_FALSE(recovered);
  EXPECT_TRUE(m.held());
  EXPECT_EQ(r.lock(), 1u | (m.slot() << kLockOwnerShift));
  EXPECT_EQ(m.Lock(kForever, &recovered), L::kErrLockTimeout) << "not recursive";
  bool acquired = true;
  EXPECT_EQ(m.TryLock(&acquired, &recovered), L::kOk);
  EXPECT_FALSE(acquired);
  ASSERT_EQ(m.Unlock(), L::kOk);
  EXPECT_EQ(r.lock(), 2u);
  EXPECT_EQ(m.Unlock(), L::kErrNotOwner);
  EXPECT_EQ(m.TryLock(&acquired, &recovered), L::kOk);
  EXPECT_TRUE(acquired);
  EXPECT_FALSE(recovered);
  EXPECT_EQ(m.Unlock(), L::kOk);
  EXPECT_EQ(m.Recoveries(), 0u);
}

TEST(SyncMutex, TimesOutWhileALiveHolderKeepsIt) {
  Region r;
  Mutex a, b;
  ASSERT_EQ(a.Open(r.base(), kRegionBytes, Pid(), Tid()), L::kOk);
  ASSERT_EQ(b.Open(r.base(), kRegionBytes, Pid(), Tid() + 1000), L::kOk);
  bool recovered;
  ASSERT_EQ(a.Lock(kForever, &recovered), L::kOk);
  bool acquired = true;
  EXPECT_EQ(b.TryLock(&acquired, &recovered), L::kOk);
  EXPECT_FALSE(acquired) << "a live holder of this process is never taken over";
  EXPECT_EQ(b.Lock(0, &recovered), L::kErrLockTimeout);
  const auto t0 = Clock::now();
  EXPECT_EQ(b.Lock(30 * kMs, &recovered), L::kErrLockTimeout);
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(30)) << "never gives up early";
  EXPECT_EQ(AtomicLoad(&r.state()->waiters), 0u) << "a timed-out waiter unregisters";
  EXPECT_EQ(b.Unlock(), L::kErrNotOwner);
  ASSERT_EQ(a.Unlock(), L::kOk);
  EXPECT_EQ(b.Lock(kBound, &recovered), L::kOk);
  EXPECT_FALSE(recovered);
  EXPECT_EQ(b.Unlock(), L::kOk);
}

TEST(SyncMutex, StopCheckEndsAWait) {
  Region r;
  Mutex a, b;
  ASSERT_EQ(a.Open(r.base(), kRegionBytes, Pid(), Tid()), L::kOk);
  ASSERT_EQ(b.Open(r.base(), kRegionBytes, Pid(), Tid() + 1000), L::kOk);
  bool recovered;
  ASSERT_EQ(a.Lock(kForever, &recovered), L::kOk);
  std::atomic<bool> stop{false};
  StopCheck check{[](void* ctx) { return static_cast<std::atomic<bool>*>(ctx)->load(); }, &stop};
  std::thread t([&] { stop.store(true); });
  EXPECT_EQ(b.Lock(kForever, &recovered, check), L::kErrClosed);
  t.join();
  EXPECT_FALSE(b.held());
  EXPECT_EQ(a.Unlock(), L::kOk);
}

// N threads, each with its own handle, add to a plain counter under the mutex: the sum is exact
// only if no two ever held it at once (a lost wake-up would show as a wait of one recheck period,
// never as a wrong sum).
TEST(SyncMutex, ThreadsExcludeEachOther) {
  Region r;
  constexpr int kThreads = 6;
  constexpr int kIterations = 20000;
  uint64_t counter = 0;  // plain, not atomic: only the mutex protects it
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      Mutex m;
      if (m.Open(r.base(), kRegionBytes, Pid(), Tid()) != L::kOk) {
        failures.fetch_add(1);
        return;
      }
      for (int i = 0; i < kIterations; ++i) {
        bool recovered;
        if (m.Lock(kBound, &recovered) != L::kOk || recovered) {
          failures.fetch_add(1);
          return;
        }
        const uint64_t v = counter;
        if ((i & 63) == 0) std::this_thread::yield();  // widen the window a broken lock would show
        counter = v + 1;
        if (m.Unlock() != L::kOk) failures.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(counter, uint64_t{kThreads} * kIterations);
  EXPECT_FALSE(LockIsHeld(r.lock()));
  EXPECT_EQ(AtomicLoad(&r.state()->recovering), 0u);
}

// The same across processes: forked children with two threads each and the parent's threads add
// to one plain counter in the shared memory after the region.
TEST(SyncMutex, ProcessesExcludeEachOther) {
  Region r(kRegionBytes + 64);
  auto* counter = reinterpret_cast<uint64_t*>(r.base() + kRegionBytes);
  constexpr int kChildren = 2;
  constexpr int kThreads = 2;
  constexpr int kIterations = 5000;
  auto work = [&](uint32_t tid) {
    Mutex m;
    if (m.Open(r.base(), kRegionBytes, Pid(), tid) != L::kOk) return false;
    for (int i = 0; i < kIterations; ++i) {
      bool recovered;
      if (m.Lock(kBound, &recovered) != L::kOk || recovered) return false;
      *counter = *counter + 1;
      if (m.Unlock() != L::kOk) return false;
    }
    return true;
  };
  auto threads = [&](uint32_t base) {
    std::atomic<bool> ok{true};
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t) {
      ts.emplace_back([&, t] {
        if (!work(base + t)) ok.store(false);
      });
    }
    for (auto& t : ts) t.join();
    return ok.load();
  };
  std::vector<pid_t> children;
  for (int c = 0; c < kChildren; ++c) {
    const pid_t pid = fork();
    if (pid == 0) _exit(threads(100 * (c + 1)) ? 0 : 1);
    children.push_back(pid);
  }
  EXPECT_TRUE(threads(1000));
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(*counter, uint64_t{kChildren + 1} * kThreads * kIterations);
}

TEST(SyncMutex, HolderKilledNextAcquirerRecoversAndIsTold) {
  Region r;
  Holder holder(r);
  ASSERT_TRUE(holder.locked());
  Mutex m;
  ASSERT_EQ(m.Open(r.base(), kRegionBytes, Pid(), Tid()), L::kOk);
  bool acquired = true, recovered = false;
  ASSERT_EQ(m.TryLock(&acquired, &recovered), L::kOk);
  EXPECT_FALSE(acquired) << "the holder is alive";
  holder.Kill();
  ASSERT_EQ(m.Lock(kBound, &recovered), L::kOk);
  EXPECT_TRUE(recovered);
  EXPECT_EQ(m.Recoveries(), 1u);
  EXPECT_EQ(AtomicLoad(&r.state()->recovering), 1u);
  EXPECT_EQ(LockOwnerOf(r.lock()), m.slot());
  ASSERT_EQ(m.Unlock(), L::kOk) << "declares the state consistent";
  EXPECT_EQ(AtomicLoad(&r.state()->recovering), 0u);
  ASSERT_EQ(m.Lock(kBound, &recovered), L::kOk);
  EXPECT_FALSE(recovered);
  EXPECT_EQ(m.Unlock(), L::kOk);
}

// Threads asleep on the futex when the holder is killed: the dead holder wakes nobody, each
// sleeper rechecks the gone rule within a recheck period, exactly one takes over, all get in.
TEST(SyncMutex, SleepingWaitersAreWokenAfterTheHolderIsKilled) {
  Region r;
  Holder holder(r);
  ASSERT_TRUE(holder.locked());
  constexpr int kWaiters = 4;
  std::atomic<int> got{0}, told{0}, failures{0}, ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWaiters; ++t) {
    threads.emplace_back([&] {
      Mutex m;
      if (m.Open(r.base(), kRegionBytes, Pid(), Tid()) != L::kOk) {
        failures.fetch_add(1);
        return;
      }
      ready.fetch_add(1);
      bool recovered = false;
      if (m.Lock(kBound, &recovered) != L::kOk) {
        failures.fetch_add(1);
        return;
      }
      got.fetch_add(1);
      if (recovered) told.fetch_add(1);
      if (m.Unlock() != L::kOk) failures.fetch_add(1);
    });
  }
  // Let them reach the futex (not required for correctness: a later sleeper recovers the same way).
  while (ready.load() < kWaiters) std::this_thread::yield();
  for (int i = 0; i < 200 && AtomicLoad(&r.state()->waiters) < kWaiters; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  holder.Kill();
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(got.load(), kWaiters);
  EXPECT_EQ(told.load(), 1) << "the taker-over is told, and its unlock ends the recovery";
  Mutex m;
  ASSERT_EQ(m.Open(r.base(), kRegionBytes, Pid(), Tid()), L::kOk);
  EXPECT_EQ(m.Recoveries(), 1u);
}

TEST(SyncMutex, CloseWhileHoldingAbandonsTheLock) {
  Region r;
  Mutex a, b;
  ASSERT_EQ(a.Open(r.base(), kRegionBytes, Pid(), Tid()), L::kOk);
  ASSERT_EQ(b.Open(r.base(), kRegionBytes, Pid(), Tid() + 1000), L::kOk);
  bool recovered;
  ASSERT_EQ(a.Lock(kForever, &recovered), L::kOk);
  std::thread waiter([&] {
    bool rec = false;
    EXPECT_EQ(b.Lock(kBound, &rec), L::kOk);
    EXPECT_TRUE(rec) << "an abandoned lock is handed on with a recovery pending";
    EXPECT_EQ(b.Unlock(), L::kOk);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  a.Close();
  waiter.join();
  EXPECT_EQ(b.Recoveries(), 0u) << "nothing was taken over";
  EXPECT_EQ(AtomicLoad(&r.state()->recovering), 0u);
}

TEST(SyncMutex, DamagedWordIsTakenOver) {
  Region r;
  Mutex m;
  ASSERT_EQ(m.Open(r.base(), kRegionBytes, Pid(), Tid()), L::kOk);
  AtomicStore(&r.state()->lock, 7);  // held, owner 0: nobody can hold it
  bool recovered = false;
  ASSERT_EQ(m.Lock(kBound, &recovered), L::kOk);
  EXPECT_TRUE(recovered);
  EXPECT_EQ(r.lock(), 7u | (m.slot() << kLockOwnerShift)) << "same odd version, new owner";
  EXPECT_EQ(m.Unlock(), L::kOk);
  EXPECT_EQ(r.lock(), 8u);
}

TEST(SyncMutex, FullTableAdoptsAGoneSlotAndAbandonsItsLock) {
  Region r;
  std::vector<std::unique_ptr<Mutex>> handles;
  for (uint32_t i = 1; i < kMutexOwnerSlots; ++i) {
    handles.push_back(std::make_unique<Mutex>());
    ASSERT_EQ(handles.back()->Open(r.base(), kRegionBytes, Pid(), i), L::kOk);
  }
  Mutex extra;
  EXPECT_EQ(extra.Open(r.base(), kRegionBytes, Pid(), 9999), L::kErrTooManyHandles);
  // Slot 7 now names a process that is gone, and holds the lock.
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  AtomicStore(&r.owners()[7].pid, static_cast<uint32_t>(dead));
  AtomicStore(&r.state()->lock, 1u | (7u << kLockOwnerShift));
  ASSERT_EQ(extra.Open(r.base(), kRegionBytes, Pid(), 9999), L::kOk);
  EXPECT_EQ(extra.slot(), 7u);
  EXPECT_FALSE(LockIsHeld(r.lock())) << "the adopted slot's lock was abandoned";
  bool recovered = false;
  ASSERT_EQ(extra.Lock(kBound, &recovered), L::kOk);
  EXPECT_TRUE(recovered);
  EXPECT_EQ(extra.Unlock(), L::kOk);
  // The handle whose record was overwritten (slot 7) must not be able to release anything.
  EXPECT_EQ(handles[6]->Unlock(), L::kErrNotOwner);
}

}  // namespace
}  // namespace shm::sync
