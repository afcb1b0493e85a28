#include "segment/futex.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>

namespace shm::futex {
namespace {

long Sys(const uint32_t* addr, int op, uint32_t val, const timespec* ts, uint32_t val3) noexcept {
  return syscall(SYS_futex, addr, op, val, ts, nullptr, val3);
}

bool Aligned(const uint32_t* addr) noexcept {
  return addr != nullptr && (reinterpret_cast<uintptr_t>(addr) & 3u) == 0;
}

// now(CLOCK_MONOTONIC) + ns, saturating far in the future instead of overflowing.
timespec Deadline(int64_t ns) noexcept {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  constexpr int64_t kBillion = 1000000000;
  // ~292 years of seconds is still representable; beyond a century is "forever" in practice.
  constexpr int64_t kMaxSec = int64_t{100} * 365 * 24 * 3600;
  int64_t sec = ns / kBillion;
  if (sec > kMaxSec) sec = kMaxSec;
  int64_t nsec = static_cast<int64_t>(now.tv_nsec) + ns % kBillion;
  sec += now.tv_sec;
  if (nsec >= kBillion) {
    nsec -= kBillion;
    sec += 1;
  }
  timespec ts;
  ts.tv_sec = static_cast<time_t>(sec);
  ts.tv_nsec = static_cast<long>(nsec);
  return ts;
}

}  // namespace

WaitResult Wait(const uint32_t* addr, uint32_t expected, int64_t timeout_ns,
                uint32_t bitset) noexcept {
  if (!Aligned(addr) || bitset == 0) return WaitResult::kInvalid;
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline (FUTEX_WAIT would take a
  // relative one, which EINTR retries would keep restarting).
  timespec deadline;
  const timespec* ts = nullptr;
  if (timeout_ns >= 0) {
    deadline = Deadline(timeout_ns);
    ts = &deadline;
  }
  for (;;) {
    if (Sys(addr, FUTEX_WAIT_BITSET, expected, ts, bitset) == 0) return WaitResult::kOk;
    switch (errno) {
      case EINTR:
        continue;  // a signal, not a wake: wait again until the same deadline
      case EAGAIN:
        return WaitResult::kNotEqual;
      case ETIMEDOUT:
        return WaitResult::kTimedOut;
      default:
        return WaitResult::kInvalid;
    }
  }
}

int Wake(const uint32_t* addr, int count, uint32_t bitset) noexcept {
  if (!Aligned(addr) || bitset == 0) return -EINVAL;
  if (count <= 0) return 0;
  const long rc = Sys(addr, FUTEX_WAKE_BITSET, static_cast<uint32_t>(count), nullptr, bitset);
  if (rc < 0) return -errno;
  return rc > INT_MAX ? INT_MAX : static_cast<int>(rc);
}

namespace {

// futex2 flags (include/uapi/linux/futex.h): the size of the word, and the private flag, which
// has the same value as FUTEX_PRIVATE_FLAG. Without FUTEX2_PRIVATE an entry is a shared futex,
// keyed like FUTEX_WAIT on the same word, so FUTEX_WAKE(_BITSET) from any process reaches it.
constexpr uint32_t kFutex2SizeU32 = 0x02;
constexpr uint32_t kFutex2Private = 128;
constexpr long kSysFutexWaitv = 449;  // the same number on every architecture

// The kernel's struct futex_waitv, declared here: older libc headers lack it.
struct KernelWaitv {
  uint64_t val;
  uint64_t uaddr;
  uint32_t flags;
  uint32_t reserved;
};
static_assert(sizeof(KernelWaitv) == 24, "struct futex_waitv is 24 bytes");

}  // namespace

int WaitAny(const WaitAnyEntry* entries, int n, int64_t deadline_ns) noexcept {
  if (entries == nullptr || n < 1 || n > kWaitAnyMax) return -EINVAL;
  KernelWaitv v[kWaitAnyMax];
  for (int i = 0; i < n; i++) {
    if (!Aligned(entries[i].addr)) return -EINVAL;
    v[i].val = entries[i].expected;
    v[i].uaddr = reinterpret_cast<uintptr_t>(entries[i].addr);
    v[i].flags = kFutex2SizeU32 | (entries[i].process_private ? kFutex2Private : 0);
    v[i].reserved = 0;
  }
  timespec ts;
  const timespec* tsp = nullptr;
  if (deadline_ns >= 0) {
    ts.tv_sec = static_cast<time_t>(deadline_ns / 1000000000);
    ts.tv_nsec = static_cast<long>(deadline_ns % 1000000000);
    tsp = &ts;
  }
  const long rc = syscall(kSysFutexWaitv, v, static_cast<unsigned>(n), 0u, tsp, CLOCK_MONOTONIC);
  if (rc < 0) return -errno;
  return static_cast<int>(rc);
}

bool WaitAnySupported() noexcept {
  // 0 entries: EINVAL where the call exists, ENOSYS where it does not. 0 = unknown yet.
  static std::atomic<int> known{0};
  int k = known.load(std::memory_order_relaxed);
  if (k == 0) {
    const long rc = syscall(kSysFutexWaitv, nullptr, 0u, 0u, nullptr, CLOCK_MONOTONIC);
    k = (rc < 0 && errno == ENOSYS) ? 2 : 1;
    known.store(k, std::memory_order_relaxed);
  }
  return k == 1;
}

int WakePrivate(const uint32_t* addr, int count) noexcept {
  if (!Aligned(addr)) return -EINVAL;
  if (count <= 0) return 0;
  const long rc = Sys(addr, FUTEX_WAKE_PRIVATE, static_cast<uint32_t>(count), nullptr, 0);
  if (rc < 0) return -errno;
  return rc > INT_MAX ? INT_MAX : static_cast<int>(rc);
}

int64_t MonotonicNs() noexcept {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

int64_t DeadlineAfter(int64_t timeout_ns) noexcept {
  if (timeout_ns < 0) return -1;
  const timespec ts = Deadline(timeout_ns);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace shm::futex
