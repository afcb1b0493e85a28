'use strict';
// The repair pass of the pure-JS engine (docs/format.md §9, "Stuck locks and repair"), and the
// stop-the-world machinery it shares with verify(): taking every lock, walking the pool by block
// size, walking every chain. A pass holds every lock, so it sees the store exactly as no writer
// is changing it; readers keep running and simply retry around it. Mirrors src/store/repair.cpp.
const { C, W, BASE, AT, UNIT_WORDS, SIZE_CLASSES, CLASS_UNITS } = require('../../layout/layout');
const { xxh32 } = require('../../base/xxhash');
const progress = require('./progress');
const { NEED_REPAIR, REPAIR_LOCK } = require('./locks');
const { ALLOC_LOCK, HEADS, LARGE_HEAD, FREE_HEAD } = require('./alloc');
const chain = require('./chain');
const large = require('./large');
const { NSC_WORDS, NSC_BYTES } = require('./counts');
const cache = require('./cache');
const cells = require('./cells');
const { GONE } = require('../../ownership/owners');
const { OSHIFT, releasedWord } = require('../../ownership/lockword');
const ROOM_LEASE = AT.EVICT_STATE.ROOM_LEASE;

const NS = W.NAMESPACE;
const NS_LOCK = AT.NS_STATE.LOCK;
const NS_LIVE = AT.NS_STATE.LIVE_COUNT;
const REPAIRS = AT.REPAIR_STATE.REPAIRS;
const CUTS = AT.REPAIR_STATE.CUTS;
const CUT_GC = AT.REPAIR_STATE.CUT_GC;
const GC_COUNTER = AT.HEADER.GC_COUNTER;
const CLASS_COUNT_WORD = AT.ALLOC_STATE.CLASS_COUNT;
const E = W.ENTRY;
const B = W.BUCKET;
const bucketLock = (b) => BASE.BUCKET + b * B.WORDS + B.LOCK;
const { nsWord, nameOffset, nameHash, slotOf, rebuild: rebuildIndex, find: findIndexed } = require('./ns-index');

// With the repair lock held: acquires every bucket lock in index order, then the allocator and
// namespace locks. With `takeOver` (repair) a lock whose holder is gone is taken over; without
// (verify) such a lock makes it release what it took, the repair lock included, and return
// false: the caller repairs first. On a lock timeout it releases the same and throws. (No list
// of the locks held: a store can have 2^26 buckets.)
function lockRest(e, takeOver = true) {
  const L = e.locks;
  const take = (idx) => {
    if (takeOver) L.acquireOrTakeOver(idx);
    else if (L.acquire(idx) === NEED_REPAIR) return false;
    return true;
  };
  let b = 0;
  let alloc = false;
  let ok = false;
  try {
    for (; b < e.bucketCount; b++) {
      if (!take(bucketLock(b))) break;
      e.heartbeat.work();
    }
    alloc = b === e.bucketCount && take(ALLOC_LOCK);
    ok = alloc && take(NS_LOCK);
  } finally {
    if (!ok) {
      if (alloc) L.release(ALLOC_LOCK);
      while (b-- > 0) L.release(bucketLock(b));
      L.release(REPAIR_LOCK);
    }
  }
  return ok;
}

function lockAll(e) {
  e.locks.acquireOrTakeOver(REPAIR_LOCK);
  lockRest(e);
}

// Releases in the order of format.md §9 step 7.
function unlockAll(e) {
  const L = e.locks;
  e.heartbeat.beat(); // the last heartbeat: waiters that timed the pass restart before it ends
  L.release(NS_LOCK);
  L.release(ALLOC_LOCK);
  for (let b = 0; b < e.bucketCount; b++) L.release(bucketLock(b));
  L.release(REPAIR_LOCK);
}

// Per-unit state bits of a pass (a store of 2^28 units, 4 GiB, has no room for one object per block).
const START = 1; // a block start found by the pool walk
const LIVE = 2; // a valid entry, kept on its chain
const SEEN = 4; // met on a chain
const ON_FREE = 8; // met on a free list

// Walks the pool by block size. Returns the block starts and where the tiling ends (`top`: the
// first block that is not valid, else freeHead). A freeHead outside [firstUnit, totalUnits] is
// clamped, as native does: walking to a freeHead beyond the store would read past it, and one
// below the pool would let the allocator place blocks over the buckets. verify() (a `report`)
// stops at the first block that is not valid. A repair pass (`refs`, chainRefs(); `verdicts`, as
// rebuildFreeLists()) goes on: a block that is not valid, or one that would cover an entry the
// chains name and that proves itself (trusted()), ends where the next such entry starts, or the
// next large block in flight of a live other owner (holeEnd()), or at freeHead, not the pool: the
// units in between become one free block (a hole) and the walk goes on there (format.md §9,
// step 3). A large block in flight of a live other owner is never damage, whatever entries its
// units seem to hold: its writer is copying over them without any lock, and a hole over it would
// let another writer take units that copy still writes. `holes` counts the holes; `cut` is the
// pass's record of whether it counted its cut already (countCut()).
function walkPool(e, report, refs = null, verdicts = null, cut = null) {
  const u32 = e.u32;
  const raw = u32[FREE_HEAD];
  const badHead = raw < e.firstUnit || raw > e.totalUnits;
  if (badHead && report) report.add(`header: freeHead ${raw} outside [${e.firstUnit}, ${e.totalUnits}]`);
  const head = Math.min(Math.max(raw, e.firstUnit), e.totalUnits);
  const state = new Uint8Array(e.totalUnits - e.firstUnit);
  const starts = [];
  let holes = 0;
  let u = e.firstUnit;
  while (u < head) {
    e.heartbeat.work();
    const flags = u32[chain.entryWord(u) + E.FLAGS];
    const cls = chain.classOf(flags);
    const size = cls > large.LARGE_CLASS ? 0 : large.blockUnits(e, u, flags);
    const bad = size === 0 || u + size > head;
    if (refs !== null && !bad && inFlightByLive(e, u, flags, verdicts)) {
      state[u - e.firstUnit] = START;
      starts.push(u);
      u += size;
      continue;
    }
    // A valid-looking block may still be damage: one that covers the start of a proven entry.
    let next = refs === null ? 0 : nextTrusted(e, refs, u + 1, bad ? head : u + size, head);
    if (bad || next !== 0) {
      if (refs === null) {
        if (report && cls > large.LARGE_CLASS) report.add(`pool: block ${u}: invalid size class ${cls}`);
        else if (report) report.add(`pool: block ${u}: crosses freeHead ${head}`);
        break;
      }
      // The hole: a free large block up to the proven entry, or to freeHead when none follows (a
      // free block's header fits one unit); rebuildFreeLists() puts it on a list, with the free
      // blocks around it. The chains then unlink its unit as a free block and go on at its
      // `next`, which the damage may have spared (what follows is checked as ever).
      if (next === 0) next = head;
      // Counted before the first hole is written: a pass killed after writing it leaves a valid
      // free block, which the next pass does not see as damage, and writers must still forget
      // the parked blocks it covers (countCut()).
      countCut(e, cut);
      next = holeEnd(e, u + 1, next, head, verdicts);
      const w = chain.entryWord(u);
      Atomics.store(u32, w + E.FLAGS, large.FREE_LARGE_FLAGS);
      Atomics.store(u32, u * UNIT_WORDS + W.LARGE_BLOCK.UNITS, next - u);
      holes++;
      state[u - e.firstUnit] = START;
      starts.push(u);
      u = next;
      continue;
    }
    state[u - e.firstUnit] = START;
    starts.push(u);
    u += size;
    if (e.progress !== null) progress.at(e, u - e.firstUnit);
  }
  return { top: Math.min(u, head), head, moved: badHead || u < head, state, starts, holes };
}

// Where a hole that starts before `from` and would end at `to` ends (format.md §9, step 3): at
// the first unit in [from, to) that holds a large block in flight of a live other owner that ends
// by `head` (inFlightByLive(); the walk goes on there), else at `to`. Every other large block in
// use met before it gets writer = 0, as one rebuildFreeLists() frees: inside the hole its header
// stays, and its writer (this handle, or a gone one) must not take it for one a pass kept
// (alloc.js largeHeld()). Every unit is looked at: the headers after damage cannot be trusted to
// give block sizes, and the bytes of a hole are free once it is cut (a value's copy of a header
// taken for a block in flight only keeps its units out of the hole while that owner lives).
function holeEnd(e, from, to, head, verdicts) {
  const u32 = e.u32;
  for (let x = from; x < to; x++) {
    e.heartbeat.work();
    const w = x * UNIT_WORDS;
    const flags = u32[w + W.LARGE_BLOCK.FLAGS];
    if (flags !== large.LIVE_LARGE_FLAGS) continue;
    const units = u32[w + W.LARGE_BLOCK.UNITS];
    if (units !== 0 && units <= head - x && inFlightByLive(e, x, flags, verdicts)) return x;
    if (u32[w + W.LARGE_BLOCK.WRITER] !== 0) u32[w + W.LARGE_BLOCK.WRITER] = 0;
  }
  return to;
}

// The units the chains name (repair's resync, walkPool()), one bit each: every chain from its
// bucket's head, until a unit outside the pool or one met before (a cycle or a shared chain; a
// link read past damage may name any unit, which trusted() then judges). `kept`: where the blocks
// that proven entries keep end, when that is beyond `head` (keptEnd()), else `head`.
function chainRefs(e, head) {
  const u32 = e.u32;
  const refs = new Uint32Array(((e.totalUnits - e.firstUnit) >>> 5) + 1);
  let kept = head;
  for (let b = 0; b < e.bucketCount; b++) {
    e.heartbeat.work();
    for (let u = u32[BASE.BUCKET + b * B.WORDS + B.HEAD]; u >= e.firstUnit && u < e.totalUnits;) {
      const i = u - e.firstUnit;
      const bit = 1 << (i & 31);
      if (refs[i >>> 5] & bit) break;
      refs[i >>> 5] |= bit;
      kept = Math.max(kept, keptEnd(e, u, head));
      u = u32[chain.entryWord(u) + E.NEXT];
    }
  }
  return { refs, kept };
}

// The end of the blocks the entry a chain names at `u` keeps beyond `head` (freeHead as read):
// its own block when that ends beyond it, and the large block its 8 value bytes refer to (whether
// or not it has FLAG_INDIRECT: trusted() accepts one flipped bit, which the chain walk flips back)
// when that ends beyond it; only when the entry proves itself (trusted(), within the pool) and
// the large block is whole (large.largeProblem()). 0 when it keeps none. On a sound store no block
// ends beyond freeHead, so the cheap bounds checks end it and no hash is computed (native's
// Store::KeptEnd).
function keptEnd(e, u, head) {
  const u32 = e.u32;
  const w = chain.entryWord(u);
  const flags = u32[w + E.FLAGS];
  const cls = chain.classOf(flags);
  if (cls >= SIZE_CLASSES.length) return 0;
  const size = CLASS_UNITS[cls];
  let end = 0;
  if (u + size > head) {
    if (!trusted(e, u, e.totalUnits)) return 0;
    end = u + size;
  }
  const kl = chain.keyLengthOf(e, u);
  const vl = chain.valueLengthOf(e, u);
  if (vl !== C.INDIRECT_VALUE_BYTES || kl > C.MAX_KEY_BYTES || !chain.fitsBlock(flags, kl, vl)) return end;
  const lu = large.refOf(e, u, kl)[0];
  if (lu < e.firstUnit || lu >= e.totalUnits) return end;
  const units = u32[lu * UNIT_WORDS + W.LARGE_BLOCK.UNITS];
  if (units === 0 || units > e.totalUnits - lu || lu + units <= head) return end;
  if ((end === 0 && !trusted(e, u, e.totalUnits)) || large.largeProblem(e, u, kl, vl, u32[w + E.KEY_HASH]) !== null) return end;
  return Math.max(end, lu + units);
}

// The first unit in [from, to) that the chains name and that holds an entry proving itself
// (trusted(), below `head`), or 0. Word by word over the bits: a sound store names no unit inside
// a block, so the check of a block costs a few word reads.
function nextTrusted(e, refs, from, to, head) {
  for (let i = from - e.firstUnit, end = to - e.firstUnit; i < end;) {
    const word = refs[i >>> 5] >>> (i & 31);
    if (word === 0) {
      i = (i | 31) + 1;
      continue;
    }
    i += 31 - Math.clz32(word & -word); // the lowest set bit at or after i
    if (i >= end) break;
    if (trusted(e, e.firstUnit + i, head)) return e.firstUnit + i;
    i++;
  }
  return 0;
}

// Whether the block at `u` is an entry whose own bytes prove it (format.md §9, step 3: not free,
// an entry's size class, ending by `head`, its key hash and checksum right), whatever its bucket or
// namespace: a start the walk can trust after damage. A link into the middle of a block names
// bytes that pass these checks only by chance (two 32-bit hashes).
function trusted(e, u, head) {
  const { u8, u32 } = e;
  const w = chain.entryWord(u);
  const flags = u32[w + E.FLAGS];
  const cls = chain.classOf(flags);
  if ((flags & C.FLAG_FREE) !== 0 || cls >= SIZE_CLASSES.length || u + CLASS_UNITS[cls] > head) return false;
  const kl = chain.keyLengthOf(e, u);
  const vl = chain.valueLengthOf(e, u);
  if (kl > C.MAX_KEY_BYTES || !chain.fitsBlock(flags, kl, vl)) return false;
  const ns = chain.namespaceOf(e, u);
  const off = chain.keyOffset(u);
  const h = u32[w + E.KEY_HASH];
  // A checksum right with FLAG_INDIRECT flipped proves the entry too: the walk of the chains flips
  // the bit back (mendIndirect()). The lengths hashed are the ones checked: `u` may be a link's
  // guess inside a large block a live writer is filling without any lock, where a second read may
  // differ.
  return xxh32(u8, off, kl, ns) === h &&
    (sumMatches(e, u, kl + vl, h, flags) || sumMatches(e, u, kl + vl, h, flags ^ C.FLAG_INDIRECT));
}

// After freeHead was found damaged downwards (repair()), the blocks after `from` (the end of the
// blocks proven entries keep), walked by size while they tile (a size class of a block, within the
// pool), may hold a large block in flight of a live other owner: its writer fills it without any
// lock, so the bump pointer must not hand its units out. Returns the end of the last such block,
// or `from`. Every other large block in use the walk meets gets writer = 0: beyond the restored
// freeHead its header stays, and its writer (this handle, or a gone one) must not take it for one
// a pass kept (alloc.js largeHeld()); below it, rebuildFreeLists() frees it. The walk runs only on
// a pass that found the damage, and stops at the first size that does not tile or after more
// blocks in a row whose header reads zero than there are owner slots: units never written since
// the store was created read so (and as blocks of class 0, to the end of the pool), while every
// block below freeHead's true value had its header written when it was handed out, but for an
// entry block of class 0 whose writer was killed right after its allocation (flags = 0, the rest
// not yet written). A run of those takes as many writers killed at that moment, each holding its
// bucket lock until a pass: the bound covers one per owner slot, and costs at most
// 2 * OWNER_SLOTS units walked past the end of what was written (native's Store::InFlightEnd). A
// large block in flight beyond where the walk stops is not seen, and its units go back to
// unallocated space; the cut this pass counts leaves its cuts word behind RepairState.cuts, so
// that its writer does not take it for its own even once later bumps cover it (largeHeld()).
function inFlightEnd(e, from, verdicts) {
  const u32 = e.u32;
  let end = from;
  let zeros = 0; // blocks in a row whose header reads zero
  for (let u = from; u < e.totalUnits;) {
    e.heartbeat.work();
    const w = u * UNIT_WORDS;
    const flags = u32[w + W.LARGE_BLOCK.FLAGS];
    const zero = flags === 0 && u32[w + W.LARGE_BLOCK.NEXT] === 0 && u32[w + W.LARGE_BLOCK.CUTS] === 0 &&
      u32[w + W.LARGE_BLOCK.UNITS] === 0;
    zeros = zero ? zeros + 1 : 0;
    if (zeros > C.OWNER_SLOTS) break;
    const size = large.blockUnits(e, u, flags);
    if (size === 0 || size > e.totalUnits - u) break;
    if (inFlightByLive(e, u, flags, verdicts)) end = u + size;
    else if (flags === large.LIVE_LARGE_FLAGS && u32[w + W.LARGE_BLOCK.WRITER] !== 0) u32[w + W.LARGE_BLOCK.WRITER] = 0;
    u += size;
  }
  return end;
}

// Counts a pass that made holes of damaged units, or restored a freeHead damaged downwards, once
// (`cut.done`). A live writer may keep parked blocks in the units
// of a hole, or beyond the restored freeHead (format.md §8, "Parked blocks"), known to it by unit
// only; seeing the count move, it forgets all of them before it takes, parks or returns one, since
// a block carved or bumped later over those units may hold any bytes, a copy of its mark included.
// Every lock is held: no writer is between its check and its use. RepairState.cutGc gets the
// gcCounter this pass read first, which stays its value until the pass completes (or fails, step
// 7): a writer giving its large block up without a lock tells by it that the cut is this running
// pass's, which stamps the blocks it keeps later (alloc.js largeHeld()). Stored before cuts moves,
// and read before cuts by that writer, so that it never pairs the new cutGc with the old count.
function countCut(e, cut) {
  if (cut.done) return;
  cut.done = true;
  Atomics.store(e.u32, CUT_GC, Atomics.load(e.u32, GC_COUNTER));
  Atomics.add(e.u32, CUTS, 1);
}

function nsLive(e, id) {
  return id > 0 && id <= e.maxNs && e.u32[nsWord(e, id, NS.STATE)] === C.NS_STATE_LIVE;
}

function badNameLength(len) {
  return len === 0 || len > C.MAX_NAMESPACE_BYTES;
}

// Why the entry at block start `u` is not a valid entry of bucket `b`, or null (the order and the
// words of native's Store::EntryProblem).
function entryProblem(e, u, b, report) {
  const { u8, u32 } = e;
  const w = chain.entryWord(u);
  const flags = u32[w + E.FLAGS];
  if (flags & C.FLAG_FREE) return 'has FREE set';
  if (flags & C.FLAG_PARKED) return 'has PARKED set';
  const h = u32[w + E.KEY_HASH];
  if ((h & e.mask) !== b) return 'sits in the wrong bucket';
  const ns = chain.namespaceOf(e, u);
  // verify() accepts the entries of a namespace being dropped (the drop removes them, or the next
  // repair pass does); a repair pass removes them.
  const dropping = report && ns > 0 && ns <= e.maxNs && e.u32[nsWord(e, ns, NS.STATE)] === C.NS_STATE_DROPPING;
  if (!nsLive(e, ns) && !dropping) return 'names a namespace that is not live';
  const kl = chain.keyLengthOf(e, u);
  const vl = chain.valueLengthOf(e, u);
  if (kl > C.MAX_KEY_BYTES) return `has a key longer than ${C.MAX_KEY_BYTES} bytes`;
  if (!chain.fitsBlock(flags, kl, vl)) return 'does not fit its block';
  const off = chain.keyOffset(u);
  if (xxh32(u8, off, kl, ns) !== h) return 'has a keyHash that is not its key\'s';
  if (!sumMatches(e, u, kl + vl, h, flags)) {
    // The checksum covers FLAG_INDIRECT (format.md §8): right with the bit flipped, it names the
    // flip (a repair pass flips it back first, mendIndirect()).
    if (!sumMatches(e, u, kl + vl, h, flags ^ C.FLAG_INDIRECT)) return 'has a wrong checksum';
    return (flags & C.FLAG_INDIRECT) !== 0 ? 'has FLAG_INDIRECT on an inline value (its checksum covers the flag)' :
      'is an indirect entry without FLAG_INDIRECT (its checksum covers the flag)';
  }
  if ((flags & C.FLAG_INDIRECT) !== 0) return large.largeProblem(e, u, kl, vl, h);
  return null;
}

// Whether the checksum of the entry at `u` is the one of its key and value bytes, n of them (the
// caller's keyLength + valueLength, checked to lie within its block), under keyHash `h` and
// `flags` (format.md §8: seeded with keyHash XOR (flags & ENTRY_SUM_FLAGS)), as native's
// EntrySumMatches. The lengths and keyHash are the caller's, never read again here: the pass may
// look at bytes a live writer changes without any lock (a damaged link into the large block it
// is filling), and a length read again could make the hash read past the block.
function sumMatches(e, u, n, h, flags) {
  const seed = (h ^ (flags & C.ENTRY_SUM_FLAGS)) >>> 0;
  return xxh32(e.u8, chain.keyOffset(u), n, seed) === e.u32[chain.entryWord(u) + E.CHECKSUM];
}

// For a repair pass, on an entry entryProblem() found damaged: when its checksum is wrong under its
// flags and right with FLAG_INDIRECT flipped, one flipped bit is what the checksum says is wrong
// (format.md §9, step 4), and the bit is flipped back, so that a large value's entry that lost the
// flag refers to its value again and an inline value that gained it is read inline again; the
// entry is then checked as any other. Returns whether it flipped the bit.
function mendIndirect(e, u) {
  const w = chain.entryWord(u);
  const flags = e.u32[w + E.FLAGS];
  const kl = chain.keyLengthOf(e, u);
  const vl = chain.valueLengthOf(e, u);
  if ((flags & (C.FLAG_FREE | C.FLAG_PARKED)) !== 0 || kl > C.MAX_KEY_BYTES || !chain.fitsBlock(flags, kl, vl)) {
    return false;
  }
  const h = e.u32[w + E.KEY_HASH];
  if (sumMatches(e, u, kl + vl, h, flags) || !sumMatches(e, u, kl + vl, h, flags ^ C.FLAG_INDIRECT)) return false;
  Atomics.store(e.u32, w + E.FLAGS, (flags ^ C.FLAG_INDIRECT) >>> 0);
  return true;
}

// The large block an indirect entry at `u` (valid by entryProblem) refers to, or 0.
function largeOf(e, u) {
  if ((e.u32[chain.entryWord(u) + E.FLAGS] & C.FLAG_INDIRECT) === 0) return 0;
  return large.refOf(e, u, chain.keyLengthOf(e, u))[0];
}

// Why a chain or free list must stop at unit `u` (not a block start of the tiling, or met
// before on that kind of walk, `twice` naming what that means), or null.
function stopAt(e, pool, u, bit, twice) {
  if (u < e.firstUnit || u >= pool.top) return 'unit out of range';
  const st = pool.state[u - e.firstUnit];
  if ((st & START) === 0) return 'not a block start';
  if (st & bit) return twice;
  return null;
}

// Walks every chain (format.md §9, repair step 4). Verify reports each problem; repair (no
// report) unlinks the bad entries, ends a chain at a unit it must stop at, and rewrites the
// bucket counts.
function walkChains(e, pool, report) {
  const nsCounts = new Uint32Array(e.maxNs + 1);
  const nsBytes = new Float64Array(e.maxNs + 1);
  const keys = new Set();
  // The entries kept whose expiresAt is not 0, counted by walkChain.
  const counts = { expiring: 0 };
  let entries = 0;
  for (let b = 0; b < e.bucketCount; b++) {
    keys.clear();
    e.heartbeat.work();
    if (e.progress !== null && (b & 1023) === 0) progress.at(e, e.progress.pool + b);
    const n = walkChain(e, pool, report, b, keys, nsCounts, nsBytes, counts);
    entries += n;
    const countWord = BASE.BUCKET + b * B.WORDS + B.COUNT;
    if (e.u32[countWord] !== n) {
      if (report) report.add(`bucket ${b}: count ${e.u32[countWord]}, found ${n}`);
      else e.u32[countWord] = n;
    }
  }
  return { entries, expiring: counts.expiring, nsCounts, nsBytes };
}

// One bucket's chain for walkChains: returns the entries kept on it (and adds those with an
// expiry to counts.expiring).
function walkChain(e, pool, report, b, keys, nsCounts, nsBytes, counts) {
  const { u8, u32 } = e;
  const c = e.chain;
  let n = 0;
  for (let u = c.from(BASE.BUCKET + b * B.WORDS + B.HEAD); u !== 0;) {
    e.heartbeat.work();
    const stop = stopAt(e, pool, u, SEEN, 'reached twice (a cycle or a shared chain)');
    if (stop) {
      // Its `next` cannot be trusted (not a block, or a cycle): the chain ends here.
      if (report) report.add(`bucket ${b}, block ${u}: ${stop}`);
      else Atomics.store(u32, c.link, 0);
      break;
    }
    pool.state[u - e.firstUnit] |= SEEN;
    let why = entryProblem(e, u, b, report);
    if (why && !report && mendIndirect(e, u)) why = entryProblem(e, u, b, report);
    let key;
    if (!why) {
      const off = chain.keyOffset(u);
      key = `${chain.namespaceOf(e, u)}:${Buffer.from(u8.buffer, off, chain.keyLengthOf(e, u)).toString('latin1')}`;
      if (keys.has(key)) why = 'repeats a key already on the chain';
    }
    // A large block must be a block start no entry kept before refers to (no chain reaches a
    // large block, so LIVE marks the ones claimed).
    const lu = why ? 0 : largeOf(e, u);
    if (lu !== 0) {
      const st = pool.state[lu - e.firstUnit];
      if ((st & START) === 0) why = 'refers to a large block that is not a block start';
      else if (st & LIVE) why = 'refers to a large block another entry refers to';
      else pool.state[lu - e.firstUnit] |= LIVE;
    }
    if (why) {
      if (report) {
        report.add(`bucket ${b}, block ${u}: ${why}`);
        u = c.next();
      } else {
        Atomics.store(u32, c.link, c.nextOfCurrent()); // unlinked; the block is freed by the caller
        u = c.afterUnlink();
      }
      continue;
    }
    keys.add(key);
    pool.state[u - e.firstUnit] |= LIVE;
    n++;
    nsCounts[chain.namespaceOf(e, u)]++;
    if (chain.expiresAtOf(e, u) !== 0) counts.expiring++;
    nsBytes[chain.namespaceOf(e, u)] += large.payloadOf(e, u);
    u = c.next();
  }
  return n;
}

// The count cells and the namespace records against what the chains hold: verify() reports what
// differs, a repair pass recounts (cells.js).
function checkCounts(e, found, report) {
  const u32 = e.u32;
  const live = [];
  for (let i = 1; i <= e.maxNs; i++) {
    if (!nsLive(e, i)) continue;
    live.push(i);
    if (report) checkName(e, i, u32[nsWord(e, i, NS.NAME_LENGTH)], report);
  }
  if (report) {
    for (const line of cells.check(e, found, live)) report.add(line);
  } else {
    cells.recount(e, found.entries, found.expiring, found.nsCounts, live);
  }
  if (report) checkIndex(e, live.length, report);
  if (u32[NS_LIVE] !== live.length) {
    if (report) report.add(`namespaces: liveCount ${u32[NS_LIVE]}, found ${live.length}`);
    else Atomics.store(u32, NS_LIVE, live.length);
  }
}

// Each live namespace's NsPolicy.bytes from what the chains hold (this handle's unflushed changes
// are counted in it), and the hand back at the first block (a cut pool may have left it inside
// one).
function resetEvictionState(e, found) {
  for (let i = 1; i <= e.maxNs; i++) {
    if (!nsLive(e, i)) continue;
    Atomics.store(e.big, (i * W.NS_POLICY.WORDS + W.NS_POLICY.BYTES) / 2,
      BigInt(found.nsBytes[i]));
    e.nsc[i * NSC_WORDS + NSC_BYTES] = 0;
  }
  Atomics.store(e.u32, AT.EVICT_STATE.HAND, e.firstUnit);
}

// A live namespace record whose nameLength is impossible names no namespace anybody can find:
// it is freed, and its entries are then unlinked as entries of a namespace that is not live. So
// is a record being dropped (format.md §5, "Dropping"): the pass finishes the drop, whether its
// dropper died or still runs (that one stops at its next bucket, seeing the record free), and
// resets its policy record as the dropper would.
function dropNamelessNamespaces(e) {
  let lowestFree = 0;
  for (let i = 1; i <= e.maxNs; i++) {
    const state = e.u32[nsWord(e, i, NS.STATE)];
    const len = e.u32[nsWord(e, i, NS.NAME_LENGTH)];
    if (state === C.NS_STATE_LIVE && !badNameLength(len)) {
      // The index finds a record by the hash of its name: recomputed, so that damage to nameHash
      // cannot hide a live namespace.
      e.u32[nsWord(e, i, NS.NAME_HASH)] = nameHash(e.u8, nameOffset(e, i), len);
      continue;
    }
    if (state === C.NS_STATE_DROPPING) {
      const pol = e.polBase + i * W.NS_POLICY.WORDS;
      e.u32.fill(0, pol, pol + W.NS_POLICY.WORDS);
    }
    if (state === C.NS_STATE_DROPPING || state === C.NS_STATE_LIVE) {
      Atomics.store(e.u32, nsWord(e, i, NS.STATE), C.NS_STATE_FREE);
    }
    // A live record freed for its name: a new generation, as a drop gives (a dropping record has
    // its new one), so that a handle that resolved the old name fails its check once a new
    // namespace takes the record (§9 step 4).
    if (state === C.NS_STATE_LIVE) Atomics.add(e.u32, nsWord(e, i, NS.GENERATION), 1);
    if (lowestFree === 0) lowestFree = i;
  }
  // The name index holds exactly the live records (a creator or dropper that died under
  // NsState.lock may have left it part way), and freeHint the lowest free record.
  rebuildIndex(e);
  Atomics.store(e.u32, AT.NS_STATE.FREE_HINT, lowestFree === 0 ? e.maxNs + 1 : lowestFree);
}

// verify(): a live record's name length, its nameHash, and that the index finds it.
function checkName(e, i, len, report) {
  if (badNameLength(len)) {
    report.add(`namespace ${i}: name length ${len}`);
    return;
  }
  const hash = nameHash(e.u8, nameOffset(e, i), len);
  if (e.u32[nsWord(e, i, NS.NAME_HASH)] !== hash) {
    report.add(`namespace ${i}: nameHash is not its name's`);
    return;
  }
  const gen = e.nsGen[i];
  e.kb.set(e.u8.subarray(nameOffset(e, i), nameOffset(e, i) + len));
  const found = findIndexed(e, len, hash, { sure: false });
  e.nsGen[i] = gen; // a check, not a resolution by this handle
  if (found !== i) report.add(`namespace ${i}: not found through the name index`);
}

// verify(): the index holds the live namespaces and nothing else.
function checkIndex(e, live, report) {
  let indexed = 0;
  for (let s = 0; s <= e.indexMask; s++) {
    const slot = e.u32[e.indexBase + s];
    if (slot === 0) continue;
    indexed++;
    const id = slot & C.NS_INDEX_ID_MASK;
    if (!nsLive(e, id)) report.add(`name index: slot ${s} holds ${id}, not a live namespace`);
    else if (slot !== slotOf(id, e.u32[nsWord(e, id, NS.NAME_HASH)])) report.add(`name index: slot ${s} has a tag that is not its name's`);
  }
  if (indexed !== live) report.add(`name index: ${indexed} ids, ${live} live namespaces`);
}

// Whether the block at `u` with `flags` is parked by a live owner other than this handle (it is
// then that owner's and stays as it is, format.md §8 "Parked blocks"). verdicts: see
// cache.parkedOwnerGone.
function parkedByLive(e, u, flags, verdicts) {
  if ((flags & C.FLAG_PARKED) === 0 || chain.classOf(flags) >= SIZE_CLASSES.length) return false;
  const o = e.u32[chain.entryWord(u) + E.NEXT];
  return !cache.parkedOwnerGone(e, o, verdicts, (s) => e.owners.status(s, e.identity) === GONE);
}

// Whether the large block at `u` with `flags`, which no entry refers to, is being written by a
// live owner other than this handle (format.md §9, step 5): a set or a compaction move fills it
// without any lock, so it stays that owner's, as it is, until the owner links or frees it.
function inFlightByLive(e, u, flags, verdicts) {
  if (flags !== large.LIVE_LARGE_FLAGS) return false;
  const o = e.u32[u * UNIT_WORDS + W.LARGE_BLOCK.WRITER];
  return !cache.parkedOwnerGone(e, o, verdicts, (s) => e.owners.status(s, e.identity) === GONE);
}

// Every run of adjacent block starts that are neither live, nor parked by a live other owner, nor
// a large block in flight of a live other owner is freed: a run of one block on its class's free
// list (a large block on the large list), a longer run as one free large block covering it
// (coalesced; the headers inside it are not read again), each list in address order and linked
// both ways (native's RebuildFreeLists, byte for byte); listedUnits is the units of all runs and
// the compaction cursor 0. A block parked
// or in flight of a live other owner is left as it is and ends a run. A large block in use that
// is freed gets writer = 0 first: inside a run its header stays, and its writer (this handle)
// must not take it for one a pass kept (alloc.js largeHeld()). A large block kept in flight gets
// cuts = RepairState.cuts: its writer takes for its own only a block whose cuts word holds the
// current count, and one that a pass which cut since did not see holds an older one.
function rebuildFreeLists(e, pool, verdicts) {
  const u32 = e.u32;
  for (let c = 0; c < SIZE_CLASSES.length; c++) u32[HEADS + c] = 0;
  u32[LARGE_HEAD] = 0;
  // The runs in address order: [start, units, blocks, class of the first block].
  const runs = [];
  let last = null;
  for (const u of pool.starts) {
    e.heartbeat.work();
    const flags = u32[chain.entryWord(u) + E.FLAGS];
    if ((pool.state[u - e.firstUnit] & LIVE) || parkedByLive(e, u, flags, verdicts)) {
      last = null;
      continue;
    }
    if (inFlightByLive(e, u, flags, verdicts)) {
      // Kept in flight: stamped with the cuts count, which walkPool() moved if it cut, so that its
      // writer tells it from a block of its own no pass saw (alloc.js largeHeld()).
      Atomics.store(u32, u * UNIT_WORDS + W.LARGE_BLOCK.CUTS, Atomics.load(u32, CUTS));
      last = null;
      continue;
    }
    if (flags === large.LIVE_LARGE_FLAGS) u32[u * UNIT_WORDS + W.LARGE_BLOCK.WRITER] = 0;
    const size = large.blockUnits(e, u, flags);
    if (last === null) runs.push((last = [u, size, 1, chain.classOf(flags)]));
    else {
      last[1] += size;
      last[2]++;
    }
  }
  // The units of every run listed: AllocState.listedUnits, exact.
  let listed = 0;
  for (let i = runs.length - 1; i >= 0; i--) {
    const [u, units, blocks, first] = runs[i];
    listed += units;
    const cls = blocks === 1 ? first : large.LARGE_CLASS;
    const w = chain.entryWord(u);
    const head = cls === large.LARGE_CLASS ? LARGE_HEAD : HEADS + cls;
    if (blocks > 1) Atomics.store(u32, u * UNIT_WORDS + W.LARGE_BLOCK.UNITS, units);
    Atomics.store(u32, w + E.FLAGS, (C.FLAG_FREE | (cls << C.FLAG_CLASS_SHIFT)) >>> 0);
    Atomics.store(u32, w + E.NEXT, u32[head]);
    u32[w + W.FREE_BLOCK.PREV] = 0;
    if (u32[head] !== 0) u32[chain.entryWord(u32[head]) + W.FREE_BLOCK.PREV] = u;
    u32[head] = u;
  }
  Atomics.store(u32, AT.ALLOC_STATE.LISTED_UNITS, listed);
  u32[AT.ALLOC_STATE.FREED_UNITS] = 0;
  u32[CLASS_COUNT_WORD] = C.SIZE_CLASS_COUNT;
  // Every run is merged: the compaction sweep starts again (its cursor may be inside a run).
  Atomics.store(u32, AT.COMPACT_STATE.CURSOR, 0);
}

// A repair pass, every lock held: releases a room lease (format.md §8, "The room lease") whose
// holder is gone, or that names this handle's slot while it holds none, before the pass frees the
// holder's slot for a later owner whom the word would then seem to name. As native's
// ReleaseGoneLease.
function releaseGoneLease(e) {
  const w = Atomics.load(e.u32, ROOM_LEASE);
  if ((w & 1) === 0) return;
  const o = w >>> OSHIFT;
  const gone = o === e.locks.slot ? !e.leaseHeld : o === 0 || o >= C.OWNER_SLOTS || e.owners.status(o, e.identity) === GONE;
  if (gone) Atomics.compareExchange(e.u32, ROOM_LEASE, w, releasedWord(w));
}

// Frees the slots of owners that are gone (format.md §6, §9 step 6; their locks were taken over
// when this pass took every lock), except this handle's own.
// A slot found live by walkPool or rebuildFreeLists keeps its parked blocks (and a large block it is writing)
// and is not freed by this pass even if its owner ended meanwhile: the next pass frees both (as native's RepairScan.ownerVerdicts).
function freeGoneOwners(e, verdicts) {
  for (let o = 1; o < C.OWNER_SLOTS; o++) {
    if (o === e.locks.slot || Atomics.load(e.u32, e.owners.pidWord(o)) === 0) continue;
    if (verdicts[o] === 1) continue;
    e.heartbeat.work();
    e.owners.freeGone(o, e.identity);
  }
}

// A repair pass. `force` false is for a caller that met a lock whose holder is gone (the lock
// waiter's last verdict, takeGone()): the pass is skipped when that lock no longer holds the word
// judged, before or once the repair lock is held, or when another pass completed while this one
// waited for the repair lock (format.md §9: a waiter acts on "gone" only while the word is the
// one it judged). Another waiter's pass over the same dead lock took it over and released it, so
// N threads meeting one dead lock run one pass, not N in a row (as native's Store::RepairFor).
function repair(e, force = true) {
  const u32 = e.u32;
  const gc0 = Atomics.load(u32, GC_COUNTER);
  const [gone, seen] = e.locks.takeGone();
  // A gone holder of the repair lock itself is taken over below, by a compare-and-swap from the
  // word judged: that takeover is the check.
  const stuck = force || gone === REPAIR_LOCK ? -1 : gone;
  if (stuck >= 0 && Atomics.load(u32, stuck) !== seen) return;
  e.locks.acquireOrTakeOver(REPAIR_LOCK);
  if (!force && (Atomics.load(u32, GC_COUNTER) !== gc0 || (stuck >= 0 && Atomics.load(u32, stuck) !== seen))) {
    e.locks.release(REPAIR_LOCK);
    return;
  }
  lockRest(e);
  // Whether the pass has begun to change the store: its cut (countCut(), before any hole is
  // written and before freeHead is restored), else from the first store after the pool walk.
  const cut = { done: false };
  let changing = false;
  try {
    const head = Math.min(Math.max(u32[FREE_HEAD], e.firstUnit), e.totalUnits);
    const verdicts = new Uint8Array(C.OWNER_SLOTS);
    const { refs, kept } = chainRefs(e, head);
    if (kept > head) {
      // freeHead only grows (format.md §8): a proven entry beyond it means the word was damaged
      // downwards. Every unit up to the kept blocks' end was allocated and tiles as ever, and so
      // may a large block in flight of a live other owner after them (inFlightEnd()); the blocks
      // beyond go back to unallocated space, where a live writer may keep parked blocks: counted
      // as a cut, so that it forgets them before the bump pointer hands them out again.
      countCut(e, cut);
      Atomics.store(u32, FREE_HEAD, inFlightEnd(e, kept, verdicts));
    }
    const pool = walkPool(e, null, refs, verdicts, cut);
    changing = true;
    if (pool.moved) Atomics.store(u32, FREE_HEAD, pool.top);
    dropNamelessNamespaces(e);
    const found = walkChains(e, pool, null);
    checkCounts(e, found, null);
    resetEvictionState(e, found);
    rebuildFreeLists(e, pool, verdicts);
    // This handle's parked blocks were freed with the rest: its cache is empty.
    cache.forget(e);
    // Before the slots are freed: a lease naming a freed slot would seem held by its next owner.
    releaseGoneLease(e);
    freeGoneOwners(e, verdicts);
    Atomics.add(u32, REPAIRS, 1);
  } finally {
    // gcCounter moves for a pass that failed part way too (an allocation that threw: the caller
    // gets ERR_NO_MEMORY), once it began to change the store (format.md §9, step 7): it may have
    // restored freeHead below a large block in flight or cut without stamping the blocks it keeps,
    // and a writer takes an unmoved gcCounter for "no pass since" (alloc.js largeHeld()), so it
    // would link a block whose units the bump pointer hands out again. The store is left as far
    // as the pass got (entries unlinked but not freed, free lists and counts not yet rebuilt), for
    // the next pass to mend.
    if (changing || cut.done) Atomics.add(u32, GC_COUNTER, 1);
    unlockAll(e);
  }
}

module.exports = {
  repair, lockAll, lockRest, unlockAll, walkPool, walkChains, checkCounts, stopAt,
  REPAIR_LOCK, START, LIVE, ON_FREE, parkedByLive,
};
