#include "persist/wal_append.h"

#include <sched.h>

#include <cstring>

#include "base/atomic.h"
#include "ownership/lockword.h"
#include "persist/crc32c.h"

namespace shm {

namespace L = layout;

namespace {

constexpr size_t kHeader = L::kWalRecordHeaderSize;
static_assert(sizeof(L::WalRecord) == kHeader, "the record header is the generated struct");

// Pauses a writer spends on a held lock before it yields. The append lock is held for
// about a microsecond (a store write and one record's copy), while the general path costs
// several times that: with 4 writer processes on 2 cores, 8% of sets found a lock held at the
// first look and went the general way.
constexpr uint32_t kTakeSpins = 128;
// Then the processor is yielded this many times, looking again after each. More threads than
// cores (4 writer threads on 2) leave a holder preempted now and then: it outlasts the spin, and
// every writer behind it went the general way, whose waiter sleeps for tens of microseconds at
// least (measured: 1% of sets, with sleeps that took 8% of the writers' time). A yield lets the
// holder run. A holder that is gone outlasts the yields too, and the general path takes over.
constexpr uint32_t kTakeYields = 16;

// Takes the lock word at `word` as `slot`, looking again for a bounded spin, then bounded yields,
// while it is held; false (nothing taken) when it stayed held.
bool TryTake(uint32_t* word, uint32_t slot, uint32_t* held) noexcept {
  for (uint32_t i = 0;; ++i) {
    const uint32_t w = AtomicLoad(word);
    if (!LockIsHeld(w) && TryLockFrom(word, w, slot, held)) return true;
    if (i == kTakeSpins + kTakeYields) return false;
    if (i < kTakeSpins) {
      CpuRelax();
    } else {
      sched_yield();
    }
  }
}

// Asks for the cache lines of dst[0, n) for writing, up to kPrefetchBytes: the record's place in
// the log's mapping is memory no one touched since its page was made present (on another thread,
// growth.js), whose lines a store would otherwise wait for one after another.
constexpr uint64_t kPrefetchBytes = 512;
constexpr uint64_t kCacheLine = 64;
void PrefetchForWrite(const uint8_t* dst, uint64_t n) noexcept {
  const uint64_t end = n < kPrefetchBytes ? n : kPrefetchBytes;
  for (uint64_t i = 0; i < end; i += kCacheLine) __builtin_prefetch(dst + i, 1, 3);
  __builtin_prefetch(dst + end - 1, 1, 3);
}

}  // namespace

void EncodeWalRecord(uint8_t* dst, const WalRecordFields& f) noexcept {
  const uint32_t length = static_cast<uint32_t>(kHeader + f.nsLength + f.keyLength + f.valueLength);
  const uint64_t size = WalRecordSize(f.nsLength, f.keyLength, f.valueLength);
  L::WalRecord h{};
  h.length = length;
  h.lsn = f.lsn;
  h.expiresAt = f.expiresAt;
  h.type = f.type;
  h.encoding = f.encoding;
  h.nsLength = static_cast<uint8_t>(f.nsLength);
  h.keyLength = static_cast<uint16_t>(f.keyLength);
  std::memcpy(dst, &h, kHeader);
  uint8_t* at = dst + kHeader;
  if (f.nsLength != 0) std::memcpy(at, f.ns, f.nsLength);
  at += f.nsLength;
  if (f.keyLength != 0) std::memcpy(at, f.key, f.keyLength);
  at += f.keyLength;
  if (f.valueLength != 0) std::memcpy(at, f.value, f.valueLength);
  // The padding is written: the bytes may hold a torn record of a writer that died (§16).
  std::memset(dst + length, 0, size - length);
  constexpr size_t kCovered = offsetof(L::WalRecord, length);
  const uint32_t crc = Crc32c(dst + kCovered, length - kCovered);
  std::memcpy(dst + offsetof(L::WalRecord, checksum), &crc, sizeof crc);
}

uint64_t SealWalRecord(uint8_t* dst, size_t room, uint8_t* rec, size_t capacity, uint64_t lsn,
                       uint64_t expiresAt) noexcept {
  uint32_t length = 0;
  std::memcpy(&length, rec + offsetof(L::WalRecord, length), sizeof length);
  const uint64_t size =
      (uint64_t{length} + L::kWalRecordAlign - 1) / L::kWalRecordAlign * L::kWalRecordAlign;
  if (length < kHeader || size > capacity || size > room) return 0;
  std::memcpy(rec + offsetof(L::WalRecord, lsn), &lsn, sizeof lsn);
  std::memcpy(rec + offsetof(L::WalRecord, expiresAt), &expiresAt, sizeof expiresAt);
  constexpr size_t kCovered = offsetof(L::WalRecord, length);
  const uint32_t crc = Crc32c(rec + kCovered, length - kCovered);
  std::memcpy(rec + offsetof(L::WalRecord, checksum), &crc, sizeof crc);
  std::memcpy(dst, rec, size);
  return size;
}

uint32_t RecoveriesOf(const uint8_t* control) noexcept {
  const auto* rec =
      reinterpret_cast<const L::PersistRecovery*>(control + L::kPersistRecoveryOffset);
  return AtomicLoad(&rec->recoveries);
}

void PublishWalAppend(uint8_t* control, uint32_t ownerSlot, uint64_t end) noexcept {
  auto* log = reinterpret_cast<L::PersistLog*>(control + L::kPersistLogOffset);
  AtomicStore64(&log->tail, end);
  const uint32_t w = AtomicLoad(&log->appendLock);
  if (LockIsHeld(w) && LockOwnerOf(w) == ownerSlot) Unlock(&log->appendLock, w);
}

bool TakeMappedAppend(const WalTarget& t, uint32_t stripe, uint64_t size, uint64_t* lsn,
                      uint64_t* at, uint32_t* held) noexcept {
  if (t.map == nullptr || t.control == nullptr || stripe >= L::kPersistStripes) return false;
  uint8_t* const c = t.control;
  auto* log = reinterpret_cast<L::PersistLog*>(c + L::kPersistLogOffset);
  auto* rec = reinterpret_cast<L::PersistRecovery*>(c + L::kPersistRecoveryOffset);
  const auto* stripeWord = reinterpret_cast<const uint32_t*>(c + L::kPersistStripesOffset +
                                                             stripe * L::kPersistStripeSize);
  uint32_t appendHeld = 0;
  if (!TryTake(&log->appendLock, t.ownerSlot, &appendHeld)) return false;
  // Held: the append lock. The stripe is read after the lock's compare-and-swap (both sequentially
  // consistent): a writer that took it and writes the store outside the append lock passes
  // through the append lock before its store write, so a stripe seen free here stays unwritten
  // until this append is done (format.md §16, "A mutation"); one seen held (by anyone, a gone
  // holder included) sends the set the general way, which waits for it.
  const uint64_t x = AtomicLoad64(&log->tail);
  const uint64_t place = L::kWalFileHeaderSize + (x - t.fileStart);
  if (LockIsHeld(AtomicLoad(stripeWord)) || AtomicLoad(&rec->failed) != 0 ||
      AtomicLoad(&rec->recoveries) != t.recoveries || AtomicLoad64(&log->startLsn) != t.fileStart ||
      x < t.fileStart || place + size > AtomicLoad64(&log->fileBytes) ||
      place + size > t.mapLength) {
    Unlock(&log->appendLock, appendHeld);
    return false;
  }
  // The record is written after the store write: its lines are asked for now.
  PrefetchForWrite(t.map + place, size);
  *lsn = x;
  *at = place;
  *held = appendHeld;
  return true;
}

WalSetResult SetAndLog(Store* store, const WalTarget& t, const WalSet& w, uint64_t* end,
                       L::Status* status) noexcept {
  const uint64_t size = WalRecordSize(w.nsLength, w.keyLength, w.valueLength);
  uint64_t lsn = 0;
  uint64_t at = 0;
  uint32_t appendHeld = 0;
  if (!TakeMappedAppend(t, w.stripe, size, &lsn, &at, &appendHeld)) {
    return WalSetResult::kElsewhere;
  }
  auto* log = reinterpret_cast<L::PersistLog*>(t.control + L::kPersistLogOffset);
  WalSetResult result = WalSetResult::kElsewhere;
  uint64_t expiry = 0;
  const L::Status s = store->Set(w.ns, w.key, w.keyLength, w.value, w.valueLength, w.encoding,
                                 w.expiresAt, &expiry);
  if (s != L::kOk) {
    *status = s;
    result = WalSetResult::kRefused;
  } else {
    WalRecordFields f;
    f.type = L::kWalRecSet;
    f.encoding = static_cast<uint8_t>(w.encoding);
    f.lsn = lsn;
    f.expiresAt = expiry;
    f.ns = w.nsName;
    f.nsLength = w.nsLength;
    f.key = w.key;
    f.keyLength = w.keyLength;
    f.value = w.value;
    f.valueLength = w.valueLength;
    EncodeWalRecord(t.map + at, f);
    // Only once the whole record is written does the tail pass it.
    AtomicStore64(&log->tail, lsn + size);
    *end = lsn + size;
    result = WalSetResult::kLogged;
  }
  Unlock(&log->appendLock, appendHeld);
  return result;
}

}  // namespace shm
