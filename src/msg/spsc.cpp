// SpscRing (spsc.h): the producer owns tail, the consumer head. A record is written, then
// published by the sequentially consistent store of tail; the consumer's load of tail orders the
// record's bytes before its reads (and the same with head for the space it frees).
#include "msg/spsc.h"

#include <time.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstring>

#include "base/atomic.h"
#include "segment/futex.h"

namespace shm::msg {

namespace L = shm::layout;

namespace {

constexpr uint32_t kWord = 4;
constexpr uint32_t kHeader = 4;  // the record header
constexpr uint32_t kCtl = L::kSpscControlOffset / kWord;
constexpr uint32_t kTail = kCtl + offsetof(L::SpscControl, tail) / kWord;
constexpr uint32_t kHead = kCtl + offsetof(L::SpscControl, head) / kWord;
constexpr uint32_t kConsumerSleeping = kCtl + offsetof(L::SpscControl, consumerSleeping) / kWord;
constexpr uint32_t kProducerSleeping = kCtl + offsetof(L::SpscControl, producerSleeping) / kWord;
constexpr uint32_t kMagic = offsetof(L::MsgHeader, magic) / kWord;
constexpr uint32_t kKind = offsetof(L::MsgHeader, kind) / kWord;
constexpr uint32_t kVersion = offsetof(L::MsgHeader, version) / kWord;
constexpr uint32_t kCapacity = offsetof(L::MsgHeader, capacity) / kWord;
constexpr uint32_t kElementSize = offsetof(L::MsgHeader, elementSize) / kWord;
constexpr uint32_t kTagShift = L::kMsgTagShift;
constexpr uint32_t kLengthMask = L::kMsgLengthMask;
constexpr uint32_t kTagWrap = L::kMsgTagWrap;
// As lib/msg/spsc.js: loads of the other index before parking, and the longest park.
constexpr int kSpins = 100;
constexpr int64_t kParkNs = 200'000'000;
static_assert(L::kSpscDataOffset == L::kSpscControlOffset + sizeof(L::SpscControl));
static_assert(L::kSpscDataOffset % 64 == 0);

constexpr uint32_t Align4(uint32_t n) {
  return (n + 3) & ~3u;
}

bool PowerOfTwo(uint64_t n) {
  return n != 0 && (n & (n - 1)) == 0;
}

}  // namespace

int64_t NowNs() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

uint64_t SpscRing::BytesFor(uint32_t capacity, uint32_t element_size) noexcept {
  return L::kSpscDataOffset + uint64_t{capacity} * (element_size == 0 ? 1 : element_size);
}

bool SpscRing::ValidShape(uint32_t capacity, uint32_t element_size) noexcept {
  if (!PowerOfTwo(capacity) || capacity > L::kMsgMaxCapacity) return false;
  if (element_size == 0) return capacity >= L::kSpscMinBytes;
  return element_size <= L::kSpscMaxElementBytes && capacity >= 2 &&
         uint64_t{capacity} * element_size <= L::kMsgMaxCapacity;
}

L::Status SpscRing::Create(void* base, uint64_t bytes, uint32_t capacity, uint32_t element_size,
                           uint32_t start) noexcept {
  if (base == nullptr || reinterpret_cast<uintptr_t>(base) % 8 != 0) return L::kErrInvalidArg;
  if (!ValidShape(capacity, element_size)) return L::kErrInvalidArg;
  if (bytes < BytesFor(capacity, element_size)) return L::kErrBadSize;
  auto* w = static_cast<uint32_t*>(base);
  if (element_size == 0) start &= ~3u;  // records start on words
  AtomicStore(w + kTail, start);
  AtomicStore(w + kHead, start);
  AtomicStore(w + kConsumerSleeping, 0);
  AtomicStore(w + kProducerSleeping, 0);
  AtomicStore(w + kKind, L::kMsgKindSpsc);
  AtomicStore(w + kVersion, L::kMsgSpscVersion);
  AtomicStore(w + kCapacity, capacity);
  AtomicStore(w + kElementSize, element_size);
  AtomicStore(w + kMagic, L::kMsgMagic);  // last: an opener sees a whole ring
  return Attach(base, bytes);
}

L::Status SpscRing::Attach(void* base, uint64_t bytes) noexcept {
  if (base == nullptr || reinterpret_cast<uintptr_t>(base) % 8 != 0) return L::kErrInvalidArg;
  if (bytes < L::kSpscDataOffset) return L::kErrBadSize;
  auto* w = static_cast<uint32_t*>(base);
  if (AtomicLoad(w + kMagic) != L::kMsgMagic || AtomicLoad(w + kKind) != L::kMsgKindSpsc) {
    return L::kErrBadMagic;
  }
  // A ring of another version is never attached (format.md §15, "Version history"): a version 1
  // party's flags are 1 and 0, it wakes only a flag of 1, and its sleeps can lose a wake-up to a
  // late CAS, so beside it wake-ups would wait for the recheck.
  if (AtomicLoad(w + kVersion) != L::kMsgSpscVersion) return L::kErrBadVersion;
  const uint32_t capacity = AtomicLoad(w + kCapacity);
  const uint32_t element_size = AtomicLoad(w + kElementSize);
  if (!ValidShape(capacity, element_size)) return L::kErrCorrupt;
  if (bytes < BytesFor(capacity, element_size)) return L::kErrBadSize;
  base_ = static_cast<uint8_t*>(base);
  words_ = w;
  capacity_ = capacity;
  mask_ = capacity - 1;
  element_size_ = element_size;
  max_message_ = element_size == 0 ? capacity / 2 - kHeader : 0;
  cached_head_ = AtomicLoad(Word(kHead));
  cached_tail_ = AtomicLoad(Word(kTail));
  return L::kOk;
}

// A side's sleeping flag counts its sleeps: odd while it is about to sleep or sleeps, each sleep
// raising it to the next odd value; whoever ends the sleep moves that value to the even one after
// it (format.md §15, Waking). With one value for every sleep, a side that loaded the flag during
// one sleep and took it late, once the sleeper had raised it again for its next sleep, took that
// sleep without waking it, and the next index store woke nobody (both sides asleep until the
// recheck); each sleep's value is its own, so such a late CAS fails.
namespace {

// Whether the flag says its side sleeps and this caller took that sleep (its CAS won).
bool TookSleep(uint32_t* flag) noexcept {
  const uint32_t s = AtomicLoad(flag);
  return (s & 1u) != 0 && AtomicCas(flag, s, s + 1);
}

}  // namespace

// The other side is woken once per sleep: its flag is taken with a CAS, so that messages
// published while it wakes up make no further system call.
void SpscRing::Publish(uint32_t tail) noexcept {
  AtomicStore(Word(kTail), tail);
  if (TookSleep(Word(kConsumerSleeping))) futex::Wake(Word(kTail), INT32_MAX);
}

void SpscRing::Release(uint32_t head) noexcept {
  AtomicStore(Word(kHead), head);
  if (TookSleep(Word(kProducerSleeping))) futex::Wake(Word(kHead), INT32_MAX);
}

// In a sound ring `tail - head` never exceeds the capacity (the producer moves the tail only
// into room it saw), and the producer's cached head is never past the real one: a distance above
// the capacity is damage, and the unsigned room computed from it would wrap to "plenty".
int64_t SpscRing::Room(uint32_t tail, uint32_t need) noexcept {
  uint32_t used = tail - cached_head_;
  if (used > capacity_ || capacity_ - used < need) {
    cached_head_ = AtomicLoad(Word(kHead));
    used = tail - cached_head_;
    if (used > capacity_) {
      corrupt_ = true;
      return -1;
    }
  }
  return capacity_ - used;
}

int64_t SpscRing::Used(uint32_t head) noexcept {
  uint32_t used = cached_tail_ - head;
  if (used == 0 || used > capacity_) {
    cached_tail_ = AtomicLoad(Word(kTail));
    used = cached_tail_ - head;
    if (used > capacity_) {
      corrupt_ = true;
      return -1;
    }
  }
  return used;
}

Push SpscRing::TryEnqueue(const void* data, uint32_t length, uint32_t tag) noexcept {
  if (element_size_ != 0 || length > max_message_) return Push::kTooLarge;
  // The records a reader refuses as damage (TryDequeue below) are never written.
  if (!ValidMessageTag(tag, length)) return Push::kInvalidArg;
  const uint32_t tail = AtomicLoad(Word(kTail));
  const uint32_t record = kHeader + Align4(length);
  uint32_t at = tail & mask_;
  const uint32_t contiguous = capacity_ - at;
  const uint32_t need = record <= contiguous ? record : contiguous + record;
  const int64_t room = Room(tail, need);
  if (room < 0) return Push::kCorrupt;
  if (room < need) return Push::kFull;
  uint32_t next = tail;
  if (record > contiguous) {
    // The rest of the ring is unused; the reader skips to its start.
    UnpublishedStore(reinterpret_cast<uint32_t*>(Data() + at), kTagWrap << kTagShift);
    next += contiguous;
    at = 0;
  }
  std::memcpy(Data() + at + kHeader, data, length);
  UnpublishedStore(reinterpret_cast<uint32_t*>(Data() + at), (tag << kTagShift) | length);
  Publish(next + record);
  return Push::kOk;
}

L::Status SpscRing::Enqueue(const void* data, uint32_t length, uint32_t tag, int64_t timeout_ns,
                            const StopCheck& stop) noexcept {
  const int64_t deadline = timeout_ns < 0 ? INT64_MAX : NowNs() + timeout_ns;
  for (;;) {
    const uint32_t head = AtomicLoad(Word(kHead));
    const Push r = TryEnqueue(data, length, tag);
    if (r == Push::kOk) return L::kOk;
    if (r == Push::kTooLarge) return L::kErrMessageTooLarge;
    if (r == Push::kCorrupt) return L::kErrCorrupt;
    if (r == Push::kInvalidArg) return L::kErrInvalidArg;
    if (!Block(Word(kProducerSleeping), Word(kHead), head, deadline, stop)) {
      return L::kErrQueueTimeout;
    }
  }
}

// A header no producer writes (format.md §15, "Damage" of the ring): where the next record starts
// cannot be known, so nothing is consumed and every read reports kCorrupt until Discard(). The
// tail the reader loaded (or its cached copy) is a record boundary, so a sound record, and the
// record after a wrap marker, end at or before it.
int64_t SpscRing::TryDequeue(void* out, uint32_t cap, uint32_t* tag) noexcept {
  if (element_size_ != 0) return -1;
  uint32_t head = AtomicLoad(Word(kHead));
  const int64_t avail = Used(head);
  if (avail < 0) return kCorrupt;
  if (avail == 0) return -1;
  uint32_t used = static_cast<uint32_t>(avail);
  uint32_t at = head & mask_;
  uint32_t h = RacyLoad(reinterpret_cast<const uint32_t*>(Data() + at));
  if ((h >> kTagShift) == kTagWrap) {
    // Written with length 0, only together with the record after it, never at place 0: another
    // length is a damaged header, and skipping to place 0 would follow a guess.
    const uint32_t skip = capacity_ - at;
    if ((h & kLengthMask) != 0 || skip >= used) {
      corrupt_ = true;
      return kCorrupt;
    }
    head += skip;
    used -= skip;
    at = 0;
    h = RacyLoad(reinterpret_cast<const uint32_t*>(Data() + at));
  }
  const uint32_t length = h & kLengthMask;
  // An unknown tag, a length above the largest message, a number record of another length than
  // 8, a record that runs past the tail, or one that runs past the end of the data (a producer
  // writes a wrap marker instead): the copy below never reads outside the ring.
  const uint32_t record_tag = h >> kTagShift;
  if (record_tag > L::kMsgTagNumber || length > max_message_ ||
      (record_tag == L::kMsgTagNumber && length != sizeof(double)) ||
      kHeader + Align4(length) > used || at + kHeader + Align4(length) > capacity_) {
    corrupt_ = true;
    return kCorrupt;
  }
  if (tag != nullptr) *tag = h >> kTagShift;
  if (length > cap) return length;
  std::memcpy(out, Data() + at + kHeader, length);
  Release(head + kHeader + Align4(length));
  return length;
}

int64_t SpscRing::Dequeue(void* out, uint32_t cap, uint32_t* tag, int64_t timeout_ns,
                          const StopCheck& stop) noexcept {
  const int64_t deadline = timeout_ns < 0 ? INT64_MAX : NowNs() + timeout_ns;
  for (;;) {
    const uint32_t tail = AtomicLoad(Word(kTail));
    const int64_t n = TryDequeue(out, cap, tag);
    if (n >= 0 || n == kCorrupt) return n;
    if (!Block(Word(kConsumerSleeping), Word(kTail), tail, deadline, stop)) return -1;
  }
}

Push SpscRing::TryEnqueueElements(const void* data, uint32_t count) noexcept {
  if (element_size_ == 0 || count > capacity_) return Push::kTooLarge;
  const uint32_t tail = AtomicLoad(Word(kTail));
  const int64_t room = Room(tail, count);
  if (room < 0) return Push::kCorrupt;
  if (room < count) return Push::kFull;
  const uint64_t at = uint64_t{tail & mask_} * element_size_;
  const uint64_t total = uint64_t{count} * element_size_;
  const uint64_t first = std::min<uint64_t>(total, uint64_t{capacity_} * element_size_ - at);
  const auto* src = static_cast<const uint8_t*>(data);
  std::memcpy(Data() + at, src, first);
  if (first < total) std::memcpy(Data(), src + first, total - first);
  Publish(tail + count);
  return Push::kOk;
}

uint32_t SpscRing::TryDequeueElements(void* out, uint32_t max) noexcept {
  if (element_size_ == 0) return 0;
  const uint32_t head = AtomicLoad(Word(kHead));
  const int64_t avail = Used(head);  // at most the capacity: the copy below stays in the ring
  if (avail <= 0) return 0;
  const uint32_t n = static_cast<uint32_t>(std::min<int64_t>(avail, max));
  const uint64_t at = uint64_t{head & mask_} * element_size_;
  const uint64_t total = uint64_t{n} * element_size_;
  const uint64_t first = std::min<uint64_t>(total, uint64_t{capacity_} * element_size_ - at);
  auto* dst = static_cast<uint8_t*>(out);
  std::memcpy(dst, Data() + at, first);
  if (first < total) std::memcpy(dst + first, Data(), total - first);
  Release(head + n);
  return n;
}

uint32_t SpscRing::Discard() noexcept {
  const uint32_t head = AtomicLoad(Word(kHead));
  const uint32_t tail = AtomicLoad(Word(kTail));
  cached_tail_ = tail;
  Release(tail);
  corrupt_ = false;
  return tail - head;
}

bool SpscRing::Block(uint32_t* flag, uint32_t* watch, uint32_t seen, int64_t deadline,
                     const StopCheck& stop) noexcept {
  for (int i = 0; i < kSpins; ++i) {
    if (AtomicLoad(watch) != seen) return true;
    CpuRelax();
  }
  for (;;) {
    const int64_t left = deadline - NowNs();
    // One last look once the deadline has passed: the index may have moved since the look above
    // (after the last sleep), and a message (room) that came before the deadline must not be left
    // behind while the call reports a timeout. A stop seen before the deadline takes none: nobody
    // may be left to get it.
    if (left <= 0) return AtomicLoad(watch) != seen;
    if (stop()) return false;
    // This sleep's own value of the flag: the next odd one (above).
    const uint32_t sleep = (AtomicLoad(flag) + 1) | 1u;
    AtomicStore(flag, sleep);
    if (AtomicLoad(watch) == seen) futex::Wait(watch, seen, std::min(left, kParkNs));
    AtomicCas(flag, sleep, sleep + 1);  // unless the other side took it, or a newer sleep raised it
    if (AtomicLoad(watch) != seen) return true;
  }
}

}  // namespace shm::msg
