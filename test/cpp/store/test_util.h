// Helpers for the shm::Store tests: a shared anonymous region (visible to fork()ed children),
// direct access to the layout, a dead process id, shorthands for the operations and the fixture
// of a store open with one namespace.
#pragma once

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "layout/layout_gen.h"
#include "store/store.h"

namespace shm::test {

namespace L = shm::layout;

// MAP_SHARED | MAP_ANONYMOUS: page aligned, zeroed, shared with fork()ed children.
class Region {
 public:
  explicit Region(size_t size) : size_(size) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    base_ = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
  }
  ~Region() {
    if (base_ != nullptr) munmap(base_, size_);
  }
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  uint8_t* base() const { return base_; }
  size_t size() const { return size_; }
  L::Header* header() const { return reinterpret_cast<L::Header*>(base_); }
  L::AllocState* alloc() const { return reinterpret_cast<L::AllocState*>(base_ + L::kAllocOffset); }
  L::NsState* nsState() const { return reinterpret_cast<L::NsState*>(base_ + L::kNsstateOffset); }
  L::RepairState* repairState() const {
    return reinterpret_cast<L::RepairState*>(base_ + L::kRepairOffset);
  }
  // The namespace area of §2, from the header's bucketCount and maxNamespaces.
  L::StoreRegions regions() const {
    return L::ComputeStoreRegions(header()->bucketCount, header()->maxNamespaces);
  }
  // Count cell k's head (§5, "Count cells"), namespace i's count in it, and the sums of the
  // cells' entries, of their entries with an expiry and of namespace i's counts.
  L::CountCell* cell(uint32_t k) const {
    const L::StoreRegions g = regions();
    return reinterpret_cast<L::CountCell*>(base_ + g.cells + k * g.cellSize);
  }
  uint32_t* cellNs(uint32_t k, uint32_t i) const {
    return reinterpret_cast<uint32_t*>(cell(k) + 1) + i;
  }
  uint32_t cellEntries() const {
    uint32_t s = 0;
    for (uint32_t k = 0; k < L::kCountCells; ++k) s += cell(k)->entries;
    return s;
  }
  uint32_t cellExpiring() const {
    uint32_t s = 0;
    for (uint32_t k = 0; k < L::kCountCells; ++k) s += cell(k)->expiring;
    return s;
  }
  uint32_t nsCount(uint32_t i) const {
    uint32_t s = 0;
    for (uint32_t k = 0; k < L::kCountCells; ++k) s += *cellNs(k, i);
    return s;
  }
  L::Namespace* ns(uint32_t i) const {
    return reinterpret_cast<L::Namespace*>(base_ + regions().namespaces) + i;
  }
  const uint8_t* nsName(uint32_t i) const { return base_ + regions().names + uint64_t{i} * 256; }
  uint32_t* nsIndex() const { return reinterpret_cast<uint32_t*>(base_ + regions().index); }
  // Takes id out of the name index as a dropper's first step does: its slot emptied, and every
  // later id of its run put back where a probe finds it.
  void Unindex(uint32_t id) const {
    uint32_t* slots = nsIndex();
    const uint32_t mask = static_cast<uint32_t>(regions().indexSlots - 1);
    uint32_t at = 0;
    while ((slots[at] & 0xFFFF) != id) ++at;
    slots[at] = 0;
    for (uint32_t j = (at + 1) & mask; slots[j] != 0; j = (j + 1) & mask) {
      const uint32_t other = slots[j];
      slots[j] = 0;
      uint32_t k = ns(other & 0xFFFF)->nameHash & mask;
      while (slots[k] != 0) k = (k + 1) & mask;
      slots[k] = other;
    }
  }
  L::EvictState* evict() const { return reinterpret_cast<L::EvictState*>(base_ + L::kEvictOffset); }
  L::Owner* owner(uint32_t i) const {
    return reinterpret_cast<L::Owner*>(base_ + L::kOwnersOffset) + i;
  }
  L::Bucket* bucket(uint32_t i) const {
    return reinterpret_cast<L::Bucket*>(base_ + L::kBucketsOffset) + i;
  }
  L::Entry* entry(uint32_t unit) const {
    return reinterpret_cast<L::Entry*>(base_ + uint64_t{unit} * L::kBlockUnit);
  }

 private:
  size_t size_;
  uint8_t* base_;
};

// The id of a process that existed and is gone (forked, exited, reaped).
inline uint32_t DeadPid() {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  int st;
  waitpid(pid, &st, 0);
  return static_cast<uint32_t>(pid);
}

inline void SleepMs(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

inline std::unique_ptr<Store> Open(const Region& r, uint32_t tid = 1, uint32_t timeoutMs = 1000) {
  std::unique_ptr<Store> s;
  Status st =
      Store::Attach(r.base(), r.size(), static_cast<uint32_t>(getpid()), tid, timeoutMs, &s);
  EXPECT_EQ(st, L::kOk) << L::StatusCode(st);
  return s;
}

inline uint32_t Ns(Store& s, const std::string& name) {
  uint32_t id = 0;
  EXPECT_EQ(s.ResolveNamespace(name.data(), static_cast<uint32_t>(name.size()), true, &id), L::kOk);
  return id;
}

inline Status Put(Store& s, uint32_t ns, const std::string& key, const std::string& value,
                  uint32_t enc = 1) {
  return s.Set(ns, key.data(), static_cast<uint32_t>(key.size()), value.data(),
               static_cast<uint32_t>(value.size()), enc);
}

// The value of key, or "<miss>"; a failing status is reported as "<STATUS>".
inline std::string GetStr(Store& s, uint32_t ns, const std::string& key, uint32_t* enc = nullptr) {
  bool found = false;
  Store::Value v;
  Status st = s.Get(ns, key.data(), static_cast<uint32_t>(key.size()), &found, &v);
  if (st != L::kOk) return std::string("<") + L::StatusCode(st) + ">";
  if (!found) return "<miss>";
  if (enc != nullptr) *enc = v.encoding;
  return std::string(reinterpret_cast<const char*>(v.data), v.length);
}

inline bool Del(Store& s, uint32_t ns, const std::string& key) {
  bool existed = false;
  EXPECT_EQ(s.Delete(ns, key.data(), static_cast<uint32_t>(key.size()), &existed), L::kOk);
  return existed;
}

// Every bucket, allocator, namespace and repair lock is free.
inline void ExpectNoLockHeld(const Region& r, uint32_t buckets) {
  for (uint32_t i = 0; i < buckets; ++i) {
    ASSERT_EQ(r.bucket(i)->lock & 1, 0u) << "bucket " << i << " still locked";
  }
  EXPECT_EQ(r.alloc()->lock & 1, 0u);
  EXPECT_EQ(r.nsState()->lock & 1, 0u);
  EXPECT_EQ(r.repairState()->lock & 1, 0u);
}

inline VerifyReport VerifyOk(Store& s) {
  VerifyReport r;
  EXPECT_EQ(s.Verify(&r), L::kOk);
  std::string all;
  for (const auto& e : r.errors) all += e + "\n";
  EXPECT_TRUE(r.ok) << all;
  EXPECT_EQ(r.leakedUnits, 0u);
  return r;
}

// A 4 MiB store of 256 buckets and at most 5000 entries, open on one handle, with namespace
// "agents" (ns). Each test file derives its own suite from it.
class OpenStore : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(Store::Create(r.base(), r.size(), 256, 5000), L::kOk);
    s = Open(r);
    ASSERT_TRUE(s);
    ns = Ns(*s, "agents");
  }
  Region r{1 << 22};
  std::unique_ptr<Store> s;
  uint32_t ns = 0;
};

}  // namespace shm::test
