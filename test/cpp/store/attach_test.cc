// Handles (src/store/store.cpp, docs/format.md §6): attaching claims an owner slot (adopting a dead
// one when all are taken), closing releases it, a closed handle refuses every call, and an
// exhausted heap is ERR_NO_MEMORY.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <new>
#include <string>

#include "ownership/lockword.h"
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

class StoreHandles : public OpenStore {};

TEST_F(StoreHandles, ClosedHandle) {
  EXPECT_FALSE(s->closed());
  const uint32_t slot = s->ownerSlot();
  EXPECT_EQ(r.owner(slot)->pid, static_cast<uint32_t>(getpid()));
  EXPECT_EQ(r.owner(slot)->tid, 1u);
  s->Close();
  s->Close();
  EXPECT_TRUE(s->closed());
  EXPECT_EQ(r.owner(slot)->pid, 0u);
  EXPECT_EQ(r.owner(slot)->tid, 0u);
  EXPECT_EQ(Put(*s, ns, "k", "v"), L::kErrClosed);
  EXPECT_EQ(GetStr(*s, ns, "k"), "<ERR_CLOSED>");
  uint32_t n;
  EXPECT_EQ(s->Clear(ns, &n), L::kErrClosed);
  StoreStats st;
  EXPECT_EQ(s->Stats(&st), L::kErrClosed);
  VerifyReport rep;
  EXPECT_EQ(s->Verify(&rep), L::kErrClosed);
  EXPECT_EQ(s->Repair(), L::kErrClosed);
}

TEST_F(StoreHandles, OwnerSlots) {
  auto a = Open(r, 10);
  auto b = Open(r, 11);
  EXPECT_NE(a->ownerSlot(), b->ownerSlot());
  EXPECT_EQ(r.owner(b->ownerSlot())->tid, 11u);
  const uint32_t slot = a->ownerSlot();
  a->Close();
  auto c = Open(r, 12);
  EXPECT_EQ(c->ownerSlot(), slot);  // the lowest free slot is reused
}

TEST_F(StoreHandles, TooManyHandles) {
  // Fill every free slot with this (live) process: nothing can be adopted.
  const uint32_t me = static_cast<uint32_t>(getpid());
  for (uint32_t o = 1; o < 4096; ++o) {
    if (r.owner(o)->pid == 0) r.owner(o)->pid = me;
  }
  std::unique_ptr<Store> t;
  EXPECT_EQ(Store::Attach(r.base(), r.size(), me, 5, 0, &t), L::kErrTooManyHandles);
  // A slot of a dead process is adopted (after a repair pass that frees the others).
  const uint32_t dead = DeadPid();
  r.owner(77)->pid = dead;
  r.owner(78)->pid = dead;
  ASSERT_EQ(Store::Attach(r.base(), r.size(), me, 5, 0, &t), L::kOk);
  EXPECT_EQ(t->ownerSlot(), 77u);
  EXPECT_EQ(r.owner(78)->pid, 0u);  // released by the repair pass
  EXPECT_EQ(r.header()->gcCounter, 1u);
}

// An exhausted heap is ERR_NO_MEMORY, with nothing changed and no lock left held. Before, opening
// reported it as ERR_INVALID_ARG, a repair pass as ERR_SHM_NO_SPACE (a full /dev/shm), and
// verify() as a successful call whose report listed "out of memory" as a problem of the store.
TEST_F(StoreHandles, HeapExhaustionIsErrNoMemory) {
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

}  // namespace
}  // namespace shm::test
