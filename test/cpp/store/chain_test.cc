// The chain cursor (src/store/chain.h) on hand-built chains: what it reports for the end, for an
// entry and for each kind of invalid link (a cycle, a unit out of range, a free block, a bad size
// class, a block past the end), and what Unlink() and Cut() leave behind.
#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <vector>

#include "store/alloc.h"
#include "store/chain.h"
#include "test_util.h"

namespace shm::test {
namespace {

constexpr uint32_t kFirst = 4;  // units [0, 4) stand for the metadata and the buckets
constexpr uint32_t kEndUnit = 64;

class StoreChain : public ::testing::Test {
 protected:
  // A block of class `cls` at unit u, linked to `next`, holding a key and value of these lengths.
  void Block(uint32_t u, uint32_t cls, uint32_t next, uint32_t keyLength = 1,
             uint32_t valueLength = 1) {
    L::Entry* e = r.entry(u);
    e->next = next;
    e->flags = cls << kClassShift;
    e->keyLength = static_cast<uint16_t>(keyLength);
    e->valueLength = static_cast<uint16_t>(valueLength);
  }
  // A walk from `head` within [kFirst, kEndUnit), at most maxSteps links long.
  ChainCursor Cursor(uint64_t maxSteps = kNoStepLimit) {
    bounds.emplace_back(ChainBounds{r.base(), kFirst, kEndUnit, maxSteps});
    return ChainCursor(bounds.back(), &head);
  }
  // Every step until the first that is not kEntry, and the units of the entries met.
  std::vector<uint32_t> Walk(ChainCursor& c, ChainStep* last) {
    std::vector<uint32_t> units;
    while ((*last = c.Next()) == ChainStep::kEntry) units.push_back(c.unit());
    return units;
  }
  Region r{kEndUnit * kBlockUnit};
  uint32_t head = 0;
  std::deque<ChainBounds> bounds;  // every cursor's, kept in place while the test runs
};

TEST_F(StoreChain, EmptyChainEnds) {
  ChainCursor c = Cursor();
  EXPECT_EQ(c.Next(), ChainStep::kEnd);
  EXPECT_EQ(c.link(), &head);
}

TEST_F(StoreChain, EntriesInOrderWithTheirLinksAndSizes) {
  Block(4, 0, 5);
  Block(5, 6, 9, 10, 80);  // class 6: 8 units, 128 bytes
  Block(9, 0, 0);
  head = 4;
  ChainCursor c = Cursor();
  ASSERT_EQ(c.Next(), ChainStep::kEntry);
  EXPECT_EQ(c.unit(), 4u);
  EXPECT_EQ(c.link(), &head);
  EXPECT_EQ(c.entry(), r.entry(4));
  EXPECT_EQ(c.units(), 2u);
  ASSERT_EQ(c.Next(), ChainStep::kEntry);
  EXPECT_EQ(c.unit(), 5u);
  EXPECT_EQ(c.link(), &r.entry(4)->next);
  EXPECT_EQ(c.units(), 8u);
  EXPECT_EQ(c.flags(), 6u << kClassShift);
  EXPECT_TRUE(c.Fits(10, 80));
  EXPECT_TRUE(c.Fits(0, 100));   // 128 bytes: exactly the block
  EXPECT_FALSE(c.Fits(0, 101));  // one byte more
  EXPECT_FALSE(c.Fits(1024, 65535));
  ASSERT_EQ(c.Next(), ChainStep::kEntry);
  EXPECT_EQ(c.unit(), 9u);
  EXPECT_EQ(c.Next(), ChainStep::kEnd);
  EXPECT_EQ(c.link(), &r.entry(9)->next);
}

TEST_F(StoreChain, StepLimit) {
  EXPECT_EQ(ChainStepLimit(1000, kFirst, kEndUnit), 61u);  // 60 blocks at most, + 1
  EXPECT_EQ(ChainStepLimit(7, kFirst, kEndUnit), 8u);      // 7 entries at most, + 1
  EXPECT_EQ(ChainStepLimit(0, kFirst, kEndUnit), 1u);
  EXPECT_EQ(ChainStepLimit(1000, kEndUnit, kEndUnit), 1u);
}

TEST_F(StoreChain, CycleIsCutAtTheStepLimit) {
  Block(4, 0, 6);
  Block(6, 0, 4);  // back to the first
  head = 4;
  ChainCursor c = Cursor(ChainStepLimit(1000, kFirst, kEndUnit));
  ChainStep last;
  EXPECT_EQ(Walk(c, &last).size(), 61u);  // every link up to the limit, then cut
  EXPECT_EQ(last, ChainStep::kTooLong);
}

TEST_F(StoreChain, ChainLongerThanTheLimitIsTooLong) {
  for (uint32_t u = 4; u < 10; ++u) Block(u, 0, u + 1 < 10 ? u + 1 : 0);  // 6 entries
  head = 4;
  ChainCursor exact = Cursor(6);
  ChainStep last;
  EXPECT_EQ(Walk(exact, &last).size(), 6u);
  EXPECT_EQ(last, ChainStep::kEnd);
  ChainCursor shorter = Cursor(5);
  EXPECT_EQ(Walk(shorter, &last).size(), 5u);
  EXPECT_EQ(last, ChainStep::kTooLong);
  EXPECT_EQ(shorter.unit(), 9u);
}

TEST_F(StoreChain, UnitOutOfRange) {
  for (uint32_t wild : {1u, kFirst - 1, kEndUnit, kEndUnit + 1, 0xFFFFFFFFu}) {
    head = wild;
    ChainCursor c = Cursor();
    EXPECT_EQ(c.Next(), ChainStep::kOutOfRange) << wild;
    EXPECT_EQ(c.unit(), wild);
    EXPECT_EQ(c.link(), &head);
  }
  Block(4, 0, kEndUnit);  // a valid head whose link leaves the pool
  head = 4;
  ChainCursor c = Cursor();
  ChainStep last;
  EXPECT_EQ(Walk(c, &last).size(), 1u);
  EXPECT_EQ(last, ChainStep::kOutOfRange);
  EXPECT_EQ(c.link(), &r.entry(4)->next);
}

TEST_F(StoreChain, FreeMarkedBlock) {
  Block(4, 2, 0);
  r.entry(4)->flags |= kFlagFree;
  head = 4;
  ChainCursor c = Cursor();
  EXPECT_EQ(c.Next(), ChainStep::kFree);
  EXPECT_EQ(c.entry(), r.entry(4));
  EXPECT_EQ(c.units(), 4u);
  EXPECT_EQ(c.Next(), ChainStep::kEnd);  // a free list goes on through `next`
}

TEST_F(StoreChain, BadSizeClass) {
  Block(4, kClassCount, 0);
  head = 4;
  ChainCursor c = Cursor();
  EXPECT_EQ(c.Next(), ChainStep::kBadClass);
  EXPECT_EQ(c.entry(), r.entry(4));
  Block(4, 0xFF, 0);
  ChainCursor d = Cursor();
  EXPECT_EQ(d.Next(), ChainStep::kBadClass);
}

TEST_F(StoreChain, BlockRunningPastTheEnd) {
  Block(kEndUnit - 2, 0, 0);  // 2 units: ends exactly at kEndUnit
  head = kEndUnit - 2;
  ChainCursor fits = Cursor();
  EXPECT_EQ(fits.Next(), ChainStep::kEntry);
  Block(kEndUnit - 2, 1, 0);  // 3 units: one past
  ChainCursor past = Cursor();
  EXPECT_EQ(past.Next(), ChainStep::kBadClass);
  EXPECT_EQ(past.unit(), kEndUnit - 2);
}

TEST_F(StoreChain, UnlinkContinuesWithTheNextBlock) {
  Block(4, 0, 5);
  Block(5, 0, 6);
  Block(6, 0, 7);
  Block(7, 0, 0);
  head = 4;
  ChainCursor c = Cursor();
  ASSERT_EQ(c.Next(), ChainStep::kEntry);  // 4: unlinked, from the head
  c.Unlink();
  EXPECT_EQ(head, 5u);
  ASSERT_EQ(c.Next(), ChainStep::kEntry);
  EXPECT_EQ(c.unit(), 5u);
  EXPECT_EQ(c.link(), &head);
  ASSERT_EQ(c.Next(), ChainStep::kEntry);  // 6: unlinked, from the middle
  EXPECT_EQ(c.unit(), 6u);
  c.Unlink();
  EXPECT_EQ(r.entry(5)->next, 7u);
  ASSERT_EQ(c.Next(), ChainStep::kEntry);
  EXPECT_EQ(c.unit(), 7u);
  EXPECT_EQ(c.link(), &r.entry(5)->next);
  c.Unlink();  // the tail
  EXPECT_EQ(r.entry(5)->next, 0u);
  EXPECT_EQ(c.Next(), ChainStep::kEnd);
}

TEST_F(StoreChain, CutEndsTheChainAtTheBadLink) {
  Block(4, 0, 5);
  Block(5, 0, 40);
  Block(40, kClassCount, 6);  // not a block
  head = 4;
  ChainCursor c = Cursor();
  ChainStep last;
  EXPECT_EQ(Walk(c, &last).size(), 2u);
  ASSERT_EQ(last, ChainStep::kBadClass);
  c.Cut();
  EXPECT_EQ(r.entry(5)->next, 0u);
  EXPECT_EQ(c.Next(), ChainStep::kEnd);
  EXPECT_EQ(head, 4u);
  EXPECT_EQ(r.entry(4)->next, 5u);
}

}  // namespace
}  // namespace shm::test
