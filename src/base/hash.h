// XXH32 (the xxHash library's 32-bit hash, bit for bit) and the three hashes the store format
// derives from it (docs/format.md §3, §8).
#pragma once

#include <cstddef>
#include <cstdint>

namespace shm {

// XXH32(data, len, seed) exactly as xxhash.h 0.8 computes it.
uint32_t Xxh32(const void* data, size_t len, uint32_t seed) noexcept;

// keyHash of an entry: XXH32 of the key's UTF-8 bytes seeded with the namespace id.
inline uint32_t KeyHash(const void* key, size_t len, uint32_t namespaceId) noexcept {
  return Xxh32(key, len, namespaceId);
}

// checksum of an entry: XXH32 of key ‖ value (contiguous), seeded with keyHash XOR sumFlags, the
// flag bits the checksum covers (the entry's flags & ENTRY_SUM_FLAGS: its encoding and INDIRECT).
inline uint32_t EntryChecksum(const void* keyAndValue, size_t len, uint32_t keyHash,
                              uint32_t sumFlags) noexcept {
  return Xxh32(keyAndValue, len, keyHash ^ sumFlags);
}

// valueChecksum of a large block (format.md §8, "Large values"): XXH32 of the value, seeded with
// the keyHash of the entry that refers to it.
inline uint32_t LargeChecksum(const void* value, size_t len, uint32_t keyHash) noexcept {
  return Xxh32(value, len, keyHash);
}

// headerChecksum: XXH32 (seed 0) of the 28-byte little-endian image
// magic u32, version u32, totalSize u64, bucketCount u32, maxEntries u32, maxNamespaces u32.
uint32_t HeaderChecksum(uint32_t magic, uint32_t version, uint64_t totalSize, uint32_t bucketCount,
                        uint32_t maxEntries, uint32_t maxNamespaces) noexcept;

}  // namespace shm
