'use strict';
// Expiry in a persisted store (docs/api.md, "Persistence" and store.set): what the log and a
// snapshot record is each entry's own absolute expiry, resolved by the store (its ttl or
// expiresAt, or its namespace's default TTL), so that a store rebuilt after its segment is gone
// expires every entry when the original would have, and never gives an entry set with
// `ttl: Infinity` a namespace's default.
const assert = require('assert');
const { Store } = require('../../index');
const { ENGINES } = require('../helpers/engines');
const { persistTarget, recover } = require('../helpers/persist');
const { io } = require('../../lib/persist/io');

const HOUR = 3600000;

// The absolute expiry of `key`, as the range [lo, hi] a ttl() read allows: the read happened
// somewhere between the clock reads around it (a pause there widens the range, never moves it).
function expiryOf(s, ns, key) {
  const before = Date.now();
  const left = s.ttl(ns, key);
  return left === undefined || left === Infinity ? left : [before + left, Date.now() + left];
}

for (const engine of ENGINES) {
  describe(`Persistence: expiry survives a rebuild [${engine} engine]`, () => {
    let t;
    const open = [];
    const track = (s) => { open.push(s); return s; };
    beforeEach(() => { t = persistTarget('pttl'); });
    afterEach(() => {
      for (const s of open.splice(0)) s.close();
      t.cleanup();
    });

    const create = () => track(Store.create({ name: t.name, size: 1 << 22, engine, persist: { dir: t.dir, sync: 'none' } }));

    // Each entry's expiry read from `r` can be the one recorded in `want`: the two ranges meet
    // (give or take the millisecond ttl() rounds to).
    function checkSame(r, want) {
      for (const [ns, key, at] of want) {
        const got = expiryOf(r, ns, key);
        if (!Array.isArray(at)) assert.strictEqual(got, at, `${ns}/${key}`);
        else assert.ok(got[0] - 1 <= at[1] && at[0] <= got[1] + 1, `${ns}/${key}: ${at} does not meet ${got}`);
      }
    }

    for (const how of ['log', 'snapshot']) {
      it(`each entry keeps its own expiry after a rebuild from the ${how}`, () => {
        const s = create();
        const at = Date.now() + 2 * HOUR;
        s.set('a', 'ttl', 1, { ttl: HOUR });
        s.set('a', 'abs', 2, { expiresAt: at });
        s.set('a', 'plain', 3);
        s.namespace('sessions', { ttl: 5 * HOUR });
        s.set('sessions', 'default', 4); // the namespace's default TTL, resolved by the store
        s.set('sessions', 'forever', 5, { ttl: Infinity });
        s.setMany('b', [['m1', 6], ['m2', 7]], { ttl: 3 * HOUR });
        s.set('a', 'past', 8, { expiresAt: Date.now() - 1 }); // deletes
        s.set('a', 'short', 9, { ttl: 1 });
        const want = [['a', 'ttl'], ['a', 'abs'], ['a', 'plain'], ['sessions', 'default'], ['sessions', 'forever'],
          ['b', 'm1'], ['b', 'm2'], ['a', 'past']].map(([ns, key]) => {
          const e = expiryOf(s, ns, key);
          return [ns, key, e];
        });
        assert.strictEqual(want[3][2][0] > Date.now() + 4 * HOUR, true, 'the namespace default applied');
        if (how === 'snapshot') s.checkpoint();
        s.close();
        const wait = Date.now() + 5;
        while (Date.now() < wait); // 'short' (1 ms) has expired by the rebuild
        const r = track(recover(t.name, t.dir, engine));
        checkSame(r, want);
        assert.strictEqual(r.get('a', 'short'), undefined);
        assert.strictEqual(r.get('sessions', 'default'), 4);
        assert.strictEqual(r.verify().ok, true);
      });
    }

    for (const what of ['clear', 'dropNamespace']) {
      it(`a ${what} whose record cannot be written puts each entry back with its own expiry`, () => {
        const s = create();
        s.namespace('n', { ttl: 5 * HOUR, eviction: 'none' });
        s.set('n', 'ttl', 1, { ttl: HOUR });
        s.set('n', 'default', 2); // the namespace's default TTL, resolved by the store
        s.set('n', 'forever', 3, { ttl: Infinity });
        const want = ['ttl', 'default', 'forever'].map((key) => {
          const e = expiryOf(s, 'n', key);
          return ['n', key, e];
        });
        const { eviction, ttl } = s.stats().namespaceStats.n;
        // The log's writes fail (EIO) from here: no record of the clear or drop is written.
        const { mapped, writeSync } = io;
        io.mapped = false;
        io.writeSync = () => { throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO', errno: -5, syscall: 'write' }); };
        try {
          assert.throws(() => s[what]('n'), { code: 'ERR_PERSIST_IO' });
        } finally {
          Object.assign(io, { mapped, writeSync });
        }
        checkSame(s, want);
        assert.deepStrictEqual([s.get('n', 'ttl'), s.get('n', 'default'), s.get('n', 'forever')], [1, 2, 3]);
        assert.deepStrictEqual([s.stats().namespaceStats.n.eviction, s.stats().namespaceStats.n.ttl], [eviction, ttl]);
        // What a snapshot then records, and the log after it, keep those expiries.
        s.checkpoint();
        s.set('n', 'later', 4);
        s.close();
        const r = track(recover(t.name, t.dir, engine));
        checkSame(r, want);
        assert.strictEqual(r.count('n'), 4);
        assert.strictEqual(r.verify().ok, true);
      });
    }

    it('a set over a value with an expiry already past is one whole record: the writes after it survive a rebuild', () => {
      const s = create();
      s.set('a', 'k', 'old value');
      s.set('a', 'k', 'new value, expired', { expiresAt: Date.now() - 1000 });
      s.setMany('a', [['m', 'old'], ['n', 'old']]);
      s.setMany('a', [['m', 'new'], ['n', 'new']], { expiresAt: Date.now() - 1000 });
      s.set('a', 'after', 'kept');
      assert.deepStrictEqual(s.entries('a'), [['after', 'kept']]);
      const { tail } = s.persistence;
      s.close();
      const r = track(recover(t.name, t.dir, engine));
      // Every byte of the log up to its tail is a valid record: nothing is cut.
      assert.deepStrictEqual([r.persistence.recovery.reason, r.persistence.recovery.cutBytes, r.persistence.tail], [null, 0, tail]);
      assert.deepStrictEqual(r.entries('a'), [['after', 'kept']]);
      assert.strictEqual(r.verify().ok, true);
    });

    it('a bad expiry is refused before anything is logged', () => {
      const s = create();
      assert.throws(() => s.set('a', 'k', 1, { ttl: -1 }), RangeError);
      assert.throws(() => s.set('a', 'k', 1, { ttl: '5' }), TypeError);
      assert.throws(() => s.setMany('a', [['k', 1]], { expiresAt: 0 }), RangeError);
      s.close();
      const r = track(recover(t.name, t.dir, engine));
      assert.strictEqual(r.persistence.recovery.records, 0);
    });
  });
}
