// shm::Store under concurrency and crashes: threads hammering overlapping keys, and a fork()ed
// writer killed with SIGKILL mid-write (the locks it leaves: stuck_locks_test.cc).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/hash.h"
#include "store/store.h"
#include "test_util.h"

namespace shm::test {
namespace {

using Clock = std::chrono::steady_clock;

// A value that carries its own check: [u32 key index][u32 payload length][u32 XXH32(payload,
// key index)][payload]. A torn, stale-mixed or misdirected read cannot pass CheckValue.
std::string MakeValue(uint32_t keyIndex, std::mt19937& rng) {
  const uint32_t len = rng() % 400;
  std::string v(12 + len, '\0');
  for (uint32_t i = 0; i < len; ++i) v[12 + i] = static_cast<char>(rng());
  const uint32_t sum = Xxh32(v.data() + 12, len, keyIndex);
  std::memcpy(&v[0], &keyIndex, 4);
  std::memcpy(&v[4], &len, 4);
  std::memcpy(&v[8], &sum, 4);
  return v;
}

bool CheckValue(uint32_t keyIndex, const uint8_t* p, uint32_t n) {
  if (n < 12) return false;
  uint32_t k, len, sum;
  std::memcpy(&k, p, 4);
  std::memcpy(&len, p + 4, 4);
  std::memcpy(&sum, p + 8, 4);
  return k == keyIndex && len == n - 12 && Xxh32(p + 12, len, keyIndex) == sum;
}

std::string KeyOf(uint32_t i) {
  return "key:" + std::to_string(i);
}

// Key index back from a key ("key:<n>").
uint32_t IndexOf(const uint8_t* key, uint32_t len) {
  return static_cast<uint32_t>(
      std::stoul(std::string(reinterpret_cast<const char*>(key) + 4, len - 4)));
}

// ---- threads ----------------------------------------------------------------------------------

TEST(StoreConcurrency, ThreadsOnOverlappingKeys) {
  constexpr uint32_t kBuckets = 64;  // few buckets: long chains and real contention
  constexpr uint32_t kKeys = 1500;
  constexpr int kThreads = 4;
  Region r(16 << 20);
  ASSERT_EQ(Store::Create(r.base(), r.size(), kBuckets, 100000), L::kOk);
  auto main = Open(r, 100);
  const uint32_t ns1 = Ns(*main, "one");
  const uint32_t ns2 = Ns(*main, "two");

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bad{0}, failures{0}, hits{0}, ops{0}, verifies{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto s = Open(r, static_cast<uint32_t>(t + 1));
      if (!s) {
        failures++;
        return;
      }
      std::mt19937 rng(1234 + t);
      uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const uint32_t k = rng() % kKeys;
        const uint32_t ns = (k & 1) ? ns2 : ns1;
        const std::string key = KeyOf(k);
        const uint32_t kl = static_cast<uint32_t>(key.size());
        const uint32_t op = rng() % 1000;
        Status st = L::kOk;
        if (op < 450) {
          bool found;
          Store::Value v;
          st = s->Get(ns, key.data(), kl, &found, &v);
          if (st == L::kOk && found) {
            hits++;
            if (v.encoding != 0 || !CheckValue(k, v.data, v.length)) bad++;
          }
        } else if (op < 700) {
          const std::string v = MakeValue(k, rng);
          st = s->Set(ns, key.data(), kl, v.data(), static_cast<uint32_t>(v.size()), 0);
        } else if (op < 850) {
          bool existed;
          st = s->Delete(ns, key.data(), kl, &existed);
        } else if (op < 995) {
          bool found;
          st = s->Has(ns, key.data(), kl, &found);
        } else if (op < 998) {
          st = s->ForEach(ns, [&](uint32_t id, const uint8_t* kp, uint32_t klen, const uint8_t* vp,
                                  uint32_t vlen, uint32_t) {
            const uint32_t idx = IndexOf(kp, klen);
            if (id != ns || !CheckValue(idx, vp, vlen)) bad++;
          });
        } else if (op < 999 || t != 0) {
          StoreStats stats;
          st = s->Stats(&stats);
          if (stats.bytesLive + stats.bytesFree != r.size() - EntriesOffset(kBuckets)) bad++;
        } else {
          // verify() holds every lock: it sees a quiescent, consistent store.
          VerifyReport rep;
          st = s->Verify(&rep);
          verifies++;
          if (!rep.ok) {
            bad++;
            for (const auto& e : rep.errors) ADD_FAILURE() << e;
          }
        }
        if (st != L::kOk) failures++;
        ++n;
      }
      ops += n;
    });
  }
  SleepMs(2000);
  stop = true;
  for (auto& th : threads) th.join();

  EXPECT_EQ(bad.load(), 0u);
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_GT(hits.load(), 1000u);
  const VerifyReport rep = VerifyOk(*main);
  EXPECT_EQ(main->Count(0), main->Count(ns1) + main->Count(ns2));
  EXPECT_EQ(main->Count(0), rep.entries);
  size_t visited = 0;
  ASSERT_EQ(main->ForEach(0,
                          [&](uint32_t, const uint8_t* kp, uint32_t kl, const uint8_t* vp,
                              uint32_t vl, uint32_t) {
                            ++visited;
                            EXPECT_TRUE(CheckValue(IndexOf(kp, kl), vp, vl));
                          }),
            L::kOk);
  EXPECT_EQ(visited, rep.entries);
  EXPECT_EQ(r.header()->gcCounter, 0u);  // nobody died: no repair was ever needed
  ExpectNoLockHeld(r, kBuckets);
  StoreStats st;
  ASSERT_EQ(main->Stats(&st), L::kOk);
  EXPECT_GT(st.reads + st.writes, 0u);
  std::printf("[ stress   ] %llu ops, %llu hits, %llu verify passes, %u entries left\n",
              static_cast<unsigned long long>(ops.load()),
              static_cast<unsigned long long>(hits.load()),
              static_cast<unsigned long long>(verifies.load()), main->Count(0));
}

// ---- a writer process killed with SIGKILL -------------------------------------------------------

[[noreturn]] void WriterChild(const Region& r, uint32_t seed, uint32_t keys) {
  std::unique_ptr<Store> s;
  if (Store::Attach(r.base(), r.size(), static_cast<uint32_t>(getpid()), 1, 1000, &s) != L::kOk) {
    _exit(2);
  }
  uint32_t ns = 0;
  if (s->ResolveNamespace("crash", 5, false, &ns) != L::kOk || ns == 0) _exit(3);
  std::mt19937 rng(seed);
  // Values made up front, so that the loop spends its time inside the store (and its locks).
  std::vector<std::string> values;
  for (uint32_t k = 0; k < keys; ++k) values.push_back(MakeValue(k, rng));
  for (;;) {
    const uint32_t k = rng() % keys;
    const std::string key = KeyOf(k);
    if (rng() % 10 < 7) {
      const std::string& v = values[k];
      s->Set(ns, key.data(), static_cast<uint32_t>(key.size()), v.data(),
             static_cast<uint32_t>(v.size()), 0);
    } else {
      bool existed;
      s->Delete(ns, key.data(), static_cast<uint32_t>(key.size()), &existed);
    }
  }
}

TEST(StoreCrash, WriterKilledMidWriteLeavesAUsableStore) {
  constexpr uint32_t kBuckets = 16;
  constexpr uint32_t kKeys = 400;
  constexpr int kKills = 60;
  Region r(8 << 20);
  ASSERT_EQ(Store::Create(r.base(), r.size(), kBuckets, 100000), L::kOk);
  auto parent = Open(r, 1, 1000);
  const uint32_t ns = Ns(*parent, "crash");
  std::mt19937 rng(42);
  int heldAtKill = 0;
  for (int iter = 0; iter < kKills; ++iter) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) WriterChild(r, 1000 + iter, kKeys);
    SleepMs(1 + static_cast<int>(rng() % 15));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    for (uint32_t i = 0; i < kBuckets; ++i) heldAtKill += r.bucket(i)->lock & 1;
    heldAtKill += r.alloc()->lock & 1;

    // The parent keeps writing and reading every key: whatever lock the child held is repaired.
    for (uint32_t k = 0; k < kKeys; ++k) {
      const std::string key = KeyOf(k);
      bool found;
      Store::Value v;
      ASSERT_EQ(parent->Get(ns, key.data(), static_cast<uint32_t>(key.size()), &found, &v), L::kOk);
      if (found) {
        ASSERT_TRUE(CheckValue(k, v.data, v.length)) << "a half-visible value for " << key;
      }
      if (k % 3 == 0) {
        const std::string nv = MakeValue(k, rng);
        ASSERT_EQ(parent->Set(ns, key.data(), static_cast<uint32_t>(key.size()), nv.data(),
                              static_cast<uint32_t>(nv.size()), 0),
                  L::kOk);
        ASSERT_EQ(parent->Get(ns, key.data(), static_cast<uint32_t>(key.size()), &found, &v),
                  L::kOk);
        ASSERT_TRUE(found);  // an acknowledged write is there
        ASSERT_EQ(std::string(reinterpret_cast<const char*>(v.data), v.length), nv);
      }
    }
    ExpectNoLockHeld(r, kBuckets);
    if (iter % 8 == 7) VerifyOk(*parent);
  }
  // A final pass (verify repairs first if it meets a gone holder; a clean run leaves nothing).
  ASSERT_EQ(parent->Repair(), L::kOk);
  const VerifyReport rep = VerifyOk(*parent);
  EXPECT_EQ(parent->Count(0), rep.entries);
  EXPECT_EQ(parent->Count(ns), rep.entries);
  // The repair passes released the dead children's owner slots.
  for (uint32_t o = 1; o < 4096; ++o) {
    const uint32_t pid = r.owner(o)->pid;
    EXPECT_TRUE(pid == 0 || pid == static_cast<uint32_t>(getpid())) << "slot " << o;
  }
  std::printf("[ crash    ] %d kills, %d with a lock held, %u repair passes\n", kKills, heldAtKill,
              r.header()->gcCounter);
  EXPECT_GE(r.header()->gcCounter, 1u);
}

}  // namespace
}  // namespace shm::test
