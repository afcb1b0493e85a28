'use strict';
// Large blocks and indirect entries of the pure-JS engine (docs/format.md §8, "Large values"): a
// value longer than MAX_INLINE_VALUE_BYTES lives in a block of class LARGE_CLASS whose size is
// LargeBlock.units; its entry's value bytes are the block's unit and the value's length. Mirrors
// the helpers of src/store/alloc.h and Store::LargeSource / LargeProblem of the native engine.
const { C, S, W, H, UNIT_WORDS, UNIT_HALFS, SIZE_CLASSES, CLASS_UNITS } = require('../../layout/layout');
const { xxh32Aligned } = require('../../base/xxhash');

const LB = W.LARGE_BLOCK;
const REF = S.INDIRECT_REF;
const E = W.ENTRY;
const LARGE_CLASS = C.LARGE_CLASS;
const LIVE_LARGE_FLAGS = (LARGE_CLASS << C.FLAG_CLASS_SHIFT) >>> 0;
const FREE_LARGE_FLAGS = (C.FLAG_FREE | LIVE_LARGE_FLAGS) >>> 0;
const UNIT = C.BLOCK_UNIT;
// An entry's key follows its header; a large block's value follows the large block's header.
const HDR = C.ENTRY_HEADER_SIZE;
const LARGE_HDR = C.LARGE_HEADER_SIZE;

// Units a large block needs for a value of n bytes.
const unitsForLarge = (n) => Math.ceil((LARGE_HDR + n) / UNIT);

// The size of the block at `u` whose flags are `flags` (the class table, or LargeBlock.units), 0
// when its class is invalid: every pool walk reads block sizes this way.
function blockUnits(e, u, flags) {
  const cls = (flags >>> C.FLAG_CLASS_SHIFT) & C.FLAG_CLASS_MASK;
  if (cls < SIZE_CLASSES.length) return CLASS_UNITS[cls];
  return cls === LARGE_CLASS ? Atomics.load(e.u32, u * UNIT_WORDS + LB.UNITS) : 0;
}

// An entry's reference, read from its value bytes (which follow a key of any length, so
// unaligned): [unit, length].
function refOf(e, u, kl) {
  const p = u * UNIT + HDR + kl;
  return [e.sbuf.readUInt32LE(p + REF.UNIT), e.sbuf.readUInt32LE(p + REF.LENGTH)];
}

// Writes a reference into the value bytes at byte offset p of e's store.
function writeRef(e, p, unit, length) {
  e.sbuf.writeUInt32LE(unit, p + REF.UNIT);
  e.sbuf.writeUInt32LE(length, p + REF.LENGTH);
}

// Whether an entry whose flags are `flags` has INDIRECT set and a reference after a key of kl
// bytes inside its block (of a class 0..47), as native's RefInBlock. An entry a chain walk found
// is a block of a valid class inside the pool, but its key length (up to 65535) is only checked
// against its block here: a damaged one would read the reference from past the block (past the
// end of the store, near it), where the bytes may even name another entry's large block.
function refInBlock(flags, kl) {
  const cls = (flags >>> C.FLAG_CLASS_SHIFT) & C.FLAG_CLASS_MASK;
  return (flags & C.FLAG_INDIRECT) !== 0 && cls < SIZE_CLASSES.length &&
    HDR + kl + C.INDIRECT_VALUE_BYTES <= CLASS_UNITS[cls] * UNIT;
}

// Key + value bytes the entry at `u` holds for its user (an indirect entry's value length is
// its large block's). Under its bucket lock. A damaged indirect entry whose reference is not in
// its block (refInBlock) counts its own lengths (the repair pass recounts the bytes).
function payloadOf(e, u) {
  const kl = e.u16[u * UNIT_HALFS + H.ENTRY.KEY_LENGTH];
  if (!refInBlock(e.u32[u * UNIT_WORDS + E.FLAGS], kl)) return kl + e.u16[u * UNIT_HALFS + H.ENTRY.VALUE_LENGTH];
  return kl + refOf(e, u, kl)[1];
}

// Whether (unit, length) can name a large value: in the pool, a live large block long enough,
// holding that length. Racy: a reader's version check decides whether what it copied counts.
function largeSource(e, unit, length) {
  if (length <= C.MAX_INLINE_VALUE_BYTES || length > C.MAX_VALUE_BYTES) return false;
  if (unit < e.firstUnit || unit >= e.totalUnits) return false;
  const w = unit * UNIT_WORDS;
  const units = Atomics.load(e.u32, w + LB.UNITS);
  return Atomics.load(e.u32, w + LB.FLAGS) === LIVE_LARGE_FLAGS && units >= unitsForLarge(length) &&
    units <= e.totalUnits - unit && e.u32[w + LB.VALUE_LENGTH] === length;
}

// Copies the large value at `unit` (largeSource said yes) into e.large, grown as needed, and its
// valueChecksum into e.largeSum.
function copyLarge(e, unit, length) {
  if (e.large === null || e.large.length < length) {
    e.large32 = new Uint32Array(Math.ceil(length / 4));
    e.large = Buffer.from(e.large32.buffer);
  }
  const off = unit * UNIT + LARGE_HDR;
  e.large.set(e.u8.subarray(off, off + length));
  e.largeSum = e.u32[unit * UNIT_WORDS + LB.VALUE_CHECKSUM];
}

// Whether e.large holds a value of `length` bytes with checksum e.largeSum for key hash h.
function largeCopyValid(e, length, h) {
  return xxh32Aligned(e.large32, e.large, 0, length, h) === e.largeSum;
}

// Why an indirect entry's reference does not name its value, or null (native's LargeProblem).
function largeProblem(e, u, kl, vl, h) {
  if (vl !== C.INDIRECT_VALUE_BYTES) return 'is indirect but its reference is not 8 bytes';
  const [unit, length] = refOf(e, u, kl);
  if (length <= C.MAX_INLINE_VALUE_BYTES || length > C.MAX_VALUE_BYTES) {
    return 'refers to a value of an impossible length';
  }
  if (unit < e.firstUnit || unit >= e.totalUnits) return 'refers to a unit outside the pool';
  const w = unit * UNIT_WORDS;
  if (e.u32[w + LB.FLAGS] !== LIVE_LARGE_FLAGS) return 'refers to a block that is not a live large block';
  const units = e.u32[w + LB.UNITS];
  if (units < unitsForLarge(length) || units > e.totalUnits - unit) {
    return 'refers to a large block too small for its value';
  }
  if (e.u32[w + LB.VALUE_LENGTH] !== length) return 'refers to a large block of another length';
  if (xxh32Aligned(e.u32, e.u8, unit * UNIT + LARGE_HDR, length, h) !== e.u32[w + LB.VALUE_CHECKSUM]) {
    return 'has a large value with a wrong checksum';
  }
  return null;
}

module.exports = {
  LARGE_CLASS, LIVE_LARGE_FLAGS, FREE_LARGE_FLAGS, unitsForLarge, blockUnits, refOf, refInBlock, writeRef,
  payloadOf, largeSource, copyLarge, largeCopyValid, largeProblem,
};
