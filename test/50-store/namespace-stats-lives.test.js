'use strict';
// namespaceStats across the lives of a namespace id (docs/api.md store.stats(), format.md §5
// "Namespace policy records"): every number of a row is counted in the life its (id, generation)
// names. A handle's private counts of a life another handle dropped never reach the life that
// reuses the id, and the removals a handle's eviction hand and expiry sweep make in a namespace
// it never resolved reach that namespace, whatever the id's generation. Each case runs with both
// handles of one engine and with one of each engine on the same bytes.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { C } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');

// key + value bytes of the live entries of `ns`, as listed.
const realBytes = (s, ns) => s.entries(ns).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);

// Waits (busily: a few ms) until the clock is past `ms`, epoch milliseconds.
function waitPast(ms) {
  while (Date.now() <= ms);
}

// The counters of one row of stats().namespaceStats.
const counters = ({ count, bytes, hits, misses, evictions, expirations, id, generation }) =>
  ({ count, bytes, hits, misses, evictions, expirations, id, generation });

forEachEngine('namespaceStats across the lives of a namespace id', ({ engine, other, make }) => {
  const pairs = [[engine, engine], [engine, other]];
  // Handles attached in a test, closed after it.
  let attached = [];
  const attach = (s, peer, opts = {}) => {
    const h = Store.attach(s.buffer, { engine: peer, readCache: false, ...opts });
    attached.push(h);
    return h;
  };
  afterEach(() => {
    for (const h of attached.splice(0)) h.close();
    attached = [];
  });

  for (const [mine, peer] of pairs) {
    for (const readCache of [false, true]) {
      it(`unflushed hits, misses, expirations and bytes of a dropped life do not reach the life that reuses the id (${mine} counts, ${peer} drops, readCache ${readCache})`, () => {
        const h = make({ size: 1 << 20, readCache });
        const g = attach(h, peer);
        g.set('A', 'seed', 'x');
        g.set('A', 't', 'x', { ttl: 1 });
        // h counts in the first life of A without flushing: 10 003 bytes, three hits (the read
        // cache, when on, answers the last), two misses, and a miss and an expiration of the
        // expired entry its read reclaims.
        h.set('A', 'big', 'v'.repeat(10000));
        assert.strictEqual(h.get('A', 'big').length, 10000);
        assert.strictEqual(h.get('A', 'seed'), 'x');
        assert.strictEqual(h.get('A', 'seed'), 'x');
        assert.strictEqual(h.get('A', 'missing'), undefined);
        assert.strictEqual(h.get('A', 'missing2'), undefined);
        waitPast(Date.now() + 2);
        assert.strictEqual(h.get('A', 't'), undefined);
        const first = g.stats().namespaceStats.A;
        assert.strictEqual(g.dropNamespace('A'), 2);
        g.set('A', 'k', 'v'); // the same record, the next generation
        const created = counters(g.stats().namespaceStats.A);
        assert.deepStrictEqual(created,
          { count: 1, bytes: 2, hits: 0, misses: 0, evictions: 0, expirations: 0, id: first.id, generation: first.generation + 1 });
        // h's cached id is stale: it resolves A anew, reads, and flushes.
        assert.strictEqual(h.get('A', 'k'), 'v');
        const after = counters(h.stats().namespaceStats.A);
        assert.deepStrictEqual(after, { ...created, hits: 1 });
        assert.deepStrictEqual(counters(g.stats().namespaceStats.A), after);
        assert.strictEqual(after.bytes, realBytes(g, 'A'));
        assert.ok(h.verify().ok);
      });
    }

    it(`a byte decrement of a dropped life does not leave the new life's bytes low (${mine} deletes, ${peer} drops)`, () => {
      const h = make({ size: 1 << 20, readCache: false });
      const g = attach(h, peer);
      g.set('A', 'big', 'v'.repeat(10000));
      g.stats();
      assert.strictEqual(h.delete('A', 'big'), true); // -10 003 bytes, not flushed
      g.dropNamespace('A');
      g.set('A', 'k', 'v');
      assert.strictEqual(h.get('A', 'k'), 'v');
      h.stats();
      for (let i = 0; i < 5; i++) g.set('A', `x${i}`, 'y'.repeat(5000));
      const st = g.stats().namespaceStats.A;
      assert.strictEqual(realBytes(g, 'A'), 2 + 5 * 5002);
      assert.strictEqual(st.bytes, 2 + 5 * 5002);
    });

    it(`the eviction hand of a handle that never resolved the namespace counts its evictions and bytes there, in an id a dropped namespace used (${mine} evicts, ${peer} fills)`, () => {
      const h = make({ size: 1 << 20, eviction: 'auto', readCache: false });
      const g = attach(h, peer);
      g.set('tmp', 'x', 1);
      g.dropNamespace('tmp');
      for (let i = 0; i < 400; i++) g.set('cache', `k${String(i).padStart(3, '0')}`, 'v'.repeat(1000));
      const before = g.stats().namespaceStats.cache;
      assert.strictEqual(before.generation, 1); // the record of 'tmp', reused
      assert.strictEqual(before.evictions, 0);
      // h never touches 'cache': its sets to 'other' evict entries of both.
      for (let i = 0; i < 300; i++) h.set('other', `o${String(i).padStart(3, '0')}`, 'w'.repeat(1000));
      const mineOther = h.stats().namespaceStats.other;
      const after = g.stats().namespaceStats.cache;
      const evicted = before.count - after.count;
      assert.ok(evicted > 0, 'the hand evicted entries of cache');
      assert.strictEqual(after.evictions, evicted);
      assert.strictEqual(after.expirations, 0);
      assert.strictEqual(after.bytes, realBytes(g, 'cache'));
      assert.strictEqual(after.bytes, after.count * 1004);
      assert.strictEqual(mineOther.evictions, 300 - mineOther.count);
      assert.strictEqual(mineOther.bytes, realBytes(h, 'other'));
      assert.ok(g.verify().ok);
    });

    it(`the expiry sweep of a handle that never resolved the namespace counts its expirations and bytes there, in an id a dropped namespace used (${mine} sweeps, ${peer} fills)`, () => {
      const buckets = 64;
      const h = make({ size: 1 << 20, buckets, readCache: false });
      const g = attach(h, peer);
      g.set('tmp', 'x', 1);
      g.dropNamespace('tmp');
      // Far enough ahead that every set is made before it (one made after is a delete).
      const at = Date.now() + 500;
      for (let i = 0; i < 200; i++) g.set('sess', `k${String(i).padStart(3, '0')}`, 'v', { expiresAt: at });
      assert.strictEqual(g.count('sess'), 200);
      assert.strictEqual(g.stats().namespaceStats.sess.generation, 1);
      waitPast(at);
      // Each insert sweeps SWEEP_BUCKETS buckets: these visit every bucket.
      for (let i = 0; i * C.SWEEP_BUCKETS < buckets; i++) h.set('other', `o${i}`, 'w');
      h.stats();
      const st = g.stats().namespaceStats.sess;
      assert.strictEqual(st.count, 0, 'every entry expired and swept');
      assert.strictEqual(st.expirations, 200);
      assert.strictEqual(st.evictions, 0);
      assert.strictEqual(st.bytes, 0);
    });

    it(`reads through a stale id after the handle's sweep met the new life count nothing for it (${mine} reads, ${peer} drops)`, () => {
      const buckets = 64;
      const h = make({ size: 1 << 20, buckets, readCache: false });
      const g = attach(h, peer);
      h.set('A', 'h', 'x'); // h resolves the first life of A
      assert.strictEqual(g.dropNamespace('A'), 1);
      const at = Date.now() + 200;
      g.set('A', 'e', 'x', { expiresAt: at });
      g.set('A', 'k', 'v');
      assert.strictEqual(g.count('A'), 2);
      waitPast(at);
      // h's sweep removes 'e', of the second life of A, while h's id of A is still the first's.
      for (let i = 0; i * C.SWEEP_BUCKETS < buckets; i++) h.set('other', `o${i}`, 'w');
      assert.strictEqual(g.count('A'), 1);
      // The first read goes through the stale id (refused, then A is resolved again and read).
      assert.strictEqual(h.get('A', 'k'), 'v');
      assert.strictEqual(h.get('A', 'nope'), undefined);
      h.stats();
      const st = counters(g.stats().namespaceStats.A);
      assert.deepStrictEqual(st, { count: 1, bytes: 2, hits: 1, misses: 1, evictions: 0, expirations: 1, id: st.id, generation: 1 });
    });
  }
});
