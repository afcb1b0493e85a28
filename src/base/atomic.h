// Shared-memory atomics: every access to a shared word goes through std::atomic_ref. Sequentially
// consistent by default, the one ordering the JS engine has too (Atomics.*); the weaker forms
// below say why they are safe where they are used.
#pragma once

#include <atomic>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace shm {

static_assert(std::atomic_ref<uint32_t>::is_always_lock_free, "u32 atomics must be lock free");
static_assert(std::atomic_ref<uint64_t>::is_always_lock_free, "u64 atomics must be lock free");
static_assert(sizeof(void*) == 8, "64-bit platforms only");

inline uint32_t AtomicLoad(const uint32_t* p) noexcept {
  return std::atomic_ref<uint32_t>(*const_cast<uint32_t*>(p)).load(std::memory_order_seq_cst);
}
inline void AtomicStore(uint32_t* p, uint32_t v) noexcept {
  std::atomic_ref<uint32_t>(*p).store(v, std::memory_order_seq_cst);
}
// For words of a block nobody can reach yet: the store that publishes the block is sequentially
// consistent, which orders these before it (a plain mov on x86 instead of an xchg).
inline void UnpublishedStore(uint32_t* p, uint32_t v) noexcept {
  std::atomic_ref<uint32_t>(*p).store(v, std::memory_order_relaxed);
}
inline bool AtomicCas(uint32_t* p, uint32_t expected, uint32_t desired) noexcept {
  return std::atomic_ref<uint32_t>(*p).compare_exchange_strong(expected, desired,
                                                               std::memory_order_seq_cst);
}
inline uint32_t AtomicAdd(uint32_t* p, uint32_t v) noexcept {
  return std::atomic_ref<uint32_t>(*p).fetch_add(v, std::memory_order_seq_cst);
}
inline uint32_t AtomicExchange(uint32_t* p, uint32_t v) noexcept {
  return std::atomic_ref<uint32_t>(*p).exchange(v, std::memory_order_seq_cst);
}
inline uint32_t AtomicSub(uint32_t* p, uint32_t v) noexcept {
  return std::atomic_ref<uint32_t>(*p).fetch_sub(v, std::memory_order_seq_cst);
}
// Decrement that stops at 0 (counts may be one low after a writer died; they must not wrap).
inline void AtomicDecrementSaturating(uint32_t* p) noexcept {
  std::atomic_ref<uint32_t> a(*p);
  uint32_t cur = a.load(std::memory_order_seq_cst);
  while (cur != 0 && !a.compare_exchange_weak(cur, cur - 1, std::memory_order_seq_cst)) {
  }
}
inline uint64_t AtomicLoad64(const uint64_t* p) noexcept {
  return std::atomic_ref<uint64_t>(*const_cast<uint64_t*>(p)).load(std::memory_order_seq_cst);
}
inline void AtomicStore64(uint64_t* p, uint64_t v) noexcept {
  std::atomic_ref<uint64_t>(*p).store(v, std::memory_order_seq_cst);
}
inline void AtomicAdd64(uint64_t* p, uint64_t v) noexcept {
  std::atomic_ref<uint64_t>(*p).fetch_add(v, std::memory_order_seq_cst);
}
// Racy reads of plain (lock-protected or seqlock-validated) shared data: a relaxed atomic load is
// a plain load on every target but forbids the compiler from re-reading the location, so a value
// that was bounds-checked is the value that gets used.
template <class T>
inline T RacyLoad(const T* p) noexcept {
  static_assert(std::atomic_ref<T>::is_always_lock_free);
  return std::atomic_ref<T>(*const_cast<T*>(p)).load(std::memory_order_relaxed);
}

// One pause of a spin loop.
inline void CpuRelax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

}  // namespace shm
