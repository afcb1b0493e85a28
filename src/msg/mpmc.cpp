// MpmcQueue (mpmc.h). The protocol, step by step, is docs/format.md §15 "MPMC queue"; the same
// steps as lib/msg/mpmc.js and lib/msg/mpmc-slots.js.
#include "msg/mpmc.h"

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstring>

#include "base/atomic.h"
#include "msg/mpmc_words.h"
#include "segment/futex.h"

namespace shm::msg {

namespace L = shm::layout;

namespace {

using namespace mpmc_words;  // NOLINT(build/namespaces): the region's word indices
constexpr uint32_t kMagic = offsetof(L::MsgHeader, magic) / kWord;
constexpr uint32_t kKind = offsetof(L::MsgHeader, kind) / kWord;
constexpr uint32_t kVersion = offsetof(L::MsgHeader, version) / kWord;
constexpr uint32_t kCapacity = offsetof(L::MsgHeader, capacity) / kWord;
constexpr uint32_t kElementSize = offsetof(L::MsgHeader, elementSize) / kWord;
constexpr uint32_t kOwnerTableSlots = L::kMpmcOwnerSlots;
constexpr uint64_t kMaxBytes = uint64_t{1} << 31;
constexpr int64_t kRecheckNs = L::kMpmcRecheckMs * 1'000'000;
constexpr int kSpins = 50;
static_assert(L::kMpmcOwnersOffset == L::kMpmcControlOffset + sizeof(L::MpmcControl));
static_assert(L::kMpmcSlotsOffset ==
              L::kMpmcIntentsOffset + L::kMpmcOwnerSlots * sizeof(L::MpmcIntent));
static_assert(L::kMpmcSlotHeaderBytes == sizeof(L::MpmcSlot));
// MPMC_INTENT_SPREAD intent records fill one cache line, UNIT (the claim order of owner slots).
static_assert(L::kMpmcIntentSpread * sizeof(L::MpmcIntent) == L::kUnit);

uint32_t StrideOf(uint32_t message_bytes) {
  const uint32_t a = L::kMpmcSlotAlign;
  return (L::kMpmcSlotHeaderBytes + message_bytes + a - 1) / a * a;
}

}  // namespace

uint64_t MpmcQueue::BytesFor(uint32_t capacity, uint32_t message_bytes) noexcept {
  return L::kMpmcSlotsOffset + uint64_t{capacity} * StrideOf(message_bytes);
}

bool MpmcQueue::ValidShape(uint32_t capacity, uint32_t message_bytes) noexcept {
  return capacity >= L::kMpmcMinCapacity && capacity <= L::kMpmcMaxCapacity &&
         (capacity & (capacity - 1)) == 0 && message_bytes >= 1 &&
         message_bytes <= L::kMpmcMaxMessageBytes && BytesFor(capacity, message_bytes) <= kMaxBytes;
}

L::Status MpmcQueue::Create(void* base, uint64_t bytes, uint32_t capacity, uint32_t message_bytes,
                            uint32_t start, const OwnerIdentity& self) noexcept {
  if (base == nullptr || reinterpret_cast<uintptr_t>(base) % 8 != 0) return L::kErrInvalidArg;
  if (!ValidShape(capacity, message_bytes)) return L::kErrInvalidArg;
  if (bytes < BytesFor(capacity, message_bytes)) return L::kErrBadSize;
  auto* w = static_cast<uint32_t*>(base);
  std::memset(base, 0, L::kMpmcSlotsOffset);
  AtomicStore(w + kTail, start);
  AtomicStore(w + kHead, start);
  const uint32_t stride = StrideOf(message_bytes);
  auto* slots = static_cast<uint8_t*>(base) + L::kMpmcSlotsOffset;
  for (uint32_t k = 0; k < capacity; ++k) {
    const uint32_t p = start + k;
    AtomicStore(reinterpret_cast<uint32_t*>(slots + uint64_t{p & (capacity - 1)} * stride),
                SeqOf(p, 0));
  }
  AtomicStore(w + kKind, L::kMsgKindMpmc);
  AtomicStore(w + kVersion, L::kMsgFormatVersion);
  AtomicStore(w + kCapacity, capacity);
  AtomicStore(w + kElementSize, message_bytes);
  AtomicStore(w + kMagic, L::kMsgMagic);  // last: an opener sees a whole queue
  return Attach(base, bytes, self);
}

L::Status MpmcQueue::Attach(void* base, uint64_t bytes, const OwnerIdentity& self) noexcept {
  Detach();
  if (base == nullptr || reinterpret_cast<uintptr_t>(base) % 8 != 0) return L::kErrInvalidArg;
  if (bytes < L::kMpmcSlotsOffset) return L::kErrBadSize;
  auto* w = static_cast<uint32_t*>(base);
  if (AtomicLoad(w + kMagic) != L::kMsgMagic || AtomicLoad(w + kKind) != L::kMsgKindMpmc) {
    return L::kErrBadMagic;
  }
  if (AtomicLoad(w + kVersion) != L::kMsgFormatVersion) return L::kErrBadVersion;
  const uint32_t capacity = AtomicLoad(w + kCapacity);
  const uint32_t message_bytes = AtomicLoad(w + kElementSize);
  if (!ValidShape(capacity, message_bytes)) return L::kErrCorrupt;
  if (bytes < BytesFor(capacity, message_bytes)) return L::kErrBadSize;
  base_ = static_cast<uint8_t*>(base);
  words_ = w;
  owners_ = reinterpret_cast<L::Owner*>(base_ + L::kMpmcOwnersOffset);
  self_ = self;
  capacity_ = capacity;
  mask_ = capacity - 1;
  message_bytes_ = message_bytes;
  stride_ = StrideOf(message_bytes);
  uint32_t slot = ClaimOwnerSlot(owners_, self, kOwnerTableSlots, L::kMpmcIntentSpread);
  if (slot == 0) {
    // A full table: a gone owner's record is taken over (its intent zeroed) only once every
    // position its intent names is finished (format.md §15, "Parties that are gone").
    slot = AdoptDeadOwnerSlot(
        owners_, self, kOwnerTableSlots,
        [](void* q, uint32_t o) noexcept { return static_cast<MpmcQueue*>(q)->FinishIntent(o); },
        this);
  }
  if (slot == 0) {
    base_ = nullptr;
    return L::kErrTooManyHandles;
  }
  slot_ = slot;
  AtomicStore(Intent(slot_, kRoles), 0);
  AtomicStore(Intent(slot_, kExtra), 0);  // a batch claim sets it and puts it back to 0
  return L::kOk;
}

void MpmcQueue::Detach() noexcept {
  if (base_ == nullptr) return;
  AtomicStore(Intent(slot_, kRoles), 0);
  ReleaseOwnerSlot(owners_, slot_);
  base_ = nullptr;
  slot_ = 0;
}

uint32_t MpmcQueue::skipped_writes() const noexcept {
  return AtomicLoad(Word(kSkippedWrites));
}

uint32_t MpmcQueue::skipped_reads() const noexcept {
  return AtomicLoad(Word(kSkippedReads));
}

uint32_t* MpmcQueue::Seq(uint32_t pos) const noexcept {
  return reinterpret_cast<uint32_t*>(base_ + L::kMpmcSlotsOffset + uint64_t{pos & mask_} * stride_);
}

uint32_t* MpmcQueue::Intent(uint32_t owner, uint32_t field) const noexcept {
  return words_ + kIntents + owner * kIntentWords + field;
}

bool MpmcQueue::ClaimerGone(uint32_t role, uint32_t pos) noexcept {
  const uint32_t field = role == kProduce ? kProducePos : kConsumePos;
  int named = 0;
  for (uint32_t o = 1; o < kOwnerTableSlots; ++o) {
    if ((AtomicLoad(Intent(o, kRoles)) & role) == 0) continue;
    // The owner's claim in progress: 1 + extra positions from its producePos/consumePos.
    if (pos - AtomicLoad(Intent(o, field)) > AtomicLoad(Intent(o, kExtra))) continue;
    if (ClassifyOwner(&owners_[o], self_) != OwnerStatus::kGone) return false;
    ++named;
  }
  return named > 0;
}

// Whether position `pos` may be claimed and unfinished for producing (`index` kTail) or consuming
// (kHead): 0 < index - pos <= capacity. A producer's claimed position stops the consumers there,
// and no producer claims past it by more than a lap; a consumer's unreleased slot stops the
// producers a lap on. A sequence word repeats every 2^30 positions, so a position a stale intent
// names is told from the one in flight in its slot by this window, not by the word.
bool MpmcQueue::InFlight(uint32_t index, uint32_t pos) noexcept {
  const int32_t d = Diff(AtomicLoad(Word(index)), pos);
  return d > 0 && static_cast<uint32_t>(d) <= capacity_;
}

bool MpmcQueue::RepairProduced(uint32_t pos) noexcept {
  uint32_t* seq = Seq(pos);
  if (!InFlight(kTail, pos) || AtomicLoad(seq) != SeqOf(pos, 0)) return false;
  if (!ClaimerGone(kProduce, pos)) return false;
  if (!AtomicCas(seq, SeqOf(pos, 0), SeqOf(pos, kSkipped))) return false;
  AtomicAdd(Word(kSkippedWrites), 1);
  return true;
}

bool MpmcQueue::RepairConsumed(uint32_t pos) noexcept {
  uint32_t* seq = Seq(pos);
  const uint32_t s = AtomicLoad(seq);
  if (!InFlight(kHead, pos) || (s != SeqOf(pos, kFull) && s != SeqOf(pos, kSkipped))) {
    return false;
  }
  if (!ClaimerGone(kConsume, pos)) return false;
  if (!AtomicCas(seq, s, SeqOf(pos + capacity_, 0))) return false;
  if (s == SeqOf(pos, kFull)) AtomicAdd(Word(kSkippedReads), 1);
  return true;
}

bool MpmcQueue::FinishIntent(uint32_t o) noexcept {
  const uint32_t roles = AtomicLoad(Intent(o, kRoles));
  const uint32_t extra = AtomicLoad(Intent(o, kExtra));
  if (extra >= capacity_) return true;  // not an intent any implementation writes: names nothing
  const uint32_t produce_pos = AtomicLoad(Intent(o, kProducePos));
  const uint32_t consume_pos = AtomicLoad(Intent(o, kConsumePos));
  // Every position of its claim (a batch takes 1 + extra), finished by the repair unless a live
  // party names it too (the claimer, when the gone owner lost the CAS; or one that lost it).
  for (uint32_t k = 0; k <= extra; ++k) {
    if (roles & kProduce) {
      const uint32_t pos = produce_pos + k;
      RepairProduced(pos);
      if (InFlight(kTail, pos) && AtomicLoad(Seq(pos)) == SeqOf(pos, 0)) {
        return false;  // claimed, still unpublished
      }
    }
    if (roles & kConsume) {
      const uint32_t pos = consume_pos + k;
      RepairConsumed(pos);
      const uint32_t s = AtomicLoad(Seq(pos));
      if (InFlight(kHead, pos) && (s == SeqOf(pos, kFull) || s == SeqOf(pos, kSkipped))) {
        return false;  // claimed, still unreleased
      }
    }
  }
  return true;
}

int MpmcQueue::RepairStuck() noexcept {
  // The slot at the head and the slot of tail - capacity, and the slots after each while they
  // are finished too (a gone party's batch leaves several in a row).
  int n = 0;
  for (uint32_t p = AtomicLoad(Word(kHead)); RepairProduced(p); ++p) ++n;
  for (uint32_t p = AtomicLoad(Word(kTail)) - capacity_; RepairConsumed(p); ++p) ++n;
  return n;
}

bool MpmcQueue::MaybeRepair() noexcept {
  const int64_t now = NowNs();
  if (now - last_repair_ns_ < kRecheckNs) return false;
  last_repair_ns_ = now;
  return RepairStuck() > 0;
}

Push MpmcQueue::TryEnqueue(const void* data, uint32_t length, uint32_t tag) noexcept {
  if (length > message_bytes_) return Push::kTooLarge;
  // A record every reader would refuse as damage is never written (spsc.h ValidMessageTag).
  if (!ValidMessageTag(tag, length)) return Push::kInvalidArg;
  for (;;) {
    const uint32_t pos = AtomicLoad(Word(kTail));
    uint32_t* seq = Seq(pos);
    const int32_t d = Diff(AtomicLoad(seq), SeqOf(pos, 0));
    if (d == 0) {
      // The intent first: whoever finds this slot claimed and unfinished can tell who claimed it.
      AtomicStore(Intent(slot_, kProducePos), pos);
      AtomicStore(Intent(slot_, kRoles), kProduce);
      if (AtomicCas(Word(kTail), pos, pos + 1)) {
        // A channel closed before this claim: the slot is given up (consumers skip it) and the
        // send fails, so that nothing is delivered after a receiver may have seen the end.
        if (closable_ && AtomicLoad(Word(kClosed)) != 0) {
          AtomicStore(seq, SeqOf(pos, kSkipped));
          AtomicStore(Intent(slot_, kRoles), 0);
          WakeSide(kConsumerWaiters, kProduced);
          return Push::kClosed;
        }
        std::memcpy(reinterpret_cast<uint8_t*>(seq) + L::kMpmcSlotHeaderBytes, data, length);
        UnpublishedStore(seq + kRecord, (tag << L::kMsgTagShift) | length);
        AtomicStore(seq, SeqOf(pos, kFull));
        AtomicStore(Intent(slot_, kRoles), 0);
        WakeSide(kConsumerWaiters, kProduced);
        return Push::kOk;
      }
    } else if (d < 0 && AtomicLoad(Word(kTail)) == pos) {
      AtomicStore(Intent(slot_, kRoles), 0);
      if (MaybeRepair()) continue;
      return Push::kFull;
    } else if (d > 0 && AtomicLoad(Word(kTail)) == pos) {
      // Ahead of a tail that still names pos: damage, not a stale tail (format.md §15). After a
      // lost CAS the intent names the position its winner claimed, and this party may claim
      // nothing more: left, it would hold back that position's repair were the winner gone.
      ClearIntent();
      corrupt_ = true;
      return Push::kCorrupt;
    }
  }
}

int64_t MpmcQueue::TryDequeue(void* out, uint32_t cap, uint32_t* tag) noexcept {
  for (;;) {
    const uint32_t pos = AtomicLoad(Word(kHead));
    uint32_t* seq = Seq(pos);
    const int32_t d = Diff(AtomicLoad(seq), SeqOf(pos, 0));
    if (d == static_cast<int32_t>(kFull) || d == static_cast<int32_t>(kSkipped)) {
      AtomicStore(Intent(slot_, kConsumePos), pos);
      AtomicStore(Intent(slot_, kRoles), kConsume);
      if (!AtomicCas(Word(kHead), pos, pos + 1)) continue;
      int64_t n = -1;
      if (d == static_cast<int32_t>(kFull)) {
        const uint32_t h = RacyLoad(seq + kRecord);
        const uint32_t length = std::min<uint32_t>(h & L::kMsgLengthMask, message_bytes_);
        if (tag != nullptr) *tag = h >> L::kMsgTagShift;
        n = length;
        std::memcpy(out, reinterpret_cast<uint8_t*>(seq) + L::kMpmcSlotHeaderBytes,
                    std::min(length, cap));
      }
      AtomicStore(seq, SeqOf(pos + capacity_, 0));
      AtomicStore(Intent(slot_, kRoles), 0);
      WakeSide(kProducerWaiters, kConsumed);
      if (n >= 0) return n;
    } else if (d <= 0 && AtomicLoad(Word(kHead)) == pos) {
      AtomicStore(Intent(slot_, kRoles), 0);
      // Empty, unless a producer that claimed pos is gone: asked at most once per recheck
      // period, without reading tail first (the producer's line; format.md §15, Dequeue).
      if (d == 0 && MaybeRepair()) continue;
      return -1;
    } else if (d > static_cast<int32_t>(kSkipped) && AtomicLoad(Word(kHead)) == pos) {
      // Ahead of a head that still names pos (format.md §15, "Damage"): the intent cleared, as
      // when empty (it may name a position another party claimed).
      ClearIntent();
      corrupt_ = true;
      return kCorrupt;
    }
  }
}

void MpmcQueue::WakeSide(uint32_t waiters, uint32_t word) noexcept {
  if (AtomicLoad(Word(waiters)) != 0 && AtomicExchange(Word(waiters), 0) != 0) {
    AtomicAdd(Word(word), 1);
    futex::Wake(Word(word), INT32_MAX);
  }
}

bool MpmcQueue::Block(uint32_t waiters, uint32_t word, int64_t deadline, Attempt attempt, void* ctx,
                      const StopCheck& stop) noexcept {
  for (int i = 0; i < kSpins; ++i) {
    if (attempt(ctx)) return true;
    CpuRelax();
  }
  for (;;) {
    const int64_t left = deadline - NowNs();
    // One last attempt once the deadline has passed: what came after the attempt above (after the
    // last sleep) and before the deadline must not be left behind while the call reports a
    // timeout. A stop seen before the deadline makes none: nobody may be left to get what it
    // would take.
    if (left <= 0) return attempt(ctx);
    if (stop()) return false;
    // The wake word is read before registering: read after, it could already have been moved by
    // a waker that took this registration for a message another party then took, and the wait on
    // it would have no registration left for the next waker (format.md §15, "Waking"). Registered
    // until a waker takes the count back to 0 (a timed-out sleeper's count costs one needless
    // wake).
    const uint32_t seen = AtomicLoad(Word(word));
    AtomicAdd(Word(waiters), 1);
    if (attempt(ctx)) return true;
    futex::Wait(Word(word), seen, std::min(left, kRecheckNs));
    if (attempt(ctx)) return true;
  }
}

namespace {

struct EnqueueArgs {
  MpmcQueue* q;
  const void* data;
  uint32_t length;
  uint32_t tag;
  Push result;
};

struct DequeueArgs {
  MpmcQueue* q;
  void* out;
  uint32_t cap;
  uint32_t* tag;
  int64_t n;
};

}  // namespace

L::Status MpmcQueue::Enqueue(const void* data, uint32_t length, uint32_t tag, int64_t timeout_ns,
                             const StopCheck& stop) noexcept {
  if (length > message_bytes_) return L::kErrMessageTooLarge;
  if (!ValidMessageTag(tag, length)) return L::kErrInvalidArg;
  const int64_t deadline = timeout_ns < 0 ? INT64_MAX : NowNs() + timeout_ns;
  EnqueueArgs a{this, data, length, tag, Push::kFull};
  const bool ok = Block(
      kProducerWaiters, kConsumed, deadline,
      [](void* ctx) noexcept {
        auto* e = static_cast<EnqueueArgs*>(ctx);
        e->result = e->q->TryEnqueue(e->data, e->length, e->tag);
        return e->result != Push::kFull;
      },
      &a, stop);
  if (!ok) return L::kErrQueueTimeout;
  return a.result == Push::kOk ? L::kOk : L::kErrCorrupt;
}

int64_t MpmcQueue::Dequeue(void* out, uint32_t cap, uint32_t* tag, int64_t timeout_ns,
                           const StopCheck& stop) noexcept {
  const int64_t deadline = timeout_ns < 0 ? INT64_MAX : NowNs() + timeout_ns;
  DequeueArgs a{this, out, cap, tag, -1};
  Block(
      kConsumerWaiters, kProduced, deadline,
      [](void* ctx) noexcept {
        auto* d = static_cast<DequeueArgs*>(ctx);
        d->n = d->q->TryDequeue(d->out, d->cap, d->tag);
        return d->n >= 0 || d->n == kCorrupt;
      },
      &a, stop);
  return a.n;
}

}  // namespace shm::msg
