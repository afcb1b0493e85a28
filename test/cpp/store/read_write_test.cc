// get, has, set, delete and forEach (src/store/read.cpp, src/store/write.cpp, docs/format.md §7-9):
// values round-trip with their encodings, the bytes written follow the format, limits hold.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <set>
#include <string>

#include "base/hash.h"
#include "store/store.h"
#include "test_util.h"

namespace shm::test {
namespace {

class StoreReadWrite : public OpenStore {};

TEST_F(StoreReadWrite, SetGetOverwriteDelete) {
  EXPECT_EQ(GetStr(*s, ns, "a"), "<miss>");
  EXPECT_EQ(Put(*s, ns, "a", "one"), L::kOk);
  EXPECT_EQ(GetStr(*s, ns, "a"), "one");
  EXPECT_EQ(Put(*s, ns, "a", "two, longer than before"), L::kOk);
  EXPECT_EQ(GetStr(*s, ns, "a"), "two, longer than before");
  EXPECT_EQ(s->Count(ns), 1u);
  EXPECT_EQ(s->Count(0), 1u);
  bool found;
  EXPECT_EQ(s->Has(ns, "a", 1, &found), L::kOk);
  EXPECT_TRUE(found);
  EXPECT_TRUE(Del(*s, ns, "a"));
  EXPECT_FALSE(Del(*s, ns, "a"));
  EXPECT_EQ(GetStr(*s, ns, "a"), "<miss>");
  EXPECT_EQ(s->Has(ns, "a", 1, &found), L::kOk);
  EXPECT_FALSE(found);
  EXPECT_EQ(s->Count(ns), 0u);
  VerifyOk(*s);
}

TEST_F(StoreReadWrite, EncodingsRoundTrip) {
  uint32_t enc = 99;
  EXPECT_EQ(Put(*s, ns, "bin", std::string("\0\1\2", 3), 0), L::kOk);
  EXPECT_EQ(Put(*s, ns, "txt", "héllo", 1), L::kOk);
  EXPECT_EQ(Put(*s, ns, "json", "{\"a\":1}", 2), L::kOk);
  EXPECT_EQ(GetStr(*s, ns, "bin", &enc), std::string("\0\1\2", 3));
  EXPECT_EQ(enc, 0u);
  EXPECT_EQ(GetStr(*s, ns, "txt", &enc), "héllo");
  EXPECT_EQ(enc, 1u);
  EXPECT_EQ(GetStr(*s, ns, "json", &enc), "{\"a\":1}");
  EXPECT_EQ(enc, 2u);
  EXPECT_EQ(Put(*s, ns, "x", "v", 16), L::kErrInvalidArg);
}

TEST_F(StoreReadWrite, EntryBytesFollowTheFormat) {
  const std::string key = "key:0000000001", value(100, 'v');
  ASSERT_EQ(Put(*s, ns, key, value, 2), L::kOk);
  const uint32_t h = Xxh32(key.data(), key.size(), ns);
  const L::Bucket* b = r.bucket(h & 255);
  ASSERT_NE(b->head, 0u);
  EXPECT_EQ(b->count, 1u);
  EXPECT_EQ(b->lock & 1, 0u);
  EXPECT_EQ(b->lock >> 20, 0u);
  const L::Entry* e = r.entry(b->head);
  EXPECT_EQ(e->next, 0u);
  EXPECT_EQ(e->keyHash, h);
  EXPECT_EQ(e->keyLength, 14);
  EXPECT_EQ(e->valueLength, 100);
  EXPECT_EQ(e->namespaceId, ns);
  EXPECT_EQ(e->flags, (7u << 8) | 2u);  // 142 bytes: 9 units, class 7; encoding 2
  std::string kv = key + value;
  EXPECT_EQ(std::memcmp(e + 1, kv.data(), kv.size()), 0);
  EXPECT_EQ(e->checksum, Xxh32(kv.data(), kv.size(), h ^ 2u));
  EXPECT_EQ(ExpiresAtOf(e), 0u);  // no expiry asked for, none by default
  EXPECT_EQ(b->head, static_cast<uint32_t>(EntriesOffset(256) / kBlockUnit));  // the first block
  EXPECT_EQ(r.header()->freeHead, b->head + 9);
  EXPECT_EQ(r.nsCount(ns), 1u);
  EXPECT_EQ(r.cellEntries(), 1u);
}

TEST_F(StoreReadWrite, EmptyKeyAndEmptyValue) {
  EXPECT_EQ(Put(*s, ns, "", "empty key"), L::kOk);
  EXPECT_EQ(Put(*s, ns, "k", ""), L::kOk);
  EXPECT_EQ(GetStr(*s, ns, ""), "empty key");
  EXPECT_EQ(GetStr(*s, ns, "k"), "");
  EXPECT_TRUE(Del(*s, ns, ""));
  VerifyOk(*s);
}

TEST_F(StoreReadWrite, Limits) {
  std::string k1024(1024, 'k'), k1025(1025, 'k');
  std::string v65535(65535, 'v'), v65536(65536, 'v');
  EXPECT_EQ(Put(*s, ns, k1024, v65535), L::kOk);
  EXPECT_EQ(GetStr(*s, ns, k1024), v65535);
  EXPECT_EQ(Put(*s, ns, k1025, "v"), L::kErrKeyTooLong);
  EXPECT_EQ(Put(*s, ns, "k", v65536), L::kOk);  // held in a large block (format.md §8)
  EXPECT_EQ(GetStr(*s, ns, "k"), v65536);
  EXPECT_EQ(GetStr(*s, ns, k1025), "<ERR_KEY_TOO_LONG>");
  EXPECT_EQ(s->Count(0), 2u);
  const std::string over(kMaxValueBytes + 1, 'o');  // 64 MiB + 1
  EXPECT_EQ(Put(*s, ns, "k", over), L::kErrValueTooLong);
  EXPECT_EQ(GetStr(*s, ns, "k"), v65536);
  VerifyOk(*s);
}

TEST_F(StoreReadWrite, CollisionChainsWithOneBucket) {
  Region one(1 << 20);
  ASSERT_EQ(Store::Create(one.base(), one.size(), 1, 1000), L::kOk);
  auto t = Open(one);
  const uint32_t id = Ns(*t, "x");
  for (int i = 0; i < 200; ++i)
    ASSERT_EQ(Put(*t, id, "k" + std::to_string(i), std::to_string(i)), L::kOk);
  EXPECT_EQ(one.bucket(0)->count, 200u);
  for (int i = 0; i < 200; i += 3) EXPECT_TRUE(Del(*t, id, "k" + std::to_string(i)));
  for (int i = 1; i < 200; i += 3) ASSERT_EQ(Put(*t, id, "k" + std::to_string(i), "new"), L::kOk);
  for (int i = 0; i < 200; ++i) {
    const std::string want = i % 3 == 0 ? "<miss>" : i % 3 == 1 ? "new" : std::to_string(i);
    EXPECT_EQ(GetStr(*t, id, "k" + std::to_string(i)), want);
  }
  auto rep = VerifyOk(*t);
  EXPECT_EQ(rep.entries, 200u - 67u);
}

TEST_F(StoreReadWrite, MaxEntriesGivesStoreFull) {
  Region small(1 << 20);
  ASSERT_EQ(Store::Create(small.base(), small.size(), 16, 10), L::kOk);
  auto t = Open(small);
  const uint32_t id = Ns(*t, "x");
  for (int i = 0; i < 10; ++i) ASSERT_EQ(Put(*t, id, std::to_string(i), "v"), L::kOk);
  EXPECT_EQ(Put(*t, id, "10", "v"), L::kErrStoreFull);
  EXPECT_EQ(Put(*t, id, "5", "replacing is fine"), L::kOk);
  EXPECT_TRUE(Del(*t, id, "0"));
  EXPECT_EQ(Put(*t, id, "10", "v"), L::kOk);
  EXPECT_EQ(t->Count(0), 10u);
  VerifyOk(*t);
}

TEST_F(StoreReadWrite, ForEachVisitsEveryEntryOnce) {
  const uint32_t other = Ns(*s, "other");
  std::set<std::string> want;
  for (int i = 0; i < 500; ++i) {
    ASSERT_EQ(Put(*s, ns, "key" + std::to_string(i), "v" + std::to_string(i)), L::kOk);
    want.insert("key" + std::to_string(i));
  }
  ASSERT_EQ(Put(*s, other, "key1", "elsewhere"), L::kOk);
  std::set<std::string> seen;
  size_t calls = 0;
  ASSERT_EQ(s->ForEach(ns,
                       [&](uint32_t id, const uint8_t* k, uint32_t kl, const uint8_t* v,
                           uint32_t vl, uint32_t enc) {
                         ++calls;
                         EXPECT_EQ(id, ns);
                         EXPECT_EQ(enc, 1u);
                         std::string key(reinterpret_cast<const char*>(k), kl);
                         EXPECT_EQ(std::string(reinterpret_cast<const char*>(v), vl),
                                   "v" + key.substr(3));
                         seen.insert(key);
                       }),
            L::kOk);
  EXPECT_EQ(calls, 500u);
  EXPECT_EQ(seen, want);
  calls = 0;
  ASSERT_EQ(s->ForEach(0, [&](uint32_t, const uint8_t*, uint32_t, const uint8_t*, uint32_t,
                              uint32_t) { ++calls; }),
            L::kOk);
  EXPECT_EQ(calls, 501u);
}

// ForEach's callback may call ForEach on the same handle (the binding's callbacks run user JS,
// which can call keys() again): the outer walk must keep visiting its own copy. Before the fix
// both walks shared one buffer, so the inner copy overwrote the bytes the outer was parsing.
TEST_F(StoreReadWrite, NestedForEachKeepsTheOuterCopy) {
  Region r(1 << 20);
  ASSERT_EQ(Store::Create(r.base(), r.size(), 1, 100), L::kOk);  // one chain for everything
  auto s = Open(r);
  ASSERT_TRUE(s);
  const uint32_t a = Ns(*s, "a");
  const uint32_t b = Ns(*s, "b");
  std::set<std::string> want;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Put(*s, a, "a" + std::to_string(i), "x"), L::kOk);
    want.insert("a" + std::to_string(i));
  }
  // Longer than an outer record, so that the inner copy covers the outer's next header.
  ASSERT_EQ(Put(*s, b, "b", std::string(64, 'Z')), L::kOk);

  std::set<std::string> seen;
  int inner = 0;
  ASSERT_EQ(s->ForEach(
                a,
                [&](uint32_t, const uint8_t* k, uint32_t kl, const uint8_t*, uint32_t, uint32_t) {
                  seen.insert(kl <= kMaxKeyBytes ? std::string(reinterpret_cast<const char*>(k), kl)
                                                 : std::string("<bad length>"));
                  if (inner++ == 0) {
                    EXPECT_EQ(s->ForEach(b, [](uint32_t, const uint8_t*, uint32_t, const uint8_t*,
                                               uint32_t, uint32_t) {}),
                              L::kOk);
                  }
                }),
            L::kOk);
  EXPECT_EQ(seen, want);
}

}  // namespace
}  // namespace shm::test
