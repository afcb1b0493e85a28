// Tests of the wait/wake core of the sync room (src/sync/wait.h): the spin budget, the recheck
// period, deadlines, the waiter count around a sleep, and a wake reaching a sleeper.
#include "sync/wait.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "base/atomic.h"

namespace shm::sync {
namespace {

constexpr int64_t kMs = 1000000;

TEST(SyncWait, SpinsAFixedNumberOfTimes) {
  Wait w(kForever);
  uint32_t spins = 0;
  while (w.Spin()) ++spins;
  EXPECT_EQ(spins, kSpinAttempts);
  EXPECT_FALSE(w.Spin());
}

TEST(SyncWait, RecheckIsDueAfterTheFirstDelayThenOncePerPeriod) {
  Wait w(kForever);
  EXPECT_FALSE(w.Recheck()) << "not at once";
  std::this_thread::sleep_for(std::chrono::nanoseconds(kFirstCheckNs));
  EXPECT_TRUE(w.Recheck());
  EXPECT_FALSE(w.Recheck()) << "not again within the period";
}

TEST(SyncWait, ParkEndsAtTheDeadlineAndUnregisters) {
  uint32_t word = 1, waiters = 0;
  bool stopped = false;
  Wait zero(0);
  EXPECT_FALSE(zero.Park(&word, &waiters, 1, {}, &stopped)) << "a zero timeout never sleeps";
  {
    Wait w(20 * kMs);
    const auto t0 = std::chrono::steady_clock::now();
    int parks = 0;
    while (w.Park(&word, &waiters, 1, {}, &stopped)) ++parks;
    EXPECT_GE(parks, 1);
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(20));
    EXPECT_FALSE(stopped);
    EXPECT_EQ(waiters, 1u) << "counted once, for the whole wait";
  }
  EXPECT_EQ(waiters, 0u) << "uncounted when the wait ends";
  {
    // A word that no longer holds the value seen returns at once (and counts as a look).
    Wait x(kForever);
    EXPECT_TRUE(x.Park(&word, &waiters, 2, {}, &stopped));
  }
  EXPECT_EQ(waiters, 0u);
}

TEST(SyncWait, StopEndsAWaitWithoutSleeping) {
  uint32_t word = 1, waiters = 0;
  bool stopped = false;
  Wait w(kForever);
  EXPECT_FALSE(
      w.Park(&word, &waiters, 1, StopCheck{[](void*) { return true; }, nullptr}, &stopped));
  EXPECT_TRUE(stopped);
}

TEST(SyncWait, WakeReachesACountedSleeper) {
  uint32_t word = 0, waiters = 0;
  std::atomic<bool> done{false};
  std::thread sleeper([&] {
    Wait w(kForever);
    bool stopped = false;
    while (AtomicLoad(&word) == 0) w.Park(&word, &waiters, 0, {}, &stopped);
    done.store(true);
  });
  while (AtomicLoad(&waiters) == 0) std::this_thread::yield();
  AtomicStore(&word, 1);
  WakeWaiters(&word, &waiters, 1);
  sleeper.join();
  EXPECT_TRUE(done.load());
  EXPECT_EQ(AtomicLoad(&waiters), 0u);
}

}  // namespace
}  // namespace shm::sync
