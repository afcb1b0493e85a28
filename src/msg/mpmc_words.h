// The word indices of an MPMC queue region (docs/format.md §15) as u32 offsets from its start:
// shared by mpmc.cpp and channel.cpp, derived from the generated layout (no numbers of its own).
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

}  // namespace shm::msg::mpmc_words
