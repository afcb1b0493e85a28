#include "ownership/owners.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <vector>

#include "base/atomic.h"
#include "base/process.h"

namespace shm {

namespace {

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

void RegisterLiveSlot(const void* regionBase, uint32_t slot) noexcept {
  const MappingId store = IdentifyMapping(regionBase);  // outside the lock: it reads /proc
  std::lock_guard<std::mutex> g(RegistryMutex());
  Registry().push_back(LiveSlot{regionBase, store, slot});
}

void UnregisterLiveSlot(const void* regionBase, uint32_t slot) noexcept {
  std::lock_guard<std::mutex> g(RegistryMutex());
  auto& r = Registry();
  auto it = std::find_if(r.begin(), r.end(),
                         [&](const LiveSlot& e) { return e.base == regionBase && e.slot == slot; });
  if (it != r.end()) {
    *it = r.back();
    r.pop_back();
  }
}

bool IsLiveSlot(const void* regionBase, uint32_t slot) noexcept {
  // The waiter's own handle is normally registered under regionBase: reuse its identity.
  MappingId store;
  bool known = false;
  {
    std::lock_guard<std::mutex> g(RegistryMutex());
    for (const LiveSlot& e : Registry()) {
      if (e.base == regionBase) {
        store = e.store;
        known = true;
        break;
      }
    }
  }
  if (!known) store = IdentifyMapping(regionBase);
  std::lock_guard<std::mutex> g(RegistryMutex());
  for (const LiveSlot& e : Registry()) {
    if (e.slot == slot && e.store == store) return true;
  }
  return false;
}

}  // namespace shm
