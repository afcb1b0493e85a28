// Cross-process futex on a 32-bit word in shared memory: the Linux futex(2) system call without
// FUTEX_PRIVATE_FLAG, so waiters and wakers in different processes that map the same object
// meet (the kernel keys shared futexes by inode and offset, not by address). JavaScript's
// Atomics.wait/notify are emulated per process by V8 and neither see nor wake these waiters.
// No Node headers, no exceptions.
#pragma once

#include <cstdint>

namespace shm::futex {

enum class WaitResult : int32_t {
  kOk = 0,        // woken by Wake (or, rarely, spuriously: callers re-check the word)
  kNotEqual = 1,  // *addr != expected when the wait started
  kTimedOut = 2,  // the timeout passed
  kInvalid = 3,   // null or misaligned address, or an address the kernel cannot read (EFAULT)
};

// Every waiter with this bitset is woken by every waker with this bitset (FUTEX_WAKE).
inline constexpr uint32_t kBitsetAll = 0xffffffffu;

// Timeout meaning "wait forever".
inline constexpr int64_t kForever = -1;

// Blocks while *addr == expected, until a Wake whose bitset intersects `bitset` reaches this
// waiter or `timeout_ns` nanoseconds pass (negative: forever; 0: just compare). The deadline is
// absolute (CLOCK_MONOTONIC), so interruptions by signals (EINTR) resume without stretching it.
// `addr` must be 4-byte aligned; `bitset` must be nonzero.
WaitResult Wait(const uint32_t* addr, uint32_t expected, int64_t timeout_ns,
                uint32_t bitset = kBitsetAll) noexcept;

// Wakes up to `count` waiters on addr (in any process) whose bitset intersects `bitset`.
// count <= 0 wakes nobody. Returns the number woken, or -errno (e.g. -EFAULT, -EINVAL).
int Wake(const uint32_t* addr, int count, uint32_t bitset = kBitsetAll) noexcept;

}  // namespace shm::futex
