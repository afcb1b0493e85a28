'use strict';
// Word indices into a store's bytes (a Uint32Array over store.buffer), built from the generated
// layout names, for the tests that read or damage a store directly.
const { C, W, AT, BASE, UNIT_WORDS, SIZE_CLASSES, storeRegions } = require('../../lib/layout/layout');
const { readGeometry } = require('../../lib/store/js/format');

/** The u32 index of `field` (a W.BUCKET name) of bucket b. */
const bucketWord = (b, field) => BASE.BUCKET + b * W.BUCKET.WORDS + field;
/** The namespace area of the store in `u32` (a Uint32Array over its bytes), from its header. */
const nsRegions = (u32) => storeRegions(u32[AT.HEADER.BUCKET_COUNT], u32[AT.HEADER.MAX_NAMESPACES]);
/** The u32 index of `field` (a W.NAMESPACE name) of the namespace record of id `id`. */
const namespaceWord = (u32, id, field) => nsRegions(u32).namespaces / 4 + id * W.NAMESPACE.WORDS + field;
/** The u32 index of `field` (a W.COUNT_CELL name) of count cell k (format.md §5, "Count cells"). */
const cellWord = (u32, k, field) => {
  const r = nsRegions(u32);
  return (r.cells + k * r.cellSize) / 4 + field;
};
/** The u32 index of namespace id's count in count cell k. */
const cellNsWord = (u32, k, id) => cellWord(u32, k, W.COUNT_CELL.WORDS + id);
/**
 * Makes namespace id's count (id 0: the store's entry count) read n: cell 0 holds n, the other
 * cells 0, as a repair pass leaves them.
 */
function setCount(u32, id, n) {
  for (let k = 0; k < C.COUNT_CELLS; k++) {
    u32[id === 0 ? cellWord(u32, k, W.COUNT_CELL.ENTRIES) : cellNsWord(u32, k, id)] = k === 0 ? n : 0;
  }
}
const nsStateWord = (u32, id) => namespaceWord(u32, id, W.NAMESPACE.STATE);

/**
 * Takes id out of the name index as a dropper's first step does: its slot emptied, and every
 * later id of its run put back where a probe finds it.
 */
function unindex(u32, id) {
  const r = nsRegions(u32);
  const base = r.index / 4;
  const mask = r.indexSlots - 1;
  let at = 0;
  while ((u32[base + at] & C.NS_INDEX_ID_MASK) !== id) at++;
  u32[base + at] = 0;
  for (let j = (at + 1) & mask; u32[base + j] !== 0; j = (j + 1) & mask) {
    const other = u32[base + j];
    u32[base + j] = 0;
    let k = u32[namespaceWord(u32, other & C.NS_INDEX_ID_MASK, W.NAMESPACE.NAME_HASH)] & mask;
    while (u32[base + k] !== 0) k = (k + 1) & mask;
    u32[base + k] = other;
  }
}
/** The u32 indices of owner slot o's pid and tid. */
const pidWord = (o) => BASE.OWNER + o * W.OWNER.WORDS + W.OWNER.PID;
const tidWord = (o) => BASE.OWNER + o * W.OWNER.WORDS + W.OWNER.TID;
/**
 * Makes owner slot o of the store in `u32` name thread `tid` of process `pid` with that process's
 * identity (start time and boot id): a live owner when the process lives. A record with a pid and
 * no identity holds nothing (format.md §6, rule 6).
 */
function ownAs(u32, o, pid, tid = 1) {
  const { identityOf } = require('../../lib/ownership/owners');
  const id = identityOf(pid, tid);
  const perU64 = BigUint64Array.BYTES_PER_ELEMENT / Uint32Array.BYTES_PER_ELEMENT;
  const u64 = new BigUint64Array(u32.buffer, u32.byteOffset, Math.floor(u32.length / perU64));
  const rec = BASE.OWNER + o * W.OWNER.WORDS;
  u32[rec + W.OWNER.TID] = tid;
  Atomics.store(u64, (rec + W.OWNER.START_TIME) / perU64, id.startTime);
  Atomics.store(u64, (rec + W.OWNER.BOOT_ID) / perU64, id.bootId);
  u32[rec + W.OWNER.STATE] = C.OWNER_STATE_LIVE;
  u32[rec + W.OWNER.PID] = pid;
}

/** Makes owner slot o of the store in `u32` free again: every field zero. */
function freeOwner(u32, o) {
  const rec = BASE.OWNER + o * W.OWNER.WORDS;
  u32.fill(0, rec, rec + W.OWNER.WORDS);
}

/** The u32 index of `field` (a W.ENTRY name) of the entry at unit u. */
const entryWord = (u, field) => u * UNIT_WORDS + field;

/** The units of bucket b's chain, head first (a chain with no corruption). */
function chain(u32, b = 0) {
  const out = [];
  for (let u = u32[bucketWord(b, W.BUCKET.HEAD)]; u !== 0; u = u32[entryWord(u, W.ENTRY.NEXT)]) out.push(u);
  return out;
}

/** The block starts of a sound store's pool, in address order (its buffer). */
function blocksOf(buffer) {
  const u32 = new Uint32Array(buffer);
  const { firstUnit } = readGeometry(buffer).geometry;
  const out = [];
  for (let u = firstUnit; u < u32[AT.HEADER.FREE_HEAD];) {
    out.push(u);
    const cls = (u32[entryWord(u, W.ENTRY.FLAGS)] >>> C.FLAG_CLASS_SHIFT) & C.FLAG_CLASS_MASK;
    u += cls < SIZE_CLASSES.length ? SIZE_CLASSES[cls] : u32[entryWord(u, W.LARGE_BLOCK.UNITS)];
  }
  return out;
}

/** The value of lock word `word` once owner slot `slot` has taken it (the next odd version). */
function lockedBy(word, slot) {
  return ((((word & C.LOCK_VERSION_MASK) + 1) & C.LOCK_VERSION_MASK) | (slot << C.LOCK_OWNER_SHIFT)) >>> 0;
}

module.exports = { bucketWord, nsRegions, unindex, namespaceWord, cellWord, cellNsWord, setCount, nsStateWord, pidWord, tidWord, ownAs, freeOwner, entryWord, chain, blocksOf, lockedBy };
