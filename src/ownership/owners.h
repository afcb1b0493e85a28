// Owner slots (docs/format.md §6): a table of records in shared memory, one per open handle, that
// lock words name by index; and the process-local registry of the slots held by live handles.
#pragma once

#include <cstdint>

#include "layout/layout_gen.h"

namespace shm {

inline constexpr uint32_t kOwnerSlots = static_cast<uint32_t>(layout::kOwnerSlots);

// Owner slots (§6). Claims the lowest free slot; returns 0 when none is free.
uint32_t ClaimOwnerSlot(layout::Owner* owners, uint32_t pid, uint32_t tid) noexcept;
// Claims a slot whose process is gone (for an attacher that found the table full; it must run a
// repair pass right after, which takes over the locks still naming that slot). 0 if none.
uint32_t AdoptDeadOwnerSlot(layout::Owner* owners, uint32_t pid, uint32_t tid) noexcept;
void ReleaseOwnerSlot(layout::Owner* owners, uint32_t slot) noexcept;

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
