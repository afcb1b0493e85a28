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

// ---- Waiting on several words at once: futex_waitv(2), Linux >= 5.16 ----------------------------

// The kernel's limit on the entries of one WaitAny call.
inline constexpr int kWaitAnyMax = 128;

struct WaitAnyEntry {
  const uint32_t* addr;
  uint32_t expected;
  // false: a shared futex, met by Wake from any process (the words of segments); true: a
  // process-private futex, met only by WakePrivate (a word in this process's own heap).
  bool process_private;
};

// Blocks while every entry's word equals its expected value, until one entry is woken or the
// absolute CLOCK_MONOTONIC deadline `deadline_ns` passes (negative: none). Each entry is its own
// kernel waiter, so Wake(addr, 1) reaches one entry. Returns the index of a woken entry (when
// several were woken before this thread ran, only one of them is reported: callers re-check the
// others), or -EAGAIN (some word differed on entry, which one is not said), -ETIMEDOUT, -EINTR,
// -ENOSYS (kernel without futex_waitv), -EFAULT, -EINVAL. 1 <= n <= kWaitAnyMax.
int WaitAny(const WaitAnyEntry* entries, int n, int64_t deadline_ns) noexcept;

// Whether the running kernel has futex_waitv (probed once, then cached).
bool WaitAnySupported() noexcept;

// Wakes up to `count` process-private waiters on addr (WaitAnyEntry::process_private).
int WakePrivate(const uint32_t* addr, int count) noexcept;

// CLOCK_MONOTONIC now, in nanoseconds.
int64_t MonotonicNs() noexcept;

// The absolute CLOCK_MONOTONIC deadline `timeout_ns` from now; negative stays negative (none).
// Saturates a century ahead instead of overflowing.
int64_t DeadlineAfter(int64_t timeout_ns) noexcept;

}  // namespace shm::futex
