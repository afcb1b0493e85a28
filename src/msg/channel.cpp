// Channel (channel.h): docs/format.md §15 "Channels", the same steps as lib/msg/channel.js, over
// the slot protocol and the waiting of MpmcQueue (mpmc.cpp).
#include "msg/channel.h"

#include <climits>
#include <cstddef>
#include <initializer_list>
#include <utility>

#include "base/atomic.h"
#include "msg/mpmc_words.h"
#include "segment/futex.h"

namespace shm::msg {

namespace L = shm::layout;

namespace {

using namespace mpmc_words;  // NOLINT(build/namespaces): the region's word indices

struct SendArgs {
  Channel* ch;
  const void* data;
  uint32_t length;
  uint32_t tag;
  Push result;
};

struct ReceiveArgs {
  Channel* ch;
  void* out;
  uint32_t cap;
  uint32_t* tag;
  int64_t n;
};

}  // namespace

L::Status Channel::Create(void* base, uint64_t bytes, uint32_t capacity, uint32_t message_bytes,
                          uint32_t start, const OwnerIdentity& self) noexcept {
  const L::Status s = q_.Create(base, bytes, capacity, message_bytes, start, self);
  q_.closable_ = true;
  return s;
}

L::Status Channel::Attach(void* base, uint64_t bytes, const OwnerIdentity& self) noexcept {
  const L::Status s = q_.Attach(base, bytes, self);
  q_.closable_ = true;
  return s;
}

bool Channel::closed() const noexcept {
  return AtomicLoad(q_.Word(kClosed)) != 0;
}

Push Channel::TrySend(const void* data, uint32_t length, uint32_t tag) noexcept {
  if (length > q_.message_bytes()) return Push::kTooLarge;
  if (!ValidMessageTag(tag, length)) return Push::kInvalidArg;  // as MpmcQueue::TryEnqueue
  if (closed()) return Push::kClosed;
  return q_.TryEnqueue(data, length, tag);
}

L::Status Channel::Send(const void* data, uint32_t length, uint32_t tag, int64_t timeout_ns,
                        const StopCheck& stop) noexcept {
  if (length > q_.message_bytes()) return L::kErrMessageTooLarge;
  if (!ValidMessageTag(tag, length)) return L::kErrInvalidArg;
  const int64_t deadline = timeout_ns < 0 ? INT64_MAX : NowNs() + timeout_ns;
  SendArgs a{this, data, length, tag, Push::kFull};
  q_.Block(
      kProducerWaiters, kConsumed, deadline,
      [](void* ctx) noexcept {
        auto* s = static_cast<SendArgs*>(ctx);
        s->result = s->ch->TrySend(s->data, s->length, s->tag);
        return s->result != Push::kFull;
      },
      &a, stop);
  if (a.result == Push::kOk) return L::kOk;
  if (a.result == Push::kCorrupt) return L::kErrCorrupt;
  return a.result == Push::kClosed ? L::kErrChannelClosed : L::kErrQueueTimeout;
}

int64_t Channel::TryReceive(void* out, uint32_t cap, uint32_t* tag) noexcept {
  const int64_t n = q_.TryDequeue(out, cap, tag);
  if (n >= 0 || n == MpmcQueue::kCorrupt) return n;
  // The end: closed, nothing queued and no position claimed by a sender that could still
  // publish it (a claimed slot is published or given up by its sender, or for it when gone).
  if (closed() &&
      static_cast<int32_t>(AtomicLoad(q_.Word(kTail)) - AtomicLoad(q_.Word(kHead))) <= 0) {
    return kEnd;
  }
  return kEmpty;
}

int64_t Channel::Receive(void* out, uint32_t cap, uint32_t* tag, int64_t timeout_ns,
                         const StopCheck& stop) noexcept {
  const int64_t deadline = timeout_ns < 0 ? INT64_MAX : NowNs() + timeout_ns;
  ReceiveArgs a{this, out, cap, tag, kEmpty};
  q_.Block(
      kConsumerWaiters, kProduced, deadline,
      [](void* ctx) noexcept {
        auto* r = static_cast<ReceiveArgs*>(ctx);
        r->n = r->ch->TryReceive(r->out, r->cap, r->tag);
        return r->n != kEmpty;
      },
      &a, stop);
  return a.n;
}

L::Status Channel::Close() noexcept {
  if (!AtomicCas(q_.Word(kClosed), 0, 1)) return L::kErrChannelClosed;
  // Every sleeper of both sides wakes and sees the close (the counts are taken back to 0).
  for (const auto& [waiters, word] :
       {std::pair{kConsumerWaiters, kProduced}, std::pair{kProducerWaiters, kConsumed}}) {
    AtomicStore(q_.Word(waiters), 0);
    AtomicAdd(q_.Word(word), 1);
    futex::Wake(q_.Word(word), INT32_MAX);
  }
  return L::kOk;
}

}  // namespace shm::msg
