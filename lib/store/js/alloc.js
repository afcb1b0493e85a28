'use strict';
// The block allocator (docs/format.md §8): per-class free lists, the list of free large blocks
// and a bump pointer, all under AllocState.lock, which is never held while waiting for anything
// else.
const { C, W, H, AT, UNIT_WORDS, UNIT_HALFS, SIZE_CLASSES, CLASS_UNITS } = require('../../layout/layout');
const { NEED_REPAIR, CORRUPT, LockError } = require('./locks');
const large = require('./large');
const { xxh32Aligned } = require('../../base/xxhash');

const ALLOC_LOCK = AT.ALLOC_STATE.LOCK;
const HEADS = AT.ALLOC_STATE.FREE_HEADS;
const LARGE_HEAD = AT.ALLOC_STATE.LARGE_HEAD;
const FREED_UNITS = AT.ALLOC_STATE.FREED_UNITS;
// The units on the free lists (format.md §8, "Listed units"): every push, pop, unlink and split of
// a list moves it, under the allocator lock; readers load it without the lock (a hint).
const LISTED_UNITS = AT.ALLOC_STATE.LISTED_UNITS;
const GC_COUNTER = AT.HEADER.GC_COUNTER;
const LB = W.LARGE_BLOCK;
const LARGE_CLASS = C.LARGE_CLASS;
const FREE_HEAD = AT.HEADER.FREE_HEAD;
// RepairState.cuts: written only by a repair pass, which holds every lock (format.md §9, step 3).
const CUTS = AT.REPAIR_STATE.CUTS;
// RepairState.cutGc: gcCounter as the pass that last moved cuts read it (repair.js countCut()).
const CUT_GC = AT.REPAIR_STATE.CUT_GC;
// A free block keeps its class and FREE in Entry.flags and links the next free block of its
// class through Entry.next.
const FLAGS = W.ENTRY.FLAGS;
const NEXT = W.ENTRY.NEXT;
// ...and links the block before it on its list through FreeBlock.prev (0: the head).
const PREV = W.FREE_BLOCK.PREV;
const CLASS_SHIFT = C.FLAG_CLASS_SHIFT;
const CLASS_MASK = C.FLAG_CLASS_MASK;
const CLASS_COUNT = SIZE_CLASSES.length;
// Returned by freeBlocks() when the allocator lock timed out (a live holder that does not let go):
// the blocks stay unlinked and off every list until the next repair pass, as in the native engine.
const NOT_FREED = 1;
const MAX_UNITS = CLASS_UNITS[SIZE_CLASSES.length - 1];

// Smallest size class holding `bytes` bytes, or -1.
const CLASS_OF_UNITS = new Uint8Array(MAX_UNITS + 1);
for (let u = 1, c = 0; u <= MAX_UNITS; u++) {
  while (CLASS_UNITS[c] < u) c++;
  CLASS_OF_UNITS[u] = c;
}
function classFor(bytes) {
  const units = (bytes + C.BLOCK_UNIT - 1) >>> C.BLOCK_SHIFT;
  return units <= MAX_UNITS ? CLASS_OF_UNITS[units] : -1;
}

// Under the allocator lock: pops the head `u` of class c's list (the unit), or CORRUPT.
function popList(e, c, u, top) {
  const u32 = e.u32;
  const size = CLASS_UNITS[c];
  const flags = u >= e.firstUnit && u < top ? u32[u * UNIT_WORDS + FLAGS] : 0;
  const next = u >= e.firstUnit && u < top ? u32[u * UNIT_WORDS + NEXT] : 0;
  if (u < e.firstUnit || u + size > top || (flags & C.FLAG_FREE) === 0 ||
      ((flags >>> CLASS_SHIFT) & CLASS_MASK) !== c ||
      (next !== 0 && (next < e.firstUnit || next >= top))) {
    return CORRUPT;
  }
  u32[HEADS + c] = next;
  if (next !== 0) u32[next * UNIT_WORDS + PREV] = 0;
  addListed(u32, -size);
  Atomics.store(u32, u * UNIT_WORDS + FLAGS, c << CLASS_SHIFT);
  return u;
}

// Returns a unit index, 0 when the store has no block of that class, NEED_REPAIR (the allocator
// lock's holder is gone) or CORRUPT (a free list or freeHead that would hand out memory outside
// the pool or a block that is not free: only a repair pass may touch them). Throws LockError.
// With `larger`, when neither the list nor the tail has a block, the head of the smallest
// non-empty list of a larger class is taken (an evicting store, format.md §8); the block keeps
// its class, which its flags say.
function allocBlock(e, cls, larger = false) {
  // A batch of one: no block is parked.
  const n = allocBatch(e, cls, 1, larger, one);
  return n > 0 ? one[0] : n;
}
// allocBlock's scratch.
const one = new Uint32Array(1);

// A batch for the per-writer block cache (format.md §8, "Parked blocks"): up to `count` blocks
// of class cls into out[] under one hold of the allocator lock: popped from the class's list,
// bumped, or carved from free large space, in that order, as allocBlock does one. out[0] gets
// flags cls << 8, as any allocation; every other one is parked for this handle (next = its slot,
// then flags PARKED | cls << 8) before the lock is released. With `larger` and no block of cls
// anywhere, out[0] is the head of the smallest non-empty list of a larger class, alone. Returns
// how many blocks it handed out, 0 when none, NEED_REPAIR or CORRUPT (a damaged list or freeHead
// met before any block was taken; one met later ends the batch). Throws LockError. As native's
// AllocBatch.
function allocBatch(e, cls, count, larger, out) {
  const u32 = e.u32;
  if (e.locks.acquire(ALLOC_LOCK) === NEED_REPAIR) return NEED_REPAIR;
  const slot = e.locks.slot;
  const size = CLASS_UNITS[cls];
  let top = u32[FREE_HEAD];
  let n = 0;
  let st = 0;
  if (top < e.firstUnit || top > e.totalUnits) st = CORRUPT;
  while (st === 0 && n < count) {
    const head = u32[HEADS + cls];
    let u;
    if (head !== 0) {
      u = popList(e, cls, head, top);
    } else if (top + size <= e.totalUnits) {
      // The class is written before the block joins [firstUnit, freeHead): a plain store, which the
      // sequentially consistent store of freeHead orders before it (native's is atomic, at no
      // cost on x86; an Atomics.store here is a builtin call per block).
      u32[top * UNIT_WORDS + FLAGS] = cls << CLASS_SHIFT;
      u = top;
      top += size;
      Atomics.store(u32, FREE_HEAD, top);
    } else {
      u = takeFromLarge(e, size, cls, top);
      if (u === 0) break;
    }
    if (u < 0) st = u;
    else out[n++] = u;
  }
  if (n === 0 && st === 0 && larger) {
    for (let c = cls + 1; c < CLASS_COUNT; c++) {
      const head = u32[HEADS + c];
      if (head === 0) continue;
      const u = popList(e, c, head, top);
      if (u < 0) st = u;
      else out[n++] = u;
      break;
    }
  }
  // The extra blocks become this handle's parked blocks: `next` first, so that a block marked
  // PARKED always names its owner (one killed between the two stores is unreachable, and the
  // repair pass frees it). Plain stores, as cache.js park() makes them: the release of the
  // allocator lock orders them for the parties that take it, and one that walks the pool without
  // it acts on a block's mark only after a check under a lock (format.md §1).
  const parked = (C.FLAG_PARKED | (cls << CLASS_SHIFT)) >>> 0;
  for (let i = 1; i < n; i++) {
    const w = out[i] * UNIT_WORDS;
    u32[w + NEXT] = slot;
    u32[w + FLAGS] = parked;
  }
  e.locks.release(ALLOC_LOCK);
  return n !== 0 ? n : st;
}

// Under the allocator lock: the free-list head word of class `cls` (the large list for
// LARGE_CLASS).
const listOf = (cls) => (cls === LARGE_CLASS ? LARGE_HEAD : HEADS + cls);

// Whether the entry at `u`, with a reference inside its block (large.refInBlock(flags, kl),
// checked by the caller with this kl), has the checksum of its key and reference under `flags` and
// keyHash `h` (format.md §8), as native's RefSumMatches. A party that frees or moves the large
// block a reference names checks this first: an inline 8-byte value that gained FLAG_INDIRECT (one
// bit) may equal another entry's reference, and a compaction move would give a damaged entry a
// fresh checksum.
function refSumMatches(e, u, kl, h, flags) {
  const seed = (h ^ (flags & C.ENTRY_SUM_FLAGS)) >>> 0;
  const sum = xxh32Aligned(e.u32, e.u8, u * C.BLOCK_UNIT + C.ENTRY_HEADER_SIZE, kl + C.INDIRECT_VALUE_BYTES, seed);
  return sum === e.u32[u * UNIT_WORDS + W.ENTRY.CHECKSUM];
}

// Under the allocator lock: the large block an indirect entry at `u`, unlinked by the caller,
// refers to, if it is one in use (0 otherwise: a damaged reference frees nothing; the repair pass
// reclaims the block; a reference not in the entry's block is not read, large.refInBlock). Only a
// reference the entry's checksum vouches for (its value 8 bytes, as reads require) names a block
// to free: FLAG_INDIRECT alone is one bit, and an inline 8-byte value that gained it may equal
// another entry's reference; such an entry frees its own block only, as a reader takes it for
// damage. The hash runs last, for an indirect entry that names a live large block only (native
// computes it before taking the lock, for its one block).
function liveLargeOf(e, u, flags) {
  const kl = e.u16[u * UNIT_HALFS + H.ENTRY.KEY_LENGTH];
  if (!large.refInBlock(flags, kl)) return 0;
  const lu = large.refOf(e, u, kl)[0];
  const top = e.u32[FREE_HEAD];
  if (lu < e.firstUnit || lu >= top || top > e.totalUnits) return 0;
  if (e.u32[lu * UNIT_WORDS + FLAGS] !== large.LIVE_LARGE_FLAGS) return 0;
  const w = u * UNIT_WORDS;
  if (e.u16[u * UNIT_HALFS + H.ENTRY.VALUE_LENGTH] !== C.INDIRECT_VALUE_BYTES ||
    !refSumMatches(e, u, kl, e.u32[w + W.ENTRY.KEY_HASH], flags)) {
    return 0;
  }
  return lu;
}

// Under the allocator lock: AllocState.freedUnits += units, saturating.
function countFreed(u32, units) {
  u32[FREED_UNITS] = Math.min(0xffffffff, u32[FREED_UNITS] + units);
}

// Under the allocator lock: AllocState.listedUnits += units (negative: taken off), modulo 2^32.
// An atomic store: readers load the word without the lock.
function addListed(u32, units) {
  Atomics.store(u32, LISTED_UNITS, (u32[LISTED_UNITS] + units) >>> 0);
}

// The units of the free block `u` of class `cls` (a large block's own `units`).
const listedSize = (u32, u, cls) => (cls === LARGE_CLASS ? u32[u * UNIT_WORDS + LB.UNITS] : CLASS_UNITS[cls]);

// Under the allocator lock: block `u` becomes free at the head of the list of class `cls`, both
// links kept (the old head's prev names it, its own is 0), and its units (the class's, or a large
// block's `units`, written before) join listedUnits. Plain stores, as the list heads': the
// lists are followed only under the allocator lock, whose release orders them, and a party that
// meets the block without it (a reader still on it, the eviction hand, the read cache) takes
// FREE, or any flags, for a reason to look again, never as a block to use.
function push(e, u, cls) {
  const u32 = e.u32;
  const old = u32[listOf(cls)];
  addListed(u32, listedSize(u32, u, cls));
  u32[u * UNIT_WORDS + FLAGS] = (C.FLAG_FREE | (cls << CLASS_SHIFT)) >>> 0;
  u32[u * UNIT_WORDS + PREV] = 0;
  u32[u * UNIT_WORDS + NEXT] = old;
  // A damaged head is not followed (the repair pass rebuilds the lists).
  if (old >= e.firstUnit && old < e.totalUnits) u32[old * UNIT_WORDS + PREV] = u;
  u32[listOf(cls)] = u;
}

// Under AllocState.lock: the word that links free block u into class cls's list (the list's
// head or its predecessor's `next`), when both its neighbours name it; -1 otherwise (a damaged
// list, or a stale header inside a block a merge or a join made: no list names it).
function linkOf(e, u, cls, top) {
  const u32 = e.u32;
  const next = u32[u * UNIT_WORDS + NEXT];
  const prev = u32[u * UNIT_WORDS + PREV];
  const inPool = (x) => x >= e.firstUnit && x < top;
  if (next !== 0 && (!inPool(next) || u32[next * UNIT_WORDS + PREV] !== u)) return -1;
  let link = listOf(cls);
  if (prev !== 0) {
    if (!inPool(prev)) return -1;
    link = prev * UNIT_WORDS + NEXT;
  }
  return u32[link] === u ? link : -1;
}

// Under the allocator lock: removes free block `u` from the list of class `cls`, wherever it is
// on it, through its prev link, and takes its units off listedUnits. false, and nothing changed,
// when the links around it do not agree (a damaged list: the caller runs a repair pass). As
// native's UnlinkFree.
function unlinkFree(e, u, cls, top) {
  const u32 = e.u32;
  const link = linkOf(e, u, cls, top);
  if (link < 0) return false;
  const next = u32[u * UNIT_WORDS + NEXT];
  const prev = u32[u * UNIT_WORDS + PREV];
  Atomics.store(u32, link, next);
  if (next !== 0) u32[next * UNIT_WORDS + PREV] = prev;
  addListed(u32, -listedSize(u32, u, cls));
  return true;
}

// Frees the blocks in units[0..n) (an indirect entry's large block with it). Returns 0;
// NEED_REPAIR when the allocator lock's holder is gone or a block has no valid class (the blocks
// not freed stay orphaned until the repair pass the caller runs); NOT_FREED when the allocator
// lock timed out. It never throws, so that a caller holding a bucket lock always gets to release
// it.
function freeBlocks(e, units, n) {
  const u32 = e.u32;
  let got;
  try {
    got = e.locks.acquire(ALLOC_LOCK);
  } catch (err) {
    if (err instanceof LockError) return NOT_FREED;
    throw err;
  }
  if (got === NEED_REPAIR) return NEED_REPAIR;
  let st = 0;
  for (let i = 0; i < n; i++) {
    const u = units[i];
    const flags = u32[u * UNIT_WORDS + FLAGS];
    const cls = (flags >>> CLASS_SHIFT) & CLASS_MASK;
    if (cls > LARGE_CLASS) {
      st = NEED_REPAIR; // freeHeads[cls] would be some other metadata word
      continue;
    }
    const lu = cls === LARGE_CLASS ? 0 : liveLargeOf(e, u, flags);
    countFreed(u32, large.blockUnits(e, u, flags));
    push(e, u, cls);
    if (lu !== 0) {
      countFreed(u32, u32[lu * UNIT_WORDS + LB.UNITS]);
      push(e, lu, LARGE_CLASS);
    }
  }
  e.locks.release(ALLOC_LOCK);
  return st;
}

// Under the allocator lock: the size of block `u`, the `steps`-th block a walk of the large list
// met, or 0 when the list is damaged there: `u` outside the pool, not a free large block, of size
// 0 or crossing `top` (freeHead), a `next` outside the pool, or more steps than the pool has
// units (a cycle). As native's ReadListedLarge.
function listedLargeSize(e, u, top, steps) {
  const u32 = e.u32;
  if (steps >= e.totalUnits || u < e.firstUnit || u >= top) return 0;
  const w = u * UNIT_WORDS;
  if (u32[w + LB.FLAGS] !== large.FREE_LARGE_FLAGS) return 0;
  const size = u32[w + LB.UNITS];
  const next = u32[w + LB.NEXT];
  if (size === 0 || u + size > top || (next !== 0 && (next < e.firstUnit || next >= top))) return 0;
  return size;
}

// Under the allocator lock: first fit on the large list for a block of exactly `units` units of
// class `cls` (a large block, or a table class carved from free large space): a free large block
// of that size is unlinked, a larger one gives its tail (the rest stays free and listed). Returns
// the unit, 0 when no free large block is large enough, or CORRUPT. (A compaction move's
// destination is takeBelow's.)
function takeFromLarge(e, units, cls, top) {
  const u32 = e.u32;
  let link = LARGE_HEAD;
  let prev = 0; // the block whose next is `link` (0: the head)
  for (let steps = 0; ; steps++) {
    const u = u32[link];
    if (u === 0) return 0;
    const w = u * UNIT_WORDS;
    const size = listedLargeSize(e, u, top, steps);
    if (size === 0) return CORRUPT;
    const next = u32[w + LB.NEXT];
    if (size < units) {
      link = w + LB.NEXT;
      prev = u;
      continue;
    }
    // The block handed out: u itself, or the tail. Its size (a large block's) and class are
    // written before the free block shrinks, so a pool walk that reads either size meets only
    // block starts.
    const got = size === units ? u : u + size - units;
    if (cls === LARGE_CLASS) Atomics.store(u32, got * UNIT_WORDS + LB.UNITS, units);
    Atomics.store(u32, got * UNIT_WORDS + FLAGS, (cls << CLASS_SHIFT) >>> 0);
    if (size === units) {
      u32[link] = next;
      if (next !== 0) u32[next * UNIT_WORDS + PREV] = prev;
    } else Atomics.store(u32, w + LB.UNITS, size - units);
    // Whole or split, `units` left the list.
    addListed(u32, -units);
    return got;
  }
}

// Under the allocator lock: a block of `units` units of class `cls` (a large block, or a table
// class) carved from the HEAD of a free large block that lies wholly below unit `below` (a move's
// destination, format.md §8 "Compaction", step 2): among the first `probe` blocks of the large list
// the lowest-addressed one large enough, or, with `probe` 0, the first such block of the whole
// list. A block of exactly `units` is unlinked; a larger one leaves its rest, above the block
// handed out, in its place on the list. Returns the unit, 0 when there is none, or CORRUPT. Every
// move thus lowers the address of the block it moves, and the block moved sits against what lay
// below the free block, its rest against what lay above. As native's TakeBelow.
function takeBelow(e, units, cls, top, below, probe) {
  const u32 = e.u32;
  let link = LARGE_HEAD;
  let prev = 0; // the block whose next is `link` (0: the head)
  // The block chosen: its unit, the word that links it, its neighbours on the list and its size.
  let best = 0;
  let bestLink = 0;
  let bestPrev = 0;
  let bestNext = 0;
  let bestSize = 0;
  for (let steps = 0; probe === 0 || steps < probe; steps++) {
    const u = u32[link];
    if (u === 0) break;
    const w = u * UNIT_WORDS;
    const size = listedLargeSize(e, u, top, steps);
    if (size === 0) return CORRUPT;
    const next = u32[w + LB.NEXT];
    if (size >= units && u + size <= below && (best === 0 || u < best)) {
      best = u;
      bestLink = link;
      bestPrev = prev;
      bestNext = next;
      bestSize = size;
      if (probe === 0) break; // first fit
    }
    link = w + LB.NEXT;
    prev = u;
  }
  if (best === 0) return 0;
  carveHead(e, best, bestLink, bestPrev, bestNext, bestSize, units, cls);
  return best;
}

// Under the allocator lock: hands out the first `units` units of the free large block `u` (`size`
// units, linked through the word `link`, its neighbours on the large list `prev` and `next`) as a
// block of class `cls`: unlinked when it has exactly `units`, else its rest, above, takes its place
// on the list (its header written before `u` changes size, so that a pool walk without the lock
// that reads either size of `u` meets only block starts). listedUnits loses `units`. As native's
// CarveHead.
function carveHead(e, u, link, prev, next, size, units, cls) {
  const u32 = e.u32;
  if (size > units) {
    const rest = u + units;
    const rw = rest * UNIT_WORDS;
    Atomics.store(u32, rw + LB.UNITS, size - units);
    Atomics.store(u32, rw + FLAGS, large.FREE_LARGE_FLAGS);
    u32[rw + PREV] = prev;
    u32[rw + NEXT] = next;
    u32[link] = rest;
    if (next !== 0) u32[next * UNIT_WORDS + PREV] = rest;
  } else {
    u32[link] = next;
    if (next !== 0) u32[next * UNIT_WORDS + PREV] = prev;
  }
  if (cls === LARGE_CLASS) Atomics.store(u32, u * UNIT_WORDS + LB.UNITS, units);
  Atomics.store(u32, u * UNIT_WORDS + FLAGS, (cls << CLASS_SHIFT) >>> 0);
  // Whole or split, `units` left the list.
  addListed(u32, -units);
}

// Under the allocator lock: pushes the free large block at `u` (its `units` written) on the large
// list behind the list's first COMPACT_LIST_PROBE blocks (at its end when shorter): the block a
// move left, which lies above every destination the window's later moves may take, would
// otherwise stand among the blocks they probe and, after COMPACT_LIST_PROBE moves, hide them all.
// As native's PushLargeBehind.
function pushLargeBehind(e, u, top) {
  const u32 = e.u32;
  let after = 0; // the last block of the list's first COMPACT_LIST_PROBE
  let x = u32[LARGE_HEAD];
  for (let n = 0; n < C.COMPACT_LIST_PROBE && x !== 0; n++) {
    // A damaged list is not followed: the block goes to the head (the repair pass rebuilds it).
    if (x < e.firstUnit || x >= top) {
      after = 0;
      break;
    }
    after = x;
    x = u32[x * UNIT_WORDS + NEXT];
  }
  if (after === 0 || (x !== 0 && (x < e.firstUnit || x >= top))) {
    push(e, u, LARGE_CLASS);
    return;
  }
  const w = u * UNIT_WORDS;
  addListed(u32, u32[w + LB.UNITS]);
  u32[w + FLAGS] = large.FREE_LARGE_FLAGS;
  u32[w + PREV] = after;
  u32[w + NEXT] = x;
  if (x !== 0) u32[x * UNIT_WORDS + PREV] = u;
  u32[after * UNIT_WORDS + NEXT] = u;
}

// A large block of exactly `units` units (format.md §8): first fit on the large list, else the
// bump pointer, its writer this handle and its cuts word RepairState.cuts. Returns the unit, 0 when
// there is no room, NEED_REPAIR or CORRUPT. Fills `claim`
// (largeHeld()) under the lock: gcCounter, and the block's keyHash and valueChecksum as they are
// (its writer updates both when it writes its own). Throws LockError. A compaction move of a large
// block passes its window's start (below > 0): then only the first free large block that lies
// wholly below it will do, carved from its head (takeBelow), never the bump pointer.
function allocLarge(e, units, claim, below = 0) {
  const u32 = e.u32;
  if (e.locks.acquire(ALLOC_LOCK) === NEED_REPAIR) return NEED_REPAIR;
  claim.gc = Atomics.load(u32, GC_COUNTER);
  const top = u32[FREE_HEAD];
  let got = top < e.firstUnit || top > e.totalUnits ? CORRUPT :
    below !== 0 ? takeBelow(e, units, LARGE_CLASS, top, below, 0) : takeFromLarge(e, units, LARGE_CLASS, top);
  if (got === 0 && below === 0 && top + units <= e.totalUnits) {
    Atomics.store(u32, top * UNIT_WORDS + LB.UNITS, units);
    Atomics.store(u32, top * UNIT_WORDS + LB.FLAGS, large.LIVE_LARGE_FLAGS);
    Atomics.store(u32, FREE_HEAD, top + units);
    got = top;
  }
  if (got > 0) {
    const w = got * UNIT_WORDS;
    // Until an entry refers to it, the block names its writer (verify(): in flight, not leaked),
    // and holds the cuts count as of now: a pass that cuts later and does not keep the block in
    // flight leaves this value in it (largeHeld()).
    Atomics.store(u32, w + LB.WRITER, e.locks.slot);
    Atomics.store(u32, w + LB.CUTS, Atomics.load(u32, CUTS));
    claim.keyHash = u32[w + LB.KEY_HASH];
    claim.sum = u32[w + LB.VALUE_CHECKSUM];
  }
  e.locks.release(ALLOC_LOCK);
  return got;
}

// Whether the large block `u` this handle allocated (allocLarge() filled `claim`: the gcCounter it
// read, the keyHash and valueChecksum the block holds as far as this handle knows) and has not
// linked is still its own, under a lock that keeps repair passes out (a bucket lock or the
// allocator lock). No pass since: it is. A pass run by another handle keeps a block in flight of a
// live writer as it is, holes or not, and stores RepairState.cuts into its cuts word (format.md
// §9, steps 3 and 5); one run by this handle, or one that found the writer gone, freed it, or left
// it beyond a restored freeHead, and stored writer = 0 in it. A block that does not end by
// freeHead is never held: it is unallocated space, whatever its header says, and the bump pointer
// hands its units out again. Nor is one whose cuts word is not RepairState.cuts: a pass cut since
// without seeing it (it lay beyond where the walk of a restored freeHead ended), and the units
// bumped since may cover it with its header intact. But for one count behind while the pass that
// moved it has not completed (RepairState.cutGc is gcCounter): only a check without a lock
// (giveUpLarge()) meets such a pass, between its cut and its stamp. Its keyHash and valueChecksum
// tell it from a block this handle allocated at the same unit after such a pass (a compaction
// move's, left unlinked), which names this handle too.
function largeHeld(e, u, claim) {
  const u32 = e.u32;
  if (Atomics.load(u32, GC_COUNTER) === claim.gc) return true;
  const w = u * UNIT_WORDS;
  const cutGc = Atomics.load(u32, CUT_GC); // before cuts: countCut() stores it first
  const cuts = Atomics.load(u32, CUTS);
  const units = Atomics.load(u32, w + LB.UNITS);
  if (Atomics.load(u32, w + LB.FLAGS) !== large.LIVE_LARGE_FLAGS || units === 0 ||
      u + units > Atomics.load(u32, FREE_HEAD) || u32[w + LB.WRITER] !== e.locks.slot ||
      u32[w + LB.KEY_HASH] !== claim.keyHash || u32[w + LB.VALUE_CHECKSUM] !== claim.sum) {
    return false;
  }
  // One count behind: held while the pass that moved cuts last has not completed (cutGc is still
  // gcCounter), read last. That pass holds every lock, so only giveUpLarge() gets here while it
  // runs: it stamps the block at step 5, or frees it once given up, and a block it does not see
  // lies beyond freeHead (checked above after cuts was read) until it completes.
  const stamp = u32[w + LB.CUTS];
  return stamp === cuts || (stamp === ((cuts - 1) >>> 0) && cutGc === Atomics.load(u32, GC_COUNTER));
}

// Frees a large block allocLarge returned (filling `claim`) that no entry refers to, if it is
// still this handle's (largeHeld(): a repair pass since may have freed it already). Never throws
// (see freeBlocks). When the allocator lock cannot be taken (its holder is gone, or a live one
// kept it past the timeout), the block is given up instead (giveUpLarge()).
function freeUnlinkedLarge(e, u, claim) {
  let taken;
  try {
    taken = e.locks.acquire(ALLOC_LOCK) !== NEED_REPAIR;
  } catch (err) {
    if (!(err instanceof LockError)) throw err;
    taken = false;
  }
  if (!taken) {
    giveUpLarge(e, u, claim);
    return;
  }
  if (largeHeld(e, u, claim)) {
    countFreed(e.u32, e.u32[u * UNIT_WORDS + LB.UNITS]);
    push(e, u, LARGE_CLASS);
  }
  e.locks.release(ALLOC_LOCK);
}

// A large block of this handle's that it could not free: writer = 0, so that the next repair
// pass frees it whichever handle runs it (format.md §8, "Writing a large value"); one of another
// handle would keep it in flight for as long as this handle lives. No lock is needed: a pass of
// this handle's own is not running while it is here, and a pass run by another handle frees a
// block in flight of a live writer only as damage; then largeHeld() or the compare-and-swap fails,
// or the latter lands between the flags and the writer stores of another writer's allocation of
// the same unit (allocLarge()), whose writer store then replaces it (native's FreeUnlinkedLarge).
// A pass running now that cut, and has not stamped the block yet, is why largeHeld() takes a cuts
// word one count behind while that pass has not completed: refused, the block would stay in
// flight of this live handle, kept by every pass.
function giveUpLarge(e, u, claim) {
  if (largeHeld(e, u, claim)) Atomics.compareExchange(e.u32, u * UNIT_WORDS + LB.WRITER, e.locks.slot, 0);
}

module.exports = {
  allocBlock, allocBatch, allocLarge, takeBelow, carveHead, pushLargeBehind, freeBlocks, freeUnlinkedLarge, largeHeld, classFor, push, countFreed, linkOf, unlinkFree, ALLOC_LOCK, HEADS,
  LARGE_HEAD, FREE_HEAD, FREED_UNITS, LISTED_UNITS, PREV, refSumMatches,
};
