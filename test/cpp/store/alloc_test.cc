// The allocator (src/store/alloc.cpp, docs/format.md §8): size classes, exhaustion of the pool,
// and reuse of freed blocks.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "base/hash.h"
#include "ownership/heartbeat.h"
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

// The repair pass may hash an entry whose bytes a live writer changes without any lock (a damaged
// link into the large block it is filling): EntrySumMatches hashes the length and keyHash its
// caller checked, never the entry's fields read again, so a keyLength grown since makes it read
// nothing past the block, nor past the mapping (here: a guard page right after the bytes).
TEST(Alloc, EntrySumMatchesHashesTheLengthAndKeyHashItIsGiven) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* map = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(map, MAP_FAILED);
  auto* bytes = static_cast<uint8_t*>(map);
  ASSERT_EQ(mprotect(bytes + page, page, PROT_NONE), 0);
  constexpr uint32_t kLength = 12;  // key ‖ value, the last bytes before the guard page
  auto* e = reinterpret_cast<L::Entry*>(bytes + page - kLength - sizeof(L::Entry));
  std::memcpy(e + 1, "keyand value", kLength);
  constexpr uint32_t kHash = 0x12345678;
  const uint32_t flags = static_cast<uint32_t>(L::kEncUtf8);
  e->checksum = Xxh32(e + 1, kLength, kHash ^ (flags & kEntrySumFlags));
  // What a second read would see: lengths reaching into the guard page, another keyHash.
  e->keyLength = 0xFFFF;
  e->valueLength = 0xFFFF;
  e->keyHash = ~kHash;
  EXPECT_TRUE(EntrySumMatches(e, kLength, kHash, flags));
  EXPECT_FALSE(EntrySumMatches(e, kLength, kHash, flags ^ kFlagIndirect));
  EXPECT_FALSE(EntrySumMatches(e, kLength - 1, kHash, flags));
  munmap(map, 2 * page);
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
  // Freed blocks are reused. (A set of a smaller class first would be stored too: its compaction
  // steps move the entries above the freed block down one by one, and the block, gone to the top
  // as free large space, gives it 6 of its 9 units.)
  EXPECT_TRUE(Del(*t, id, "s7"));
  EXPECT_EQ(Put(*t, id, "again", std::string(100, 'a')), L::kOk);          // 9 units: reused
  EXPECT_EQ(Put(*t, id, "more", std::string(60, 'a')), L::kErrStoreFull);  // 6 units: 4 free
  VerifyOk(*t);
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

// The units of the blocks on the free lists of r, walked (format.md §8, "Listed units").
uint64_t WalkedListUnits(Region& r) {
  uint64_t units = 0;
  for (uint32_t c = 0; c < kClassCount; ++c) {
    for (uint32_t u = r.alloc()->freeHeads[c]; u != 0; u = r.entry(u)->next) {
      units += L::kSizeClasses[c];
    }
  }
  for (uint32_t u = r.alloc()->largeHead; u != 0; u = r.entry(u)->next) {
    units += reinterpret_cast<const L::LargeBlock*>(r.entry(u))->units;
  }
  return units;
}

// AllocState.listedUnits follows every push and pop: frees, batches, splits of free large blocks,
// returns of parked blocks, compaction moves and merges, clear; the repair pass stores it exact.
TEST_F(StoreAlloc, ListedUnitsIsTheUnitsOnTheFreeLists) {
  auto t = Open(r, 2);
  auto expectCounted = [&](const char* what) {
    EXPECT_EQ(r.alloc()->listedUnits, WalkedListUnits(r)) << what;
    StoreStats st;
    ASSERT_EQ(s->Stats(&st), L::kOk);
    EXPECT_EQ(st.bytesFreeLists, WalkedListUnits(r) * kBlockUnit) << what;
    VerifyOk(*s);
  };
  for (int i = 0; i < 3000; ++i) {
    Store& h = i % 2 != 0 ? *t : *s;
    const std::string key = "k" + std::to_string(i % 700);
    if (i % 5 == 4) {
      Del(h, ns, key);
    } else {
      const size_t n = i % 97 == 0 ? 70000 + i : 10 + (i * 37) % 2000;
      ASSERT_EQ(Put(h, ns, key, std::string(n, 'v')), L::kOk);
    }
  }
  expectCounted("after sets, overwrites and deletes");
  CompactReport cr;
  for (int i = 0; i < 8; ++i) ASSERT_EQ(s->CompactStep(1u << 16, &cr), L::kOk);
  expectCounted("after compaction steps");
  uint32_t removed = 0;
  ASSERT_EQ(t->Clear(ns, &removed), L::kOk);
  EXPECT_GT(removed, 0u);
  expectCounted("after clear");
  t.reset();  // its parked blocks go back on the lists
  expectCounted("after a handle closed");
  r.alloc()->listedUnits += 5;
  ASSERT_EQ(s->Repair(), L::kOk);
  expectCounted("after a repair pass");
}

// What a handle of this process allocates with (its owner slot and identity), on the pool of r.
LockEnv EnvOf(const Region& r, const Store& h, uint32_t tid) {
  LockEnv env;
  env.regionBase = r.base();
  env.owners = r.owner(0);
  env.selfSlot = h.ownerSlot();
  env.self = IdentityOf(static_cast<uint32_t>(getpid()), tid);
  return env;
}

// A large block allocated and never linked (its writer died before linking it) is freed by the
// repair pass, and a repair pass between a writer's allocation and its link makes the writer
// allocate again (the gcCounter check).
TEST_F(StoreAlloc, RepairFreesAnUnlinkedLargeBlock) {
  const PoolView pool{r.base(), r.header(), r.alloc(), s->firstUnit(), s->totalUnits()};
  const LockEnv env = EnvOf(r, *s, 1);
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

const L::LargeBlock* LargeOf(const Region& r, uint32_t unit) {
  return reinterpret_cast<const L::LargeBlock*>(r.entry(unit));
}

// A second handle (thread 2) in the middle of a set of a large value of n bytes: its block
// allocated, its copy not begun.
struct InFlight {
  std::unique_ptr<Store> writer;
  LockEnv env;
  uint32_t n = 70000;
  uint32_t unit = 0;
  LargeClaim claim;
};

// Opens the second handle and allocates its large block of `units` units.
void AllocByWriter(Region& r, const PoolView& pool, uint32_t units, InFlight* f) {
  f->writer = Open(r, 2);
  f->env = EnvOf(r, *f->writer, 2);
  ASSERT_EQ(AllocLarge(pool, f->env, units, &f->unit, &f->claim), AllocStatus::kOk);
}

// A large block that another live handle is filling (allocated, not linked: its writer copies
// the value without any lock) is left as it is by a repair pass: freed, it could be handed to
// another writer while the first one still writes into it (format.md §9, step 5). Its writer
// finds it still its own and links or frees it.
TEST_F(StoreAlloc, RepairKeepsALargeBlockALiveWriterIsFilling) {
  const PoolView pool{r.base(), r.header(), r.alloc(), s->firstUnit(), s->totalUnits()};
  InFlight f;
  ASSERT_NO_FATAL_FAILURE(AllocByWriter(r, pool, 100, &f));
  ASSERT_EQ(s->Repair(), L::kOk);
  const L::LargeBlock* lb = LargeOf(r, f.unit);
  EXPECT_NE(r.alloc()->largeHead, f.unit);
  EXPECT_EQ(lb->flags, kLargeClass << kClassShift);
  EXPECT_EQ(lb->writer, f.writer->ownerSlot());
  EXPECT_NE(r.header()->gcCounter, f.claim.gc);
  EXPECT_TRUE(LargeHeld(pool, f.env, f.unit, f.claim));
  VerifyOk(*s);  // a set in flight
  ASSERT_EQ(FreeUnlinkedLarge(pool, f.env, f.unit, f.claim), AllocStatus::kOk);
  EXPECT_EQ(r.alloc()->largeHead, f.unit);
  EXPECT_EQ(lb->flags, kFlagFree | kLargeClass << kClassShift);
  VerifyOk(*s);
}

// A writer that gives up a large block it has not linked and cannot take AllocState.lock to free
// it (a live holder keeps the lock past the timeout) gives the block up, writer = 0 (format.md §8,
// "Writing a large value"): a later repair pass run by another handle frees it, instead of keeping
// it in flight for as long as the writer's handle lives.
TEST_F(StoreAlloc, ALargeBlockNotFreedForALockTimeoutIsFreedByAnyHandlesRepairPass) {
  const PoolView pool{r.base(), r.header(), r.alloc(), s->firstUnit(), s->totalUnits()};
  InFlight f;
  ASSERT_NO_FATAL_FAILURE(AllocByWriter(r, pool, 100, &f));
  f.env.lockTimeoutMs = 10;
  // Held by the other handle of this process: a live holder, never presumed gone.
  const uint32_t free = r.alloc()->lock;
  r.alloc()->lock = LockAcquiredWord(free, s->ownerSlot());
  EXPECT_EQ(FreeUnlinkedLarge(pool, f.env, f.unit, f.claim), AllocStatus::kTimeout);
  r.alloc()->lock = free;  // its holder lets go
  EXPECT_EQ(LargeOf(r, f.unit)->writer, 0u);
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(r.alloc()->largeHead, f.unit);
  EXPECT_EQ(LargeOf(r, f.unit)->flags, kFlagFree | kLargeClass << kClassShift);
  VerifyOk(*s);
}

// The same when the allocator lock's holder is gone: the block is given up, and the pass that
// takes that lock over, whichever handle runs it, frees the block too.
TEST_F(StoreAlloc, ALargeBlockNotFreedForAGoneAllocatorHolderIsFreedByAnyHandlesRepairPass) {
  const PoolView pool{r.base(), r.header(), r.alloc(), s->firstUnit(), s->totalUnits()};
  InFlight f;
  ASSERT_NO_FATAL_FAILURE(AllocByWriter(r, pool, 100, &f));
  // Held by a slot no owner holds (released): gone.
  constexpr uint32_t kFreeSlot = 4000;
  ASSERT_EQ(r.owner(kFreeSlot)->pid, 0u);
  r.alloc()->lock = LockAcquiredWord(r.alloc()->lock, kFreeSlot);
  EXPECT_EQ(FreeUnlinkedLarge(pool, f.env, f.unit, f.claim), AllocStatus::kGone);
  EXPECT_EQ(LargeOf(r, f.unit)->writer, 0u);
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_FALSE(LockIsHeld(r.alloc()->lock));
  EXPECT_EQ(r.alloc()->largeHead, f.unit);
  EXPECT_EQ(LargeOf(r, f.unit)->flags, kFlagFree | kLargeClass << kClassShift);
  VerifyOk(*s);
}

// The same when a live pass holds the allocator lock, running between its cut (step 3: cuts moved,
// cutGc = gcCounter) and its stamp (step 5), after another pass completed since the writer read
// gcCounter and stamped its block: the block's cuts word is one count behind, and the running pass,
// not completed, will stamp the blocks it keeps or free the ones given up. The writer gives the
// block up all the same; refused, the block would stay in flight of its live writer, kept by every
// pass for as long as that handle lives.
TEST_F(StoreAlloc, ALargeBlockGivenUpBetweenARunningPassesCutAndItsStampIsFreed) {
  const PoolView pool{r.base(), r.header(), r.alloc(), s->firstUnit(), s->totalUnits()};
  InFlight f;
  ASSERT_NO_FATAL_FAILURE(AllocByWriter(r, pool, 100, &f));
  ASSERT_EQ(s->Repair(), L::kOk);  // keeps the block in flight, and stamps it
  ASSERT_EQ(LargeOf(r, f.unit)->cuts, r.repairState()->cuts);
  f.env.lockTimeoutMs = 10;
  // The running pass: its handle (of this process: live) holds the allocator lock, and it cut.
  const uint32_t free = r.alloc()->lock;
  r.alloc()->lock = LockAcquiredWord(free, s->ownerSlot());
  r.repairState()->cutGc = r.header()->gcCounter;
  ++r.repairState()->cuts;
  EXPECT_EQ(FreeUnlinkedLarge(pool, f.env, f.unit, f.claim), AllocStatus::kTimeout);
  EXPECT_EQ(LargeOf(r, f.unit)->writer, 0u);
  r.alloc()->lock = free;  // the pass goes on (its steps 4 to 7 as a pass of their own)
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(r.alloc()->largeHead, f.unit);
  EXPECT_EQ(LargeOf(r, f.unit)->flags, kFlagFree | kLargeClass << kClassShift);
  VerifyOk(*s);
}

// Not so once that pass completed: a later one (running now, it holds the allocator lock) leaves
// cutGc behind gcCounter, and a block one count behind may be one the completed pass did not see.
TEST_F(StoreAlloc, ALargeBlockOneCutBehindAfterTheCuttingPassCompletedIsNotHeld) {
  const PoolView pool{r.base(), r.header(), r.alloc(), s->firstUnit(), s->totalUnits()};
  InFlight f;
  ASSERT_NO_FATAL_FAILURE(AllocByWriter(r, pool, 100, &f));
  ASSERT_EQ(s->Repair(), L::kOk);
  r.repairState()->cutGc = r.header()->gcCounter - 1;
  ++r.repairState()->cuts;
  EXPECT_FALSE(LargeHeld(pool, f.env, f.unit, f.claim));
  r.repairState()->cutGc = r.header()->gcCounter;
  EXPECT_TRUE(LargeHeld(pool, f.env, f.unit, f.claim));
  r.repairState()->cutGc = r.header()->gcCounter;
  ++r.repairState()->cuts;  // two counts behind
  EXPECT_FALSE(LargeHeld(pool, f.env, f.unit, f.claim));
}

// The block start before `unit` in a sound pool (walked by block size from firstUnit).
uint32_t BlockBefore(const Region& r, const Store& s, uint32_t unit) {
  uint32_t prev = 0;
  for (uint32_t u = s.firstUnit(); u < unit;) {
    prev = u;
    const uint32_t cls = ClassOfFlags(r.entry(u)->flags);
    u += cls < kClassCount ? L::kSizeClasses[cls] : LargeOf(r, u)->units;
  }
  return prev;
}

// A repair pass that cuts holes (format.md §9, step 3) leaves the large block a live writer other
// than the repairer is filling exactly as it is, as a block start that no free block covers: the
// writer copies its value without any lock, and units of the block handed to another writer
// would take that copy over an acknowledged value. The writer then finds the block its own.
void ExpectKeptInFlight(const Region& r, const Store& s, const PoolView& pool, const LockEnv& env,
                        uint32_t unit, uint32_t units, const LargeClaim& claim) {
  const L::LargeBlock* lb = LargeOf(r, unit);
  EXPECT_EQ(lb->flags, kLargeClass << kClassShift);
  EXPECT_EQ(lb->units, units);
  EXPECT_EQ(lb->writer, env.selfSlot);
  EXPECT_EQ(BlockBefore(r, s, unit + 1), unit);  // a block start
  EXPECT_EQ(lb->cuts, r.repairState()->cuts);    // stamped by the pass that kept it
  for (uint32_t f = r.alloc()->largeHead; f != 0; f = LargeOf(r, f)->next) {
    EXPECT_TRUE(f + LargeOf(r, f)->units <= unit || f >= unit + units) << "free block " << f;
  }
  EXPECT_TRUE(LargeHeld(pool, env, unit, claim));
}

// The writer's block, then another writer's block of the same size, filled after the pass: the
// second lies elsewhere and keeps its bytes once the first writer's copy is done.
void FillBothAfterThePass(const Region& r, Store& s, const PoolView& pool, const LockEnv& env,
                          const LockEnv& otherEnv, uint32_t unit, uint32_t n,
                          const LargeClaim& claim) {
  const uint32_t units = UnitsForLarge(n);
  uint32_t other = 0;
  LargeClaim otherClaim;
  ASSERT_EQ(AllocLarge(pool, otherEnv, units, &other, &otherClaim), AllocStatus::kOk);
  EXPECT_TRUE(other + units <= unit || other >= unit + units) << other << " overlaps " << unit;
  uint8_t* theirs = r.base() + uint64_t{other} * kBlockUnit + sizeof(L::LargeBlock);
  uint8_t* mine = r.base() + uint64_t{unit} * kBlockUnit + sizeof(L::LargeBlock);
  std::memset(theirs, 'b', n);
  std::memset(mine, 'a', n);                          // the first writer's copy, still running
  EXPECT_EQ(std::count(theirs, theirs + n, 'b'), n);  // the other writer's value, whole
  EXPECT_EQ(std::count(mine, mine + n, 'a'), n);
  VerifyOk(s);  // two sets in flight
  ASSERT_EQ(FreeUnlinkedLarge(pool, env, unit, claim), AllocStatus::kOk);
  ASSERT_EQ(FreeUnlinkedLarge(pool, otherEnv, other, otherClaim), AllocStatus::kOk);
  EXPECT_EQ(LargeOf(r, unit)->flags & kFlagFree, kFlagFree);
  VerifyOk(s);
}

// AllocByWriter of a block for a value of f->n bytes, the store holding the entry "x" written
// before it.
void StartLargeWrite(Region& r, Store& s, const PoolView& pool, uint32_t ns, InFlight* f) {
  ASSERT_EQ(Put(s, ns, "x", "victim"), L::kOk);
  AllocByWriter(r, pool, UnitsForLarge(f->n), f);
}

TEST_F(StoreAlloc, AHoleCutInFrontOfALargeBlockALiveWriterIsFillingEndsAtIt) {
  const PoolView pool{r.base(), r.header(), r.alloc(), s->firstUnit(), s->totalUnits()};
  InFlight f;
  ASSERT_NO_FATAL_FAILURE(StartLargeWrite(r, *s, pool, ns, &f));
  // The block before it gets an invalid size class: the hole starts there, and no entry a chain
  // names follows it.
  r.entry(BlockBefore(r, *s, f.unit))->flags |= 0xFFu << kClassShift;
  const uint32_t cuts = r.repairState()->cuts;
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(r.repairState()->cuts, cuts + 1);
  ExpectKeptInFlight(r, *s, pool, f.env, f.unit, UnitsForLarge(f.n), f.claim);
  FillBothAfterThePass(r, *s, pool, f.env, EnvOf(r, *s, 1), f.unit, f.n, f.claim);
}

TEST_F(StoreAlloc, AnEntryALinkNamesInsideALargeBlockALiveWriterIsFillingIsNotDamage) {
  const PoolView pool{r.base(), r.header(), r.alloc(), s->firstUnit(), s->totalUnits()};
  InFlight f;
  ASSERT_NO_FATAL_FAILURE(StartLargeWrite(r, *s, pool, ns, &f));
  // A copy of the entry "x" inside the block (stale bytes the writer's copy has not reached
  // yet), which the chain names after "x".
  const uint32_t x = BlockBefore(r, *s, f.unit);
  const uint32_t inside = f.unit + UnitsForLarge(f.n) / 2;
  std::memcpy(r.entry(inside), r.entry(x), UnitsForEntry(1, 6) * kBlockUnit);
  r.entry(inside)->next = 0;
  r.entry(x)->next = inside;
  ASSERT_EQ(s->Repair(), L::kOk);
  ExpectKeptInFlight(r, *s, pool, f.env, f.unit, UnitsForLarge(f.n), f.claim);
  EXPECT_EQ(r.entry(x)->next, 0u);  // the chain ends at "x"
  EXPECT_EQ(GetStr(*s, ns, "x"), "victim");
  FillBothAfterThePass(r, *s, pool, f.env, EnvOf(r, *s, 1), f.unit, f.n, f.claim);
}

// freeHead damaged downwards below the entry "x" and the large block a live writer is filling
// after it (format.md §9, step 3): the pass restores freeHead over the entry the chain names and,
// walking on by block size, over the block in flight, so that the bump pointer hands out none of
// its units while the writer copies into it.
TEST_F(StoreAlloc, AFreeHeadDamagedDownwardsIsRestoredOverALargeBlockALiveWriterIsFilling) {
  const PoolView pool{r.base(), r.header(), r.alloc(), s->firstUnit(), s->totalUnits()};
  InFlight f;
  ASSERT_NO_FATAL_FAILURE(StartLargeWrite(r, *s, pool, ns, &f));
  r.header()->freeHead = s->firstUnit() + 1;
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(r.header()->freeHead, f.unit + UnitsForLarge(f.n));
  ExpectKeptInFlight(r, *s, pool, f.env, f.unit, UnitsForLarge(f.n), f.claim);
  EXPECT_EQ(GetStr(*s, ns, "x"), "victim");
  FillBothAfterThePass(r, *s, pool, f.env, EnvOf(r, *s, 1), f.unit, f.n, f.claim);
}

// The same damage when the large block after "x" is the repairer's own (its handle runs the pass in
// the middle of its set: the set found a bucket's holder gone): the block is not in flight of
// another owner, so freeHead is restored to the end of "x" and the block lies beyond it. The pass
// stores writer = 0 in it, and its writer finds it no longer its own and allocates again, instead
// of linking an entry to units the bump pointer hands out next.
TEST_F(StoreAlloc, AFreeHeadRestoredByTheWritersOwnPassLeavesItsLargeBlockNoLongerHeld) {
  const PoolView pool{r.base(), r.header(), r.alloc(), s->firstUnit(), s->totalUnits()};
  ASSERT_EQ(Put(*s, ns, "x", "victim"), L::kOk);
  ASSERT_EQ(s->Repair(), L::kOk);  // the parked blocks freed: the block is bumped right after "x"
  const LockEnv env = EnvOf(r, *s, 1);
  const uint32_t n = 70000;
  uint32_t unit = 0;
  LargeClaim claim;
  ASSERT_EQ(AllocLarge(pool, env, UnitsForLarge(n), &unit, &claim), AllocStatus::kOk);
  ASSERT_EQ(BlockBefore(r, *s, unit) + UnitsForEntry(1, 6), unit);
  r.header()->freeHead = s->firstUnit() + 1;
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(r.header()->freeHead, unit);
  EXPECT_EQ(LargeOf(r, unit)->writer, 0u);
  EXPECT_FALSE(LargeHeld(pool, env, unit, claim));
  EXPECT_EQ(GetStr(*s, ns, "x"), "victim");
  VerifyOk(*s);
  // Another writer's bumped block takes those units.
  auto writer = Open(r, 2);
  const LockEnv other = EnvOf(r, *writer, 2);
  uint32_t again = 0;
  LargeClaim otherClaim;
  ASSERT_EQ(AllocLarge(pool, other, UnitsForLarge(n), &again, &otherClaim), AllocStatus::kOk);
  EXPECT_EQ(again, unit);
  EXPECT_FALSE(LargeHeld(pool, env, unit, claim));
}

// A large block that does not end by freeHead is never its writer's, whatever its header says:
// here freeHead was damaged down to its start exactly, which no proven entry beyond it shows, so
// the pass (run by another handle) leaves both as they are. The writer allocates again, and
// does not free the block onto a list either.
TEST_F(StoreAlloc, ALargeBlockBeyondFreeHeadIsNotHeld) {
  const PoolView pool{r.base(), r.header(), r.alloc(), s->firstUnit(), s->totalUnits()};
  InFlight f;
  ASSERT_NO_FATAL_FAILURE(StartLargeWrite(r, *s, pool, ns, &f));
  r.header()->freeHead = f.unit;
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(r.header()->freeHead, f.unit);
  EXPECT_EQ(LargeOf(r, f.unit)->writer, f.env.selfSlot);
  EXPECT_FALSE(LargeHeld(pool, f.env, f.unit, f.claim));
  ASSERT_EQ(FreeUnlinkedLarge(pool, f.env, f.unit, f.claim), AllocStatus::kOk);
  for (uint32_t u = r.alloc()->largeHead; u != 0; u = LargeOf(r, u)->next) EXPECT_NE(u, f.unit);
  EXPECT_EQ(GetStr(*s, ns, "x"), "victim");
  VerifyOk(*s);
}

// One block whose header reads zero between the kept blocks and a large block a live writer is
// filling (an entry block of class 0 whose writer was killed right after allocating it) does not
// end that walk: freeHead is still restored over the block in flight.
TEST_F(StoreAlloc, ARestoredFreeHeadCoversABlockInFlightAfterOneZeroHeader) {
  const PoolView pool{r.base(), r.header(), r.alloc(), s->firstUnit(), s->totalUnits()};
  ASSERT_EQ(Put(*s, ns, "x", "victim"), L::kOk);
  ASSERT_EQ(s->Repair(), L::kOk);  // the parked blocks freed: freeHead is the end of "x"
  const uint32_t zero = r.header()->freeHead;
  std::memset(r.entry(zero), 0, size_t{L::kSizeClasses[0]} * kBlockUnit);
  r.header()->freeHead = zero + L::kSizeClasses[0];  // bumped, nothing written: flags = 0
  auto writer = Open(r, 2);
  const LockEnv env = EnvOf(r, *writer, 2);
  const uint32_t n = 70000;
  uint32_t unit = 0;
  LargeClaim claim;
  ASSERT_EQ(AllocLarge(pool, env, UnitsForLarge(n), &unit, &claim), AllocStatus::kOk);
  ASSERT_EQ(unit, zero + L::kSizeClasses[0]);
  r.header()->freeHead = s->firstUnit() + 1;
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(r.header()->freeHead, unit + UnitsForLarge(n));
  ExpectKeptInFlight(r, *s, pool, env, unit, UnitsForLarge(n), claim);
  EXPECT_EQ(GetStr(*s, ns, "x"), "victim");
  VerifyOk(*s);  // a set in flight
  ASSERT_EQ(FreeUnlinkedLarge(pool, env, unit, claim), AllocStatus::kOk);
  VerifyOk(*s);
}

// A header that does not tile between "x" and a large block a live writer is filling ends the
// walk of a pass that restores a damaged freeHead (format.md §9, step 3): the block lies beyond
// the restored freeHead, unseen, its header as it was. The bump pointer then hands its units out
// again in blocks of class 0, which write their headers at even units after "x" and leave the
// block's, at an odd one, as it is: once they cover it, it ends by freeHead again, and only its
// cuts word, older than the count the pass moved, tells its writer that no pass kept it.
TEST_F(StoreAlloc, ALargeBlockInFlightBeyondTheWalkOfARestoredFreeHeadIsNotHeldOnceBumpsCoverIt) {
  const PoolView pool{r.base(), r.header(), r.alloc(), s->firstUnit(), s->totalUnits()};
  ASSERT_EQ(Put(*s, ns, "x", "victim"), L::kOk);
  ASSERT_EQ(s->Repair(), L::kOk);  // the parked blocks freed: freeHead is the end of "x"
  const uint32_t keptEnd = r.header()->freeHead;
  r.entry(keptEnd)->flags = 0xFFu << kClassShift;  // a size class that does not tile
  r.header()->freeHead = keptEnd + 3;
  InFlight f;
  ASSERT_NO_FATAL_FAILURE(AllocByWriter(r, pool, UnitsForLarge(f.n), &f));
  ASSERT_EQ(f.unit, keptEnd + 3);
  EXPECT_EQ(LargeOf(r, f.unit)->cuts, r.repairState()->cuts);
  const uint32_t cuts = r.repairState()->cuts;
  r.header()->freeHead = s->firstUnit() + 1;
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(r.header()->freeHead, keptEnd);
  EXPECT_EQ(r.repairState()->cuts, cuts + 1);
  EXPECT_FALSE(LargeHeld(pool, f.env, f.unit, f.claim));  // beyond freeHead
  const LockEnv env = EnvOf(r, *s, 1);
  while (r.header()->freeHead < f.unit + UnitsForLarge(f.n)) {
    uint32_t u = 0;
    ASSERT_EQ(AllocBlock(pool, env, 0, &u), AllocStatus::kOk);
    ASSERT_EQ((u - keptEnd) % L::kSizeClasses[0], 0u);
  }
  const L::LargeBlock* lb = LargeOf(r, f.unit);
  EXPECT_EQ(lb->flags, kLargeClass << kClassShift);
  EXPECT_EQ(lb->units, UnitsForLarge(f.n));
  EXPECT_EQ(lb->writer, f.env.selfSlot);
  EXPECT_EQ(lb->cuts, cuts);
  EXPECT_FALSE(LargeHeld(pool, f.env, f.unit, f.claim));
  // Its writer gives up: nothing goes on the large list.
  ASSERT_EQ(FreeUnlinkedLarge(pool, f.env, f.unit, f.claim), AllocStatus::kOk);
  for (uint32_t u = r.alloc()->largeHead; u != 0; u = LargeOf(r, u)->next) EXPECT_NE(u, f.unit);
  EXPECT_EQ(lb->flags, kLargeClass << kClassShift);
  EXPECT_EQ(GetStr(*s, ns, "x"), "victim");
}

// A pass that restores a damaged freeHead walks on past the kept blocks only while blocks were
// written there: the units never written after them (zero, read as blocks of class 0) are not
// walked to the end of the pool with every lock held. Its heartbeats count its work.
TEST(StoreAllocWalk, ARestoredFreeHeadIsNotWalkedToTheEndOfALargePool) {
  Region big(size_t{1} << 27);
  ASSERT_EQ(Store::Create(big.base(), big.size(), 256, 5000), L::kOk);
  auto t = Open(big);
  const uint32_t id = Ns(*t, "n");
  for (int i = 0; i < 20; ++i) ASSERT_EQ(Put(*t, id, "k" + std::to_string(i), "v"), L::kOk);
  const uint32_t top = big.header()->freeHead;
  big.header()->freeHead = t->firstUnit() + 1;
  const auto version = [&] { return uint32_t(big.repairState()->lock & L::kLockVersionMask); };
  const uint32_t v0 = version();
  ASSERT_EQ(t->Repair(), L::kOk);
  const uint32_t steps = uint32_t((version() - v0) & L::kLockVersionMask);
  const uint32_t beats = (steps - 2) / 2;  // 2 for its acquire and release, 2 a heartbeat
  // A walk of every unit, as blocks of class 0, would beat this often.
  const uint32_t toTheEnd =
      (t->totalUnits() - t->firstUnit()) / L::kSizeClasses[0] / LockHeartbeat::kUnitsPerBeat;
  EXPECT_LT(beats, toTheEnd / 10);
  EXPECT_GT(big.header()->freeHead, t->firstUnit() + 1);
  EXPECT_LE(big.header()->freeHead, top);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(GetStr(*t, id, "k" + std::to_string(i)), "v");
  VerifyOk(*t);
}

// A writer whose own handle's repair pass freed its large block (writer = 0), and which then
// allocated the same unit again for something else (a compaction move whose block it could not
// give back), finds that block named by it again: its keyHash and valueChecksum tell it is not
// the block of the first claim.
TEST_F(StoreAlloc, ABlockAllocatedAgainAtTheSameUnitIsNotTheFirstClaims) {
  const PoolView pool{r.base(), r.header(), r.alloc(), s->firstUnit(), s->totalUnits()};
  const LockEnv env = EnvOf(r, *s, 1);
  const uint32_t units = UnitsForLarge(70000);
  uint32_t unit = 0;
  LargeClaim first;
  ASSERT_EQ(AllocLarge(pool, env, units, &unit, &first), AllocStatus::kOk);
  L::LargeBlock* lb = reinterpret_cast<L::LargeBlock*>(r.entry(unit));
  lb->keyHash = first.keyHash = 0x1234;
  lb->valueChecksum = first.sum = 0x5678;
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(lb->writer, 0u);
  EXPECT_FALSE(LargeHeld(pool, env, unit, first));
  uint32_t again = 0;
  LargeClaim second;
  ASSERT_EQ(AllocLarge(pool, env, units, &again, &second), AllocStatus::kOk);
  ASSERT_EQ(again, unit);
  EXPECT_TRUE(LargeHeld(pool, env, unit, second));
  lb->keyHash = second.keyHash = 0x4321;
  lb->valueChecksum = second.sum = 0x8765;
  EXPECT_FALSE(LargeHeld(pool, env, unit, first));
  EXPECT_TRUE(LargeHeld(pool, env, unit, second));
  ASSERT_EQ(FreeUnlinkedLarge(pool, env, unit, first), AllocStatus::kOk);
  EXPECT_EQ(lb->flags, kLargeClass << kClassShift);  // not the first claim's to free
  ASSERT_EQ(FreeUnlinkedLarge(pool, env, unit, second), AllocStatus::kOk);
  EXPECT_EQ(lb->flags, kFlagFree | kLargeClass << kClassShift);
  VerifyOk(*s);
}

}  // namespace
}  // namespace shm::test
