// The allocator (src/store/alloc.cpp, docs/format.md §8): size classes, exhaustion of the pool,
// and reuse of freed blocks.
#include <gtest/gtest.h>

#include <unistd.h>

#include <string>

#include "store/alloc.h"
#include "store/store.h"
#include "test_util.h"

namespace shm::test {
namespace {

TEST(Alloc, SizeClasses) {
  EXPECT_EQ(SizeClassFor(1), 0u);  // 2 units: the smallest class holds an empty entry
  EXPECT_EQ(SizeClassFor(2), 0u);
  EXPECT_EQ(SizeClassFor(16), 14u);
  EXPECT_EQ(SizeClassFor(17), 15u);  // 20 units
  EXPECT_EQ(SizeClassFor(5120), 47u);
  EXPECT_EQ(SizeClassFor(5121), kClassCount);
  EXPECT_EQ(UnitsForEntry(14, 100), 9u);  // 142 bytes in 144: the reference entry
  EXPECT_EQ(UnitsForEntry(0, 0), 2u);     // the 28-byte header
  EXPECT_EQ(UnitsForEntry(0, 4), 2u);     // 32 bytes
  EXPECT_EQ(UnitsForEntry(0, 5), 3u);
  // The largest entry fits the largest class; a longer value goes to a large block.
  EXPECT_LT(SizeClassFor(UnitsForEntry(kMaxKeyBytes, kMaxInlineValueBytes)), kClassCount);
  EXPECT_EQ(UnitsForLarge(65536), 4098u);  // 32 + 65536 bytes
  EXPECT_EQ(UnitsForLarge(kMaxValueBytes), 4194306u);
}

class StoreAlloc : public OpenStore {};

TEST_F(StoreAlloc, SpaceExhaustionGivesStoreFull) {
  Region small(EntriesOffset(16) + kBlockUnit * 4000);
  ASSERT_EQ(Store::Create(small.base(), small.size(), 16, 100000), L::kOk);
  auto t = Open(small);
  const uint32_t id = Ns(*t, "x");
  const std::string big(60000, 'b');  // 3752 units: class 4096
  int stored = 0;
  Status st;
  while ((st = Put(*t, id, "k" + std::to_string(stored), big)) == L::kOk) ++stored;
  EXPECT_EQ(st, L::kErrStoreFull);
  EXPECT_EQ(stored, 0);  // 4096 units do not fit in 4000
  for (int i = 0; i < 1000; ++i) {
    st = Put(*t, id, "s" + std::to_string(i), std::string(100, 's'));  // 9 units
    if (st != L::kOk) break;
  }
  EXPECT_EQ(st, L::kErrStoreFull);
  EXPECT_EQ(t->Count(0), 444u);  // 444 * 9 = 3996 units
  EXPECT_EQ(GetStr(*t, id, "s7"), std::string(100, 's'));
  VerifyOk(*t);
  // Freed blocks are reused.
  EXPECT_TRUE(Del(*t, id, "s7"));
  EXPECT_EQ(Put(*t, id, "again", std::string(60, 'a')), L::kErrStoreFull);  // 6 units: none free
  EXPECT_EQ(Put(*t, id, "again", std::string(100, 'a')), L::kOk);           // 9 units: reused
}

TEST_F(StoreAlloc, AllocatorReusesFreedBlocks) {
  const std::string v(100, 'v');
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), v), L::kOk);
  const uint32_t high = r.header()->freeHead;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 1000; ++i) EXPECT_TRUE(Del(*s, ns, "k" + std::to_string(i)));
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), v), L::kOk);
  }
  for (int i = 0; i < 20000; ++i) ASSERT_EQ(Put(*s, ns, "k7", v), L::kOk);  // overwrite in place
  // The inserts take their blocks in batches (format.md §8, "Parked blocks"), from the free list
  // first: the pool grew by at most what one batch that emptied the list took from the tail.
  const uint32_t top = r.header()->freeHead;
  EXPECT_LE(top, high + (kParkRefill - 1) * 9);
  StoreStats st;
  ASSERT_EQ(s->Stats(&st), L::kOk);
  // The spare blocks are free or parked by this writer (counted in bytesLive, not on a list).
  EXPECT_GT(st.bytesParked, 0u);
  EXPECT_EQ(st.bytesLive - st.bytesParked, 1000u * 9 * kBlockUnit);
  EXPECT_EQ(st.bytesLive + st.bytesFreeLists, uint64_t{top - s->firstUnit()} * kBlockUnit);
  EXPECT_EQ(VerifyOk(*s).parkedUnits * kBlockUnit, st.bytesParked);
}

// Large blocks (format.md §8, "Large values"): a freed one serves a smaller value by splitting
// off its tail, the rest stays on the large list, and the pool still tiles.
TEST_F(StoreAlloc, LargeBlocksAreSplitAndReused) {
  const std::string big(300000, 'B'), mid(100000, 'M');
  ASSERT_EQ(Put(*s, ns, "big", big), L::kOk);
  const uint32_t top = r.header()->freeHead;
  EXPECT_TRUE(Del(*s, ns, "big"));
  const uint32_t freed = r.alloc()->largeHead;
  ASSERT_NE(freed, 0u);
  const auto* lb = reinterpret_cast<const L::LargeBlock*>(r.entry(freed));
  EXPECT_EQ(lb->units, UnitsForLarge(300000));
  EXPECT_EQ(lb->flags, kFlagFree | (kLargeClass << kClassShift));
  // Another handle inserts: its first batch is one block (format.md §8, "Parked blocks"), the
  // entry block "big" had.
  auto t = Open(r, 2);
  ASSERT_EQ(Put(*t, ns, "mid", mid), L::kOk);
  // The tail of the freed block was handed out; its front stays free and listed.
  EXPECT_EQ(r.alloc()->largeHead, freed);
  EXPECT_EQ(lb->units, UnitsForLarge(300000) - UnitsForLarge(100000));
  EXPECT_EQ(r.header()->freeHead, top);
  EXPECT_EQ(GetStr(*s, ns, "mid"), mid);
  const VerifyReport v = VerifyOk(*s);
  EXPECT_EQ(v.freeUnits,
            uint64_t{UnitsForLarge(300000) - UnitsForLarge(100000)});  // the entry block reused
  // An overwrite by a small value frees the large block with the entry.
  ASSERT_EQ(Put(*s, ns, "mid", "small"), L::kOk);
  VerifyOk(*s);
  StoreStats st;
  ASSERT_EQ(s->Stats(&st), L::kOk);
  EXPECT_EQ(st.bytesLive, UnitsForEntry(3, 5) * kBlockUnit);
}

// A large block allocated and never linked (its writer died before linking it) is freed by the
// repair pass, and a repair pass between a writer's allocation and its link makes the writer
// allocate again (the gcCounter check).
TEST_F(StoreAlloc, RepairFreesAnUnlinkedLargeBlock) {
  const PoolView pool{r.base(), r.header(), r.alloc(), s->firstUnit(), s->totalUnits()};
  LockEnv env;
  env.regionBase = r.base();
  env.owners = r.owner(0);
  env.selfSlot = s->ownerSlot();
  env.self = IdentityOf(static_cast<uint32_t>(getpid()), 1);
  uint32_t unit = 0;
  LargeClaim claim;
  ASSERT_EQ(AllocLarge(pool, env, 100, &unit, &claim), AllocStatus::kOk);
  EXPECT_EQ(claim.gc, r.header()->gcCounter);
  EXPECT_EQ(reinterpret_cast<const L::LargeBlock*>(r.entry(unit))->writer, s->ownerSlot());
  // The repairer's own block: freed (its writer is not writing while it repairs).
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(r.alloc()->largeHead, unit);
  EXPECT_FALSE(LargeHeld(pool, env, unit, claim));
  // Freeing it as unlinked now would free it twice: it is no longer the writer's, so nothing.
  ASSERT_EQ(FreeUnlinkedLarge(pool, env, unit, claim), AllocStatus::kOk);
  EXPECT_EQ(reinterpret_cast<const L::LargeBlock*>(r.entry(unit))->next, 0u);
  VerifyOk(*s);
}

// A large block that another live handle is filling (allocated, not linked: its writer copies
// the value without any lock) is left as it is by a repair pass: freed, it could be handed to
// another writer while the first one still writes into it (format.md §9, step 5). Its writer
// finds it still its own and links or frees it.
TEST_F(StoreAlloc, RepairKeepsALargeBlockALiveWriterIsFilling) {
  auto writer = Open(r, 2);
  const PoolView pool{r.base(), r.header(), r.alloc(), s->firstUnit(), s->totalUnits()};
  LockEnv env;
  env.regionBase = r.base();
  env.owners = r.owner(0);
  env.selfSlot = writer->ownerSlot();
  env.self = IdentityOf(static_cast<uint32_t>(getpid()), 2);
  uint32_t unit = 0;
  LargeClaim claim;
  ASSERT_EQ(AllocLarge(pool, env, 100, &unit, &claim), AllocStatus::kOk);
  ASSERT_EQ(s->Repair(), L::kOk);
  const auto* lb = reinterpret_cast<const L::LargeBlock*>(r.entry(unit));
  EXPECT_NE(r.alloc()->largeHead, unit);
  EXPECT_EQ(lb->flags, kLargeClass << kClassShift);
  EXPECT_EQ(lb->writer, writer->ownerSlot());
  EXPECT_NE(r.header()->gcCounter, claim.gc);
  EXPECT_TRUE(LargeHeld(pool, env, unit, claim));
  VerifyOk(*s);  // a set in flight
  ASSERT_EQ(FreeUnlinkedLarge(pool, env, unit, claim), AllocStatus::kOk);
  EXPECT_EQ(r.alloc()->largeHead, unit);
  EXPECT_EQ(lb->flags, kFlagFree | kLargeClass << kClassShift);
  VerifyOk(*s);
}

}  // namespace
}  // namespace shm::test
