// The native replay of log records (src/persist/wal_replay.h, docs/format.md §16): each record
// type's effect on a store, the valid-prefix checks (checksum, LSN, type, lengths, the settings
// record's rules), incomplete records, and a store that refuses a record.
#include "persist/wal_replay.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/hash.h"
#include "persist/crc32c.h"

namespace shm::test {
namespace {

namespace L = shm::layout;

// An expiry after any clock these tests run with (2096).
constexpr uint64_t kFuture = 4000000000000ull;

// A log being built: records appended back to back from LSN `start`.
struct Log {
  uint64_t start = 4096;
  std::vector<uint8_t> bytes;

  // Appends a record; returns its offset in `bytes`.
  size_t Add(uint8_t type, const std::string& ns, const std::string& key = "",
             const std::string& value = "", uint8_t encoding = 0, uint64_t expiresAt = 0) {
    const size_t at = bytes.size();
    L::WalRecord h{};
    h.length = static_cast<uint32_t>(sizeof h + ns.size() + key.size() + value.size());
    h.lsn = start + at;
    h.expiresAt = expiresAt;
    h.type = type;
    h.encoding = encoding;
    h.nsLength = static_cast<uint8_t>(ns.size());
    h.keyLength = static_cast<uint16_t>(key.size());
    const size_t size = (h.length + 7) / 8 * 8;
    bytes.resize(at + size, 0);
    std::memcpy(bytes.data() + at + sizeof h, ns.data(), ns.size());
    std::memcpy(bytes.data() + at + sizeof h + ns.size(), key.data(), key.size());
    std::memcpy(bytes.data() + at + sizeof h + ns.size() + key.size(), value.data(), value.size());
    std::memcpy(bytes.data() + at, &h, sizeof h);
    Seal(at);
    return at;
  }

  // Recomputes the checksum of the record at `at` (after a test changed it).
  void Seal(size_t at) {
    uint32_t length;
    std::memcpy(&length, bytes.data() + at + 4, 4);
    const uint32_t crc = Crc32c(bytes.data() + at + 4, length - 4);
    std::memcpy(bytes.data() + at, &crc, 4);
  }
};

class WalReplay : public ::testing::Test {
 protected:
  void SetUp() override {
    void* p = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    base_ = static_cast<uint8_t*>(p);
    ASSERT_EQ(Store::Create(base_, kSize, 64, 40), L::kOk);
    ASSERT_EQ(Store::Attach(base_, kSize, static_cast<uint32_t>(getpid()), 1, 1000, &store_),
              L::kOk);
  }
  void TearDown() override {
    store_.reset();
    munmap(base_, kSize);
  }

  L::Status Apply(const Log& log, WalApplied* out, size_t len = SIZE_MAX, uint64_t now = 1000) {
    return ApplyWalRecords(store_.get(), log.bytes.data(), std::min(len, log.bytes.size()),
                           log.start, now, out);
  }

  uint32_t Id(const std::string& ns) {
    uint32_t id = 0;
    EXPECT_EQ(store_->ResolveNamespace(ns.data(), static_cast<uint32_t>(ns.size()), false, &id),
              L::kOk);
    return id;
  }

  std::string Get(const std::string& ns, const std::string& key, uint64_t* expiresAt = nullptr) {
    const uint32_t id = Id(ns);
    if (id == 0) return "<no namespace>";
    bool found = false;
    Store::Value v;
    EXPECT_EQ(store_->Get(id, key.data(), static_cast<uint32_t>(key.size()), &found, &v), L::kOk);
    if (!found) return "<miss>";
    if (expiresAt != nullptr) *expiresAt = v.expiresAt;
    return std::string(reinterpret_cast<const char*>(v.data), v.length);
  }

  static constexpr size_t kSize = 1 << 20;
  uint8_t* base_ = nullptr;
  std::unique_ptr<Store> store_;
};

TEST_F(WalReplay, EachTypeAppliesAsTheFormatSays) {
  Log log;
  log.Add(L::kWalRecSet, "a", "k1", "one", 1);
  log.Add(L::kWalRecSet, "a", "k2", "two", 1, kFuture);  // expires after the clock (1000)
  log.Add(L::kWalRecSet, "a", "k3", "three", 1);
  log.Add(L::kWalRecSet, "a", "k3", "late", 1, 999);  // expired: replays as a delete of k3
  log.Add(L::kWalRecDelete, "a", "k1");
  log.Add(L::kWalRecSet, "b", "x", "bx", 0);
  log.Add(L::kWalRecClear, "b");
  log.Add(L::kWalRecSet, "c", "y", "cy", 2);
  log.Add(L::kWalRecNsDrop, "c");
  log.Add(L::kWalRecNsCreate, "d");
  log.Add(L::kWalRecNsSettings, "e", "", "", L::kPolicyNone, 60000);
  WalApplied out;
  ASSERT_EQ(Apply(log, &out), L::kOk);
  EXPECT_EQ(out.records, 11u);
  EXPECT_EQ(out.bytes, log.bytes.size());
  EXPECT_EQ(out.stop, WalCheck::kIncomplete);
  uint64_t exp = 0;
  EXPECT_EQ(Get("a", "k1"), "<miss>");
  EXPECT_EQ(Get("a", "k2", &exp), "two");
  EXPECT_EQ(exp, kFuture);
  EXPECT_EQ(Get("a", "k3"), "<miss>");
  EXPECT_EQ(Get("b", "x"), "<miss>");
  EXPECT_EQ(Id("c"), 0u);
  EXPECT_NE(Id("d"), 0u);
  std::vector<NamespaceInfo> info;
  ASSERT_EQ(store_->Namespaces(&info), L::kOk);
  bool seen = false;
  for (const auto& n : info) {
    if (n.name == "e") {
      seen = true;
      EXPECT_EQ(n.policy, L::kPolicyNone);
      EXPECT_EQ(n.ttlMs, 60000u);
    }
  }
  EXPECT_TRUE(seen);
}

TEST_F(WalReplay, StopsBeforeTheFirstInvalidRecord) {
  struct Case {
    const char* what;
    void (*damage)(Log*, size_t);
  };
  const Case cases[] = {
      {"checksum", [](Log* l, size_t at) { l->bytes[at + 40] ^= 1; }},
      {"lsn", [](Log* l, size_t at) { l->bytes[at + 8] ^= 8, l->Seal(at); }},
      {"type 7", [](Log* l, size_t at) { l->bytes[at + 24] = 7, l->Seal(at); }},
      {"type 0", [](Log* l, size_t at) { l->bytes[at + 24] = 0, l->Seal(at); }},
      {"length 0", [](Log* l, size_t at) { std::memset(l->bytes.data() + at + 4, 0, 4); }},
      {"nsLength 49", [](Log* l, size_t at) { l->bytes[at + 26] = 49, l->Seal(at); }},
  };
  for (const Case& c : cases) {
    Log log;
    log.Add(L::kWalRecSet, "a", "before", "1", 1);
    const size_t bad = log.Add(L::kWalRecSet, "a", "bad", std::string(40, 'v'), 1);
    log.Add(L::kWalRecSet, "a", "after", "3", 1);
    c.damage(&log, bad);
    WalApplied out;
    ASSERT_EQ(Apply(log, &out), L::kOk) << c.what;
    EXPECT_EQ(out.records, 1u) << c.what;
    EXPECT_EQ(out.bytes, bad) << c.what;
    EXPECT_EQ(out.stop, WalCheck::kInvalid) << c.what;
    EXPECT_EQ(Get("a", "after"), "<miss>") << c.what;
  }
}

TEST_F(WalReplay, SettingsRecordsMustNameANamespaceAndAPolicy) {
  const struct {
    std::string ns, key, value;
    uint8_t policy;
  } bad[] = {{"", "", "", 1}, {"n", "k", "", 1}, {"n", "", "v", 1}, {"n", "", "", 3}};
  for (const auto& b : bad) {
    Log log;
    log.Add(L::kWalRecNsSettings, b.ns, b.key, b.value, b.policy, 10);
    WalApplied out;
    ASSERT_EQ(Apply(log, &out), L::kOk);
    EXPECT_EQ(out.records, 0u);
    EXPECT_EQ(out.stop, WalCheck::kInvalid);
  }
}

TEST_F(WalReplay, AnIncompleteRecordWaitsForMoreBytes) {
  Log log;
  log.Add(L::kWalRecSet, "a", "k1", "one", 1);
  const size_t second = log.Add(L::kWalRecSet, "a", "k2", std::string(100, 't'), 1);
  for (size_t cut : {second + 1, second + 31, second + 32, log.bytes.size() - 1}) {
    WalApplied out;
    ASSERT_EQ(Apply(log, &out, cut), L::kOk);
    EXPECT_EQ(out.records, 1u) << cut;
    EXPECT_EQ(out.bytes, second) << cut;
    EXPECT_EQ(out.stop, WalCheck::kIncomplete) << cut;
  }
}

TEST_F(WalReplay, ARecordOfATypeNotAskedForStopsTheWalk) {
  Log log;
  log.Add(L::kWalRecNsSettings, "a", "", "", L::kPolicyNone, 0);
  log.Add(L::kWalRecSet, "a", "k", "v", 1);
  const size_t del = log.Add(L::kWalRecDelete, "a", "k");
  log.Add(L::kWalRecSet, "a", "k2", "v2", 1);
  WalApplied out;
  const uint32_t snapshotTypes = (1u << L::kWalRecSet) | (1u << L::kWalRecNsSettings);
  ASSERT_EQ(ApplyWalRecords(store_.get(), log.bytes.data(), log.bytes.size(), log.start, 1000, &out,
                            snapshotTypes),
            L::kOk);
  EXPECT_EQ(out.records, 2u);
  EXPECT_EQ(out.bytes, del);
  EXPECT_EQ(out.stop, WalCheck::kInvalid);
  EXPECT_EQ(Get("a", "k"), "v");
  EXPECT_EQ(Get("a", "k2"), "<miss>");
}

// The replay filter of a recovery from a snapshot: a set record whose key (namespace bytes and
// key bytes, seed KEY) or namespace (seed NS) has its bit set stops the walk unapplied, as a
// candidate; the caller decides and walks on after it. Other records and other keys apply.
TEST_F(WalReplay, ASetRecordTheSkipFilterNamesStopsTheWalkAsACandidate) {
  std::vector<uint8_t> bits(8, 0);  // 64 bits
  const auto mark = [&bits](const std::string& bytes, uint64_t seed) {
    const uint32_t b = Xxh32(bytes.data(), bytes.size(), static_cast<uint32_t>(seed)) & 63u;
    bits[b >> 3] |= static_cast<uint8_t>(1u << (b & 7));
  };
  mark(std::string("a") + "k2", L::kReplayFilterKeySeed);
  mark("dropped", L::kReplayFilterNsSeed);
  const WalSkipFilter skip{bits.data(), 63};
  const auto named = [&](const std::string& ns, const std::string& key) {
    const auto bit = [&bits](uint32_t h) { return (bits[(h & 63u) >> 3] >> (h & 7u)) & 1u; };
    const std::string both = ns + key;
    return bit(Xxh32(both.data(), both.size(), static_cast<uint32_t>(L::kReplayFilterKeySeed))) ||
           bit(Xxh32(ns.data(), ns.size(), static_cast<uint32_t>(L::kReplayFilterNsSeed)));
  };
  // Keys of the bits above and keys whose bits are clear (64 bits: found, not assumed).
  std::string clear1, clear2;
  for (int i = 0; clear2.empty(); ++i) {
    const std::string k = "c" + std::to_string(i);
    if (named("a", k)) continue;
    (clear1.empty() ? clear1 : clear2) = k;
  }
  ASSERT_TRUE(named("a", "k2"));
  ASSERT_TRUE(named("dropped", "anything"));
  Log log;
  log.Add(L::kWalRecSet, "a", clear1, "v1", 1);
  const size_t candidate = log.Add(L::kWalRecSet, "a", "k2", "v2", 1);
  const size_t second = log.Add(L::kWalRecSet, "dropped", "anything", "v3", 1);
  const size_t rest = log.Add(L::kWalRecSet, "a", clear2, "v4", 1);
  WalApplied out;
  ASSERT_EQ(ApplyWalRecords(store_.get(), log.bytes.data(), log.bytes.size(), log.start, 1000, &out,
                            kAllWalTypes, skip),
            L::kOk);
  EXPECT_EQ(out.records, 1u);
  EXPECT_EQ(out.bytes, candidate);
  EXPECT_EQ(out.stop, WalCheck::kCandidate);
  EXPECT_EQ(Get("a", "k2"), "<miss>");
  // The caller skipped it: the walk goes on after it and stops at the namespace's record.
  ASSERT_EQ(ApplyWalRecords(store_.get(), log.bytes.data() + second, log.bytes.size() - second,
                            log.start + second, 1000, &out, kAllWalTypes, skip),
            L::kOk);
  EXPECT_EQ(out.records, 0u);
  EXPECT_EQ(out.stop, WalCheck::kCandidate);
  ASSERT_EQ(ApplyWalRecords(store_.get(), log.bytes.data() + rest, log.bytes.size() - rest,
                            log.start + rest, 1000, &out, kAllWalTypes, skip),
            L::kOk);
  EXPECT_EQ(out.records, 1u);
  EXPECT_EQ(out.stop, WalCheck::kIncomplete);
  EXPECT_EQ(Get("a", clear1), "v1");
  EXPECT_EQ(Get("a", clear2), "v4");
  EXPECT_EQ(Get("dropped", "anything"), "<no namespace>");
  // Without the filter every record applies.
  ASSERT_EQ(Apply(log, &out), L::kOk);
  EXPECT_EQ(out.records, 4u);
  EXPECT_EQ(Get("a", "k2"), "v2");
}

TEST_F(WalReplay, AStoreThatRefusesARecordStopsThereWithItsStatus) {
  Log log;
  size_t refused = 0;
  // 40 entries at most: the 41st distinct key does not fit (no namespace may evict).
  for (int i = 0; i < 45; ++i) {
    const size_t at = log.Add(L::kWalRecSet, "a", "k" + std::to_string(i), "v", 1);
    if (i == 40) refused = at;
  }
  WalApplied out;
  EXPECT_EQ(Apply(log, &out), L::kErrStoreFull);
  EXPECT_EQ(out.records, 40u);
  EXPECT_EQ(out.bytes, refused);
  EXPECT_EQ(Get("a", "k39"), "v");
  EXPECT_EQ(Get("a", "k40"), "<miss>");
}

}  // namespace
}  // namespace shm::test
