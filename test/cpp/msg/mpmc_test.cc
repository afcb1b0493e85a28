// MpmcQueue (src/msg/mpmc.h): shapes, full/empty edges, wrap-around of the 2^32 positions, many
// producer and consumer threads passing numbered messages exactly once and in per-producer order
// (also under ThreadSanitizer: npm run test:tsan), the slots of parties that are gone, and the
// intent of a claim that lost its CAS and then met damage.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "base/atomic.h"
#include "mpmc_test_util.h"
#include "msg/mpmc.h"
#include "msg/mpmc_words.h"
#include "msg_test_util.h"

namespace L = shm::layout;
using mpmc_test::IntentWord;
using mpmc_test::kRaceTrials;
using mpmc_test::LoseAClaimToAGoneParty;
using mpmc_test::SeqAt;
using msg_test::Block;
using msg_test::ExitedPid;
using msg_test::Me;
using shm::msg::MpmcQueue;
using shm::msg::Push;
using shm::msg::mpmc_words::SeqOf;

namespace {

uint32_t* ControlWord(uint8_t* base, size_t offset) {
  return reinterpret_cast<uint32_t*>(base + L::kMpmcControlOffset + offset);
}

// A party of process `pid` whose intent names `pos` (and `extra` positions after it, a batch)
// for `role` (as one killed mid-operation); its owner slot in *slot when given.
void Party(uint8_t* base, uint32_t pid, uint32_t role, uint32_t pos, uint32_t extra = 0,
           uint32_t* slot = nullptr) {
  auto* owners = reinterpret_cast<L::Owner*>(base + L::kMpmcOwnersOffset);
  const shm::OwnerIdentity id = shm::IdentityOf(pid, 1);
  const uint32_t o = shm::ClaimOwnerSlot(owners, id, L::kMpmcOwnerSlots);
  ASSERT_NE(o, 0u);
  if (slot != nullptr) *slot = o;
  auto* intent = reinterpret_cast<L::MpmcIntent*>(base + L::kMpmcIntentsOffset) + o;
  if (role == L::kMpmcIntentProduce)
    intent->producePos = pos;
  else
    intent->consumePos = pos;
  intent->extra = extra;
  intent->roles = role;
}

// Claims every free owner slot for live owners (threads of this process).
void FillOwnerTable(uint8_t* base) {
  auto* owners = reinterpret_cast<L::Owner*>(base + L::kMpmcOwnersOffset);
  const shm::OwnerIdentity live{static_cast<uint32_t>(getpid()), 2, 0, 0};
  while (shm::ClaimOwnerSlot(owners, live, L::kMpmcOwnerSlots) != 0) {
  }
}

void StopNaming(uint8_t* base, uint32_t owner) {
  auto* intent = reinterpret_cast<L::MpmcIntent*>(base + L::kMpmcIntentsOffset) + owner;
  shm::AtomicStore(&intent->roles, 0);
}

}  // namespace

TEST(MpmcQueue, ShapesAndEdges) {
  EXPECT_TRUE(MpmcQueue::ValidShape(2, 1));
  EXPECT_FALSE(MpmcQueue::ValidShape(1, 8));
  EXPECT_FALSE(MpmcQueue::ValidShape(6, 8));
  EXPECT_FALSE(MpmcQueue::ValidShape(1u << 29, 8));
  EXPECT_FALSE(MpmcQueue::ValidShape(4, 0));
  EXPECT_FALSE(MpmcQueue::ValidShape(4, (1u << 20) + 1));
  EXPECT_EQ(MpmcQueue::BytesFor(4, 9), L::kMpmcSlotsOffset + 4 * 24);
  Block b(MpmcQueue::BytesFor(4, 16));
  MpmcQueue q;
  EXPECT_EQ(q.Attach(b.mem, b.size, Me()), L::kErrBadMagic);
  ASSERT_EQ(q.Create(b.mem, b.size, 4, 16, 0, Me()), L::kOk);
  char out[16];
  uint32_t tag = 0;
  EXPECT_EQ(q.TryDequeue(out, sizeof out, &tag), -1);
  EXPECT_EQ(q.TryEnqueue("0123456789abcdefg", 17, 0), Push::kTooLarge);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(q.TryEnqueue(&i, 4, L::kMsgTagBinary), Push::kOk);
  EXPECT_EQ(q.TryEnqueue("x", 1, 0), Push::kFull);
  EXPECT_EQ(q.Enqueue("x", 1, 0, 1'000'000), L::kErrQueueTimeout);
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(q.TryDequeue(out, sizeof out, &tag), 4);
    int v = 0;
    std::memcpy(&v, out, 4);
    EXPECT_EQ(v, i);
  }
  EXPECT_EQ(q.Dequeue(out, sizeof out, &tag, 1'000'000), -1);
}

// The producer writes no record a reader refuses as damage (as SpscRing's): a tag above the
// number tag (a wrap marker's among them) or a number record of another length than 8 is refused
// by every enqueue form, nothing written; a batch enqueues the messages before it.
TEST(MpmcQueue, TagsNoReaderTakesAreRefused) {
  Block b(MpmcQueue::BytesFor(4, 16));
  MpmcQueue q;
  ASSERT_EQ(q.Create(b.mem, b.size, 4, 16, 0, Me()), L::kOk);
  EXPECT_EQ(q.TryEnqueue("abc", 3, L::kMsgTagNumber + 1), Push::kInvalidArg);
  EXPECT_EQ(q.TryEnqueue("abcd", 4, L::kMsgTagNumber), Push::kInvalidArg);
  EXPECT_EQ(q.TryEnqueue("abcd", 4, L::kMsgTagWrap), Push::kInvalidArg);
  EXPECT_EQ(q.TryEnqueue("", 0, L::kMsgTagWrap), Push::kInvalidArg);
  // The blocking forms refuse it at once (finite timeouts: a queue that took it would fill).
  EXPECT_EQ(q.Enqueue("abc", 3, 7, 1'000'000), L::kErrInvalidArg);
  EXPECT_EQ(*ControlWord(b.mem, offsetof(L::MpmcControl, tail)), 0u);  // nothing claimed
  const shm::msg::MpmcMessage msgs[] = {
      {"a", 1, L::kMsgTagUtf8}, {"b", 1, L::kMsgTagUtf8}, {"c", 1, 9}, {"d", 1, L::kMsgTagUtf8}};
  uint32_t n = 7;
  EXPECT_EQ(q.TryEnqueueBatch(msgs, 4, &n), L::kErrInvalidArg);
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(q.EnqueueBatch(msgs + 2, 2, &n, 1'000'000), L::kErrInvalidArg);
  EXPECT_EQ(n, 0u);
  const double v = 2.5;
  ASSERT_EQ(q.TryEnqueue(&v, sizeof v, L::kMsgTagNumber), Push::kOk);
  char out[16];
  uint32_t tag = 0;
  for (const char* want : {"a", "b"}) {
    ASSERT_EQ(q.TryDequeue(out, sizeof out, &tag), 1);
    EXPECT_EQ(out[0], want[0]);
  }
  ASSERT_EQ(q.TryDequeue(out, sizeof out, &tag), 8);
  EXPECT_EQ(tag, L::kMsgTagNumber);
  EXPECT_EQ(q.TryDequeue(out, sizeof out, &tag), -1);
  EXPECT_FALSE(q.corrupt());
}

// A slot's sequence word ahead of the index that names its position is damage (format.md §15,
// "Damage"): every form, single, batch, blocking, channel, returns its corrupt answer at once
// instead of loading the index again for ever.
TEST(MpmcQueue, DamagedSequenceWordIsReportedNotSpunOn) {
  Block b(MpmcQueue::BytesFor(4, 16));
  MpmcQueue q;
  ASSERT_EQ(q.Create(b.mem, b.size, 4, 16, 0, Me()), L::kOk);
  auto* seq0 = reinterpret_cast<uint32_t*>(b.mem + L::kMpmcSlotsOffset);
  const uint32_t sound = *seq0;
  *seq0 = 999;  // slot 0 claims a position far ahead of tail 0
  EXPECT_EQ(q.TryEnqueue("x", 1, 0), Push::kCorrupt);
  EXPECT_TRUE(q.corrupt());
  EXPECT_EQ(q.Enqueue("x", 1, 0, -1), L::kErrCorrupt);
  const shm::msg::MpmcMessage m{"x", 1, 0};
  uint32_t n = 7;
  EXPECT_EQ(q.TryEnqueueBatch(&m, 1, &n), L::kErrCorrupt);
  EXPECT_EQ(n, 0u);
  *seq0 = sound;
  ASSERT_EQ(q.TryEnqueue("y", 1, 0), Push::kOk);
  *seq0 = 999;  // now ahead of head 0
  char out[16];
  uint32_t tag = 0;
  EXPECT_EQ(q.TryDequeue(out, sizeof out, &tag), MpmcQueue::kCorrupt);
  EXPECT_EQ(q.Dequeue(out, sizeof out, &tag, -1), MpmcQueue::kCorrupt);
  std::vector<char> buf(64);
  std::vector<shm::msg::MpmcSlice> slices(4);
  MpmcQueue fresh;
  ASSERT_EQ(fresh.Attach(b.mem, b.size, Me()), L::kOk);
  EXPECT_EQ(fresh.DequeueBatch(buf.data(), buf.size(), slices.data(), 4, -1), 0u);
  EXPECT_TRUE(fresh.corrupt());
  fresh.Detach();
}

TEST(MpmcQueue, WrapsAroundTwoToThe32) {
  Block b(MpmcQueue::BytesFor(4, 8));
  MpmcQueue q;
  ASSERT_EQ(q.Create(b.mem, b.size, 4, 8, 0xfffffff9u, Me()), L::kOk);
  uint32_t in = 0, out_n = 0;
  for (int round = 0; round < 100; ++round) {
    for (int k = 0; k < round % 6; ++k) {
      if (q.TryEnqueue(&in, 4, 0) == Push::kOk) ++in;
    }
    uint32_t v = 0, tag = 0;
    while (q.TryDequeue(&v, 8, &tag) >= 0) ASSERT_EQ(v, out_n++);
  }
  EXPECT_EQ(in, out_n);
  EXPECT_LT(*ControlWord(b.mem, offsetof(L::MpmcControl, tail)), 1000u);
}

TEST(MpmcQueue, ThreadsPassMessagesExactlyOnceInPerProducerOrder) {
  constexpr uint32_t kProducers = 3, kConsumers = 3, kEach = 60'000;
  Block b(MpmcQueue::BytesFor(64, 8));
  {
    MpmcQueue setup;
    ASSERT_EQ(setup.Create(b.mem, b.size, 64, 8, 0xffff0000u, Me()), L::kOk);
  }
  std::vector<std::atomic<uint8_t>> seen(kProducers * kEach);
  std::atomic<uint32_t> received{0};
  std::atomic<uint64_t> sum{0};
  std::vector<std::thread> threads;
  for (uint32_t p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      MpmcQueue q;
      ASSERT_EQ(q.Attach(b.mem, b.size, Me()), L::kOk);
      for (uint32_t i = 0; i < kEach; ++i) {
        const uint32_t msg[2] = {p, i};
        ASSERT_EQ(q.Enqueue(msg, sizeof msg, L::kMsgTagBinary, -1), L::kOk);
      }
    });
  }
  for (uint32_t c = 0; c < kConsumers; ++c) {
    threads.emplace_back([&] {
      MpmcQueue q;
      ASSERT_EQ(q.Attach(b.mem, b.size, Me()), L::kOk);
      std::vector<int64_t> last(kProducers, -1);
      while (received.load() < kProducers * kEach) {
        uint32_t msg[2], tag = 0;
        if (q.Dequeue(msg, sizeof msg, &tag, 20'000'000) < 0) continue;
        ASSERT_LT(msg[0], kProducers);
        ASSERT_GT(static_cast<int64_t>(msg[1]), last[msg[0]]);
        last[msg[0]] = msg[1];
        seen[msg[0] * kEach + msg[1]].fetch_add(1);
        sum.fetch_add(msg[1]);
        received.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& s : seen) ASSERT_EQ(s.load(), 1);
  EXPECT_EQ(sum.load(), uint64_t{kProducers} * kEach * (kEach - 1) / 2);
}

TEST(MpmcQueue, SlotOfAGoneProducerIsGivenUpAndOfAGoneConsumerReleased) {
  Block b(MpmcQueue::BytesFor(2, 8));
  MpmcQueue q;
  ASSERT_EQ(q.Create(b.mem, b.size, 2, 8, 0, Me()), L::kOk);
  uint32_t* tail = ControlWord(b.mem, offsetof(L::MpmcControl, tail));
  uint32_t* head = ControlWord(b.mem, offsetof(L::MpmcControl, head));
  // A producer that claimed position 0 and died: the consumer skips it.
  Party(b.mem, ExitedPid(), L::kMpmcIntentProduce, 0);
  *tail = 1;
  ASSERT_EQ(q.TryEnqueue("a", 1, L::kMsgTagUtf8), Push::kOk);
  char out[8];
  uint32_t tag = 0;
  ASSERT_EQ(q.Dequeue(out, sizeof out, &tag, 5'000'000'000), 1);
  EXPECT_EQ(out[0], 'a');
  EXPECT_EQ(q.skipped_writes(), 1u);
  // A consumer that claimed position 2 and died holding its message: producers reuse the slot.
  ASSERT_EQ(q.TryEnqueue("b", 1, L::kMsgTagUtf8), Push::kOk);
  ASSERT_EQ(q.TryEnqueue("c", 1, L::kMsgTagUtf8), Push::kOk);
  Party(b.mem, ExitedPid(), L::kMpmcIntentConsume, *head);
  *head += 1;
  ASSERT_EQ(q.Enqueue("d", 1, L::kMsgTagUtf8, 5'000'000'000), L::kOk);
  EXPECT_EQ(q.skipped_reads(), 1u);
  ASSERT_EQ(q.TryDequeue(out, sizeof out, &tag), 1);
  EXPECT_EQ(out[0], 'c');
  ASSERT_EQ(q.TryDequeue(out, sizeof out, &tag), 1);
  EXPECT_EQ(out[0], 'd');
  // A live claimer (this process) is never finished for.
  Party(b.mem, static_cast<uint32_t>(getpid()), L::kMpmcIntentProduce, *tail);
  *tail += 1;
  EXPECT_EQ(q.Dequeue(out, sizeof out, &tag, 200'000'000), -1);
  EXPECT_EQ(q.skipped_writes(), 1u);
}

// A JS batch claims several positions with one CAS and names them all in its intent (extra):
// the C++ repair finishes every slot of a gone party's batch in one pass.
TEST(MpmcQueue, BatchOfAGoneProducerOrConsumerIsFinishedWhole) {
  Block b(MpmcQueue::BytesFor(8, 8));
  MpmcQueue q;
  ASSERT_EQ(q.Create(b.mem, b.size, 8, 8, 0, Me()), L::kOk);
  uint32_t* tail = ControlWord(b.mem, offsetof(L::MpmcControl, tail));
  uint32_t* head = ControlWord(b.mem, offsetof(L::MpmcControl, head));
  // A producer that claimed positions 0..2 with one CAS and died before publishing any.
  Party(b.mem, ExitedPid(), L::kMpmcIntentProduce, 0, 2);
  *tail = 3;
  EXPECT_EQ(q.RepairStuck(), 3);
  EXPECT_EQ(q.skipped_writes(), 3u);
  ASSERT_EQ(q.TryEnqueue("a", 1, L::kMsgTagUtf8), Push::kOk);
  char out[8];
  uint32_t tag = 0;
  ASSERT_EQ(q.TryDequeue(out, sizeof out, &tag), 1);
  EXPECT_EQ(out[0], 'a');
  // A consumer that claimed 8 full slots with one CAS and died holding them: the producers get
  // every slot back.
  for (int i = 0; i < 8; ++i) ASSERT_EQ(q.TryEnqueue("b", 1, L::kMsgTagUtf8), Push::kOk);
  EXPECT_EQ(q.TryEnqueue("c", 1, L::kMsgTagUtf8), Push::kFull);
  Party(b.mem, ExitedPid(), L::kMpmcIntentConsume, *head, 7);
  *head += 8;
  EXPECT_EQ(q.RepairStuck(), 8);
  EXPECT_EQ(q.skipped_reads(), 8u);
  for (int i = 0; i < 8; ++i) ASSERT_EQ(q.TryEnqueue("d", 1, L::kMsgTagUtf8), Push::kOk);
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(q.TryDequeue(out, sizeof out, &tag), 1);
    EXPECT_EQ(out[0], 'd');
  }
}

// An opener that finds the owner table full takes over a gone owner's record, which zeroes its
// intent: the one thing that names a slot it claimed and left unfinished. So the record is taken
// only once those positions are finished; while a live party that lost the CAS of the same
// position still names it (which holds back the repair), the record stays and the opener is
// refused, rather than leaving a slot that no repair could ever finish.
TEST(MpmcQueue, AFullTableAdoptsAGoneOwnerOnlyOnceWhatItsIntentNamesIsFinished) {
  char out[8];
  {  // A producer gone before publishing its position.
    Block b(MpmcQueue::BytesFor(4, 8));
    MpmcQueue q;
    ASSERT_EQ(q.Create(b.mem, b.size, 4, 8, 0, Me()), L::kOk);
    uint32_t* tail = ControlWord(b.mem, offsetof(L::MpmcControl, tail));
    ASSERT_EQ(q.TryEnqueue("a", 1, L::kMsgTagUtf8), Push::kOk);
    uint32_t loser = 0;
    Party(b.mem, ExitedPid(), L::kMpmcIntentProduce, *tail);
    Party(b.mem, static_cast<uint32_t>(getpid()), L::kMpmcIntentProduce, *tail, 0, &loser);
    *tail += 1;
    ASSERT_EQ(q.TryEnqueue("b", 1, L::kMsgTagUtf8), Push::kOk);
    FillOwnerTable(b.mem);
    MpmcQueue late;
    EXPECT_EQ(late.Attach(b.mem, b.size, Me()), L::kErrTooManyHandles);
    EXPECT_EQ(q.skipped_writes(), 0u);
    StopNaming(b.mem, loser);
    ASSERT_EQ(late.Attach(b.mem, b.size, Me()), L::kOk);
    EXPECT_EQ(q.skipped_writes(), 1u);
    ASSERT_EQ(late.TryDequeue(out, sizeof out, nullptr), 1);
    EXPECT_EQ(out[0], 'a');
    ASSERT_EQ(late.TryDequeue(out, sizeof out, nullptr), 1);
    EXPECT_EQ(out[0], 'b');
  }
  {  // A consumer gone before releasing its position.
    Block b(MpmcQueue::BytesFor(2, 8));
    MpmcQueue q;
    ASSERT_EQ(q.Create(b.mem, b.size, 2, 8, 0, Me()), L::kOk);
    uint32_t* head = ControlWord(b.mem, offsetof(L::MpmcControl, head));
    ASSERT_EQ(q.TryEnqueue("a", 1, L::kMsgTagUtf8), Push::kOk);
    ASSERT_EQ(q.TryEnqueue("b", 1, L::kMsgTagUtf8), Push::kOk);
    uint32_t loser = 0;
    Party(b.mem, ExitedPid(), L::kMpmcIntentConsume, *head);
    Party(b.mem, static_cast<uint32_t>(getpid()), L::kMpmcIntentConsume, *head, 0, &loser);
    *head += 1;
    FillOwnerTable(b.mem);
    MpmcQueue late;
    EXPECT_EQ(late.Attach(b.mem, b.size, Me()), L::kErrTooManyHandles);
    EXPECT_EQ(q.skipped_reads(), 0u);
    StopNaming(b.mem, loser);
    ASSERT_EQ(late.Attach(b.mem, b.size, Me()), L::kOk);
    EXPECT_EQ(q.skipped_reads(), 1u);
    ASSERT_EQ(late.TryEnqueue("c", 1, L::kMsgTagUtf8), Push::kOk);  // into the released slot
    ASSERT_EQ(q.TryDequeue(out, sizeof out, nullptr), 1);
    EXPECT_EQ(out[0], 'b');
    ASSERT_EQ(q.TryDequeue(out, sizeof out, nullptr), 1);
    EXPECT_EQ(out[0], 'c');
  }
}

// A gone owner's intent left naming pos - 2^30, whose sequence word is the one of pos (4 * pos
// modulo 2^32) in the same slot, while a live producer holds pos: adopting the record finishes
// nothing (the position is not within a lap behind the tail).
TEST(MpmcQueue, AStaleIntentAPositionOf2To30BehindGivesUpNothing) {
  char out[8];
  Block b(MpmcQueue::BytesFor(4, 8));
  MpmcQueue q;
  ASSERT_EQ(q.Create(b.mem, b.size, 4, 8, 0, Me()), L::kOk);
  uint32_t* tail = ControlWord(b.mem, offsetof(L::MpmcControl, tail));
  ASSERT_EQ(q.TryEnqueue("a", 1, L::kMsgTagUtf8), Push::kOk);
  const uint32_t pos = *tail;
  Party(b.mem, static_cast<uint32_t>(getpid()), L::kMpmcIntentProduce, pos);
  *tail += 1;  // the live producer claimed pos and is writing it
  Party(b.mem, ExitedPid(), L::kMpmcIntentProduce, pos - (1u << 30));
  FillOwnerTable(b.mem);
  MpmcQueue late;
  ASSERT_EQ(late.Attach(b.mem, b.size, Me()), L::kOk);
  EXPECT_EQ(q.skipped_writes(), 0u);
  ASSERT_EQ(late.TryDequeue(out, sizeof out, nullptr), 1);
  EXPECT_EQ(out[0], 'a');
  EXPECT_EQ(late.TryDequeue(out, sizeof out, nullptr), -1);  // empty: pos is still its producer's
}

// A producer whose claim lost its CAS to a party that then died, and that then found the slot at
// the new tail damaged, reported the damage with its intent still naming the position the winner
// claimed: as long as that live intent named it, no repair gave it up, and the queue stopped at
// it even once the damage was mended (this producer claims nothing after it).
TEST(MpmcQueue, AProducerThatLostItsClaimAndMetDamageLeavesNoIntent) {
  constexpr uint32_t kCap = 4;
  constexpr uint32_t kBytes = 8;
  Block b(MpmcQueue::BytesFor(kCap, kBytes));
  const shm::OwnerIdentity dead{ExitedPid(), 1, 0, 0};
  char out[kBytes];
  int trial = 0;
  for (; trial < kRaceTrials; ++trial) {
    std::memset(b.mem, 0, b.size);
    MpmcQueue p, other, gone;
    const uint32_t start = 0xfffffffeu;
    ASSERT_EQ(p.Create(b.mem, b.size, kCap, kBytes, start, Me()), L::kOk);
    ASSERT_EQ(other.Attach(b.mem, b.size, Me()), L::kOk);
    ASSERT_EQ(gone.Attach(b.mem, b.size, dead), L::kOk);
    // The slot after the one raced for is damaged: a state no party writes.
    uint32_t* next = SeqAt(b.mem, kCap, kBytes, start + 1);
    shm::AtomicStore(next, SeqOf(start + 1, 3));
    Push r = Push::kFull;
    if (!LoseAClaimToAGoneParty(b.mem, p, gone, L::kMpmcIntentProduce,
                                [&] { r = p.TryEnqueue("x", 1, L::kMsgTagUtf8); })) {
      continue;
    }
    ASSERT_EQ(r, Push::kCorrupt);
    EXPECT_EQ(IntentWord(b.mem, p.owner_slot(), offsetof(L::MpmcIntent, roles)), 0u);
    EXPECT_EQ(IntentWord(b.mem, p.owner_slot(), offsetof(L::MpmcIntent, extra)), 0u);
    // The damage mended, another party's first look gives the dead producer's position up.
    shm::AtomicStore(next, SeqOf(start + 1, 0));
    ASSERT_EQ(other.TryEnqueue("a", 1, L::kMsgTagUtf8), Push::kOk);
    EXPECT_EQ(other.TryDequeue(out, sizeof out, nullptr), 1);
    EXPECT_EQ(out[0], 'a');
    EXPECT_EQ(other.skipped_writes(), 1u);
    break;
  }
  ASSERT_LT(trial, kRaceTrials) << "the racing claim never won";
}

// The same on the consumer side: a consumer that lost its claim to a party that then died and
// then met damage kept naming the winner's position; producers coming round to that slot found
// the queue full for good.
TEST(MpmcQueue, AConsumerThatLostItsClaimAndMetDamageLeavesNoIntent) {
  constexpr uint32_t kCap = 4;
  constexpr uint32_t kBytes = 8;
  Block b(MpmcQueue::BytesFor(kCap, kBytes));
  const shm::OwnerIdentity dead{ExitedPid(), 1, 0, 0};
  char out[kBytes];
  int trial = 0;
  for (; trial < kRaceTrials; ++trial) {
    std::memset(b.mem, 0, b.size);
    MpmcQueue c, other, gone;
    const uint32_t start = 0xfffffffeu;
    ASSERT_EQ(c.Create(b.mem, b.size, kCap, kBytes, start, Me()), L::kOk);
    ASSERT_EQ(other.Attach(b.mem, b.size, Me()), L::kOk);
    ASSERT_EQ(gone.Attach(b.mem, b.size, dead), L::kOk);
    ASSERT_EQ(other.TryEnqueue("a", 1, L::kMsgTagUtf8), Push::kOk);
    ASSERT_EQ(other.TryEnqueue("b", 1, L::kMsgTagUtf8), Push::kOk);
    uint32_t* next = SeqAt(b.mem, kCap, kBytes, start + 1);
    shm::AtomicStore(next, SeqOf(start + 1, 3));  // damaged: a state no party writes
    int64_t n = 0;
    if (!LoseAClaimToAGoneParty(b.mem, c, gone, L::kMpmcIntentConsume,
                                [&] { n = c.TryDequeue(out, sizeof out, nullptr); })) {
      continue;
    }
    ASSERT_EQ(n, MpmcQueue::kCorrupt);
    EXPECT_EQ(IntentWord(b.mem, c.owner_slot(), offsetof(L::MpmcIntent, roles)), 0u);
    EXPECT_EQ(IntentWord(b.mem, c.owner_slot(), offsetof(L::MpmcIntent, extra)), 0u);
    // The damage mended, producers fill the queue up to the dead consumer's slot, which the full
    // queue's first look releases (its message counted lost), and go on into it.
    shm::AtomicStore(next, SeqOf(start + 1, L::kMpmcSeqFull));
    ASSERT_EQ(other.TryEnqueue("c", 1, L::kMsgTagUtf8), Push::kOk);
    ASSERT_EQ(other.TryEnqueue("d", 1, L::kMsgTagUtf8), Push::kOk);
    EXPECT_EQ(other.TryEnqueue("e", 1, L::kMsgTagUtf8), Push::kOk);
    EXPECT_EQ(other.skipped_reads(), 1u);
    for (const char want : {'b', 'c', 'd', 'e'}) {
      ASSERT_EQ(other.TryDequeue(out, sizeof out, nullptr), 1);
      EXPECT_EQ(out[0], want);
    }
    break;
  }
  ASSERT_LT(trial, kRaceTrials) << "the racing claim never won";
}
