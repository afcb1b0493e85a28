'use strict';
// The block allocator (docs/format.md §8): per-class free lists and a bump pointer, all under
// AllocState.lock, which is never held while waiting for anything else.
const { C, S, SIZE_CLASSES } = require('../layout');
const { NEED_REPAIR } = require('./locks');

const ALLOC_LOCK = (C.ALLOC_OFFSET + S.ALLOC_STATE.LOCK) >> 2;
const HEADS = (C.ALLOC_OFFSET + S.ALLOC_STATE.FREE_HEADS) >> 2;
const FREE_HEAD = S.HEADER.FREE_HEAD >> 2;
const FLAGS = S.ENTRY.FLAGS >> 2;
const CLASS_SHIFT = C.FLAG_CLASS_SHIFT;
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

// Returns a unit index, 0 when the store has no block of that class, or NEED_REPAIR.
function allocBlock(e, cls) {
  const u32 = e.u32;
  if (e.locks.acquire(ALLOC_LOCK) === NEED_REPAIR) return NEED_REPAIR;
  let u = u32[HEADS + cls];
  if (u !== 0) {
    if (u < e.firstUnit || u >= e.totalUnits) {
      u = 0; // a corrupt list: refuse rather than hand out foreign memory (repair fixes it)
    } else {
      u32[HEADS + cls] = Atomics.load(u32, u * 16);
      Atomics.store(u32, u * 16 + FLAGS, cls << CLASS_SHIFT);
    }
  } else {
    const top = u32[FREE_HEAD];
    const size = SIZE_CLASSES[cls];
    if (top + size <= e.totalUnits) {
      // The class is written before the block joins [firstUnit, freeHead): the pool stays
      // walkable at every instant.
      Atomics.store(u32, top * 16 + FLAGS, cls << CLASS_SHIFT);
      Atomics.store(u32, FREE_HEAD, top + size);
      u = top;
    }
  }
  e.locks.release(ALLOC_LOCK);
  return u;
}

// Frees the blocks in units[0..n). Returns 0 or NEED_REPAIR (the blocks then stay orphaned
// until the repair pass the caller runs puts them back on their lists).
function freeBlocks(e, units, n) {
  const u32 = e.u32;
  if (e.locks.acquire(ALLOC_LOCK) === NEED_REPAIR) return NEED_REPAIR;
  for (let i = 0; i < n; i++) {
    const w = units[i] * 16;
    const cls = (u32[w + FLAGS] >>> CLASS_SHIFT) & C.FLAG_CLASS_MASK;
    Atomics.store(u32, w + FLAGS, (C.FLAG_FREE | (cls << CLASS_SHIFT)) >>> 0);
    Atomics.store(u32, w, u32[HEADS + cls]);
    u32[HEADS + cls] = units[i];
  }
  e.locks.release(ALLOC_LOCK);
  return 0;
}

module.exports = { allocBlock, freeBlocks, classFor, ALLOC_LOCK, HEADS, FREE_HEAD };
