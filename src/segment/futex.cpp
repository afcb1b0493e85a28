#include "segment/futex.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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

}  // namespace shm::futex
