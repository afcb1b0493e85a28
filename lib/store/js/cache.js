'use strict';
// The per-writer block cache of the pure-JS engine (docs/format.md §8, "Parked blocks"): a set
// that replaces an entry parks the old block instead of freeing it, and takes its next block of
// that class from what it parked, without AllocState.lock; an insert that has none takes a batch
// under one hold of the lock and parks the rest (refill). The marks in the pool (FLAG_PARKED and
// the owner slot in `next`) are the recoverable truth; the handle's arrays only say where its own
// marks are. Byte for byte as src/store/cache.cpp, so native and JS handles interoperate.
const { C, W, AT, UNIT_WORDS, SIZE_CLASSES, CLASS_UNITS } = require('../../layout/layout');
const { NEED_REPAIR, LockError } = require('./locks');
const { ALLOC_LOCK, push, countFreed, allocBatch } = require('./alloc');

const FLAGS = W.ENTRY.FLAGS;
const NEXT = W.ENTRY.NEXT;
const CLASS_SHIFT = C.FLAG_CLASS_SHIFT;
const CLASS_MASK = C.FLAG_CLASS_MASK;
const CLASS_COUNT = SIZE_CLASSES.length;
const PER_CLASS = C.PARK_PER_CLASS;
const REFILL = C.PARK_REFILL;
const MAX_STREAK = Math.floor(Math.log2(REFILL));
const NOT_PARKABLE = C.FLAG_INDIRECT | C.FLAG_FREE | C.FLAG_PARKED;
const CUTS = AT.REPAIR_STATE.CUTS;

// A handle's cache: PER_CLASS unit slots per class, how many of each are used, units in all.
// cutsSeen: RepairState.cuts when the handle last looked; orphaned: it forgot blocks that still
// carry its mark (its slot is then marked dead on close, as native's Store::Close).
function newCache(u32) {
  return {
    units: 0, count: new Uint8Array(CLASS_COUNT), blocks: new Uint32Array(CLASS_COUNT * PER_CLASS),
    cutsSeen: Atomics.load(u32, CUTS), orphaned: false,
    // Scratch of refill(): the blocks a batch handed out. lastClass, streak: the class of the
    // last refill and how many refills of it came in a row before (the batch is 2^streak blocks).
    batch: new Uint32Array(REFILL), lastClass: CLASS_COUNT, streak: 0,
  };
}

// Forgets every parked block when a repair pass made holes of damaged units since the handle
// last looked (format.md §9 step 3: a block carved since over a parked block's units may hold a
// copy of its mark). Called under a bucket lock, which no repair pass runs beside: a pass holds
// every bucket lock while it counts a cut, and the compare-and-swap that took this one read its
// release, so a plain load sees the count (an Atomics.load is a call into a builtin).
function forgetIfCut(e) {
  const k = e.cache;
  const cuts = e.u32[CUTS];
  if (cuts === k.cutsSeen) return;
  k.cutsSeen = cuts;
  orphan(k);
}

function orphan(k) {
  if (k.units !== 0) k.orphaned = true;
  k.count.fill(0);
  k.units = 0;
}

// A block of class `cls` this handle parked (its flags set to cls << 8, as the allocator hands a
// block out), or 0 when it has none. Called under the bucket lock of the set that uses it.
function takeParked(e, cls) {
  forgetIfCut(e);
  const k = e.cache;
  const u32 = e.u32;
  while (k.count[cls] !== 0) {
    const u = k.blocks[cls * PER_CLASS + --k.count[cls]];
    k.units -= CLASS_UNITS[cls];
    const w = u * UNIT_WORDS;
    // Only this handle writes its own mark, and only a repair pass of this handle or one that
    // found it gone removes it: a block without the mark is not ours any more (defensive). Plain
    // loads and store (native's are sequentially consistent, at no cost on x86): the mark is
    // this handle's own write (or a pass's, ordered before by the bucket lock, as in
    // forgetIfCut); no chain links the block until the store that publishes it, which orders
    // this one before it; and whoever walks the pool without the bucket lock (the eviction hand,
    // a compaction window) takes no action on a block's mark before it checks it again under
    // the lock (format.md §1).
    if (u32[w + FLAGS] !== (C.FLAG_PARKED | (cls << CLASS_SHIFT)) >>> 0 || u32[w + NEXT] !== e.locks.slot) continue;
    u32[w + FLAGS] = cls << CLASS_SHIFT;
    return u;
  }
  return 0;
}

// A block of class `cls` for a set that found none parked (takeParked returned 0), under that
// set's bucket lock: up to PARK_REFILL blocks of the class under one hold of the allocator lock,
// the first for the set, the others parked for this handle's next sets of the class, within
// PARK_PER_CLASS and PARK_MAX_UNITS (format.md §8, "Parked blocks"): a handle whose parked blocks
// of other classes fill its units takes one block at a time, as without a cache. `larger` as
// allocBlock's. Returns the unit, 0 when the store has no block of the class, NEED_REPAIR or
// CORRUPT; throws LockError (nothing changed then). As native's Store::Refill.
function refill(e, cls, larger) {
  const k = e.cache;
  const size = CLASS_UNITS[cls];
  // The batch doubles with each refill of the class that follows one of the same class, up to
  // PARK_REFILL, and is one block after a refill of another class (as native's Refill: a handle
  // whose sizes vary parks few blocks it may not use again).
  k.streak = cls === k.lastClass ? Math.min(k.streak + 1, MAX_STREAK) : 0;
  k.lastClass = cls;
  const batch = Math.min(REFILL, 2 ** k.streak);
  const room = k.units >= C.PARK_MAX_UNITS ? 0 : Math.floor((C.PARK_MAX_UNITS - k.units) / size);
  const extra = Math.min(batch - 1, PER_CLASS - k.count[cls], room);
  const n = allocBatch(e, cls, 1 + extra, larger, k.batch);
  if (n <= 0) return n;
  for (let i = 1; i < n; i++) k.blocks[cls * PER_CLASS + k.count[cls]++] = k.batch[i];
  k.units += (n - 1) * size;
  return k.batch[0];
}

// The entry at unit `u` was just unlinked under its bucket lock: parks its block (flags
// FLAG_PARKED | class, next = this handle's owner slot). Returns false when it is not parked (the
// class holds PARK_PER_CLASS already, PARK_MAX_UNITS would be passed, or the entry is indirect:
// its large block is freed with it, under the allocator lock).
function park(e, u) {
  forgetIfCut(e);
  const k = e.cache;
  const u32 = e.u32;
  const w = u * UNIT_WORDS;
  const flags = u32[w + FLAGS];
  const cls = (flags >>> CLASS_SHIFT) & CLASS_MASK;
  if (cls >= CLASS_COUNT || (flags & NOT_PARKABLE) !== 0) return false;
  const size = CLASS_UNITS[cls];
  if (k.count[cls] >= PER_CLASS || k.units + size > C.PARK_MAX_UNITS) return false;
  // A reader still walking the block reads a `next` out of its chain's range or a version that
  // moved, and retries. `next` first: a block marked PARKED always names its owner (killed between
  // the two stores, it is an unreachable block that the repair pass frees). Plain stores: the
  // release of the bucket lock (a compare-and-swap) orders them for every party that takes the
  // lock; one that walks the pool without it (the eviction hand, a compaction window, a seqlock
  // reader) may see them in another order on a weakly ordered CPU, and acts only after a check
  // under the lock or of the bucket's version. A kill between them: were they ever stored the
  // other way round, the block would be PARKED with its old `next`, 0 or a unit (at least
  // firstUnit, above every owner slot), which the repair pass takes as no owner's: it frees it.
  u32[w + NEXT] = e.locks.slot;
  u32[w + FLAGS] = (C.FLAG_PARKED | (cls << CLASS_SHIFT)) >>> 0;
  k.blocks[cls * PER_CLASS + k.count[cls]++] = u;
  k.units += size;
  return true;
}

// Forgets every parked block (a repair pass of this handle freed them).
function forget(e) {
  e.cache.count.fill(0);
  e.cache.units = 0;
}

// Frees every block this handle parked, under one hold of the allocator lock (as native's
// FreeParked: a block without this handle's mark is skipped). `repair` is repair.js's pass, run
// when the allocator lock's holder is gone (it frees this handle's parked blocks itself). Returns
// false when the lock timed out (the blocks stay parked); never throws a LockError.
function returnParked(e, repair) {
  const k = e.cache;
  const u32 = e.u32;
  for (let attempt = 0; k.units !== 0; attempt++) {
    let got;
    try {
      got = e.locks.acquire(ALLOC_LOCK);
    } catch (err) {
      if (err instanceof LockError) return false;
      throw err;
    }
    if (got === NEED_REPAIR) {
      if (attempt >= 8) return false;
      repair(e, false);
      continue;
    }
    // A repair pass cut the pool since the handle looked: its units may lie in blocks carved since.
    const cuts = Atomics.load(u32, CUTS);
    if (cuts !== k.cutsSeen) {
      k.cutsSeen = cuts;
      orphan(k);
      e.locks.release(ALLOC_LOCK);
      break;
    }
    let freed = 0;
    for (let c = 0; c < CLASS_COUNT; c++) {
      for (let i = 0; i < k.count[c]; i++) {
        const u = k.blocks[c * PER_CLASS + i];
        const w = u * UNIT_WORDS;
        const flags = u32[w + FLAGS];
        if ((flags & C.FLAG_PARKED) === 0 || ((flags >>> CLASS_SHIFT) & CLASS_MASK) !== c || u32[w + NEXT] !== e.locks.slot) continue;
        freed += CLASS_UNITS[c];
        push(e, u, c);
      }
    }
    countFreed(u32, freed);
    e.locks.release(ALLOC_LOCK);
    forget(e);
  }
  return true;
}

// Whether a repair pass of this handle frees a block parked by owner slot `o`: o is this
// handle's own (the pass empties its cache), names no slot, or its owner is gone (§6). verdicts
// (a Uint8Array of OWNER_SLOTS) caches the owner's status for one pass: 0 not asked, 1 live,
// 2 gone. `gone(o)` judges a slot.
function parkedOwnerGone(e, o, verdicts, gone) {
  if (o === 0 || o >= C.OWNER_SLOTS || o === e.locks.slot) return true;
  if (verdicts[o] === 0) verdicts[o] = gone(o) ? 2 : 1;
  return verdicts[o] === 2;
}

module.exports = { newCache, takeParked, refill, park, forget, returnParked, parkedOwnerGone };
