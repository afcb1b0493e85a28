'use strict';
// The ownership room (lib/ownership/) applied to a store (docs/format.md §6, §9): the owner
// table at OWNERS_OFFSET, RepairState.lock as the heartbeat word of long passes, and the codes
// and helpers the engine's retry loops share.
const { BASE, AT } = require('../../layout/layout');
const { OwnerTable, identityOf } = require('../../ownership/owners');
const { LockWaiter, LockError, HOLDER_GONE } = require('../../ownership/waiter');
const { LockHeartbeat } = require('../../ownership/heartbeat');

// Word indices of the owner table and of RepairState.lock.
const OWNERS_BASE = BASE.OWNER;
const REPAIR_LOCK = AT.REPAIR_STATE.LOCK;

// Returned by a lock acquisition when the holder is gone and a repair pass must run first.
const NEED_REPAIR = HOLDER_GONE;
// Returned by a writer step that found the structure invalid under its lock: a repair pass must
// run (once; if the step fails again the store is reported corrupt).
const CORRUPT = -3;

// The ownership state of one engine handle on the store in `u32`: its identity, the owner
// table, the lock waiter (e.locks) and the heartbeat of its long passes (e.heartbeat). The slot
// is claimed by attach().
function storeOwnership(u32, pid, tid, lockTimeoutMs) {
  const identity = identityOf(pid, tid);
  const owners = new OwnerTable(u32, OWNERS_BASE);
  return {
    identity,
    owners,
    locks: new LockWaiter(u32, owners, REPAIR_LOCK, identity, lockTimeoutMs),
    heartbeat: new LockHeartbeat(u32, REPAIR_LOCK),
  };
}

module.exports = {
  storeOwnership, LockError, NEED_REPAIR, CORRUPT, REPAIR_LOCK,
};
