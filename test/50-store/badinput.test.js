'use strict';
// Bad input: wrong types and values for every method, corrupted and truncated stores. Each must
// give a clear error and leave the store exactly as it was.
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Store } = require('../../lib/store/store');
const { C, S } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');
const { exitedPid } = require('../helpers/process');
const { pidWord, tidWord } = require('../helpers/store-bytes');

const NOT_STRINGS = [undefined, null, 1, {}, [], Symbol('s'), () => {}, 1n];

function snapshot(store) {
  return Buffer.from(new Uint8Array(store.buffer)).toString('base64');
}

forEachEngine('bad input', ({ engine, make }) => {
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
    assert.throws(() => s.set('n'.repeat(49), 'k', 'v'), RangeError);
    assert.throws(() => s.set('é'.repeat(25), 'k', 'v'), RangeError);
    assert.throws(() => s.set('ok', 'k'.repeat(1025), 'v'), { name: 'RangeError', code: 'ERR_KEY_TOO_LONG' });
    assert.throws(() => s.set('ok', '€'.repeat(342), 'v'), { name: 'RangeError', code: 'ERR_KEY_TOO_LONG' });
    assert.throws(() => s.get('ok', 'k'.repeat(1025)), RangeError);
    assert.throws(() => s.set('ok', 'k', 'v'.repeat(65536)), { name: 'RangeError', code: 'ERR_VALUE_TOO_LONG' });
    assert.throws(() => s.set('ok', 'k', '€'.repeat(30000)), { name: 'RangeError', code: 'ERR_VALUE_TOO_LONG' });
    assert.throws(() => s.set('ok', 'k', Buffer.alloc(65536)), { name: 'RangeError', code: 'ERR_VALUE_TOO_LONG' });
    assert.throws(() => s.set('ok', 'k', { big: 'x'.repeat(70000) }), RangeError);
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

  it('repairs a chain that loops through corrupt entries', () => {
    const s = make({ buckets: 1 });
    s.set('n', 'k1', 'one');
    s.set('n', 'k2', 'two');
    const dv = new DataView(s.buffer);
    const head = dv.getUint32(C.BUCKETS_OFFSET + S.BUCKET.HEAD, true); // k2, which links to k1
    const tail = dv.getUint32(head * C.UNIT + S.ENTRY.NEXT, true);
    dv.setUint32(tail * C.UNIT + S.ENTRY.NEXT, head, true); // k1 -> k2: a cycle
    // Break both checksums: the first value byte follows the entry header and the 2-byte key.
    for (const u of [head, tail]) dv.setUint8(u * C.UNIT + S.ENTRY.SIZE + 'k1'.length, 0x7a);
    assert.strictEqual(s.verify().ok, false);
    s.repair();
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
    assert.strictEqual(s.count('n'), 0);
    s.set('n', 'k3', 'three');
    assert.strictEqual(s.get('n', 'k3'), 'three');
  });

  it('owner slots: a full table of live handles refuses, slots of dead processes are reused', () => {
    const s = make();
    s.set('n', 'k', 'v');
    const u32 = new Uint32Array(s.buffer);
    const deadPid = exitedPid();
    const fill = (pid) => {
      for (let o = 1; o < C.OWNER_SLOTS; o++) {
        if (u32[pidWord(o)] === 0) {
          u32[pidWord(o)] = pid;
          u32[tidWord(o)] = 999;
        }
      }
    };
    fill(process.pid);
    assert.throws(() => Store.attach(s.buffer, { engine }), { code: 'ERR_TOO_MANY_HANDLES' });
    // Make the filler slots look like a dead process's: the next attach adopts one.
    for (let o = 1; o < C.OWNER_SLOTS; o++) {
      if (u32[tidWord(o)] === 999) u32[pidWord(o)] = deadPid;
    }
    const t = Store.attach(s.buffer, { engine });
    assert.strictEqual(t.get('n', 'k'), 'v');
    t.set('n', 'k2', 'v2');
    assert.ok(t.stats().repairs >= 1);
    let stillDead = 0;
    for (let o = 1; o < C.OWNER_SLOTS; o++) if (u32[pidWord(o)] === deadPid) stillDead++;
    assert.strictEqual(stillDead, 0, 'the repair pass released the dead slots');
    t.close();
  });

  it('survives close() from user code that runs inside a call (an Array.prototype setter)', () => {
    const s = make();
    for (let i = 0; i < 50; i++) s.set('re', `k${i}`, i);
    Object.defineProperty(Array.prototype, '3', {
      configurable: true,
      set(v) {
        s.close();
        Object.defineProperty(this, '3', { value: v, writable: true, enumerable: true, configurable: true });
      },
    });
    try {
      try {
        s.keys('re');
      } catch (err) {
        assert.strictEqual(err.code, 'ERR_CLOSED');
      }
    } finally {
      delete Array.prototype[3];
    }
    assert.strictEqual(s.closed, true);
    assert.throws(() => s.get('re', 'k1'), { code: 'ERR_CLOSED' });
  });

  describe('corrupted and truncated files', () => {
    let dir;
    let file;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-'));
      file = path.join(dir, 'store.shm');
      const s = Store.create({ path: file, size: 1 << 20, engine });
      s.set('n', 'k', 'v');
      s.close();
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('survives a corrupted chain: reads miss or fail cleanly, repair restores consistency', () => {
      const s = Store.open({ path: file, engine });
      for (let i = 0; i < 50; i++) s.set('n', `k${i}`, i);
      const dv = new DataView(s.buffer);
      const bc = dv.getUint32(S.HEADER.BUCKET_COUNT, true);
      // Point every bucket head far outside the store.
      for (let b = 0; b < bc; b++) {
        const head = C.BUCKETS_OFFSET + b * S.BUCKET.SIZE + S.BUCKET.HEAD;
        if (dv.getUint32(head, true)) dv.setUint32(head, 0x7fffffff, true);
      }
      const v = s.verify();
      assert.strictEqual(v.ok, false);
      assert.ok(v.errors.some((e) => /out of range/.test(e)), v.errors.join('\n'));
      s.repair();
      assert.ok(s.verify().ok);
      s.set('n', 'fresh', 1);
      assert.strictEqual(s.get('n', 'fresh'), 1);
      s.close();
    });
  });
});
