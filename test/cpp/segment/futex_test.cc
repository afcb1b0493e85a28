// Tests of src/segment/futex.h: results, timeouts, bitsets, cross-process wake, and a
// multi-threaded stress of a futex-based mutex that must produce an exact sum (a lost wake-up would
// hang, a broken exclusion would miscount).
#include "segment/futex.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <thread>
#include <vector>

#include "segment/segment.h"

namespace {

namespace futex = shm::futex;
using futex::WaitResult;

uint32_t* Word(std::atomic<uint32_t>& a) {
  return reinterpret_cast<uint32_t*>(&a);
}

TEST(Futex, NotEqualAndTimeout) {
  std::atomic<uint32_t> w{5};
  EXPECT_EQ(futex::Wait(Word(w), 4, futex::kForever), WaitResult::kNotEqual);
  EXPECT_EQ(futex::Wait(Word(w), 5, 0), WaitResult::kTimedOut);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(futex::Wait(Word(w), 5, 20'000'000), WaitResult::kTimedOut);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(19));
  // Huge timeouts saturate instead of overflowing into the past.
  w.store(6);
  EXPECT_EQ(futex::Wait(Word(w), 5, INT64_MAX), WaitResult::kNotEqual);
}

TEST(Futex, InvalidArguments) {
  std::atomic<uint32_t> w[2]{};
  auto* misaligned = reinterpret_cast<const uint32_t*>(reinterpret_cast<const char*>(w) + 1);
  EXPECT_EQ(futex::Wait(nullptr, 0, 0), WaitResult::kInvalid);
  EXPECT_EQ(futex::Wait(misaligned, 0, 0), WaitResult::kInvalid);
  EXPECT_EQ(futex::Wait(Word(w[0]), 0, 0, 0), WaitResult::kInvalid);  // empty bitset
  EXPECT_EQ(futex::Wake(nullptr, 1), -EINVAL);
  EXPECT_EQ(futex::Wake(misaligned, 1), -EINVAL);
  EXPECT_EQ(futex::Wake(Word(w[0]), 1, 0), -EINVAL);
  EXPECT_EQ(futex::Wake(Word(w[0]), 0), 0);
  EXPECT_EQ(futex::Wake(Word(w[0]), -5), 0);
}

TEST(Futex, WakeReleasesWaiter) {
  std::atomic<uint32_t> w{0};
  std::atomic<int> result{-1};
  std::thread t([&] { result = static_cast<int>(futex::Wait(Word(w), 0, futex::kForever)); });
  int woken = 0;
  while (woken == 0) {
    woken = futex::Wake(Word(w), 1);
    std::this_thread::yield();
  }
  t.join();
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(result.load(), static_cast<int>(WaitResult::kOk));
}

TEST(Futex, BitsetsSelectWaiters) {
  std::atomic<uint32_t> w{0};
  std::atomic<int> a_done{0}, b_done{0};
  std::thread a([&] {
    futex::Wait(Word(w), 0, futex::kForever, 1u << 1);
    a_done = 1;
  });
  std::thread b([&] {
    futex::Wait(Word(w), 0, futex::kForever, 1u << 2);
    b_done = 1;
  });
  // Bit 1 wakes only `a` (retry until it is in the kernel).
  while (futex::Wake(Word(w), INT_MAX, 1u << 1) == 0) std::this_thread::yield();
  a.join();
  EXPECT_EQ(a_done.load(), 1);
  EXPECT_EQ(b_done.load(), 0);
  // The default (all bits) reaches `b`.
  while (futex::Wake(Word(w), INT_MAX) == 0) std::this_thread::yield();
  b.join();
  EXPECT_EQ(b_done.load(), 1);
}

TEST(Futex, CrossProcessWake) {
  // MAP_SHARED memory: a shared futex is keyed by the page, so a forked child meets us.
  void* mem = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  auto* w = static_cast<std::atomic<uint32_t>*>(mem);
  w->store(0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const WaitResult r = futex::Wait(Word(*w), 0, 30'000'000'000);  // 30 s guard
    _exit(r == WaitResult::kOk ? 0 : 1);
  }
  while (futex::Wake(Word(*w), 1) == 0) usleep(100);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  munmap(mem, 4096);
}

// Drepper's futex mutex ("Futexes Are Tricky", mutex2): 0 free, 1 locked, 2 locked+waiters.
class FutexMutex {
 public:
  void lock() {
    uint32_t c = 0;
    if (state_.compare_exchange_strong(c, 1)) return;
    if (c != 2) c = state_.exchange(2);
    while (c != 0) {
      futex::Wait(Word(state_), 2, futex::kForever);
      c = state_.exchange(2);
    }
  }
  void unlock() {
    if (state_.fetch_sub(1) != 1) {
      state_.store(0);
      futex::Wake(Word(state_), 1);
    }
  }

 private:
  std::atomic<uint32_t> state_{0};
};

TEST(Futex, MutexStressExactSum) {
  FutexMutex mu;
  uint64_t counter = 0;  // plain: only the mutex protects it
  constexpr int kThreads = 8;
  constexpr int kIters = 50000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIters; ++i) {
        mu.lock();
        counter += 1;
        mu.unlock();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, uint64_t{kThreads} * kIters);
}

// Ping-pong over a shm segment between threads: each side waits for its turn and wakes the
// other; every handoff must arrive (exact count), or the test would hang.
TEST(Futex, PingPongOverSegment) {
  const std::string name = "shmstore-cpp-pingpong-" + std::to_string(getpid());
  shm::Segment seg;
  shm::CreateOptions o;
  o.id = name.c_str();
  o.size = 4096;
  ASSERT_EQ(shm::Segment::Create(o, &seg, nullptr), shm::layout::kOk);
  auto* turn = reinterpret_cast<std::atomic<uint32_t>*>(seg.data());
  constexpr uint32_t kRounds = 20000;
  auto player = [&](uint32_t me) {
    for (uint32_t i = 0; i < kRounds; ++i) {
      uint32_t v;
      while ((v = turn->load()) % 2 != me) futex::Wait(Word(*turn), v, futex::kForever);
      turn->fetch_add(1);
      futex::Wake(Word(*turn), 1);
    }
  };
  std::thread a(player, 0), b(player, 1);
  a.join();
  b.join();
  EXPECT_EQ(turn->load(), 2 * kRounds);
  shm::Segment::Unlink(shm::SegmentKind::kShm, name.c_str(), nullptr);
}

}  // namespace
