'use strict';
// Latency histograms (docs/api.md, "Latency histograms"): quantiles of a known distribution
// within the documented 1/256 relative error, merging equals the histogram of the union, a
// handle without latency has no instrumented method of its own, bad arguments.
const assert = require('assert');
const path = require('path');
const { Worker } = require('worker_threads');
const { Store } = require('../../lib/store/store');
const { Histogram, MAX, indexOf, rangeOf } = require('../../lib/store/histogram');
const { KINDS } = require('../../lib/store/latency');
const { forEachEngine } = require('../helpers/engines');
const { prng } = require('../helpers/prng');

const REL = 1 / 256;

// The exact q-quantile of sorted values, by the definition the histogram uses (the
// ceil(q·n)-th smallest).
function exact(sorted, q) {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];
}

function within(got, want, what) {
  assert.ok(Math.abs(got - want) <= want * REL + 1e-9, `${what}: ${got} is not within 1/256 of ${want}`);
}

describe('latency histogram', function () {
  it('every value falls in its bucket, and buckets tile the range without gaps', function () {
    let prevHigh = 0;
    for (let i = 0; i < indexOf(MAX) + 1; i++) {
      const [low, high] = rangeOf(i);
      assert.strictEqual(low, prevHigh, `bucket ${i} starts where ${i - 1} ends`);
      assert.ok(high - low <= Math.max(1, low / 128), `bucket ${i} is at most 1/128 of its low bound wide`);
      assert.strictEqual(indexOf(low), i);
      assert.strictEqual(indexOf(high - 1), i);
      prevHigh = high;
    }
    assert.strictEqual(prevHigh, MAX + 1);
  });

  it('quantiles of a log-normal sample are within 1/256 of the exact ones; min, max, mean exact', function () {
    const rnd = prng(7);
    const h = new Histogram();
    const values = [];
    for (let i = 0; i < 200000; i++) {
      // Box-Muller: a log-normal around 1 µs with a long tail, up to seconds.
      const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
      const x = Math.round(Math.exp(7 + 2.5 * z));
      values.push(x);
      h.record(x);
    }
    values.sort((a, b) => a - b);
    for (const q of [0.001, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999]) within(h.quantile(q), exact(values, q), `q=${q}`);
    assert.strictEqual(h.min, values[0]);
    assert.strictEqual(h.max, values[values.length - 1]);
    assert.strictEqual(h.sum, values.reduce((a, b) => a + b, 0));
    assert.strictEqual(h.quantile(1), h.max);
  });

  it('adding the plain data of histograms gives exactly the histogram of the union of their values', function () {
    const rnd = prng(11);
    const parts = [new Histogram(), new Histogram(), new Histogram()];
    const union = new Histogram();
    for (let i = 0; i < 50000; i++) {
      const x = Math.floor(rnd() ** 4 * 1e8);
      parts[Math.floor(rnd() * 3)].record(x);
      union.record(x);
    }
    const merged = new Histogram();
    for (const p of parts) merged.add(JSON.parse(JSON.stringify(p.toJSON())));
    assert.deepStrictEqual(merged.toJSON(), union.toJSON());
    for (const q of [0.5, 0.95, 0.99, 0.999]) assert.strictEqual(merged.quantile(q), union.quantile(q));
  });

  it('values below 256 are exact; negative, fractional and huge values are clamped or rounded', function () {
    const h = new Histogram();
    for (let i = 1; i <= 100; i++) h.record(i);
    assert.strictEqual(h.quantile(0.5), 50);
    assert.strictEqual(h.quantile(0.99), 99);
    const g = new Histogram();
    g.record(-5);
    g.record(2.6);
    g.record(1e20);
    assert.strictEqual(g.min, 0);
    assert.strictEqual(g.max, MAX);
    assert.strictEqual(g.quantile(0.5), 3);
    assert.strictEqual(new Histogram().quantile(0.5), 0);
  });
});

forEachEngine('store latency', ({ make }) => {
  it('a handle without the option has no instrumented method of its own and latency() is null', function () {
    const s = make();
    assert.strictEqual(s.latencyEnabled, false);
    assert.strictEqual(s.latency(), null);
    for (const k of KINDS) {
      assert.ok(!Object.prototype.hasOwnProperty.call(s, k), `${k} is not an own property`);
      assert.strictEqual(s[k], Store.prototype[k]);
    }
    s.enableLatency();
    for (const k of KINDS) assert.notStrictEqual(s[k], Store.prototype[k], `${k} is instrumented`);
    s.disableLatency();
    for (const k of KINDS) assert.strictEqual(s[k], Store.prototype[k], `${k} back to the class's method`);
    assert.strictEqual(s.latency(), null);
  });

  it('the instrumented copy passes every argument: no timed method declares more than 4', function () {
    for (const k of KINDS) assert.ok(Store.prototype[k].length <= 4, `${k} declares ${Store.prototype[k].length}`);
    const s = make({ latency: true });
    s.set('n', 'k', 'v', { ttl: 60000 });
    assert.ok(s.ttl('n', 'k') > 0 && s.ttl('n', 'k') <= 60000, 'the fourth argument reached set');
    s.setMany('n', [['a', 1]], { ttl: 60000 });
    assert.ok(s.ttl('n', 'a') <= 60000, 'the third argument reached setMany');
    assert.strictEqual(s.count(), 2, 'count() without a namespace counts every entry');
  });

  it('counts every operation by kind, also those that throw, and reset starts over', function () {
    const s = make({ latency: true });
    const ns = s.namespace('view');
    for (let i = 0; i < 50; i++) s.set('n', `k${i}`, i);
    for (let i = 0; i < 30; i++) s.get('n', `k${i}`);
    ns.set('a', 1); // a view calls the store's methods
    s.has('n', 'k1');
    s.delete('n', 'k1');
    s.getMany('n', ['k2', 'k3']);
    s.setMany('n', [['x', 1]]);
    // Expired when set: a delete, counted as the set (setMany) that made it.
    s.set('n', 'k4', 'gone', { expiresAt: 1 });
    s.setMany('n', [['k5', 1], ['k6', 1]], { expiresAt: 1 });
    assert.strictEqual(s.has('n', 'k4'), false);
    assert.strictEqual(s.has('n', 'k5'), false);
    assert.throws(() => s.get('n', 42), TypeError);
    const snap = s.latency({ reset: true });
    assert.strictEqual(snap.unit, 'ns');
    assert.strictEqual(snap.ops.set.count, 52);
    assert.strictEqual(snap.ops.get.count, 31);
    assert.strictEqual(snap.ops.has.count, 3);
    assert.strictEqual(snap.ops.delete.count, 1);
    assert.strictEqual(snap.ops.getMany.count, 1);
    assert.strictEqual(snap.ops.setMany.count, 2);
    assert.strictEqual(snap.ops.clear.count, 0);
    const g = snap.ops.get;
    assert.ok(g.min > 0 && g.min <= g.p50 && g.p50 <= g.p95 && g.p95 <= g.p99 && g.p99 <= g.p999 && g.p999 <= g.max);
    assert.strictEqual(g.mean, g.sum / g.count);
    assert.strictEqual(g.buckets.reduce((a, b) => a + b[1], 0), g.count);
    // Plain data: survives JSON and structured clone unchanged.
    assert.deepStrictEqual(JSON.parse(JSON.stringify(snap)), snap);
    assert.deepStrictEqual(structuredClone(snap), snap);
    assert.strictEqual(s.latency().ops.set.count, 0);
  });

  it('merging the snapshots of several handles equals the histogram of the union of their values', function () {
    const a = make({ latency: true });
    const b = Store.attach(a.buffer, { latency: true, engine: a.engine });
    const c = Store.attach(a.buffer, { engine: a.engine }); // without latency: null, skipped
    try {
      for (let i = 0; i < 300; i++) a.set('n', `a${i}`, 'x'.repeat(i));
      for (let i = 0; i < 200; i++) b.get('n', `a${i}`);
      for (let i = 0; i < 100; i++) b.set('n', `b${i}`, i);
      const sa = a.latency();
      const sb = b.latency();
      const merged = Store.mergeLatency([sa, sb, c.latency()]);
      // Bucket by bucket, the merge is the sum of the two handles' histograms.
      for (const k of KINDS) {
        const want = new Histogram();
        want.add(sa.ops[k]);
        want.add(sb.ops[k]);
        assert.deepStrictEqual(merged.ops[k].buckets, want.toJSON().buckets, k);
        assert.strictEqual(merged.ops[k].count, sa.ops[k].count + sb.ops[k].count);
        assert.strictEqual(merged.ops[k].sum, sa.ops[k].sum + sb.ops[k].sum);
      }
      assert.strictEqual(merged.ops.set.count, 400);
      assert.strictEqual(merged.ops.set.min, Math.min(sa.ops.set.min, sb.ops.set.min));
      assert.strictEqual(merged.ops.set.max, Math.max(sa.ops.set.max, sb.ops.set.max));
      assert.deepStrictEqual(Store.mergeLatency([merged]), merged);
    } finally {
      b.close();
      c.close();
    }
  });

  it('a worker thread\'s snapshot arrives by postMessage and merges with this thread\'s', async function () {
    this.timeout(60000);
    const s = make({ latency: true });
    for (let i = 0; i < 100; i++) s.set('n', `k${i}`, i);
    const code = `const { parentPort, workerData } = require('worker_threads');
      const { Store } = require(workerData.lib);
      const s = Store.attach(workerData.buffer, { engine: workerData.engine, latency: true });
      for (let i = 0; i < 100; i++) if (s.get('n', 'k' + i) !== i) throw new Error('wrong value');
      parentPort.postMessage(s.latency());
      s.close();`;
    const lib = path.join(__dirname, '..', '..', 'lib', 'store', 'store.js');
    const w = new Worker(code, { eval: true, workerData: { lib, buffer: s.buffer, engine: s.engine } });
    const theirs = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no snapshot from the worker in 30 s')), 30000);
      w.once('message', (m) => { clearTimeout(timer); resolve(m); });
      w.once('error', (e) => { clearTimeout(timer); reject(e); });
    });
    await w.terminate();
    const merged = Store.mergeLatency([s.latency(), theirs]);
    assert.strictEqual(theirs.ops.get.count, 100);
    assert.strictEqual(merged.ops.get.count, 100);
    assert.strictEqual(merged.ops.set.count, 100);
    assert.strictEqual(merged.ops.get.max, theirs.ops.get.max);
  });

  it('bad arguments: TypeError or RangeError, and nothing is changed', function () {
    assert.throws(() => make({ latency: 'yes' }), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
    const s = make();
    assert.throws(() => Store.attach(s.buffer, { latency: 1 }), TypeError);
    assert.throws(() => s.latency({ reset: 1 }), TypeError);
    assert.throws(() => s.latency({ rest: true }), TypeError);
    assert.throws(() => s.latency(5), TypeError);
    const l = make({ latency: true });
    l.set('n', 'k', 1);
    const good = l.latency();
    assert.throws(() => Store.mergeLatency(good), TypeError);
    assert.throws(() => Store.mergeLatency([5]), TypeError);
    assert.throws(() => Store.mergeLatency([{ ...good, format: 99 }]), TypeError);
    assert.throws(() => Store.mergeLatency([{ ...good, ops: { nope: good.ops.set } }]), RangeError);
    assert.throws(() => Store.mergeLatency([{ ...good, ops: { set: { ...good.ops.set, count: 7 } } }]), RangeError);
    assert.throws(() => Store.mergeLatency([{ ...good, ops: { set: { ...good.ops.set, buckets: [[1e9, 1]] } } }]), TypeError);
    assert.throws(() => Store.mergeLatency([{ ...good, ops: { set: { ...good.ops.set, min: -1 } } }]), TypeError);
    assert.strictEqual(Store.mergeLatency([]).ops.get.count, 0);
    s.close();
    assert.throws(() => s.enableLatency(), { code: 'ERR_CLOSED' });
    assert.strictEqual(s.latencyEnabled, false);
  });
});
