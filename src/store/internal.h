// Internals of shm::Store shared by its translation units (the bitmaps and the key index of the
// repair pass and verify()); not part of the public interface in store.h.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <unordered_map>
#include <utility>
#include <vector>

#include "layout/layout_gen.h"
#include "store/alloc.h"

namespace shm::internal {

// One bit per pool unit in [firstUnit, totalUnits).
class UnitBitmap {
 public:
  bool Init(uint32_t firstUnit, uint32_t totalUnits) noexcept {
    first_ = firstUnit;
    const uint64_t n = totalUnits > firstUnit ? uint64_t{totalUnits} - firstUnit : 0;
    const uint64_t words = (n + 63) / 64 + 1;
    bits_.reset(new (std::nothrow) uint64_t[words]());
    return bits_ != nullptr;
  }
  bool Get(uint32_t unit) const noexcept {
    const uint64_t i = uint64_t{unit} - first_;
    return (bits_[i >> 6] >> (i & 63)) & 1u;
  }
  void Set(uint32_t unit) noexcept {
    const uint64_t i = uint64_t{unit} - first_;
    bits_[i >> 6] |= uint64_t{1} << (i & 63);
  }
  // The first set unit in [from, to), or 0 (no unit of the pool is 0). Word by word.
  uint32_t NextSet(uint32_t from, uint32_t to) const noexcept {
    for (uint64_t i = uint64_t{from} - first_, end = uint64_t{to} - first_; i < end;) {
      const uint64_t word = bits_[i >> 6] >> (i & 63);
      if (word == 0) {
        i = (i | 63) + 1;
        continue;
      }
      i += static_cast<uint64_t>(__builtin_ctzll(word));
      return i < end ? static_cast<uint32_t>(i + first_) : 0;
    }
    return 0;
  }

 private:
  uint32_t first_ = 0;
  std::unique_ptr<uint64_t[]> bits_;
};

// The keys kept so far on one chain, to find a key that repeats.
class DupIndex {
 public:
  void Clear() {
    small_.clear();
    big_.clear();
  }
  // True when an entry with the same namespace and key as `e` was added.
  bool Contains(const uint8_t* base, const layout::Entry* e) const {
    const uint32_t hash = e->keyHash;
    auto same = [&](uint32_t unit) {
      const layout::Entry* o = EntryAt(base, unit);
      return o->namespaceId == e->namespaceId && o->keyLength == e->keyLength &&
             std::memcmp(o + 1, e + 1, e->keyLength) == 0;
    };
    if (!big_.empty()) {
      auto range = big_.equal_range(hash);
      for (auto it = range.first; it != range.second; ++it) {
        if (same(it->second)) return true;
      }
      return false;
    }
    for (const auto& p : small_) {
      if (p.first == hash && same(p.second)) return true;
    }
    return false;
  }
  void Add(uint32_t hash, uint32_t unit) {
    if (big_.empty() && small_.size() < 64) {
      small_.emplace_back(hash, unit);
      return;
    }
    if (big_.empty()) {
      for (const auto& p : small_) big_.emplace(p.first, p.second);
      small_.clear();
    }
    big_.emplace(hash, unit);
  }

 private:
  std::vector<std::pair<uint32_t, uint32_t>> small_;
  std::unordered_multimap<uint32_t, uint32_t> big_;
};

}  // namespace shm::internal
