'use strict';
// Expiry (docs/api.md, "Expiry and eviction"; format.md §8): set(ns, key, value, { ttl }) and
// { expiresAt }, a namespace's default TTL, store.ttl(), expired entries never shown, their space
// reclaimed lazily and by the incremental sweep, across engines. No test asserts a duration: each
// waits (bounded) until the clock has passed an expiry and then checks what must hold.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { C, W, H, UNIT_HALFS } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');
const { chain, entryWord } = require('../helpers/store-bytes');

// Waits until Date.now() > t (bounded: expiries in these tests are at most a second away).
async function until(t) {
  const limit = Date.now() + 10000;
  while (Date.now() <= t) {
    assert.ok(Date.now() < limit, 'the clock did not reach the expiry');
    await new Promise((r) => setTimeout(r, Math.max(1, Math.min(50, t - Date.now() + 1))));
  }
}

forEachEngine('expiry: set(..., { ttl | expiresAt }), ttl(), namespace TTLs', ({ make, other }) => {
  it('hides an expired entry from get, has, keys, entries and getMany, and reports ttl()', async () => {
    const s = make();
    const exp = Date.now() + 150;
    s.set('n', 'short', 'v1', { expiresAt: exp });
    s.set('n', 'forever', 'v2');
    assert.strictEqual(s.ttl('n', 'forever'), Infinity);
    assert.strictEqual(s.ttl('n', 'absent'), undefined);
    assert.strictEqual(s.ttl('nowhere', 'absent'), undefined);
    const left = s.ttl('n', 'short');
    assert.ok(left === undefined || (left > 0 && left <= 150), `ttl ${left}`);
    await until(exp);
    assert.strictEqual(s.get('n', 'short'), undefined);
    assert.strictEqual(s.has('n', 'short'), false);
    assert.strictEqual(s.ttl('n', 'short'), undefined);
    assert.deepStrictEqual(s.keys('n'), ['forever']);
    assert.deepStrictEqual(s.entries('n'), [['forever', 'v2']]);
    assert.deepStrictEqual(s.getMany('n', ['short', 'forever']), [undefined, 'v2']);
    assert.ok(s.verify().ok);
  });

  it('ttl is relative to the call; 1 ms expires; an expiresAt in the past deletes; huge ones hold', async () => {
    const s = make();
    const t0 = Date.now();
    s.set('n', 'one', 'x', { ttl: 1 });
    const t1 = Date.now();
    await until(t1 + 1);
    assert.strictEqual(s.get('n', 'one'), undefined);
    s.set('n', 'k', 'old');
    s.set('n', 'k', 'new', { expiresAt: t0 - 1 }); // set and expired at once: nothing stays
    assert.strictEqual(s.get('n', 'k'), undefined);
    assert.strictEqual(s.count('n'), 0);
    // An expiry beyond the 48 bits of an entry's expiresAt (the year 10889) is stored as the last
    // one: the entry holds, and ttl() counts down to that.
    s.set('n', 'huge', 'h', { ttl: 1e15 });
    const huge = s.ttl('n', 'huge');
    assert.ok(huge > C.MAX_EXPIRES_AT - Date.now() - 60000 && huge <= C.MAX_EXPIRES_AT - t0, `${huge}`);
    s.set('n', 'abs', 'a', { expiresAt: 2 ** 53 - 1 });
    assert.ok(s.ttl('n', 'abs') > C.MAX_EXPIRES_AT - Date.now() - 60000);
    s.set('n', 'last', 'a', { expiresAt: C.MAX_EXPIRES_AT });
    assert.ok(s.ttl('n', 'last') <= C.MAX_EXPIRES_AT - t0);
    s.set('n', 'never', 'x', { ttl: Infinity });
    s.set('n', 'never2', 'x', { expiresAt: Infinity });
    assert.deepStrictEqual([s.ttl('n', 'never'), s.ttl('n', 'never2')], [Infinity, Infinity]);
    // Rounded up to whole milliseconds. The expiry and ttl() both read the wall clock, so a clock
    // stepped back between the two (NTP on a virtual machine) adds the step to what is left.
    const before = Date.now();
    s.set('n', 'frac', 'x', { ttl: 0.5 });
    const left = s.ttl('n', 'frac');
    const stepBack = Math.max(0, before - Date.now());
    assert.ok(left === undefined || left <= 1 + stepBack, `ttl ${left}, clock stepped back ${stepBack} ms`);
    assert.ok(s.verify().ok);
  });

  it('a value expiring between has() and get(): every call made wholly before its expiresAt finds it, every one after misses', async () => {
    const s = make();
    s.set('n', 'keep', 'k');
    // One key per reading method, all with the same expiry, so that no method's miss after the
    // expiry comes from another's lazy removal: the listings first (they remove nothing), then
    // ttl, getMany, get and has, each on a key no other call has removed.
    const keys = ['t', 'm', 'g', 'h'];
    let exp;
    let seen = 0;
    // The reads of one pass count only when the clock read after them is still before the expiry,
    // so that each whole call happened while the entries were live (a clock read before the calls
    // bounds what ttl() may say). A pass on a slow machine may outlast the margin and count
    // nothing; another then follows with a later expiry.
    for (let margin = 200; seen === 0; margin *= 2) {
      assert.ok(margin <= 6400, 'no pass of reads ended before the expiry');
      exp = Date.now() + margin;
      for (const k of keys) s.set('n', k, `v-${k}`, { expiresAt: exp });
      for (;;) {
        const before = Date.now();
        const listed = s.keys('n').sort();
        const entries = s.entries('n').sort();
        const left = s.ttl('n', 't');
        const many = s.getMany('n', ['m', 'keep']);
        const value = s.get('n', 'g');
        const has = s.has('n', 'h');
        const after = Date.now();
        if (after >= exp) break;
        assert.deepStrictEqual(listed, ['g', 'h', 'keep', 'm', 't']);
        assert.deepStrictEqual(entries, [['g', 'v-g'], ['h', 'v-h'], ['keep', 'k'], ['m', 'v-m'], ['t', 'v-t']]);
        assert.ok(left > 0, `ttl ${left} with ${exp - after} ms left`);
        // At most what was left at the first clock read, unless the clock was set back meanwhile.
        if (before <= after) assert.ok(left <= exp - before, `ttl ${left} with ${exp - before} ms left`);
        assert.deepStrictEqual(many, ['v-m', 'k']);
        assert.strictEqual(value, 'v-g');
        assert.strictEqual(has, true);
        seen++;
      }
    }
    await until(exp);
    assert.deepStrictEqual(s.keys('n'), ['keep']);
    assert.deepStrictEqual(s.entries('n'), [['keep', 'k']]);
    assert.strictEqual(s.ttl('n', 't'), undefined);
    assert.deepStrictEqual(s.getMany('n', ['m', 'keep']), [undefined, 'k']);
    assert.strictEqual(s.get('n', 'g'), undefined);
    assert.strictEqual(s.has('n', 'h'), false);
    for (const k of keys) {
      assert.strictEqual(s.get('n', k), undefined, k);
      assert.strictEqual(s.has('n', k), false, k);
      assert.strictEqual(s.ttl('n', k), undefined, k);
    }
    assert.strictEqual(s.get('n', 'keep'), 'k');
    assert.ok(s.verify().ok);
  });

  it('refuses bad ttl and expiresAt with TypeError or RangeError and changes nothing', () => {
    const s = make();
    s.set('n', 'k', 'old');
    const bad = [
      [{ ttl: '10' }, TypeError], [{ ttl: null }, TypeError], [{ ttl: 10n }, TypeError],
      [{ expiresAt: new Date() }, TypeError], [{ ttl: 5, expiresAt: Date.now() + 5 }, TypeError],
      [{ ttl: 5, extra: 1 }, TypeError], ['ttl', TypeError], [null, TypeError],
      [{ ttl: 0 }, RangeError], [{ ttl: -1 }, RangeError], [{ ttl: NaN }, RangeError],
      [{ ttl: -Infinity }, RangeError], [{ ttl: 2 ** 53 }, RangeError],
      [{ expiresAt: 0 }, RangeError], [{ expiresAt: -5 }, RangeError], [{ expiresAt: NaN }, RangeError],
      [{ expiresAt: 2 ** 53 }, RangeError],
    ];
    for (const [opts, Err] of bad) {
      assert.throws(() => s.set('n', 'k', 'new', opts), Err, JSON.stringify(String(opts && Object.keys(opts))));
      assert.throws(() => s.set('fresh', 'k', 'new', opts), Err);
      assert.throws(() => s.setMany('n', [['k', 'new']], opts), Err);
    }
    assert.strictEqual(s.get('n', 'k'), 'old');
    assert.strictEqual(s.ttl('n', 'k'), Infinity);
    assert.deepStrictEqual(s.namespaces(), ['n'], 'no namespace created by a refused set');
    for (const [opts, Err] of [[{ ttl: 'x' }, TypeError], [{ ttl: 0 }, RangeError], [{ eviction: 'lru' }, RangeError],
      [{ eviction: 1 }, TypeError], [{ colour: 1 }, TypeError]]) {
      assert.throws(() => s.namespace('m', opts), Err);
    }
    assert.deepStrictEqual(s.namespaces(), ['n']);
    assert.ok(s.verify().ok);
  });

  it('a namespace default TTL applies to sets without their own and is seen by every handle', async () => {
    const s = make();
    s.namespace('sessions', { ttl: 100 });
    s.set('sessions', 'a', 1);
    s.set('sessions', 'pinned', 2, { ttl: Infinity });
    s.set('sessions', 'long', 3, { ttl: 3600e3 });
    const left = s.ttl('sessions', 'a');
    assert.ok(left === undefined || left <= 100);
    const o = Store.attach(s.buffer, { engine: other });
    try {
      o.set('sessions', 'b', 4); // the other engine reads the same default from the store
      const last = Date.now();
      assert.ok(o.ttl('sessions', 'b') <= 100 || o.ttl('sessions', 'b') === undefined);
      assert.deepStrictEqual(o.stats().namespaceStats.sessions.ttl, 100);
      await until(last + 100);
      assert.deepStrictEqual(o.keys('sessions').sort(), ['long', 'pinned']);
      assert.deepStrictEqual(s.keys('sessions').sort(), ['long', 'pinned']);
      s.namespace('sessions', { ttl: Infinity }); // no default any more
      o.set('sessions', 'c', 5);
      assert.strictEqual(s.ttl('sessions', 'c'), Infinity);
    } finally {
      o.close();
    }
  });

  it('setMany takes one expiry for every pair', async () => {
    const s = make();
    const exp = Date.now() + 200;
    assert.strictEqual(s.setMany('n', [['a', 1], ['b', 2]], { expiresAt: exp }), 2);
    s.setMany('n', [['c', 3]]);
    await until(exp);
    assert.deepStrictEqual(s.getMany('n', ['a', 'b', 'c']), [undefined, undefined, 3]);
  });

  it('reclaims expired entries lazily on access and by the sweep of later inserts, counting them', async () => {
    const s = make({ buckets: 64 });
    // Far enough ahead that a slow machine makes every set before it (one after is a delete).
    const exp = Date.now() + 300;
    for (let i = 0; i < 200; i++) s.set('t', `e${i}`, 'x', { expiresAt: exp });
    for (let i = 0; i < 10; i++) s.set('keep', `k${i}`, 'y');
    await until(exp);
    // count() may include expired entries not reclaimed yet.
    assert.strictEqual(s.count('t'), 200);
    assert.strictEqual(s.get('t', 'e0'), undefined); // a reader removes what it found expired
    assert.strictEqual(s.count('t'), 199);
    // Each insert sweeps 2 buckets: 32 inserts visit all 64.
    for (let i = 0; i < 32; i++) s.set('keep', `n${i}`, 'z');
    assert.strictEqual(s.count('t'), 0);
    assert.strictEqual(s.count(), 42);
    const st = s.stats().namespaceStats;
    assert.strictEqual(st.t.expirations, 200);
    assert.strictEqual(st.t.bytes, 0);
    // Keys 'k0'..'k9' and 'n0'..'n9' (2 bytes), 'n10'..'n31' (3 bytes), values of 1 byte.
    assert.strictEqual(st.keep.bytes, 20 * 3 + 22 * 4);
    assert.ok(s.verify().ok);
  });

  it('a store that does not evict accepts new entries in the place of expired ones', async () => {
    const s = make({ maxEntries: 20, buckets: 64 });
    s.set('keep', 'k', 'pinned by default');
    const exp = Date.now() + 200;
    for (let i = 0; i < 19; i++) s.set('t', `e${i}`, i, { expiresAt: exp });
    assert.throws(() => s.set('t', 'one more', 1), { code: 'ERR_STORE_FULL' });
    await until(exp);
    for (let i = 0; i < 19; i++) s.set('t', `n${i}`, i); // the hand removes expired entries only
    assert.throws(() => s.set('t', 'one more', 1), { code: 'ERR_STORE_FULL' });
    assert.strictEqual(s.get('keep', 'k'), 'pinned by default');
    assert.strictEqual(s.count('t'), 19);
    assert.strictEqual(s.stats().namespaceStats.t.expirations, 19);
    assert.strictEqual(s.stats().namespaceStats.t.evictions, 0);
    assert.ok(s.verify().ok);
  });

  it('an entry set with a ttl in one engine expires for the other', async () => {
    const s = make();
    const o = Store.attach(s.buffer, { engine: other });
    try {
      const exp = Date.now() + 80;
      s.set('x', 'k', { v: 1 }, { expiresAt: exp });
      o.set('x', 'j', 'w', { expiresAt: exp });
      const seen = o.ttl('x', 'k');
      assert.ok(seen === undefined || (seen > 0 && seen <= 80));
      const got = o.get('x', 'k');
      if (Date.now() < exp - 1) assert.deepStrictEqual(got, { v: 1 });
      await until(exp);
      assert.strictEqual(o.get('x', 'k'), undefined);
      assert.strictEqual(s.get('x', 'j'), undefined);
      assert.deepStrictEqual(s.keys('x'), []);
      assert.ok(o.verify().ok);
    } finally {
      o.close();
    }
  });
});

forEachEngine('expiry: the two fields of an entry\'s expiry', ({ engine, other, make }) => {
  it(`${engine} stores an absolute expiry as its low 32 and high 16 bits, which ${other} reads back exactly`, () => {
    const s = make({ buckets: 1 });
    const o = Store.attach(s.buffer, { engine: other });
    try {
      const next = (Math.floor(Date.now() / 2 ** 32) + 1) * 2 ** 32; // low word 0, in the future
      for (const asked of [next, next - 1, next + 1, next + 2 ** 32 - 1, C.MAX_EXPIRES_AT, 2 ** 53 - 1]) {
        const at = Math.min(asked, C.MAX_EXPIRES_AT); // a later expiry is stored as the last one
        s.set('x', 'k', 'v', { expiresAt: asked });
        const u32 = new Uint32Array(s.buffer);
        const u16 = new Uint16Array(s.buffer);
        const [u] = chain(u32);
        assert.deepStrictEqual([u32[entryWord(u, W.ENTRY.EXPIRES_LO)], u16[u * UNIT_HALFS + H.ENTRY.EXPIRES_HI]],
          [at % 2 ** 32, Math.floor(at / 2 ** 32)], `expiresAt ${asked}`);
        assert.strictEqual(o._e.expiresAt(o._id('x', false), 'k'), at, `${other} reads ${at}`);
        s.delete('x', 'k');
      }
    } finally {
      o.close();
    }
  });
});
