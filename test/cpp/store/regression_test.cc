// shm::Store regressions found in review, each with the invariant it protects.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <new>
#include <set>
#include <string>

#include "ownership/heartbeat.h"
#include "ownership/owners.h"
#include "ownership/waiter.h"
#include "store/store.h"
#include "test_util.h"

// While set, every nothrow allocation of this program fails (the core allocates its handle and
// the repair and verify bitmaps with new (std::nothrow)).
static std::atomic<bool> gFailNothrowNew{false};

void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (gFailNothrowNew.load()) return nullptr;
  try {
    return ::operator new(n);
  } catch (...) {
    return nullptr;
  }
}

void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  if (gFailNothrowNew.load()) return nullptr;
  try {
    return ::operator new[](n);
  } catch (...) {
    return nullptr;
  }
}

namespace shm::test {
namespace {

struct FailNothrowNew {
  FailNothrowNew() { gFailNothrowNew = true; }
  ~FailNothrowNew() { gFailNothrowNew = false; }
};

// An exhausted heap is ERR_NO_MEMORY, with nothing changed and no lock left held. Before, opening
// reported it as ERR_INVALID_ARG, a repair pass as ERR_SHM_NO_SPACE (a full /dev/shm), and
// verify() as a successful call whose report listed "out of memory" as a problem of the store.
TEST(StoreRegression, HeapExhaustionIsErrNoMemory) {
  Region r(1 << 20);
  ASSERT_EQ(Store::Create(r.base(), r.size(), 64, 1000), L::kOk);
  auto s = Open(r);
  ASSERT_TRUE(s);
  const uint32_t ns = Ns(*s, "a");
  ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
  std::unique_ptr<Store> t;
  VerifyReport rep;
  Status attach, repair, verify;
  {
    FailNothrowNew fail;
    attach = Store::Attach(r.base(), r.size(), static_cast<uint32_t>(getpid()), 2, 0, &t);
    repair = s->Repair();
    verify = s->Verify(&rep);
  }
  EXPECT_EQ(attach, L::kErrNoMemory) << L::StatusCode(attach);
  EXPECT_EQ(t, nullptr);
  EXPECT_EQ(repair, L::kErrNoMemory) << L::StatusCode(repair);
  EXPECT_EQ(verify, L::kErrNoMemory) << L::StatusCode(verify);
  EXPECT_EQ(r.header()->gcCounter, 0u);
  EXPECT_FALSE(LockIsHeld(r.repairState()->lock));
  for (uint32_t i = 0; i < 64; ++i) EXPECT_FALSE(LockIsHeld(r.bucket(i)->lock)) << i;
  EXPECT_FALSE(LockIsHeld(r.alloc()->lock));
  EXPECT_FALSE(LockIsHeld(r.nsState()->lock));
  EXPECT_EQ(GetStr(*s, ns, "k"), "v");
  VerifyOk(*s);
  t = Open(r, 2);
  EXPECT_TRUE(t);
}

// ForEach's callback may call ForEach on the same handle (the binding's callbacks run user JS,
// which can call keys() again): the outer walk must keep visiting its own copy. Before the fix
// both walks shared one buffer, so the inner copy overwrote the bytes the outer was parsing.
TEST(StoreRegression, NestedForEachKeepsTheOuterCopy) {
  Region r(1 << 20);
  ASSERT_EQ(Store::Create(r.base(), r.size(), 1, 100), L::kOk);  // one chain for everything
  auto s = Open(r);
  ASSERT_TRUE(s);
  const uint32_t a = Ns(*s, "a");
  const uint32_t b = Ns(*s, "b");
  std::set<std::string> want;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Put(*s, a, "a" + std::to_string(i), "x"), L::kOk);
    want.insert("a" + std::to_string(i));
  }
  // Longer than an outer record, so that the inner copy covers the outer's next header.
  ASSERT_EQ(Put(*s, b, "b", std::string(64, 'Z')), L::kOk);

  std::set<std::string> seen;
  int inner = 0;
  ASSERT_EQ(s->ForEach(
                a,
                [&](uint32_t, const uint8_t* k, uint32_t kl, const uint8_t*, uint32_t, uint32_t) {
                  seen.insert(kl <= kMaxKeyBytes ? std::string(reinterpret_cast<const char*>(k), kl)
                                                 : std::string("<bad length>"));
                  if (inner++ == 0) {
                    EXPECT_EQ(s->ForEach(b, [](uint32_t, const uint8_t*, uint32_t, const uint8_t*,
                                               uint32_t, uint32_t) {}),
                              L::kOk);
                  }
                }),
            L::kOk);
  EXPECT_EQ(seen, want);
}

// A native handle of this process is never presumed gone (§9), also when the waiter reached the
// store through another mapping of the same segment (two workers that each opened it by name).
// Before the fix the live-slot registry was keyed by the mapping's address, so the waiter took
// the live handle's lock over after lockTimeoutMs and both wrote the bucket at once.
TEST(StoreRegression, LiveHandleSeenThroughAnotherMappingIsNotPresumedGone) {
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
