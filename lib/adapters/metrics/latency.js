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

// The merged snapshot of one label, or null when there is nothing to report.
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
  return Store.mergeLatency(snaps);
}

/**
 * The latency gauges and counter, not registered yet (the caller registers them with the rest);
 * `snap()` gives the [label, merged] pairs of a scrape.
 */
function latencyMetrics(prom, prefix, snap) {
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
      name: `${prefix}ops_timed_total`, help: 'Store operations timed (since latency was enabled or last reset).',
      labelNames: ['store', 'op'], registers: [],
      collect() {
        this.reset();
        each((store, op, s) => this.inc({ store, op }, s.count));
      },
    }),
  ];
}

module.exports = { latencyMetrics, mergedOf, checkSource };
