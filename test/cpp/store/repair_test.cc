// The repair pass on damaged regions (src/store/repair.cpp, docs/format.md §9, "Stuck locks and
// repair"): what readers, writers and repair() do with a bad entry, a wild link, a cycle, a bad
// free list, a broken pool, a repeated key and wrong counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include "base/hash.h"
#include "store/store.h"
#include "test_util.h"

namespace shm::test {
namespace {

class StoreRepair : public OpenStore {};

TEST_F(StoreRepair, CorruptValueIsDroppedByRepair) {
  ASSERT_EQ(Put(*s, ns, "good", "fine"), L::kOk);
  ASSERT_EQ(Put(*s, ns, "bad", "will be damaged"), L::kOk);
  const uint32_t h = Xxh32("bad", 3, ns);
  L::Entry* e = r.entry(r.bucket(h & 255)->head);
  reinterpret_cast<uint8_t*>(e + 1)[5] ^= 0x20;
  VerifyReport rep;
  ASSERT_EQ(s->Verify(&rep), L::kOk);
  EXPECT_FALSE(rep.ok);
  ASSERT_FALSE(rep.errors.empty());
  EXPECT_NE(rep.errors[0].find("checksum"), std::string::npos) << rep.errors[0];
  // A read that keeps meeting the bad checksum runs a repair pass, which unlinks the entry.
  EXPECT_EQ(GetStr(*s, ns, "bad"), "<miss>");
  EXPECT_EQ(GetStr(*s, ns, "good"), "fine");
  EXPECT_EQ(s->Count(ns), 1u);
  rep = VerifyOk(*s);
  EXPECT_EQ(rep.entries, 1u);
}

TEST_F(StoreRepair, WildChainIndexNeverCrashes) {
  ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
  const uint32_t h = Xxh32("k", 1, ns);
  L::Bucket* b = r.bucket(h & 255);
  const uint32_t good = b->head;
  for (uint32_t wild : {0xFFFFFFFFu, static_cast<uint32_t>(r.size() / kBlockUnit), 1u, good + 1}) {
    b->head = wild;
    // A miss (a reader that meets an impossible index also runs a repair pass), never a crash.
    EXPECT_EQ(GetStr(*s, ns, "k"), "<miss>") << wild;
    ASSERT_EQ(s->Repair(), L::kOk);
    EXPECT_EQ(b->head, 0u);
    VerifyOk(*s);
    ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
    EXPECT_EQ(GetStr(*s, ns, "k"), "v");
  }
}

TEST_F(StoreRepair, CycleIsCut) {
  ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
  const uint32_t h = Xxh32("k", 1, ns);
  L::Bucket* b = r.bucket(h & 255);
  r.entry(b->head)->next = b->head;  // a chain that loops on itself
  EXPECT_EQ(GetStr(*s, ns, "other-key-in-any-bucket"), "<miss>");
  // A miss in that bucket walks the cycle: the walk is cut and the repair keeps one copy.
  std::string miss;
  for (int i = 0;; ++i) {
    miss = "m" + std::to_string(i);
    if ((Xxh32(miss.data(), miss.size(), ns) & 255) == (h & 255)) break;
  }
  EXPECT_EQ(GetStr(*s, ns, miss), "<miss>");
  EXPECT_EQ(r.entry(b->head)->next, 0u);
  EXPECT_EQ(GetStr(*s, ns, "k"), "v");
  VerifyOk(*s);
}

TEST_F(StoreRepair, WritersRepairCorruptChains) {
  ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
  const uint32_t h = Xxh32("k", 1, ns);
  L::Bucket* b = r.bucket(h & 255);
  r.entry(b->head)->flags = 0xFF00;  // invalid size class
  EXPECT_EQ(Put(*s, ns, "k", "w"), L::kOk);
  EXPECT_EQ(GetStr(*s, ns, "k"), "w");
  EXPECT_EQ(r.header()->gcCounter, 1u);
  VerifyOk(*s);
}

TEST_F(StoreRepair, CorruptFreeListIsRebuilt) {
  for (int i = 0; i < 10; ++i) ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), "v"), L::kOk);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(Del(*s, ns, "k" + std::to_string(i)));
  r.alloc()->freeHeads[0] = 5;  // points into the header
  // Another handle, with no parked block (format.md §8): the allocator sees it and a repair
  // rebuilds.
  auto t = Open(r, 2);
  EXPECT_EQ(Put(*t, ns, "x", "y"), L::kOk);
  EXPECT_EQ(GetStr(*s, ns, "x"), "y");
  VerifyOk(*s);
}

TEST_F(StoreRepair, RepairSkipsADamagedBlockHeader) {
  for (int i = 0; i < 10; ++i) ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), "v"), L::kOk);
  const uint32_t first = s->firstUnit();
  const uint32_t units = UnitsForEntry(2, 1);  // each entry's block
  const uint32_t head = r.header()->freeHead;
  // The 6th block gets an invalid class: its units become a free block up to the next entry the
  // chains name (format.md §9, step 3); only its own entry is dropped.
  r.entry(first + 5 * units)->flags = 0x7700;
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(r.header()->freeHead, head);
  EXPECT_EQ(r.entry(first + 5 * units)->flags, kFlagFree | kLargeClass << kClassShift);
  auto rep = VerifyOk(*s);
  EXPECT_EQ(rep.entries, 9u);
  EXPECT_EQ(s->Count(ns), 9u);
  // The last block damaged: the rest of the pool is one free block, freeHead stays.
  r.entry(head - units)->flags = 0x7700;
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(r.header()->freeHead, head);
  rep = VerifyOk(*s);
  EXPECT_EQ(rep.entries, 8u);
}

// freeHead only grows (format.md §8): entries the chains name that prove themselves beyond it
// mean the word was damaged downwards, and the pass restores it over them (§9, step 3) instead of
// cutting them off and letting the bump pointer hand their units out again.
TEST_F(StoreRepair, FreeHeadDamagedDownwardsIsRestoredOverProvenEntries) {
  constexpr int kKeys = 40;
  auto key = [](int i) { return "k" + std::to_string(i); };
  auto value = [](int i) { return "v" + std::string(static_cast<size_t>(i * 7), 'x'); };
  for (int i = 0; i < kKeys; ++i) ASSERT_EQ(Put(*s, ns, key(i), value(i)), L::kOk);
  // The end of the last entry's block (the blocks after it are this handle's parked ones).
  uint32_t end = 0;
  for (uint32_t b = 0; b < 256; ++b) {
    for (uint32_t u = r.bucket(b)->head; u != 0; u = r.entry(u)->next) {
      const uint32_t cls = ClassOfFlags(r.entry(u)->flags);
      end = std::max(end, u + L::kSizeClasses[cls]);
    }
  }
  const uint32_t cuts = r.repairState()->cuts;
  r.header()->freeHead = s->firstUnit() + 1;
  VerifyReport rep;
  ASSERT_EQ(s->Verify(&rep), L::kOk);
  EXPECT_FALSE(rep.ok);
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(r.header()->freeHead, end);
  EXPECT_EQ(r.repairState()->cuts, cuts + 1);  // writers forget parked blocks beyond it
  EXPECT_EQ(VerifyOk(*s).entries, static_cast<uint64_t>(kKeys));
  for (int i = 0; i < kKeys; ++i) ASSERT_EQ(Put(*s, ns, "new" + key(i), value(i)), L::kOk);
  for (int i = 0; i < kKeys; ++i) EXPECT_EQ(GetStr(*s, ns, key(i)), value(i)) << i;
  EXPECT_EQ(VerifyOk(*s).entries, static_cast<uint64_t>(2 * kKeys));
}

TEST_F(StoreRepair, DuplicateKeyOnAChainIsDropped) {
  ASSERT_EQ(Put(*s, ns, "dup", "first"), L::kOk);
  const uint32_t h = Xxh32("dup", 3, ns);
  L::Bucket* b = r.bucket(h & 255);
  // Forge a second copy of the entry behind the first.
  const uint32_t first = b->head;
  const uint32_t copy = r.header()->freeHead;
  const uint32_t units = UnitsForEntry(3, 5);
  std::memcpy(r.entry(copy), r.entry(first), units * kBlockUnit);
  r.header()->freeHead = copy + units;
  r.entry(first)->next = copy;
  b->count = 2;
  VerifyReport rep;
  ASSERT_EQ(s->Verify(&rep), L::kOk);
  EXPECT_FALSE(rep.ok);
  ASSERT_EQ(s->Repair(), L::kOk);
  rep = VerifyOk(*s);
  EXPECT_EQ(rep.entries, 1u);
  EXPECT_EQ(r.entry(first)->next, 0u);
  EXPECT_EQ(rep.freeUnits, units);
}

TEST_F(StoreRepair, CountsAreRecomputedByRepair) {
  for (int i = 0; i < 20; ++i) ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), "v"), L::kOk);
  // Every cell's words damaged: the handle's own cell and another.
  r.cell(3)->entries += 7;
  r.cell(3)->limit += 7;
  *r.cellNs(0, ns) -= 25;  // the sum goes "negative": a count of 0 until repaired
  r.nsState()->liveCount = 9;
  VerifyReport rep;
  ASSERT_EQ(s->Verify(&rep), L::kOk);
  EXPECT_FALSE(rep.ok);
  // The grant (the header's against the limits), the entries, the namespace, liveCount.
  EXPECT_EQ(rep.errors.size(), 4u);
  EXPECT_EQ(s->Count(ns), 0u);
  EXPECT_TRUE(Del(*s, ns, "k0"));
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(r.header()->grantedEntries, 19u);
  EXPECT_EQ(r.cell(0)->limit, 19u);
  EXPECT_EQ(r.cell(0)->entries, 19u);
  EXPECT_EQ(s->Count(0), 19u);
  EXPECT_EQ(s->Count(ns), 19u);
  VerifyOk(*s);
}

// The entry of `key` on its bucket's chain (a store of 256 buckets), or nullptr.
L::Entry* EntryOfKey(Region& r, uint32_t ns, const std::string& key) {
  const uint32_t h = Xxh32(key.data(), key.size(), ns);
  for (uint32_t u = r.bucket(h & 255)->head; u != 0; u = r.entry(u)->next) {
    if (r.entry(u)->keyHash == h) return r.entry(u);
  }
  return nullptr;
}

// The entry checksum covers FLAG_INDIRECT (format.md §8): a large value's entry that lost the flag
// is damage to a read and to Verify, never an 8-byte value, and the repair pass flips it back.
TEST_F(StoreRepair, LargeValueEntryThatLostIndirectIsMendedNotReadAsItsReference) {
  const std::string big(100000, 'B');
  ASSERT_EQ(Put(*s, ns, "big", big), L::kOk);
  ASSERT_EQ(Put(*s, ns, "eight", "8 bytes!"), L::kOk);
  L::Entry* e = EntryOfKey(r, ns, "big");
  ASSERT_NE(e, nullptr);
  ASSERT_NE(e->flags & kFlagIndirect, 0u);
  // The seed of its checksum holds the flag.
  EXPECT_EQ(e->checksum, Xxh32(e + 1, 3 + kIndirectBytes,
                               e->keyHash ^ (e->flags & (kEncodingMask | kFlagIndirect))));
  e->flags &= ~kFlagIndirect;
  VerifyReport rep;
  ASSERT_EQ(s->Verify(&rep), L::kOk);
  EXPECT_FALSE(rep.ok);
  std::string all;
  for (const auto& err : rep.errors) all += err + "\n";
  EXPECT_EQ(std::count_if(rep.errors.begin(), rep.errors.end(),
                          [](const std::string& err) {
                            return err.find("is an indirect entry without FLAG_INDIRECT") !=
                                   std::string::npos;
                          }),
            1)
      << all;
  // A read meets the flip, runs a repair pass, which flips it back: the large value is read.
  EXPECT_EQ(GetStr(*s, ns, "big"), big);
  EXPECT_NE(e->flags & kFlagIndirect, 0u);
  // Its large block's keyHash is a hint only: the checksum tells the flip without it.
  LargeAt(r.base(), RefOf(e, 3).unit)->keyHash ^= 1;
  e->flags &= ~kFlagIndirect;
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_NE(e->flags & kFlagIndirect, 0u);
  EXPECT_EQ(GetStr(*s, ns, "big"), big);
  EXPECT_EQ(GetStr(*s, ns, "eight"), "8 bytes!");
  VerifyOk(*s);
}

// An inline 8-byte value that gained FLAG_INDIRECT is damage too: never read as a reference, and
// the repair pass flips the bit back and keeps the value.
TEST_F(StoreRepair, InlineEightByteValueThatGainedIndirectIsMended) {
  ASSERT_EQ(Put(*s, ns, "big", std::string(100000, 'B')), L::kOk);
  ASSERT_EQ(Put(*s, ns, "eight", "8 bytes!"), L::kOk);
  L::Entry* e = EntryOfKey(r, ns, "eight");
  ASSERT_NE(e, nullptr);
  e->flags |= kFlagIndirect;
  VerifyReport rep;
  ASSERT_EQ(s->Verify(&rep), L::kOk);
  EXPECT_FALSE(rep.ok);
  std::string all;
  for (const auto& err : rep.errors) all += err + "\n";
  EXPECT_EQ(std::count_if(rep.errors.begin(), rep.errors.end(),
                          [](const std::string& err) {
                            return err.find("has FLAG_INDIRECT on an inline value") !=
                                   std::string::npos;
                          }),
            1)
      << all;
  EXPECT_EQ(GetStr(*s, ns, "eight"), "8 bytes!");
  EXPECT_EQ(e->flags & kFlagIndirect, 0u);
  e->flags |= kFlagIndirect;
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(e->flags & kFlagIndirect, 0u);
  EXPECT_EQ(GetStr(*s, ns, "eight"), "8 bytes!");
  VerifyOk(*s);
}

// Genuine 8 bytes that are a live large block's (unit, length), the block's keyHash hint naming
// their entry: the checksum says they are a value.
TEST_F(StoreRepair, InlineValueThatNamesALargeBlockIsAValue) {
  ASSERT_EQ(Put(*s, ns, "big", std::string(100000, 'B')), L::kOk);
  const L::Entry* big = EntryOfKey(r, ns, "big");
  ASSERT_NE(big, nullptr);
  const std::string ref(reinterpret_cast<const char*>(big + 1) + 3, kIndirectBytes);
  ASSERT_EQ(Put(*s, ns, "twin", ref, static_cast<uint32_t>(L::kEncBinary)), L::kOk);
  LargeAt(r.base(), RefOf(big, 3).unit)->keyHash = EntryOfKey(r, ns, "twin")->keyHash;
  EXPECT_EQ(GetStr(*s, ns, "twin"), ref);
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(GetStr(*s, ns, "twin"), ref);
  EXPECT_EQ(GetStr(*s, ns, "big"), std::string(100000, 'B'));
  VerifyOk(*s);
}

// A store with a freed 300000-byte value, the large value `big` under "big" after it and an entry
// after that: a compaction sweep moves big's large block down into the freed space (a move only
// goes down, format.md §8 "Compaction").
void PutMovableLarge(Store& s, uint32_t ns, const std::string& big) {
  ASSERT_EQ(Put(s, ns, "pad", std::string(300000, 'p')), L::kOk);
  ASSERT_EQ(Put(s, ns, "big", big, static_cast<uint32_t>(L::kEncBinary)), L::kOk);
  ASSERT_EQ(Put(s, ns, "tail", "x"), L::kOk);
  ASSERT_TRUE(Del(s, ns, "pad"));
}

void CompactAll(Store& s) {
  CompactReport rep;
  int steps = 0;
  do {
    ASSERT_EQ(s.CompactStep(4096, &rep), L::kOk);
    ASSERT_LT(++steps, 10000);
  } while (!rep.done);
}

bool HasError(Store& s, const std::string& what) {
  VerifyReport rep;
  EXPECT_EQ(s.Verify(&rep), L::kOk);
  return std::any_of(rep.errors.begin(), rep.errors.end(),
                     [&](const std::string& e) { return e.find(what) != std::string::npos; });
}

// Compaction's move of a large block rewrites the entry that refers to it with a checksum of its
// own (format.md §8, "Compaction"): only a whole entry is moved, so that damage (a flipped
// encoding bit, a flipped key byte) never becomes a valid-looking entry.
TEST_F(StoreRepair, CompactionMovesTheLargeValueOfAWholeEntryOnly) {
  const std::string big(100000, 'A');
  PutMovableLarge(*s, ns, big);
  const uint32_t before = RefOf(EntryOfKey(r, ns, "big"), 3).unit;
  CompactAll(*s);
  EXPECT_NE(RefOf(EntryOfKey(r, ns, "big"), 3).unit, before) << "a whole entry's value moves";
  EXPECT_EQ(GetStr(*s, ns, "big"), big);
  VerifyOk(*s);
}

TEST_F(StoreRepair, CompactionLeavesAnIndirectEntryWithAFlippedEncodingBitDamaged) {
  const std::string big(100000, 'A');
  PutMovableLarge(*s, ns, big);
  L::Entry* e = EntryOfKey(r, ns, "big");
  ASSERT_NE(e, nullptr);
  const uint32_t large = RefOf(e, 3).unit;
  e->flags ^= 1;  // binary -> string
  ASSERT_TRUE(HasError(*s, "has a wrong checksum"));
  CompactAll(*s);
  EXPECT_TRUE(HasError(*s, "has a wrong checksum")) << "still damage after compaction";
  e = EntryOfKey(r, ns, "big");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(RefOf(e, 3).unit, large) << "its value stays where it was";
  // A read takes it for damage: never the value in another encoding.
  uint32_t enc = 0;
  const std::string got = GetStr(*s, ns, "big", &enc);
  EXPECT_TRUE(got == "<miss>") << "read back: " << got.size() << " bytes of encoding " << enc;
  EXPECT_EQ(GetStr(*s, ns, "tail"), "x");
  VerifyOk(*s);
}

TEST_F(StoreRepair, CompactionLeavesAnIndirectEntryWithAFlippedKeyByteDamaged) {
  PutMovableLarge(*s, ns, std::string(100000, 'A'));
  L::Entry* e = EntryOfKey(r, ns, "big");
  ASSERT_NE(e, nullptr);
  reinterpret_cast<uint8_t*>(e + 1)[1] ^= 0x08;  // "big" -> "bag" (its keyHash still big's)
  ASSERT_TRUE(HasError(*s, "has a keyHash that is not its key's"));
  CompactAll(*s);
  EXPECT_TRUE(HasError(*s, "has a keyHash that is not its key's"));
  // A listing checks the checksum: it never lists a key never written.
  bool listed = false;
  ASSERT_EQ(s->ForEach(ns, [&](uint32_t, const void*, uint32_t keyLength, const void*, uint32_t,
                               uint32_t) { listed = listed || keyLength == 3; }),
            L::kOk);
  EXPECT_FALSE(listed);
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(GetStr(*s, ns, "tail"), "x");
  VerifyOk(*s);
}

// Freeing an entry frees the large block its 8 value bytes name only when its checksum vouches
// for them (format.md §8, "Large values"): an inline 8-byte value equal to another entry's
// reference that gained FLAG_INDIRECT (one bit) frees its own block only.
TEST_F(StoreRepair, FreeingAnInlineValueThatGainedIndirectFreesNoOtherEntrysLargeBlock) {
  const std::string big(100000, 'B');
  const uint32_t other = Ns(*s, "other");
  enum How { kDelete, kReplace, kClear, kExpire, kDrop };
  for (int how = kDelete; how <= kDrop; ++how) {
    SCOPED_TRACE(how);
    ASSERT_EQ(Put(*s, ns, "big", big), L::kOk);
    const std::string ref(reinterpret_cast<const char*>(EntryOfKey(r, ns, "big") + 1) + 3,
                          kIndirectBytes);
    uint64_t expiresAt = kExpiryDefault;
    if (how == kExpire) {
      expiresAt = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count()) +
                  1;
    }
    ASSERT_EQ(s->Set(other, "twin", 4, ref.data(), kIndirectBytes,
                     static_cast<uint32_t>(L::kEncBinary), expiresAt),
              L::kOk);
    EntryOfKey(r, other, "twin")->flags |= kFlagIndirect;
    uint32_t removed = 0;
    switch (how) {
      case kDelete:
        EXPECT_TRUE(Del(*s, other, "twin"));
        break;
      case kReplace:
        ASSERT_EQ(Put(*s, other, "twin", "replaced"), L::kOk);
        EXPECT_TRUE(Del(*s, other, "twin"));
        break;
      case kClear:
        ASSERT_EQ(s->Clear(other, &removed), L::kOk);
        EXPECT_EQ(removed, 1u);
        break;
      case kExpire:
        SleepMs(5);
        // Each insert sweeps two buckets for expired entries: these sweep all 256.
        for (int i = 0; i < 200; ++i) ASSERT_EQ(Put(*s, ns, "s" + std::to_string(i), "v"), L::kOk);
        for (int i = 0; i < 200; ++i) ASSERT_TRUE(Del(*s, ns, "s" + std::to_string(i)));
        EXPECT_EQ(EntryOfKey(r, other, "twin"), nullptr) << "swept";
        break;
      default:
        ASSERT_EQ(s->DropNamespace(other, &removed), L::kOk);
        EXPECT_EQ(removed, 1u);
        break;
    }
    // Its block is still big's: a value of its length written now takes another.
    ASSERT_EQ(Put(*s, ns, "next", std::string(100000, 'N')), L::kOk);
    EXPECT_TRUE(GetStr(*s, ns, "big") == big) << "big's value lost";
    EXPECT_TRUE(GetStr(*s, ns, "next") == std::string(100000, 'N'));
    EXPECT_TRUE(Del(*s, ns, "next"));
    VerifyOk(*s);
    ASSERT_EQ(s->Repair(), L::kOk);  // whatever a failed check left, the next round starts sound
  }
}

}  // namespace
}  // namespace shm::test
