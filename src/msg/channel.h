// Channel: an MPMC queue that can be closed, with Go's semantics (docs/format.md §15,
// "Channels"): the same bytes as MpmcQueue (mpmc.h) and the same protocol as lib/msg/channel.js,
// so C++ and JS senders and receivers share one channel and each sees the other's close. A send
// fails once the `closed` word is set (a send that claimed its slot before seeing it gives the
// slot up); receivers drain what was sent, then see the end. No Node headers, no exceptions.
#pragma once

#include <cstdint>

#include "layout/layout_gen.h"
#include "msg/mpmc.h"
#include "ownership/owners.h"

namespace shm::msg {

class Channel {
 public:
  // What the receive calls return instead of a length: nothing queued now (or the wait ran
  // out), or the end (closed and drained: nothing will ever come).
  static constexpr int64_t kEmpty = -1;
  static constexpr int64_t kEnd = -2;
  static constexpr int64_t kCorrupt = MpmcQueue::kCorrupt;  // damage (format.md §15)

  static uint64_t BytesFor(uint32_t capacity, uint32_t message_bytes) noexcept {
    return MpmcQueue::BytesFor(capacity, message_bytes);
  }

  // As MpmcQueue::Create and MpmcQueue::Attach (a channel is any MPMC queue region).
  layout::Status Create(void* base, uint64_t bytes, uint32_t capacity, uint32_t message_bytes,
                        uint32_t start, const OwnerIdentity& self) noexcept;
  layout::Status Attach(void* base, uint64_t bytes, const OwnerIdentity& self) noexcept;
  void Detach() noexcept { q_.Detach(); }

  // kOk, kFull, kTooLarge, kClosed once the channel is closed, kCorrupt, or kInvalidArg for a
  // `tag` (with `length`) no reader takes (spsc.h ValidMessageTag).
  Push TrySend(const void* data, uint32_t length, uint32_t tag) noexcept;
  // Blocks while full: kOk, kErrChannelClosed, kErrQueueTimeout, kErrMessageTooLarge,
  // kErrCorrupt, kErrInvalidArg (a tag as TrySend refuses it). timeout_ns < 0: forever.
  layout::Status Send(const void* data, uint32_t length, uint32_t tag, int64_t timeout_ns,
                      const StopCheck& stop = {}) noexcept;
  // The next message's length (copied to `out`, `cap` >= message_bytes()), kEmpty, kEnd or
  // kCorrupt.
  int64_t TryReceive(void* out, uint32_t cap, uint32_t* tag) noexcept;
  // Blocks while empty: a length, kEnd, kCorrupt, or kEmpty after timeout_ns (negative: forever).
  int64_t Receive(void* out, uint32_t cap, uint32_t* tag, int64_t timeout_ns,
                  const StopCheck& stop = {}) noexcept;
  // Closes the channel for every party and wakes every waiting one: kOk, or kErrChannelClosed
  // when it was closed already.
  layout::Status Close() noexcept;
  bool closed() const noexcept;

  uint32_t capacity() const noexcept { return q_.capacity(); }
  uint32_t message_bytes() const noexcept { return q_.message_bytes(); }

 private:
  MpmcQueue q_;
};

}  // namespace shm::msg
