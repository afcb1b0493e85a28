// The count cells of the native engine (docs/format.md §5, "Count cells"): the store's entry
// count, the count of entries that carry an expiry, each namespace's count and the grant of
// entries under maxEntries, kept in COUNT_CELLS
// cells so that writers counting in different cells share no word. A handle counts in cell
// (owner slot mod COUNT_CELLS). Every word is modular u32; a cell's unused grant is
// (limit - entries) as int32. Mirrors lib/store/js/cells.js.
//
// Every change of a cell's words is made under a bucket lock (an insert, a delete, an eviction,
// a drop's clearing of a bucket), so a repair pass, which holds every bucket lock, sees them at
// rest. Between two of a party's steps the words may be off by what that party holds (one
// entry, or one chunk); a party killed there leaves them so until a repair pass recounts.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/atomic.h"
#include "layout/layout_gen.h"

namespace shm {

class CountCells {
 public:
  static constexpr uint32_t kCells = static_cast<uint32_t>(layout::kCountCells);
  static constexpr uint32_t kChunk = static_cast<uint32_t>(layout::kCountGrantChunk);
  // A cell's namespace counts follow its head: namespace i's at word kNs + i.
  static constexpr uint32_t kNs = sizeof(layout::CountCell) / 4;
  static_assert(sizeof(layout::CountCell) == 64, "a cell's head is one line");
  static_assert(offsetof(layout::CountCell, limit) == 0 &&
                    offsetof(layout::CountCell, entries) == 4 &&
                    offsetof(layout::CountCell, expiring) == 8,
                "limit, entries and expiring are the head's first words");

  CountCells() = default;
  // `cells`: cell 0's first word; `cellWords`: a cell's stride in u32; `slot`: the handle's owner
  // slot, which picks its cell.
  CountCells(uint32_t* granted, uint32_t* cells, uint64_t cellWords, uint32_t maxNs,
             uint32_t maxEntries) noexcept
      : granted_(granted),
        cells_(cells),
        cellWords_(cellWords),
        maxNs_(maxNs),
        maxEntries_(maxEntries),
        own_(cells) {}
  void SetSlot(uint32_t slot) noexcept { own_ = Cell(slot % kCells); }

  uint32_t* Cell(uint32_t k) const noexcept { return cells_ + k * cellWords_; }

  // Takes one entry of the grant for an insert: from this handle's cell, else from a chunk (or
  // one entry) of Header.grantedEntries added to its limit, else from any cell's unused grant.
  // Returns the cell that counts the entry, or nullptr: the store holds maxEntries.
  uint32_t* Take() noexcept {
    for (;;) {
      if (Reserve(own_)) return own_;
      if (!Grant()) return Steal();
    }
  }
  // Gives back an entry Take() counted in `cell` that was never linked.
  static void Untake(uint32_t* cell) noexcept { AtomicSub(cell + kEntries, 1); }
  // Counts a linked insert into namespace ns (its entry counted by Take()).
  void Inserted(uint32_t ns) noexcept { AtomicAdd(own_ + kNs + ns, 1); }
  // Counts one more live entry with an expiry: before the store that links it (an insert, or a
  // set that gives an entry without one an expiry), so that the sum is not below the entries the
  // chains hold that may expire but while a party is between two steps.
  void ExpiryLinked() noexcept { AtomicAdd(own_ + kExpiring, 1); }
  // Counts n fewer live entries with an expiry: after the store that unlinked them (or a set
  // that replaced an entry with an expiry by one without).
  void ExpiryUnlinked(uint32_t n) noexcept { AtomicSub(own_ + kExpiring, n); }
  // Counts n entries of ns unlinked by this handle, `expiring` of them with an expiry (an id out
  // of range, of a damaged entry, has no count); a grant of more than two chunks unused goes back
  // to the header, all but one.
  void Removed(uint32_t ns, uint32_t n, uint32_t expiring) noexcept {
    if (ns >= 1 && ns <= maxNs_) AtomicSub(own_ + kNs + ns, n);
    if (expiring != 0) AtomicSub(own_ + kExpiring, expiring);
    const uint32_t left = AtomicSub(own_ + kEntries, n) - n;
    if (Unused(RacyLoad(own_ + kLimit), left) > static_cast<int32_t>(2 * kChunk)) Lower();
  }

  // The store's entry count, and namespace ns's (a sum above maxEntries is a negative one,
  // reported as 0 until a repair pass recounts).
  uint32_t EntryCount() const noexcept { return AsCount(Sum(kEntries)); }
  // The live entries that carry an expiry, as the sum of the cells' `expiring` (a hint: the
  // decision whether the eviction hand may find an expired entry, format.md §8 "Eviction").
  uint32_t ExpiringCount() const noexcept { return AsCount(Sum(kExpiring)); }
  uint32_t NsCount(uint32_t ns) const noexcept { return AsCount(Sum(kNs + ns)); }
  // Namespace id's count set to 0 in every cell: for a record that becomes free or is created.
  void ClearNs(uint32_t id) noexcept {
    for (uint32_t k = 0; k < kCells; ++k) AtomicStore(Cell(k) + kNs + id, 0);
  }

  // The repair pass (every lock held): the counts found in cell 0, granted exactly, the other
  // cells empty. expiring: the entries found with an expiry; nsCounts[i]: what the chains hold of
  // live namespace i (0 for the others).
  void Recount(uint32_t entries, uint32_t expiring, const uint32_t* nsCounts) noexcept {
    for (uint32_t k = 0; k < kCells; ++k) {
      uint32_t* c = Cell(k);
      for (uint64_t w = 0; w < cellWords_; ++w) UnpublishedStore(c + w, 0);
    }
    UnpublishedStore(cells_ + kLimit, entries);
    UnpublishedStore(cells_ + kEntries, entries);
    UnpublishedStore(cells_ + kExpiring, expiring);
    for (uint32_t i = 1; i <= maxNs_; ++i) UnpublishedStore(cells_ + kNs + i, nsCounts[i]);
    AtomicStore(granted_, entries);
  }

  // For verify(): the sum of the cells' limits, of their entries, and of namespace ns's counts
  // (modulo 2^32); the first cell whose entries exceed its limit (kCells: none).
  uint32_t SumLimits() const noexcept { return Sum(kLimit); }
  uint32_t SumEntries() const noexcept { return Sum(kEntries); }
  uint32_t SumExpiring() const noexcept { return Sum(kExpiring); }
  uint32_t SumNs(uint32_t ns) const noexcept { return Sum(kNs + ns); }
  int32_t UnusedOf(uint32_t k) const noexcept {
    return Unused(AtomicLoad(Cell(k) + kLimit), AtomicLoad(Cell(k) + kEntries));
  }

 private:
  static constexpr uint32_t kLimit = offsetof(layout::CountCell, limit) / 4;
  static constexpr uint32_t kEntries = offsetof(layout::CountCell, entries) / 4;
  static constexpr uint32_t kExpiring = offsetof(layout::CountCell, expiring) / 4;

  static int32_t Unused(uint32_t limit, uint32_t entries) noexcept {
    return static_cast<int32_t>(limit - entries);
  }
  uint32_t AsCount(uint32_t s) const noexcept { return s > maxEntries_ ? 0 : s; }
  uint32_t Sum(uint32_t w) const noexcept {
    uint32_t s = 0;
    for (uint32_t k = 0; k < kCells; ++k) s += AtomicLoad(Cell(k) + w);
    return s;
  }

  // Counts one more entry in `cell` if its grant has room: the add first, then the limit, so that
  // two parties of the cell never both take its last entry (a lowering of the limit is ordered
  // before the add to the cell's entries that follows it: Lower()).
  static bool Reserve(uint32_t* cell) noexcept {
    const uint32_t n = AtomicAdd(cell + kEntries, 1) + 1;
    if (Unused(AtomicLoad(cell + kLimit), n) >= 0) return true;
    AtomicSub(cell + kEntries, 1);
    return false;
  }
  // Adds a chunk of Header.grantedEntries (or the one entry left) to this cell's limit; false when
  // maxEntries are granted. An add that overshoots is taken back.
  bool Grant() noexcept {
    if (static_cast<uint64_t>(AtomicAdd(granted_, kChunk)) + kChunk <= maxEntries_) {
      AtomicAdd(own_ + kLimit, kChunk);
      return true;
    }
    AtomicSub(granted_, kChunk);
    if (AtomicAdd(granted_, 1) < maxEntries_) {
      AtomicAdd(own_ + kLimit, 1);
      return true;
    }
    AtomicSub(granted_, 1);
    return false;
  }
  // One entry of any cell's unused grant, counted in that cell (this handle's own too: a party
  // of the cell may have raised its limit since). nullptr when none has any.
  uint32_t* Steal() noexcept {
    for (uint32_t k = 0; k < kCells; ++k) {
      uint32_t* c = Cell(k);
      if (Unused(AtomicLoad(c + kLimit), AtomicLoad(c + kEntries)) > 0 && Reserve(c)) return c;
    }
    return nullptr;
  }
  // Gives back this cell's unused grant beyond one chunk: reserves that much in the cell first (as
  // if inserting), lowers the limit, then lets the reservation go, so that a party of the cell
  // that read the limit before the lowering still had room; then the header takes it back.
  void Lower() noexcept {
    const int32_t spare = Unused(AtomicLoad(own_ + kLimit), AtomicLoad(own_ + kEntries)) -
                          static_cast<int32_t>(kChunk);
    if (spare <= 0) return;
    const uint32_t s = static_cast<uint32_t>(spare);
    const uint32_t n = AtomicAdd(own_ + kEntries, s) + s;
    if (Unused(AtomicLoad(own_ + kLimit), n) >= 0) {
      AtomicSub(own_ + kLimit, s);
      AtomicSub(granted_, s);
    }
    AtomicSub(own_ + kEntries, s);
  }

  uint32_t* granted_ = nullptr;
  uint32_t* cells_ = nullptr;
  uint64_t cellWords_ = 0;
  uint32_t maxNs_ = 0;
  uint32_t maxEntries_ = 0;
  uint32_t* own_ = nullptr;
};

}  // namespace shm
