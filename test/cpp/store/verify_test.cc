// verify() (src/store/verify.cpp, docs/api.md store.verify()): every invariant it checks, with the
// exact message it reports (the JS engine reports the same bytes), on hand-damaged regions.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/hash.h"
#include "ownership/owners.h"
#include "store/alloc.h"
#include "store/store.h"
#include "test_util.h"

namespace shm::test {
namespace {

std::string Str(uint64_t v) {
  return std::to_string(v);
}

class StoreVerify : public OpenStore {
 protected:
  // The errors verify() reports, in its order.
  std::vector<std::string> Errors() {
    VerifyReport rep;
    EXPECT_EQ(s->Verify(&rep), L::kOk);
    EXPECT_FALSE(rep.ok);
    return rep.errors;
  }
  uint32_t BucketOf(const std::string& key) const {
    return Xxh32(key.data(), key.size(), ns) & 255;
  }
  // Stores key (alone in its bucket in these tests) and returns the unit of its block.
  uint32_t Store1(const std::string& key, const std::string& value) {
    EXPECT_EQ(Put(*s, ns, key, value), L::kOk);
    return r.bucket(BucketOf(key))->head;
  }
  // The errors that follow when the one entry of bucket b is no longer counted as live: its
  // bucket's count, and the header's and the namespace's counts (of `stored` entries).
  std::vector<std::string> LostOne(uint32_t b, uint32_t stored, const char* leak = nullptr) {
    std::vector<std::string> out{"bucket " + Str(b) + ": count 1, found 0"};
    if (leak != nullptr) out.emplace_back(leak);
    out.push_back("count cells: " + Str(stored) + " entries, found " + Str(stored - 1));
    out.push_back("namespace " + Str(ns) + ": count " + Str(stored) + ", found " + Str(stored - 1));
    return out;
  }
  std::vector<std::string> Then(std::vector<std::string> first,
                                const std::vector<std::string>& rest) {
    first.insert(first.end(), rest.begin(), rest.end());
    return first;
  }
};

TEST_F(StoreVerify, VerifyReportsAndRepairReclaimsALeak) {
  ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
  // A writer that died between allocating and publishing leaves a leaked block.
  PoolView pool;
  pool.base = r.base();
  pool.header = r.header();
  pool.alloc = r.alloc();
  pool.firstUnit = s->firstUnit();
  pool.totalUnits = s->totalUnits();
  LockEnv env;
  env.regionBase = r.base();
  env.owners = r.owner(0);
  env.selfSlot = s->ownerSlot();
  env.self = IdentityOf(static_cast<uint32_t>(getpid()), 1);
  uint32_t unit;
  ASSERT_EQ(AllocBlock(pool, env, 3, &unit), AllocStatus::kOk);
  VerifyReport rep;
  ASSERT_EQ(s->Verify(&rep), L::kOk);
  EXPECT_FALSE(rep.ok);
  EXPECT_EQ(rep.leakedUnits, L::kSizeClasses[3]);
  ASSERT_FALSE(rep.errors.empty());
  EXPECT_NE(rep.errors[0].find("leaked"), std::string::npos) << rep.errors[0];
  ASSERT_EQ(s->Repair(), L::kOk);
  rep = VerifyOk(*s);
  EXPECT_EQ(rep.freeUnits, L::kSizeClasses[3]);
  EXPECT_EQ(rep.entries, 1u);
  EXPECT_EQ(r.header()->gcCounter, 1u);
  EXPECT_EQ(r.repairState()->repairs, 1u);
  EXPECT_EQ(GetStr(*s, ns, "k"), "v");
}

TEST_F(StoreVerify, HeaderThatNoLongerValidates) {
  ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
  r.header()->maxEntries += 1;
  EXPECT_EQ(Errors(), std::vector<std::string>{"header: ERR_BAD_CHECKSUM"});
}

TEST_F(StoreVerify, FreeHeadBeyondTheStore) {
  const uint32_t u = Store1("k", "v");
  const uint32_t total = s->totalUnits();
  r.header()->freeHead = total + 3;
  // The units above the real freeHead are zero: blocks of class 0 (2 units) that are neither live
  // nor free. The entry "k" takes 2 units (30 bytes).
  EXPECT_EQ(Errors(),
            (std::vector<std::string>{
                "header: ERR_CORRUPT",
                "header: freeHead " + Str(total + 3) + " outside [" + Str(s->firstUnit()) + ", " +
                    Str(total) + "]",
                "pool: " + Str(total - u - 2) +
                    " units neither live nor free (leaked), the first at block " + Str(u + 2),
            }));
}

TEST_F(StoreVerify, PoolBlockWithAnInvalidSizeClass) {
  const uint32_t u = Store1("k", "v");
  r.entry(u)->flags = 0x7700;
  EXPECT_EQ(Errors(),
            Then({"pool: block " + Str(u) + ": invalid size class " + Str(0x77),
                  "bucket " + Str(BucketOf("k")) + ", block " + Str(u) + ": unit out of range"},
                 LostOne(BucketOf("k"), 1)));
}

TEST_F(StoreVerify, PoolBlockThatCrossesFreeHead) {
  const uint32_t u = Store1("k", "v");
  r.entry(u)->flags = 2u << 8;  // 4 units where the pool has 2
  EXPECT_EQ(Errors(),
            Then({"pool: block " + Str(u) + ": crosses freeHead " + Str(u + 2),
                  "bucket " + Str(BucketOf("k")) + ", block " + Str(u) + ": unit out of range"},
                 LostOne(BucketOf("k"), 1)));
}

TEST_F(StoreVerify, ChainLinkOutOfRange) {
  const uint32_t u = Store1("k", "v");
  const uint32_t b = BucketOf("k");
  r.bucket(b)->head = 0x7fffffff;
  const std::string leak =
      "pool: 2 units neither live nor free (leaked), the first at block " + Str(u);
  EXPECT_EQ(Errors(), Then({"bucket " + Str(b) + ", block 2147483647: unit out of range"},
                           LostOne(b, 1, leak.c_str())));
}

TEST_F(StoreVerify, ChainLinkIntoTheMiddleOfABlock) {
  const uint32_t big = Store1("k", std::string(40, 'v'));  // 5 units
  const uint32_t u = Store1("j", "v");
  const uint32_t b = BucketOf("j");
  r.bucket(b)->head = big + 1;
  const std::string leak =
      "pool: 2 units neither live nor free (leaked), the first at block " + Str(u);
  EXPECT_EQ(Errors(), Then({"bucket " + Str(b) + ", block " + Str(big + 1) + ": not a block start"},
                           LostOne(b, 2, leak.c_str())));
}

TEST_F(StoreVerify, ChainCycle) {
  const uint32_t u = Store1("k", "v");
  r.entry(u)->next = u;
  EXPECT_EQ(Errors(),
            std::vector<std::string>{"bucket " + Str(BucketOf("k")) + ", block " + Str(u) +
                                     ": reached twice (a cycle or a shared chain)"});
}

// Each damage of one entry, with the message verify() gives it; the entry then counts as neither
// live nor free.
TEST_F(StoreVerify, EntryProblems) {
  struct Case {
    const char* problem;
    void (*damage)(L::Entry* e, uint32_t ns);
  };
  const Case cases[] = {
      {"has FREE set", [](L::Entry* e, uint32_t) { e->flags |= kFlagFree; }},
      {"names a namespace that is not live", [](L::Entry* e, uint32_t) { e->namespaceId = 9; }},
      {"has a key longer than 1024 bytes", [](L::Entry* e, uint32_t) { e->keyLength = 2000; }},
      {"does not fit its block", [](L::Entry* e, uint32_t) { e->valueLength = 100; }},
      {"has a keyHash that is not its key's",
       [](L::Entry* e, uint32_t) { reinterpret_cast<uint8_t*>(e + 1)[0] ^= 1; }},
      {"has a wrong checksum",
       [](L::Entry* e, uint32_t) { reinterpret_cast<uint8_t*>(e + 1)[1] ^= 1; }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.problem);
    s.reset();  // a fresh store for each case
    ASSERT_EQ(Store::Create(r.base(), r.size(), 256, 5000), L::kOk);
    s = Open(r);
    ns = Ns(*s, "agents");
    const uint32_t u = Store1("k", "v");
    const uint32_t b = BucketOf("k");
    c.damage(r.entry(u), ns);
    const std::string leak =
        "pool: 2 units neither live nor free (leaked), the first at block " + Str(u);
    EXPECT_EQ(Errors(), Then({"bucket " + Str(b) + ", block " + Str(u) + ": " + c.problem},
                             LostOne(b, 1, leak.c_str())));
  }
}

TEST_F(StoreVerify, EntryInTheWrongBucket) {
  const uint32_t u = Store1("k", "v");
  const uint32_t from = BucketOf("k");
  const uint32_t to = (from + 1) & 255;
  r.bucket(from)->head = 0;
  r.bucket(to)->head = u;
  const std::string leak =
      "pool: 2 units neither live nor free (leaked), the first at block " + Str(u);
  EXPECT_EQ(Errors(), (std::vector<std::string>{
                          "bucket " + Str(from) + ": count 1, found 0",
                          "bucket " + Str(to) + ", block " + Str(u) + ": sits in the wrong bucket",
                          leak,
                          "count cells: 1 entries, found 0",
                          "namespace " + Str(ns) + ": count 1, found 0",
                      }));
}

TEST_F(StoreVerify, RepeatedKeyAndBucketCount) {
  const uint32_t u = Store1("dup", "v");
  const uint32_t b = BucketOf("dup");
  const uint32_t copy = r.header()->freeHead;
  std::memcpy(r.entry(copy), r.entry(u), 2 * kBlockUnit);  // "dup" and "v": 32 bytes, 2 units
  r.header()->freeHead = copy + 2;
  r.entry(u)->next = copy;
  r.bucket(b)->count = 5;
  EXPECT_EQ(
      Errors(),
      (std::vector<std::string>{
          "bucket " + Str(b) + ", block " + Str(copy) + ": repeats a key already on the chain",
          "bucket " + Str(b) + ": count 5, found 1",
          "pool: 2 units neither live nor free (leaked), the first at block " + Str(copy),
      }));
}

TEST_F(StoreVerify, FreeListProblems) {
  const uint32_t a = Store1("a", "v");
  const uint32_t k = Store1("k", "v");
  ASSERT_TRUE(Del(*s, ns, "a"));  // block a is on the list of class 0
  ASSERT_EQ(r.alloc()->freeHeads[0], a);
  r.alloc()->freeHeads[7] = 5;  // into the header
  r.entry(a)->next = a;         // a cycle
  r.alloc()->freeHeads[1] = k;  // a live entry, of class 0, on the list of class 1
  const std::string fl0 = "free list 0, block " + Str(a) + ": ";
  const std::string fl1 = "free list 1, block " + Str(k) + ": ";
  EXPECT_EQ(Errors(), (std::vector<std::string>{
                          fl0 + "reached twice (a cycle, or on another list)",
                          fl1 + "FREE not set",
                          fl1 + "size class differs from the list's",
                          fl1 + "both live and free",
                          fl1 + "prev does not name the block before it",
                          "free list 7, block 5: unit out of range",
                      }));
}

TEST_F(StoreVerify, CountersAndNamespaceRecords) {
  ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
  r.cell(5)->entries += 3;
  *r.cellNs(9, ns) += 1;
  r.ns(ns)->nameLength = 256;
  r.nsState()->liveCount = 3;
  EXPECT_EQ(Errors(), (std::vector<std::string>{
                          "namespace " + Str(ns) + ": name length 256",
                          "count cell 5: 3 entries above its limit",
                          "count cells: 4 entries, found 1",
                          "namespace " + Str(ns) + ": count 2, found 1",
                          "namespaces: liveCount 3, found 1",
                      }));
}

TEST_F(StoreVerify, CellGrants) {
  ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
  // The header's grant against the cells' limits, and against maxEntries.
  r.header()->grantedEntries = r.header()->maxEntries + 1;
  EXPECT_EQ(Errors(), (std::vector<std::string>{
                          "header: grantedEntries " + Str(r.header()->maxEntries + 1) +
                              ", the cells' limits " + Str(L::kCountGrantChunk),
                          "header: grantedEntries " + Str(r.header()->maxEntries + 1) +
                              " above maxEntries " + Str(r.header()->maxEntries),
                      }));
}

// A store whose end is followed by kGuard bytes nobody may read (more than an entry's key and
// value can reach past its block): a read past the store faults.
class GuardedRegion {
 public:
  static constexpr size_t kGuard = size_t{128} << 10;
  explicit GuardedRegion(size_t size) : size_(size) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_ = (size + page - 1) / page * page;
    void* p =
        mmap(nullptr, size_ + kGuard, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    base_ = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
    if (base_ != nullptr) mprotect(base_ + size_, kGuard, PROT_NONE);
  }
  ~GuardedRegion() {
    if (base_ != nullptr) munmap(base_, size_ + kGuard);
  }
  GuardedRegion(const GuardedRegion&) = delete;
  GuardedRegion& operator=(const GuardedRegion&) = delete;
  uint8_t* base() const { return base_; }
  size_t size() const { return size_; }

 private:
  size_t size_;
  uint8_t* base_;
};

// An entry marked INDIRECT whose key length (damaged, up to 65535) reaches past its block, near
// the end of the store: every path that meets it (verify, repair, clear, drop, the expiry sweep,
// the eviction hand) reads its reference only where the entry fits its block, so none reads past
// the store (format.md §9: damage gives an error or a repair, never a crash).
TEST(StoreDamage, AnIndirectEntryWhoseKeyLengthReachesPastTheStoreIsReadInsideIt) {
  using Op = std::function<Status(Store&, uint32_t)>;
  const std::vector<std::pair<const char*, Op>> ops = {
      {"verify",
       [](Store& s, uint32_t) {
         VerifyReport rep;
         return s.Verify(&rep);
       }},
      {"repair", [](Store& s, uint32_t) { return s.Repair(); }},
      {"clear",
       [](Store& s, uint32_t ns) {
         uint32_t removed = 0;
         return s.Clear(ns, &removed);
       }},
      {"drop",
       [](Store& s, uint32_t ns) {
         uint32_t removed = 0;
         return s.DropNamespace(ns, &removed);
       }},
      {"evict",
       [](Store& s, uint32_t) {
         uint32_t evicted = 0;
         return s.EvictOne(kClassCount, &evicted);
       }},
  };
  for (const auto& [name, op] : ops) {
    GuardedRegion r(EntriesOffset(1, 4) + 2000 * kBlockUnit);
    ASSERT_NE(r.base(), nullptr);
    ASSERT_EQ(Store::Create(r.base(), r.size(), 1, 100, kPolicyClock, 4), L::kOk);
    std::unique_ptr<Store> s;
    ASSERT_EQ(Store::Attach(r.base(), r.size(), static_cast<uint32_t>(getpid()), 1, 1000, &s),
              L::kOk);
    const uint32_t ns = Ns(*s, "n");
    ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
    auto* e = reinterpret_cast<L::Entry*>(r.base() + uint64_t{s->firstUnit()} * kBlockUnit);
    ASSERT_EQ(e->keyLength, 1u);
    e->keyLength = 0xFFFF;
    e->flags |= kFlagIndirect;
    EXPECT_EXIT(
        {
          op(*s, ns);
          std::_Exit(0);
        },
        ::testing::ExitedWithCode(0), "")
        << name;
  }
}

}  // namespace
}  // namespace shm::test
