#include "ownership/owners.h"

#include <unistd.h>

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

namespace {

// Whether a start time or boot id is known: neither 0 (not written, or not read) nor the start
// time of a writer that could not read its own (kOwnerStartUnknown, format.md §6).
bool Known(uint64_t v) noexcept {
  return v != 0 && v != kOwnerStartUnknown;
}

// Two values of a field that may be unknown name different things only when both are known.
bool Differ(uint64_t recorded, uint64_t current) noexcept {
  return Known(recorded) && Known(current) && recorded != current;
}

// Clears every field but pid, so that a slot is all zero once its pid is 0 and a claimer's record
// reads, until it is complete, as a pid without identity (§6, rule 6): it holds no lock, and
// rules 1 to 5 judge by its pid whether its slot may be freed or adopted.
void ClearIdentity(layout::Owner* r) noexcept {
  AtomicStore(&r->tid, 0);
  AtomicStore64(&r->startTime, 0);
  AtomicStore64(&r->bootId, 0);
  AtomicStore(&r->state, kOwnerLive);
}

// Holds the actor word of a record for the scope it was taken in.
class ActorHold {
 public:
  ActorHold(layout::Owner* r, const OwnerIdentity& self) noexcept
      : r_(r), held_(TakeOwnerActor(r, self)) {}
  ~ActorHold() {
    if (held_) DropOwnerActor(r_);
  }
  ActorHold(const ActorHold&) = delete;
  ActorHold& operator=(const ActorHold&) = delete;
  bool held() const noexcept { return held_; }

 private:
  layout::Owner* r_;
  bool held_;
};

// Writes the identity of a slot whose pid word the caller has just set to id.pid.
void WriteIdentity(layout::Owner* r, const OwnerIdentity& id) noexcept {
  AtomicStore(&r->tid, id.tid);
  AtomicStore64(&r->startTime, id.startTime);
  AtomicStore64(&r->bootId, id.bootId);
  AtomicStore(&r->state, kOwnerLive);
}

}  // namespace

bool TakeOwnerActor(layout::Owner* record, const OwnerIdentity& self) noexcept {
  const uint32_t held = AtomicLoad(&record->actor);
  if (held == 0) return AtomicCas(&record->actor, 0, self.pid);
  if (held == self.pid || !ProcessGone(held)) return false;
  return AtomicCas(&record->actor, held, self.pid);
}

void DropOwnerActor(layout::Owner* record) noexcept {
  AtomicStore(&record->actor, 0);
}

bool ReleaseOwnerActorOf(layout::Owner* record, uint32_t pid) noexcept {
  return pid != 0 && AtomicCas(&record->actor, pid, 0);
}

bool AdoptOwnerSlotAt(layout::Owner* owners, uint32_t slot, uint32_t judgedPid,
                      const OwnerIdentity& id) noexcept {
  if (slot == 0 || slot >= kOwnerSlots || judgedPid == 0 || id.pid == 0) return false;
  ClearIdentity(&owners[slot]);
  if (!AtomicCas(&owners[slot].pid, judgedPid, id.pid)) return false;
  WriteIdentity(&owners[slot], id);
  return true;
}

bool FreeOwnerSlotAt(layout::Owner* owners, uint32_t slot, uint32_t judgedPid) noexcept {
  if (slot == 0 || slot >= kOwnerSlots || judgedPid == 0) return false;
  ClearIdentity(&owners[slot]);
  return AtomicCas(&owners[slot].pid, judgedPid, 0);
}

ProcessIdentity ReadProcessIdentity(uint32_t pid) noexcept {
  ProcessIdentity p;
  if (pid != 0 && pid == static_cast<uint32_t>(getpid())) {
    p.startTime = OwnStartTime();  // the caller's own process, which lives
  } else {
    const ProcessStat st = ReadProcessStat(pid);
    p.gone = st.gone;
    p.startTime = st.startTime;
  }
  p.bootId = BootId();
  return p;
}

OwnerIdentity IdentityOf(uint32_t pid, uint32_t tid) noexcept {
  OwnerIdentity id;
  id.pid = pid;
  id.tid = tid;
  const ProcessIdentity p = ReadProcessIdentity(pid);
  // A start time that could not be read is written as the marker, never as 0: the record of a
  // live owner must not read as one without identity (rule 6) to parties that know theirs.
  id.startTime = p.startTime == 0 ? kOwnerStartUnknown : p.startTime;
  id.bootId = p.bootId;
  return id;
}

OwnerRecord ReadOwner(const layout::Owner* record) noexcept {
  OwnerRecord r;
  r.pid = AtomicLoad(&record->pid);
  r.tid = AtomicLoad(&record->tid);
  r.startTime = AtomicLoad64(&record->startTime);
  r.bootId = AtomicLoad64(&record->bootId);
  r.state = AtomicLoad(&record->state);
  return r;
}

namespace {

// Whether `seen`, a reading of a claimed slot of another process than self's, holds no identity
// (startTime and bootId both 0; format.md §6, "A record without identity"): a claim not
// finished, a freeing or an adoption stopped between its stores, or damage. Its owner holds
// nothing. A complete record never reads so: an owner that could not read its start time writes
// kOwnerStartUnknown there (IdentityOf). A record of self's own pid is left to rules 1 to 5,
// under which it is this process's (kThisProcess), for the same-process rules of §9: a thread of
// this process may be its claimer, and they never take a lock a live handle holds.
bool WithoutIdentity(const OwnerRecord& seen, const OwnerIdentity& self) noexcept {
  return seen.startTime == 0 && seen.bootId == 0 && seen.pid != self.pid;
}

// Rules 1 to 5 of the gone rule: the verdict on the process, by pid, start time, boot id and
// state. What frees or adopts a slot judges by these alone (OwnerGoneAsRead).
OwnerStatus ClassifyByPid(const OwnerRecord& seen, const OwnerIdentity& self) noexcept {
  if (seen.pid == 0) return OwnerStatus::kGone;
  if (seen.state == kOwnerDead) return OwnerStatus::kGone;
  if (Differ(seen.bootId, self.bootId)) return OwnerStatus::kGone;
  if (seen.pid == self.pid) {
    // An earlier process that had this pid (its start time differs) is gone.
    return Differ(seen.startTime, self.startTime) ? OwnerStatus::kGone : OwnerStatus::kThisProcess;
  }
  const ProcessStat now = ReadProcessStat(seen.pid);
  if (now.gone || Differ(seen.startTime, now.startTime)) return OwnerStatus::kGone;
  return OwnerStatus::kOtherProcess;
}

}  // namespace

OwnerStatus ClassifyOwner(const OwnerRecord& seen, const OwnerIdentity& self) noexcept {
  // Rule 6: a record without identity holds no lock, handle or work in progress, as a free slot
  // holds none; judged by its pid it would hold a lock it names while a process has that pid.
  // A record whose writer could not read its identity holds kOwnerStartUnknown, not 0: it is
  // judged by rules 1 to 5, by its pid.
  return WithoutIdentity(seen, self) ? OwnerStatus::kGone : ClassifyByPid(seen, self);
}

OwnerStatus ClassifyOwner(const layout::Owner* record, const OwnerIdentity& self) noexcept {
  return ClassifyOwner(ReadOwner(record), self);
}

bool OwnerGoneAsRead(const layout::Owner* record, const OwnerRecord& seen,
                     const OwnerIdentity& self) noexcept {
  // By rules 1 to 5 alone: a record without identity may be a claimer's that has not written
  // its identity yet, and a slot freed or adopted under it would then hold that claimer's
  // identity with no claim, or two owners. It keeps its slot until its pid's process ends.
  return seen.pid != 0 && ClassifyByPid(seen, self) == OwnerStatus::kGone &&
         ReadOwner(record) == seen;
}

uint32_t ClaimOwnerSlot(layout::Owner* owners, const OwnerIdentity& id, uint32_t slots,
                        uint32_t spread) noexcept {
  if (id.pid == 0 || spread == 0) return 0;
  for (uint32_t first = 1; first <= spread; ++first) {
    for (uint32_t o = first; o < slots; o += spread) {
      if (AtomicLoad(&owners[o].pid) == 0 && AtomicCas(&owners[o].pid, 0, id.pid)) {
        WriteIdentity(&owners[o], id);
        return o;
      }
    }
  }
  return 0;
}

bool ClaimOwnerSlotAt(layout::Owner* owners, uint32_t slot, uint32_t expectedPid,
                      const OwnerIdentity& id) noexcept {
  if (slot == 0 || slot >= kOwnerSlots || id.pid == 0) return false;
  if (!AtomicCas(&owners[slot].pid, expectedPid, id.pid)) return false;
  WriteIdentity(&owners[slot], id);
  return true;
}

uint32_t AdoptDeadOwnerSlot(layout::Owner* owners, const OwnerIdentity& id, uint32_t slots,
                            AdoptCheck check, void* ctx) noexcept {
  if (id.pid == 0) return 0;
  for (uint32_t o = 1; o < slots; ++o) {
    layout::Owner* r = &owners[o];
    const OwnerRecord seen = ReadOwner(r);
    if (seen.pid == 0) {
      if (AtomicCas(&r->pid, 0, id.pid)) {
        WriteIdentity(r, id);
        return o;
      }
      continue;
    }
    // Judged once before the actor word is taken, so that live owners' records are only read.
    if (!OwnerGoneAsRead(r, seen, id)) continue;
    // The verdict is made again and acted on holding the actor word: another party that judged
    // the same record cannot free the slot, see it claimed again, and act on the old verdict.
    const ActorHold actor(r, id);
    if (!actor.held()) continue;
    const OwnerRecord judged = ReadOwner(r);
    if (judged.pid == 0 || !OwnerGoneAsRead(r, judged, id)) continue;
    if (check != nullptr && !check(ctx, o)) continue;
    if (AdoptOwnerSlotAt(owners, o, judged.pid, id)) return o;
  }
  return 0;
}

void ReleaseOwnerSlot(layout::Owner* owners, uint32_t slot) noexcept {
  if (slot == 0 || slot >= kOwnerSlots) return;
  ClearIdentity(&owners[slot]);
  AtomicStore(&owners[slot].pid, 0);
}

bool FreeGoneOwnerSlot(layout::Owner* owners, uint32_t slot, const OwnerIdentity& self) noexcept {
  if (slot == 0 || slot >= kOwnerSlots) return false;
  layout::Owner* r = &owners[slot];
  // Judged once before the actor word is taken, so that live owners' records are only read.
  const OwnerRecord first = ReadOwner(r);
  if (!OwnerGoneAsRead(r, first, self)) return false;
  const ActorHold actor(r, self);
  if (!actor.held()) return false;
  const OwnerRecord seen = ReadOwner(r);
  if (!OwnerGoneAsRead(r, seen, self)) return false;
  return FreeOwnerSlotAt(owners, slot, seen.pid);
}

bool MarkOwnerSlotDead(layout::Owner* owners, uint32_t slot, const OwnerIdentity& id) noexcept {
  if (slot == 0 || slot >= kOwnerSlots || id.pid == 0) return false;
  layout::Owner* r = &owners[slot];
  if (AtomicLoad(&r->pid) != id.pid || AtomicLoad(&r->tid) != id.tid ||
      AtomicLoad64(&r->startTime) != id.startTime) {
    return false;
  }
  return AtomicCas(&r->state, kOwnerLive, kOwnerDead);
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
