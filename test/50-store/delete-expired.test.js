'use strict';
// store.delete() and store.clear() of entries that have expired but were not reclaimed yet
// (docs/api.md, store.delete, store.clear; format.md §9 "Writers"): the entry is removed as a
// read that meets it removes it, counted in namespaceStats as an expiration (with its bytes), and
// reported as absent: delete returns false, as has() would have said, and clear counts only the
// live entries it removed. Each case runs with one engine's handle alone and with an entry
// written by one engine and deleted or cleared by the other, on the same bytes.
//
// The entries get their expiry by an overwrite, which runs no expiry sweep (only an insert does),
// and nothing inserts after they expire: only the delete or the clear can meet them.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { forEachEngine } = require('../helpers/engines');

// Waits (busily: a few ms) until the clock is past `ms`, epoch milliseconds.
function waitPast(ms) {
  while (Date.now() <= ms);
}

// The counters of one namespace, as every handle flushed them (stats() flushes its own).
const counters = (s, ns) => {
  const { count, bytes, hits, misses, evictions, expirations } = s.stats().namespaceStats[ns];
  return { count, bytes, hits, misses, evictions, expirations };
};

// An expiry a few milliseconds away: far enough for the overwrites that set it to come first.
const soon = () => Date.now() + 20;

forEachEngine('delete() and clear() of expired entries', ({ engine, other, make }) => {
  let attached = [];
  afterEach(() => {
    for (const h of attached.splice(0)) h.close();
    attached = [];
  });

  for (const peer of [engine, other]) {
    // The handle that deletes or clears: `peer`, on the bytes a handle of `engine` wrote.
    const setup = () => {
      const s = make({ readCache: false });
      const h = Store.attach(s.buffer, { engine: peer, readCache: false });
      attached.push(h);
      return [s, h];
    };

    it(`delete() of an expired entry removes it, returns false and counts an expiration (${engine} writes, ${peer} deletes)`, () => {
      const [s, h] = setup();
      for (const k of ['gone', 'live', 'later']) s.set('n', k, 'v');
      const at = soon();
      s.set('n', 'gone', 'vv', { expiresAt: at }); // 'gone' + 'vv': 6 bytes
      s.set('n', 'later', 'v', { ttl: 3600e3 });
      const before = counters(s, 'n');
      assert.deepStrictEqual(before, { count: 3, bytes: 6 + 5 + 6, hits: 0, misses: 0, evictions: 0, expirations: 0 });
      waitPast(at);
      assert.strictEqual(h.delete('n', 'gone'), false);
      assert.strictEqual(s.count('n'), 2, 'the expired entry was removed');
      assert.strictEqual(h.delete('n', 'gone'), false);
      assert.strictEqual(h.delete('n', 'live'), true);
      assert.strictEqual(h.delete('n', 'later'), true);
      h.stats();
      assert.deepStrictEqual(counters(s, 'n'), { count: 0, bytes: 0, hits: 0, misses: 0, evictions: 0, expirations: 1 });
      assert.deepStrictEqual([s.has('n', 'gone'), s.get('n', 'gone')], [false, undefined]);
      assert.ok(s.verify().ok);
      assert.ok(h.verify().ok);
    });

    it(`delete() agrees with has() on an expired entry, in a view too (${engine} writes, ${peer} deletes)`, () => {
      const [s, h] = setup();
      for (const k of ['a', 'b']) s.set('n', k, 'v');
      const at = soon();
      for (const k of ['a', 'b']) s.set('n', k, 'v', { expiresAt: at });
      waitPast(at);
      // has() reclaims 'a' as a read does (a miss and an expiration); delete() then finds nothing.
      assert.strictEqual(h.has('n', 'a'), false);
      assert.strictEqual(h.delete('n', 'a'), false);
      // The view's delete is the store's: 'b' is removed as an expiration, with no miss.
      assert.strictEqual(h.namespace('n').delete('b'), false);
      h.stats();
      assert.deepStrictEqual(counters(s, 'n'), { count: 0, bytes: 0, hits: 0, misses: 1, evictions: 0, expirations: 2 });
      assert.ok(s.verify().ok);
    });

    it(`delete() of an expired large value frees its large block and counts its bytes (${engine} writes, ${peer} deletes)`, () => {
      const [s, h] = setup();
      const big = 'L'.repeat(200000);
      s.set('n', 'big', 'v');
      s.set('n', 'keep', 'v');
      const at = soon();
      s.set('n', 'big', big, { expiresAt: at });
      const live = s.stats().bytesLive;
      waitPast(at);
      assert.strictEqual(h.delete('n', 'big'), false);
      h.stats();
      assert.deepStrictEqual(counters(s, 'n'), { count: 1, bytes: 4 + 1, hits: 0, misses: 0, evictions: 0, expirations: 1 });
      assert.ok(s.stats().bytesLive < live - big.length, 'the large block was freed');
      assert.ok(s.verify().ok);
      assert.ok(h.verify().ok);
    });

    it(`clear() removes expired entries too but returns the live ones it removed (${engine} writes, ${peer} clears)`, () => {
      const [s, h] = setup();
      const keys = ['e1', 'e2', 'e3', 'l1', 'l2', 'later'];
      for (const k of keys) s.set('n', k, 'v');
      s.set('m', 'k', 'v');
      const at = soon();
      for (const k of ['e1', 'e2', 'e3']) s.set('n', k, 'v', { expiresAt: at });
      s.set('n', 'later', 'v', { ttl: 3600e3 });
      s.set('m', 'k', 'v', { expiresAt: at });
      waitPast(at);
      assert.strictEqual(h.clear('n'), 3); // l1, l2, later
      assert.strictEqual(s.count('n'), 0);
      // A namespace whose entries had all expired: nothing live removed.
      assert.strictEqual(h.clear('m'), 0);
      assert.strictEqual(s.count('m'), 0);
      assert.strictEqual(h.clear('m'), 0);
      h.stats();
      assert.deepStrictEqual(counters(s, 'n'), { count: 0, bytes: 0, hits: 0, misses: 0, evictions: 0, expirations: 3 });
      assert.deepStrictEqual(counters(s, 'm'), { count: 0, bytes: 0, hits: 0, misses: 0, evictions: 0, expirations: 1 });
      assert.strictEqual(s.stats().entries, 0);
      assert.ok(s.verify().ok);
      assert.ok(h.verify().ok);
    });

    it(`set() of an already expired value over an expired entry counts an expiration (${engine} writes, ${peer} sets)`, () => {
      const [s, h] = setup();
      s.set('n', 'k', 'v');
      s.set('n', 'j', 'v');
      const at = soon();
      s.set('n', 'k', 'v', { expiresAt: at });
      waitPast(at);
      assert.strictEqual(h.set('n', 'k', 'w', { expiresAt: at }), h); // expired at once: a delete
      assert.strictEqual(h.setMany('n', [['j', 'w']], { expiresAt: at }), 1); // deletes the live 'j'
      h.stats();
      assert.deepStrictEqual(counters(s, 'n'), { count: 0, bytes: 0, hits: 0, misses: 0, evictions: 0, expirations: 1 });
      assert.ok(s.verify().ok);
    });
  }

  it('dropNamespace() still counts every entry it removes, expired or not', () => {
    const s = make({ readCache: false });
    for (const k of ['a', 'b']) s.set('n', k, 'v');
    const at = soon();
    s.set('n', 'a', 'v', { expiresAt: at });
    waitPast(at);
    assert.strictEqual(s.dropNamespace('n'), 2);
    assert.strictEqual(s.stats().entries, 0);
    assert.ok(s.verify().ok);
  });
});
