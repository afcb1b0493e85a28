// Processes as seen through /proc: liveness, start times, the boot id; and short sleeps. What a
// waiter needs to know about other processes (docs/format.md §6, §9). Reading /proc is slow: it
// belongs on slow paths only (claiming an owner slot, checking a stuck lock, a repair pass).
#pragma once

#include <cstdint>

namespace shm {

// What /proc/<pid>/stat says about a process.
struct ProcessStat {
  bool gone = false;       // no such process (kill(pid, 0) fails with ESRCH), or a zombie
  uint64_t startTime = 0;  // field 22 (starttime, clock ticks since boot); 0 when unknown
};

// Looks process `pid` up. A process that exists but whose stat cannot be read (no /proc) is not
// gone and has an unknown (0) start time.
ProcessStat ReadProcessStat(uint32_t pid) noexcept;

// True when process `pid` no longer exists (kill(pid, 0) fails with ESRCH, or it is a zombie).
bool ProcessGone(uint32_t pid) noexcept;

// The start time of the calling process (field 22 of /proc/self/stat), 0 when unknown. Kept once
// read, per process id (a fork()ed child reads its own); a failed read is tried again.
uint64_t OwnStartTime() noexcept;

// The boot id as a u64 (docs/format.md §6): the first 16 hexadecimal digits of
// /proc/sys/kernel/random/boot_id, dashes removed, read as a big-endian hexadecimal number
// ("3f2e5c9a-1b2c-..." -> 0x3f2e5c9a1b2c....). 0 when unknown. Kept once read; a failed read is
// tried again.
uint64_t BootId() noexcept;

// Parsers behind the functions above, exposed for tests. ParseStatStartTime takes the text of a
// /proc/<pid>/stat file and returns field 22 counted after the last ')' (the command name may
// contain spaces and parentheses), 0 when the text is malformed; *zombie receives whether the
// state (field 3) is Z or X. ParseBootId takes the text of boot_id and returns 0 when it does
// not start with 16 hexadecimal digits (dashes skipped).
uint64_t ParseStatStartTime(const char* text, bool* zombie) noexcept;
uint64_t ParseBootId(const char* text) noexcept;

// Sleeps for `us` microseconds (nanosleep; an interrupted sleep returns early).
void SleepMicros(uint32_t us) noexcept;

}  // namespace shm
