'use strict';
// Namespaces at scale (format.md §5): a store sized by maxNamespaces holds exactly that many, the
// one after is refused with nothing changed, names of up to 255 UTF-8 bytes (multi-byte characters
// at the boundary), drops and reuse at a full table, and the name index under churn against a
// model, with handles of both engines on the same bytes.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { C } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');
const { nsRegions } = require('../helpers/store-bytes');

const other = (engine) => (engine === 'js' ? 'native' : 'js');
const tooMany = (e) => e instanceof RangeError && e.code === 'ERR_TOO_MANY_NAMESPACES';

forEachEngine('namespaces at scale', ({ engine, make }) => {
  it('Store.create({ maxNamespaces }) takes 1 to 65535 and records it; anything else is refused', () => {
    for (const bad of [0, 65536, -1, 1.5]) {
      assert.throws(() => make({ maxNamespaces: bad }), RangeError, String(bad));
    }
    for (const bad of ['10', null, 10n]) assert.throws(() => make({ maxNamespaces: bad }), TypeError, String(bad));
    const one = make({ maxNamespaces: 1 });
    assert.strictEqual(one.stats().maxNamespaces, 1);
    one.set('only', 'k', 1);
    assert.throws(() => one.set('second', 'k', 2), tooMany);
    assert.deepStrictEqual(one.namespaces(), ['only']);
    assert.strictEqual(one.dropNamespace('only'), 1);
    one.set('second', 'k', 2);
    assert.deepStrictEqual(one.namespaces(), ['second']);
    assert.deepStrictEqual(one.verify().errors, []);
    assert.strictEqual(make().stats().maxNamespaces, C.DEFAULT_MAX_NAMESPACES);
  });

  it('65535 namespaces: all found by both engines, the 65536th refused with the store unchanged, drop and reuse at a full table', function () {
    this.timeout(300000);
    const max = C.MAX_NAMESPACES;
    const s = make({ buffer: new SharedArrayBuffer(48 << 20), maxNamespaces: max, buckets: 1 << 16 });
    for (let i = 1; i <= max; i++) s.set(`tenant-${i}`, 'k', i);
    assert.strictEqual(s.stats().namespaces, max);
    assert.strictEqual(s.count(), max);
    const before = s.count();
    assert.throws(() => s.set('one-too-many', 'k', 0), tooMany);
    assert.throws(() => s.namespace('one-too-many').set('k', 0), tooMany);
    assert.strictEqual(s.count(), before);
    assert.strictEqual(s.count('one-too-many'), 0);
    assert.strictEqual(s.namespaces().length, max);
    // The other engine resolves every name through the index of the same bytes.
    const o = Store.attach(s.buffer, { engine: other(engine) });
    try {
      for (let i = 1; i <= max; i += 97) assert.strictEqual(o.get(`tenant-${i}`, 'k'), i);
      assert.strictEqual(o.get(`tenant-${max}`, 'k'), max);
      assert.strictEqual(o.get('tenant-0', 'k'), undefined);
      // Drop a few at the full table; their ids are reused, by either engine.
      for (const i of [1, 30000, max]) assert.strictEqual(o.dropNamespace(`tenant-${i}`), 1);
      s.set('new-a', 'k', 'a');
      o.set('new-b', 'k', 'b');
      s.set('new-c', 'k', 'c');
      assert.throws(() => o.set('new-d', 'k', 'd'), tooMany);
      assert.strictEqual(s.get('new-b', 'k'), 'b');
      assert.strictEqual(o.get('new-c', 'k'), 'c');
      assert.strictEqual(s.get('tenant-30000', 'k'), undefined);
      assert.strictEqual(o.get('tenant-29999', 'k'), 29999);
      const stats = s.stats();
      assert.strictEqual(stats.namespaces, max);
      assert.strictEqual(Object.keys(stats.namespaceCounts).length, max);
      assert.deepStrictEqual(s.verify().errors, []);
      assert.deepStrictEqual(o.verify().errors, []);
    } finally {
      o.close();
    }
  });

  it('names of up to 255 UTF-8 bytes, multi-byte characters at the boundary; 256 is a RangeError and changes nothing', () => {
    const s = make();
    const fits = ['a'.repeat(255), `${'a'.repeat(253)}é`, `${'b'.repeat(251)}😀`, `${'c'.repeat(252)}€`, 'ü'.repeat(127)];
    const over = ['a'.repeat(256), `${'a'.repeat(254)}é`, `${'b'.repeat(252)}😀`, `${'c'.repeat(253)}€`, 'ü'.repeat(128)];
    for (const n of fits) assert.ok(Buffer.byteLength(n) <= 255);
    for (const n of over) assert.strictEqual(Buffer.byteLength(n), 256);
    fits.forEach((n, i) => s.set(n, 'k', i));
    for (const n of over) {
      assert.throws(() => s.set(n, 'k', 1), RangeError);
      assert.throws(() => s.get(n, 'k'), RangeError);
      assert.throws(() => s.namespace(n), RangeError);
      assert.throws(() => s.dropNamespace(n), RangeError);
    }
    assert.deepStrictEqual(s.namespaces().sort(), [...fits].sort());
    assert.strictEqual(s.count(), fits.length);
    const o = Store.attach(s.buffer, { engine: other(engine) });
    try {
      fits.forEach((n, i) => assert.strictEqual(o.get(n, 'k'), i));
      assert.deepStrictEqual(o.namespaces().sort(), [...fits].sort());
      // A name that is a prefix of a longer one is another namespace.
      assert.strictEqual(o.get('a'.repeat(254), 'k'), undefined);
    } finally {
      o.close();
    }
    assert.deepStrictEqual(s.verify().errors, []);
  });

  it('a damaged name index: verify() reports a wrong tag, a lost id and a stray id; repair rebuilds it from the records', () => {
    const s = make({ maxNamespaces: 30 });
    for (let i = 0; i < 8; i++) s.set(`n${i}`, 'k', i);
    const u32 = new Uint32Array(s.buffer);
    const r = nsRegions(u32);
    const base = r.index / 4;
    const used = [];
    for (let i = 0; i < r.indexSlots; i++) if (u32[base + i] !== 0) used.push(i);
    assert.strictEqual(used.length, 8);
    const [a, b] = used;
    const idA = u32[base + a] & C.NS_INDEX_ID_MASK;
    u32[base + a] = (u32[base + a] ^ 0x10000) >>> 0; // a wrong tag: the name is not found
    u32[base + b] = 0; // a lost id
    const stray = used.length === r.indexSlots ? 0 : [...Array(r.indexSlots).keys()].find((i) => !used.includes(i));
    u32[base + stray] = 20; // an id whose record is free
    const errors = s.verify().errors;
    assert.ok(errors.includes(`namespace ${idA}: not found through the name index`), errors.join('\n'));
    assert.ok(errors.some((e) => /has a tag that is not its name's/.test(e)), errors.join('\n'));
    assert.ok(errors.includes(`name index: slot ${stray} holds 20, not a live namespace`), errors.join('\n'));
    const o = Store.attach(s.buffer, { engine: other(engine) });
    try {
      assert.deepStrictEqual(o.verify().errors, errors, 'both engines report the same');
      o.repair();
      assert.deepStrictEqual(s.verify().errors, []);
      // A fresh handle finds every name through the rebuilt index.
      const fresh = Store.attach(s.buffer, { engine });
      for (let i = 0; i < 8; i++) assert.strictEqual(fresh.get(`n${i}`, 'k'), i);
      fresh.close();
    } finally {
      o.close();
    }
  });

  it('the name index under churn: random creates and drops by both engines agree with a model', () => {
    // 24 namespaces in 32 index slots: long probe runs, so drops move ids back (format.md §5).
    const s = make({ maxNamespaces: 24, buckets: 64 });
    const o = Store.attach(s.buffer, { engine: other(engine) });
    try {
      const model = new Map();
      let seed = 12345;
      const rnd = (n) => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return seed % n;
      };
      for (let step = 0; step < 3000; step++) {
        const h = rnd(2) ? s : o;
        const name = `n${rnd(40)}`;
        if (rnd(3) === 0 && model.has(name)) {
          assert.strictEqual(h.dropNamespace(name), 1);
          model.delete(name);
        } else if (!model.has(name) && model.size === 24) {
          assert.throws(() => h.set(name, 'v', step), tooMany);
        } else {
          h.set(name, 'v', step);
          model.set(name, step);
        }
        if (step % 100 === 0) {
          for (let i = 0; i < 40; i++) {
            const n = `n${i}`;
            assert.strictEqual(s.get(n, 'v'), model.get(n), `${n} at step ${step}`);
            assert.strictEqual(o.get(n, 'v'), model.get(n), `${n} at step ${step}`);
          }
          assert.deepStrictEqual(s.verify().errors, [], `step ${step}`);
        }
      }
      assert.deepStrictEqual(s.namespaces().sort(), [...model.keys()].sort());
      s.repair(); // rebuilds the index from the records: the same answers after
      for (const [n, v] of model) assert.strictEqual(o.get(n, 'v'), v);
      assert.deepStrictEqual(o.verify().errors, []);
    } finally {
      o.close();
    }
  });
});
