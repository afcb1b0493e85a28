// Owner slots (docs/format.md §6): a table of records in shared memory, one per open handle, that
// lock words name by index; and the process-local registry of the slots held by live handles.
#pragma once

#include <cstdint>

#include "layout/layout_gen.h"

namespace shm {

inline constexpr uint32_t kOwnerSlots = static_cast<uint32_t>(layout::kOwnerSlots);
inline constexpr uint32_t kOwnerLive = static_cast<uint32_t>(layout::kOwnerStateLive);
inline constexpr uint32_t kOwnerDead = static_cast<uint32_t>(layout::kOwnerStateDead);
// The start time an owner record holds when its writer could not read its own (§6): unknown,
// never compared, and not 0, so that the record never reads as one without identity (rule 6).
inline constexpr uint64_t kOwnerStartUnknown = layout::kOwnerStartUnknown;
static_assert(layout::kOwnersOffset + kOwnerSlots * sizeof(layout::Owner) == layout::kBucketsOffset,
              "the owner table ends where the bucket table begins");

// Who an owner record names (§6): a thread of one process of one boot.
struct OwnerIdentity {
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint64_t startTime = 0;  // the process's start time in clock ticks since boot; 0 or
                           // kOwnerStartUnknown: unknown (IdentityOf gives the latter)
  uint64_t bootId = 0;     // the boot id (base/process.h); 0: unknown
};

// What this process reads of process `pid` (§6): whether it is gone (base/process.h,
// ReadProcessStat), its start time (this process's own read once, OwnStartTime) and the boot id,
// each 0 when it cannot be read. Every identity and every verdict of the gone rule is made of
// these reads, for native handles here and, when the addon is loaded, for the pure-JS library
// through it (the addon's processIdentity): a permission model of the host can deny the JS code
// /proc but not this code, and both must then record and judge the same identities. Reads /proc:
// slow paths only.
struct ProcessIdentity {
  bool gone = false;
  uint64_t startTime = 0;
  uint64_t bootId = 0;
};
ProcessIdentity ReadProcessIdentity(uint32_t pid) noexcept;

// Thread `tid` of process `pid` on this boot: pid's start time (this process's is read once),
// kOwnerStartUnknown when it cannot be read, and the boot id (0 when it cannot be read), as
// ReadProcessIdentity reads them. Reads /proc: call it when attaching, not per operation.
OwnerIdentity IdentityOf(uint32_t pid, uint32_t tid) noexcept;

// What a record's owner is to `self`, by the gone rule of §6.
enum class OwnerStatus {
  kGone,          // released, marked dead, another boot, or a process that ended (pid reused)
  kThisProcess,   // a thread of self's process: only the timeout rule (§9) can tell more
  kOtherProcess,  // a live process other than self's
};
// One reading of an owner record, field by field (pid first).
struct OwnerRecord {
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint64_t startTime = 0;
  uint64_t bootId = 0;
  uint32_t state = 0;
  bool operator==(const OwnerRecord&) const = default;
};
OwnerRecord ReadOwner(const layout::Owner* record) noexcept;
// The gone rule for the owner `seen`, one reading of a record, names. A caller that acts on what
// it read judges that reading: a verdict that read the record again would be about whoever holds
// the slot by then, and a slot its owner released in order meanwhile reads as gone (the owner
// closed, and its thread may have claimed the slot again). Reads /proc for a record of another
// process (slow path only). A record of another pid than self's with no identity (startTime and
// bootId 0) is gone (rule 6): its owner holds no lock, handle or work. One whose startTime is
// kOwnerStartUnknown (its writer could not read its identity) is judged by its pid.
OwnerStatus ClassifyOwner(const OwnerRecord& seen, const OwnerIdentity& self) noexcept;
// The same for a reading taken now.
OwnerStatus ClassifyOwner(const layout::Owner* record, const OwnerIdentity& self) noexcept;
// Whether `seen`, a reading of `record`, names an owner that is gone for `self` while `record`
// still reads `seen` after the verdict: what frees or adopts a slot acts only on a record that
// was judged and is still there (a free slot is not gone here). Judged by rules 1 to 5 of §6
// alone: a record without identity, which may be a claimer's between its claim and its
// identity, is judged by its pid, and keeps its slot while that process lives.
bool OwnerGoneAsRead(const layout::Owner* record, const OwnerRecord& seen,
                     const OwnerIdentity& self) noexcept;

// Claims the lowest free slot for `id` (§6); returns 0 when none is free. `slots` is the table's
// size: kOwnerSlots in a store, layout::kSyncOwnerSlots in a sync region (§13). With `spread`
// k > 1 the slots are tried as 1, 1 + k, 1 + 2k, ..., then 2, 2 + k, ..., and so on: slots that
// are k apart first (for per-owner records smaller than a cache line that owners write often).
uint32_t ClaimOwnerSlot(layout::Owner* owners, const OwnerIdentity& id,
                        uint32_t slots = kOwnerSlots, uint32_t spread = 1) noexcept;
// Claims slot `slot` for `id` when its pid word reads `expectedPid`: 0 for a free slot, or the
// pid of the gone owner an adopter judged and whose identity it has cleared (AdoptOwnerSlotAt
// does both). A CAS of the pid word, then the identity. Returns whether it did. (The addon's
// claimWatchedOwnerSlot does this for a pure-JS handle in the same native call that starts
// watching the record.)
bool ClaimOwnerSlotAt(layout::Owner* owners, uint32_t slot, uint32_t expectedPid,
                      const OwnerIdentity& id) noexcept;
// The actor word of a record (format.md §6, "Acting on a verdict"), which a party holds while it
// acts on a verdict about the record's owner. TakeOwnerActor takes it for `self`: from 0, or from
// a process that no longer exists, which held it when it ended; false when a live process holds
// it (self's included: another of its threads acts on the slot). DropOwnerActor gives back a
// word the caller holds. ReleaseOwnerActorOf gives it back for a thread of process `pid` that
// held it and ended without giving it back (the addon, at the teardown of a terminated worker
// that was acting): CAS(actor, pid, 0); returns whether it did.
bool TakeOwnerActor(layout::Owner* record, const OwnerIdentity& self) noexcept;
void DropOwnerActor(layout::Owner* record) noexcept;
bool ReleaseOwnerActorOf(layout::Owner* record, uint32_t pid) noexcept;
// The stores of an adoption and of a freeing, for a caller that holds the record's actor word and
// judged its owner, whose pid is `judgedPid`, gone on a reading the record still held: clear every
// field but pid (until the new identity is written the record must not read as the gone
// owner's), then CAS(pid, judgedPid, id.pid) and write id's identity (AdoptOwnerSlotAt), or
// CAS(pid, judgedPid, 0) (FreeOwnerSlotAt). Made in one call, a thread cannot be stopped
// between them by worker.terminate() (the addon's claimWatchedOwnerSlot and freeOwnerSlot), which
// would leave the gone owner's pid with no identity: a record that holds no lock (rule 6) but
// that no party frees or adopts while a process has that pid (rules 1 to 5 judge it by the pid).
// Return whether the CAS succeeded.
bool AdoptOwnerSlotAt(layout::Owner* owners, uint32_t slot, uint32_t judgedPid,
                      const OwnerIdentity& id) noexcept;
bool FreeOwnerSlotAt(layout::Owner* owners, uint32_t slot, uint32_t judgedPid) noexcept;
// What a region whose per-owner records name work in progress (format.md §15, the MPMC queue's
// intents) checks before a gone owner's slot is adopted: called holding the slot's actor word,
// after the owner was judged gone (so what it left no longer changes), with `ctx` and the slot;
// it may finish what the owner left, and returns false to leave the slot to a later adopter
// (what it left cannot be finished yet, and adopting would lose the record of it).
using AdoptCheck = bool (*)(void* ctx, uint32_t slot) noexcept;
// Claims a slot whose owner is gone, for an attacher that found the table full; it must run a
// repair pass right after, which takes over the locks still naming that slot. A gone owner's slot
// that names id.pid is adopted as well (a thread of this process that ended without releasing
// it, marked dead, or an earlier process of the same pid): the actor word keeps two adopters of
// one process apart, which the CAS of the pid word alone could not, and such a slot would
// otherwise stay taken for as long as the process lives. Slots `check` (when given) refuses are
// not adopted, and the verdict is OwnerGoneAsRead's, made and acted on holding the slot's actor
// word, as for FreeGoneOwnerSlot. 0 if none.
uint32_t AdoptDeadOwnerSlot(layout::Owner* owners, const OwnerIdentity& id,
                            uint32_t slots = kOwnerSlots, AdoptCheck check = nullptr,
                            void* ctx = nullptr) noexcept;
// Releases a slot this handle holds (on close): every field but pid cleared, then pid 0, so that
// a claimer never finds a free slot whose identity is still being cleared. Between the two the
// record reads as this process's pid without identity, which its watch (if any) no longer matches:
// the addon's releaseOwnerSlot makes both, and ends the watch, in one call that worker.terminate()
// cannot split.
void ReleaseOwnerSlot(layout::Owner* owners, uint32_t slot) noexcept;
// Frees `slot` if its owner is gone for `self` (the repair pass, §9 step 6, holding every lock:
// no lock can name the slot), judged as OwnerGoneAsRead says: the final CAS of the pid word alone
// would not do, since an owner that closed while it was judged, and a thread of its process that
// claimed the slot again, leave the same pid. The verdict is made and acted on holding the
// slot's actor word (format.md §6): false, nothing done, while a live process holds it. Returns
// true when it freed the slot.
bool FreeGoneOwnerSlot(layout::Owner* owners, uint32_t slot, const OwnerIdentity& self) noexcept;
// Marks `slot` dead (state 1) if it still names id's pid, tid and start time: the host process
// does this for a handle whose thread ended without releasing it. Returns true when it did.
bool MarkOwnerSlotDead(layout::Owner* owners, uint32_t slot, const OwnerIdentity& id) noexcept;

// Process-local registry of owner slots held by open native handles, so that a waiter can tell
// that a lock held by another thread of its own process is held by a live handle (native calls
// are never cut short by worker.terminate()) and must not be presumed gone after lockTimeoutMs.
// regionBase is where the caller mapped the region that holds the owner table; entries are matched
// by the memory behind it (device, inode, offset), so a handle that mapped the same segment
// elsewhere is recognised.
void RegisterLiveSlot(const void* regionBase, uint32_t slot) noexcept;
void UnregisterLiveSlot(const void* regionBase, uint32_t slot) noexcept;
bool IsLiveSlot(const void* regionBase, uint32_t slot) noexcept;

}  // namespace shm
