'use strict';
// One case of bench/memory.js in its own process: fills a store with one workload and reports,
// over IPC, where the pool's bytes are at each measuring point (see measure()).
//   eviction 'none': after filling with new keys, then after each of CHURN_ROUNDS rounds of
//                    "delete half the live keys at random, refill with new keys"; each fill
//                    reports the ratio at its first refused insert and where the bytes are once
//                    REFUSALS_TO_STOP inserts in a row were refused;
//   eviction 'auto': every fill's worth of inserts along a stream of new keys, STREAM_FILLS
//                    times the entries the store held when it first evicted.
const { Store } = require('../..');
const { C, SIZE_CLASSES, entriesOffset } = require('../../lib/layout/layout');
const { prng, keyText } = require('./workload');
const { WORKLOADS, CHURN_ROUNDS, STREAM_FILLS, REFUSALS_TO_STOP } = require('./memory-cases');

const task = JSON.parse(process.argv[2]);
const NS = 'b';
// Inserts between two looks at the eviction count while the 'auto' store first fills up.
const INSERTS_PER_CHECK = 500;
const KEY_BYTES = keyText(0).length;
// One flat string sliced for every value: only the sizes matter here.
const MAX_BYTES = 1 << 20; // the large workload's largest value
const TEXT = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(Math.ceil(MAX_BYTES / 36)).slice(0, MAX_BYTES);

// The class a block of `units` takes when the store does not evict: the smallest that holds it.
function classUnits(units) {
  for (const c of SIZE_CLASSES) if (c >= units) return c;
  throw new Error(`no class holds ${units} units`);
}

/**
 * Where the pool's bytes are. "Pool bytes" is the allocator region of format.md §2 and §8: units
 * [firstUnit, totalUnits) of 16 bytes, i.e. totalSize − entriesOffset. It splits exactly into
 * payload (key + value bytes of live entries), entry headers (28 bytes each), rounding (a block's
 * units beyond header + key + value: to whole 16-byte units and up to the size class, and in an
 * evicting store a block of a larger class taken for a smaller entry), blocks stranded on the
 * free lists, and the tail never handed out. `live` (sizes of the live entries, when known) splits
 * the rounding into units, classes and larger-class blocks.
 */
function measure(store, size, live) {
  const s = store.stats();
  const pool = size - entriesOffset(s.buckets);
  if (pool !== s.bytesLive + s.bytesFree) throw new Error(`pool ${pool} != bytesLive + bytesFree ${s.bytesLive + s.bytesFree}`);
  const ns = s.namespaceStats[NS] || { bytes: 0, count: 0 };
  const headers = s.entries * C.ENTRY_HEADER_SIZE;
  const m = {
    entries: s.entries, pool, payload: ns.bytes, headers, rounding: s.bytesLive - ns.bytes - headers,
    freeLists: s.bytesFreeLists, tail: s.bytesTail, ratio: ns.bytes / pool, evictions: ns.evictions,
  };
  if (live) {
    let payload = 0;
    let units = 0;
    let blocks = 0;
    for (const n of live.values()) {
      payload += KEY_BYTES + n;
      if (n > C.MAX_INLINE_VALUE_BYTES) {
        // An entry holding the reference, and a large block of exactly the units it needs.
        const u = Math.ceil((C.ENTRY_HEADER_SIZE + KEY_BYTES + C.INDIRECT_VALUE_BYTES) / C.BLOCK_UNIT);
        const lu = Math.ceil((C.LARGE_HEADER_SIZE + n) / C.BLOCK_UNIT);
        units += u + lu;
        blocks += classUnits(u) + lu;
        continue;
      }
      const need = C.ENTRY_HEADER_SIZE + KEY_BYTES + n;
      const u = Math.ceil(need / C.BLOCK_UNIT);
      units += u;
      blocks += classUnits(u);
    }
    // The store's own count of payload must be the one the benchmark tracked.
    if (payload !== ns.bytes || live.size !== s.entries) {
      throw new Error(`tracked ${live.size} entries / ${payload} B, store says ${s.entries} / ${ns.bytes} B`);
    }
    m.unitRounding = units * C.BLOCK_UNIT - payload - headers;
    m.classRounding = (blocks - units) * C.BLOCK_UNIT;
    // What is left of the rounding: entries in blocks of a larger class than they need (taken by
    // an evicting store when its own class had no block).
    m.largerClass = m.rounding - m.unitRounding - m.classRounding;
  }
  return m;
}

const isFull = (err) => err && err.code === 'ERR_STORE_FULL';

// A store of `size` bytes whose space, not its entry count, is what fills: maxEntries is the
// number of units, and every entry takes at least one.
function makeStore(size, eviction) {
  const probe = Store.create({ buffer: new SharedArrayBuffer(size), engine: task.engine });
  const units = (size - entriesOffset(probe.stats().buckets)) / C.BLOCK_UNIT;
  probe.close();
  return Store.create({ buffer: new SharedArrayBuffer(size), engine: task.engine, eviction, maxEntries: units });
}

function withoutEviction(size, nextSize) {
  const store = makeStore(size, 'none');
  const live = new Map(); // key number -> value bytes
  let next = 0;
  // With compaction 'sweep', a refused insert is tried once more after a whole sweep (the first
  // refusal in a row only: a sweep right after another finds nothing new).
  let swept = false;
  const insert = (n) => {
    try {
      store.set(NS, keyText(next), TEXT.slice(0, n));
      swept = false;
      return true;
    } catch (err) {
      if (!isFull(err)) throw err;
    }
    if (task.compaction !== 'sweep' || swept) return false;
    swept = true;
    sweep();
    return insert(n);
  };
  const sweeps = { calls: 0, ms: 0, maxMs: 0, moved: 0 };
  const sweep = () => {
    const c = store.compact();
    sweeps.calls++;
    sweeps.ms += c.ms;
    sweeps.maxMs = Math.max(sweeps.maxMs, c.ms);
    sweeps.moved += c.movedEntries;
  };
  // Inserts new keys until REFUSALS_TO_STOP inserts in a row are refused (a refused size is
  // skipped: a cache keeps taking the values that fit); returns the measure at the first refusal.
  const refill = () => {
    let atFirst = null;
    for (let refusedInARow = 0; refusedInARow < REFUSALS_TO_STOP;) {
      const n = nextSize();
      if (!insert(n)) {
        if (atFirst === null) atFirst = measure(store, size, live);
        refusedInARow++;
        continue;
      }
      refusedInARow = 0;
      live.set(next++, n);
    }
    return atFirst;
  };
  const points = [{ point: 'fill', first: refill(), steady: measure(store, size, live) }];
  const r = prng(task.seed + 1);
  for (let round = 1; round <= CHURN_ROUNDS; round++) {
    const keys = [...live.keys()];
    // Fisher-Yates prefix: half the live keys, chosen at random.
    for (let i = 0; i < keys.length >> 1; i++) {
      const j = i + Math.floor(r() * (keys.length - i));
      [keys[i], keys[j]] = [keys[j], keys[i]];
      if (!store.delete(NS, keyText(keys[i]))) throw new Error(`key ${keys[i]} was not there`);
      live.delete(keys[i]);
    }
    if (task.compaction === 'sweep') sweep();
    const first = refill();
    points.push({ point: `churn ${round}`, first, steady: measure(store, size, live) });
  }
  const st = store.stats();
  store.close();
  return { points, compactionStats: { ...sweeps, steps: st.compactionSteps, movedTotal: st.compactionMoved, repairs: st.repairs } };
}

function withEviction(size, nextSize) {
  const store = makeStore(size, 'auto');
  let next = 0;
  let refused = 0;
  const insert = () => {
    try {
      store.set(NS, keyText(next++), TEXT.slice(0, nextSize()));
    } catch (err) {
      if (!isFull(err)) throw err;
      refused++;
    }
  };
  // Until the first eviction; then STREAM_FILLS fills' worth of inserts, measured after each.
  do {
    for (let i = 0; i < INSERTS_PER_CHECK; i++) insert();
  } while (measure(store, size).evictions === 0);
  const fill = next;
  const points = [];
  for (let f = 1; f <= STREAM_FILLS; f++) {
    for (let i = 0; i < fill; i++) insert();
    // The live entries' sizes, read back from the store (evictions chose them).
    const live = new Map(store.entries(NS).map(([k, v]) => [k, v.length]));
    points.push({ point: `stream ${f}×`, steady: { ...measure(store, size, live), refused } });
  }
  store.close();
  return points;
}

const size = task.quick ? 4 << 20 : 32 << 20;
const nextSize = WORKLOADS[task.workload].sizes(task.seed);
const out = task.eviction === 'none' ? withoutEviction(size, nextSize) : { points: withEviction(size, nextSize) };
process.send({ ...task, size, ...out }, () => process.exit(0));
