'use strict';
// Cross-engine tests: one engine writes, the other reads, in one thread, across worker_threads
// and across processes.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { forEachEngine, uniqueName } = require('../helpers/engines');
const { inWorker, inProcess } = require('../helpers/actors');
const { xxh32 } = require('../../lib/base/xxhash');
const { C, S } = require('../../lib/layout/layout');

const SAMPLE = [
  ['s', 'text ✓'],
  ['b', Buffer.from([1, 2, 3, 250])],
  ['j', { deep: [1, { two: 2 }], s: 'x' }],
  ['n', 3.5],
  ['z', null],
];

function expectSample(got, prefix = '') {
  for (const [k, v] of SAMPLE) {
    const g = got[prefix + k];
    if (Buffer.isBuffer(v)) assert.deepStrictEqual([...Buffer.from(g.data || g)], [...v], k);
    else assert.deepStrictEqual(g, v, k);
  }
}

forEachEngine('interop', ({ engine, other, make }) => {
  it(`${engine} writes, ${other} reads and writes back, in one thread`, () => {
    const a = make();
    for (const [k, v] of SAMPLE) a.set('x', k, v);
    const b = Store.attach(a.buffer, { engine: other });
    try {
      const got = Object.fromEntries(SAMPLE.map(([k]) => [k, b.get('x', k)]));
      expectSample(got);
      for (const [k, v] of SAMPLE) b.set('x', `back-${k}`, v);
      b.delete('x', 's');
      const back = Object.fromEntries(SAMPLE.map(([k]) => [`back-${k}`, a.get('x', `back-${k}`)]));
      expectSample(back, 'back-');
      assert.strictEqual(a.get('x', 's'), undefined);
      assert.strictEqual(a.count('x'), b.count('x'));
      assert.ok(b.verify().ok);
      assert.ok(a.verify().ok);
    } finally {
      b.close();
    }
  });

  it(`${engine} writes, ${other} reads in a worker thread, and the reverse`, async () => {
    const a = make();
    for (const [k, v] of SAMPLE) a.set('x', k, v);
    const { done } = inWorker({
      op: 'exchange', engine: other, buffer: a.buffer,
      read: SAMPLE.map(([k]) => k), write: SAMPLE.map(([k, v]) => [`w-${k}`, v]),
    });
    const r = await done;
    expectSample(r.seen);
    assert.ok(r.verify);
    expectSample(Object.fromEntries(SAMPLE.map(([k]) => [`w-${k}`, a.get('x', `w-${k}`)])), 'w-');
  });

  it(`${engine} writes, ${other} reads in another process, and the reverse`, async () => {
    const name = uniqueName('interop');
    const a = Store.create({ name, size: 1 << 22, engine });
    try {
      for (const [k, v] of SAMPLE) a.set('x', k, v);
      const { done } = inProcess({
        op: 'exchange', engine: other, name,
        read: SAMPLE.map(([k]) => k), write: SAMPLE.map(([k, v]) => [`p-${k}`, v]),
      });
      const r = await done;
      expectSample(r.seen);
      assert.ok(r.verify);
      expectSample(Object.fromEntries(SAMPLE.map(([k]) => [`p-${k}`, a.get('x', `p-${k}`)])), 'p-');
    } finally {
      a.close();
      require('../../lib/segment/segment').Segment.unlink({ name });
    }
  });

  it(`key hashes and checksums written by ${engine} match XXH32 in JS bit for bit`, () => {
    const s = make({ size: 1 << 24 });
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const keys = new Set();
    while (keys.size < 3000) {
      const len = Math.floor(rnd() * 201);
      let k = '';
      for (let i = 0; i < len; i++) {
        k += rnd() < 0.8 ? String.fromCharCode(32 + Math.floor(rnd() * 95))
          : String.fromCodePoint([0xe9, 0x4e2d, 0x1f600, 0x3b1][Math.floor(rnd() * 4)]);
      }
      keys.add(k);
    }
    for (const k of keys) s.set('h', k, `v${k.length}`);
    const u8 = new Uint8Array(s.buffer);
    const dv = new DataView(s.buffer);
    const id = s._id('h', false);
    const seen = new Set();
    // Walk every chain and check each entry's stored hash and checksum.
    const E = S.ENTRY;
    const bc = dv.getUint32(S.HEADER.BUCKET_COUNT, true);
    for (let b = 0; b < bc; b++) {
      let u = dv.getUint32(C.BUCKETS_OFFSET + b * S.BUCKET.SIZE + S.BUCKET.HEAD, true);
      while (u) {
        const off = u * C.UNIT;
        const kl = dv.getUint16(off + E.KEY_LENGTH, true);
        const vl = dv.getUint16(off + E.VALUE_LENGTH, true);
        const key = off + E.SIZE; // the key follows the entry header, the value follows the key
        const keyBytes = u8.slice(key, key + kl);
        const keyHash = dv.getUint32(off + E.KEY_HASH, true);
        assert.strictEqual(keyHash, xxh32(keyBytes, 0, kl, id));
        const enc = dv.getUint32(off + E.FLAGS, true) & C.FLAG_ENCODING_MASK;
        const all = u8.slice(key, key + kl + vl);
        assert.strictEqual(dv.getUint32(off + E.CHECKSUM, true), xxh32(all, 0, kl + vl, (keyHash ^ enc) >>> 0));
        seen.add(Buffer.from(keyBytes).toString());
        u = dv.getUint32(off + E.NEXT, true);
      }
    }
    assert.deepStrictEqual([...seen].sort(), [...keys].sort());
  });
});
