#include "lockword.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace shm {

namespace {

inline void CpuRelax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

void SleepMicros(uint32_t us) noexcept {
  timespec ts;
  ts.tv_sec = us / 1000000;
  ts.tv_nsec = static_cast<long>(us % 1000000) * 1000;
  nanosleep(&ts, nullptr);
}

// Spin phase, then yield phase, then sleeps growing from 10 us to 1 ms.
constexpr uint32_t kSpinRounds = 32;
constexpr uint32_t kYieldRounds = 64;
// The holder is looked at only once the word has been unchanged this long, then at most once per
// kCheckEvery; no operation holds a lock for more than microseconds.
constexpr auto kFirstCheck = std::chrono::milliseconds(2);
constexpr auto kCheckEvery = std::chrono::milliseconds(1);

void BackoffRound(uint32_t round) noexcept {
  if (round <= kSpinRounds) {
    for (uint32_t i = 0; i < 16u << std::min<uint32_t>(round / 8, 3); ++i) CpuRelax();
  } else if (round <= kYieldRounds) {
    sched_yield();
  } else {
    uint32_t k = std::min<uint32_t>(round - kYieldRounds, 7);
    SleepMicros(10u << k);  // 20 us .. 1.28 ms
  }
}

// What a mapped address refers to, independently of where it is mapped: (device, inode, byte
// offset) of a shared file or shmem mapping, so that two mappings of one segment in this process
// (two workers that each opened the store by name) name the same store; for memory with no inode or
// not shared (private anonymous, e.g. a SharedArrayBuffer from the JS heap, which cannot be mapped
// twice) and when /proc is unreadable, the address itself.
struct MappingId {
  uint64_t dev = 0;
  uint64_t inode = 0;
  uint64_t offset = 0;
  bool operator==(const MappingId&) const = default;
};

MappingId IdentifyMapping(const void* addr) noexcept {
  const auto a = reinterpret_cast<uintptr_t>(addr);
  MappingId id;
  id.offset = a;
  FILE* f = std::fopen("/proc/self/maps", "re");
  if (f == nullptr) return id;
  char line[512];
  bool lineStart = true;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    // A line longer than the buffer (a long path) arrives in pieces; only a line's start parses.
    const bool start = lineStart;
    lineStart = std::strchr(line, '\n') != nullptr;
    unsigned long lo, hi, off, inode;
    unsigned major, minor;
    char perms[8];
    if (!start || std::sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &lo, &hi, perms, &off, &major,
                              &minor, &inode) != 7) {
      continue;
    }
    if (a < lo || a >= hi) continue;
    // Only a shared mapping is the same memory as another mapping of its file.
    if (inode != 0 && perms[3] == 's') {
      id.dev = (uint64_t{major} << 32) | minor;
      id.inode = inode;
      id.offset = off + (a - lo);
    }
    break;
  }
  std::fclose(f);
  return id;
}

struct LiveSlot {
  const void* base;  // the registering handle's mapping (Unregister names it by this)
  MappingId store;
  uint32_t slot;
};

std::mutex& RegistryMutex() {
  static std::mutex m;
  return m;
}
std::vector<LiveSlot>& Registry() {
  static std::vector<LiveSlot> v;
  return v;
}

}  // namespace

void LockWaiter::Backoff() noexcept {
  ++backoffRounds_;
  if (backoffRounds_ < 8) {
    for (int i = 0; i < (4 << backoffRounds_); ++i) CpuRelax();
  } else if (backoffRounds_ < 32) {
    sched_yield();
  } else {
    SleepMicros(20);
  }
}

bool LockWaiter::Moved(const uint32_t* word, uint32_t w) noexcept {
  const uint32_t now = AtomicLoad(word);
  if (now == w) return false;
  if (!IsHeartbeat(word, w, now)) rounds_ = 0;
  return true;
}

bool LockWaiter::HolderHeartbeats(uint32_t owner, Clock::time_point now) noexcept {
  if (repairLock_ == nullptr) return false;
  const uint32_t r = AtomicLoad(repairLock_);
  if (!LockIsHeld(r) || LockOwnerOf(r) != owner || r == repairSeen_) return false;
  repairSeen_ = r;
  since_ = now;
  return true;
}

Verdict LockWaiter::OnHeld(const uint32_t* word, uint32_t w) noexcept {
  if (w != last_ || rounds_ == 0) {
    // A holder that heartbeats RepairState.lock (the word waited on) keeps the backoff going, so
    // that waiting out a long pass sleeps instead of spinning; the timer restarts either way.
    if (!IsHeartbeat(word, last_, w)) rounds_ = 0;
    last_ = w;
    timing_ = false;
  }
  ++rounds_;
  BackoffRound(rounds_);
  if (rounds_ <= kSpinRounds / 2) return Verdict::kWait;
  auto now = Clock::now();
  if (!timing_) {
    timing_ = true;
    since_ = now;
    nextCheck_ = now + kFirstCheck;
    if (repairLock_ != nullptr) repairSeen_ = AtomicLoad(repairLock_);
    return Verdict::kWait;
  }
  if (now < nextCheck_) return Verdict::kWait;
  nextCheck_ = now + kCheckEvery;
  if (Moved(word, w)) return Verdict::kWait;
  const auto elapsed = now - since_;
  const auto timeout = std::chrono::milliseconds(env_.lockTimeoutMs);
  const uint32_t owner = LockOwnerOf(w);
  bool gone;
  if (owner == 0 || owner >= kOwnerSlots) {
    // No valid holder is named (a corrupt word): presume it gone after the timeout.
    gone = elapsed >= timeout;
  } else if (owner == env_.selfSlot) {
    // Our own slot: we are not inside an operation holding this lock, so nobody is (a slot
    // adopted from a dead process names that process's locks).
    gone = true;
  } else {
    const uint32_t pid = AtomicLoad(&env_.owners[owner].pid);
    if (Moved(word, w)) return Verdict::kWait;
    if (pid == 0) {
      gone = true;  // the holder's slot was released: nobody can be holding the lock
    } else if (pid == env_.pid) {
      gone = !IsLiveSlot(env_.storeBase, owner) && elapsed >= timeout;
      // A repair pass or verify() holds every lock for a long time and proves it is alive by
      // advancing RepairState.lock (§9, "Heartbeat of long passes").
      if (gone && HolderHeartbeats(owner, now)) return Verdict::kWait;
    } else {
      gone = ProcessGone(pid);
    }
  }
  if (gone) {
    if (Moved(word, w)) return Verdict::kWait;
    return Verdict::kGone;
  }
  // A live holder (or one not yet presumed gone) is waited for up to lockTimeoutMs x 10.
  return elapsed >= timeout * 10 ? Verdict::kTimeout : Verdict::kWait;
}

LockResult AcquireLock(uint32_t* word, const LockEnv& env, bool takeover, uint32_t* held) noexcept {
  LockWaiter waiter(env);
  for (;;) {
    uint32_t w = AtomicLoad(word);
    if (!LockIsHeld(w)) {
      if (TryLockFrom(word, w, env.selfSlot, held)) return LockResult::kAcquired;
      waiter.Backoff();
      continue;
    }
    Verdict v = waiter.OnHeld(word, w);
    if (v == Verdict::kWait) continue;
    if (v == Verdict::kTimeout) return LockResult::kTimeout;
    if (!takeover) {
      *held = w;  // the word whose holder is gone, for the caller's repair
      return LockResult::kGone;
    }
    uint32_t next = LockTakeoverWord(w, env.selfSlot);
    if (AtomicCas(word, w, next)) {
      std::atomic_thread_fence(std::memory_order_release);
      *held = next;
      return LockResult::kAcquired;
    }
    waiter.Reset();
  }
}

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

uint32_t ClaimOwnerSlot(layout::Owner* owners, uint32_t pid, uint32_t tid) noexcept {
  for (uint32_t o = 1; o < kOwnerSlots; ++o) {
    if (AtomicLoad(&owners[o].pid) == 0 && AtomicCas(&owners[o].pid, 0, pid)) {
      AtomicStore(&owners[o].tid, tid);
      return o;
    }
  }
  return 0;
}

uint32_t AdoptDeadOwnerSlot(layout::Owner* owners, uint32_t pid, uint32_t tid) noexcept {
  for (uint32_t o = 1; o < kOwnerSlots; ++o) {
    uint32_t p = AtomicLoad(&owners[o].pid);
    if (p == 0) {
      if (AtomicCas(&owners[o].pid, 0, pid)) {
        AtomicStore(&owners[o].tid, tid);
        return o;
      }
      continue;
    }
    if (p != pid && ProcessGone(p) && AtomicCas(&owners[o].pid, p, pid)) {
      AtomicStore(&owners[o].tid, tid);
      return o;
    }
  }
  return 0;
}

void ReleaseOwnerSlot(layout::Owner* owners, uint32_t slot) noexcept {
  if (slot == 0 || slot >= kOwnerSlots) return;
  AtomicStore(&owners[slot].tid, 0);
  AtomicStore(&owners[slot].pid, 0);
}

void RegisterLiveSlot(const void* storeBase, uint32_t slot) noexcept {
  const MappingId store = IdentifyMapping(storeBase);  // outside the lock: it reads /proc
  std::lock_guard<std::mutex> g(RegistryMutex());
  Registry().push_back(LiveSlot{storeBase, store, slot});
}

void UnregisterLiveSlot(const void* storeBase, uint32_t slot) noexcept {
  std::lock_guard<std::mutex> g(RegistryMutex());
  auto& r = Registry();
  auto it = std::find_if(r.begin(), r.end(),
                         [&](const LiveSlot& e) { return e.base == storeBase && e.slot == slot; });
  if (it != r.end()) {
    *it = r.back();
    r.pop_back();
  }
}

bool IsLiveSlot(const void* storeBase, uint32_t slot) noexcept {
  // The waiter's own handle is normally registered under storeBase: reuse its identity.
  MappingId store;
  bool known = false;
  {
    std::lock_guard<std::mutex> g(RegistryMutex());
    for (const LiveSlot& e : Registry()) {
      if (e.base == storeBase) {
        store = e.store;
        known = true;
        break;
      }
    }
  }
  if (!known) store = IdentifyMapping(storeBase);
  std::lock_guard<std::mutex> g(RegistryMutex());
  for (const LiveSlot& e : Registry()) {
    if (e.slot == slot && e.store == store) return true;
  }
  return false;
}

}  // namespace shm
