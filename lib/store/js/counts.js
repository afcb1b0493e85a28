'use strict';
// A handle's private per-namespace counts (format.md §5, NsPolicy): one Float64Array per handle,
// NSC_WORDS numbers per namespace id, added to the shared NsPolicy records when the handle
// flushes (stats.js), as the header's read and write counters are. Mirrors NsCounts in
// src/store/store.h.
const { C, W } = require('../../layout/layout');

const NSC_WORDS = 5;
const NSC_HITS = 0;
const NSC_MISSES = 1;
const NSC_EVICTIONS = 2;
const NSC_EXPIRATIONS = 3;
// The change of the key + value bytes of the namespace's live entries (may be negative).
const NSC_BYTES = 4;

const newCounts = (maxNs) => new Float64Array((maxNs + 1) * NSC_WORDS);

const NS_STATE = W.NAMESPACE.STATE;
const NS_GEN = W.NAMESPACE.GENERATION;
const NS_WORDS = W.NAMESPACE.WORDS;

// Whether namespace `nsId` is still the one this handle resolved (format.md §5, "Dropping"):
// live, with the generation the handle saw when it resolved the name (e.nsGen). The state is an
// Atomics.load: a writer checks under its bucket lock, and on a weakly ordered processor only an
// atomic load is kept after the store of the compare-and-swap that took the lock (a dropper that
// skips the bucket saw it free, format.md §5). The generation is then a plain load, ordered after
// the state's: a creator leaves it as the last drop (or repair) left it, whose store came before
// its release of NsState.lock and so before the creator's `state = 2` that the atomic load read;
// a dropper stores `state = 1` before it. So it is the generation of the life the state showed,
// or a later one, which fails.
function nsCurrent(e, nsId) {
  const r = e.nsBase + nsId * NS_WORDS;
  const u32 = e.u32;
  return nsId >= 1 && nsId <= e.maxNs && Atomics.load(u32, NS_STATE + r) === C.NS_STATE_LIVE &&
    u32[NS_GEN + r] === e.nsGen[nsId];
}

// nsCurrent() for a read, after its lookup (format.md §5, "Dropping"), with plain loads: an
// Atomics.load is a call into a builtin (about 8 ns each, a get makes two more than it needs).
// Every read's last load of what it found is an Atomics.load (a bucket's version, or the count):
// a drop that changed it before that load happens before it, so the plain loads that follow in
// program order cannot see the namespace words older than the drop left them (the memory model's
// coherent reads). A drop that changed nothing the read found may be ordered after the read.
function nsCurrentAfterRead(e, nsId) {
  const r = e.nsBase + nsId * NS_WORDS;
  const u32 = e.u32;
  return nsId >= 1 && nsId <= e.maxNs && u32[NS_STATE + r] === C.NS_STATE_LIVE && u32[NS_GEN + r] === e.nsGen[nsId];
}

module.exports = {
  NSC_WORDS, NSC_HITS, NSC_MISSES, NSC_EVICTIONS, NSC_EXPIRATIONS, NSC_BYTES, newCounts, nsCurrent, nsCurrentAfterRead,
};
