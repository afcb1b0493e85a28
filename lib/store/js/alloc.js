'use strict';
// The block allocator (docs/format.md §8): per-class free lists and a bump pointer, all under
// AllocState.lock, which is never held while waiting for anything else.
const { C, W, AT, UNIT_WORDS, SIZE_CLASSES } = require('../../layout/layout');
const { NEED_REPAIR, CORRUPT, LockError } = require('./locks');

const ALLOC_LOCK = AT.ALLOC_STATE.LOCK;
const HEADS = AT.ALLOC_STATE.FREE_HEADS;
const FREE_HEAD = AT.HEADER.FREE_HEAD;
// A free block keeps its class and FREE in Entry.flags and links the next free block of its
// class through Entry.next.
const FLAGS = W.ENTRY.FLAGS;
const NEXT = W.ENTRY.NEXT;
const CLASS_SHIFT = C.FLAG_CLASS_SHIFT;
const CLASS_MASK = C.FLAG_CLASS_MASK;
const CLASS_COUNT = SIZE_CLASSES.length;
// Returned by freeBlocks() when the allocator lock timed out (a live holder that does not let go):
// the blocks stay unlinked and off every list until the next repair pass, as in the native engine.
const NOT_FREED = 1;
const MAX_UNITS = SIZE_CLASSES[SIZE_CLASSES.length - 1];

// Smallest size class holding `bytes` bytes, or -1.
const CLASS_OF_UNITS = new Uint8Array(MAX_UNITS + 1);
for (let u = 1, c = 0; u <= MAX_UNITS; u++) {
  while (SIZE_CLASSES[c] < u) c++;
  CLASS_OF_UNITS[u] = c;
}
function classFor(bytes) {
  const units = (bytes + C.UNIT - 1) >>> C.UNIT_SHIFT;
  return units <= MAX_UNITS ? CLASS_OF_UNITS[units] : -1;
}

// Under the allocator lock: pops the head `u` of class c's list (the unit), or CORRUPT.
function popList(e, c, u, top) {
  const u32 = e.u32;
  const size = SIZE_CLASSES[c];
  const flags = u >= e.firstUnit && u < top ? u32[u * UNIT_WORDS + FLAGS] : 0;
  const next = u >= e.firstUnit && u < top ? u32[u * UNIT_WORDS + NEXT] : 0;
  if (u < e.firstUnit || u + size > top || (flags & C.FLAG_FREE) === 0 ||
      ((flags >>> CLASS_SHIFT) & CLASS_MASK) !== c ||
      (next !== 0 && (next < e.firstUnit || next >= top))) {
    return CORRUPT;
  }
  u32[HEADS + c] = next;
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
  const u32 = e.u32;
  if (e.locks.acquire(ALLOC_LOCK) === NEED_REPAIR) return NEED_REPAIR;
  const size = SIZE_CLASSES[cls];
  const top = u32[FREE_HEAD];
  let u = u32[HEADS + cls];
  if (top < e.firstUnit || top > e.totalUnits) {
    u = CORRUPT; // never place a block over the buckets or the header, or beyond the store
  } else if (u !== 0) {
    u = popList(e, cls, u, top);
  } else if (top + size <= e.totalUnits) {
    // The class is written before the block joins [firstUnit, freeHead): the pool stays
    // walkable at every instant.
    Atomics.store(u32, top * UNIT_WORDS + FLAGS, cls << CLASS_SHIFT);
    Atomics.store(u32, FREE_HEAD, top + size);
    u = top;
  } else if (larger) {
    for (let c = cls + 1; c < CLASS_COUNT; c++) {
      const head = u32[HEADS + c];
      if (head === 0) continue;
      u = popList(e, c, head, top);
      break;
    }
  }
  e.locks.release(ALLOC_LOCK);
  return u;
}

// Frees the blocks in units[0..n). Returns 0; NEED_REPAIR when the allocator lock's holder is
// gone or a block has no valid class (the blocks not freed stay orphaned until the repair pass
// the caller runs); NOT_FREED when the allocator lock timed out. It never throws, so that a
// caller holding a bucket lock always gets to release it.
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
    const w = units[i] * UNIT_WORDS;
    const cls = (u32[w + FLAGS] >>> CLASS_SHIFT) & CLASS_MASK;
    if (cls >= CLASS_COUNT) {
      st = NEED_REPAIR; // freeHeads[cls] would be some other metadata word
      continue;
    }
    Atomics.store(u32, w + FLAGS, (C.FLAG_FREE | (cls << CLASS_SHIFT)) >>> 0);
    Atomics.store(u32, w + NEXT, u32[HEADS + cls]);
    u32[HEADS + cls] = units[i];
  }
  e.locks.release(ALLOC_LOCK);
  return st;
}

module.exports = { allocBlock, freeBlocks, classFor, ALLOC_LOCK, HEADS, FREE_HEAD };
