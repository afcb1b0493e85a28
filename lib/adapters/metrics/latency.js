'use strict';
// The latency series of `require('shmstore/metrics')` (docs/api.md, Metrics): on each scrape,
// the histograms of the handles given (those opened with `latency: true`) merged with any
// snapshots `options.latency(label)` returns (for example those other processes publish), as
// gauges of the quantiles in seconds, Prometheus summary style (label `quantile`, 0 = min,
// 1 = max), plus the mean and the number of operations timed. Quantiles cannot be averaged
// across processes afterwards: that is what merging the snapshots first is for.
const v = require('../../base/validate');
const { Store } = require('../../store/store');

const QUANTILES = [['0', 'min'], ['0.5', 'p50'], ['0.95', 'p95'], ['0.99', 'p99'], ['0.999', 'p999'], ['1', 'max']];
const NS_PER_S = 1e9;

function checkSource(source) {
  if (source !== undefined && typeof source !== 'function') throw v.invalidType('options.latency', 'a function', source);
}

// The merged snapshot of one label and the snapshots merged (nulls left out), or null when there
// is nothing to report.
function mergedOf(label, store, source) {
  const snaps = [];
  if (!store.closed) snaps.push(store.latency());
  if (source) {
    const more = source(label);
    if (more !== undefined && more !== null) {
      if (!Array.isArray(more)) throw v.invalidType('options.latency()', 'an array of latency snapshots', more);
      snaps.push(...more);
    }
  }
  if (snaps.every((s) => s === null)) return null;
  return { merged: Store.mergeLatency(snaps), snaps: snaps.filter((s) => s !== null) };
}

// The lives of latency sources (timedTotals) not seen at a scrape that a collector keeps apart per
// label; those absent longest are folded into the label's retired counts first.
const ABSENT_LIVES = 4096;

/**
 * The running totals of the operations timed, by label: `totals(label, snaps)` gives { op: n }
 * for the snapshots of one scrape (null: the label has none). A Prometheus counter must never go
 * back, and the merged count does: a source leaves (a handle closed, latency disabled, a process
 * that stopped publishing), or a handle's histograms are reset. So each source is followed by
 * its `since`, the life of its histograms (set when latency is enabled and again at each reset),
 * as the namespace counters are by (id, generation): the totals are the last counts seen of every
 * life, present or gone, plus the counts retired. A life that comes back (a snapshot published
 * again) goes on from its last counts instead of being counted twice. Sources of one life
 * (enabled in the same millisecond) are followed as one: a count of theirs below the last one
 * seen (one of them left) retires that last count, and what the others still hold is counted
 * again, never less. Up to ABSENT_LIVES lives not seen at the last scrape are kept per label;
 * older ones are folded into the retired counts (their counts stay in the totals).
 */
function timedTotals() {
  const byLabel = new Map();
  return (label, snaps) => {
    let r = byLabel.get(label);
    if (r === undefined) byLabel.set(label, (r = { lives: new Map(), retired: {}, scrapes: 0 }));
    r.scrapes += 1;
    const retire = (counts) => {
      for (const [op, n] of Object.entries(counts)) r.retired[op] = (r.retired[op] || 0) + n;
    };
    const now = new Map();
    for (const s of snaps || []) {
      const key = String(s.since);
      let counts = now.get(key);
      if (counts === undefined) now.set(key, (counts = {}));
      for (const [op, o] of Object.entries(s.ops)) counts[op] = (counts[op] || 0) + o.count;
    }
    for (const [key, counts] of now) {
      const life = r.lives.get(key);
      if (life !== undefined && Object.entries(life.counts).some(([op, n]) => (counts[op] || 0) < n)) retire(life.counts);
      r.lives.set(key, { counts, seen: r.scrapes });
    }
    if (r.lives.size > now.size + ABSENT_LIVES) {
      const absent = [...r.lives].filter(([, l]) => l.seen !== r.scrapes).sort((a, b) => a[1].seen - b[1].seen);
      for (const [key, l] of absent.slice(0, absent.length - ABSENT_LIVES)) {
        retire(l.counts);
        r.lives.delete(key);
      }
    }
    const totals = { ...r.retired };
    for (const { counts } of r.lives.values()) {
      for (const [op, n] of Object.entries(counts)) totals[op] = (totals[op] || 0) + n;
    }
    return totals;
  };
}

/**
 * The latency gauges and counter, not registered yet (the caller registers them with the rest);
 * `snap()` gives the [label, merged] pairs of a scrape, and `timed()` the [label, totals] pairs
 * (timedTotals) of the labels whose sources ever timed an operation, also once they all left.
 */
function latencyMetrics(prom, prefix, snap, timed) {
  const each = (fn) => {
    for (const [label, merged] of snap()) {
      for (const [op, s] of Object.entries(merged.ops)) if (s.count > 0) fn(label, op, s);
    }
  };
  return [
    new prom.Gauge({
      name: `${prefix}op_latency_seconds`,
      help: 'Latency of store operations timed by handles opened with latency: true (quantile 0 = min, 1 = max).',
      labelNames: ['store', 'op', 'quantile'], registers: [],
      collect() {
        this.reset();
        each((store, op, s) => {
          for (const [quantile, field] of QUANTILES) this.set({ store, op, quantile }, s[field] / NS_PER_S);
        });
      },
    }),
    new prom.Gauge({
      name: `${prefix}op_latency_mean_seconds`, help: 'Mean latency of the timed store operations.',
      labelNames: ['store', 'op'], registers: [],
      collect() {
        this.reset();
        each((store, op, s) => this.set({ store, op }, s.mean / NS_PER_S));
      },
    }),
    new prom.Counter({
      name: `${prefix}ops_timed_total`, help: 'Store operations timed (running total: a source that leaves, or a reset, keeps its counts in it).',
      labelNames: ['store', 'op'], registers: [],
      collect() {
        this.reset();
        for (const [store, totals] of timed()) {
          for (const [op, n] of Object.entries(totals)) if (n > 0) this.inc({ store, op }, n);
        }
      },
    }),
  ];
}

module.exports = { latencyMetrics, mergedOf, timedTotals, checkSource };
