#include "base/process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace shm {

bool ProcessGone(uint32_t pid) noexcept {
  if (pid == 0 || pid > 0x7fffffffu) return true;  // not a process id (never signal a group)
  if (kill(static_cast<pid_t>(pid), 0) != 0) return errno == ESRCH;
  // A killed child that was not reaped yet still answers kill(): look for a zombie.
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%u/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = 0;
  const char* paren = strrchr(buf, ')');
  if (paren == nullptr || paren[1] != ' ') return false;
  return paren[2] == 'Z' || paren[2] == 'X';
}

void SleepMicros(uint32_t us) noexcept {
  timespec ts;
  ts.tv_sec = us / 1000000;
  ts.tv_nsec = static_cast<long>(us % 1000000) * 1000;
  nanosleep(&ts, nullptr);
}

}  // namespace shm
