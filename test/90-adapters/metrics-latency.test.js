'use strict';
// require('shmstore/metrics') latency series (docs/api.md, Metrics): a real prom-client Registry
// shows the quantiles, mean and counts of the handles opened with latency: true, a persisted
// store's too, merged with the snapshots another process published; nothing for a handle
// without latency; bad arguments.
const assert = require('assert');
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const prom = require('prom-client');
const { storeMetrics } = require('shmstore/metrics');
const { Store } = require('shmstore');
const { ROOT, uniqueName, removeShm } = require('../helpers/process');

const QUANTILES = { 0: 'min', 0.5: 'p50', 0.95: 'p95', 0.99: 'p99', 0.999: 'p999', 1: 'max' };

/** Scrapes the registry: { 'metric{label=value,...}': number }. */
async function scrape(registry) {
  const out = {};
  for (const m of await registry.getMetricsAsJSON()) {
    for (const s of m.values) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(',');
      out[`${m.name}{${labels}}`] = s.value;
    }
  }
  return out;
}

/** The latency series a merged snapshot must give for `label`. */
function expected(snap, label) {
  const want = {};
  for (const [op, s] of Object.entries(snap.ops)) {
    if (s.count === 0) continue;
    for (const [q, field] of Object.entries(QUANTILES)) want[`shmstore_op_latency_seconds{store=${label},op=${op},quantile=${q}}`] = s[field] / 1e9;
    want[`shmstore_op_latency_mean_seconds{store=${label},op=${op}}`] = s.mean / 1e9;
    want[`shmstore_ops_timed_total{store=${label},op=${op}}`] = s.count;
  }
  return want;
}

const latencyOnly = (got) => Object.fromEntries(Object.entries(got).filter(([k]) => /op_latency|ops_timed/.test(k)));

describe('shmstore/metrics latency', function () {
  this.timeout(120000);

  it('exports exactly the handle\'s histograms; a handle without latency exports none', async function () {
    const a = Store.create({ buffer: new SharedArrayBuffer(1 << 20), latency: true });
    const b = Store.attach(a.buffer);
    try {
      for (let i = 0; i < 100; i++) a.set('n', `k${i}`, i);
      for (let i = 0; i < 60; i++) a.get('n', `k${i}`);
      b.get('n', 'k1');
      const registry = new prom.Registry();
      storeMetrics(new Map([['a', a], ['b', b]]), { registry });
      const got = latencyOnly(await scrape(registry));
      const snap = a.latency();
      assert.strictEqual(snap.ops.set.count, 100);
      assert.deepStrictEqual(got, expected(Store.mergeLatency([snap]), 'a'));
      assert.strictEqual(got['shmstore_ops_timed_total{store=a,op=get}'], 60);
      assert.ok(got['shmstore_op_latency_seconds{store=a,op=get,quantile=0.5}'] > 0);
      // A scrape right after another (no turn of the event loop between) sees what changed.
      for (let i = 0; i < 5; i++) a.get('n', `k${i}`);
      assert.strictEqual(latencyOnly(await scrape(registry))['shmstore_ops_timed_total{store=a,op=get}'], 65);
    } finally {
      b.close();
      a.close();
    }
  });

  it('merges the snapshots another process published in the store with this process\'s handle (persisted store)', async function () {
    const name = uniqueName('metlat');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-metlat-'));
    const store = Store.create({ name, size: 1 << 21, latency: true, persist: { dir, sync: 'none' } });
    let reader = null;
    try {
      for (let i = 0; i < 40; i++) store.set('n', `k${i}`, i);
      // The other process times its own gets and publishes its snapshot as a value of the store.
      const script = `const { Store } = require('shmstore');
        const s = Store.open({ name: ${JSON.stringify(name)}, latency: true, persist: { dir: ${JSON.stringify(dir)} } });
        for (let i = 0; i < 30; i++) s.get('n', 'k' + i);
        s.set('_latency', String(process.pid), s.latency());
        s.close();`;
      const r = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60000 });
      assert.strictEqual(r.status, 0, r.stderr);
      // Read through a handle without latency, so that the scrape itself times nothing.
      reader = Store.open({ name });
      const published = () => reader.entries('_latency').map(([, snap]) => snap);
      const registry = new prom.Registry();
      storeMetrics(store, { registry, name: 'shared', latency: published });
      const got = latencyOnly(await scrape(registry));
      const remote = published();
      assert.strictEqual(remote.length, 1);
      assert.strictEqual(remote[0].ops.get.count, 30);
      const merged = Store.mergeLatency([store.latency(), ...remote]);
      assert.deepStrictEqual(got, expected(merged, 'shared'));
      assert.strictEqual(got['shmstore_ops_timed_total{store=shared,op=get}'], 30);
      assert.strictEqual(got['shmstore_ops_timed_total{store=shared,op=set}'], 40);
    } finally {
      if (reader) reader.close();
      store.close();
      removeShm(name);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // ops_timed_total was the merged count of the scrape's sources: it went back when a source left
  // (a process that stopped publishing, a closed handle) or a handle's histograms were reset,
  // which Prometheus takes for a counter reset. It is now a running total that follows each
  // source by the life of its histograms (its `since`), as the namespace counters are followed by
  // (id, generation).
  it('ops_timed_total never goes back: a source that leaves, comes back, or is reset keeps its counts in the total', async function () {
    const pause = () => new Promise((r) => setTimeout(r, 5)); // another `since` for what follows
    const b = Store.create({ buffer: new SharedArrayBuffer(1 << 20), latency: true });
    await pause();
    const a = Store.attach(b.buffer, { latency: true });
    try {
      a.set('n', 'k', 1);
      for (let i = 0; i < 60; i++) a.get('n', 'k');
      for (let i = 0; i < 30; i++) b.get('n', 'k');
      let published = [b.latency()];
      const registry = new prom.Registry();
      storeMetrics(a, { registry, latency: () => published });
      const gets = async () => (await scrape(registry))['shmstore_ops_timed_total{store=default,op=get}'];
      assert.strictEqual(await gets(), 90);
      published = []; // the other source leaves
      assert.strictEqual(await gets(), 90);
      for (let i = 0; i < 10; i++) b.get('n', 'k');
      published = [b.latency()]; // and comes back, 10 gets further on: counted once
      assert.strictEqual(await gets(), 100);
      await pause();
      a.latency({ reset: true });
      for (let i = 0; i < 5; i++) a.get('n', 'k');
      assert.strictEqual(await gets(), 105);
      a.disableLatency(); // this process's handle leaves
      assert.strictEqual(await gets(), 105);
      assert.strictEqual((await scrape(registry))['shmstore_ops_timed_total{store=default,op=set}'], 1);
      published = []; // and then the other: no source is left, the series stays as it was
      assert.strictEqual(await gets(), 105);
      assert.strictEqual((await scrape(registry))['shmstore_ops_timed_total{store=default,op=set}'], 1);
    } finally {
      a.close();
      b.close();
    }
  });

  it('a scrape that options.latency fails leaves the next one fresh, also when only a latency metric is read', async function () {
    const store = Store.create({ buffer: new SharedArrayBuffer(1 << 20), latency: true });
    try {
      store.set('n', 'k', 1);
      const registry = new prom.Registry();
      let fail = true;
      storeMetrics(store, { registry, latency: () => (fail ? 'not snapshots' : []) });
      // One metric read on its own (prom-client's getSingleMetricAsString), as a whole scrape.
      const read = () => registry.getSingleMetricAsString('shmstore_op_latency_seconds');
      await assert.rejects(read(), TypeError);
      fail = false;
      for (const later of [false, true]) {
        if (later) await new Promise((r) => setTimeout(r, 10));
        assert.match(await read(), /shmstore_op_latency_seconds\{store="default",op="set",quantile="0\.5"\} /);
      }
    } finally {
      store.close();
    }
  });

  it('bad arguments: options.latency not a function, or returning something else than snapshots', async function () {
    const store = Store.create({ buffer: new SharedArrayBuffer(1 << 20), latency: true });
    try {
      const registry = new prom.Registry();
      assert.throws(() => storeMetrics(store, { registry, latency: [] }), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG');
      assert.deepStrictEqual(await registry.getMetricsAsJSON(), []);
      const m = storeMetrics(store, { registry, latency: () => 'nope' });
      await assert.rejects(scrape(registry), TypeError);
      m.unregister();
      storeMetrics(store, { registry, latency: () => [{ format: 1 }] });
      await assert.rejects(scrape(registry), TypeError);
    } finally {
      store.close();
    }
  });
});
