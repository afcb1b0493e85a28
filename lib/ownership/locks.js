'use strict';
// Lock words, owner slots and the stuck-lock rule (docs/format.md §1, §6, §9).
//
// A lock word is a u32: bits 0..19 a version whose low bit means "held", bits 20..31 the owner
// slot of the holder. Acquiring and releasing both bump the version, so the bucket lock doubles
// as the bucket's seqlock.
const fs = require('fs');
const { C, W, BASE, AT, STATUS } = require('../layout/layout');

const VMASK = C.LOCK_VERSION_MASK;
const OSHIFT = C.LOCK_OWNER_SHIFT;
const OWNER_BASE = BASE.OWNER;
const OWNER_WORDS = W.OWNER.WORDS;
const PID = W.OWNER.PID;
const TID = W.OWNER.TID;

// Returned by acquire() when the holder of a lock is gone and a repair pass must run first.
const NEED_REPAIR = -1;
// RepairState.lock: a long pass that holds it advances its version as a heartbeat.
const REPAIR_LOCK = AT.REPAIR_STATE.LOCK;
const BEAT_EVERY = 4096;
// Returned by a writer step that found the structure invalid under its lock: a repair pass must
// run (once; if the step fails again the store is reported corrupt).
const CORRUPT = -3;

// Atomically subtracts `n` from the u32 at `idx`, stopping at 0 (a count left low by a writer
// that died between publishing and counting must not wrap to 2^32 - 1).
function subSaturating(u32, idx, n) {
  let c = Atomics.load(u32, idx);
  for (;;) {
    const seen = Atomics.compareExchange(u32, idx, c, c > n ? c - n : 0);
    if (seen === c) return;
    c = seen;
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms) {
  Atomics.wait(sleeper, 0, 0, ms);
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return e.code === 'EPERM';
  }
  // A zombie (killed, not yet reaped by its parent) holds nothing and never runs again.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return true;
  }
}

// A live holder kept a lock for lockTimeoutMs * 10. `status` is ERR_LOCK_TIMEOUT, the one error
// convention of the engines (lib/store/contract.js).
class LockError extends Error {
  constructor(message) {
    super(message);
    this.status = STATUS.ERR_LOCK_TIMEOUT;
  }
}

class Locks {
  constructor(u32, pid, tid, lockTimeoutMs) {
    this.u32 = u32;
    this.pid = pid;
    this.tid = tid;
    this.timeout = lockTimeoutMs;
    this.slot = 0;
    this.ownerBits = 0;
    this.work = 0;
  }

  // Claims an owner slot (format.md §6). Returns false when every slot is taken.
  claimSlot() {
    const u32 = this.u32;
    for (let o = 1; o < C.OWNER_SLOTS; o++) {
      const r = OWNER_BASE + o * OWNER_WORDS;
      if (Atomics.load(u32, r + PID) === 0 && Atomics.compareExchange(u32, r + PID, 0, this.pid) === 0) {
        Atomics.store(u32, r + TID, this.tid);
        this.slot = o;
        this.ownerBits = (o << OSHIFT) >>> 0;
        return true;
      }
    }
    return false;
  }

  // With every slot taken: adopts one whose process is gone. The caller must then run a repair
  // pass, which takes over any lock still naming the slot (holderGone treats our own slot as
  // gone) and frees the other dead slots.
  adoptDeadSlot() {
    const u32 = this.u32;
    for (let o = 1; o < C.OWNER_SLOTS; o++) {
      const r = OWNER_BASE + o * OWNER_WORDS;
      const pid = Atomics.load(u32, r + PID);
      if (pid === 0 || pid === this.pid || pidAlive(pid)) continue;
      if (Atomics.compareExchange(u32, r + PID, pid, this.pid) !== pid) continue;
      Atomics.store(u32, r + TID, this.tid);
      this.slot = o;
      this.ownerBits = (o << OSHIFT) >>> 0;
      return true;
    }
    return false;
  }

  releaseSlot() {
    if (!this.slot) return;
    const r = OWNER_BASE + this.slot * OWNER_WORDS;
    Atomics.store(this.u32, r + TID, 0);
    Atomics.store(this.u32, r + PID, 0);
    this.slot = 0;
  }

  // Word to store to take a lock whose current free word is `w`.
  heldWord(w) {
    return ((((w & VMASK) + 1) & VMASK) | this.ownerBits) >>> 0;
  }

  tryAcquire(idx) {
    const u32 = this.u32;
    const w = Atomics.load(u32, idx);
    return (w & 1) === 0 && Atomics.compareExchange(u32, idx, w, this.heldWord(w)) === w;
  }

  // Acquires the lock word at index `idx`. Returns 0, or NEED_REPAIR when the holder is gone.
  acquire(idx) {
    if (this.tryAcquire(idx)) return 0;
    return this.wait(idx, false);
  }

  // Like acquire(), but a lock held by a gone owner is taken over in place (repair only).
  acquireOrTakeOver(idx) {
    if (this.tryAcquire(idx)) return;
    this.wait(idx, true);
  }

  // Called once per unit of work by a pass that holds RepairState.lock: every BEAT_EVERY units
  // the lock's version moves on (held bit and owner unchanged), so that waiters can tell a long
  // pass from a holder that is gone.
  beat() {
    if (++this.work >= BEAT_EVERY) this.pulse();
  }

  pulse() {
    this.work = 0;
    const w = Atomics.load(this.u32, REPAIR_LOCK);
    if ((w & 1) === 0 || w >>> OSHIFT !== this.slot) return;
    Atomics.compareExchange(this.u32, REPAIR_LOCK, w, ((((w & VMASK) + 2) & VMASK) | this.ownerBits) >>> 0);
  }

  // Releases the lock at `idx` if this handle still holds it. A lock can be taken over from a
  // holder presumed gone that is in fact only slow (a same-process holder after lockTimeoutMs,
  // e.g. a long verify() or repair pass): its late release must not free the new holder's lock.
  release(idx) {
    const w = Atomics.load(this.u32, idx);
    if ((w & 1) !== 0 && (w >>> OSHIFT) === this.slot) {
      Atomics.compareExchange(this.u32, idx, w, ((w & VMASK) + 1) & VMASK);
    }
  }

  // Waits until the lock at `idx` is free, or (readers) until its word changes. Returns 0 when
  // the caller should try again, NEED_REPAIR when the holder is gone.
  waitWhileHeld(idx, seen) {
    return this.stuck(idx, seen, false);
  }

  wait(idx, takeOver) {
    for (;;) {
      const w = Atomics.load(this.u32, idx);
      if ((w & 1) === 0) {
        if (Atomics.compareExchange(this.u32, idx, w, this.heldWord(w)) === w) return 0;
        continue;
      }
      const r = this.stuck(idx, w, takeOver);
      if (r === NEED_REPAIR) return NEED_REPAIR;
      if (r === 1) return 0; // taken over
    }
  }

  // Spins, then sleeps, while the word at `idx` stays `seen`. Returns 0 when it changed,
  // 1 when a takeover succeeded, NEED_REPAIR when the holder is gone and takeOver is false.
  stuck(idx, seen, takeOver) {
    const u32 = this.u32;
    let start = 0;
    let beat = 0;
    for (let spin = 0; ; spin++) {
      if (Atomics.load(u32, idx) !== seen) return 0;
      if (spin < 64) continue;
      if (spin < 256) {
        sleepMs(0);
        continue;
      }
      const now = performance.now();
      if (start === 0) {
        start = now;
        beat = Atomics.load(u32, REPAIR_LOCK);
      }
      if (this.holderGone(seen, now - start)) {
        // A holder running a long pass (repair, verify) proves it is alive by moving the repair
        // lock's version while it holds it (format.md §9, heartbeat).
        const o = seen >>> OSHIFT;
        const rw = Atomics.load(u32, REPAIR_LOCK);
        if (o !== this.slot && (rw & 1) !== 0 && rw >>> OSHIFT === o && rw !== beat) {
          beat = rw;
          start = now;
          continue;
        }
        if (!takeOver) return NEED_REPAIR;
        const mine = ((seen & VMASK) | this.ownerBits) >>> 0;
        if (Atomics.compareExchange(u32, idx, seen, mine) === seen) return 1;
        return 0;
      }
      sleepMs(Math.min(1, (spin - 255) * 0.01));
    }
  }

  // The stuck-lock rule of format.md §9.
  holderGone(word, waitedMs) {
    const o = word >>> OSHIFT;
    // Operations never wait for a lock they hold, so a lock naming our own slot was left by
    // the process that had the slot before us.
    if (o === this.slot) return true;
    if (o === 0 || o >= C.OWNER_SLOTS) return waitedMs >= this.timeout;
    const pid = Atomics.load(this.u32, OWNER_BASE + o * OWNER_WORDS + PID);
    if (pid === 0) return true;
    if (pid !== this.pid) {
      if (!pidAlive(pid)) return true;
      if (waitedMs >= this.timeout * 10) throw new LockError('lock timeout');
      return false;
    }
    return waitedMs >= this.timeout;
  }

  // Clears owner slots whose process is gone (repair pass only, when no lock can name them).
  reclaimDeadSlots() {
    const u32 = this.u32;
    for (let o = 1; o < C.OWNER_SLOTS; o++) {
      const r = OWNER_BASE + o * OWNER_WORDS;
      const pid = Atomics.load(u32, r + PID);
      if (pid !== 0 && pid !== this.pid && !pidAlive(pid)) {
        Atomics.store(u32, r + TID, 0);
        Atomics.store(u32, r + PID, 0);
      }
    }
  }
}

module.exports = { Locks, LockError, NEED_REPAIR, CORRUPT, subSaturating, pidAlive, sleepMs };
