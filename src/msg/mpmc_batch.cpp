// MpmcQueue's batch claims (mpmc.h): k positions claimed with one CAS, the intent naming them all
// (`extra` = k - 1), each slot still published or released by its own store of seq. The steps
// are docs/format.md §15 "Batches", the same as lib/msg/mpmc-batch.js, so that C++ and JS
// parties of either form share one queue and repair each other's batches.
#include <algorithm>
#include <climits>
#include <cstring>

#include "base/atomic.h"
#include "msg/mpmc.h"
#include "msg/mpmc_words.h"

namespace shm::msg {

namespace L = shm::layout;
using namespace mpmc_words;  // NOLINT(build/namespaces): the region's word indices

// Clears this owner's intent where a party stops without a claim (full, empty, damage), single
// or batch: after a lost CAS it names positions another party claimed, and a live owner that
// names a position holds back its repair (format.md §15, "Intents left after finishing") for as
// long as it claims nothing, which a producer of a full queue (a consumer of an empty one), or a
// party that reported damage, never needs to do. It
// is cleared before the repair too, which would otherwise be held back by this owner's own
// intent. `roles` first, so that the intent never names more positions than it did.
void MpmcQueue::ClearIntent() noexcept {
  // Plain loads of words only this owner writes.
  if (RacyLoad(Intent(slot_, kRoles)) != 0) AtomicStore(Intent(slot_, kRoles), 0);
  if (RacyLoad(Intent(slot_, kExtra)) != 0) AtomicStore(Intent(slot_, kExtra), 0);
}

int64_t MpmcQueue::ClaimAndWrite(const MpmcMessage* msgs, uint32_t want) noexcept {
  for (;;) {
    const uint32_t pos = AtomicLoad(Word(kTail));
    uint32_t k = 0;
    int32_t d = 0;
    while (k < want) {
      d = Diff(AtomicLoad(Seq(pos + k)), SeqOf(pos + k, 0));
      if (d != 0) break;
      ++k;
    }
    if (k == 0) {
      if (d < 0 && AtomicLoad(Word(kTail)) == pos) {
        ClearIntent();
        if (MaybeRepair()) continue;
        return 0;
      }
      if (d > 0 && AtomicLoad(Word(kTail)) == pos) {
        ClearIntent();
        corrupt_ = true;  // ahead of a tail that still names pos (format.md §15, "Damage")
        return kCorrupt;
      }
      continue;  // a stale tail
    }
    // The intent first, naming the whole claim: its first position and how many more follow.
    AtomicStore(Intent(slot_, kProducePos), pos);
    AtomicStore(Intent(slot_, kExtra), k - 1);
    AtomicStore(Intent(slot_, kRoles), kProduce);
    if (!AtomicCas(Word(kTail), pos, pos + k)) continue;
    const bool closed = closable_ && AtomicLoad(Word(kClosed)) != 0;
    if (!closed) {
      for (uint32_t j = 0; j < k; ++j) {
        uint32_t* seq = Seq(pos + j);
        std::memcpy(reinterpret_cast<uint8_t*>(seq) + L::kMpmcSlotHeaderBytes, msgs[j].data,
                    msgs[j].length);
        UnpublishedStore(seq + kRecord, (msgs[j].tag << L::kMsgTagShift) | msgs[j].length);
      }
    }
    // Each slot published by its own store of seq, in order.
    for (uint32_t j = 0; j < k; ++j) {
      AtomicStore(Seq(pos + j), SeqOf(pos + j, closed ? kSkipped : kFull));
    }
    AtomicStore(Intent(slot_, kRoles), 0);
    if (k > 1) AtomicStore(Intent(slot_, kExtra), 0);
    WakeSide(kConsumerWaiters, kProduced);
    return closed ? -1 : k;
  }
}

L::Status MpmcQueue::TryEnqueueBatch(const MpmcMessage* msgs, uint32_t n,
                                     uint32_t* enqueued) noexcept {
  // Only the prefix before a message that cannot be written is enqueued: one larger than a slot,
  // or a record every reader would refuse as damage (spsc.h ValidMessageTag).
  uint32_t end = 0;
  while (end < n && msgs[end].length <= message_bytes_ &&
         ValidMessageTag(msgs[end].tag, msgs[end].length)) {
    ++end;
  }
  uint32_t i = 0;
  L::Status status = L::kOk;
  if (end < n) {
    status = msgs[end].length > message_bytes_ ? L::kErrMessageTooLarge : L::kErrInvalidArg;
  }
  while (i < end) {
    const int64_t k = ClaimAndWrite(msgs + i, std::min({end - i, kMaxClaim, capacity_}));
    if (k < 0) {
      status = k == kCorrupt ? L::kErrCorrupt : L::kErrChannelClosed;
      break;
    }
    if (k == 0) {
      status = L::kOk;  // full before the message it stopped at: that one was not reached
      break;
    }
    i += static_cast<uint32_t>(k);
  }
  *enqueued = i;
  return status;
}

uint32_t MpmcQueue::TryDequeueBatch(void* out, uint64_t cap, MpmcSlice* slices,
                                    uint32_t max) noexcept {
  auto* bytes = static_cast<uint8_t*>(out);
  uint32_t got = 0;
  uint64_t used = 0;
  for (;;) {
    const uint64_t room = (cap - used) / message_bytes_;
    const uint32_t want =
        static_cast<uint32_t>(std::min<uint64_t>({max - got, kMaxClaim, capacity_, room}));
    if (want == 0) return got;
    const uint32_t pos = AtomicLoad(Word(kHead));
    uint32_t k = 0;
    int32_t d = 0;
    while (k < want) {
      d = Diff(AtomicLoad(Seq(pos + k)), SeqOf(pos + k, 0));
      if (d != static_cast<int32_t>(kFull) && d != static_cast<int32_t>(kSkipped)) break;
      ++k;
    }
    if (k == 0) {
      if (d <= 0 && AtomicLoad(Word(kHead)) == pos) {
        ClearIntent();
        // Empty at pos, unless a producer claimed pos and is gone.
        if (d == 0 && Diff(AtomicLoad(Word(kTail)), pos) > 0 && MaybeRepair()) continue;
        return got;
      }
      if (d > static_cast<int32_t>(kSkipped) && AtomicLoad(Word(kHead)) == pos) {
        ClearIntent();
        corrupt_ = true;  // ahead of a head that still names pos: the caller checks corrupt()
        return got;
      }
      continue;
    }
    AtomicStore(Intent(slot_, kConsumePos), pos);
    AtomicStore(Intent(slot_, kExtra), k - 1);
    AtomicStore(Intent(slot_, kRoles), kConsume);
    if (!AtomicCas(Word(kHead), pos, pos + k)) continue;
    // Read and release in order; nobody but this claimer moves the claimed slots now.
    for (uint32_t j = 0; j < k; ++j) {
      uint32_t* seq = Seq(pos + j);
      if (AtomicLoad(seq) == SeqOf(pos + j, kFull)) {
        const uint32_t h = RacyLoad(seq + kRecord);
        const uint32_t length = std::min<uint32_t>(h & L::kMsgLengthMask, message_bytes_);
        std::memcpy(bytes + used, reinterpret_cast<uint8_t*>(seq) + L::kMpmcSlotHeaderBytes,
                    length);
        slices[got] = MpmcSlice{used, length, h >> L::kMsgTagShift};
        used += length;
        ++got;
      }
      AtomicStore(seq, SeqOf(pos + j + capacity_, 0));
    }
    AtomicStore(Intent(slot_, kRoles), 0);
    if (k > 1) AtomicStore(Intent(slot_, kExtra), 0);
    WakeSide(kProducerWaiters, kConsumed);
  }
}

namespace {

struct EnqueueBatchArgs {
  MpmcQueue* q;
  const MpmcMessage* msgs;
  uint32_t n;
  uint32_t done;
  L::Status status;
};

struct DequeueBatchArgs {
  MpmcQueue* q;
  void* out;
  uint64_t cap;
  MpmcSlice* slices;
  uint32_t max;
  uint32_t got;
};

}  // namespace

L::Status MpmcQueue::EnqueueBatch(const MpmcMessage* msgs, uint32_t n, uint32_t* enqueued,
                                  int64_t timeout_ns, const StopCheck& stop) noexcept {
  const int64_t deadline = timeout_ns < 0 ? INT64_MAX : NowNs() + timeout_ns;
  EnqueueBatchArgs a{this, msgs, n, 0, L::kOk};
  const bool ok = Block(
      kProducerWaiters, kConsumed, deadline,
      [](void* ctx) noexcept {
        auto* e = static_cast<EnqueueBatchArgs*>(ctx);
        uint32_t k = 0;
        e->status = e->q->TryEnqueueBatch(e->msgs + e->done, e->n - e->done, &k);
        e->done += k;
        return e->status != L::kOk || e->done == e->n;
      },
      &a, stop);
  *enqueued = a.done;
  return ok ? a.status : L::kErrQueueTimeout;
}

uint32_t MpmcQueue::DequeueBatch(void* out, uint64_t cap, MpmcSlice* slices, uint32_t max,
                                 int64_t timeout_ns, const StopCheck& stop) noexcept {
  const int64_t deadline = timeout_ns < 0 ? INT64_MAX : NowNs() + timeout_ns;
  DequeueBatchArgs a{this, out, cap, slices, max, 0};
  Block(
      kConsumerWaiters, kProduced, deadline,
      [](void* ctx) noexcept {
        auto* d = static_cast<DequeueBatchArgs*>(ctx);
        d->got = d->q->TryDequeueBatch(d->out, d->cap, d->slices, d->max);
        return d->got > 0 || d->q->corrupt();
      },
      &a, stop);
  return a.got;
}

}  // namespace shm::msg
