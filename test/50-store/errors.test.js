'use strict';
// Store errors (docs/api.md): a call rejected for its arguments leaves the store exactly as it
// was; ERR_STORE_FULL leaves every entry as it was and the store usable; ERR_LOCK_TIMEOUT inside
// a bucket lock releases that lock and undoes what the call had reserved.
const assert = require('assert');
const { C, W, AT, entriesOffset } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');
const { bucketWord, ownAs, freeOwner, lockedBy } = require('../helpers/store-bytes');

const ALLOC_LOCK = AT.ALLOC_STATE.LOCK;
const LOCK0 = bucketWord(0, W.BUCKET.LOCK);

const NOT_STRINGS = [undefined, null, 1, {}, [], Symbol('s'), () => {}, 1n];

function snapshot(store) {
  return Buffer.from(new Uint8Array(store.buffer)).toString('base64');
}

forEachEngine('Store errors: bad arguments', ({ make }) => {
  it('rejects bad namespaces, keys and values without changing the store', () => {
    const s = make();
    s.set('ok', 'k', 'v');
    const before = snapshot(s);
    for (const bad of NOT_STRINGS) {
      assert.throws(() => s.set(bad, 'k', 'v'), TypeError);
      assert.throws(() => s.set('ok', bad, 'v'), TypeError);
      assert.throws(() => s.get(bad, 'k'), TypeError);
      assert.throws(() => s.get('ok', bad), TypeError);
      assert.throws(() => s.has('ok', bad), TypeError);
      assert.throws(() => s.delete('ok', bad), TypeError);
      assert.throws(() => s.clear(bad), TypeError);
      assert.throws(() => s.keys(bad), TypeError);
      assert.throws(() => s.entries(bad), TypeError);
      assert.throws(() => s.namespace(bad), TypeError);
      if (bad !== undefined) assert.throws(() => s.count(bad), TypeError);
    }
    assert.throws(() => s.set('', 'k', 'v'), RangeError);
    assert.throws(() => s.set('n'.repeat(256), 'k', 'v'), RangeError);
    assert.throws(() => s.set('é'.repeat(128), 'k', 'v'), RangeError);
    assert.throws(() => s.set('ok', 'k'.repeat(1025), 'v'), { name: 'RangeError', code: 'ERR_KEY_TOO_LONG' });
    assert.throws(() => s.set('ok', '€'.repeat(342), 'v'), { name: 'RangeError', code: 'ERR_KEY_TOO_LONG' });
    assert.throws(() => s.get('ok', 'k'.repeat(1025)), RangeError);
    // Values: at most C.MAX_VALUE_BYTES (64 MiB) encoded bytes.
    const over = C.MAX_VALUE_BYTES + 1;
    assert.throws(() => s.set('ok', 'k', 'v'.repeat(over)), { name: 'RangeError', code: 'ERR_VALUE_TOO_LONG' });
    assert.throws(() => s.set('ok', 'k', '€'.repeat(Math.ceil(over / 3))), { name: 'RangeError', code: 'ERR_VALUE_TOO_LONG' });
    assert.throws(() => s.set('ok', 'k', Buffer.alloc(over)), { name: 'RangeError', code: 'ERR_VALUE_TOO_LONG' });
    assert.throws(() => s.set('ok', 'k', { big: 'x'.repeat(over) }), RangeError);
    for (const v of [undefined, () => {}, Symbol('v'), 1n]) assert.throws(() => s.set('ok', 'k', v), TypeError);
    for (const v of [NaN, Infinity, -Infinity]) assert.throws(() => s.set('ok', 'k', v), RangeError);
    const cyclic = {};
    cyclic.self = cyclic;
    assert.throws(() => s.set('ok', 'k', cyclic), TypeError);
    assert.throws(() => s.getMany('ok', 'k'), TypeError);
    assert.throws(() => s.getMany('ok', ['a', 2]), TypeError);
    assert.throws(() => s.setMany('ok', 5), TypeError);
    assert.throws(() => s.setMany('ok', [['a']]), TypeError);
    assert.throws(() => s.setMany('ok', [['a', 1], ['b', undefined]]), TypeError);
    assert.throws(() => s.setMany('ok', [['a', 1], [2, 1]]), TypeError);
    assert.throws(() => s.namespace('ok').forEach(5), TypeError);
    assert.strictEqual(snapshot(s), before, 'rejected calls changed the store');
    assert.strictEqual(s.get('ok', 'k'), 'v');
    assert.strictEqual(s.get('ok', 'a'), undefined);
  });
});

forEachEngine('Store errors: ERR_STORE_FULL', ({ make }) => {
  it('reports ERR_STORE_FULL when entries or space run out, and stays usable', () => {
    const s = make({ maxEntries: 10 });
    for (let i = 0; i < 10; i++) s.set('f', `k${i}`, i);
    assert.throws(() => s.set('f', 'k10', 10), { code: 'ERR_STORE_FULL' });
    s.set('f', 'k0', 'overwrite is fine when full');
    s.delete('f', 'k1');
    s.set('f', 'k10', 10);
    assert.strictEqual(s.count(), 10);
    const small = make({ size: entriesOffset(64) + 24 * 1024, buckets: 64 }); // a pool of 24 KiB
    let n = 0;
    assert.throws(() => {
      for (;;) small.set('f', `key${n++}`, 'x'.repeat(1000));
    }, { code: 'ERR_STORE_FULL' });
    assert.strictEqual(small.count(), n - 1);
    assert.strictEqual(small.get('f', 'key0'), 'x'.repeat(1000));
    assert.ok(small.verify().ok);
  });
});

forEachEngine('Store errors: ERR_LOCK_TIMEOUT inside a bucket lock', ({ make }) => {
  it('releases the bucket lock and undoes the reservation when the allocator lock times out', () => {
    const s = make({ buckets: 1, lockTimeoutMs: 2 });
    const u32 = new Uint32Array(s.buffer);
    s.set('a', 'old', 'v');
    // The allocator lock held by owner slot 4000, a live process that is not this one.
    const slot = 4000;
    ownAs(u32, slot, process.ppid);
    const saved = u32[ALLOC_LOCK];
    u32[ALLOC_LOCK] = lockedBy(saved, slot);
    try {
      // A value of another size class: no block the first insert may have parked fits it, so this
      // insert needs the allocator (format.md §8, "Parked blocks").
      assert.throws(() => s.set('a', 'new', 'v'.repeat(100)), { code: 'ERR_LOCK_TIMEOUT' });
      assert.strictEqual(u32[LOCK0] & 1, 0, 'set left the bucket lock held');
      assert.strictEqual(s.count(), 1);
      assert.strictEqual(s.count('a'), 1);
      // A delete that cannot free its block still removes the entry and releases the lock.
      assert.strictEqual(s.delete('a', 'old'), true);
      assert.strictEqual(u32[LOCK0] & 1, 0, 'delete left the bucket lock held');
      assert.strictEqual(s.count(), 0);
      assert.strictEqual(s.get('a', 'old'), undefined);
    } finally {
      u32[ALLOC_LOCK] = (saved + 2) & C.LOCK_VERSION_MASK;
      freeOwner(u32, slot);
    }
    s.repair(); // reclaims the block the delete could not free
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
    s.set('a', 'new', 'v2');
    assert.strictEqual(s.get('a', 'new'), 'v2');
  });
});
