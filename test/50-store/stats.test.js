'use strict';
// store.stats() (docs/api.md): entries, namespace counts, bytes live, free, on free lists and in
// the tail, fragmentation, read and write totals.
const assert = require('assert');
const { C, AT } = require('../../lib/layout/layout');
const v8 = require('v8');
const vm = require('vm');
const { Worker } = require('worker_threads');
const { Store } = require('../../lib/store/store');
const { forEachEngine } = require('../helpers/engines');
const { until } = require('../helpers/process');

forEachEngine('store.stats()', ({ engine, make }) => {
  it('stats() reports entries, bytes and fragmentation', () => {
    const s = make();
    for (let i = 0; i < 100; i++) s.set('s', `k${i}`, 'x'.repeat(100));
    for (let i = 0; i < 50; i++) s.delete('s', `k${i}`);
    s.get('s', 'k60');
    const st = s.stats();
    assert.strictEqual(st.engine, engine);
    assert.strictEqual(st.entries, 50);
    assert.strictEqual(st.namespaces, 1);
    assert.deepStrictEqual(st.namespaceCounts, { s: 50 });
    // Each entry (header, a 2- or 3-byte key, 100 bytes of value: at most 131 bytes) takes a
    // block of 9 units.
    assert.strictEqual(Math.ceil((C.ENTRY_HEADER_SIZE + 3 + 100) / C.BLOCK_UNIT), 9);
    assert.strictEqual(st.bytesFreeLists, 50 * 9 * C.BLOCK_UNIT);
    // bytesLive counts the blocks the inserts' batches left parked for this handle (format.md §8,
    // "Parked blocks"): fewer than one batch.
    assert.ok(st.bytesParked < C.PARK_REFILL * 9 * C.BLOCK_UNIT && st.bytesParked % (9 * C.BLOCK_UNIT) === 0);
    assert.strictEqual(st.bytesLive - st.bytesParked, 50 * 9 * C.BLOCK_UNIT);
    assert.strictEqual(st.bytesFree, st.bytesFreeLists + st.bytesTail);
    assert.ok(st.fragmentation > 0 && st.fragmentation < 1);
    assert.ok(st.writes >= 150 && st.reads >= 1);
  });

  it('an entry of the reference workload (a 14-byte key, a 100-byte value) takes 144 bytes of the pool', () => {
    const s = make();
    for (let i = 0; i < 100; i++) s.set('r', `key:${String(i).padStart(10, '0')}`, 'v'.repeat(100));
    const st = s.stats();
    // 28 + 14 + 100 = 142 bytes in 9 units of 16: 114 of every 144 bytes are payload (0.79).
    assert.strictEqual(st.bytesLive - st.bytesParked, 100 * 144);
    assert.strictEqual(st.namespaceStats.r.bytes, 100 * 114);
  });
});

// What `shmstore top` and a metrics exporter rely on: the counts of a handle that never calls
// stats() or close() (a server that only serves) still reach the shared counters, because every
// open handle flushes them once a second (lib/store/flusher.js).
forEachEngine('counters of a busy handle', ({ engine, make }) => {
  it('reach the shared counters without stats() or close()', async function () {
    this.timeout(30000);
    const s = make();
    const worker = new Worker(`
      const { parentPort, workerData } = require('worker_threads');
      const { Store } = require(${JSON.stringify(require.resolve('../../lib/store/store'))});
      const s = Store.attach(workerData.buffer, { engine: workerData.engine });
      for (let i = 0; i < 50; i++) s.set('busy', 'k' + i, 'v');
      for (let i = 0; i < 100; i++) s.get('busy', 'k' + (i % 60));
      // Neither stats() nor close(): stay alive until terminated.
      parentPort.postMessage('done');
      setInterval(() => {}, 1000);
    `, { eval: true, workerData: { buffer: s.buffer, engine } });
    try {
      await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      const seen = await until(() => {
        const st = s.stats();
        const ns = st.namespaceStats.busy;
        return st.reads >= 100 && st.writes >= 50 && ns && ns.hits === 90 && ns.misses === 10 ? st : null;
      }, 'the worker\'s counts', 10000);
      assert.strictEqual(seen.reads, 100);
      assert.strictEqual(seen.writes, 50);
    } finally {
      await worker.terminate();
    }
  });
});

// The flusher's hold on a handle must not outlive close(): a WeakRef made when the handle was
// created would keep it, and its buffer, until the synchronous run that created it ended, so a
// loop that creates and closes stores over SharedArrayBuffers held every buffer till its end.
forEachEngine('counters: the flusher and closed handles', ({ engine }) => {
  it('a handle closed in the run that created it lets its buffer go at once', () => {
    v8.setFlagsFromString('--expose-gc');
    const full = vm.runInNewContext('gc');
    // Buffers a collection finds dead may be freed by a sweep that goes on after it; the next
    // collection finishes that sweep first, so two in a row leave only what is still held.
    const gc = () => { full(); full(); };
    gc();
    const before = process.memoryUsage().arrayBuffers;
    const BUFFERS = 32;
    const BYTES = 16 << 20;
    for (let i = 0; i < BUFFERS; i++) {
      const s = Store.create({ buffer: new SharedArrayBuffer(BYTES), engine, buckets: 64 });
      s.set('n', 'k', 'v');
      s.close();
    }
    gc();
    const kept = process.memoryUsage().arrayBuffers - before;
    assert.ok(kept < 4 * BYTES, `${kept} bytes of ${BUFFERS} closed stores' buffers still held`);
  });
});

// stats().repairs counts the repair passes that completed (docs/api.md); a pass that failed part way
// (an allocation that threw: ERR_NO_MEMORY) moves gcCounter all the same (format.md §9, step 7) but
// is not counted. The native engine's side is the GoogleTest
// StoreHandles.APassOutOfMemoryAfterItRestoredFreeHeadMovesGcCounter.
describe('store.stats().repairs [js engine]', () => {
  it('counts completed repair passes, not one that failed part way', () => {
    const s = Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine: 'js', buckets: 4 });
    const hb = s._e.heartbeat;
    const work = hb.work;
    try {
      for (let i = 0; i < 20; i++) s.set('a', `k${i}`, `v${i}`);
      s.repair();
      const before = s.stats().repairs;
      assert.strictEqual(before, 1);
      const u32 = new Uint32Array(s.buffer);
      const gc0 = u32[AT.HEADER.GC_COUNTER];
      // The pass's walk of the chains (after it began to change the store) throws.
      hb.work = function () {
        if (new Error().stack.includes('walkChains')) throw new RangeError('Array buffer allocation failed');
        return work.call(this);
      };
      assert.throws(() => s.repair(), { code: 'ERR_NO_MEMORY' });
      hb.work = work;
      assert.strictEqual(u32[AT.HEADER.GC_COUNTER], gc0 + 1, 'the failed pass moved gcCounter');
      assert.strictEqual(s.stats().repairs, before);
      s.repair();
      assert.strictEqual(s.stats().repairs, before + 1);
      for (let i = 0; i < 20; i++) assert.strictEqual(s.get('a', `k${i}`), `v${i}`);
      assert.ok(s.verify().ok);
    } finally {
      hb.work = work;
      s.close();
    }
  });
});
