#include "base/process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>

namespace shm {

namespace {

// Reads up to size - 1 bytes of `path` into buf, NUL-terminated. False when it cannot be read.
bool ReadSmallFile(const char* path, char* buf, size_t size) noexcept {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t n = 0;
  while (n + 1 < size) {
    const ssize_t r = read(fd, buf + n, size - 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += static_cast<size_t>(r);
  }
  close(fd);
  buf[n] = 0;
  return n > 0;
}

int HexDigit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A stat line is about 300 bytes; the fields up to starttime fit well within this.
constexpr size_t kStatBytes = 1024;

}  // namespace

uint64_t ParseStatStartTime(const char* text, bool* zombie) noexcept {
  *zombie = false;
  const char* p = std::strrchr(text, ')');
  if (p == nullptr || p[1] != ' ') return 0;
  p += 2;  // field 3, the state
  *zombie = *p == 'Z' || *p == 'X';
  // Skip fields 3 to 21: 19 fields, each followed by one space.
  for (int field = 3; field < 22; ++field) {
    p = std::strchr(p, ' ');
    if (p == nullptr) return 0;
    ++p;
  }
  uint64_t v = 0;
  int digits = 0;
  for (; *p >= '0' && *p <= '9' && digits < 20; ++p, ++digits) v = v * 10 + (*p - '0');
  if (digits == 0 || (*p != ' ' && *p != '\n' && *p != 0)) return 0;
  return v;
}

uint64_t ParseBootId(const char* text) noexcept {
  uint64_t v = 0;
  int digits = 0;
  for (const char* p = text; *p != 0 && digits < 16; ++p) {
    if (*p == '-') continue;
    const int d = HexDigit(*p);
    if (d < 0) return 0;
    v = (v << 4) | static_cast<uint64_t>(d);
    ++digits;
  }
  return digits == 16 ? v : 0;
}

ProcessStat ReadProcessStat(uint32_t pid) noexcept {
  ProcessStat st;
  if (pid == 0 || pid > 0x7fffffffu) {  // not a process id (never signal a group)
    st.gone = true;
    return st;
  }
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
    st.gone = true;
    return st;
  }
  // A killed child that was not reaped yet still answers kill(): look for a zombie.
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%u/stat", pid);
  char buf[kStatBytes];
  if (!ReadSmallFile(path, buf, sizeof buf)) {
    // No /proc, or the process ended since kill() answered.
    if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) st.gone = true;
    return st;
  }
  bool zombie = false;
  st.startTime = ParseStatStartTime(buf, &zombie);
  st.gone = zombie;
  return st;
}

bool ProcessGone(uint32_t pid) noexcept {
  return ReadProcessStat(pid).gone;
}

uint64_t OwnStartTime() noexcept {
  // Keyed by the process id: fork() copies the cache into a child with another start time. Only
  // a value read is kept: a read that failed (no /proc, no file descriptor left) is tried again
  // by the next call, and a record written meanwhile says its start time is unknown (format.md
  // §6), which is safe whatever later calls read.
  static std::atomic<uint32_t> cachedPid{0};
  static std::atomic<uint64_t> cachedStart{0};
  const uint32_t pid = static_cast<uint32_t>(getpid());
  if (cachedPid.load(std::memory_order_acquire) == pid) {
    return cachedStart.load(std::memory_order_relaxed);
  }
  const uint64_t start = ReadProcessStat(pid).startTime;
  if (start == 0) return 0;
  // Every thread of one process computes the same value, so concurrent fills agree.
  cachedStart.store(start, std::memory_order_relaxed);
  cachedPid.store(pid, std::memory_order_release);
  return start;
}

uint64_t BootId() noexcept {
  // Only a value read is kept, as for OwnStartTime(); every reader reads the same value.
  static std::atomic<uint64_t> cached{0};
  const uint64_t known = cached.load(std::memory_order_relaxed);
  if (known != 0) return known;
  char buf[64];
  const uint64_t id =
      ReadSmallFile("/proc/sys/kernel/random/boot_id", buf, sizeof buf) ? ParseBootId(buf) : 0;
  if (id != 0) cached.store(id, std::memory_order_relaxed);
  return id;
}

void SleepMicros(uint32_t us) noexcept {
  timespec ts;
  ts.tv_sec = us / 1000000;
  ts.tv_nsec = static_cast<long>(us % 1000000) * 1000;
  nanosleep(&ts, nullptr);
}

}  // namespace shm
