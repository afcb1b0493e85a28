'use strict';
// Taking and waiting for lock words (docs/format.md §1, §9): backoff, the stuck-lock rule (a
// holder that is gone is taken over, or repaired after by the caller), heartbeats of long passes
// and the timeout. The JS counterpart of src/ownership/waiter.{h,cpp}; it knows nothing of what
// the locks protect: the caller names the region, the owner table and the heartbeat word.
const { C, STATUS } = require('../layout/layout');
const { sleepMs } = require('../base/process');
const { VMASK, OSHIFT, releasedWord, takeoverWord } = require('./lockword');
const { GONE, OTHER_PROCESS } = require('./owners');

// Returned by acquire() and waitWhileHeld() when the holder of the lock is gone: the caller
// repairs what the holder may have left half done, then tries again.
const HOLDER_GONE = -1;

// A wait counts the waiter's own waiting time (format.md §9): each look adds the time since the
// previous one, at most LOCK_WAIT_STEP_MS, so that a pause of the whole process (SIGSTOP, a frozen
// cgroup), which paused the holder too, is one short step and not the holder's delay: a live
// holder of this process is never presumed gone because of it.
const MAX_STEP_MS = C.LOCK_WAIT_STEP_MS;
const stepOf = (last, now) => Math.min(now - last, MAX_STEP_MS);

// Returned by acquireAdvisory(): the word was free and is now the caller's; it was met held and
// is the caller's after a wait or a takeover; a live holder kept it for lockTimeoutMs, and the
// caller goes on without it.
const ADVISORY_TAKEN = 0;
const ADVISORY_WAITED = 1;
const ADVISORY_TIMEOUT = 2;

// Thrown when a live holder keeps a lock for lockTimeoutMs x 10. `status` is ERR_LOCK_TIMEOUT,
// the one error convention of the engines (lib/store/contract.js).
class LockError extends Error {
  constructor(message) {
    super(message);
    this.status = STATUS.ERR_LOCK_TIMEOUT;
  }
}

class LockWaiter {
  // `u32` is the region holding the lock words; `owners` its OwnerTable; `heartbeatWord` the
  // word index of the lock whose holder shows it is alive by heartbeats (-1: none); `self` the
  // waiter's identity (owners.identityOf); `timeoutMs` its lockTimeoutMs.
  constructor(u32, owners, heartbeatWord, self, timeoutMs) {
    this.u32 = u32;
    this.owners = owners;
    this.heartbeatWord = heartbeatWord;
    this.self = self;
    this.timeout = timeoutMs;
    this.slot = 0;
    this.ownerBits = 0;
    // The lock word the last HOLDER_GONE verdict judged and its value then (goneIdx -1: none),
    // for the caller that acts on the verdict later (takeGone()).
    this.goneIdx = -1;
    this.goneWord = 0;
  }

  // The lock word index and the word of the last HOLDER_GONE verdict, as [idx, word] ([-1, 0]
  // when none is pending), and forgets it. A caller that repairs after the verdict checks that
  // the word still holds that value when it is about to act (format.md §9): a pass that another
  // waiter of the same lock completed meanwhile released it.
  takeGone() {
    const gone = [this.goneIdx, this.goneWord];
    this.goneIdx = -1;
    return gone;
  }

  // The owner slot the locks are taken as.
  setSlot(slot) {
    this.slot = slot;
    this.ownerBits = (slot << OSHIFT) >>> 0;
  }

  // Word to store to take a lock whose current free word is `w`.
  heldWord(w) {
    return ((((w & VMASK) + 1) & VMASK) | this.ownerBits) >>> 0;
  }

  // The word is read with a plain load: the compare-and-swap decides, so an atomic load (a call
  // into a builtin, on every lock a store write takes) would buy nothing.
  tryAcquire(idx) {
    const u32 = this.u32;
    const w = u32[idx];
    return (w & 1) === 0 && Atomics.compareExchange(u32, idx, w, this.heldWord(w)) === w;
  }

  // Acquires the lock word at index `idx`. Returns 0, or HOLDER_GONE when the holder is gone.
  // Throws LockError when a live holder does not let go.
  acquire(idx) {
    if (this.tryAcquire(idx)) return 0;
    return this.wait(idx, false);
  }

  // Like acquire(), but a lock held by a gone owner is taken over in place (repair only).
  acquireOrTakeOver(idx) {
    if (this.tryAcquire(idx)) return;
    this.wait(idx, true);
  }

  // Acquires an advisory lock word at `idx`: one that guards no data and only orders its holders
  // (a store's room lease, format.md §8), so that nothing a holder did needs repair. Returns
  // ADVISORY_TAKEN, ADVISORY_WAITED (the caller may find what it waited for done meanwhile) or
  // ADVISORY_TIMEOUT (go on without it: the caller must stay available). As native's
  // AcquireAdvisory: the backoff of stuck(), and
  // - a word that names no valid slot, or this waiter's own, or an owner gone by §6, is taken
  //   over at once (one CAS; nothing to repair);
  // - any other holder is waited for at most `limitMs` (lockTimeoutMs unless the caller says
  //   less) in all, whoever holds it meanwhile;
  //   then a thread of this process that kept the same word the whole time is presumed gone, as
  //   the rule of §9 presumes it of a lock's holder (a worker stopped without its slot marked
  //   dead), and taken over; else the waiter goes on without it.
  acquireAdvisory(idx, limitMs = this.timeout) {
    if (this.tryAcquire(idx)) return ADVISORY_TAKEN;
    const u32 = this.u32;
    let last = performance.now();
    let waited = 0; // the waiter's own waiting time (stepOf)
    let first = -1; // the word met held first
    for (let spin = 0; ; spin++) {
      const w = Atomics.load(u32, idx);
      if ((w & 1) === 0) {
        if (Atomics.compareExchange(u32, idx, w, this.heldWord(w)) === w) return ADVISORY_WAITED;
        continue;
      }
      if (first === -1) first = w;
      if (spin < 64) continue;
      if (spin < 256) {
        sleepMs(0);
        continue;
      }
      const o = w >>> OSHIFT;
      let gone = o === 0 || o >= C.OWNER_SLOTS || o === this.slot;
      const now = performance.now();
      waited += stepOf(last, now);
      last = now;
      const late = waited >= limitMs;
      if (!gone) {
        const status = this.owners.status(o, this.self);
        gone = status === GONE || (late && status !== OTHER_PROCESS && w === first);
      }
      if (gone) {
        if (Atomics.compareExchange(u32, idx, w, takeoverWord(w, this.slot)) === w) return ADVISORY_WAITED;
        continue;
      }
      if (late) return ADVISORY_TIMEOUT;
      sleepMs(Math.min(1, (spin - 255) * 0.01));
    }
  }

  // Releases the lock at `idx` if this waiter still holds it. A lock can be taken over from a
  // holder presumed gone that is in fact only slow (a same-process holder after lockTimeoutMs):
  // its late release must not free the new holder's lock.
  release(idx) {
    const w = this.u32[idx]; // plain, as in tryAcquire: the compare-and-swap decides
    if ((w & 1) !== 0 && (w >>> OSHIFT) === this.slot) {
      Atomics.compareExchange(this.u32, idx, w, releasedWord(w));
    }
  }

  // Waits until the word at `idx` is no longer `seen` (a seqlock reader waiting out a writer).
  // Returns 0 when the caller should look again, HOLDER_GONE when the holder is gone.
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
      if (r === HOLDER_GONE) return HOLDER_GONE;
      if (r === 1) return 0; // taken over
    }
  }

  // Spins, then sleeps, while the word at `idx` stays `seen`. Returns 0 when it changed,
  // 1 when a takeover succeeded, HOLDER_GONE when the holder is gone and takeOver is false.
  stuck(idx, seen, takeOver) {
    const u32 = this.u32;
    const hb = this.heartbeatWord;
    let last = 0; // the time of the previous look (0: none yet)
    let waited = 0; // the waiter's own waiting time (stepOf)
    let beat = 0;
    for (let spin = 0; ; spin++) {
      if (Atomics.load(u32, idx) !== seen) return 0;
      if (spin < 64) continue;
      if (spin < 256) {
        sleepMs(0);
        continue;
      }
      const now = performance.now();
      if (last === 0) {
        if (hb >= 0) beat = Atomics.load(u32, hb);
      } else {
        waited += stepOf(last, now);
      }
      last = now;
      if (this.holderGone(seen, waited)) {
        // A holder running a long pass (repair, verify) proves it is alive by moving the
        // heartbeat word's version while it holds it (format.md §9, heartbeat).
        const o = seen >>> OSHIFT;
        const rw = hb >= 0 ? Atomics.load(u32, hb) : 0;
        if (hb >= 0 && o !== this.slot && (rw & 1) !== 0 && rw >>> OSHIFT === o && rw !== beat) {
          beat = rw;
          waited = 0;
          continue;
        }
        // The verdict read the holder's record after the word: a holder that released the lock
        // and then its slot in between reads as gone. Only a word still unchanged now was left
        // by a gone holder (the takeover's compare-and-swap checks the same).
        if (!takeOver) {
          if (Atomics.load(u32, idx) !== seen) return 0;
          this.goneIdx = idx;
          this.goneWord = seen;
          return HOLDER_GONE;
        }
        if (Atomics.compareExchange(u32, idx, seen, takeoverWord(seen, this.slot)) === seen) return 1;
        return 0;
      }
      sleepMs(Math.min(1, (spin - 255) * 0.01));
    }
  }

  // The stuck-lock rule of format.md §9, with the gone rule of §6 for the holder's record.
  holderGone(word, waitedMs) {
    const o = word >>> OSHIFT;
    // Operations never wait for a lock they hold, so a lock naming our own slot was left by
    // the owner that had the slot before us.
    if (o === this.slot) return true;
    if (o === 0 || o >= C.OWNER_SLOTS) return waitedMs >= this.timeout;
    const status = this.owners.status(o, this.self);
    if (status === GONE) return true;
    if (status === OTHER_PROCESS) {
      if (waitedMs >= this.timeout * 10) throw new LockError('lock timeout');
      return false;
    }
    // A thread of this process (a worker stopped by terminate() in the middle of a JS-engine
    // operation whose slot the addon could not mark dead): gone after lockTimeoutMs.
    return waitedMs >= this.timeout;
  }
}

module.exports = { LockWaiter, LockError, HOLDER_GONE, ADVISORY_TAKEN, ADVISORY_WAITED, ADVISORY_TIMEOUT };
