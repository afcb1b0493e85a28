// What the MPMC queue's GoogleTests share: the words of an intent record and of a slot, and a claim
// that loses its CAS to a party of a process that has exited (format.md §15, "Parties that are
// gone").
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>

#include "base/atomic.h"
#include "layout/layout_gen.h"
#include "msg/mpmc.h"

namespace mpmc_test {

namespace L = shm::layout;
using shm::msg::MpmcQueue;

inline uint32_t* IntentAt(uint8_t* base, uint32_t owner, size_t field) {
  auto* intent = reinterpret_cast<L::MpmcIntent*>(base + L::kMpmcIntentsOffset) + owner;
  return reinterpret_cast<uint32_t*>(reinterpret_cast<uint8_t*>(intent) + field);
}

// The sequence word of position `pos` of a queue of `capacity` slots of `message_bytes` bytes.
inline uint32_t* SeqAt(uint8_t* base, uint32_t capacity, uint32_t message_bytes, uint32_t pos) {
  const uint32_t a = L::kMpmcSlotAlign;
  const uint32_t stride = (L::kMpmcSlotHeaderBytes + message_bytes + a - 1) / a * a;
  return reinterpret_cast<uint32_t*>(base + L::kMpmcSlotsOffset +
                                     uint64_t{pos & (capacity - 1)} * stride);
}

inline uint32_t IntentWord(uint8_t* base, uint32_t owner, size_t field) {
  return shm::AtomicLoad(IntentAt(base, owner, field));
}

// A claim that loses its CAS to a party that then dies: `claim()` runs on this thread (a single
// call of `claimer`, or a batch call that claims at most one position) while another thread,
// standing for the party `gone` of a process that has exited, claims the position at the index at
// the same moment (`tail` for L::kMpmcIntentProduce, `head` for L::kMpmcIntentConsume) as format.md
// §15 says (its own intent, then the CAS of the index), and never finishes it, as a party killed
// between its claim and its publication (release). Returns whether the race went the way under
// test: that party won the position, and the claimer's intent named it meanwhile (the claimer
// stores it after finding the slot ready and before its CAS, which then failed).
template <class Claim>
bool LoseAClaimToAGoneParty(uint8_t* base, const MpmcQueue& claimer, const MpmcQueue& gone,
                            uint32_t role, Claim claim) {
  const bool produce = role == L::kMpmcIntentProduce;
  uint32_t* index = reinterpret_cast<uint32_t*>(
      base + L::kMpmcControlOffset +
      (produce ? offsetof(L::MpmcControl, tail) : offsetof(L::MpmcControl, head)));
  const size_t field =
      produce ? offsetof(L::MpmcIntent, producePos) : offsetof(L::MpmcIntent, consumePos);
  const uint32_t pos = shm::AtomicLoad(index);
  std::atomic<int> ready{0};
  std::atomic<bool> done{false}, lost{false};
  std::thread racer([&] {
    ready.fetch_add(1);
    while (ready.load() < 2) {
    }
    shm::AtomicStore(IntentAt(base, gone.owner_slot(), field), pos);
    shm::AtomicStore(IntentAt(base, gone.owner_slot(), offsetof(L::MpmcIntent, roles)), role);
    if (!shm::AtomicCas(index, pos, pos + 1)) return;
    // Won: did the claimer name pos before it returned?
    uint32_t* roles = IntentAt(base, claimer.owner_slot(), offsetof(L::MpmcIntent, roles));
    uint32_t* named = IntentAt(base, claimer.owner_slot(), field);
    for (bool last = false; !last;) {
      last = done.load();
      if ((shm::AtomicLoad(roles) & role) != 0 && shm::AtomicLoad(named) == pos) lost = true;
    }
  });
  ready.fetch_add(1);
  while (ready.load() < 2) {
  }
  claim();
  done = true;
  racer.join();
  return lost.load();
}

inline constexpr int kRaceTrials = 100'000;

}  // namespace mpmc_test
