'use strict';
// require('shmstore/metrics') (docs/api.md, Metrics): a real prom-client Registry scraped after
// known operations shows exactly what store.stats() reports, per store and per namespace, on
// both engines and after writes by another process; a dropped namespace's series go; a u32
// counter that wraps goes on growing; bad arguments; a missing prom-client.
const assert = require('assert');
const { spawn, spawnSync } = require('child_process');
const prom = require('prom-client');
const { storeMetrics } = require('shmstore/metrics');
const { Store } = require('shmstore');
const { forEachEngine } = require('../helpers/engines');
const { ROOT, uniqueName, removeShm, requireWithout } = require('../helpers/process');
const { AT, BASE } = require('../../lib/layout/layout');
const lw = require('../../lib/ownership/lockword');
const { OwnerTable, identityOf } = require('../../lib/ownership/owners');

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

// The u32 counters of the metadata that wrap (format.md §4), by their stats() field: the word of
// each, and the series that exports its running total.
const WRAPPING = {
  repairs: [AT.REPAIR_STATE.REPAIRS, 'repairs_total'],
  evictionTurns: [AT.EVICT_STATE.TURNS, 'eviction_turns_total'],
  compactionSweeps: [AT.COMPACT_STATE.SWEEPS, 'compaction_sweeps_total'],
  compactionSteps: [AT.COMPACT_STATE.STEPS, 'compaction_steps_total'],
  compactionMoved: [AT.COMPACT_STATE.MOVED, 'compaction_moved_entries_total'],
  compactionMerged: [AT.COMPACT_STATE.MERGED, 'compaction_merged_runs_total'],
};
const U32_RANGE = 2 ** 32;

// Waits until Date.now() > t (bounded: the expiries of these tests are under a second away).
async function until(t) {
  const limit = Date.now() + 10000;
  while (Date.now() <= t) {
    assert.ok(Date.now() < limit, 'the clock did not reach the expiry');
    await new Promise((r) => setTimeout(r, Math.max(1, Math.min(50, t - Date.now() + 1))));
  }
}

/**
 * The series the collector must show for one store, from a stats() snapshot (its wrapping
 * counters as stats() reports them: what a collector shows until it has seen one wrap).
 */
function expected(s, label, prefix = 'shmstore_') {
  const l = `{store=${label}}`;
  const pool = s.bytesLive + s.bytesFree;
  const want = {
    [`${prefix}entries${l}`]: s.entries,
    [`${prefix}max_entries${l}`]: s.maxEntries,
    [`${prefix}buckets${l}`]: s.buckets,
    [`${prefix}namespaces${l}`]: s.namespaces,
    [`${prefix}size_bytes${l}`]: s.bytesTotal,
    [`${prefix}live_bytes${l}`]: s.bytesLive,
    [`${prefix}free_bytes${l}`]: s.bytesFree,
    [`${prefix}free_list_bytes${l}`]: s.bytesFreeLists,
    [`${prefix}tail_bytes${l}`]: s.bytesTail,
    [`${prefix}fragmentation_ratio${l}`]: s.fragmentation,
    [`${prefix}fill_ratio${l}`]: s.bytesLive / pool,
    [`${prefix}entries_fill_ratio${l}`]: s.entries / s.maxEntries,
    [`${prefix}reads_total${l}`]: s.reads,
    [`${prefix}writes_total${l}`]: s.writes,
    [`${prefix}largest_free_bytes${l}`]: s.bytesLargestFree,
    [`${prefix}parked_bytes${l}`]: s.bytesParked,
    [`${prefix}up${l}`]: 1,
  };
  for (const [field, [, series]] of Object.entries(WRAPPING)) want[`${prefix}${series}${l}`] = s[field];
  for (const [ns, n] of Object.entries(s.namespaceCounts)) want[`${prefix}namespace_entries{store=${label},namespace=${ns}}`] = n;
  for (const [ns, n] of Object.entries(s.namespaceStats)) {
    const nl = `{store=${label},namespace=${ns}}`;
    want[`${prefix}namespace_hits_total${nl}`] = n.hits;
    want[`${prefix}namespace_misses_total${nl}`] = n.misses;
    want[`${prefix}namespace_evictions_total${nl}`] = n.evictions;
    want[`${prefix}namespace_expirations_total${nl}`] = n.expirations;
    want[`${prefix}namespace_bytes${nl}`] = n.bytes;
  }
  return want;
}

forEachEngine('shmstore/metrics', ({ make }) => {
  it('a scrape shows exactly the stats after known writes, deletes and reads, per namespace', async function () {
    const store = make({ size: 1 << 21 });
    for (let i = 0; i < 50; i++) store.set('users', `u${i}`, { i });
    for (let i = 0; i < 20; i++) store.set('sessions', `s${i}`, 'x'.repeat(300));
    for (let i = 0; i < 10; i++) store.delete('users', `u${i}`);
    for (let i = 0; i < 30; i++) store.get('users', `u${i}`);
    const registry = new prom.Registry();
    storeMetrics(store, { registry, name: 'cache' });
    const got = await scrape(registry);
    const s = store.stats();
    assert.strictEqual(s.entries, 60);
    assert.deepStrictEqual(s.namespaceCounts, { users: 40, sessions: 20 });
    assert.strictEqual(s.writes, 80); // 70 sets and 10 deletes
    assert.strictEqual(s.reads, 30);
    assert.ok(s.bytesFreeLists > 0, 'the deletes left blocks on the free lists');
    assert.deepStrictEqual(got, expected(s, 'cache'));
  });

  it('per namespace and store-wide, the cache figures equal stats() after known hits, misses, evictions and expirations in two namespaces', async function () {
    // Two tenants of a store of 40 entries that evicts: 'tenant-a' expires by its namespace's
    // default TTL, 'tenant-b' by each entry's own expiry.
    const store = make({ size: 1 << 21, maxEntries: 40, buckets: 64, eviction: 'auto' });
    store.namespace('tenant-a', { ttl: 300 });
    for (let i = 0; i < 10; i++) store.set('tenant-a', `e${i}`, 'a'.repeat(20));
    const exp = Date.now() + 300; // not before any expiry of tenant-a
    for (let i = 0; i < 10; i++) store.set('tenant-b', `e${i}`, 'b'.repeat(30), { expiresAt: exp });
    for (let i = 0; i < 6; i++) assert.strictEqual(store.get('tenant-a', `e${i}`), 'a'.repeat(20));
    for (let i = 0; i < 4; i++) assert.strictEqual(store.has('tenant-b', `e${i}`), true);
    for (let i = 0; i < 3; i++) store.get('tenant-a', `none${i}`);
    for (let i = 0; i < 5; i++) store.get('tenant-b', `none${i}`);
    await until(exp);
    // Two reads that find an expired entry: two misses and two expirations of tenant-a. The
    // other 18 expired entries go to the inserts' sweep and the hand.
    for (let i = 0; i < 2; i++) assert.strictEqual(store.get('tenant-a', `e${i}`), undefined);
    // 60 lasting entries into 40 places: the hand evicts from both tenants.
    for (let i = 0; i < 30; i++) {
      store.set('tenant-a', `k${i}`, i, { ttl: 600e3 });
      store.set('tenant-b', `k${i}`, i);
    }
    for (let i = 0; i < 30; i++) {
      store.get('tenant-a', `k${i}`);
      store.get('tenant-b', `k${i}`);
    }
    const registry = new prom.Registry();
    storeMetrics(store, { registry, name: 'cache' });
    const got = await scrape(registry);
    const s = store.stats();
    const a = s.namespaceStats['tenant-a'];
    const b = s.namespaceStats['tenant-b'];
    for (const [ns, n, hits, misses] of [['tenant-a', a, 6, 3 + 2], ['tenant-b', b, 4, 5]]) {
      assert.strictEqual(n.expirations, 10, ns);
      assert.ok(n.evictions > 0, `${ns}: ${n.evictions} evictions`);
      assert.strictEqual(n.count + n.evictions, 30, `${ns}: every lasting entry is live or evicted`);
      // The last reads hit the live entries and miss the evicted ones.
      assert.strictEqual(n.hits, hits + n.count, ns);
      assert.strictEqual(n.misses, misses + n.evictions, ns);
      assert.ok(n.bytes > 0, ns);
    }
    assert.deepStrictEqual(got, expected(s, 'cache'));
    assert.strictEqual(got['shmstore_namespace_expirations_total{store=cache,namespace=tenant-a}'], 10);
    assert.strictEqual(got['shmstore_namespace_hits_total{store=cache,namespace=tenant-b}'], b.hits);
    // Compaction's counters: those of the one sweep compact() reports.
    const r = store.compact();
    const after = await scrape(registry);
    assert.strictEqual(after['shmstore_compaction_sweeps_total{store=cache}'], 1);
    assert.strictEqual(after['shmstore_compaction_steps_total{store=cache}'], r.steps);
    assert.strictEqual(after['shmstore_compaction_moved_entries_total{store=cache}'], r.movedEntries);
    assert.strictEqual(after['shmstore_compaction_merged_runs_total{store=cache}'], r.mergedRuns);
    assert.deepStrictEqual(after, expected(store.stats(), 'cache'));
  });

  it('a namespace dropped between scrapes leaves every per-namespace series; created again, its series go on from where they were', async function () {
    const store = make({ eviction: 'auto' });
    for (const ns of ['gone', 'kept']) {
      store.set(ns, 'k', 'v');
      store.get(ns, 'k');
      store.get(ns, 'none');
    }
    const registry = new prom.Registry();
    storeMetrics(store, { registry, name: 'cache' });
    const ofGone = (got) => Object.keys(got).filter((k) => k.includes('namespace=gone')).sort();
    let got = await scrape(registry);
    assert.deepStrictEqual(ofGone(got), ['bytes', 'entries', 'evictions_total', 'expirations_total', 'hits_total', 'misses_total']
      .map((x) => `shmstore_namespace_${x}{store=cache,namespace=gone}`));
    assert.strictEqual(got['shmstore_namespace_hits_total{store=cache,namespace=gone}'], 1);
    assert.strictEqual(got['shmstore_namespace_misses_total{store=cache,namespace=gone}'], 1);
    assert.strictEqual(store.dropNamespace('gone'), 1);
    got = await scrape(registry);
    assert.deepStrictEqual(ofGone(got), []);
    assert.deepStrictEqual(got, expected(store.stats(), 'cache'));
    assert.strictEqual(got['shmstore_namespace_hits_total{store=cache,namespace=kept}'], 1);
    store.set('gone', 'k2', 'v');
    assert.strictEqual(store.get('gone', 'k'), undefined);
    got = await scrape(registry);
    // The store's counters of the new namespace start at 0; the series add them to the old ones.
    assert.deepStrictEqual([store.stats().namespaceStats.gone.hits, store.stats().namespaceStats.gone.misses], [0, 1]);
    assert.strictEqual(got['shmstore_namespace_hits_total{store=cache,namespace=gone}'], 1);
    assert.strictEqual(got['shmstore_namespace_misses_total{store=cache,namespace=gone}'], 2);
    assert.strictEqual(got['shmstore_namespace_entries{store=cache,namespace=gone}'], 1);
  });

  it('a namespace dropped and created again between two scrapes, counting past its old totals: its counters never go back nor lose counts', async function () {
    const store = make({});
    const registry = new prom.Registry();
    storeMetrics(store, { registry, name: 'c' });
    const series = async () => {
      const got = await scrape(registry);
      return ['hits', 'misses'].map((f) => got[`shmstore_namespace_${f}_total{store=c,namespace=x}`]);
    };
    const count = (hits, misses) => {
      store.set('x', 'k', 1);
      for (let i = 0; i < hits; i++) store.get('x', 'k');
      for (let i = 0; i < misses; i++) store.get('x', 'none');
    };
    count(2, 1);
    assert.deepStrictEqual(await series(), [2, 1]);
    // Dropped and created again in the same record (same id, next generation): 5 hits and 3
    // misses of the new life, more than the 2 and 1 seen, which a plain export would show as 5
    // and 3, an advance of 3 and 2 to Prometheus instead of 5 and 3.
    const before = store.stats().namespaceStats.x;
    store.dropNamespace('x');
    count(5, 3);
    const life2 = store.stats().namespaceStats.x;
    assert.deepStrictEqual([life2.id, life2.generation, life2.hits, life2.misses], [before.id, before.generation + 1, 5, 3]);
    assert.deepStrictEqual(await series(), [7, 4]);
    // Again, now recreated in another record (the old one taken by another namespace first), with
    // fewer counts than before: still added, never a step back.
    store.dropNamespace('x');
    store.set('other', 'k', 1);
    count(1, 0);
    assert.notStrictEqual(store.stats().namespaceStats.x.id, life2.id);
    assert.deepStrictEqual(await series(), [8, 4]);
    // Within one life the series follow the store's counters.
    count(1, 1);
    assert.deepStrictEqual(await series(), [9, 5]);
  });

  it('the totals of namespaces no longer live are kept for 4096 names per store, those absent longest forgotten first', async function () {
    const store = make({ buckets: 64 });
    const registry = new prom.Registry();
    storeMetrics(store, { registry, name: 'c' });
    const hits = registry.getSingleMetric('shmstore_namespace_hits_total');
    const hitsOf = async (ns) => (await hits.get()).values.find((x) => x.labels.namespace === ns)?.value;
    // A namespace per "session": one hit each, seen by one scrape, then dropped.
    const session = async (ns) => {
      store.set(ns, 'k', 1);
      store.get(ns, 'k');
      const n = await hitsOf(ns);
      store.dropNamespace(ns);
      return n;
    };
    for (let i = 0; i <= 4097; i++) await session(`s${i}`);
    // s0 was absent longest when the 4097th absent name came: forgotten, it starts over; s1 went
    // when s0 came back, s2 is still known and goes on from its total.
    assert.strictEqual(await session('s0'), 1);
    assert.strictEqual(await session('s2'), 2);
  });

  it('options.namespaces: false registers no per-namespace series, a function keeps the namespaces it accepts', async function () {
    const store = make({});
    for (const ns of ['tenant:1', 'tenant:2', 'system']) store.set(ns, 'k', 'v');
    const perNs = (got) => Object.keys(got).filter((k) => k.includes('namespace=')).sort();
    const none = new prom.Registry();
    storeMetrics(store, { registry: none, name: 'c', namespaces: false });
    let got = await scrape(none);
    assert.deepStrictEqual(perNs(got), []);
    assert.ok(!(await none.getMetricsAsJSON()).some((m) => m.name.startsWith('shmstore_namespace_')));
    // The store-wide series are all there.
    const all = expected(store.stats(), 'c');
    for (const k of Object.keys(all).filter((x) => !x.includes('namespace='))) assert.strictEqual(got[k], all[k], k);
    const some = new prom.Registry();
    const asked = new Set();
    storeMetrics(store, { registry: some, name: 'c', namespaces: (ns) => asked.add(ns) && ns.startsWith('tenant:') });
    got = await scrape(some);
    assert.deepStrictEqual([...asked].sort(), ['system', 'tenant:1', 'tenant:2']);
    assert.deepStrictEqual(perNs(got).filter((k) => k.includes('system')), []);
    assert.deepStrictEqual(perNs(got).filter((k) => k.startsWith('shmstore_namespace_entries')),
      ['shmstore_namespace_entries{store=c,namespace=tenant:1}', 'shmstore_namespace_entries{store=c,namespace=tenant:2}']);
    assert.strictEqual(perNs(got).length, 12); // 6 kinds for each of the 2 tenants
  });

  it('a u32 counter that wraps between scrapes goes on growing: each scrape adds its advance modulo 2^32', async function () {
    const store = make({ size: 1 << 20, maxEntries: 400, buckets: 256, eviction: 'auto' });
    // Every wrapping counter one below 2^32, as in a store that has run for long.
    const u32 = new Uint32Array(store.buffer);
    const start = U32_RANGE - 1;
    for (const [word] of Object.values(WRAPPING)) Atomics.store(u32, word, start);
    const registry = new prom.Registry();
    storeMetrics(store, { registry, name: 'cache' });
    let got = await scrape(registry);
    for (const [, series] of Object.values(WRAPPING)) assert.strictEqual(got[`shmstore_${series}{store=cache}`], start, series);
    // Evictions turn the hand; deletes leave holes that a compaction sweep fills and merges.
    for (let i = 0; i < 2000; i++) store.set('n', `k${i}`, 'x'.repeat(i % 5 === 0 ? 700 : 60));
    for (let i = 1600; i < 2000; i += 2) store.delete('n', `k${i}`);
    store.repair(); // one more repair pass
    const r = store.compact();
    const s = store.stats();
    got = await scrape(registry);
    for (const [field, [, series]] of Object.entries(WRAPPING)) {
      assert.ok(s[field] < start, `${field} wrapped: stats() reports ${s[field]}`);
      assert.strictEqual(got[`shmstore_${series}{store=cache}`], U32_RANGE + s[field], series);
    }
    assert.strictEqual(got['shmstore_compaction_steps_total{store=cache}'], start + r.steps);
    assert.strictEqual(got['shmstore_compaction_sweeps_total{store=cache}'], start + 1);
    // A scrape with nothing counted since leaves the totals as they are; a later advance adds to them.
    got = await scrape(registry);
    for (const [field, [, series]] of Object.entries(WRAPPING)) assert.strictEqual(got[`shmstore_${series}{store=cache}`], U32_RANGE + s[field], series);
    const r2 = store.compact();
    got = await scrape(registry);
    assert.strictEqual(got['shmstore_compaction_steps_total{store=cache}'], start + r.steps + r2.steps);
    assert.strictEqual(got['shmstore_compaction_sweeps_total{store=cache}'], start + 2);
  });

  it('every scrape is fresh, several stores share one registry by label, and a closed store drops out', async function () {
    const a = make();
    const b = make();
    const registry = new prom.Registry();
    storeMetrics(new Map([['a', a], ['b', b]]), { registry, prefix: 'app_' });
    a.set('n', 'k', 1);
    let got = await scrape(registry);
    assert.strictEqual(got['app_entries{store=a}'], 1);
    assert.strictEqual(got['app_entries{store=b}'], 0);
    b.setMany('m', [['x', 1], ['y', 2]]);
    got = await scrape(registry); // right after the last one: no turn of the event loop between
    assert.strictEqual(got['app_entries{store=b}'], 2);
    got = await scrape(registry);
    assert.deepStrictEqual(got, { ...expected(a.stats(), 'a', 'app_'), ...expected(b.stats(), 'b', 'app_') });
    b.close();
    got = await scrape(registry);
    assert.deepStrictEqual(Object.keys(got).filter((k) => k.includes('store=b')), []);
    assert.strictEqual(got['app_entries{store=a}'], 1);
  });

  it('a store whose stats() fails is left out of that scrape with up 0 and an error counted; the others and later scrapes go on', async function () {
    this.timeout(20000);
    // A live other process holds the store's allocator lock, which stats() takes: past ten
    // lockTimeoutMs it fails with ERR_LOCK_TIMEOUT.
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
    try {
      const stuck = make({ lockTimeoutMs: 5 });
      const fine = make();
      stuck.set('n', 'k', 1);
      fine.set('n', 'k', 1);
      const registry = new prom.Registry();
      storeMetrics({ stuck, fine }, { registry });
      const u32 = new Uint32Array(stuck.buffer);
      const slot = new OwnerTable(u32, BASE.OWNER).claim(identityOf(child.pid, 1));
      assert.ok(lw.tryLock(u32, AT.ALLOC_STATE.LOCK, slot));
      assert.throws(() => stuck.stats(), { code: 'ERR_LOCK_TIMEOUT' });
      for (const n of [1, 2]) {
        const got = await scrape(registry);
        assert.deepStrictEqual(Object.keys(got).filter((k) => k.includes('store=stuck')).sort(), [
          'shmstore_stats_errors_total{store=stuck,code=ERR_LOCK_TIMEOUT}', 'shmstore_up{store=stuck}',
        ]);
        assert.strictEqual(got['shmstore_up{store=stuck}'], 0);
        assert.strictEqual(got['shmstore_stats_errors_total{store=stuck,code=ERR_LOCK_TIMEOUT}'], n);
        assert.deepStrictEqual(withoutErrors(got, 'stuck'), expected(fine.stats(), 'fine'));
      }
      // The text format too: registry.metrics() resolves.
      assert.match(await registry.metrics(), /shmstore_up\{store="stuck"\} 0/);
      lw.unlock(u32, AT.ALLOC_STATE.LOCK, slot);
      const got = await scrape(registry);
      assert.strictEqual(got['shmstore_up{store=stuck}'], 1);
      assert.strictEqual(got['shmstore_entries{store=stuck}'], 1);
      assert.strictEqual(got['shmstore_stats_errors_total{store=stuck,code=ERR_LOCK_TIMEOUT}'], 3, 'a counter keeps its total');
    } finally {
      child.kill('SIGKILL');
    }
  });
});

// The series of a scrape without those of store `label` and without any error counter.
function withoutErrors(got, label) {
  return Object.fromEntries(Object.entries(got).filter(([k]) => !k.includes(`store=${label}`) && !k.includes('stats_errors_total')));
}

describe('shmstore/metrics across processes and arguments', function () {
  it('counts the entries and writes another process made in a named store', async function () {
    const name = uniqueName('metrics');
    const store = Store.create({ name, size: 1 << 20 });
    try {
      const registry = new prom.Registry();
      storeMetrics(store, { registry });
      const script = `const { Store } = require('shmstore'); const s = Store.open({ name: ${JSON.stringify(name)} });
        for (let i = 0; i < 25; i++) s.set('remote', 'k' + i, i); s.close();`;
      const r = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60000 });
      assert.strictEqual(r.status, 0, r.stderr);
      const got = await scrape(registry);
      assert.strictEqual(got['shmstore_entries{store=default}'], 25);
      assert.strictEqual(got['shmstore_writes_total{store=default}'], 25);
      assert.strictEqual(got['shmstore_namespace_entries{store=default,namespace=remote}'], 25);
    } finally {
      store.close();
      removeShm(name);
    }
  });

  it('unregister() removes every series; registering twice in one registry is refused (RangeError, ERR_INVALID_ARG)', async function () {
    const store = Store.create({ buffer: new SharedArrayBuffer(1 << 20) });
    const registry = new prom.Registry();
    const m = storeMetrics(store, { registry });
    const names = (await registry.getMetricsAsJSON()).map((x) => x.name);
    assert.throws(() => storeMetrics(store, { registry }), { name: 'RangeError', code: 'ERR_INVALID_ARG', message: /"shmstore_entries" is already registered/ });
    assert.deepStrictEqual((await registry.getMetricsAsJSON()).map((x) => x.name), names);
    m.unregister();
    assert.deepStrictEqual(await registry.getMetricsAsJSON(), []);
    storeMetrics(store, { registry }).unregister();
    store.close();
  });

  it('unregister() called again leaves alone the metrics of the same names that another call registered since', async function () {
    const store = Store.create({ buffer: new SharedArrayBuffer(1 << 20) });
    const registry = new prom.Registry();
    const old = storeMetrics(store, { registry, name: 'old' });
    old.unregister();
    const now = storeMetrics(store, { registry, name: 'now' });
    old.unregister();
    const series = await scrape(registry);
    assert.strictEqual(series['shmstore_entries{store=now}'], 0);
    assert.strictEqual((await registry.getMetricsAsJSON()).length, now.metrics.length);
    now.unregister();
    assert.deepStrictEqual(await registry.getMetricsAsJSON(), []);
    store.close();
  });

  it('a name taken in the registry part way through refuses the whole call: nothing of it stays registered', async function () {
    const store = Store.create({ buffer: new SharedArrayBuffer(1 << 20) });
    const registry = new prom.Registry();
    // Taken by another collector: a name after the first ones storeMetrics registers.
    for (const taken of ['shmstore_namespace_entries', 'shmstore_ops_timed_total', 'shmstore_writes_total', 'shmstore_parked_bytes',
      'shmstore_compaction_merged_runs_total', 'shmstore_namespace_hits_total', 'shmstore_namespace_bytes']) {
      const other = new prom.Gauge({ name: taken, help: 'someone else\'s', registers: [registry] });
      assert.throws(() => storeMetrics(store, { registry }), { name: 'RangeError', code: 'ERR_INVALID_ARG', message: new RegExp(taken) });
      assert.deepStrictEqual((await registry.getMetricsAsJSON()).map((x) => x.name), [taken]);
      assert.strictEqual(registry.getSingleMetric(taken), other);
      registry.removeSingleMetric(taken);
    }
    // With the name free again, the same call registers everything.
    const m = storeMetrics(store, { registry });
    assert.strictEqual((await registry.getMetricsAsJSON()).length, m.metrics.length);
    m.unregister();
    store.close();
  });

  it('bad arguments are TypeErrors with code ERR_INVALID_ARG and register nothing', async function () {
    const store = Store.create({ buffer: new SharedArrayBuffer(1 << 20) });
    const registry = new prom.Registry();
    const bad = [
      [undefined, {}], [{}, {}], [{ a: {} }, {}], [new Map([['', store]]), {}],
      [store, { registry: {} }], [store, { prefix: 'no spaces' }], [store, { name: '' }], [store, { unknown: 1 }],
      [store, { namespaces: 'tenant:' }], [store, { namespaces: null }],
    ];
    for (const [stores, options] of bad) {
      assert.throws(() => storeMetrics(stores, { registry, ...options }), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG',
        `${typeof stores} ${JSON.stringify(options)}`);
    }
    assert.throws(() => storeMetrics(store, null), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG');
    assert.deepStrictEqual(await registry.getMetricsAsJSON(), []);
    store.close();
  });

  it('an option given as undefined is one not given, whatever its name (options spread from a configuration)', async function () {
    const store = Store.create({ buffer: new SharedArrayBuffer(1 << 20) });
    const registry = new prom.Registry();
    const m = storeMetrics(store, { registry, prefix: undefined, name: 'cache', latency: undefined, labels: undefined });
    const entries = (await registry.getMetricsAsJSON()).find((x) => x.name === 'shmstore_entries');
    assert.deepStrictEqual(entries.values.map((x) => x.labels), [{ store: 'cache' }]);
    m.unregister();
    // A misspelt option that holds a value is still refused.
    assert.throws(() => storeMetrics(store, { registry, prefx: 'app_' }), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG');
    assert.deepStrictEqual(await registry.getMetricsAsJSON(), []);
    store.close();
  });

  it('a stats() that fails with an error other than a store error fails that scrape only: the next scrape reads the store again', async function () {
    const store = Store.create({ buffer: new SharedArrayBuffer(1 << 20) });
    const registry = new prom.Registry();
    storeMetrics(store, { registry, name: 'cache' });
    store.set('n', 'a', 1);
    // An unexpected failure of one scrape (not a ShmError: it is thrown, as documented).
    const stats = store.stats;
    store.stats = () => {
      store.stats = stats;
      throw new Error('unexpected');
    };
    await assert.rejects(scrape(registry), /unexpected/);
    store.set('n', 'b', 2);
    // The next scrape, at once and later, shows the store as it is, not the failed scrape's
    // partial snapshot.
    for (const later of [false, true]) {
      if (later) await new Promise((r) => setTimeout(r, 10));
      const got = await scrape(registry);
      assert.strictEqual(got['shmstore_entries{store=cache}'], 2);
      assert.strictEqual(got['shmstore_up{store=cache}'], 1);
    }
    store.close();
  });

  it('without prom-client installed, require(\'shmstore/metrics\') throws ERR_PEER_MISSING naming it', function () {
    const out = requireWithout('shmstore/metrics', ['prom-client']);
    assert.match(out.message, /npm install prom-client/);
  });
});
