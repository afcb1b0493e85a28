// MpmcQueue batches (src/msg/mpmc_batch.cpp): prefixes that fit, a message too large, order across
// the wrap of the 2^32 positions, the intent record back to idle after a claim and after a claim
// lost to a party that then died, and producer and consumer threads in batches passing numbered
// messages exactly once and in per-producer order (also under ThreadSanitizer: npm run
// test:tsan).
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "base/atomic.h"
#include "mpmc_test_util.h"
#include "msg/mpmc.h"
#include "msg_test_util.h"

namespace L = shm::layout;
using mpmc_test::IntentWord;
using mpmc_test::kRaceTrials;
using mpmc_test::LoseAClaimToAGoneParty;
using msg_test::Block;
using msg_test::ExitedPid;
using msg_test::Me;
using shm::msg::MpmcMessage;
using shm::msg::MpmcQueue;
using shm::msg::MpmcSlice;
using shm::msg::Push;

namespace {

// Messages holding the u32 values first..first+n-1 (4 bytes each), pointing into `store`.
std::vector<MpmcMessage> Numbers(std::vector<uint32_t>* store, uint32_t first, uint32_t n) {
  store->resize(n);
  std::vector<MpmcMessage> msgs(n);
  for (uint32_t i = 0; i < n; ++i) {
    (*store)[i] = first + i;
    msgs[i] = MpmcMessage{&(*store)[i], 4, L::kMsgTagBinary};
  }
  return msgs;
}

uint32_t ValueAt(const std::vector<uint8_t>& out, const MpmcSlice& s) {
  uint32_t v = 0;
  std::memcpy(&v, out.data() + s.offset, sizeof v);
  return v;
}

}  // namespace

TEST(MpmcBatch, PrefixesThatFitAndMessagesTooLarge) {
  Block b(MpmcQueue::BytesFor(8, 8));
  MpmcQueue q;
  ASSERT_EQ(q.Create(b.mem, b.size, 8, 8, 0, Me()), L::kOk);
  std::vector<uint32_t> store;
  auto msgs = Numbers(&store, 0, 10);
  uint32_t n = 99;
  EXPECT_EQ(q.TryEnqueueBatch(msgs.data(), 10, &n), L::kOk);
  EXPECT_EQ(n, 8u);  // the prefix that fits
  EXPECT_EQ(q.TryEnqueueBatch(msgs.data(), 1, &n), L::kOk);
  EXPECT_EQ(n, 0u);  // full
  EXPECT_EQ(q.EnqueueBatch(msgs.data(), 1, &n, 1'000'000), L::kErrQueueTimeout);
  EXPECT_EQ(n, 0u);
  // The intent record is idle again after each claim: roles 0 and extra 0.
  EXPECT_EQ(IntentWord(b.mem, q.owner_slot(), offsetof(L::MpmcIntent, roles)), 0u);
  EXPECT_EQ(IntentWord(b.mem, q.owner_slot(), offsetof(L::MpmcIntent, extra)), 0u);
  std::vector<uint8_t> out(3 * 8);
  std::vector<MpmcSlice> slices(8);
  // 24 bytes of `out`: each claim takes what is sure to fit in the rest at message_bytes() (8)
  // each: 3 (12 bytes used), then 1, 1 (20 used), then none.
  ASSERT_EQ(q.TryDequeueBatch(out.data(), out.size(), slices.data(), 8), 5u);
  for (uint32_t j = 0; j < 5; ++j) {
    EXPECT_EQ(slices[j].offset, 4u * j);
    EXPECT_EQ(slices[j].length, 4u);
    EXPECT_EQ(slices[j].tag, static_cast<uint32_t>(L::kMsgTagBinary));
    EXPECT_EQ(ValueAt(out, slices[j]), j);
  }
  out.resize(64);
  ASSERT_EQ(q.TryDequeueBatch(out.data(), out.size(), slices.data(), 2), 2u);  // max
  EXPECT_EQ(ValueAt(out, slices[1]), 6u);
  ASSERT_EQ(q.TryDequeueBatch(out.data(), out.size(), slices.data(), 8), 1u);
  EXPECT_EQ(ValueAt(out, slices[0]), 7u);
  EXPECT_EQ(q.TryDequeueBatch(out.data(), out.size(), slices.data(), 8), 0u);
  EXPECT_EQ(q.DequeueBatch(out.data(), out.size(), slices.data(), 8, 1'000'000), 0u);
  EXPECT_EQ(IntentWord(b.mem, q.owner_slot(), offsetof(L::MpmcIntent, extra)), 0u);
  // A message larger than message_bytes(): those before it are enqueued, it and the rest not.
  const char big[9] = "12345678";
  msgs[2] = MpmcMessage{big, 9, L::kMsgTagUtf8};
  EXPECT_EQ(q.TryEnqueueBatch(msgs.data(), 5, &n), L::kErrMessageTooLarge);
  EXPECT_EQ(n, 2u);
  ASSERT_EQ(q.TryDequeueBatch(out.data(), out.size(), slices.data(), 8), 2u);
  EXPECT_EQ(q.EnqueueBatch(msgs.data() + 2, 1, &n, -1), L::kErrMessageTooLarge);
  EXPECT_EQ(n, 0u);
}

TEST(MpmcBatch, WrapsAroundTwoToThe32) {
  Block b(MpmcQueue::BytesFor(16, 8));
  MpmcQueue q;
  ASSERT_EQ(q.Create(b.mem, b.size, 16, 8, 0xffffffe0u, Me()), L::kOk);
  std::vector<uint32_t> store;
  std::vector<uint8_t> out(16 * 8);
  std::vector<MpmcSlice> slices(16);
  uint32_t in = 0, next = 0;
  for (int round = 0; round < 200; ++round) {
    auto msgs = Numbers(&store, in, 1 + round % 13);
    uint32_t n = 0;
    ASSERT_EQ(q.TryEnqueueBatch(msgs.data(), static_cast<uint32_t>(msgs.size()), &n), L::kOk);
    in += n;
    const uint32_t got =
        q.TryDequeueBatch(out.data(), out.size(), slices.data(), 1 + (round * 5) % 16);
    for (uint32_t j = 0; j < got; ++j) ASSERT_EQ(ValueAt(out, slices[j]), next++);
  }
  for (uint32_t got; (got = q.TryDequeueBatch(out.data(), out.size(), slices.data(), 16)) > 0;) {
    for (uint32_t j = 0; j < got; ++j) ASSERT_EQ(ValueAt(out, slices[j]), next++);
  }
  EXPECT_EQ(in, next);
  EXPECT_GT(in, 64u);  // the positions went past 2^32
}

TEST(MpmcBatch, ThreadsPassBatchesExactlyOnceInPerProducerOrder) {
  constexpr uint32_t kProducers = 3, kConsumers = 2, kEach = 40'000, kBatch = 32;
  Block b(MpmcQueue::BytesFor(64, 8));
  {
    MpmcQueue setup;
    ASSERT_EQ(setup.Create(b.mem, b.size, 64, 8, 0xfffff000u, Me()), L::kOk);
  }
  std::vector<std::atomic<uint8_t>> seen(kProducers * kEach);
  std::atomic<uint32_t> received{0};
  std::atomic<uint64_t> sum{0};
  std::vector<std::thread> threads;
  for (uint32_t p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      MpmcQueue q;
      ASSERT_EQ(q.Attach(b.mem, b.size, Me()), L::kOk);
      std::vector<uint32_t> words(2 * kBatch);
      std::vector<MpmcMessage> msgs(kBatch);
      for (uint32_t i = 0, round = 0; i < kEach; ++round) {
        const uint32_t size = std::min(1 + (round * 7) % kBatch, kEach - i);
        for (uint32_t k = 0; k < size; ++k) {
          words[2 * k] = p;
          words[2 * k + 1] = i + k;
          msgs[k] = MpmcMessage{&words[2 * k], 8, L::kMsgTagBinary};
        }
        uint32_t n = 0;
        ASSERT_EQ(q.EnqueueBatch(msgs.data(), size, &n, -1), L::kOk);
        ASSERT_EQ(n, size);
        i += size;
      }
    });
  }
  for (uint32_t c = 0; c < kConsumers; ++c) {
    threads.emplace_back([&] {
      MpmcQueue q;
      ASSERT_EQ(q.Attach(b.mem, b.size, Me()), L::kOk);
      std::vector<int64_t> last(kProducers, -1);
      std::vector<uint8_t> out(kBatch * 8);
      std::vector<MpmcSlice> slices(kBatch);
      while (received.load() < kProducers * kEach) {
        const uint32_t got =
            q.DequeueBatch(out.data(), out.size(), slices.data(), kBatch, 20'000'000);
        for (uint32_t j = 0; j < got; ++j) {
          ASSERT_EQ(slices[j].length, 8u);
          uint32_t msg[2];
          std::memcpy(msg, out.data() + slices[j].offset, sizeof msg);
          ASSERT_LT(msg[0], kProducers);
          ASSERT_GT(static_cast<int64_t>(msg[1]), last[msg[0]]);
          last[msg[0]] = msg[1];
          seen[msg[0] * kEach + msg[1]].fetch_add(1);
          sum.fetch_add(msg[1]);
          received.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& s : seen) ASSERT_EQ(s.load(), 1);
  EXPECT_EQ(sum.load(), uint64_t{kProducers} * kEach * (kEach - 1) / 2);
}

// A producer whose claim lost its CAS and then found the queue full returned with its intent still
// naming the position the winner claimed; the winner died before publishing it, and as long as
// that live intent named the position no repair gave it up: consumers stopped at it and
// producers found the queue full for good.
TEST(MpmcBatch, AProducerThatLostItsClaimAndFoundTheQueueFullLeavesNoIntent) {
  constexpr uint32_t kCap = 4;
  Block b(MpmcQueue::BytesFor(kCap, 8));
  const shm::OwnerIdentity dead{ExitedPid(), 1, 0, 0};
  std::vector<uint32_t> store;
  auto msgs = Numbers(&store, 0, kCap);
  char out[8];
  int trial = 0;
  for (; trial < kRaceTrials; ++trial) {
    std::memset(b.mem, 0, b.size);
    MpmcQueue p, other, gone;
    ASSERT_EQ(p.Create(b.mem, b.size, kCap, 8, 0xfffffffeu, Me()), L::kOk);
    ASSERT_EQ(other.Attach(b.mem, b.size, Me()), L::kOk);
    ASSERT_EQ(gone.Attach(b.mem, b.size, dead), L::kOk);
    for (uint32_t i = 0; i + 1 < kCap; ++i) ASSERT_EQ(other.TryEnqueue("a", 1, 0), Push::kOk);
    uint32_t n = 99;
    L::Status status = L::kOk;
    if (!LoseAClaimToAGoneParty(b.mem, p, gone, L::kMpmcIntentProduce,
                                [&] { status = p.TryEnqueueBatch(msgs.data(), 1, &n); })) {
      continue;
    }
    ASSERT_EQ(status, L::kOk);
    ASSERT_EQ(n, 0u);  // full after the lost claim
    EXPECT_EQ(IntentWord(b.mem, p.owner_slot(), offsetof(L::MpmcIntent, roles)), 0u);
    EXPECT_EQ(IntentWord(b.mem, p.owner_slot(), offsetof(L::MpmcIntent, extra)), 0u);
    // The messages before the dead producer's slot, then its slot given up at the first look.
    for (uint32_t i = 0; i + 1 < kCap; ++i)
      ASSERT_EQ(other.TryDequeue(out, sizeof out, nullptr), 1);
    EXPECT_EQ(other.TryDequeue(out, sizeof out, nullptr), -1);
    EXPECT_EQ(other.skipped_writes(), 1u);
    // And the queue goes on.
    ASSERT_EQ(p.TryEnqueueBatch(msgs.data(), kCap, &n), L::kOk);
    ASSERT_EQ(n, kCap);
    std::vector<uint8_t> got(kCap * 8);
    std::vector<MpmcSlice> slices(kCap);
    ASSERT_EQ(other.TryDequeueBatch(got.data(), got.size(), slices.data(), kCap), kCap);
    for (uint32_t j = 0; j < kCap; ++j) EXPECT_EQ(ValueAt(got, slices[j]), j);
    break;
  }
  ASSERT_LT(trial, kRaceTrials) << "the racing claim never won";
}

// The same on the consumer side: a consumer whose claim lost its CAS and then found the queue
// empty kept naming the position the winner claimed; the winner died before releasing its slot,
// and producers found the queue full for good once they came round to it.
TEST(MpmcBatch, AConsumerThatLostItsClaimAndFoundTheQueueEmptyLeavesNoIntent) {
  constexpr uint32_t kCap = 4;
  Block b(MpmcQueue::BytesFor(kCap, 8));
  const shm::OwnerIdentity dead{ExitedPid(), 1, 0, 0};
  std::vector<uint8_t> got(kCap * 8);
  std::vector<MpmcSlice> slices(kCap);
  int trial = 0;
  for (; trial < kRaceTrials; ++trial) {
    std::memset(b.mem, 0, b.size);
    MpmcQueue c, other, gone;
    ASSERT_EQ(c.Create(b.mem, b.size, kCap, 8, 0xfffffffeu, Me()), L::kOk);
    ASSERT_EQ(other.Attach(b.mem, b.size, Me()), L::kOk);
    ASSERT_EQ(gone.Attach(b.mem, b.size, dead), L::kOk);
    ASSERT_EQ(other.TryEnqueue("a", 1, 0), Push::kOk);
    uint32_t n = 99;
    if (!LoseAClaimToAGoneParty(b.mem, c, gone, L::kMpmcIntentConsume, [&] {
          n = c.TryDequeueBatch(got.data(), got.size(), slices.data(), kCap);
        })) {
      continue;
    }
    ASSERT_EQ(n, 0u);  // empty after the lost claim
    ASSERT_FALSE(c.corrupt());
    EXPECT_EQ(IntentWord(b.mem, c.owner_slot(), offsetof(L::MpmcIntent, roles)), 0u);
    EXPECT_EQ(IntentWord(b.mem, c.owner_slot(), offsetof(L::MpmcIntent, extra)), 0u);
    // Producers fill the queue up to the dead consumer's slot, which the full queue's first look
    // releases (its message counted lost), and go on into it.
    std::vector<uint32_t> store;
    auto msgs = Numbers(&store, 0, kCap);
    for (uint32_t i = 0; i < kCap; ++i) {
      ASSERT_EQ(other.TryEnqueue(msgs[i].data, msgs[i].length, msgs[i].tag), Push::kOk) << i;
    }
    EXPECT_EQ(other.skipped_reads(), 1u);
    ASSERT_EQ(c.TryDequeueBatch(got.data(), got.size(), slices.data(), kCap), kCap);
    for (uint32_t j = 0; j < kCap; ++j) EXPECT_EQ(ValueAt(got, slices[j]), j);
    break;
  }
  ASSERT_LT(trial, kRaceTrials) << "the racing claim never won";
}
