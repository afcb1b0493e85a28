'use strict';
// Incremental compaction of the pure-JS engine (docs/format.md §8, "Compaction"): a cursor sweeps
// the pool in address order, one bounded window per step; the window's live entries are moved
// down, into holes of their class or blocks carved from free large space below it, each under its
// bucket lock as an overwrite with the same bytes, then every run of adjacent free blocks in the
// window becomes one free large block.
// AllocState.lock is held only for one walk of the window at a time, never while a bucket lock is
// awaited. Mirrors src/store/compact.cpp.
const { C, W, H, AT, UNIT_WORDS, SIZE_CLASSES, CLASS_UNITS } = require('../../layout/layout');
const { NEED_REPAIR, CORRUPT } = require('./locks');
const { ALLOC_LOCK, HEADS, FREE_HEAD, FREED_UNITS, PREV, classFor, push, linkOf, unlinkFree, takeBelow, carveHead, pushLargeBehind } = require('./alloc');
const { bucketOf } = require('./read');
const chain = require('./chain');
const large = require('./large');
const repairs = require('./repair');
const { moveLarge } = require('./compact-large');

const E = W.ENTRY;
// The u32 index, in an entry, of the word keyLength starts (the immutable fields that follow it).
const IMMUTABLE_WORD = H.ENTRY.KEY_LENGTH / 2;
const B = W.BUCKET;
const CS = AT.COMPACT_STATE;
const GC_COUNTER = AT.HEADER.GC_COUNTER;
const HAND = AT.EVICT_STATE.HAND;
const CLASS_SHIFT = C.FLAG_CLASS_SHIFT;
const CLASS_BITS = (C.FLAG_CLASS_MASK << CLASS_SHIFT) >>> 0;
const FLAG_FREE = C.FLAG_FREE;
const CLASS_COUNT = SIZE_CLASSES.length;
const STEP_UNITS = C.COMPACT_STEP_UNITS;
const LIST_PROBE = C.COMPACT_LIST_PROBE;
// The free blocks a write's run takes in after each block it evicted, at most (format.md §8).
const JOIN_BLOCKS = C.JOIN_BLOCKS;
// Failures of the allocator inside a step, besides a unit: the holder of AllocState.lock is gone
// (NEED_REPAIR), or a list or block is damaged (DAMAGED): both end in a repair pass.
const DAMAGED = -20;
// The window's entries and large blocks in use (at most one per unit of the window): one array
// each per thread, reused.
const entries = new Uint32Array(STEP_UNITS + 1);
const larges = new Uint32Array(STEP_UNITS + 1);
// The window's first COMPACT_LIST_PROBE free large blocks (compactStep).
const low = new Uint32Array(LIST_PROBE);

// Under nothing: takes the allocator lock (false: its holder is gone, and a repair pass ran).
function lockAlloc(e) {
  if (e.locks.acquire(ALLOC_LOCK) !== NEED_REPAIR) return true;
  repairs.repair(e, false);
  return false;
}

// A block of class `cls` for a block moved from unit `below` (an entry, or a large block whose
// entry is copied) out of a window that ends at `above`, unlinked and handed out (flags = cls <<
// 8): among the first COMPACT_LIST_PROBE blocks of the class's list, the first that lies wholly
// below `below`, else the first at or above `above` (a hole filled: it stops being stranded, and
// the moves that fill holes end when the holes do); else a block carved from free large space
// wholly below `below` (takeBelow, among the first COMPACT_LIST_PROBE blocks of the large list),
// never above: a carve always moves the block down, so that carving moves end and free space
// gathers at the pool's top. With `head` (not 0: the first block of a making-room write's run,
// below `below`), that block comes first while CompactState.merged + gcCounter is still
// `headStamp` (the run's stamp: no merge, join or repair pass since, so `head` is a block start,
// format.md §8 "Joined runs", step 3; else it may lie inside a block, even one carved since whose
// bytes mimic a linked free block): when it is a free block of class `cls`, or a free large block
// that holds one, it gives its head. 0 when there is none, NEED_REPAIR or DAMAGED. As native's
// AllocMoveTarget.
function allocMoveTarget(e, cls, below, above, head = 0, headStamp = 0) {
  const u32 = e.u32;
  if (e.locks.acquire(ALLOC_LOCK) === NEED_REPAIR) return NEED_REPAIR;
  const top = u32[FREE_HEAD];
  const size = CLASS_UNITS[cls];
  if (head !== 0 && stampOf(e) === headStamp && takeHead(e, head, cls, size, top)) {
    e.locks.release(ALLOC_LOCK);
    return head;
  }
  let got = 0;
  // The first hole of the probe below the block moved, else the first above `above`.
  let low = 0;
  let high = 0;
  let u = u32[HEADS + cls];
  for (let probed = 0; u !== 0 && probed < LIST_PROBE; probed++) {
    const flags = u >= e.firstUnit && u < top ? u32[u * UNIT_WORDS + E.FLAGS] : 0;
    if ((flags & FLAG_FREE) === 0 || chain.classOf(flags) !== cls || u + size > top || top > e.totalUnits) {
      got = DAMAGED;
      break;
    }
    if (u + size <= below) {
      low = u;
      break;
    }
    if (high === 0 && u >= above) high = u;
    u = u32[u * UNIT_WORDS + E.NEXT];
  }
  if (got !== DAMAGED) {
    const hole = low !== 0 ? low : high;
    if (hole !== 0) {
      if (!unlinkFree(e, hole, cls, top)) got = DAMAGED;
      else {
        Atomics.store(u32, hole * UNIT_WORDS + E.FLAGS, (cls << CLASS_SHIFT) >>> 0);
        got = hole;
      }
    } else if (top <= e.totalUnits) {
      // No hole of the class: a block carved from the head of free large space below.
      got = takeBelow(e, size, cls, top, below, LIST_PROBE);
      if (got === CORRUPT) got = DAMAGED;
    }
  }
  e.locks.release(ALLOC_LOCK);
  return got;
}

// Under the allocator lock: the head of the free block at `u`, for an entry of class `cls` (`size`
// units): the whole block when it is a free block of that class, its first `size` units when it
// is a free large block of at least that many; linked on its list either way. false, nothing
// changed, otherwise. As native's TakeHead.
function takeHead(e, u, cls, size, top) {
  const u32 = e.u32;
  if (u < e.firstUnit || u >= top || top > e.totalUnits) return false;
  const w = u * UNIT_WORDS;
  const flags = Atomics.load(u32, w + E.FLAGS);
  if ((flags & FLAG_FREE) === 0) return false;
  if (chain.classOf(flags) === cls) {
    if (!unlinkFree(e, u, cls, top)) return false;
    Atomics.store(u32, w + E.FLAGS, (cls << CLASS_SHIFT) >>> 0);
    return true;
  }
  if (flags !== large.FREE_LARGE_FLAGS) return false;
  const units = u32[w + W.FREE_BLOCK.UNITS];
  if (units < size || u + units > top) return false;
  const link = linkOf(e, u, large.LARGE_CLASS, top);
  if (link < 0) return false;
  carveHead(e, u, link, u32[w + PREV], u32[w + E.NEXT], units, size, cls);
  return true;
}

// Frees the block of a moved entry (above its destination), never the large block it refers to
// (the moved entry does now), as a free large block of its class's size behind the first blocks
// of the large list: the merge at the step's end takes it in, and it stands neither at the head of
// its class's list nor among the large blocks the window's later moves probe, where after
// COMPACT_LIST_PROBE moves it would hide every destination below (format.md §8, "Compaction",
// step 2). `units` before `flags`, as a merge writes them. Not counted in freedUnits (the move
// took as many). Returns 0 or NEED_REPAIR.
function freeMoved(e, u) {
  if (e.locks.acquire(ALLOC_LOCK) === NEED_REPAIR) return NEED_REPAIR;
  const u32 = e.u32;
  Atomics.store(u32, u * UNIT_WORDS + W.FREE_BLOCK.UNITS, CLASS_UNITS[chain.classOf(u32[u * UNIT_WORDS + E.FLAGS])]);
  pushLargeBehind(e, u, u32[FREE_HEAD]);
  e.locks.release(ALLOC_LOCK);
  return 0;
}

// Moves the entry at `unit` (if it is still a live entry there) into a hole of its class below it
// or at or above unit `above` (the window's end), else into a block carved from free large space
// wholly below it (allocMoveTarget), as native's MoveEntry: a copy published by one store into the
// old entry's link, then the old block freed, all under the bucket lock. Returns the new block, 0
// when nothing moved.
function moveEntry(e, unit, above, r, runStart = 0, runStamp = 0) {
  const u32 = e.u32;
  const w = unit * UNIT_WORDS;
  const seen = Atomics.load(u32, w + E.FLAGS);
  if ((seen & (FLAG_FREE | C.FLAG_PARKED)) !== 0 || chain.classOf(seen) >= CLASS_COUNT) return 0;
  // Read without a lock: a block reused meanwhile names another bucket, whose chain decides.
  const bw = bucketOf(e, u32[w + E.KEY_HASH]);
  const lw = bw + B.LOCK;
  while (e.locks.acquire(lw) === NEED_REPAIR) repairs.repair(e, false);
  let got; // the destination, or what allocMoveTarget or copyAndLink reported
  let to = 0; // the destination, once the copy is linked
  let link = 0;
  try {
    const c = e.chain;
    for (let u = c.from(bw + B.HEAD); u !== 0 && c.atEntry(); u = c.next()) {
      if (u === unit) {
        link = c.link;
        break;
      }
    }
    const kl = chain.keyLengthOf(e, unit);
    const vl = chain.valueLengthOf(e, unit);
    if (link === 0 || kl > C.MAX_KEY_BYTES || !chain.fitsBlock(u32[w + E.FLAGS], kl, vl)) {
      r[3]++;
      return 0;
    }
    const cls = classFor(C.ENTRY_HEADER_SIZE + kl + vl);
    // A write's move goes below its run, or to the run's own head.
    got = runStart !== 0 ? allocMoveTarget(e, cls, runStart, above, runStart, runStamp) : allocMoveTarget(e, cls, unit, above);
    if (got <= 0) r[3]++;
    else {
      to = got;
      got = copyAndLink(e, unit, got, cls, link, r);
    }
  } finally {
    e.locks.release(lw);
  }
  // A gone allocator holder or a damaged list: a repair pass (which coalesces everything).
  if (got === NEED_REPAIR) repairs.repair(e, false);
  else if (got === DAMAGED) repairs.repair(e);
  return to;
}

// Under the bucket lock: the entry at `unit` copied into the block `got` of class `cls`, published
// through `link`, the old block freed. Returns 0 or NEED_REPAIR (the old block was not freed).
function copyAndLink(e, unit, got, cls, link, r) {
  const u32 = e.u32;
  const w = unit * UNIT_WORDS;
  const kl = chain.keyLengthOf(e, unit);
  const vl = chain.valueLengthOf(e, unit);
  const nw = got * UNIT_WORDS;
  // keyHash, checksum, then keyLength, valueLength, namespaceId, expiresAt (the words from
  // keyLength's to the end of the header), key, value.
  u32[nw + E.KEY_HASH] = u32[w + E.KEY_HASH];
  u32[nw + E.CHECKSUM] = u32[w + E.CHECKSUM];
  for (let i = IMMUTABLE_WORD; i < E.WORDS; i++) u32[nw + i] = u32[w + i];
  const off = chain.keyOffset(got);
  e.u8.copyWithin(off, chain.keyOffset(unit), chain.keyOffset(unit) + kl + vl);
  Atomics.store(u32, nw + E.NEXT, u32[w + E.NEXT]);
  // The same flags (encoding, INDIRECT, the mark) with the new block's class.
  const flags = Atomics.load(u32, w + E.FLAGS);
  Atomics.store(u32, nw + E.FLAGS, ((flags & ~CLASS_BITS) | (cls << CLASS_SHIFT)) >>> 0);
  Atomics.store(u32, link, got);
  const st = freeMoved(e, unit);
  r[0]++;
  r[1] += CLASS_UNITS[cls];
  return st;
}

// Under the allocator lock: merges each run of two or more adjacent free blocks of [ws, we) into
// one free large block (native's MergeWindow). Returns false on a damaged block or list.
function mergeWindow(e, ws, we, top, r) {
  const u32 = e.u32;
  let runStart = 0;
  let runUnits = 0;
  let runBlocks = 0;
  // The run's units that were not a free large block already: a run merged by an earlier step
  // (the trailing run a window hands on to the next) was taken off the hint then.
  let runFresh = 0;
  const fresh = (flags, size) => (chain.classOf(flags) === large.LARGE_CLASS ? 0 : size);
  const unlinkAt = (u) => unlinkFree(e, u, chain.classOf(u32[u * UNIT_WORDS + E.FLAGS]), top);
  const flush = () => {
    if (runBlocks >= 2) {
      // units before flags: a walk without the lock meets only block starts.
      Atomics.store(u32, runStart * UNIT_WORDS + W.FREE_BLOCK.UNITS, runUnits);
      push(e, runStart, large.LARGE_CLASS);
      r[2]++;
      // The hint of format.md §8: freed space that a merge has not taken in yet.
      u32[FREED_UNITS] = Math.max(0, u32[FREED_UNITS] - runFresh);
    }
    runBlocks = 0;
  };
  for (let u = ws; u < we;) {
    const flags = Atomics.load(u32, u * UNIT_WORDS + E.FLAGS);
    const size = large.blockUnits(e, u, flags);
    if (size === 0 || size > we - u) return false;
    if ((flags & FLAG_FREE) === 0) flush();
    else if (runBlocks === 0) {
      runStart = u;
      runUnits = size;
      runFresh = fresh(flags, size);
      runBlocks = 1;
    } else {
      if (runBlocks === 1 && !unlinkAt(runStart)) return false;
      if (!unlinkAt(u)) return false;
      runUnits += size;
      runFresh += fresh(flags, size);
      runBlocks++;
    }
    u += size;
  }
  // A run that reaches the window's end is where the next window starts, so that it can grow.
  const trailing = runBlocks !== 0;
  const trailStart = runStart;
  flush();
  if (trailing && Atomics.load(u32, CS.CURSOR) === we) Atomics.store(u32, CS.CURSOR, trailStart);
  return true;
}

// A write making room (format.md §8, "Making room", joined runs): under the allocator lock, makes
// the run [start, end) its evictions freed one free large block, if no merge, join or repair pass
// ran since the run's `stamp` (stampOf) and every block of it is still a free block on its list (a
// walk from `start` by block size that lands on `end`). Returns the run's units, or 0 with nothing
// changed: a block of it was allocated or carved meanwhile, or `start` may no longer be a block
// start. A join moves block starts no compaction step expects: it adds 1 to
// CompactState.wraps, so that a step between its walk and its merge merges nothing; a cursor
// inside the run goes back to its start, and the eviction hand, when inside it, on to its end.
function joinFreed(e, start, end, stamp) {
  const u32 = e.u32;
  if (!lockAlloc(e)) return 0;
  const top = u32[FREE_HEAD];
  let u = start;
  let count = 0;
  // Only merges, joins and repair passes remove block starts; with none since the run started
  // (its stamp), `start` and every block start the write saw in it still are.
  if (top <= e.totalUnits && start >= e.firstUnit && end <= top && stampOf(e) === stamp) {
    while (u < end) {
      const f = Atomics.load(u32, u * UNIT_WORDS + E.FLAGS);
      const size = large.blockUnits(e, u, f);
      if ((f & FLAG_FREE) === 0 || size === 0 || size > end - u || linkOf(e, u, chain.classOf(f), top) < 0) break;
      count++;
      u += size;
    }
  }
  if (u !== end || count < 2) {
    e.locks.release(ALLOC_LOCK);
    return 0;
  }
  // Every block is linked, as the walk above saw: each unlink succeeds. freedUnits keeps the
  // units taken: a write whose run breaks after a join of part of it still runs the batches the
  // hint asks for (a join merges what one write freed in a row, not what is scattered).
  for (u = start; u < end;) {
    const f = Atomics.load(u32, u * UNIT_WORDS + E.FLAGS);
    const size = large.blockUnits(e, u, f);
    unlinkFree(e, u, chain.classOf(f), top);
    u += size;
  }
  // units before flags: a walk without the lock meets only block starts.
  Atomics.store(u32, start * UNIT_WORDS + W.FREE_BLOCK.UNITS, end - start);
  push(e, start, large.LARGE_CLASS);
  Atomics.add(u32, CS.WRAPS, 1);
  Atomics.add(u32, CS.MERGED, 1);
  const cursor = Atomics.load(u32, CS.CURSOR);
  if (cursor > start && cursor < end) Atomics.store(u32, CS.CURSOR, start);
  const hand = Atomics.load(u32, HAND);
  if (hand > start && hand < end) Atomics.compareExchange(u32, HAND, hand, end);
  e.locks.release(ALLOC_LOCK);
  return end - start;
}

// What changes whenever block starts may have gone (a run merged by a compaction step or joined by
// a write, a repair pass): CompactState.merged + gcCounter, modulo 2^32. Read before the eviction
// whose block starts a run, it tells a join whether that block may have been taken into another.
function stampOf(e) {
  const u32 = e.u32;
  return (Atomics.load(u32, CS.MERGED) + Atomics.load(u32, GC_COUNTER)) >>> 0;
}

// Without a lock (a hint: joinFreed checks under the lock): the end of the free blocks that follow
// `u`, at most JOIN_BLOCKS of them and below freeHead.
function freeAfter(e, u) {
  const u32 = e.u32;
  const top = Math.min(u32[FREE_HEAD], e.totalUnits);
  for (let n = 0; n < JOIN_BLOCKS && u < top; n++) {
    const f = Atomics.load(u32, u * UNIT_WORDS + E.FLAGS);
    const size = large.blockUnits(e, u, f);
    if ((f & FLAG_FREE) === 0 || size === 0 || size > top - u) break;
    u += size;
  }
  return u;
}

// A write making room met, at the end of its run from `start`, the entry at `unit` that it must
// not evict (a pinned namespace's): moves it down, exactly as a compaction step moves an entry
// (moveEntry: the copy, one store into its link, the old block freed, all under its bucket lock),
// so that its block joins the run (format.md §8, "Joined runs"). The destination is the head of
// the run's first block (a free block of the entry's class, or free large space that holds it),
// while the run's `stamp` says it is still a block start, else one wholly below the run (a hole of its class among the first COMPACT_LIST_PROBE blocks of
// the class's list, else a block carved from the head of the lowest of the first
// COMPACT_LIST_PROBE free large blocks below the run), never above it: the run grows that way.
// Returns [the units of the block it freed, the block it moved to, that block's units], [0, 0, 0]
// when it moved nothing. As native's MoveOutOfRun.
function moveOutOfRun(e, unit, start, stamp) {
  const f = Atomics.load(e.u32, unit * UNIT_WORDS + E.FLAGS);
  const cls = chain.classOf(f);
  if (cls >= CLASS_COUNT || (f & (FLAG_FREE | C.FLAG_PARKED)) !== 0 || start === 0 || start >= unit) return [0, 0, 0];
  const r = [0, 0, 0, 0];
  // No hole above: the run grows that way.
  const to = moveEntry(e, unit, e.totalUnits, r, start, stamp);
  return r[0] !== 0 ? [CLASS_UNITS[cls], to, r[1]] : [0, 0, 0];
}

// One step: [moved, movedUnits, merged, obstacles, start, end, cursor, done] (native's
// CompactStep and the binding's array).
function compactStep(e, maxUnits) {
  const u32 = e.u32;
  const r = [0, 0, 0, 0, 0, 0, 0, 0];
  maxUnits = Math.min(Math.max(maxUnits, 1), STEP_UNITS);
  if (!lockAlloc(e)) return r;
  const top = u32[FREE_HEAD];
  if (top < e.firstUnit || top > e.totalUnits) {
    e.locks.release(ALLOC_LOCK);
    repairs.repair(e);
    return r;
  }
  let start = Atomics.load(u32, CS.CURSOR);
  if (start < e.firstUnit || start >= top) {
    // A new sweep: the windows of the last one still in flight do not merge (CompactState.wraps).
    start = e.firstUnit;
    Atomics.add(u32, CS.WRAPS, 1);
  }
  let u = start;
  let carried = 0;
  let count = 0;
  let largeCount = 0;
  let lowCount = 0;
  let damaged = false;
  while (u < top) {
    const flags = Atomics.load(u32, u * UNIT_WORDS + E.FLAGS);
    const size = large.blockUnits(e, u, flags);
    if (size === 0 || size > top - u) {
      damaged = true;
      break;
    }
    if (u === start && (flags & FLAG_FREE) !== 0) carried = size;
    if ((flags & FLAG_FREE) === 0 && chain.classOf(flags) < CLASS_COUNT) entries[count++] = u;
    else if (flags === large.LIVE_LARGE_FLAGS) larges[largeCount++] = u;
    else if (flags === large.FREE_LARGE_FLAGS && lowCount < LIST_PROBE) low[lowCount++] = u;
    u += size;
    if (u - start - carried >= maxUnits) break;
  }
  if (damaged) {
    e.locks.release(ALLOC_LOCK);
    repairs.repair(e);
    return r;
  }
  // The window's lowest free large blocks go to the head of the large list, the lowest first:
  // the carves of the window's moves probe there (takeBelow), and a block the list holds deeper
  // (merged in an earlier sweep, pushed before every later push) would never be found. With them,
  // each entry of the window goes down into the window's lowest free space, or lower: the live
  // blocks slide down and the free space gathers above them, into the run the merge makes and
  // hands on to the next window. Unlinked and pushed again: listedUnits does not change.
  for (let i = lowCount; i-- > 0;) {
    if (unlinkFree(e, low[i], large.LARGE_CLASS, top)) push(e, low[i], large.LARGE_CLASS);
  }
  const end = u;
  r[4] = start;
  r[5] = end;
  r[7] = end >= top ? 1 : 0;
  Atomics.store(u32, CS.CURSOR, end);
  Atomics.add(u32, CS.STEPS, 1);
  const gc = Atomics.load(u32, GC_COUNTER);
  const sweeps = Atomics.load(u32, CS.SWEEPS);
  const wraps = Atomics.load(u32, CS.WRAPS);
  e.locks.release(ALLOC_LOCK);

  for (let i = 0; i < count; i++) moveEntry(e, entries[i], end, r);
  // After the entries: an indirect entry of the window moved above is found on its chain anyway.
  for (let i = 0; i < largeCount; i++) moveLarge(e, larges[i], end, r);

  if (!lockAlloc(e)) return r;
  let merged = true;
  // A repair pass since the first walk moved the block starts; a sweep completed since may have
  // given this window to another step.
  if (Atomics.load(u32, GC_COUNTER) === gc && Atomics.load(u32, CS.SWEEPS) === sweeps &&
      Atomics.load(u32, CS.WRAPS) === wraps) {
    merged = mergeWindow(e, start, end, u32[FREE_HEAD], r);
    if (r[7]) {
      Atomics.store(u32, CS.CURSOR, 0);
      Atomics.add(u32, CS.SWEEPS, 1);
    }
    Atomics.add(u32, CS.MOVED, r[0]);
    Atomics.add(u32, CS.MERGED, r[2]);
  }
  r[6] = Atomics.load(u32, CS.CURSOR);
  e.locks.release(ALLOC_LOCK);
  if (!merged) repairs.repair(e);
  return r;
}

// A step of `units` run by a write (format.md §8, "When steps run"). A handle whose steps covered
// the whole pool since one of them last moved or merged anything stores freedUnits = 0: what was
// freed lies where no step can merge it (as native's CountedStep).
// Returns the step's moves and merges.
function countedStep(e, units) {
  const r = compactStep(e, units);
  const changed = r[0] + r[2];
  e.idleUnits = changed !== 0 ? 0 : e.idleUnits + (r[5] - r[4]);
  if (e.idleUnits >= e.totalUnits - e.firstUnit) {
    Atomics.store(e.u32, FREED_UNITS, 0);
    e.idleUnits = 0;
  }
  return changed;
}

// After a successful set: every AUTO_COMPACT_EVERY sets of this handle, one step of
// AUTO_COMPACT_UNITS when the free space is fragmented, that is when the units freed and not
// merged since are at least AUTO_COMPACT_MIN_UNITS and at least the space after freeHead (format.md
// §8). Both words are hints read with plain loads; nothing shared is written unless a step runs.
function autoCompact(e) {
  if (++e.autoTick < C.AUTO_COMPACT_EVERY) return;
  e.autoTick = 0;
  const u32 = e.u32;
  const freed = u32[FREED_UNITS];
  const top = u32[FREE_HEAD];
  if (freed >= C.AUTO_COMPACT_MIN_UNITS && top <= e.totalUnits && freed >= e.totalUnits - top) {
    countedStep(e, C.AUTO_COMPACT_UNITS);
  }
}

module.exports = { moveOutOfRun, joinFreed, freeAfter, stampOf, compactStep, allocMoveTarget, countedStep, autoCompact };
