// Channel (src/msg/channel.h): Go's close semantics on the MPMC queue's bytes. Senders fail after
// the close, receivers drain and then see the end, every waiting party is woken by the close, and
// sender and receiver threads racing a close pass every message sent exactly once (also under
// ThreadSanitizer: npm run test:tsan).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "msg/channel.h"
#include "msg_test_util.h"

namespace L = shm::layout;
using msg_test::Block;
using msg_test::Me;
using shm::msg::Channel;
using shm::msg::Push;

TEST(Channel, CloseFailsSendsAndReceiversDrainThenSeeTheEnd) {
  Block b(Channel::BytesFor(4, 8));
  Channel ch;
  ASSERT_EQ(ch.Create(b.mem, b.size, 4, 8, 0xfffffffeu, Me()), L::kOk);
  uint32_t v = 0, tag = 0;
  EXPECT_EQ(ch.TryReceive(&v, 8, &tag), Channel::kEmpty);
  EXPECT_EQ(ch.Receive(&v, 8, &tag, 1'000'000), Channel::kEmpty);
  EXPECT_EQ(ch.TrySend("123456789", 9, 0), Push::kTooLarge);
  for (uint32_t i = 0; i < 4; ++i) ASSERT_EQ(ch.TrySend(&i, 4, L::kMsgTagBinary), Push::kOk);
  EXPECT_EQ(ch.TrySend(&v, 4, 0), Push::kFull);
  EXPECT_EQ(ch.Send(&v, 4, 0, 1'000'000), L::kErrQueueTimeout);
  EXPECT_FALSE(ch.closed());
  ASSERT_EQ(ch.Close(), L::kOk);
  EXPECT_TRUE(ch.closed());
  EXPECT_EQ(ch.Close(), L::kErrChannelClosed);
  EXPECT_EQ(ch.TrySend(&v, 4, 0), Push::kClosed);
  EXPECT_EQ(ch.Send(&v, 4, 0, -1), L::kErrChannelClosed);
  for (uint32_t i = 0; i < 4; ++i) {
    ASSERT_EQ(ch.Receive(&v, 8, &tag, -1), 4);
    EXPECT_EQ(v, i);
  }
  EXPECT_EQ(ch.TryReceive(&v, 8, &tag), Channel::kEnd);
  EXPECT_EQ(ch.Receive(&v, 8, &tag, -1), Channel::kEnd);
}

// A sender writes no record a receiver refuses as damage (as MpmcQueue's producers): refused before
// anything is claimed, open or closed.
TEST(Channel, TagsNoReaderTakesAreRefused) {
  Block b(Channel::BytesFor(4, 16));
  Channel ch;
  ASSERT_EQ(ch.Create(b.mem, b.size, 4, 16, 0, Me()), L::kOk);
  EXPECT_EQ(ch.TrySend("abc", 3, L::kMsgTagNumber + 1), Push::kInvalidArg);
  EXPECT_EQ(ch.TrySend("abcd", 4, L::kMsgTagNumber), Push::kInvalidArg);
  EXPECT_EQ(ch.TrySend("", 0, L::kMsgTagWrap), Push::kInvalidArg);
  EXPECT_EQ(ch.Send("abc", 3, 7, 1'000'000), L::kErrInvalidArg);
  char out[16];
  uint32_t tag = 0;
  EXPECT_EQ(ch.TryReceive(out, sizeof out, &tag), Channel::kEmpty);  // nothing was written
  const double x = 1.5;
  ASSERT_EQ(ch.TrySend(&x, sizeof x, L::kMsgTagNumber), Push::kOk);
  ASSERT_EQ(ch.TryReceive(out, sizeof out, &tag), 8);
  EXPECT_EQ(tag, L::kMsgTagNumber);
  double got = 0;
  std::memcpy(&got, out, sizeof got);
  EXPECT_EQ(got, 1.5);
  ASSERT_EQ(ch.Close(), L::kOk);
  EXPECT_EQ(ch.TrySend("abc", 3, 9), Push::kInvalidArg);
  EXPECT_EQ(ch.Send("abc", 3, 9, 1'000'000), L::kErrInvalidArg);
}

TEST(Channel, CloseWakesBlockedSendersAndReceivers) {
  Block b(Channel::BytesFor(2, 8));
  {
    Channel setup;
    ASSERT_EQ(setup.Create(b.mem, b.size, 2, 8, 0, Me()), L::kOk);
  }
  std::atomic<int64_t> received{0};
  std::thread receiver([&] {
    Channel ch;
    ASSERT_EQ(ch.Attach(b.mem, b.size, Me()), L::kOk);
    uint32_t v = 0, tag = 0;
    received = ch.Receive(&v, 8, &tag, -1);  // empty until the close: the end
  });
  // The receiver may still be spinning or asleep: either way the close must end its wait.
  Channel ch;
  ASSERT_EQ(ch.Attach(b.mem, b.size, Me()), L::kOk);
  ASSERT_EQ(ch.Close(), L::kOk);
  receiver.join();
  EXPECT_EQ(received.load(), Channel::kEnd);

  Block b2(Channel::BytesFor(2, 8));
  Channel full;
  ASSERT_EQ(full.Create(b2.mem, b2.size, 2, 8, 0, Me()), L::kOk);
  uint32_t v = 7;
  ASSERT_EQ(full.TrySend(&v, 4, 0), Push::kOk);
  ASSERT_EQ(full.TrySend(&v, 4, 0), Push::kOk);
  std::atomic<int> sent{-1};
  std::thread sender([&] {
    Channel ch2;
    ASSERT_EQ(ch2.Attach(b2.mem, b2.size, Me()), L::kOk);
    sent = ch2.Send(&v, 4, 0, -1);  // full until the close: fails
  });
  ASSERT_EQ(full.Close(), L::kOk);
  sender.join();
  EXPECT_EQ(sent.load(), L::kErrChannelClosed);
  uint32_t out = 0, tag = 0;
  EXPECT_EQ(full.Receive(&out, 8, &tag, -1), 4);
  EXPECT_EQ(full.Receive(&out, 8, &tag, -1), 4);
  EXPECT_EQ(full.Receive(&out, 8, &tag, -1), Channel::kEnd);
}

TEST(Channel, SendersRacingACloseDeliverEverySuccessfulSendExactlyOnce) {
  constexpr uint32_t kSenders = 3, kReceivers = 3, kMax = 200'000;
  Block b(Channel::BytesFor(32, 8));
  {
    Channel setup;
    ASSERT_EQ(setup.Create(b.mem, b.size, 32, 8, 0xffffff00u, Me()), L::kOk);
  }
  std::vector<std::atomic<uint8_t>> seen(kSenders * kMax);
  std::atomic<uint32_t> sent_total{0};
  std::atomic<uint64_t> sent_sum{0}, received_sum{0};
  std::atomic<uint32_t> received_total{0}, started{0};
  std::vector<std::thread> threads;
  for (uint32_t s = 0; s < kSenders; ++s) {
    threads.emplace_back([&, s] {
      Channel ch;
      ASSERT_EQ(ch.Attach(b.mem, b.size, Me()), L::kOk);
      started.fetch_add(1);
      for (uint32_t i = 0; i < kMax; ++i) {
        const uint32_t msg[2] = {s, i};
        const L::Status st = ch.Send(msg, sizeof msg, L::kMsgTagBinary, -1);
        if (st == L::kErrChannelClosed) return;
        ASSERT_EQ(st, L::kOk);
        sent_total.fetch_add(1);
        sent_sum.fetch_add(i);
      }
    });
  }
  for (uint32_t r = 0; r < kReceivers; ++r) {
    threads.emplace_back([&] {
      Channel ch;
      ASSERT_EQ(ch.Attach(b.mem, b.size, Me()), L::kOk);
      std::vector<int64_t> last(kSenders, -1);
      for (;;) {
        uint32_t msg[2], tag = 0;
        const int64_t n = ch.Receive(msg, sizeof msg, &tag, -1);
        if (n == Channel::kEnd) return;
        ASSERT_EQ(n, 8);
        ASSERT_GT(static_cast<int64_t>(msg[1]), last[msg[0]]);
        last[msg[0]] = msg[1];
        seen[msg[0] * kMax + msg[1]].fetch_add(1);
        received_sum.fetch_add(msg[1]);
        received_total.fetch_add(1);
      }
    });
  }
  // Close once some messages have flowed (whenever that is), with senders still sending.
  Channel closer;
  ASSERT_EQ(closer.Attach(b.mem, b.size, Me()), L::kOk);
  while (started.load() < kSenders || received_total.load() < 1000) std::this_thread::yield();
  ASSERT_EQ(closer.Close(), L::kOk);
  for (auto& t : threads) t.join();
  EXPECT_EQ(received_total.load(), sent_total.load());
  EXPECT_EQ(received_sum.load(), sent_sum.load());
  for (auto& s : seen) ASSERT_LE(s.load(), 1);
}
