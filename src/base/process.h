// Process liveness and short sleeps: what a waiter needs to know about other processes.
#pragma once

#include <cstdint>

namespace shm {

// True when process `pid` no longer exists (kill(pid, 0) fails with ESRCH, or it is a zombie).
bool ProcessGone(uint32_t pid) noexcept;

// Sleeps for `us` microseconds (nanosleep; an interrupted sleep returns early).
void SleepMicros(uint32_t us) noexcept;

}  // namespace shm
