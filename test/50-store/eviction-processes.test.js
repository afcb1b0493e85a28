'use strict';
// Eviction across processes (format.md §8, §9): readers in other processes during eviction never
// see a torn value nor one that was evicted and then came back (per key, sequence numbers never
// go down), and a writer killed with SIGKILL part way through evicting leaves a store that
// verify() finds clean after recovery, with every acknowledged write of a pinned namespace.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Store } = require('../../lib/store/store');
const { Segment } = require('../../lib/segment/segment');
const { uniqueName, tempDir } = require('../helpers/process');
const { inProcess, inWorker, announced } = require('../helpers/actors');
const { valueFor, checkValue } = require('../helpers/values');

const EVICT_ACTOR = path.join(__dirname, '..', 'helpers', 'children', 'evict-actor.js');

describe('eviction across processes', function () {
  this.timeout(120000);

  it('readers of both engines during eviction by writers of both engines: no torn or resurrected read', async () => {
    const name = uniqueName('evict');
    const store = Store.create({ name, size: 1 << 21, maxEntries: 300, buckets: 256, eviction: 'auto' });
    try {
      const ms = 3000;
      const keys = 2000; // far more keys than entries: writers evict all the time
      const writers = ['w1', 'w2'];
      const run = (op, id, engine) => inProcess({ op, id, engine, name, ms, keys, writers }, undefined, EVICT_ACTOR).done;
      const [w1, w2, r1, r2] = await Promise.all([
        run('write', 'w1', 'native'), run('write', 'w2', 'js'), run('read', 'r1', 'native'), run('read', 'r2', 'js'),
      ]);
      for (const r of [r1, r2]) {
        assert.strictEqual(r.bad, 0, 'a torn value');
        assert.strictEqual(r.stale, 0, 'a value older than one already seen for its key');
        assert.ok(r.reads > 1000 && r.hits > 0, JSON.stringify(r));
      }
      assert.ok(w1.writes > 1000 && w2.writes > 1000);
      const v = store.verify();
      assert.ok(v.ok, v.errors.join('\n'));
      assert.strictEqual(store.count('cache'), 300);
      for (const [k, val] of store.entries('cache')) assert.ok(checkValue(val), k);
      const st = store.stats().namespaceStats.cache;
      assert.ok(st.evictions > 1000, `${st.evictions} evictions`);
    } finally {
      store.close();
      Segment.unlink({ name });
    }
  });

  it('a pinned namespace beside one under constant eviction by writers of both engines: readers of both engines in processes and a worker never miss a pinned entry nor read a wrong value', async () => {
    const name = uniqueName('evictpin');
    const store = Store.create({ name, size: 1 << 21, maxEntries: 600, buckets: 256, eviction: 'auto' });
    try {
      const ms = 3000;
      const pinned = 200; // a third of maxEntries: the cache keeps 400 of the 4000 keys written
      const keys = 2000;
      const writers = ['w1', 'w2'];
      store.namespace('pinned', { eviction: 'none' });
      for (let i = 0; i < pinned; i++) store.set('pinned', `p${i}`, valueFor('pin', i));
      const task = (op, id, engine) => ({ op, id, engine, name, ms, keys, writers, pinned });
      const run = (op, id, engine) => inProcess(task(op, id, engine), undefined, EVICT_ACTOR).done;
      const [w1, w2, ...readers] = await Promise.all([
        run('write', 'w1', 'native'), run('write', 'w2', 'js'),
        run('readPinned', 'r1', 'native'), run('readPinned', 'r2', 'js'),
        inWorker(task('readPinned', 'r3', 'native'), undefined, EVICT_ACTOR).done,
      ]);
      for (const r of readers) {
        assert.deepStrictEqual({ misses: r.misses, wrong: r.wrong, first: r.first }, { misses: 0, wrong: 0, first: [] });
        assert.ok(r.rounds > 10, JSON.stringify(r));
      }
      assert.ok(w1.writes > 1000 && w2.writes > 1000);
      const v = store.verify();
      assert.ok(v.ok, v.errors.join('\n'));
      assert.strictEqual(store.count('pinned'), pinned);
      for (let i = 0; i < pinned; i++) assert.strictEqual(store.get('pinned', `p${i}`), valueFor('pin', i), `p${i}`);
      const st = store.stats().namespaceStats;
      assert.strictEqual(st.pinned.evictions, 0);
      assert.ok(st.cache.evictions > 1000, `${st.cache.evictions} evictions`);
    } finally {
      store.close();
      Segment.unlink({ name });
    }
  });

  it('a pure-JS-engine worker terminated while evicting: the store stays usable and verifies clean', async () => {
    const store = Store.create({ buffer: new SharedArrayBuffer(1 << 21), maxEntries: 300, buckets: 256,
      eviction: 'auto', lockTimeoutMs: 200 });
    try {
      store.namespace('pinned', { eviction: 'none' });
      for (let i = 0; i < 50; i++) store.set('pinned', `p${i}`, i);
      for (let round = 0; round < 3; round++) {
        const a = announced();
        const { worker, done } = inWorker({ op: 'loop', id: `w${round}`, engine: 'js', buffer: store.buffer, keys: 3000 },
          a.onMessage);
        done.catch(() => {});
        await a.promise;
        await new Promise((r) => setTimeout(r, 10 + Math.floor(Math.random() * 60)));
        await worker.terminate();
        for (let i = 0; i < 1000; i++) store.set('cache', `after${round}-${i}`, i);
        const v = store.verify();
        assert.ok(v.ok, v.errors.join('\n'));
        for (let i = 0; i < 50; i++) assert.strictEqual(store.get('pinned', `p${i}`), i);
        for (const [k, val] of store.entries('loop')) assert.ok(checkValue(val), k);
        assert.ok(store.count() <= 300);
      }
    } finally {
      store.close();
    }
  });

  for (const engine of ['native', 'js']) {
    it(`a ${engine}-engine writer killed with SIGKILL while evicting: verify() clean after recovery, every acknowledged pinned write present`, async () => {
      const { dir, cleanup } = tempDir();
      const name = uniqueName('evictkill');
      const store = Store.create({ name, size: 1 << 21, maxEntries: 600, buckets: 256, eviction: 'auto', lockTimeoutMs: 200 });
      try {
        store.namespace('memories', { eviction: 'none' });
        for (let round = 0; round < 3; round++) {
          const record = path.join(dir, `acked-${round}`);
          const a = announced();
          const { child, done } = inProcess({
            op: 'pinnedUntilKilled', engine, name, record, memories: 300, keys: 5000, lockTimeoutMs: 200,
          }, a.onMessage, EVICT_ACTOR);
          await a.promise;
          await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 150)));
          child.kill('SIGKILL');
          await assert.rejects(done, /SIGKILL/);
          // Writes reach every bucket: a lock the child held is met and taken back.
          for (let i = 0; i < 2000; i++) store.set('cache', `after${round}-${i}`, i);
          const v = store.verify();
          assert.ok(v.ok, v.errors.join('\n'));
          const acked = fs.readFileSync(record, 'utf8').split('\n').filter(Boolean);
          assert.ok(acked.length > 0);
          for (const k of acked) assert.strictEqual(store.get('memories', k), valueFor('mem', Number(k.slice(1))), k);
          for (const [k, val] of store.entries('cache')) assert.ok(typeof val === 'number' || checkValue(val), k);
          store.clear('memories');
        }
      } finally {
        store.close();
        Segment.unlink({ name });
        cleanup();
      }
    });
  }

  for (const engine of ['native', 'js']) {
    it(`a ${engine}-engine writer killed with SIGKILL while its large sets make room among pinned entries: verify() clean after repair, every pinned entry present`, async () => {
      // A write making room evicts runs of entries and joins them under the allocator lock
      // (format.md §8, "Joined runs"): killed anywhere, the repair pass finds every block live or
      // free, and no pinned entry is touched.
      const name = uniqueName('runmovekill');
      const store = Store.create({ name, size: 8 << 20, maxEntries: 200000, eviction: 'auto', lockTimeoutMs: 200 });
      const keyOf = (i) => `k${String(i).padStart(12, '0')}`;
      const small = 'v'.repeat(100);
      try {
        store.namespace('pinned', { eviction: 'none' });
        let n = 0;
        while (store.stats().entries === n) {
          store.set(n % 50 === 0 ? 'pinned' : 'c', keyOf(n), small);
          n++;
        }
        const pinned = store.count('pinned');
        for (let round = 0; round < 3; round++) {
          const a = announced();
          const { child, done } = inProcess({ op: 'largeUntilKilled', engine, name, lockTimeoutMs: 200 }, a.onMessage, EVICT_ACTOR);
          await a.promise;
          await new Promise((r) => setTimeout(r, 10 + Math.floor(Math.random() * 100)));
          child.kill('SIGKILL');
          await assert.rejects(done, /SIGKILL/);
          store.repair();
          const v = store.verify();
          assert.ok(v.ok, v.errors.join('\n'));
          assert.strictEqual(store.count('pinned'), pinned);
          for (let i = 0; i < n; i += 50) assert.strictEqual(store.get('pinned', keyOf(i)), small, keyOf(i));
          for (const [k, val] of store.entries('c')) {
            if (k.startsWith('big')) assert.strictEqual(val.length, 256 << 10, k);
            else assert.strictEqual(val, small, k);
          }
        }
        // The store still makes room for a value after the kills.
        store.set('c', 'after', Buffer.alloc(1 << 20, 9));
        assert.strictEqual(store.get('c', 'after').length, 1 << 20);
        assert.strictEqual(store.count('pinned'), pinned);
      } finally {
        store.close();
        Segment.unlink({ name });
      }
    });
  }
});
