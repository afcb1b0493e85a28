'use strict';
// Cross-engine tests: one engine writes, the other reads, in one thread, across worker_threads
// and across processes.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { forEachEngine, uniqueName } = require('../helpers/engines');
const { inWorker, inProcess } = require('../helpers/actors');
const { xxh32 } = require('../../lib/base/xxhash');
const { C, S, W, H, BASE, AT, UNIT_WORDS, UNIT_HALFS, SIZE_CLASSES, storeRegions } = require('../../lib/layout/layout');

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
        const off = u * C.BLOCK_UNIT;
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

// verify() of the native and of the JS engine on two copies of the same damaged bytes must be
// identical, report and all (docs/api.md, store.verify()); so must the stores a repair pass
// leaves behind.
describe('interop: verify() and repair() of the same damaged store', () => {
  const FREE_HEAD = AT.HEADER.FREE_HEAD;
  const GRANTED = AT.HEADER.GRANTED_ENTRIES;
  const cell = (u32, k, w) => (storeRegions(BUCKETS).cells + k * storeRegions(BUCKETS).cellSize) / 4 + w;
  const MAX_ENTRIES = AT.HEADER.MAX_ENTRIES;
  const HEADS = AT.ALLOC_STATE.FREE_HEADS;
  const NS_LIVE = AT.NS_STATE.LIVE_COUNT;
  const bucket = (b, field) => BASE.BUCKET + b * W.BUCKET.WORDS + field;
  // The stores here have the default namespace area.
  const ns = (id, field) => storeRegions(BUCKETS).namespaces / 4 + id * W.NAMESPACE.WORDS + field;
  const ent = (u, field) => u * UNIT_WORDS + field;
  const next = (u) => ent(u, W.ENTRY.NEXT);
  const keyByte = (u) => u * C.BLOCK_UNIT + C.ENTRY_HEADER_SIZE; // the first byte of the key
  const keyLength = (u32, u) => new Uint16Array(u32.buffer, 0, u32.length * 2)[u * UNIT_HALFS + H.ENTRY.KEY_LENGTH];
  const BUCKETS = 4;
  const LOCK_WORDS = new Set([AT.ALLOC_STATE.LOCK, AT.NS_STATE.LOCK, AT.REPAIR_STATE.LOCK]);
  for (let b = 0; b < BUCKETS; b++) LOCK_WORDS.add(bucket(b, W.BUCKET.LOCK));

  // The store every case damages: two namespaces, chains of several entries, and free blocks of
  // two classes (the deletes).
  let base;
  before(() => {
    const s = Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine: 'js', buckets: BUCKETS });
    for (let i = 0; i < 24; i++) s.set('a', `k${i}`, i % 3 ? `value ${i}` : 'x'.repeat(40 + i));
    for (let i = 0; i < 6; i++) s.set('b', `k${i}`, { i });
    for (const i of [1, 3, 6, 9]) s.delete('a', `k${i}`);
    base = s.buffer;
    s.close();
  });

  const chain = (u32, b) => {
    const out = [];
    for (let u = u32[bucket(b, W.BUCKET.HEAD)]; u !== 0; u = u32[next(u)]) out.push(u);
    return out;
  };
  const freeList = (u32, c) => {
    const out = [];
    for (let u = u32[HEADS + c]; u !== 0; u = u32[next(u)]) out.push(u);
    return out;
  };
  const classOf = (u32, u) => (u32[ent(u, W.ENTRY.FLAGS)] >>> C.FLAG_CLASS_SHIFT) & C.FLAG_CLASS_MASK;
  const longest = (u32) => [...Array(BUCKETS).keys()].sort((x, y) => chain(u32, y).length - chain(u32, x).length)[0];
  const nonEmptyFreeList = (u32) => SIZE_CLASSES.findIndex((_, c) => u32[HEADS + c] !== 0);

  // Each case damages the bytes of an attached store (the same way in both copies).
  const CASES = {
    'a cycle in a chain': (u32) => {
      const c = chain(u32, longest(u32));
      const last = c.at(-1);
      u32[next(last)] = c[0];
    },
    'a chain through a shared tail': (u32) => {
      const c0 = chain(u32, 0);
      const c1 = chain(u32, 1);
      const last = c1.at(-1);
      u32[next(last)] = c0[1];
    },
    'an entry with a bad checksum': (u32, u8) => {
      const u = chain(u32, longest(u32))[1];
      u8[keyByte(u) + keyLength(u32, u) + 1] ^= 0x20; // layout-ok: a byte of the value
    },
    'an entry whose key does not match its keyHash': (u32, u8) => {
      const u = chain(u32, 0)[0];
      u8[keyByte(u)] ^= 1;
    },
    'a wrong bucket count': (u32) => {
      u32[bucket(2, W.BUCKET.COUNT)] += 3;
    },
    'an entry in the wrong bucket': (u32) => {
      const from = chain(u32, 0);
      const to = chain(u32, 1);
      u32[bucket(0, W.BUCKET.HEAD)] = u32[next(from[0])];
      u32[next(from[0])] = to[0];
      u32[bucket(1, W.BUCKET.HEAD)] = from[0];
    },
    'an entry of a namespace that is not live': (u32) => {
      new Uint16Array(u32.buffer, 0, u32.length * 2)[chain(u32, 3)[0] * UNIT_HALFS + H.ENTRY.NAMESPACE_ID] = 9;
    },
    'a head out of range': (u32) => {
      u32[bucket(1, W.BUCKET.HEAD)] = 0x7fffffff;
    },
    'a link into the middle of a block': (u32) => {
      const c = chain(u32, longest(u32));
      const big = c.find((u) => classOf(u32, u) > 0);
      u32[next(c[0])] = big + 1;
    },
    'a leaked unit': (u32) => {
      const u = u32[FREE_HEAD];
      u32[ent(u, W.ENTRY.FLAGS)] = 0;
      u32[FREE_HEAD] = u + 1;
    },
    'a block with an invalid size class': (u32) => {
      const last = chain(u32, 2).at(-1);
      u32[ent(last, W.ENTRY.FLAGS)] = 0x7700;
    },
    'freeHead beyond the store': (u32) => {
      u32[FREE_HEAD] = (1 << 20) / C.BLOCK_UNIT + 3;
    },
    'a free list whose head is a live entry': (u32) => {
      const c = nonEmptyFreeList(u32);
      const live = chain(u32, 0).find((u) => classOf(u32, u) === c);
      u32[next(live)] = 0;
      u32[HEADS + c] = live;
    },
    'a free list with a cycle': (u32) => {
      const c = nonEmptyFreeList(u32);
      const list = freeList(u32, c);
      const last = list.at(-1);
      u32[next(last)] = list[0];
    },
    'a free block without FREE, on the list of another class': (u32) => {
      const c = nonEmptyFreeList(u32);
      const u = freeList(u32, c)[0];
      u32[ent(u, W.ENTRY.FLAGS)] = c << C.FLAG_CLASS_SHIFT;
      const other = HEADS + c + 1; // the list of the next class
      u32[HEADS + c] = u32[next(u)];
      u32[next(u)] = u32[other];
      u32[other] = u;
    },
    'a free list pointing out of the pool': (u32) => {
      const list = HEADS + 7;
      u32[list] = 5; // unit 5 is in the header
    },
    'a namespace record with nameLength 0': (u32) => {
      u32[ns(1, W.NAMESPACE.NAME_LENGTH)] = 0;
    },
    'a namespace record with nameLength 256': (u32) => {
      u32[ns(2, W.NAMESPACE.NAME_LENGTH)] = C.MAX_NAMESPACE_BYTES + 1;
    },
    'a namespace record with nameLength 2^32 - 1': (u32) => {
      u32[ns(1, W.NAMESPACE.NAME_LENGTH)] = 0xffffffff;
    },
    'a duplicate key on a chain': (u32, u8) => {
      const b = longest(u32);
      const first = u32[bucket(b, W.BUCKET.HEAD)];
      const cls = classOf(u32, first);
      const copy = u32[FREE_HEAD];
      u8.copyWithin(copy * C.BLOCK_UNIT, first * C.BLOCK_UNIT, (first + SIZE_CLASSES[cls]) * C.BLOCK_UNIT);
      u32[FREE_HEAD] = copy + SIZE_CLASSES[cls];
      u32[next(copy)] = u32[next(first)];
      u32[next(first)] = copy;
      u32[bucket(b, W.BUCKET.COUNT)]++;
    },
    'wrong counts': (u32) => {
      u32[GRANTED] += 2;
      u32[cell(u32, 3, W.COUNT_CELL.ENTRIES)] += 3;
      u32[cell(u32, 0, W.COUNT_CELL.WORDS + 2)] -= 1; // layout-ok: namespace 2's count follows the cell's head
      u32[NS_LIVE] = 7;
    },
    'a changed immutable header field': (u32) => {
      u32[MAX_ENTRIES] += 1;
    },
    'everything at once': (u32, u8) => {
      // The cycles last: the helpers above walk the chains and lists.
      for (const name of ['an entry with a bad checksum', 'a wrong bucket count', 'a leaked unit',
        'a namespace record with nameLength 256', 'wrong counts', 'a free list with a cycle', 'a cycle in a chain']) {
        CASES[name](u32, u8);
      }
    },
  };

  // The bytes of a store with every lock word cleared (their versions depend on how many
  // heartbeats each engine's pass made).
  const withoutLocks = (buffer) => {
    const u32 = new Uint32Array(buffer.slice(0));
    for (const w of LOCK_WORDS) u32[w] = 0;
    return Buffer.from(u32.buffer);
  };

  for (const [name, damage] of Object.entries(CASES)) {
    it(name, () => {
      const stores = ['native', 'js'].map((engine) => {
        const copy = new SharedArrayBuffer(base.byteLength);
        new Uint8Array(copy).set(new Uint8Array(base));
        return Store.attach(copy, { engine });
      });
      try {
        for (const s of stores) damage(new Uint32Array(s.buffer), new Uint8Array(s.buffer));
        assert.deepStrictEqual(Buffer.from(stores[1].buffer), Buffer.from(stores[0].buffer));
        const [native, js] = stores.map((s) => s.verify());
        assert.strictEqual(native.ok, false, 'the damage is seen');
        assert.deepStrictEqual(js, native);
        if (name === 'a changed immutable header field') return; // not something repair mends
        for (const s of stores) s.repair();
        const [n2, j2] = stores.map((s) => s.verify());
        assert.ok(n2.ok, n2.errors.join('\n'));
        assert.deepStrictEqual(j2, n2);
        assert.ok(withoutLocks(stores[1].buffer).equals(withoutLocks(stores[0].buffer)),
          'the repair passes left different bytes');
      } finally {
        for (const s of stores) s.close();
      }
    });
  }
});
