'use strict';
// `require('shmstore/metrics')`: a prom-client collector of store statistics. Nothing is counted
// on the store's hot path: every scrape calls `store.stats()` once per store (docs/api.md,
// store.stats) and hands the numbers to prom-client. Any process attached to a store can scrape
// it; the entry, byte and namespace figures are the store's own, the read and write totals and
// the namespaces' cache counts those flushed by every handle (they grow when a handle calls
// stats() or close(), and once a second while it is open). Latency series (./latency.js) are per
// handle: this process's handles, plus the snapshots options.latency returns.
const { Store } = require('../../store/store');
const { ShmError } = require('../../base/errors');
const v = require('../../base/validate');
const { requirePeer } = require('../peer');
const { latencyMetrics, mergedOf, timedTotals, checkSource } = require('./latency');

const prom = requirePeer('prom-client', 'metrics');

// The counters of the metadata that are u32 and wrap at 2^32 (format.md §4, RepairState.repairs,
// EvictState.turns and CompactState): [stats() field]. A Prometheus counter must never go back within a series, so each
// is exported as this collector's running total of it (runningTotals, below).
const WRAPPING = ['repairs', 'evictionTurns', 'compactionSweeps', 'compactionSteps', 'compactionMoved', 'compactionMerged'];
const U32_RANGE = 2 ** 32;

// [suffix, help, kind, value from a stats() snapshot and the running totals of its wrapping
// counters]. Counters never go back: the store's monotonic totals, or the running totals of its
// wrapping ones; everything else is a gauge.
const SERIES = [
  ['entries', 'Live entries in the store.', 'gauge', (s) => s.entries],
  ['max_entries', 'Live entries the store allows.', 'gauge', (s) => s.maxEntries],
  ['buckets', 'Hash buckets of the store.', 'gauge', (s) => s.buckets],
  ['namespaces', 'Live namespaces of the store.', 'gauge', (s) => s.namespaces],
  ['size_bytes', 'Bytes of the whole store (header, tables and entry pool).', 'gauge', (s) => s.bytesTotal],
  ['live_bytes', 'Bytes of the allocated entry blocks.', 'gauge', (s) => s.bytesLive],
  ['free_bytes', 'Bytes of the entry pool that are free (free lists and never-used tail).', 'gauge', (s) => s.bytesFree],
  ['free_list_bytes', 'Bytes of freed blocks waiting on the free lists.', 'gauge', (s) => s.bytesFreeLists],
  ['tail_bytes', 'Bytes of the entry pool never used yet.', 'gauge', (s) => s.bytesTail],
  ['fragmentation_ratio', 'Free bytes on free lists over all free bytes (0 to 1).', 'gauge', (s) => s.fragmentation],
  ['fill_ratio', 'Allocated bytes of the entry pool over the whole pool (0 to 1).', 'gauge', fillOf],
  ['entries_fill_ratio', 'Live entries over the entries allowed (0 to 1).', 'gauge', (s) => s.entries / s.maxEntries],
  ['repairs_total', 'Repair passes run on the store since it was created (running total of a u32 that wraps).', 'counter', (s, t) => t.repairs],
  ['reads_total', 'Reads by every handle, as flushed by each handle\'s last stats() or close().', 'counter', (s) => s.reads],
  ['writes_total', 'Writes by every handle, as flushed by each handle\'s last stats() or close().', 'counter', (s) => s.writes],
  ['largest_free_bytes', 'Bytes of the largest contiguous free space (a free large block, or the tail).', 'gauge', (s) => s.bytesLargestFree],
  ['parked_bytes', 'Bytes of the blocks the exporting handle keeps for its next writes (counted in live_bytes).', 'gauge', (s) => s.bytesParked],
  ['eviction_turns_total', 'Turns of the eviction hand round the entry pool (running total of a u32 that wraps).', 'counter', (s, t) => t.evictionTurns],
  ['compaction_sweeps_total', 'Compaction sweeps of the pool completed (running total of a u32 that wraps).', 'counter', (s, t) => t.compactionSweeps],
  ['compaction_steps_total', 'Compaction steps started (running total of a u32 that wraps).', 'counter', (s, t) => t.compactionSteps],
  ['compaction_moved_entries_total', 'Entries moved by compaction (running total of a u32 that wraps).', 'counter', (s, t) => t.compactionMoved],
  ['compaction_merged_runs_total', 'Runs of free blocks merged by compaction (running total of a u32 that wraps).', 'counter', (s, t) => t.compactionMerged],
];

// The series per namespace: [suffix, help, kind, field of stats().namespaceStats[name]]. The
// counters are u64 in the namespace's policy record (format.md §5), which a creation zeroes: they
// start over when a namespace is dropped and created again, so each is exported as this
// collector's running total per namespace name (namespaceTotals, below).
const NS_SERIES = [
  ['namespace_hits_total', 'Lookups (get, has) that found a live entry, per namespace.', 'counter', 'hits'],
  ['namespace_misses_total', 'Lookups (get, has) that found nothing or an expired entry, per namespace.', 'counter', 'misses'],
  ['namespace_evictions_total', 'Entries removed by the eviction hand, per namespace.', 'counter', 'evictions'],
  ['namespace_expirations_total', 'Expired entries removed (by the hand, the sweep or a reader), per namespace.', 'counter', 'expirations'],
  ['namespace_bytes', 'Key and value bytes of the live entries, per namespace.', 'gauge', 'bytes'],
];

// The namespaces not live at a scrape whose running totals a collector keeps per store.
const ABSENT_NAMES = 4096;
const NS_COUNTERS = NS_SERIES.filter(([, , kind]) => kind === 'counter').map(([, , , field]) => field);

function fillOf(s) {
  const pool = s.bytesLive + s.bytesFree;
  return pool ? s.bytesLive / pool : 0;
}

// The stores to export as [label, Store] pairs: one Store (label `name`), a Map or a plain
// object of label → Store.
function storesOf(stores, name) {
  if (stores instanceof Store) return [[name, stores]];
  const pairs = stores instanceof Map ? [...stores] : (stores !== null && typeof stores === 'object' ? Object.entries(stores) : null);
  if (pairs === null || pairs.length === 0) throw v.invalidType('stores', 'a Store, or a Map or object of names to Stores', stores);
  for (const [label, s] of pairs) {
    if (typeof label !== 'string' || label === '') throw v.invalidType('stores', 'keyed by non-empty strings', label);
    if (!(s instanceof Store)) throw v.invalidType(`stores.${label}`, 'a Store', s);
  }
  return pairs;
}

const OPTION_KEYS = ['registry', 'prefix', 'name', 'latency', 'namespaces'];

// Registers the store metrics in `options.registry` (prom-client's default registry when
// omitted) and returns { metrics, unregister }. Every series has the label `store`.
function storeMetrics(stores, options = {}) {
  v.validateObject(options, 'options');
  v.validateGivenKeys(options, 'options', OPTION_KEYS);
  const registry = options.registry === undefined ? prom.register : options.registry;
  if (!(registry instanceof prom.Registry)) throw v.invalidType('options.registry', 'a prom-client Registry', registry);
  const prefix = options.prefix === undefined ? 'shmstore_' : options.prefix;
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$|^$/.test(prefix)) {
    throw v.invalidType('options.prefix', 'a Prometheus metric name prefix', prefix);
  }
  const name = options.name === undefined ? 'default' : options.name;
  if (typeof name !== 'string' || name === '') throw v.invalidType('options.name', 'a non-empty string', name);
  const pairs = storesOf(stores, name);
  checkSource(options.latency);
  // Which namespaces get series of their own: every one (true), none (false: no namespace_*
  // series at all), or those a function of the name accepts. A store of tens of thousands of
  // namespaces makes as many series of each kind, more than a Prometheus server may want.
  const nsOption = options.namespaces === undefined ? true : options.namespaces;
  if (typeof nsOption !== 'boolean' && typeof nsOption !== 'function') {
    throw v.invalidType('options.namespaces', 'a boolean or a function', nsOption);
  }
  const nsWanted = nsOption === true ? () => true : nsOption;

  // One stats() per store per scrape: prom-client calls every metric's collect() in one
  // synchronous pass (registry.metrics(), getMetricsAsJSON()), so a snapshot taken by the first
  // is reused by the others of that pass only.
  let snapshot = null;
  let latencies = null;
  // The stores whose stats() failed in this scrape ([label, code]), and the failures of every
  // scrape so far ({ labels, n } by label and code: the counter's monotonic totals).
  let failed = [];
  const failures = new Map();
  // The running totals of the wrapping counters, by store label: { last, total } per field. The
  // first scrape that reads a store starts each total at the stats() value; every later one adds
  // the counter's advance since the scrape before, modulo 2^32, so a wrap adds what was counted
  // across it instead of sending the series back. Exact as long as a counter advances by less than
  // 2^32 between two scrapes that read the store (a scrape that fails leaves the totals as they
  // were, and the next one adds the whole advance).
  const running = new Map();
  const runningTotals = (label, s) => {
    let r = running.get(label);
    if (r === undefined) running.set(label, (r = {}));
    const totals = {};
    for (const f of WRAPPING) {
      const raw = s[f];
      const c = r[f];
      if (c === undefined) r[f] = { last: raw, total: raw };
      else {
        // raw and c.last are in [0, 2^32): their difference, taken modulo 2^32, is the advance.
        c.total += (raw - c.last + U32_RANGE) % U32_RANGE;
        c.last = raw;
      }
      totals[f] = r[f].total;
    }
    return totals;
  };
  // The running totals of the namespace counters, by store label and namespace name: { id,
  // generation, last, base } with last and base per counter. The series of a name must not go
  // back when the namespace is dropped and created again between two scrapes (its counters
  // start over at 0, and may have counted past the last value seen before the next scrape, which
  // Prometheus would take for an advance of the difference, not a reset). So the first scrape
  // that sees a name starts its totals at the stats() values; a later one that sees another life
  // of the namespace ((id, generation) of namespaceStats changed) or a counter below the last
  // value seen adds that last value to the counter's base. A name dropped keeps its totals for
  // when it is created again, up to ABSENT_NAMES names per store not live at the last scrape
  // (those absent longest are forgotten first): a store whose namespaces come and go (one per
  // session) would otherwise grow this map for ever.
  const nsRunning = new Map();
  let scrapes = 0;
  const namespaceTotals = (label, s) => {
    let byName = nsRunning.get(label);
    if (byName === undefined) nsRunning.set(label, (byName = new Map()));
    scrapes += 1;
    const totals = new Map();
    for (const [ns, n] of Object.entries(s.namespaceStats)) {
      if (!nsWanted(ns)) continue;
      let r = byName.get(ns);
      if (r === undefined) {
        r = { id: n.id, generation: n.generation, last: {}, base: {}, seen: 0 };
        for (const f of NS_COUNTERS) [r.last[f], r.base[f]] = [0, 0];
        byName.set(ns, r);
      }
      r.seen = scrapes;
      const newLife = r.id !== n.id || r.generation !== n.generation;
      const t = {};
      for (const f of NS_COUNTERS) {
        if (newLife || n[f] < r.last[f]) r.base[f] += r.last[f];
        r.last[f] = n[f];
        t[f] = r.base[f] + n[f];
      }
      r.id = n.id;
      r.generation = n.generation;
      totals.set(ns, t);
    }
    if (byName.size > totals.size + ABSENT_NAMES) {
      const absent = [...byName].filter(([, r]) => r.seen !== scrapes).sort((a, b) => a[1].seen - b[1].seen);
      for (const [ns] of absent.slice(0, absent.length - ABSENT_NAMES)) byName.delete(ns);
    }
    return totals;
  };
  // Forgotten in a microtask: after the synchronous pass that collects every metric of one
  // scrape, and before anything can change the stores or scrape again (a second scrape right
  // after `await registry.metrics()` sees fresh numbers, which a later macrotask would not give).
  // Queued before a snapshot is taken, not after: a pass that throws part way (an error that is
  // no store error, a failing options.latency) leaves its partial snapshot to no later scrape.
  let clearing = false;
  const clearSoon = () => {
    if (clearing) return;
    clearing = true;
    queueMicrotask(() => {
      clearing = false;
      snapshot = null;
      latencies = null;
      timed = null;
    });
  };
  // A store error (a lock held past its timeout by a live process, a damaged store) leaves that
  // store out of this scrape and counts against it, instead of failing the scrape: the registry
  // serves the application's other metrics too, and `up` 0 says which store could not answer.
  const snap = () => {
    if (snapshot === null) {
      clearSoon();
      snapshot = [];
      failed = [];
      for (const [label, s] of pairs) {
        if (s.closed) continue;
        let stats;
        try {
          stats = s.stats();
        } catch (err) {
          if (!(err instanceof ShmError)) throw err;
          failed.push([label, err.code]);
          const key = JSON.stringify([label, err.code]);
          let f = failures.get(key);
          if (f === undefined) failures.set(key, (f = { labels: { store: label, code: err.code }, n: 0 }));
          f.n += 1;
          continue;
        }
        snapshot.push([label, stats, runningTotals(label, stats), nsOption === false ? null : namespaceTotals(label, stats)]);
      }
    }
    return snapshot;
  };
  // The running totals of ops_timed_total (latency.js, timedTotals): taken once per scrape, with
  // the merged snapshots, and only once every label's snapshots were merged (a bad snapshot
  // fails the scrape before any total moves).
  const timedTotalsOf = timedTotals();
  let timed = null;
  const latencySnap = () => {
    if (latencies === null) {
      clearSoon();
      const found = pairs.map(([label, s]) => [label, mergedOf(label, s, options.latency)]);
      latencies = [];
      timed = [];
      for (const [label, m] of found) {
        const totals = timedTotalsOf(label, m === null ? null : m.snaps);
        // A label whose sources have all left keeps its running total: a counter that vanished
        // from a scrape would come back as a new series, and Prometheus would count it anew.
        if (Object.keys(totals).length > 0) timed.push([label, totals]);
        if (m === null) continue;
        latencies.push([label, m.merged]);
      }
    }
    return latencies;
  };
  const timedSnap = () => {
    latencySnap();
    return timed;
  };

  const metrics = SERIES.map(([suffix, help, kind, valueOf]) => {
    const Metric = kind === 'counter' ? prom.Counter : prom.Gauge;
    return new Metric({
      name: prefix + suffix, help, labelNames: ['store'], registers: [],
      collect() {
        this.reset();
        for (const [label, s, totals] of snap()) {
          if (kind === 'counter') this.inc({ store: label }, valueOf(s, totals));
          else this.set({ store: label }, valueOf(s, totals));
        }
      },
    });
  });
  if (nsOption !== false) metrics.push(...namespaceMetrics(prom, prefix, snap));
  metrics.push(new prom.Gauge({
    name: `${prefix}up`, help: 'Whether the store answered stats() in this scrape (1), or failed with a store error (0).',
    labelNames: ['store'], registers: [],
    collect() {
      this.reset();
      for (const [label] of snap()) this.set({ store: label }, 1);
      for (const [label] of failed) this.set({ store: label }, 0);
    },
  }));
  metrics.push(new prom.Counter({
    name: `${prefix}stats_errors_total`, help: 'Scrapes in which the store\'s stats() failed, by error code.',
    labelNames: ['store', 'code'], registers: [],
    collect() {
      this.reset();
      snap();
      for (const { labels, n } of failures.values()) this.inc(labels, n);
    },
  }));
  metrics.push(...latencyMetrics(prom, prefix, latencySnap, timedSnap));
  // All or nothing: the metrics are made unregistered and every name is checked before any is
  // registered, so that a refused call leaves the registry as it was (prom-client, registering
  // each metric as it is made, refuses a taken name only once the metrics before it are in).
  const taken = metrics.find((m) => registry.getSingleMetric(m.name) !== undefined);
  if (taken !== undefined) {
    throw v.rangeError(`The metric "${taken.name}" is already registered in the registry: give another "options.prefix", ` +
      'or unregister() the metrics registered before');
  }
  for (const m of metrics) registry.registerMetric(m);
  // Only this call's metrics: once they are removed, another collector may register the same
  // names, and a second unregister() must leave its metrics alone.
  const unregister = () => {
    for (const m of metrics) if (registry.getSingleMetric(m.name) === m) registry.removeSingleMetric(m.name);
  };
  return { metrics, unregister };
}

// The per-namespace series (namespace_entries and NS_SERIES) of the namespaces the scrape's
// snapshot `snap()` has running totals of (those options.namespaces accepts).
function namespaceMetrics(prom, prefix, snap) {
  const metrics = [new prom.Gauge({
    name: `${prefix}namespace_entries`, help: 'Live entries per namespace.',
    labelNames: ['store', 'namespace'], registers: [],
    collect() {
      this.reset();
      for (const [label, s, , nsTotals] of snap()) {
        for (const [ns, n] of Object.entries(s.namespaceCounts)) if (nsTotals.has(ns)) this.set({ store: label, namespace: ns }, n);
      }
    },
  })];
  // Reset and refilled on each scrape, as namespace_entries: a namespace dropped since the last
  // scrape is in neither namespaceCounts nor namespaceStats, so its series go.
  for (const [suffix, help, kind, field] of NS_SERIES) {
    const Metric = kind === 'counter' ? prom.Counter : prom.Gauge;
    metrics.push(new Metric({
      name: prefix + suffix, help, labelNames: ['store', 'namespace'], registers: [],
      collect() {
        this.reset();
        for (const [label, s, , nsTotals] of snap()) {
          for (const [ns, n] of Object.entries(s.namespaceStats)) {
            const totals = nsTotals.get(ns);
            if (totals === undefined) continue; // not wanted
            if (kind === 'counter') this.inc({ store: label, namespace: ns }, totals[field]);
            else this.set({ store: label, namespace: ns }, n[field]);
          }
        }
      },
    }));
  }
  return metrics;
}

module.exports = { storeMetrics };
