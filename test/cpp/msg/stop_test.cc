// The `stop` of the blocking forms of the msg room (src/msg/spsc.h): a wait with no deadline that
// nobody ends (a consumer on an empty ring, a producer on a full one) gives up as at its deadline
// once `stop` says so, which another thread raises while it sleeps; a wait that can go on without
// sleeping never asks it.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "msg/channel.h"
#include "msg/mpmc.h"
#include "msg/spsc.h"
#include "msg_test_util.h"

namespace L = shm::layout;
using msg_test::Block;
using msg_test::Me;
using shm::msg::Channel;
using shm::msg::MpmcMessage;
using shm::msg::MpmcQueue;
using shm::msg::MpmcSlice;
using shm::msg::SpscRing;
using shm::msg::StopCheck;

namespace {

struct Flag {
  std::atomic<bool> raised{false};
  std::atomic<int> asked{0};
  StopCheck check() {
    return StopCheck{[](void* ctx) {
                       auto* f = static_cast<Flag*>(ctx);
                       f->asked.fetch_add(1);
                       return f->raised.load();
                     },
                     this};
  }
};

// Runs `wait` (a blocking call with no deadline) on a thread, raises the flag once the call has
// asked it (it sleeps between two askings), and returns what the call returned.
template <typename Wait>
auto StoppedWhileAsleep(Flag* flag, Wait wait) {
  decltype(wait()) result{};
  std::thread t([&] { result = wait(); });
  while (flag->asked.load() == 0) std::this_thread::yield();
  flag->raised.store(true);
  t.join();
  return result;
}

}  // namespace

TEST(MsgStop, SpscWaitsWithoutDeadlineEndWhenStopped) {
  Block b(SpscRing::BytesFor(64, 0));
  SpscRing r;
  ASSERT_EQ(r.Create(b.mem, b.size, 64, 0), L::kOk);
  uint8_t out[64];
  uint32_t tag = 0;
  Flag empty;
  EXPECT_EQ(StoppedWhileAsleep(&empty,
                               [&] { return r.Dequeue(out, sizeof out, &tag, -1, empty.check()); }),
            -1);
  const char big[28] = {};
  Flag never;  // room: the call does not sleep and never asks
  ASSERT_EQ(r.Enqueue(big, 28, L::kMsgTagBinary, -1, never.check()), L::kOk);
  ASSERT_EQ(r.Enqueue(big, 28, L::kMsgTagBinary, -1, never.check()), L::kOk);
  EXPECT_EQ(never.asked.load(), 0);
  Flag full;
  EXPECT_EQ(StoppedWhileAsleep(
                &full, [&] { return r.Enqueue(big, 28, L::kMsgTagBinary, -1, full.check()); }),
            L::kErrQueueTimeout);
  EXPECT_EQ(r.TryDequeue(out, sizeof out, &tag), 28);  // the ring is as it was
}

TEST(MsgStop, MpmcWaitsWithoutDeadlineEndWhenStopped) {
  Block b(MpmcQueue::BytesFor(4, 8));
  MpmcQueue q;
  ASSERT_EQ(q.Create(b.mem, b.size, 4, 8, 0, Me()), L::kOk);
  uint8_t out[4 * 8];
  uint32_t tag = 0;
  MpmcSlice slices[4];
  Flag empty, emptyBatch;
  EXPECT_EQ(StoppedWhileAsleep(&empty, [&] { return q.Dequeue(out, 8, &tag, -1, empty.check()); }),
            -1);
  EXPECT_EQ(StoppedWhileAsleep(
                &emptyBatch,
                [&] { return q.DequeueBatch(out, sizeof out, slices, 4, -1, emptyBatch.check()); }),
            0u);
  EXPECT_FALSE(q.corrupt());
  for (uint32_t i = 0; i < 4; ++i) ASSERT_EQ(q.Enqueue(&i, 4, L::kMsgTagBinary, -1), L::kOk);
  Flag full, fullBatch;
  const uint32_t v = 9;
  EXPECT_EQ(StoppedWhileAsleep(
                &full, [&] { return q.Enqueue(&v, 4, L::kMsgTagBinary, -1, full.check()); }),
            L::kErrQueueTimeout);
  const MpmcMessage m{&v, 4, L::kMsgTagBinary};
  uint32_t enqueued = 1;
  EXPECT_EQ(
      StoppedWhileAsleep(&fullBatch,
                         [&] { return q.EnqueueBatch(&m, 1, &enqueued, -1, fullBatch.check()); }),
      L::kErrQueueTimeout);
  EXPECT_EQ(enqueued, 0u);
  EXPECT_EQ(q.TryDequeue(out, 8, &tag), 4);
}

TEST(MsgStop, ChannelWaitsWithoutDeadlineEndWhenStopped) {
  Block b(Channel::BytesFor(2, 8));
  Channel ch;
  ASSERT_EQ(ch.Create(b.mem, b.size, 2, 8, 0, Me()), L::kOk);
  uint8_t out[8];
  uint32_t tag = 0;
  Flag empty;
  EXPECT_EQ(StoppedWhileAsleep(&empty, [&] { return ch.Receive(out, 8, &tag, -1, empty.check()); }),
            Channel::kEmpty);
  for (uint32_t i = 0; i < 2; ++i) ASSERT_EQ(ch.Send(&i, 4, L::kMsgTagBinary, -1), L::kOk);
  Flag full;
  const uint32_t v = 9;
  EXPECT_EQ(
      StoppedWhileAsleep(&full, [&] { return ch.Send(&v, 4, L::kMsgTagBinary, -1, full.check()); }),
      L::kErrQueueTimeout);
  EXPECT_FALSE(ch.closed());
}
