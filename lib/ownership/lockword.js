'use strict';
// Lock words (docs/format.md §1): an atomic u32 whose bits 0..19 are a version, odd while the
// lock is held, and whose bits 20..31 name the holder's owner slot (0 while free). Acquiring and
// releasing both advance the version, so a bucket's lock word is also its seqlock. The same
// functions as src/ownership/lockword.h.
const { C } = require('../layout/layout');

const VMASK = C.LOCK_VERSION_MASK;
const OSHIFT = C.LOCK_OWNER_SHIFT;

function isHeld(w) {
  return (w & 1) !== 0;
}

function ownerOf(w) {
  return w >>> OSHIFT;
}

// The word a holder writes when it acquires the free word `w` as owner slot `slot`.
function acquiredWord(w, slot) {
  return ((((w & VMASK) + 1) & VMASK) | (slot << OSHIFT)) >>> 0;
}

// The word a holder writes when it releases the held word `w` (owner bits cleared).
function releasedWord(w) {
  return ((w & VMASK) + 1) & VMASK;
}

// The word a repairer writes to take over `w` from a gone holder: same odd version, its owner.
function takeoverWord(w, slot) {
  return ((w & VMASK) | (slot << OSHIFT)) >>> 0;
}

// The word the holder of `w` writes to show it is alive during a long pass (§9): the version
// advances by 2, so the lock stays held, by the same owner.
function heartbeatWord(w) {
  return ((((w & VMASK) + 2) & VMASK) | (w & ~VMASK)) >>> 0;
}

// One attempt to take the lock at `idx` as `slot`: true when it was free and is now ours.
function tryLock(u32, idx, slot) {
  const w = Atomics.load(u32, idx);
  return (w & 1) === 0 && Atomics.compareExchange(u32, idx, w, acquiredWord(w, slot)) === w;
}

// Releases the lock at `idx` if `slot` still holds it (a CAS: a holder that was presumed gone and
// taken over must not release its new holder's lock).
function unlock(u32, idx, slot) {
  const w = Atomics.load(u32, idx);
  if ((w & 1) !== 0 && w >>> OSHIFT === slot) Atomics.compareExchange(u32, idx, w, releasedWord(w));
}

module.exports = {
  VMASK, OSHIFT, isHeld, ownerOf, acquiredWord, releasedWord, takeoverWord, heartbeatWord, tryLock,
  unlock,
};
