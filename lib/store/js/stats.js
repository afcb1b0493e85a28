'use strict';
// stats() of the pure-JS engine, and the per-handle read/write counters it flushes into the
// header (format.md §3: a shared counter written by every get would bounce its cache line
// between cores, so each handle counts privately). Mirrors src/store/stats.cpp.
const { C, W, AT, S, UNIT_WORDS } = require('../../layout/layout');
const { NEED_REPAIR } = require('./locks');
const { ALLOC_LOCK, LARGE_HEAD, FREE_HEAD, LISTED_UNITS } = require('./alloc');
const chain = require('./chain');
const { NSC_WORDS, NSC_HITS, NSC_MISSES, NSC_EVICTIONS, NSC_EXPIRATIONS, NSC_BYTES, countsCurrent, readAt } = require('./counts');
const repairs = require('./repair');
const cells = require('./cells');

const REPAIRS = AT.REPAIR_STATE.REPAIRS;
const NS_LIVE = AT.NS_STATE.LIVE_COUNT;
const NEXT = W.ENTRY.NEXT;
const POL = W.NS_POLICY;
// Each private count and the NsPolicy field (u32 word offset in the record) it is added to.
const NSC_FIELDS = [[NSC_HITS, POL.HITS], [NSC_MISSES, POL.MISSES], [NSC_EVICTIONS, POL.EVICTIONS],
  [NSC_EXPIRATIONS, POL.EXPIRATIONS], [NSC_BYTES, POL.BYTES]];

// Header.writeCounter and Header.readCounter, as one view of two u64.
const counters = (e) => new BigUint64Array(e.buf, S.HEADER.WRITE_COUNTER, 2);

// Adds the handle's private counts to the header's counters and to the NsPolicy records.
function flushCounters(e) {
  if (e.reads || e.writes) {
    const c64 = counters(e);
    if (e.writes) Atomics.add(c64, 0, BigInt(e.writes));
    if (e.reads) Atomics.add(c64, 1, BigInt(e.reads));
    e.reads = 0;
    e.writes = 0;
  }
  const nsc = e.nsc;
  nsc.fill(0, 0, NSC_WORDS); // slot 0: counts of lives that are over (counts.js)
  for (let i = 1; i <= e.maxNs; i++) {
    const at = i * NSC_WORDS;
    if (!nsc[at] && !nsc[at + 1] && !nsc[at + 2] && !nsc[at + 3] && !nsc[at + 4]) continue;
    // Counts of a life dropped since are dropped too: its record may belong to another.
    if (!countsCurrent(e, i)) {
      nsc.fill(0, at, at + NSC_WORDS);
      continue;
    }
    const big = (i * POL.WORDS) / 2;
    for (const [k, f] of NSC_FIELDS) {
      // BigInt.asUintN: a negative change of bytes is added as its two's complement.
      if (nsc[at + k]) Atomics.add(e.big, big + f / 2, BigInt.asUintN(64, BigInt(nsc[at + k])));
      nsc[at + k] = 0;
    }
  }
}

// Counts `hits` gets of namespace `nsId` that the facade's read cache answered (format.md §9,
// "Cached reads") as this handle's reads and hits, exactly as get() counts its own.
function addHits(e, nsId, hits) {
  countArg(nsId, 'nsId', 1, e.maxNs);
  countArg(hits, 'hits', 0, Number.MAX_SAFE_INTEGER);
  e.reads += hits;
  // The hits of the life this handle resolved, as get() counts its own (counts.js readAt).
  e.nsc[readAt(e, nsId) + NSC_HITS] += hits;
}

function countArg(n, name, min, max) {
  if (typeof n !== 'number') {
    throw Object.assign(new TypeError(`The "${name}" argument must be of type number`), { code: 'ERR_INVALID_ARG' });
  }
  if (!Number.isInteger(n) || n < min || n > max) {
    throw Object.assign(new RangeError(`The "${name}" argument must be an integer in [${min}, ${max}]. Received ${n}`),
      { code: 'ERR_INVALID_ARG' });
  }
}

// The largest free large block's units: the large list walked under the allocator lock (bounded:
// a damaged list ends the walk, it never loops). The class lists are not walked: their units are
// AllocState.listedUnits (format.md §8, "Listed units").
function largestFree(e) {
  const u32 = e.u32;
  let largest = 0;
  let u = u32[LARGE_HEAD];
  for (let steps = 0; u !== 0 && u < e.totalUnits && steps < e.totalUnits; steps++) {
    const size = u32[u * UNIT_WORDS + W.LARGE_BLOCK.UNITS];
    if (size > e.totalUnits - u) break;
    if (size > largest) largest = size;
    u = u32[chain.entryWord(u) + NEXT];
  }
  return largest;
}

function stats(e) {
  flushCounters(e);
  const u32 = e.u32;
  while (e.locks.acquire(ALLOC_LOCK) === NEED_REPAIR) repairs.repair(e, false);
  // listedUnits and freeHead under one hold of the lock: bytesLive is their difference.
  const listed = u32[LISTED_UNITS];
  const top = Math.min(Math.max(u32[FREE_HEAD], e.firstUnit), e.totalUnits);
  const largest = largestFree(e);
  e.locks.release(ALLOC_LOCK);
  const c64 = counters(e);
  const bytesFreeLists = listed * C.BLOCK_UNIT;
  const bytesTail = (e.totalUnits - top) * C.BLOCK_UNIT;
  const bytesFree = bytesFreeLists + bytesTail;
  return {
    entries: cells.entryCount(e),
    maxEntries: e.maxEntries,
    maxNamespaces: e.maxNs,
    buckets: e.bucketCount,
    namespaces: Atomics.load(u32, NS_LIVE),
    bytesTotal: e.totalSize,
    bytesLive: Math.max(0, (top - e.firstUnit) * C.BLOCK_UNIT - bytesFreeLists),
    bytesFree,
    bytesFreeLists,
    bytesTail,
    bytesLargestFree: Math.max(largest * C.BLOCK_UNIT, bytesTail),
    bytesParked: e.cache.units * C.BLOCK_UNIT,
    allocationMisses: e.allocMisses,
    fragmentation: bytesFree ? bytesFreeLists / bytesFree : 0,
    // Completed repair passes (RepairState.repairs, format.md §9 step 7), not gcCounter, which a
    // pass that failed part way moves too.
    repairs: Atomics.load(u32, REPAIRS),
    reads: Number(Atomics.load(c64, 1)),
    writes: Number(Atomics.load(c64, 0)),
    policy: Atomics.load(u32, AT.EVICT_STATE.POLICY),
    evictionHand: Atomics.load(u32, AT.EVICT_STATE.HAND),
    evictionTurns: Atomics.load(u32, AT.EVICT_STATE.TURNS),
    compactionCursor: Math.max(Atomics.load(u32, AT.COMPACT_STATE.CURSOR), e.firstUnit),
    compactionSweeps: Atomics.load(u32, AT.COMPACT_STATE.SWEEPS),
    compactionSteps: Atomics.load(u32, AT.COMPACT_STATE.STEPS),
    compactionMoved: Atomics.load(u32, AT.COMPACT_STATE.MOVED),
    compactionMerged: Atomics.load(u32, AT.COMPACT_STATE.MERGED),
  };
}

module.exports = { stats, flushCounters, addHits };
