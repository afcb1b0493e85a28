'use strict';
// store.keys(ns), store.entries(ns) and store.count(ns?) (docs/api.md): listing and counting per
// namespace and in total, reads over an entry with a bad checksum, and counts that never wrap.
const assert = require('assert');
const { C, S } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');
const { inWorkerWithin } = require('../helpers/actors');
const { setCount, chain } = require('../helpers/store-bytes');

forEachEngine('store.keys() / store.entries() / store.count()', ({ engine, make }) => {
  it('lists keys and entries, and counts', () => {
    const s = make();
    const want = new Map();
    for (let i = 0; i < 500; i++) {
      want.set(`key:${i}`, { i });
      s.set('list', `key:${i}`, { i });
    }
    s.set('other', 'x', 1);
    assert.deepStrictEqual(s.keys('list').sort(), [...want.keys()].sort());
    const entries = new Map(s.entries('list'));
    assert.deepStrictEqual(entries, want);
    assert.strictEqual(s.count('list'), 500);
    assert.strictEqual(s.count(), 501);
    assert.deepStrictEqual(s.keys('nothing'), []);
    assert.deepStrictEqual(s.entries('nothing'), []);
  });

  it('keys() and entries() over an entry with a bad checksum return', async function () {
    this.timeout(30000);
    const s = make({ buckets: 1 });
    s.set('a', 'k1', 'hello');
    s.set('a', 'k2', 'world');
    const u8 = new Uint8Array(s.buffer);
    const u32 = new Uint32Array(s.buffer);
    const k1 = chain(u32)[1];
    u8[k1 * C.BLOCK_UNIT + S.ENTRY.SIZE + 'k1'.length] ^= 0x20; // the first byte of k1's value
    const r = await inWorkerWithin(15000, engine, s.buffer, 'keys', ['a']);
    assert.ok(!r.error || r.error.code === 'ERR_CORRUPT', JSON.stringify(r));
    if (!r.error) assert.deepStrictEqual(r.value, ['k2']);
    const r2 = await inWorkerWithin(15000, engine, s.buffer, 'entries', ['a']);
    assert.ok(!r2.error, JSON.stringify(r2));
    assert.deepStrictEqual(r2.value, [['k2', 'world']]);
    assert.ok(s.verify().ok);
  });

  it('a count left below what the store holds reads 0 when its sum goes below 0, and repair recounts', () => {
    const s = make({ buckets: 1 });
    s.set('a', 'k', 'v');
    s.set('a', 'k2', 'v');
    s.set('a', 'k3', 'v');
    // As a writer killed between linking its entry and counting it would leave them, twice over.
    const u32 = new Uint32Array(s.buffer);
    setCount(u32, 1, 0);
    setCount(u32, 0, 0);
    assert.strictEqual(s.delete('a', 'k'), true);
    assert.strictEqual(s.count('a'), 0); // a sum of -1: never 2^32 - 1
    assert.strictEqual(s.count(), 0);
    assert.strictEqual(s.clear('a'), 2);
    assert.strictEqual(s.count('a'), 0);
    assert.strictEqual(s.count(), 0);
    s.set('a', 'k4', 'v');
    const v = s.verify();
    assert.ok(!v.ok && v.errors.some((e) => /count cells: .* entries, found 1/.test(e)), v.errors.join('\n'));
    s.repair();
    assert.strictEqual(s.count('a'), 1);
    assert.strictEqual(s.count(), 1);
    assert.ok(s.verify().ok);
  });
});
