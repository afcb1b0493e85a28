'use strict';
// One case of bench/eviction.js in its own process: { kind: 'miss', workload, policy } replays a
// request sequence against one cache and reports its miss ratio; { kind: 'latency', engine }
// times get hits in an evicting store and in one that never evicts. Reports one IPC message.
const { LRUCache } = require('lru-cache');
const { Store } = require('../..');
const { entriesOffset } = require('../../lib/layout/layout');
const { workload } = require('./eviction-cases');

const task = JSON.parse(process.argv[2]);
const VALUE = 'v'.repeat(8);

// A store whose entry count (not its space) is what fills: every key here takes one small block
// (a 28-byte header, a short key and 8 value bytes), far less than the 128 bytes per entry given.
const BYTES_PER_ENTRY = 128;
function cacheStore(engine, entries, eviction) {
  let buckets = 1;
  while (buckets < entries / 2) buckets *= 2;
  const size = entriesOffset(buckets) + entries * BYTES_PER_ENTRY + (1 << 16);
  return Store.create({ buffer: new SharedArrayBuffer(size), engine, buckets, maxEntries: entries, eviction });
}

// A plain FIFO: evicts in insertion order, hits do not reorder.
class Fifo {
  constructor(max) {
    this.max = max;
    this.map = new Map();
  }
  get(k) {
    const e = this.map.get(k);
    if (e === undefined) return undefined;
    if (e.exp !== 0 && e.exp <= Date.now()) {
      this.map.delete(k);
      return undefined;
    }
    return e.v;
  }
  set(k, v, ttl) {
    if (!this.map.has(k) && this.map.size >= this.max) this.map.delete(this.map.keys().next().value);
    this.map.set(k, { v, exp: ttl ? Date.now() + ttl : 0 });
  }
}

// { get(key), set(key, ttl) } of a policy holding at most `cache` entries.
function adapter(policy, cache) {
  switch (policy) {
    case 'lru-cache': {
      const lru = new LRUCache({ max: cache });
      return { get: (k) => lru.get(k), set: (k, ttl) => lru.set(k, VALUE, ttl ? { ttl } : undefined) };
    }
    case 'fifo': {
      const f = new Fifo(cache);
      return { get: (k) => f.get(k), set: (k, ttl) => f.set(k, VALUE, ttl) };
    }
    case 'shmstore-native':
    case 'shmstore-js': {
      const s = cacheStore(policy.slice('shmstore-'.length), cache, 'clock');
      return {
        get: (k) => s.get('c', k),
        set: (k, ttl) => s.set('c', k, VALUE, ttl ? { ttl } : undefined),
        stats: () => s.stats().namespaceStats.c,
      };
    }
    default:
      throw new Error(`unknown policy ${policy}`);
  }
}

function missRatio() {
  const { cache, seq, ttl } = workload(task.workload, task.quick);
  const a = adapter(task.policy, cache);
  const keys = new Map();
  const keyOf = (n) => {
    let k = keys.get(n);
    if (k === undefined) keys.set(n, (k = `k${n}`));
    return k;
  };
  let misses = 0;
  for (let i = 0; i < seq.length; i++) {
    const k = keyOf(seq[i]);
    if (a.get(k) === undefined) {
      misses++;
      a.set(k, ttl ? ttl(seq[i]) : 0);
    }
  }
  return { missRatio: misses / seq.length, requests: seq.length, cache, stats: a.stats ? a.stats() : null };
}

const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];

// ns taken by one get of each of keys[from..to) (all resident).
function timeGets(s, keys, from, to) {
  let found = 0;
  const t0 = process.hrtime.bigint();
  for (let i = from; i < to; i++) if (s.get('c', keys[i]) !== undefined) found++;
  const ns = Number(process.hrtime.bigint() - t0);
  if (found !== to - from) throw new Error(`${to - from - found} misses among resident keys`);
  return ns;
}

// Gets a store's turn takes in the latency case: some 0.3 to 0.6 ms, long enough that the two
// clock reads around it do not count, short next to how fast this machine's speed drifts.
const CHUNK = 1000;

function shuffle(a) {
  let x = 12345;
  for (let i = a.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) >>> 0;
    const j = x % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function latency() {
  const { engine, entries, churn } = task;
  const rounds = task.quick ? 5 : task.rounds;
  const evicting = cacheStore(engine, entries, 'clock');
  const none = cacheStore(engine, entries, 'none');
  for (let i = 0; i < entries; i++) {
    evicting.set('c', `k${i}`, VALUE);
    none.set('c', `k${i}`, VALUE);
  }
  const out = { evicting: [], none: [], ratios: [] };
  let next = entries;
  for (let r = 0; r <= rounds; r++) {
    // Untimed churn: the evicting store inserts new keys (each insert evicts one entry and the
    // hand clears marks on its way); the other replaces as many existing keys.
    for (let i = 0; i < churn; i++) evicting.set('c', `k${next++}`, VALUE);
    for (let i = 0; i < churn; i++) none.set('c', `k${(r * churn + i) % entries}`, VALUE);
    const ek = shuffle(evicting.keys('c'));
    const nk = shuffle(none.keys('c'));
    // Both full, with as many entries each: every key is timed below.
    if (ek.length !== entries || nk.length !== entries) throw new Error(`${ek.length} and ${nk.length} keys, not ${entries}`);
    // The two stores take turns by chunks of CHUNK gets (which goes first alternates by chunk,
    // and by round),
    // so that both see the same states of the machine, whose speed drifts within a round here:
    // a pass over one store and then the other compared two moments as much as two stores.
    const t = { evicting: 0, none: 0 };
    for (let at = 0; at < entries; at += CHUNK) {
      const order = (r + at / CHUNK) % 2 ? [['evicting', evicting, ek], ['none', none, nk]] : [['none', none, nk], ['evicting', evicting, ek]];
      for (const [name, s, keys] of order) t[name] += timeGets(s, keys, at, Math.min(entries, at + CHUNK));
    }
    if (r > 0) { // round 0 is the warm-up
      out.evicting.push(t.evicting / entries);
      out.none.push(t.none / entries);
      out.ratios.push(t.evicting / t.none);
    }
  }
  return { evicting: median(out.evicting), none: median(out.none), ratio: median(out.ratios), rounds };
}

// One 1 MiB set into a full store of small entries (eviction-cases.js ROOM).
function room() {
  const { unitsForLarge } = require('../../lib/store/js/large');
  const { classFor } = require('../../lib/store/js/alloc');
  const { C, CLASS_UNITS } = require('../../lib/layout/layout');
  const { engine, mib, pinEvery, read } = task;
  const small = 'v'.repeat(100);
  const keyOf = (i) => `k${String(i).padStart(12, '0')}`;
  const s = Store.create({ buffer: new SharedArrayBuffer(mib << 20), engine, maxEntries: 200000, eviction: 'auto' });
  s.namespace('pinned', { eviction: 'none' });
  const pinned = (i) => pinEvery !== 0 && i % pinEvery === 0;
  let n = 0;
  while (s.stats().entries === n) {
    s.set(pinned(n) ? 'pinned' : 'c', keyOf(n), small);
    n++;
  }
  let seed = 7;
  const readKeys = [];
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    if (!pinned(i) && seed / 0x7fffffff < read && s.get('c', keyOf(i)) !== undefined) readKeys.push(keyOf(i));
  }
  const before = s.stats().namespaceStats.c.evictions;
  const entryUnits = CLASS_UNITS[classFor(C.ENTRY_HEADER_SIZE + keyOf(0).length + small.length)];
  const writers = task.writers || 1;
  const report = (ms) => ({
    evicted: s.stats().namespaceStats.c.evictions - before,
    needed: writers * Math.ceil(unitsForLarge(1 << 20) / entryUnits),
    read: readKeys.length,
    readEvicted: readKeys.filter((k) => s.get('c', k) === undefined).length,
    ms,
    sound: s.verify().errors.length === 0,
  });
  if (writers === 1) {
    const t0 = process.hrtime.bigint();
    s.set('c', 'big', Buffer.alloc(1 << 20, 1));
    return report(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return twoWriters(s, engine, writers).then(report);
}

// `writers` worker threads attach store `s` and, all started, each set a 1 MiB value of the
// pinned namespace at once. Resolves with the milliseconds from the start to the last set's end.
function twoWriters(s, engine, writers) {
  const { Worker } = require('worker_threads');
  const go = new Int32Array(new SharedArrayBuffer(8));
  const code = `
    const { workerData, parentPort } = require('worker_threads');
    const { Store } = require(workerData.lib);
    const s = Store.attach(workerData.buffer, { engine: workerData.engine });
    const go = workerData.go;
    Atomics.add(go, 0, 1);
    while (Atomics.load(go, 0) < workerData.writers);
    s.set('pinned', 'big' + workerData.i, Buffer.alloc(1 << 20, 1));
    s.close();
    parentPort.postMessage(0);
  `;
  const lib = require.resolve('../..');
  const t0 = process.hrtime.bigint();
  const runs = Array.from({ length: writers }, (_, i) => new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { lib, buffer: s.buffer, engine, go, i, writers } });
    w.once('message', resolve);
    w.once('error', reject);
  }));
  return Promise.all(runs).then(() => Number(process.hrtime.bigint() - t0) / 1e6);
}

Promise.resolve(task.kind === 'latency' ? latency() : task.kind === 'room' ? room() : missRatio())
  .then((result) => process.send(result, () => process.exit(0)));
