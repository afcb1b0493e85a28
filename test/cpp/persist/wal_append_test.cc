// The native logged set (src/persist/wal_append.h): the record it encodes is one the replay's
// checks accept, with the fields given; SetAndLog writes the store and the record at the tail
// under the append lock with the key's stripe seen free (and left alone) and advances the tail,
// and leaves everything untouched when the append lock or the stripe is held, the record would
// not fit the allocated and mapped file, the file was switched or the log failed.
#include "persist/wal_append.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/atomic.h"
#include "ownership/lockword.h"
#include "persist/wal_replay.h"

namespace shm::test {
namespace {

namespace L = shm::layout;

constexpr uint32_t kSlot = 7;

class WalAppend : public ::testing::Test {
 protected:
  void SetUp() override {
    void* p = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    base_ = static_cast<uint8_t*>(p);
    ASSERT_EQ(Store::Create(base_, kSize, 64, 40), L::kOk);
    ASSERT_EQ(Store::Attach(base_, kSize, static_cast<uint32_t>(getpid()), 1, 1000, &store_),
              L::kOk);
    ASSERT_EQ(store_->ResolveNamespace("ns", 2, true, &ns_), L::kOk);
    control_.assign(L::kPersistControlBytes, 0);
    file_.assign(4096, 0);
    target_.control = control_.data();
    target_.ownerSlot = kSlot;
    target_.map = file_.data();
    target_.mapLength = file_.size();
    target_.fileStart = 0;
    log()->fileBytes = file_.size();
  }
  void TearDown() override {
    store_.reset();
    munmap(base_, kSize);
  }

  L::PersistLog* log() {
    return reinterpret_cast<L::PersistLog*>(control_.data() + L::kPersistLogOffset);
  }

  WalSet Write(const std::string& key, const std::string& value) {
    key_ = key;
    value_ = value;
    WalSet w;
    w.ns = ns_;
    w.nsName = "ns";
    w.nsLength = 2;
    w.key = key_.data();
    w.keyLength = static_cast<uint32_t>(key_.size());
    w.value = value_.data();
    w.valueLength = static_cast<uint32_t>(value_.size());
    w.encoding = L::kEncUtf8;
    w.stripe = 5;
    return w;
  }

  bool Has(const std::string& key) {
    bool found = false;
    EXPECT_EQ(store_->Has(ns_, key.data(), static_cast<uint32_t>(key.size()), &found), L::kOk);
    return found;
  }

  static constexpr size_t kSize = 1 << 20;
  uint8_t* base_ = nullptr;
  std::unique_ptr<Store> store_;
  uint32_t ns_ = 0;
  std::vector<uint8_t> control_;
  std::vector<uint8_t> file_;
  WalTarget target_;
  std::string key_;
  std::string value_;
};

TEST_F(WalAppend, EncodesARecordTheReplayAccepts) {
  std::vector<uint8_t> buf(WalRecordSize(3, 4, 5), 0xAB);
  WalRecordFields f;
  f.type = L::kWalRecSet;
  f.encoding = 2;
  f.lsn = 4096;
  f.expiresAt = 123456;
  f.ns = "abc";
  f.nsLength = 3;
  f.key = "keys";
  f.keyLength = 4;
  f.value = "value";
  f.valueLength = 5;
  EncodeWalRecord(buf.data(), f);
  ASSERT_EQ(buf.size(), 48u);  // 32 + 12 bytes, rounded up to 8
  WalRecordView v;
  ASSERT_EQ(CheckWalRecord(buf.data(), buf.size(), 4096, &v), WalCheck::kValid);
  EXPECT_EQ(v.header.expiresAt, 123456u);
  EXPECT_EQ(v.header.encoding, 2u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(v.value), v.valueLength), "value");
  for (size_t i = 44; i < 48; ++i) EXPECT_EQ(buf[i], 0) << "padding byte " << i;
  EXPECT_EQ(CheckWalRecord(buf.data(), buf.size(), 4104, &v), WalCheck::kInvalid);  // LSN
}

TEST_F(WalAppend, SetsAndLogsAtTheTailAndReleasesTheLocks) {
  log()->tail = 40;
  uint64_t end = 0;
  L::Status s = L::kOk;
  ASSERT_EQ(SetAndLog(store_.get(), target_, Write("k", "v1"), &end, &s), WalSetResult::kLogged);
  EXPECT_EQ(end, 40u + WalRecordSize(2, 1, 2));
  EXPECT_EQ(log()->tail, end);
  EXPECT_TRUE(Has("k"));
  WalRecordView v;
  ASSERT_EQ(CheckWalRecord(file_.data() + L::kWalFileHeaderSize + 40, 64, 40, &v),
            WalCheck::kValid);
  EXPECT_EQ(v.header.expiresAt, 0u);
  EXPECT_FALSE(LockIsHeld(log()->appendLock));
  EXPECT_NE(log()->appendLock, 0u);  // taken and released: the version moved
  const auto* stripe = reinterpret_cast<const uint32_t*>(
      control_.data() + L::kPersistStripesOffset + 5 * L::kPersistStripeSize);
  EXPECT_EQ(*stripe, 0u);  // only looked at (format.md §16, "A mutation")
}

TEST_F(WalAppend, LeavesEverythingUntouchedWhenItCannotLogHere) {
  uint64_t end = 0;
  L::Status s = L::kOk;
  const auto expectUntouched = [&](const char* why) {
    EXPECT_EQ(SetAndLog(store_.get(), target_, Write("k", "v"), &end, &s), WalSetResult::kElsewhere)
        << why;
    EXPECT_FALSE(Has("k")) << why;
    EXPECT_EQ(log()->tail, 0u) << why;
  };
  uint32_t held = 0;
  ASSERT_TRUE(TryLockFrom(&log()->appendLock, log()->appendLock, 9, &held));
  expectUntouched("the append lock is held");
  Unlock(&log()->appendLock, held);
  auto* stripe = reinterpret_cast<uint32_t*>(control_.data() + L::kPersistStripesOffset +
                                             5 * L::kPersistStripeSize);
  ASSERT_TRUE(TryLockFrom(stripe, *stripe, 9, &held));
  expectUntouched("the key's stripe is held");
  Unlock(stripe, held);
  EXPECT_FALSE(LockIsHeld(log()->appendLock));
  log()->fileBytes = L::kWalFileHeaderSize + 8;
  expectUntouched("the record lies past the allocated file");
  log()->fileBytes = file_.size();
  target_.mapLength = L::kWalFileHeaderSize + 8;
  expectUntouched("the record lies past the mapping");
  target_.mapLength = file_.size();
  log()->startLsn = 4096;
  expectUntouched("a checkpoint switched the file");
  log()->startLsn = 0;
  auto* rec = reinterpret_cast<L::PersistRecovery*>(control_.data() + L::kPersistRecoveryOffset);
  rec->failed = 1;
  expectUntouched("the log failed to sync");
  rec->failed = 0;
  EXPECT_EQ(RecoveriesOf(control_.data()), 0u);
  rec->recoveries = 1;  // another opener rebuilt the store from the log since the attach
  EXPECT_EQ(RecoveriesOf(control_.data()), 1u);
  expectUntouched("the store was rebuilt from the log since this handle attached");
}

TEST_F(WalAppend, AWriteTheStoreRefusesIsNotLogged) {
  uint64_t end = 0;
  L::Status s = L::kOk;
  WalSet w = Write("k", "v");
  w.ns = 300;  // no such namespace
  EXPECT_EQ(SetAndLog(store_.get(), target_, w, &end, &s), WalSetResult::kRefused);
  EXPECT_NE(s, L::kOk);
  EXPECT_EQ(log()->tail, 0u);
  EXPECT_FALSE(LockIsHeld(log()->appendLock));
}

// SealWalRecord of a record encoded without its lsn, expiry and checksum gives the bytes
// EncodeWalRecord gives with them; a length field below the header, or a record larger than the
// scratch or the room at the destination, writes nothing.
TEST(WalSeal, SealsAsTheEncoderDoesAndRefusesWhatDoesNotFit) {
  const std::string ns = "names", key = "k\xc3\xa9y", value(37, 'v');
  WalRecordFields f;
  f.type = L::kWalRecSet;
  f.encoding = 3;
  f.lsn = (uint64_t{1} << 40) + 8;
  f.expiresAt = 1733333333333;
  f.ns = ns.data();
  f.nsLength = static_cast<uint32_t>(ns.size());
  f.key = key.data();
  f.keyLength = static_cast<uint32_t>(key.size());
  f.value = value.data();
  f.valueLength = static_cast<uint32_t>(value.size());
  const uint64_t size = WalRecordSize(ns.size(), key.size(), value.size());
  std::vector<uint8_t> want(size);
  EncodeWalRecord(want.data(), f);
  WalRecordFields bare = f;
  bare.lsn = 0;
  bare.expiresAt = 0;
  std::vector<uint8_t> rec(256, 0);
  EncodeWalRecord(rec.data(), bare);
  std::memset(rec.data(), 0, sizeof(uint32_t));  // no checksum yet
  std::vector<uint8_t> dst(512, 0xAB);
  EXPECT_EQ(
      SealWalRecord(dst.data() + 8, dst.size() - 8, rec.data(), rec.size(), f.lsn, f.expiresAt),
      size);
  EXPECT_EQ(std::memcmp(dst.data() + 8, want.data(), size), 0);
  EXPECT_EQ(dst[7], 0xAB);
  EXPECT_EQ(dst[8 + size], 0xAB);
  std::vector<uint8_t> untouched = dst;
  EXPECT_EQ(SealWalRecord(dst.data(), size - 1, rec.data(), rec.size(), 1, 0), 0u);
  EXPECT_EQ(SealWalRecord(dst.data(), dst.size(), rec.data(), size - 1, 1, 0), 0u);
  const uint32_t shortLength = L::kWalRecordHeaderSize - 1;
  std::memcpy(rec.data() + offsetof(L::WalRecord, length), &shortLength, sizeof shortLength);
  EXPECT_EQ(SealWalRecord(dst.data(), dst.size(), rec.data(), rec.size(), 1, 0), 0u);
  EXPECT_EQ(dst, untouched);
}

// The stripe rule's hash (format.md §16, "Stripes") as StripeFold computes it, against values of
// Control.stripeOf in lib/persist/control.js: FNV-1a over the units of the name, a unit 0 and
// the units of the key.
TEST(WalStripe, FoldsUnitsAsTheStripeRuleSays) {
  const auto stripeOf = [](const std::u16string& ns, const std::u16string& key) {
    uint32_t h = kStripeHashStart;
    for (char16_t c : ns) h = StripeFold(h, c);
    h = StripeFold(h, 0);
    for (char16_t c : key) h = StripeFold(h, c);
    return StripeOfHash(h);
  };
  EXPECT_EQ(stripeOf(u"n", u"k"), 88u);
  EXPECT_EQ(stripeOf(u"bench", u"key:0000012345"), 19u);
  EXPECT_EQ(stripeOf(u"n\u00e4me", u"\U0001F511 key"), 34u);
  EXPECT_EQ(stripeOf(u"", u""), 31u);
}

// StripeFoldUnits folds a lone surrogate in as U+FFFD and a pair as its two units, as
// Control.stripeOf does: every spelling of one key (the store keeps U+FFFD for a lone surrogate)
// has one stripe. The values are Control.stripeOf's.
TEST(WalStripe, FoldsALoneSurrogateAsTheReplacementCharacter) {
  const auto stripeOf = [](const std::u16string& ns, const std::u16string& key) {
    const uint32_t h = StripeFold(StripeFoldUnits(kStripeHashStart, ns.data(), ns.size()), 0);
    return StripeOfHash(StripeFoldUnits(h, key.data(), key.size()));
  };
  EXPECT_EQ(stripeOf(u"n", u"lone \xD800"), 56u);
  EXPECT_EQ(stripeOf(u"n", u"lone \xDFFF"), 56u);
  EXPECT_EQ(stripeOf(u"n", u"lone \xFFFD"), 56u);
  EXPECT_EQ(stripeOf(u"n \xDC00", u"k"), 223u);
  EXPECT_EQ(stripeOf(u"n \xFFFD", u"k"), 223u);
  // A low surrogate before a high one pairs with neither.
  EXPECT_EQ(stripeOf(u"n", u"\xDC00\xD800"), 133u);
  EXPECT_EQ(stripeOf(u"n", u"\xFFFD\xFFFD"), 133u);
  EXPECT_EQ(stripeOf(u"n\u00e4me", u"\U0001F511 key"), 34u);
}

}  // namespace
}  // namespace shm::test
