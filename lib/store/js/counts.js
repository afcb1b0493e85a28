'use strict';
// A handle's private per-namespace counts (format.md §5, NsPolicy): one Float64Array per handle,
// NSC_WORDS numbers per namespace id, added to the shared NsPolicy records when the handle
// flushes (stats.js), as the header's read and write counters are. Mirrors NsCounts in
// src/store/store.h.
const { C } = require('../../layout/layout');

const NSC_WORDS = 5;
const NSC_HITS = 0;
const NSC_MISSES = 1;
const NSC_EVICTIONS = 2;
const NSC_EXPIRATIONS = 3;
// The change of the key + value bytes of the namespace's live entries (may be negative).
const NSC_BYTES = 4;

const newCounts = () => new Float64Array(C.NAMESPACE_SLOTS * NSC_WORDS);

module.exports = { NSC_WORDS, NSC_HITS, NSC_MISSES, NSC_EVICTIONS, NSC_EXPIRATIONS, NSC_BYTES, newCounts };
