// SpscRing: the wait-free single-producer single-consumer ring of docs/format.md §15 over memory
// the caller maps (a segment, or any 64-byte aligned block shared by threads). The same bytes as
// lib/msg/spsc.js: a JS consumer reads what this producer writes and the other way round.
//
// One thread produces and one consumes at a time; the handle keeps each side's cached copy of
// the other side's index, so a thread uses the handle for one side only or for both in turn.
// No Node headers, no exceptions, no allocation.
#pragma once

#include <cstdint>

#include "layout/layout_gen.h"
#include "sync/wait.h"

namespace shm::msg {

// Every blocking form below also takes a `stop` (sync/wait.h), asked once per sleep: when it says
// so the call gives up as at its deadline. It bounds how long a wait outlives what it runs for
// (a worker's job whose environment is torn down) by one sleep, without a cost per message: it
// is never asked while the call can go on without sleeping.
using StopCheck = sync::StopCheck;

// What a non-blocking enqueue did. kClosed: a send on a closed channel (channel.h); the others
// as named.
// kCorrupt: the queue's shared words are in a state no sound run leaves (format.md §15, "Damage").
// kInvalidArg: a tag no reader takes for a message (ValidMessageTag below).
enum class Push { kOk, kFull, kTooLarge, kClosed, kCorrupt, kInvalidArg };

// Whether every reader takes a record of `tag` with a payload of `length` bytes as a message
// (format.md §15, Records): tags 0 to kMsgTagNumber, a number record 8 bytes long. Any other
// record is one every reader refuses as damage (a ring's reader cannot even find the record after
// it), so no producer writes it: the enqueue forms of every kind refuse it (kInvalidArg).
constexpr bool ValidMessageTag(uint32_t tag, uint32_t length) noexcept {
  return tag < layout::kMsgTagNumber || (tag == layout::kMsgTagNumber && length == sizeof(double));
}

class SpscRing {
 public:
  // Bytes a ring needs: `capacity` data bytes (element_size 0), or `capacity` elements.
  static uint64_t BytesFor(uint32_t capacity, uint32_t element_size) noexcept;
  // Whether (capacity, element_size) is an allowed shape (§15).
  static bool ValidShape(uint32_t capacity, uint32_t element_size) noexcept;

  // `base` must be 8-byte aligned (64 keeps the control lines on cache lines of their own).
  // Stamps a new ring at `base` (`bytes` long) with both indices at `start` (a test hook for
  // wrap-around; 0 normally). kErrInvalidArg: shape not allowed; kErrBadSize: too few bytes.
  layout::Status Create(void* base, uint64_t bytes, uint32_t capacity, uint32_t element_size,
                        uint32_t start = 0) noexcept;
  // Attaches to an existing ring: kErrBadMagic, kErrBadVersion, kErrCorrupt, kErrBadSize.
  layout::Status Attach(void* base, uint64_t bytes) noexcept;

  uint32_t capacity() const noexcept { return capacity_; }
  uint32_t element_size() const noexcept { return element_size_; }
  // The largest payload of a record (variable-size mode): half the ring less the header.
  uint32_t max_message() const noexcept { return max_message_; }

  // What the dequeue forms return, and Push::kCorrupt for the enqueue forms, when the ring's
  // words are in a state no sound run leaves: `tail - head` above the capacity, or a record
  // header no producer writes (an unknown tag, a length above the longest message, a wrap marker
  // whose length is not 0, a record or a wrap marker that runs past the tail, a record that runs
  // past the end of the data; format.md §15, "Damage" of the ring). Reading or writing on would
  // take junk for messages, overwrite unread ones or wait for ever; the next record
  // cannot be found, so nothing is consumed and every read says kCorrupt again. corrupt() then
  // stays true, until Discard().
  static constexpr int64_t kCorrupt = -3;
  bool corrupt() const noexcept { return corrupt_; }
  // Consumer side: drops everything published up to now (stores head = tail, waking a producer
  // that sleeps for room) and clears corrupt(): the way on after kCorrupt. Returns the distance
  // dropped (bytes or elements; above the capacity when the indices themselves were damaged).
  uint32_t Discard() noexcept;

  // ---- variable-size records (element_size 0) ----
  // `tag` is a message's (format.md §15, Records: 0 to kMsgTagNumber, kMsgTagNumber with 8 bytes
  // only): any other record is one every reader refuses as damage, so it is not written
  // (kInvalidArg).
  Push TryEnqueue(const void* data, uint32_t length, uint32_t tag) noexcept;
  // Blocks while full: kOk, kErrQueueTimeout, kErrMessageTooLarge, kErrCorrupt, kErrInvalidArg
  // (a tag as TryEnqueue refuses it). timeout_ns < 0: forever.
  layout::Status Enqueue(const void* data, uint32_t length, uint32_t tag, int64_t timeout_ns,
                         const StopCheck& stop = {}) noexcept;
  // The next record's payload length (copied to `out` when it fits `cap`, then consumed), or -1
  // when empty, kCorrupt. A record longer than `cap` is left in place and its length returned.
  int64_t TryDequeue(void* out, uint32_t cap, uint32_t* tag) noexcept;
  // Blocks while empty; -1 after timeout_ns (negative: forever), kCorrupt.
  int64_t Dequeue(void* out, uint32_t cap, uint32_t* tag, int64_t timeout_ns,
                  const StopCheck& stop = {}) noexcept;

  // ---- fixed-size elements ----
  // Enqueues all `count` elements or none (kFull); kTooLarge when count > capacity; kCorrupt.
  Push TryEnqueueElements(const void* data, uint32_t count) noexcept;
  // Dequeues up to `max` elements into `out`; returns how many (0: empty, or check corrupt()).
  uint32_t TryDequeueElements(void* out, uint32_t max) noexcept;

 private:
  uint32_t* Word(uint32_t index) const noexcept { return words_ + index; }
  uint8_t* Data() const noexcept { return base_ + layout::kSpscDataOffset; }
  void Publish(uint32_t tail) noexcept;
  void Release(uint32_t head) noexcept;
  // The producer's free space at `tail` (capacity less what lies between the head and the tail),
  // reloading the head once when the cached copy says less than `need`; -1 on damage.
  int64_t Room(uint32_t tail, uint32_t need) noexcept;
  // What lies between `head` and the tail, reloading the tail once when the cached copy says
  // nothing; -1 on damage.
  int64_t Used(uint32_t head) noexcept;
  // Waits until *watch != seen: spins, raises *flag, parks on the futex. False when *watch is
  // still `seen` at a last look after the deadline, or when `stop` says so.
  bool Block(uint32_t* flag, uint32_t* watch, uint32_t seen, int64_t deadline_ns,
             const StopCheck& stop) noexcept;

  uint8_t* base_ = nullptr;
  uint32_t* words_ = nullptr;
  uint32_t capacity_ = 0;
  uint32_t mask_ = 0;
  uint32_t element_size_ = 0;
  uint32_t max_message_ = 0;
  uint32_t cached_head_ = 0;  // the producer's copy of head
  uint32_t cached_tail_ = 0;  // the consumer's copy of tail
  bool corrupt_ = false;      // damage was met (kCorrupt)
};

// Monotonic clock in nanoseconds (deadlines of the blocking forms).
int64_t NowNs() noexcept;

}  // namespace shm::msg
