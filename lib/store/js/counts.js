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

// Slot 0 (id 0 is no namespace) takes the counts of a life that is over, and is never flushed.
const newCounts = (maxNs) => new Float64Array((maxNs + 1) * NSC_WORDS);
// The life each id's counts belong to: its generation (e.nscGen, format.md §5 "Namespace policy
// records"). 0 for an id this handle never counted: its counts are 0 too.
const newCountGens = (maxNs) => new Uint32Array(maxNs + 1);

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

// Makes e.nsc's counts of namespace `nsId` those of its life `gen` (format.md §5, "Namespace
// policy records"), a generation this handle just loaded from the record with the record live:
// counts of another life are discarded. Invariant: e.nsc holds only counts of the life
// e.nscGen names. Every generation given here was loaded after the one e.nscGen holds (both
// loads of this thread, the later one in program order), so a different one means a drop started
// (or a repair pass freed the record) since that life was seen live: that life is over, and its
// counters were or will be zeroed by the drop's last step and the next creation; adding its counts
// later would credit them to whichever life holds the record then.
function countLife(e, nsId, gen) {
  if (e.nscGen[nsId] === gen) return;
  e.nsc.fill(0, nsId * NSC_WORDS, (nsId + 1) * NSC_WORDS);
  e.nscGen[nsId] = gen;
}

// Records that this handle resolved namespace `nsId` in its life `gen` (a lookup that found it
// live, or its creation): e.nsGen, and the life of its counts. After this the two agree, so the
// counts of a write that found the id current under its bucket lock (nsGen is then the live
// generation) go to the slot of that life with no check.
function resolved(e, nsId, gen) {
  e.nsGen[nsId] = gen;
  countLife(e, nsId, gen);
}

// Where a read counts its hit or miss in e.nsc: namespace `nsId`'s slot while its counts are of
// the life this handle resolved, else slot 0 (never flushed). They differ only when a removal
// (below) met an entry of a later life of the id: the life this handle resolved is then over,
// the read's check after its lookup fails, and its count must not go to the later life. A
// compare of two private words: no shared-memory access on the read's path.
const readAt = (e, nsId) => (e.nscGen[nsId] === e.nsGen[nsId] ? nsId * NSC_WORDS : 0);

// Where a removal of an entry of namespace `nsId` found under its bucket lock is counted: the
// hand, the expiry sweep, a reader reclaiming an expired entry (and a delete or clear meeting one,
// in a namespace current under the lock: its live life). Such a removal meets entries of
// any namespace, one this handle never resolved or resolved in an earlier life, so the life is
// read from the record: the generation, then the state. A dropper stores state 1 before it moves
// the generation on, so a generation loaded before a state that shows live is that life's; and
// between the two loads no drop can end and no new life begin: a drop frees the record only after
// its second step took this bucket's lock (held here, so not skipped as free either). Under the
// lock, an entry of a live record is of its current life: the drop of every earlier life removed
// its entries from every bucket (or a repair pass did, holding every lock). A record not live is
// being dropped: its counters are zeroed when the drop ends, and the removal is counted in slot 0.
function removalAt(e, nsId) {
  const r = e.nsBase + nsId * NS_WORDS;
  const gen = Atomics.load(e.u32, NS_GEN + r);
  if (Atomics.load(e.u32, NS_STATE + r) !== C.NS_STATE_LIVE) return 0;
  countLife(e, nsId, gen);
  return nsId * NSC_WORDS;
}

// Whether this handle's counts of namespace `nsId` may be flushed: the record is live in the life
// the counts belong to (e.nscGen). Not e.nsGen: a removal counts under namespaces this handle
// never resolved. Loads as nsCurrent's.
function countsCurrent(e, nsId) {
  const r = e.nsBase + nsId * NS_WORDS;
  return Atomics.load(e.u32, NS_STATE + r) === C.NS_STATE_LIVE && e.u32[NS_GEN + r] === e.nscGen[nsId];
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
  NSC_WORDS, NSC_HITS, NSC_MISSES, NSC_EVICTIONS, NSC_EXPIRATIONS, NSC_BYTES, newCounts, newCountGens, nsCurrent,
  nsCurrentAfterRead, countLife, resolved, readAt, removalAt, countsCurrent,
};
