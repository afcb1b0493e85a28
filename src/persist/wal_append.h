// Appending a set to the write-ahead log in one native step (docs/format.md §16, "A mutation"
// and "Appending"): the store write, the record's encoding, its CRC32C and its copy into the
// shared mapping of the log file, under the append lock of the control segment with the key's
// stripe seen free, exactly as the JavaScript engine's set does it (lib/persist/logged-store.js,
// _fastSet). Only the path that needs no waiting and no file operation is taken here: an append
// lock held by someone else for longer than a short spin, a stripe held by anyone, a record that
// would not fit the allocated and mapped part of the current file, a file switched by a
// checkpoint or a log that failed to sync leave everything untouched and return kElsewhere, and
// the caller takes the general path (which waits, takes over locks of gone holders, grows and
// maps the file). A copy into allocated, mapped space cannot fail, so the store write needs no
// undo: once the store took it, the record is logged.
#pragma once

#include <cstddef>
#include <cstdint>

#include "layout/layout_gen.h"
#include "store/store.h"

namespace shm {

// The aligned size of a record with these lengths (format.md §16, "Records").
inline constexpr uint64_t WalRecordSize(uint64_t nsLength, uint64_t keyLength,
                                        uint64_t valueLength) noexcept {
  const uint64_t length = layout::kWalRecordHeaderSize + nsLength + keyLength + valueLength;
  return (length + layout::kWalRecordAlign - 1) / layout::kWalRecordAlign * layout::kWalRecordAlign;
}

// One record's fields; the byte ranges are copied, not kept.
struct WalRecordFields {
  uint8_t type = 0;
  uint8_t encoding = 0;
  uint64_t lsn = 0;
  uint64_t expiresAt = 0;
  const void* ns = nullptr;
  uint32_t nsLength = 0;  // 0..255
  const void* key = nullptr;
  uint32_t keyLength = 0;  // 0..1024
  const void* value = nullptr;
  uint32_t valueLength = 0;
};

// Writes the complete record (header, name, key, value, zero padding, checksum) to
// dst[0, WalRecordSize(...)): byte for byte what lib/persist/record.js encodes and seals.
void EncodeWalRecord(uint8_t* dst, const WalRecordFields& f) noexcept;

// Seals the record encoded in rec[0, capacity) (every field but lsn, expiresAt and checksum
// written, its padding zero): writes `lsn` and `expiresAt`, then its CRC32C, and copies the whole
// aligned record to dst[0, size). Returns the size, or 0 with nothing written when its length
// field is below the header or the record would not fit `capacity` or `room` bytes at dst (the
// caller's bug). The JavaScript engine's set builds the record (lib/persist/set-record.js) and
// seals it here: byte for byte what SetRecord#seal writes.
uint64_t SealWalRecord(uint8_t* dst, size_t room, uint8_t* rec, size_t capacity, uint64_t lsn,
                       uint64_t expiresAt) noexcept;

// Ends an append made under the control segment's append lock (`control`: its
// C.PERSIST_CONTROL_BYTES bytes) by the owner slot `ownerSlot`: moves the tail to `end` (the
// record below it completely written), then releases the append lock if that slot holds it (as
// lib/ownership/waiter.js release does: a lock taken over from this slot is left alone). The
// JavaScript engine's set ends its append this way inside the sealer's call
// (binding/persist/record_sealer.cc).
void PublishWalAppend(uint8_t* control, uint32_t ownerSlot, uint64_t end) noexcept;

// A handle's view of a persisted store's log: the control segment, and the mapping of the current
// log file (map, mapLength: its first mapLength bytes; fileStart: the LSN in its name).
struct WalTarget {
  uint8_t* control = nullptr;  // C.PERSIST_CONTROL_BYTES bytes
  uint32_t ownerSlot = 0;      // this handle's owner record in the control segment's table
  uint8_t* map = nullptr;
  size_t mapLength = 0;
  uint64_t fileStart = 0;
  // PersistRecovery.recoveries when the handle's store was attached: an append that finds it
  // changed goes the general way, which refuses it (the store was rebuilt from the log by another
  // opener, format.md §16 "Recovery").
  uint32_t recoveries = 0;
};
// PersistRecovery.recoveries of a control segment, for WalTarget.recoveries.
uint32_t RecoveriesOf(const uint8_t* control) noexcept;

// The stripe rule's hash (format.md §16, "Stripes"): FNV-1a over the UTF-16 code units of the
// namespace name, one unit 0, and the key, each unit folded in as one 32-bit value, a lone
// surrogate as U+FFFD; the stripe is its low 8 bits (lib/persist/control.js, Control.stripeOf).
inline constexpr uint32_t kStripeHashStart = 0x811C9DC5u;
inline constexpr uint32_t kStripeHashPrime = 0x01000193u;
inline constexpr uint32_t StripeFold(uint32_t h, uint32_t unit) noexcept {
  return (h ^ unit) * kStripeHashPrime;
}
// Folds the n UTF-16 units into h. A lone surrogate (not part of a pair) is folded in as U+FFFD,
// as the store keeps it in the UTF-8 form of a key or name: every spelling of one key has one
// stripe, which orders its writes in the log.
inline uint32_t StripeFoldUnits(uint32_t h, const char16_t* units, size_t n) noexcept {
  for (size_t i = 0; i < n; ++i) {
    uint32_t c = units[i];
    if ((c & 0xF800u) == 0xD800u) {
      const bool pairs = c < 0xDC00u ? i + 1 < n && (units[i + 1] & 0xFC00u) == 0xDC00u
                                     : i > 0 && (units[i - 1] & 0xFC00u) == 0xD800u;
      if (!pairs) c = 0xFFFDu;
    }
    h = StripeFold(h, c);
  }
  return h;
}
inline constexpr uint32_t StripeOfHash(uint32_t h) noexcept {
  return h & (layout::kPersistStripes - 1);
}

// The append of a record of `size` bytes at the tail, in the mapping of `t`, the way a set that
// leaves its stripe alone takes it (format.md §16, "A mutation"): takes the append lock as
// t.ownerSlot (within a short spin, then a few yields), then checks that the key's `stripe` is
// free, the log has not failed, startLsn names the mapped file and the record fits the allocated
// file and the mapping. True with the lock held (its word in *held), the record's LSN in *lsn and
// its byte offset in the mapping in *at, and the cache lines of that place asked for (the place
// is memory no one touched since the prefault made its page present, on another thread); false
// with nothing held otherwise.
bool TakeMappedAppend(const WalTarget& t, uint32_t stripe, uint64_t size, uint64_t* lsn,
                      uint64_t* at, uint32_t* held) noexcept;

struct WalSet {
  uint32_t ns = 0;  // the store's namespace id
  const void* nsName = nullptr;
  uint32_t nsLength = 0;
  const void* key = nullptr;
  uint32_t keyLength = 0;
  const void* value = nullptr;
  uint32_t valueLength = 0;
  uint32_t encoding = 0;
  uint64_t expiresAt = kExpiryDefault;  // as Store::Set takes it
  uint32_t stripe = 0;                  // format.md §16, "Stripes" (computed by the caller)
};

enum class WalSetResult : uint8_t {
  kLogged,     // in the store and in the log: *end is the LSN after the record
  kRefused,    // the store refused the write (*status): nothing changed, nothing logged
  kElsewhere,  // not taken here (see above): nothing changed, nothing logged
};

WalSetResult SetAndLog(Store* store, const WalTarget& target, const WalSet& w, uint64_t* end,
                       layout::Status* status) noexcept;

}  // namespace shm
