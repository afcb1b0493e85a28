// What the msg room's GoogleTests share: a zeroed 64-byte aligned block of memory to put a region
// in, the owner identity of the calling thread, and the pid of a process that is gone.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "ownership/owners.h"

namespace msg_test {

struct Block {
  explicit Block(uint64_t bytes) : size(bytes) {
    mem = static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
    std::memset(mem, 0, bytes);
  }
  ~Block() { std::free(mem); }
  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;
  uint8_t* mem;
  uint64_t size;
};

inline shm::OwnerIdentity Me() {
  return shm::IdentityOf(static_cast<uint32_t>(getpid()), static_cast<uint32_t>(gettid()));
}

// The pid of a process that has exited (and been reaped).
inline uint32_t ExitedPid() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  return static_cast<uint32_t>(pid);
}

}  // namespace msg_test
