// MpmcQueue: the bounded lock-free multi-producer multi-consumer queue of docs/format.md §15 over
// memory the caller maps, the same bytes and protocol as lib/msg/mpmc.js (slot sequence words of
// 4 × position + state; an owner record and an intent record per handle, so that the slot of a
// party that is gone is finished by the others). No Node headers, no exceptions; the hot paths
// do not allocate.
#pragma once

#include <cstdint>

#include "layout/layout_gen.h"
#include "msg/spsc.h"
#include "ownership/owners.h"

namespace shm::msg {

// One message of a batch to enqueue: `length` bytes at `data` with record tag `tag`.
struct MpmcMessage {
  const void* data;
  uint32_t length;
  uint32_t tag;
};

// Where a dequeued message of a batch landed in the caller's buffer.
struct MpmcSlice {
  uint64_t offset;
  uint32_t length;
  uint32_t tag;
};

class MpmcQueue {
 public:
  // Bytes a queue of `capacity` slots of `message_bytes` payload bytes needs.
  static uint64_t BytesFor(uint32_t capacity, uint32_t message_bytes) noexcept;
  static bool ValidShape(uint32_t capacity, uint32_t message_bytes) noexcept;

  MpmcQueue() = default;
  MpmcQueue(const MpmcQueue&) = delete;
  MpmcQueue& operator=(const MpmcQueue&) = delete;
  ~MpmcQueue() { Detach(); }

  // Writes a new queue at `base` (8-byte aligned, `bytes` long) with both positions at `start`
  // (a test hook for the wrap at 2^32), then attaches as `self`. kErrInvalidArg, kErrBadSize.
  layout::Status Create(void* base, uint64_t bytes, uint32_t capacity, uint32_t message_bytes,
                        uint32_t start, const OwnerIdentity& self) noexcept;
  // Attaches to an existing queue as `self`, claiming an owner record: kErrBadMagic,
  // kErrBadVersion, kErrCorrupt, kErrBadSize, kErrTooManyHandles.
  layout::Status Attach(void* base, uint64_t bytes, const OwnerIdentity& self) noexcept;
  // Releases the owner record (also done by the destructor).
  void Detach() noexcept;

  uint32_t capacity() const noexcept { return capacity_; }
  uint32_t message_bytes() const noexcept { return message_bytes_; }
  uint32_t owner_slot() const noexcept { return slot_; }
  uint32_t skipped_writes() const noexcept;
  uint32_t skipped_reads() const noexcept;

  // What the dequeue forms return, and Push::kCorrupt for the enqueue forms, when a slot's
  // sequence word is ahead of the index that names its position (format.md §15, "Damage"):
  // damage, which retrying would spin on for ever. corrupt() then stays true.
  static constexpr int64_t kCorrupt = -3;
  bool corrupt() const noexcept { return corrupt_; }

  // kOk, kFull, kTooLarge, kCorrupt, or kInvalidArg for a `tag` (with `length`) no reader takes
  // (spsc.h ValidMessageTag): nothing is written.
  Push TryEnqueue(const void* data, uint32_t length, uint32_t tag) noexcept;
  // Blocks while full: kOk, kErrQueueTimeout, kErrMessageTooLarge, kErrCorrupt, kErrInvalidArg
  // (a tag as TryEnqueue refuses it). timeout_ns < 0: forever.
  layout::Status Enqueue(const void* data, uint32_t length, uint32_t tag, int64_t timeout_ns,
                         const StopCheck& stop = {}) noexcept;
  // The next message's length (copied to `out`, which holds `cap` >= message_bytes() bytes), or
  // -1 when empty, kCorrupt. Skips slots given up by gone producers.
  int64_t TryDequeue(void* out, uint32_t cap, uint32_t* tag) noexcept;
  // Blocks while empty; -1 after timeout_ns (negative: forever), kCorrupt.
  int64_t Dequeue(void* out, uint32_t cap, uint32_t* tag, int64_t timeout_ns,
                  const StopCheck& stop = {}) noexcept;

  // The most positions one batch claim takes (format.md §15 "Batches"), as lib/msg/mpmc-batch.js.
  static constexpr uint32_t kMaxClaim = 64;

  // Enqueues msgs[0..n-1] in order, as many as there is room for now, claiming up to kMaxClaim
  // positions with one CAS of `tail` (the intent names the whole claim: `extra` = k - 1). Sets
  // *enqueued to how many (a prefix). kOk (all, or full before the rest); kErrMessageTooLarge
  // when msgs[*enqueued] is larger than message_bytes(), kErrInvalidArg when its tag is one no
  // reader takes (spsc.h ValidMessageTag; those before it are enqueued);
  // kErrChannelClosed for a channel closed before a claim (channel.h).
  layout::Status TryEnqueueBatch(const MpmcMessage* msgs, uint32_t n, uint32_t* enqueued) noexcept;
  // Like TryEnqueueBatch, blocking while full until all n are enqueued: kErrQueueTimeout after
  // timeout_ns (negative: forever), *enqueued saying how many were.
  layout::Status EnqueueBatch(const MpmcMessage* msgs, uint32_t n, uint32_t* enqueued,
                              int64_t timeout_ns, const StopCheck& stop = {}) noexcept;
  // Dequeues up to `max` messages, claiming up to kMaxClaim positions with one CAS of `head`
  // and each time only as many as are sure to fit in what is left of `out` (cap bytes) at
  // message_bytes() each; copies them one after the other into `out` and describes message j in
  // slices[j]. Returns how many (0: empty; check corrupt() to tell damage, format.md §15).
  // Skips slots given up by gone producers.
  uint32_t TryDequeueBatch(void* out, uint64_t cap, MpmcSlice* slices, uint32_t max) noexcept;
  // Like TryDequeueBatch, blocking until at least one message arrives; 0 after timeout_ns
  // (negative: forever) or on damage (corrupt()).
  uint32_t DequeueBatch(void* out, uint64_t cap, MpmcSlice* slices, uint32_t max,
                        int64_t timeout_ns, const StopCheck& stop = {}) noexcept;

  // Finishes the slots of gone parties that block the queue (format.md §15); returns how many.
  // Reads /proc only for a slot that is claimed and unfinished.
  int RepairStuck() noexcept;

 private:
  // The channel (channel.h) reuses the slot protocol and the waiting, and makes sends fail once
  // the `closed` word is set.
  friend class Channel;
  using Attempt = bool (*)(void* ctx) noexcept;

  uint32_t* Word(uint32_t index) const noexcept { return words_ + index; }
  uint32_t* Seq(uint32_t pos) const noexcept;
  uint32_t* Intent(uint32_t owner, uint32_t field) const noexcept;
  bool ClaimerGone(uint32_t role, uint32_t pos) noexcept;
  bool InFlight(uint32_t index, uint32_t pos) noexcept;
  bool RepairProduced(uint32_t pos) noexcept;
  bool RepairConsumed(uint32_t pos) noexcept;
  bool MaybeRepair() noexcept;
  // Before gone owner `o`'s record is adopted (the caller holds its actor word): finishes the
  // positions its intent names, which nothing would name once its intent is zeroed. False while
  // one is still claimed and unfinished (a live party names it too): the record is left alone.
  bool FinishIntent(uint32_t o) noexcept;
  // Sets this owner's intent back to idle (roles, then extra) where a claim, single or batch,
  // stops without one: full, empty, damage (format.md §15, "Intents left after finishing").
  void ClearIntent() noexcept;
  // One batch claim at the tail of up to `want` messages, written and published: k (0: full),
  // -1 when a channel was closed before the claim (the slots were given up), or kCorrupt.
  int64_t ClaimAndWrite(const MpmcMessage* msgs, uint32_t want) noexcept;
  // Waits on `word` registered in `waiters` until attempt(ctx) succeeds, or the deadline passes
  // and one last attempt fails (false), or `stop` says so (false).
  bool Block(uint32_t waiters, uint32_t word, int64_t deadline, Attempt attempt, void* ctx,
             const StopCheck& stop) noexcept;
  // Wakes the sleepers registered in `waiters` since the last wake, once (the count is taken back).
  void WakeSide(uint32_t waiters, uint32_t word) noexcept;

  uint8_t* base_ = nullptr;
  uint32_t* words_ = nullptr;
  layout::Owner* owners_ = nullptr;
  OwnerIdentity self_{};
  uint32_t slot_ = 0;
  uint32_t capacity_ = 0;
  uint32_t mask_ = 0;
  uint32_t message_bytes_ = 0;
  uint32_t stride_ = 0;
  int64_t last_repair_ns_ = INT64_MIN / 2;
  bool closable_ = false;  // a channel's handle: a claim made after the close is given up
  bool corrupt_ = false;   // a claim met a slot ahead of its position (kCorrupt)
};

}  // namespace shm::msg
