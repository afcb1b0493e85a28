'use strict';
// What every pool kind's handle promises (lib/pool/handle.js): it is made only by create() or
// open() (the constructor is a TypeError), an open() that fails leaves no mapping and no
// descriptor of the segment behind, and Symbol.dispose closes it like close(), freeing the blocks
// it holds.
const assert = require('assert');
const { BufferPool, ObjectPool, MemoryPool, Segment } = require('../../index');
const { addon } = require('../../lib/base/native');
const { C, W } = require('../../lib/layout/layout');
const { uniqueName, removeShm, segmentUse } = require('../helpers/process');

const withAddon = addon ? describe : describe.skip;
// Each kind with a small shape and its acquire.
// Each kind with a small shape, its acquire, and the read-only properties its handle documents.
const KINDS = [
  {
    Class: BufferPool, shape: { blockSize: 64, blockCount: 4 }, bytes: () => BufferPool.bytesFor(4, 64), take: (p) => p.acquire(0),
    readOnly: ['blockSize', 'blockCount'],
  },
  {
    Class: ObjectPool, shape: { recordSize: 64, capacity: 4 }, bytes: () => ObjectPool.bytesFor(4, 64), take: (p) => p.acquire(0),
    readOnly: ['recordSize', 'capacity'],
  },
  {
    Class: MemoryPool, shape: { classes: [{ size: 64, count: 4 }] }, bytes: () => MemoryPool.bytesFor([{ size: 64, count: 4 }]),
    take: (p) => p.allocate(64, 0), readOnly: ['classes', 'maxSize'],
  },
];
const COMMON_READ_ONLY = ['buffer', 'byteOffset', 'closed'];

describe('Pools: handles', () => {
  for (const { Class, shape, bytes, take, readOnly } of KINDS) {
    it(`${Class.name}: the shape and the region a handle reports cannot be assigned (a TypeError in strict code) and stay the pool's`, () => {
      const pool = Class.create({ buffer: new SharedArrayBuffer(bytes() + 64), byteOffset: 64, ...shape });
      try {
        for (const key of [...readOnly, ...COMMON_READ_ONLY]) {
          const before = pool[key];
          assert.throws(() => {
            pool[key] = 7;
          }, TypeError, key);
          assert.deepStrictEqual(pool[key], before, key);
        }
        for (const [key, value] of Object.entries(shape)) assert.deepStrictEqual(pool[key], value, key);
        assert.strictEqual(pool.byteOffset, 64);
      } finally {
        pool.close();
      }
    });

    it(`${Class.name} cannot be constructed directly; Symbol.dispose closes a handle and frees its blocks`, function () {
      assert.throws(() => new Class(), (e) => e instanceof TypeError && e.message.includes(`${Class.name}.create()`));
      assert.throws(() => new Class(Symbol('token'), { buffer: new SharedArrayBuffer(1 << 16), byteOffset: 0 }), TypeError);
      if (typeof Symbol.dispose !== 'symbol') this.skip();
      const buffer = new SharedArrayBuffer(bytes());
      const pool = Class.create({ buffer, ...shape });
      const other = Class.open({ buffer });
      take(pool);
      take(pool);
      assert.strictEqual(other.stats().held, 2);
      pool[Symbol.dispose]();
      assert.strictEqual(pool.closed, true);
      assert.throws(() => take(pool), { code: 'ERR_CLOSED' });
      assert.strictEqual(other.stats().held, 0);
      pool[Symbol.dispose](); // idempotent
      other[Symbol.dispose]();
    });
  }

  it('close() with Promise-form calls pending rejects each with an error of its own (one ERR_CLOSED each)', async () => {
    const asyncTake = { BufferPool: (p) => p.acquireAsync(), ObjectPool: (p) => p.acquireAsync(), MemoryPool: (p) => p.allocateAsync(64) };
    for (const { Class, shape, bytes, take } of KINDS) {
      const buffer = new SharedArrayBuffer(bytes());
      const full = Class.create({ buffer, ...shape });
      while (full.stats().free > 0) take(full);
      const pool = Class.open({ buffer });
      const pending = [1, 2, 3].map(() => asyncTake[Class.name](pool).then(() => assert.fail('resolved'), (e) => e));
      pool.close();
      const errors = await Promise.all(pending);
      assert.strictEqual(new Set(errors).size, errors.length, Class.name);
      for (const e of errors) assert.ok(e.code === 'ERR_CLOSED' && e.message === errors[0].message, Class.name);
      errors[0].note = 'mine';
      assert.ok(errors.slice(1).every((e) => e.note === undefined), Class.name);
      full.close();
    }
  });

  withAddon('segments', () => {
    it('a handle opened on another handle\'s buffer keeps sharing the pool after that handle closes', () => {
      const name = uniqueName('pool-held');
      try {
        const first = BufferPool.create({ name, blockSize: 64, blockCount: 4 });
        const second = BufferPool.open({ buffer: first.buffer });
        first.close();
        second.acquire(0);
        // A handle mapping the segment on its own sees the block held: the memory is still shared.
        const third = BufferPool.open({ name });
        try {
          assert.strictEqual(third.stats().held, 1);
        } finally {
          third.close();
          second.close();
        }
      } finally {
        removeShm(name);
      }
    });

    it('an open() of a segment that holds no pool of the kind is ERR_BAD_MAGIC and leaves the segment unmapped and closed', () => {
      const name = uniqueName('pool-handle');
      const seg = Segment.create({ name, size: 1 << 20 });
      const pool = BufferPool.create({ buffer: seg.buffer, blockSize: 64, blockCount: 4 });
      try {
        const before = segmentUse(name);
        assert.strictEqual(before.maps, 1); // the creator's
        for (const { Class } of KINDS) {
          if (Class === BufferPool) continue;
          for (let i = 0; i < 3; i++) assert.throws(() => Class.open({ name }), { code: 'ERR_BAD_MAGIC' });
        }
        // The pool's header copied to a place too near the end for the blocks it describes: the
        // open fails after the header was read (ERR_BAD_SIZE), and closes the segment too.
        const at = seg.size - BufferPool.bytesFor(4, 64) + C.UNIT;
        const u8 = new Uint8Array(seg.buffer);
        u8.copyWithin(at, C.POOL_HEADER_OFFSET, C.POOL_HEADER_OFFSET + W.POOL_HEADER.WORDS * Uint32Array.BYTES_PER_ELEMENT);
        for (let i = 0; i < 3; i++) assert.throws(() => BufferPool.open({ name, byteOffset: at }), { code: 'ERR_BAD_SIZE' });
        assert.deepStrictEqual(segmentUse(name), before);
      } finally {
        pool.close();
        seg.close();
        removeShm(name);
      }
    });
  });
});
