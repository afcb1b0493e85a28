// Replaying write-ahead log records (docs/format.md §16, "Records") into a store: the native path
// of a recovery. ApplyWalRecords walks the records of a buffer from its start, checks each one
// exactly as the format's "valid prefix" rules say, and applies it to the store as §16 says each
// type replays, until a record is incomplete (the caller reads more), invalid (the log ends
// there: the caller finds out why), or the store refuses a change.
#pragma once

#include <cstddef>
#include <cstdint>

#include "layout/layout_gen.h"
#include "store/store.h"

namespace shm {

// What a record at the start of a buffer is.
enum class WalCheck : uint8_t {
  kValid,       // a whole record that passes every check
  kIncomplete,  // fewer bytes than its header or its size (more may follow in the file)
  kInvalid,     // fails a check: the log's valid prefix ends before it
  kCandidate,   // a valid set record that the skip filter names: the caller decides (below)
};

// The replay filter of a recovery from a snapshot (format.md §16, "Recovery"): `bits` holds
// mask + 1 bits (a power of two), bit h & mask set for h = XXH32(namespace bytes ‖ key bytes,
// kReplayFilterKeySeed) of each key the log after the snapshot touches and for h =
// XXH32(namespace bytes, kReplayFilterNsSeed) of each namespace it clears or drops.
struct WalSkipFilter {
  const uint8_t* bits = nullptr;
  uint32_t mask = 0;
};

struct WalRecordView {
  layout::WalRecord header;  // a copy: the buffer need not be aligned
  uint32_t size;             // length rounded up to the record alignment
  const uint8_t* ns;
  const uint8_t* key;
  const uint8_t* value;
  uint32_t valueLength;
};

// Checks the record at buf[0, len), expected at LSN `lsn`; on kValid fills *out.
WalCheck CheckWalRecord(const uint8_t* buf, size_t len, uint64_t lsn, WalRecordView* out) noexcept;

struct WalApplied {
  uint64_t records = 0;  // records applied
  uint64_t bytes = 0;    // their sizes: the next record is at buf + bytes, LSN lsn + bytes
  WalCheck stop = WalCheck::kIncomplete;  // what the record at buf + bytes is (when status is kOk)
};

// Applies the valid records at the start of buf[0, len) (the first expected at `lsn`) to `store`,
// a handle of a store nobody else writes, with `nowMs` as the replaying clock (a set whose expiry
// is not after it replays as a delete). Returns kOk when it stopped at an incomplete or invalid
// record (out->stop says which), or the store's status for the record at out->bytes, which is
// then not applied (and neither is anything after it). A valid record whose type's bit is not
// set in `types` (bit t for type t; kAllWalTypes: every type) stops the walk like an invalid one
// (a snapshot holds only sets and settings: the caller refuses anything else). With `skip`
// (bits not null), a set record whose key or namespace bit is set stops the walk unapplied
// (out->stop kCandidate): the caller checks it exactly, applies it or not, and walks on after it.
inline constexpr uint32_t kAllWalTypes = ~uint32_t{0};
layout::Status ApplyWalRecords(Store* store, const uint8_t* buf, size_t len, uint64_t lsn,
                               uint64_t nowMs, WalApplied* out, uint32_t types = kAllWalTypes,
                               WalSkipFilter skip = WalSkipFilter{}) noexcept;

}  // namespace shm
