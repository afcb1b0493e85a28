// The word indices of an MPMC queue region (docs/format.md §15) as u32 offsets from its start,
// the fields of an intent record and of a slot, and the sequence-word arithmetic: shared by
// mpmc.cpp, mpmc_batch.cpp and channel.cpp, derived from the generated layout (no numbers of its
// own).
#pragma once

#include <cstddef>
#include <cstdint>

#include "layout/layout_gen.h"

namespace shm::msg::mpmc_words {

constexpr uint32_t kWord = 4;
constexpr uint32_t kCtl = layout::kMpmcControlOffset / kWord;
constexpr uint32_t kTail = kCtl + offsetof(layout::MpmcControl, tail) / kWord;
constexpr uint32_t kHead = kCtl + offsetof(layout::MpmcControl, head) / kWord;
constexpr uint32_t kProduced = kCtl + offsetof(layout::MpmcControl, produced) / kWord;
constexpr uint32_t kConsumed = kCtl + offsetof(layout::MpmcControl, consumed) / kWord;
constexpr uint32_t kConsumerWaiters = kCtl + offsetof(layout::MpmcControl, consumerWaiters) / kWord;
constexpr uint32_t kProducerWaiters = kCtl + offsetof(layout::MpmcControl, producerWaiters) / kWord;
constexpr uint32_t kSkippedWrites = kCtl + offsetof(layout::MpmcControl, skippedWrites) / kWord;
constexpr uint32_t kSkippedReads = kCtl + offsetof(layout::MpmcControl, skippedReads) / kWord;
constexpr uint32_t kClosed = kCtl + offsetof(layout::MpmcControl, closed) / kWord;
constexpr uint32_t kIntents = layout::kMpmcIntentsOffset / kWord;
constexpr uint32_t kIntentWords = sizeof(layout::MpmcIntent) / kWord;
constexpr uint32_t kRoles = offsetof(layout::MpmcIntent, roles) / kWord;
constexpr uint32_t kProducePos = offsetof(layout::MpmcIntent, producePos) / kWord;
constexpr uint32_t kConsumePos = offsetof(layout::MpmcIntent, consumePos) / kWord;
constexpr uint32_t kExtra = offsetof(layout::MpmcIntent, extra) / kWord;
constexpr uint32_t kProduce = layout::kMpmcIntentProduce;
constexpr uint32_t kConsume = layout::kMpmcIntentConsume;
constexpr uint32_t kFull = layout::kMpmcSeqFull;
constexpr uint32_t kSkipped = layout::kMpmcSeqSkipped;
constexpr uint32_t kRecord = offsetof(layout::MpmcSlot, record) / kWord;

// The sequence word of position `pos` in state `state` (mod 2^32).
constexpr uint32_t SeqOf(uint32_t pos, uint32_t state) {
  return (pos << layout::kMpmcSeqShift) + state;
}

// The signed distance a - b of two u32 counters (less than 2^31 apart).
constexpr int32_t Diff(uint32_t a, uint32_t b) {
  return static_cast<int32_t>(a - b);
}

}  // namespace shm::msg::mpmc_words
