// Namespaces (src/store/namespaces.cpp, docs/format.md §5): resolution and creation, the limit of
// 255, separation of keys, and clear() of one namespace.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "base/hash.h"
#include "store/store.h"
#include "test_util.h"

namespace shm::test {
namespace {

class StoreNamespaces : public OpenStore {};

TEST_F(StoreNamespaces, NamespacesAreSeparate) {
  const uint32_t other = Ns(*s, "sessions");
  EXPECT_NE(other, ns);
  EXPECT_EQ(Put(*s, ns, "k", "agents"), L::kOk);
  EXPECT_EQ(Put(*s, other, "k", "sessions"), L::kOk);
  EXPECT_EQ(GetStr(*s, ns, "k"), "agents");
  EXPECT_EQ(GetStr(*s, other, "k"), "sessions");
  EXPECT_EQ(s->Count(ns), 1u);
  EXPECT_EQ(s->Count(other), 1u);
  EXPECT_EQ(s->Count(0), 2u);
  uint32_t removed = 0;
  EXPECT_EQ(s->Clear(other, &removed), L::kOk);
  EXPECT_EQ(removed, 1u);
  EXPECT_EQ(GetStr(*s, ns, "k"), "agents");
  EXPECT_EQ(GetStr(*s, other, "k"), "<miss>");
  VerifyOk(*s);
}

TEST_F(StoreNamespaces, NamespaceResolution) {
  uint32_t id = 99;
  EXPECT_EQ(s->ResolveNamespace("agents", 6, false, &id), L::kOk);
  EXPECT_EQ(id, ns);
  EXPECT_EQ(s->ResolveNamespace("nobody", 6, false, &id), L::kOk);
  EXPECT_EQ(id, 0u);
  EXPECT_EQ(s->ResolveNamespace("", 0, true, &id), L::kErrInvalidArg);
  std::string n255(255, 'n'), n256(256, 'n');
  EXPECT_EQ(s->ResolveNamespace(n255.data(), 255, true, &id), L::kOk);
  EXPECT_EQ(id, 2u);
  EXPECT_EQ(s->ResolveNamespace(n256.data(), 256, true, &id), L::kErrInvalidArg);
  // Records as §5 describes: the name in its 256-byte record, its hash, the index slot.
  EXPECT_EQ(r.ns(2)->state, 2u);
  EXPECT_EQ(r.ns(2)->nameLength, 255u);
  EXPECT_EQ(std::memcmp(r.nsName(2), n255.data(), 255), 0);
  EXPECT_EQ(r.nsName(2)[255], 0);
  EXPECT_EQ(r.ns(2)->nameHash, Xxh32(n255.data(), 255, 0));
  // Its index slot: the id in bits 0-15, bits 16-31 of the hash (at home, or the next slot).
  const uint32_t want = 2u | (r.ns(2)->nameHash & 0xFFFF0000u);
  EXPECT_TRUE(r.nsIndex()[r.ns(2)->nameHash & (r.regions().indexSlots - 1)] == want ||
              r.nsIndex()[(r.ns(2)->nameHash + 1) & (r.regions().indexSlots - 1)] == want);
  EXPECT_EQ(r.nsState()->liveCount, 2u);
  // 255 at most.
  for (int i = 3; i <= 255; ++i) {
    std::string name = "ns" + std::to_string(i);
    ASSERT_EQ(s->ResolveNamespace(name.data(), static_cast<uint32_t>(name.size()), true, &id),
              L::kOk);
    EXPECT_EQ(id, static_cast<uint32_t>(i));
  }
  EXPECT_EQ(s->ResolveNamespace("one-too-many", 12, true, &id), L::kErrTooManyNamespaces);
  EXPECT_EQ(s->ResolveNamespace("ns100", 5, true, &id), L::kOk);  // existing still resolve
  EXPECT_EQ(id, 100u);
  std::vector<NamespaceInfo> list;
  EXPECT_EQ(s->Namespaces(&list), L::kOk);
  EXPECT_EQ(list.size(), 255u);
  EXPECT_EQ(list[0].name, "agents");
  EXPECT_EQ(r.nsState()->liveCount, 255u);
  // Another handle sees the same ids.
  auto s2 = Open(r, 2);
  EXPECT_EQ(s2->ResolveNamespace("ns77", 4, false, &id), L::kOk);
  EXPECT_EQ(id, 77u);
  VerifyOk(*s);
}

// An id that is not live is not current for any handle (format.md §5, "Dropping").
TEST_F(StoreNamespaces, SetNeedsALiveNamespace) {
  EXPECT_EQ(Put(*s, 200, "k", "v"), L::kErrNamespaceDropped);
  EXPECT_EQ(Put(*s, 0, "k", "v"), L::kErrInvalidArg);
  EXPECT_EQ(Put(*s, 256, "k", "v"), L::kErrInvalidArg);
  EXPECT_EQ(GetStr(*s, 200, "k"), "<ERR_NAMESPACE_DROPPED>");
  EXPECT_EQ(GetStr(*s, 0, "k"), "<ERR_INVALID_ARG>");
}

TEST_F(StoreNamespaces, ClearRemovesOnlyItsNamespace) {
  const uint32_t other = Ns(*s, "other");
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(Put(*s, ns, "a" + std::to_string(i), "x"), L::kOk);
    ASSERT_EQ(Put(*s, other, "b" + std::to_string(i), "y"), L::kOk);
  }
  uint32_t removed = 0;
  EXPECT_EQ(s->Clear(ns, &removed), L::kOk);
  EXPECT_EQ(removed, 300u);
  EXPECT_EQ(s->Count(ns), 0u);
  EXPECT_EQ(s->Count(other), 300u);
  EXPECT_EQ(s->Count(0), 300u);
  EXPECT_EQ(s->Clear(ns, &removed), L::kOk);
  EXPECT_EQ(removed, 0u);
  VerifyOk(*s);
}

}  // namespace
}  // namespace shm::test
