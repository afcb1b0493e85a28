'use strict';
// Word indices into a store's bytes (a Uint32Array over store.buffer), built from the generated
// layout names, for the tests that read or damage a store directly.
const { C, W, BASE, UNIT_WORDS } = require('../../lib/layout/layout');

/** The u32 index of `field` (a W.BUCKET name) of bucket b. */
const bucketWord = (b, field) => BASE.BUCKET + b * W.BUCKET.WORDS + field;
/** The u32 index of `field` (a W.NAMESPACE name) of the namespace record of id `id`. */
const namespaceWord = (id, field) => BASE.NAMESPACE + id * W.NAMESPACE.WORDS + field;
const nsCountWord = (id) => namespaceWord(id, W.NAMESPACE.COUNT);
const nsStateWord = (id) => namespaceWord(id, W.NAMESPACE.STATE);
/** The u32 indices of owner slot o's pid and tid. */
const pidWord = (o) => BASE.OWNER + o * W.OWNER.WORDS + W.OWNER.PID;
const tidWord = (o) => BASE.OWNER + o * W.OWNER.WORDS + W.OWNER.TID;
/** The u32 index of `field` (a W.ENTRY name) of the entry at unit u. */
const entryWord = (u, field) => u * UNIT_WORDS + field;

/** The units of bucket b's chain, head first (a chain with no corruption). */
function chain(u32, b = 0) {
  const out = [];
  for (let u = u32[bucketWord(b, W.BUCKET.HEAD)]; u !== 0; u = u32[entryWord(u, W.ENTRY.NEXT)]) out.push(u);
  return out;
}

/** The value of lock word `word` once owner slot `slot` has taken it (the next odd version). */
function lockedBy(word, slot) {
  return ((((word & C.LOCK_VERSION_MASK) + 1) & C.LOCK_VERSION_MASK) | (slot << C.LOCK_OWNER_SHIFT)) >>> 0;
}

module.exports = { bucketWord, namespaceWord, nsCountWord, nsStateWord, pidWord, tidWord, entryWord, chain, lockedBy };
