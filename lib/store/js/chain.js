'use strict';
// Bucket chains of the pure-JS engine (docs/format.md §7, §8): where an entry's words are, and
// the cursor chain walks use (clear, listing, repair, verify), so that the bounds that keep a
// damaged chain from running away are written once. The two walks of every get and set (read.js
// walk, write.js findLink) apply the same bounds with locals: the cursor's calls cost them some
// ns each. Mirrors src/store/chain.h.
const { C, W, H, UNIT_WORDS, UNIT_HALFS, SIZE_CLASSES, CLASS_UNITS } = require('../../layout/layout');

const E_NEXT = W.ENTRY.NEXT;
const E_FLAGS = W.ENTRY.FLAGS;
const E_WORDS = W.ENTRY.WORDS;
const CLASS_SHIFT = C.FLAG_CLASS_SHIFT;
const CLASS_MASK = C.FLAG_CLASS_MASK;
const CLASS_COUNT = SIZE_CLASSES.length;
const FLAG_FREE = C.FLAG_FREE;

// Word, half-word and byte positions of the entry at unit `u` (the views all start at byte 0).
const entryWord = (u) => u * UNIT_WORDS;
const entryHalf = (u) => u * UNIT_HALFS;
const keyOffset = (u) => u * C.BLOCK_UNIT + C.ENTRY_HEADER_SIZE;
const keyLengthOf = (e, u) => e.u16[u * UNIT_HALFS + H.ENTRY.KEY_LENGTH];
const valueLengthOf = (e, u) => e.u16[u * UNIT_HALFS + H.ENTRY.VALUE_LENGTH];
const namespaceOf = (e, u) => e.u16[u * UNIT_HALFS + H.ENTRY.NAMESPACE_ID];
// Entry.expiresAt (epoch ms, 0: none): 48 bits, the high 16 in expiresHi, the low 32 in expiresLo.
const expiresAtOf = (e, u) =>
  e.u16[u * UNIT_HALFS + H.ENTRY.EXPIRES_HI] * 0x100000000 + e.u32[u * UNIT_WORDS + W.ENTRY.EXPIRES_LO];
const classOf = (flags) => (flags >>> CLASS_SHIFT) & CLASS_MASK;

// Whether the block at unit `u` can be a linked entry: a valid class, not free, inside the
// store. (The caller checked firstUnit <= u < totalUnits.)
function isEntryBlock(e, u) {
  const flags = e.u32[u * UNIT_WORDS + E_FLAGS];
  const cls = (flags >>> CLASS_SHIFT) & CLASS_MASK;
  return cls < CLASS_COUNT && (flags & FLAG_FREE) === 0 && u + CLASS_UNITS[cls] <= e.totalUnits;
}

// Whether an entry of kl + vl bytes fits the block whose flags are `flags`.
function fitsBlock(flags, kl, vl) {
  const cls = (flags >>> CLASS_SHIFT) & CLASS_MASK;
  return cls < CLASS_COUNT && C.ENTRY_HEADER_SIZE + kl + vl <= CLASS_UNITS[cls] * C.BLOCK_UNIT;
}

// Copies n bytes of key+value of the entry at unit `u` into e.copy, a word at a time (the block
// is at least that long, rounded up to 4).
function copyOut(e, u, n) {
  const src = e.u32;
  const dst = e.copy32;
  const w = u * UNIT_WORDS + E_WORDS;
  const words = (n + 3) >> 2;
  for (let i = 0; i < words; i++) dst[i] = src[w + i];
}

// A walk along one chain. `link` is the index of the word that links to the current unit (the
// bucket's head word, or the previous entry's next), `unit` the current unit (0 at the end).
// Links are read with plain loads: aligned 32-bit accesses do not tear; a reader's seqlock
// version check or a writer's lock decides whether what it saw counts. One cursor per engine
// handle (e.chain), reused: a walk allocates nothing.
class Chain {
  constructor(e) {
    this.e = e;
    this.link = 0;
    this.unit = 0;
    this.steps = 0;
  }

  // Starts at the chain whose head word is `headWord`; returns its first unit (0: empty).
  from(headWord) {
    this.link = headWord;
    this.steps = 0;
    return (this.unit = this.e.u32[headWord]);
  }

  // Moves past the current entry, which stays linked; returns the next unit.
  next() {
    this.link = this.unit * UNIT_WORDS + E_NEXT;
    this.steps++;
    return (this.unit = this.e.u32[this.link]);
  }

  // After the caller unlinked the current entry (`link` now holds its successor): returns it.
  afterUnlink() {
    this.steps++;
    return (this.unit = this.e.u32[this.link]);
  }

  // The current entry's `next` word.
  nextOfCurrent() {
    return this.e.u32[this.unit * UNIT_WORDS + E_NEXT];
  }

  // Whether the current unit may be read: inside the pool, and within the walk bound of §9
  // (no valid chain is longer than min(maxEntries, pool units) entries, so a cycle ends here).
  inBounds() {
    const u = this.unit;
    const e = this.e;
    return u >= e.firstUnit && u < e.totalUnits && this.steps <= e.maxSteps;
  }

  // inBounds(), and the block can be a linked entry (isEntryBlock). Under a bucket's lock a
  // unit that fails this is corruption, not a race.
  atEntry() {
    return this.inBounds() && isEntryBlock(this.e, this.unit);
  }
}

module.exports = {
  Chain, entryWord, entryHalf, keyOffset, keyLengthOf, valueLengthOf, namespaceOf, expiresAtOf,
  classOf, isEntryBlock, fitsBlock, copyOut,
};
