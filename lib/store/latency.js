'use strict';
// Opt-in latency histograms of a store handle (docs/api.md, "Latency histograms").
//
// Enabling puts an instrumented copy of each timed method on the *instance*, in front of the
// class's method; disabling deletes those own properties again. The class's methods never test
// whether latency is on, so a handle without it runs exactly the code it ran before this file
// existed. Each handle records into histograms in its own JS heap: no shared-memory write per
// operation. A snapshot is plain data (JSON, structured clone) that another thread or process can
// receive and merge with mergeLatency().
const { performance } = require('perf_hooks');
const v = require('../base/validate');
const { Histogram, BUCKETS, SUB_BITS } = require('./histogram');

// The store methods timed, each under its own name. A set or setMany whose expiry has already
// passed deletes: that counts as the set (setMany) alone, whose time includes the delete.
const KINDS = Object.freeze(['get', 'has', 'ttl', 'set', 'delete', 'clear', 'keys', 'entries', 'count', 'getMany', 'setMany']);
const FORMAT = 1;
const QUANTILES = Object.freeze([['p50', 0.5], ['p95', 0.95], ['p99', 0.99], ['p999', 0.999]]);

const now = () => performance.now(); // the cheapest monotonic clock of Node (tens of ns)

// One timed method: the class's method, then one record in nanoseconds, also when it throws.
// Every timed method takes at most 4 arguments, none of them looks at arguments.length, and an
// absent optional argument is undefined either way: a fixed arity avoids a rest array per call.
function timed(method, h) {
  return function timedMethod(a, b, c, d) {
    const t0 = now();
    try {
      return method.call(this, a, b, c, d);
    } finally {
      h.record((now() - t0) * 1e6);
    }
  };
}

// A method that returns a Promise: the time until it settles (a wait included), also when the
// call throws at once or the Promise rejects.
function timedAsync(method, h) {
  return function timedAsyncMethod(a, b, c, d) {
    const t0 = now();
    const done = () => h.record((now() - t0) * 1e6);
    let p;
    try {
      p = method.call(this, a, b, c, d);
    } catch (err) {
      done();
      throw err;
    }
    return Promise.resolve(p).then((x) => {
      done();
      return x;
    }, (err) => {
      done();
      throw err;
    });
  };
}

/** The summary of one histogram: { count, min, mean, p50, p95, p99, p999, max, sum } in ns. */
function summaryOf(h) {
  const s = { count: h.count, min: h.count ? h.min : 0, mean: h.count ? h.sum / h.count : 0 };
  for (const [name, q] of QUANTILES) s[name] = h.quantile(q);
  s.max = h.max;
  s.sum = h.sum;
  return s;
}

function checkOp(o, where) {
  v.validateObject(o, where);
  for (const f of ['count', 'sum', 'min', 'max']) {
    if (typeof o[f] !== 'number' || !(o[f] >= 0) || !Number.isFinite(o[f])) throw v.invalidType(`${where}.${f}`, 'a finite number >= 0', o[f]);
  }
  if (!Array.isArray(o.buckets)) throw v.invalidType(`${where}.buckets`, 'an array of [index, count] pairs', o.buckets);
  let total = 0;
  for (const b of o.buckets) {
    if (!Array.isArray(b) || b.length !== 2 || !Number.isInteger(b[0]) || b[0] < 0 || b[0] >= BUCKETS ||
        !Number.isInteger(b[1]) || b[1] < 1) {
      throw v.invalidType(`${where}.buckets`, `made of [index 0..${BUCKETS - 1}, count >= 1] pairs`, b);
    }
    total += b[1];
  }
  if (total !== o.count) throw v.rangeError(`The "${where}.count" argument (${o.count}) must equal the sum of its bucket counts (${total})`);
}

/**
 * The latency functions of one kind of handle: `kinds` are the names of its synchronous methods
 * to time, `asyncKinds` those that return a Promise. `what` names the method that makes a
 * snapshot, for messages. The same functions serve the store (below) and the message queues
 * (lib/msg/latency.js); a snapshot of one kind of handle never merges with another's (its
 * operation names differ).
 */
function latencyFor(kinds, asyncKinds = [], what = 'store.latency()') {
  const all = Object.freeze([...kinds, ...asyncKinds]);
  const isAsync = new Set(asyncKinds);

  function snapshotOf(hists, since) {
    const ops = {};
    for (const kind of all) {
      const h = hists[kind];
      ops[kind] = { ...summaryOf(h), buckets: h.toJSON().buckets };
    }
    return { format: FORMAT, unit: 'ns', subBucketBits: SUB_BITS, since, ops };
  }

  /** Turns on latency recording on `handle` (idempotent). */
  function enable(handle) {
    if (handle._latency) return;
    const hists = {};
    for (const kind of all) {
      hists[kind] = new Histogram();
      // The method as the handle's class resolves it (a subclass may override some).
      handle[kind] = (isAsync.has(kind) ? timedAsync : timed)(handle[kind], hists[kind]);
    }
    handle._latency = { hists, since: Date.now() };
  }

  /** Turns it off: the instance falls back to its class's methods. */
  function disable(handle) {
    if (!handle._latency) return;
    for (const kind of all) delete handle[kind];
    handle._latency = null;
  }

  /** A snapshot of `handle`'s histograms, or null when latency is off; `reset` starts them over. */
  function snapshot(handle, reset) {
    const l = handle._latency;
    if (!l) return null;
    const snap = snapshotOf(l.hists, l.since);
    if (reset) {
      for (const kind of all) l.hists[kind].reset();
      l.since = Date.now();
    }
    return snap;
  }

  /**
   * Merges snapshots (of any handles, threads or processes) into one: the snapshot of the union
   * of their recorded values. null entries (handles without latency) are skipped.
   */
  function mergeLatency(snapshots) {
    if (!Array.isArray(snapshots)) throw v.invalidType('snapshots', 'an array of latency snapshots', snapshots);
    const hists = {};
    for (const kind of all) hists[kind] = new Histogram();
    let since = Infinity;
    snapshots.forEach((s, i) => {
      if (s === null) return;
      const where = `snapshots[${i}]`;
      v.validateObject(s, where);
      if (s.format !== FORMAT || s.subBucketBits !== SUB_BITS || s.unit !== 'ns') {
        throw v.invalidType(where, `a latency snapshot of format ${FORMAT} (${what})`, s);
      }
      v.validateObject(s.ops, `${where}.ops`);
      for (const kind of Object.keys(s.ops)) {
        if (!all.includes(kind)) throw v.rangeError(`The "${where}.ops" argument has an unknown operation '${kind}'`);
        checkOp(s.ops[kind], `${where}.ops.${kind}`);
        hists[kind].add(s.ops[kind]);
      }
      if (typeof s.since === 'number' && s.since < since) since = s.since;
    });
    return snapshotOf(hists, Number.isFinite(since) ? since : Date.now());
  }

  return { enable, disable, snapshot, mergeLatency, KINDS: all };
}

/**
 * Gives `Class` the methods over `family` (latencyFor()'s) that a handle with latency histograms
 * has: enableLatency(), disableLatency(), latencyEnabled, latency({ reset }) and the static
 * mergeLatency(snapshots). `usable(handle)` runs first in enableLatency() and latency(): it
 * throws ERR_CLOSED for a closed handle. The store and the queues (lib/msg/latency.js) use it.
 */
function installLatency(Class, family, usable) {
  Object.defineProperties(Class.prototype, {
    enableLatency: {
      value: function enableLatency() {
        usable(this);
        family.enable(this);
        return this;
      },
      writable: true,
      configurable: true,
    },
    disableLatency: {
      value: function disableLatency() {
        family.disable(this);
        return this;
      },
      writable: true,
      configurable: true,
    },
    latencyEnabled: {
      get() {
        return Boolean(this._latency);
      },
      configurable: true,
    },
    latency: {
      value: function latency(options) {
        usable(this);
        if (options !== undefined) {
          v.validateObject(options, 'options');
          v.validateKeys(options, 'options', ['reset']);
          if (options.reset !== undefined) v.validateBoolean(options.reset, 'options.reset');
        }
        return family.snapshot(this, Boolean(options && options.reset));
      },
      writable: true,
      configurable: true,
    },
  });
  Object.defineProperty(Class, 'mergeLatency', { value: family.mergeLatency, writable: true, configurable: true });
}

const store = latencyFor(KINDS);

module.exports = { ...store, latencyFor, installLatency };
