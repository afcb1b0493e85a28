// SpscRing (src/msg/spsc.h): shapes, full/empty edges, wrap-around of the 2^32 positions, and a
// producer and a consumer thread passing numbered messages exactly once and in order (also run
// under ThreadSanitizer: npm run test:tsan).
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "base/atomic.h"
#include "msg/spsc.h"
#include "msg_test_util.h"

namespace L = shm::layout;
using shm::msg::Push;
using shm::msg::SpscRing;

using msg_test::Block;

TEST(SpscRing, ShapesAndHeader) {
  EXPECT_TRUE(SpscRing::ValidShape(64, 0));
  EXPECT_FALSE(SpscRing::ValidShape(32, 0));
  EXPECT_FALSE(SpscRing::ValidShape(100, 0));
  EXPECT_FALSE(SpscRing::ValidShape(1u << 31, 0));
  EXPECT_TRUE(SpscRing::ValidShape(2, 8));
  EXPECT_FALSE(SpscRing::ValidShape(1, 8));
  EXPECT_FALSE(SpscRing::ValidShape(4, 65537));
  EXPECT_EQ(SpscRing::BytesFor(1024, 0), L::kSpscDataOffset + 1024);
  EXPECT_EQ(SpscRing::BytesFor(16, 8), L::kSpscDataOffset + 128);

  Block b(SpscRing::BytesFor(256, 0));
  SpscRing r;
  EXPECT_EQ(r.Attach(b.mem, b.size), L::kErrBadMagic);  // zero bytes: not created
  EXPECT_EQ(r.Create(b.mem, b.size - 1, 256, 0), L::kErrBadSize);
  EXPECT_EQ(r.Create(b.mem, b.size, 100, 0), L::kErrInvalidArg);
  ASSERT_EQ(r.Create(b.mem, b.size, 256, 0), L::kOk);
  const auto* h = reinterpret_cast<const L::MsgHeader*>(b.mem);
  EXPECT_EQ(h->magic, L::kMsgMagic);
  EXPECT_EQ(h->kind, L::kMsgKindSpsc);
  EXPECT_EQ(h->capacity, 256u);
  EXPECT_EQ(r.max_message(), 124u);
  SpscRing other;
  EXPECT_EQ(other.Attach(b.mem, b.size), L::kOk);
}

// A ring has its own format version (format.md §15, "Version history"): version 2, whose sleeping
// flags count sleeps. A ring whose header says version 1 (flags of 1 and 0) is never attached, so
// that a party of each version never shares one; nor is any other version.
TEST(SpscRing, RingOfVersionOneIsRefused) {
  static_assert(L::kMsgSpscVersion == 2);
  Block b(SpscRing::BytesFor(256, 0));
  SpscRing r;
  ASSERT_EQ(r.Create(b.mem, b.size, 256, 0), L::kOk);
  auto* h = reinterpret_cast<L::MsgHeader*>(b.mem);
  EXPECT_EQ(h->version, L::kMsgSpscVersion);
  for (uint32_t version : {1u, 3u, 0u}) {
    shm::AtomicStore(&h->version, version);
    SpscRing other;
    EXPECT_EQ(other.Attach(b.mem, b.size), L::kErrBadVersion) << "version " << version;
  }
  shm::AtomicStore(&h->version, L::kMsgSpscVersion);
  SpscRing again;
  EXPECT_EQ(again.Attach(b.mem, b.size), L::kOk);
}

TEST(SpscRing, FullEmptyAndTooLarge) {
  Block b(SpscRing::BytesFor(64, 0));
  SpscRing r;
  ASSERT_EQ(r.Create(b.mem, b.size, 64, 0), L::kOk);
  uint8_t out[64];
  uint32_t tag = 0;
  EXPECT_EQ(r.TryDequeue(out, sizeof out, &tag), -1);
  const char big[29] = {};
  EXPECT_EQ(r.TryEnqueue(big, 29, L::kMsgTagBinary), Push::kTooLarge);
  EXPECT_EQ(r.TryEnqueue(big, 28, L::kMsgTagBinary), Push::kOk);  // 32 bytes: half the ring
  EXPECT_EQ(r.TryEnqueue(big, 28, L::kMsgTagBinary), Push::kOk);
  EXPECT_EQ(r.TryEnqueue("x", 1, L::kMsgTagUtf8), Push::kFull);
  EXPECT_EQ(r.TryDequeue(out, 4, &tag), 28);  // too small a buffer: left in place
  EXPECT_EQ(r.TryDequeue(out, sizeof out, &tag), 28);
  EXPECT_EQ(r.TryEnqueue("x", 1, L::kMsgTagUtf8), Push::kOk);
  EXPECT_EQ(r.Enqueue(big, 28, L::kMsgTagBinary, 1'000'000), L::kErrQueueTimeout);
  EXPECT_EQ(r.TryDequeue(out, sizeof out, &tag), 28);
  EXPECT_EQ(r.TryDequeue(out, sizeof out, &tag), 1);
  EXPECT_EQ(tag, L::kMsgTagUtf8);
  EXPECT_EQ(out[0], 'x');
  EXPECT_EQ(r.Dequeue(out, sizeof out, &tag, 1'000'000), -1);
}

// Both indices start just below 2^32: records wrap the ring and the counters wrap to 0.
TEST(SpscRing, WrapsAroundTwoToThe32) {
  Block b(SpscRing::BytesFor(128, 0));
  SpscRing r;
  ASSERT_EQ(r.Create(b.mem, b.size, 128, 0, 0xffffff00u), L::kOk);
  uint32_t next_in = 0, next_out = 0;
  uint8_t out[64];
  for (int round = 0; round < 500; ++round) {
    for (int k = 0; k < 1 + round % 5; ++k) {
      const uint32_t len = 4 + (next_in * 7) % 40;
      uint8_t msg[64];
      std::memset(msg, static_cast<int>(next_in), len);
      std::memcpy(msg, &next_in, 4);
      if (r.TryEnqueue(msg, len, L::kMsgTagBinary) == Push::kOk) ++next_in;
    }
    uint32_t tag = 0;
    int64_t n;
    while ((n = r.TryDequeue(out, sizeof out, &tag)) >= 0) {
      uint32_t v = 0;
      std::memcpy(&v, out, 4);
      ASSERT_EQ(v, next_out);
      ASSERT_EQ(n, 4 + (v * 7) % 40);
      ++next_out;
    }
  }
  EXPECT_EQ(next_in, next_out);
  EXPECT_GT(next_in, 1000u);
  EXPECT_LT(reinterpret_cast<const L::SpscControl*>(b.mem + L::kSpscControlOffset)->tail,
            0xffffff00u);  // the counter wrapped
}

// The control words of the ring at `mem`, to damage them as a stray write would.
L::SpscControl* Control(uint8_t* mem) {
  return reinterpret_cast<L::SpscControl*>(mem + L::kSpscControlOffset);
}

// A tail more than the capacity ahead of the head is damage (format.md §15, "Damage"): the
// producer's unsigned room would wrap to "plenty" and write over unread records, the consumer
// would read junk or wait for ever. Both report kCorrupt instead, in both modes.
TEST(SpscRing, IndicesFartherApartThanTheCapacityAreCorrupt) {
  for (uint32_t element_size : {0u, 4u}) {
    Block b(SpscRing::BytesFor(64, element_size));
    SpscRing r;
    ASSERT_EQ(r.Create(b.mem, b.size, 64, element_size), L::kOk);
    Control(b.mem)->tail = 1000;  // head 0
    SpscRing producer, consumer;
    ASSERT_EQ(producer.Attach(b.mem, b.size), L::kOk);
    ASSERT_EQ(consumer.Attach(b.mem, b.size), L::kOk);
    uint8_t out[64] = {};
    uint32_t tag = 0;
    if (element_size == 0) {
      EXPECT_EQ(producer.TryEnqueue("x", 1, L::kMsgTagUtf8), Push::kCorrupt);
      EXPECT_EQ(producer.Enqueue("x", 1, L::kMsgTagUtf8, 1'000'000), L::kErrCorrupt);
      EXPECT_EQ(consumer.TryDequeue(out, sizeof out, &tag), SpscRing::kCorrupt);
      EXPECT_EQ(consumer.Dequeue(out, sizeof out, &tag, -1), SpscRing::kCorrupt);  // not forever
    } else {
      EXPECT_EQ(producer.TryEnqueueElements(out, 1), Push::kCorrupt);
      EXPECT_EQ(consumer.TryDequeueElements(out, 16), 0u);
    }
    EXPECT_TRUE(producer.corrupt());
    EXPECT_TRUE(consumer.corrupt());
    EXPECT_EQ(Control(b.mem)->tail, 1000u);  // nothing moved
    EXPECT_EQ(Control(b.mem)->head, 0u);
  }
}

// A record header whose length exceeds the longest message: kCorrupt, not "empty" (a blocking
// dequeue used to wait on it for ever).
TEST(SpscRing, RecordLongerThanTheLongestMessageIsCorrupt) {
  Block b(SpscRing::BytesFor(64, 0));
  SpscRing r;
  ASSERT_EQ(r.Create(b.mem, b.size, 64, 0), L::kOk);
  ASSERT_EQ(r.TryEnqueue("abc", 3, L::kMsgTagUtf8), Push::kOk);
  auto* header = reinterpret_cast<uint32_t*>(b.mem + L::kSpscDataOffset);
  *header = (L::kMsgTagUtf8 << L::kMsgTagShift) | (r.max_message() + 1);
  uint8_t out[64];
  uint32_t tag = 0;
  EXPECT_EQ(r.TryDequeue(out, sizeof out, &tag), SpscRing::kCorrupt);
  EXPECT_EQ(r.Dequeue(out, sizeof out, &tag, -1), SpscRing::kCorrupt);
  EXPECT_TRUE(r.corrupt());
}

// A record header no producer writes: where the next record starts cannot be known, so every
// read says kCorrupt and consumes nothing, until the consumer's Discard() drops what was
// published; the ring then works again (format.md §15, "Damage" of the ring).
TEST(SpscRing, DamagedHeaderIsCorruptUntilDiscard) {
  struct Case {
    const char* what;
    uint32_t (*damage)(uint32_t header, const SpscRing& r);
  };
  const Case cases[] = {
      {"a length above the longest message",
       [](uint32_t h, const SpscRing& r) {
         return static_cast<uint32_t>((h & ~L::kMsgLengthMask) | (r.max_message() + 1));
       }},
      {"an unknown tag",
       [](uint32_t h, const SpscRing&) {
         return static_cast<uint32_t>((9u << L::kMsgTagShift) | (h & L::kMsgLengthMask));
       }},
      {"a number record of another length than 8",
       [](uint32_t h, const SpscRing&) {
         return static_cast<uint32_t>((L::kMsgTagNumber << L::kMsgTagShift) |
                                      (h & L::kMsgLengthMask));
       }},
      {"a length that runs past the tail",
       [](uint32_t h, const SpscRing&) {
         return static_cast<uint32_t>((h & ~L::kMsgLengthMask) | 64u);
       }},
      {"a wrap marker that runs past the tail",
       [](uint32_t, const SpscRing&) {
         return static_cast<uint32_t>(L::kMsgTagWrap << L::kMsgTagShift);
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Block b(SpscRing::BytesFor(256, 0));
    SpscRing r;
    ASSERT_EQ(r.Create(b.mem, b.size, 256, 0), L::kOk);
    ASSERT_EQ(r.TryEnqueue("a", 1, L::kMsgTagUtf8), Push::kOk);
    ASSERT_EQ(r.TryEnqueue("bb", 2, L::kMsgTagUtf8), Push::kOk);
    auto* second = reinterpret_cast<uint32_t*>(b.mem + L::kSpscDataOffset + 8);
    *second = c.damage(*second, r);
    uint8_t out[256];
    uint32_t tag = 0;
    ASSERT_EQ(r.TryDequeue(out, sizeof out, &tag), 1);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(r.TryDequeue(out, sizeof out, &tag), SpscRing::kCorrupt);
    EXPECT_EQ(r.Dequeue(out, sizeof out, &tag, -1), SpscRing::kCorrupt);  // not forever
    EXPECT_TRUE(r.corrupt());
    EXPECT_EQ(Control(b.mem)->head, 8u);  // nothing consumed
    ASSERT_EQ(r.TryEnqueue("c", 1, L::kMsgTagUtf8), Push::kOk);
    EXPECT_EQ(r.Discard(), 16u);  // "bb" and "c", 8 bytes each
    EXPECT_FALSE(r.corrupt());
    EXPECT_EQ(Control(b.mem)->head, Control(b.mem)->tail);
    EXPECT_EQ(r.TryDequeue(out, sizeof out, &tag), -1);
    ASSERT_EQ(r.TryEnqueue("dd", 2, L::kMsgTagUtf8), Push::kOk);
    ASSERT_EQ(r.TryDequeue(out, sizeof out, &tag), 2);
    EXPECT_EQ(std::memcmp(out, "dd", 2), 0);
  }
}

// A record whose length is sound in every other way (at most the longest message, within what
// was published) but takes it past the end of the data, where a producer writes a wrap marker
// instead: kCorrupt, nothing copied from outside the ring (the block ends with the data, so a
// sanitizer build sees any read past it), nothing consumed, until Discard().
TEST(SpscRing, RecordRunningPastTheEndOfTheDataIsCorrupt) {
  Block b(SpscRing::BytesFor(256, 0));
  ASSERT_EQ(b.size % 64, 0u);  // no rounding: the data ends where the allocation does
  SpscRing r;
  ASSERT_EQ(r.Create(b.mem, b.size, 256, 0, 248), L::kOk);
  uint8_t out[256];
  uint32_t tag = 0;
  ASSERT_EQ(r.TryEnqueue("WXYZ", 4, L::kMsgTagBinary), Push::kOk);  // 248..256
  char q[100];
  std::memset(q, 'Q', sizeof q);
  ASSERT_EQ(r.TryEnqueue(q, sizeof q, L::kMsgTagUtf8), Push::kOk);  // 0..104
  auto* header = reinterpret_cast<uint32_t*>(b.mem + L::kSpscDataOffset + 248);
  *header = (L::kMsgTagBinary << L::kMsgTagShift) | 100u;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(r.TryDequeue(out, sizeof out, &tag), SpscRing::kCorrupt);
  EXPECT_EQ(r.Dequeue(out, sizeof out, &tag, -1), SpscRing::kCorrupt);  // not forever
  EXPECT_TRUE(r.corrupt());
  EXPECT_EQ(Control(b.mem)->head, 248u);
  EXPECT_EQ(r.Discard(), 8u + 104u);
  ASSERT_EQ(r.TryEnqueue("ok", 2, L::kMsgTagUtf8), Push::kOk);
  ASSERT_EQ(r.TryDequeue(out, sizeof out, &tag), 2);
  EXPECT_EQ(std::memcmp(out, "ok", 2), 0);
}

// A wrap marker is written with length 0: one with another length is a damaged header, and the
// reader reports kCorrupt instead of skipping to place 0 on a guess, until Discard().
TEST(SpscRing, WrapMarkerWithALengthIsCorrupt) {
  for (uint32_t length : {4u, 8u, static_cast<uint32_t>(L::kMsgLengthMask)}) {
    SCOPED_TRACE(length);
    Block b(SpscRing::BytesFor(256, 0));
    SpscRing r;
    ASSERT_EQ(r.Create(b.mem, b.size, 256, 0, 232), L::kOk);
    ASSERT_EQ(r.TryEnqueue("abcd", 4, L::kMsgTagBinary), Push::kOk);  // 232..240
    ASSERT_EQ(r.TryEnqueue("efgh", 4, L::kMsgTagBinary), Push::kOk);  // 240..248
    char q[60];
    std::memset(q, 'Q', sizeof q);
    ASSERT_EQ(r.TryEnqueue(q, sizeof q, L::kMsgTagUtf8), Push::kOk);  // wrap at 248, then 0..64
    auto* marker = reinterpret_cast<uint32_t*>(b.mem + L::kSpscDataOffset + 248);
    ASSERT_EQ(*marker, static_cast<uint32_t>(L::kMsgTagWrap << L::kMsgTagShift));
    *marker = static_cast<uint32_t>(L::kMsgTagWrap << L::kMsgTagShift) | length;
    uint8_t out[256];
    uint32_t tag = 0;
    ASSERT_EQ(r.TryDequeue(out, sizeof out, &tag), 4);
    ASSERT_EQ(r.TryDequeue(out, sizeof out, &tag), 4);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(r.TryDequeue(out, sizeof out, &tag), SpscRing::kCorrupt);
    // At once, not at the deadline (a ring read past the marker would be empty here).
    EXPECT_EQ(r.Dequeue(out, sizeof out, &tag, 1'000'000), SpscRing::kCorrupt);
    EXPECT_TRUE(r.corrupt());
    EXPECT_EQ(Control(b.mem)->head, 248u);  // nothing consumed
    EXPECT_EQ(r.Discard(), 8u + 64u);
    EXPECT_FALSE(r.corrupt());
    ASSERT_EQ(r.TryEnqueue("ok", 2, L::kMsgTagUtf8), Push::kOk);
    ASSERT_EQ(r.TryDequeue(out, sizeof out, &tag), 2);
    EXPECT_EQ(std::memcmp(out, "ok", 2), 0);
  }
}

// The producer writes no record a reader refuses as damage: a tag above the number tag (a wrap
// marker's among them) or a number record of another length than 8 is refused, nothing written.
TEST(SpscRing, TagsNoReaderTakesAreRefused) {
  Block b(SpscRing::BytesFor(256, 0));
  SpscRing r;
  ASSERT_EQ(r.Create(b.mem, b.size, 256, 0), L::kOk);
  EXPECT_EQ(r.TryEnqueue("abc", 3, L::kMsgTagNumber + 1), Push::kInvalidArg);
  EXPECT_EQ(r.TryEnqueue("abcd", 4, L::kMsgTagNumber), Push::kInvalidArg);
  EXPECT_EQ(r.TryEnqueue("abcd", 4, L::kMsgTagWrap), Push::kInvalidArg);
  EXPECT_EQ(r.TryEnqueue("", 0, L::kMsgTagWrap), Push::kInvalidArg);
  EXPECT_EQ(r.Enqueue("abc", 3, 7, -1), L::kErrInvalidArg);
  EXPECT_EQ(Control(b.mem)->tail, 0u);  // nothing written
  const double v = 2.5;
  ASSERT_EQ(r.TryEnqueue(&v, sizeof v, L::kMsgTagNumber), Push::kOk);
  uint8_t out[64];
  uint32_t tag = 0;
  ASSERT_EQ(r.TryDequeue(out, sizeof out, &tag), 8);
  EXPECT_EQ(tag, L::kMsgTagNumber);
  EXPECT_FALSE(r.corrupt());
}

// Indices farther apart than the capacity: Discard() makes them equal and both sides go on.
TEST(SpscRing, DiscardRecoversFromIndicesFartherApartThanTheCapacity) {
  for (uint32_t element_size : {0u, 4u}) {
    Block b(SpscRing::BytesFor(64, element_size));
    SpscRing r;
    ASSERT_EQ(r.Create(b.mem, b.size, 64, element_size), L::kOk);
    Control(b.mem)->tail = 1000;  // head 0
    SpscRing producer, consumer;
    ASSERT_EQ(producer.Attach(b.mem, b.size), L::kOk);
    ASSERT_EQ(consumer.Attach(b.mem, b.size), L::kOk);
    uint8_t out[64] = {};
    uint32_t tag = 0;
    if (element_size == 0) {
      EXPECT_EQ(consumer.TryDequeue(out, sizeof out, &tag), SpscRing::kCorrupt);
    } else {
      EXPECT_EQ(consumer.TryDequeueElements(out, 16), 0u);
    }
    EXPECT_TRUE(consumer.corrupt());
    EXPECT_EQ(consumer.Discard(), 1000u);
    EXPECT_FALSE(consumer.corrupt());
    const uint32_t v = 42;
    if (element_size == 0) {
      ASSERT_EQ(producer.TryEnqueue(&v, 4, L::kMsgTagBinary), Push::kOk);
      ASSERT_EQ(consumer.TryDequeue(out, sizeof out, &tag), 4);
    } else {
      ASSERT_EQ(producer.TryEnqueueElements(&v, 1), Push::kOk);
      ASSERT_EQ(consumer.TryDequeueElements(out, 1), 1u);
    }
    uint32_t got = 0;
    std::memcpy(&got, out, 4);
    EXPECT_EQ(got, 42u);
  }
}

// Handles of one side taking turns: a handle whose cached copy of the other side's index is
// older than its own side's index (another handle moved on meanwhile, by more than the ring
// holds) loads the index again, and neither reports damage nor overwrites unread records.
TEST(SpscRing, HandlesTakingTurnsLoadTheOtherIndexAgain) {
  for (uint32_t element_size : {0u, 4u}) {
    Block b(SpscRing::BytesFor(64, element_size));
    SpscRing a;
    ASSERT_EQ(a.Create(b.mem, b.size, 64, element_size), L::kOk);
    SpscRing late_producer, late_consumer;
    ASSERT_EQ(late_producer.Attach(b.mem, b.size), L::kOk);
    ASSERT_EQ(late_consumer.Attach(b.mem, b.size), L::kOk);
    uint8_t out[64] = {};
    uint32_t tag = 0;
    for (uint32_t i = 0; i < 100; ++i) {  // both indices move 400+ bytes (elements: 100)
      if (element_size == 0) {
        ASSERT_EQ(a.TryEnqueue(&i, 4, L::kMsgTagBinary), Push::kOk);
        ASSERT_EQ(a.TryDequeue(out, sizeof out, &tag), 4);
      } else {
        ASSERT_EQ(a.TryEnqueueElements(&i, 1), Push::kOk);
        ASSERT_EQ(a.TryDequeueElements(out, 1), 1u);
      }
    }
    // The late producer fills exactly the free ring, no more.
    uint32_t n = 0;
    for (;; ++n) {
      const Push p = element_size == 0 ? late_producer.TryEnqueue(&n, 4, L::kMsgTagBinary)
                                       : late_producer.TryEnqueueElements(&n, 1);
      if (p == Push::kFull) break;
      ASSERT_EQ(p, Push::kOk);
      ASSERT_LE(n, 64u);
    }
    EXPECT_EQ(n, element_size == 0 ? 64u / 8 : 64u);
    // The late consumer reads them all, in order.
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t v = 0;
      if (element_size == 0) {
        ASSERT_EQ(late_consumer.TryDequeue(out, sizeof out, &tag), 4);
      } else {
        ASSERT_EQ(late_consumer.TryDequeueElements(out, 1), 1u);
      }
      std::memcpy(&v, out, 4);
      EXPECT_EQ(v, i);
    }
    if (element_size == 0) {
      EXPECT_EQ(late_consumer.TryDequeue(out, sizeof out, &tag), -1);
    } else {
      EXPECT_EQ(late_consumer.TryDequeueElements(out, 1), 0u);
    }
    EXPECT_FALSE(late_producer.corrupt());
    EXPECT_FALSE(late_consumer.corrupt());
  }
}

TEST(SpscRing, ThreadsPassRecordsExactlyOnceInOrder) {
  Block b(SpscRing::BytesFor(4096, 0));
  SpscRing setup;
  ASSERT_EQ(setup.Create(b.mem, b.size, 4096, 0, 0xfffff000u), L::kOk);
  constexpr uint32_t kCount = 200'000;
  std::thread producer([&] {
    SpscRing r;
    ASSERT_EQ(r.Attach(b.mem, b.size), L::kOk);
    uint8_t msg[100];
    for (uint32_t i = 0; i < kCount; ++i) {
      const uint32_t len = 4 + i % 97;
      std::memset(msg, static_cast<int>(i & 255), len);
      std::memcpy(msg, &i, 4);
      ASSERT_EQ(r.Enqueue(msg, len, L::kMsgTagBinary, -1), L::kOk);
    }
  });
  SpscRing r;
  ASSERT_EQ(r.Attach(b.mem, b.size), L::kOk);
  uint64_t sum = 0;
  uint8_t out[2048];
  for (uint32_t i = 0; i < kCount; ++i) {
    uint32_t tag = 0;
    const int64_t n = r.Dequeue(out, sizeof out, &tag, -1);
    ASSERT_EQ(n, 4 + i % 97);
    uint32_t v = 0;
    std::memcpy(&v, out, 4);
    ASSERT_EQ(v, i);
    ASSERT_EQ(out[n - 1], (n > 4 ? static_cast<uint8_t>(i & 255) : out[n - 1]));
    sum += v;
  }
  producer.join();
  EXPECT_EQ(sum, uint64_t{kCount} * (kCount - 1) / 2);
  uint32_t tag = 0;
  EXPECT_EQ(r.TryDequeue(out, sizeof out, &tag), -1);
}

TEST(SpscRing, ThreadsPassElements) {
  Block b(SpscRing::BytesFor(64, 8));
  SpscRing setup;
  ASSERT_EQ(setup.Create(b.mem, b.size, 64, 8, 0xffffffe0u), L::kOk);
  constexpr uint64_t kCount = 300'000;
  std::thread producer([&] {
    SpscRing r;
    ASSERT_EQ(r.Attach(b.mem, b.size), L::kOk);
    uint64_t batch[3];
    for (uint64_t i = 0; i < kCount; i += 3) {
      for (uint64_t k = 0; k < 3; ++k) batch[k] = i + k;
      while (r.TryEnqueueElements(batch, 3) != Push::kOk) std::this_thread::yield();
    }
  });
  SpscRing r;
  ASSERT_EQ(r.Attach(b.mem, b.size), L::kOk);
  uint64_t out[16];
  uint64_t expect = 0;
  while (expect < kCount) {
    const uint32_t n = r.TryDequeueElements(out, 16);
    for (uint32_t k = 0; k < n; ++k) ASSERT_EQ(out[k], expect++);
    if (n == 0) std::this_thread::yield();
  }
  producer.join();
  EXPECT_EQ(r.TryEnqueueElements(out, 65), Push::kTooLarge);
}

// The sleeping flag counts sleeps (format.md §15, Waking): a producer that loaded the flag during
// the consumer's first sleep and makes its CAS only once the consumer sleeps again must not take
// that second sleep, or the next publish finds the flag down and wakes nobody (a wake-up lost
// until the recheck). With a flag of 1 and 0 the late CAS took it.
TEST(SpscRing, LateTakeOfASleepingFlagLeavesTheNextSleepRaised) {
  Block b(SpscRing::BytesFor(64, 0));
  SpscRing producer;
  ASSERT_EQ(producer.Create(b.mem, b.size, 64, 0), L::kOk);
  auto* flag = reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(b.mem) + L::kSpscControlOffset +
                                           offsetof(L::SpscControl, consumerSleeping));
  std::atomic<int> taken{0};
  std::thread consumer([&] {
    SpscRing r;
    ASSERT_EQ(r.Attach(b.mem, b.size), L::kOk);
    uint8_t out[64];
    uint32_t tag = 0;
    for (int i = 0; i < 2; ++i) {
      ASSERT_EQ(r.Dequeue(out, sizeof out, &tag, -1), 1);
      EXPECT_EQ(out[0], static_cast<uint8_t>('a' + i));
      taken.store(i + 1);
    }
  });
  const auto sleeping = [&] { return (shm::AtomicLoad(flag) & 1u) != 0; };
  while (!sleeping()) std::this_thread::yield();
  const uint32_t first = shm::AtomicLoad(flag);  // what a publish loads during the first sleep
  ASSERT_EQ(producer.TryEnqueue("a", 1, L::kMsgTagBinary), Push::kOk);
  while (taken.load() < 1) std::this_thread::yield();
  while (!sleeping()) std::this_thread::yield();  // the second sleep
  EXPECT_NE(shm::AtomicLoad(flag), first);
  uint32_t expected = first;
  std::atomic_ref<uint32_t>(*flag).compare_exchange_strong(expected, first + 1);  // the late CAS
  EXPECT_TRUE(sleeping()) << "the late CAS took the second sleep";
  ASSERT_EQ(producer.TryEnqueue("b", 1, L::kMsgTagBinary), Push::kOk);
  consumer.join();
  EXPECT_EQ(taken.load(), 2);
  EXPECT_FALSE(sleeping());
}
