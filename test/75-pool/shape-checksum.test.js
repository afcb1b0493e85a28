'use strict';
// The shape checksum of a pool's header (docs/format.md §17, "The shape checksum"): every creator
// seals the header with the XXH32 of the fields that fix where the blocks lie (and, in a memory
// pool, of its class table), and every open checks it. A flipped bit of a memory pool's class
// table, which the order and sum checks let through when the sizes still grow, once made a later
// open lay the blocks out elsewhere and write past the pool's region; it is now refused with
// ERR_CORRUPT and nothing outside the region is written. A pool made before the checksum (seal
// and checksum 0) opens as before; any other seal, or a checksum without its seal, is refused.
const assert = require('assert');
const { BufferPool, ObjectPool, MemoryPool, Registry, layout } = require('../../index');
const native = require('../../lib/base/native');
const { guardedRegion } = require('../helpers/fuzz');
const { uniqueName, removeShm } = require('../helpers/process');

const { C, S } = layout;
const H = S.POOL_HEADER;
const WORD = Uint32Array.BYTES_PER_ELEMENT;
const BITS = 8;
const GUARD = 4 * C.UNIT;
const CLASSES = [{ size: 40, count: 3 }, { size: 200, count: 2 }, { size: 1000, count: 2 }];
// The class table's bytes: the used records and the first unused one.
const TABLE_BYTES = (CLASSES.length + 1) * S.POOL_CLASS.SIZE;
// The header fields the checksum covers, and the checksum and seal themselves.
const SHAPE_FIELDS = ['BLOCK_SIZE', 'BLOCK_COUNT', 'CLASS_COUNT', 'CHECKSUM', 'SEAL'];

const KINDS = [
  { Class: BufferPool, shape: { blockSize: 100, blockCount: 6 }, bytes: BufferPool.bytesFor(6, 100) },
  { Class: ObjectPool, shape: { recordSize: 24, capacity: 6 }, bytes: ObjectPool.bytesFor(6, 24) },
  { Class: MemoryPool, shape: { classes: CLASSES }, bytes: MemoryPool.bytesFor(CLASSES) },
];

// Takes every block the handle `pool` can get and fills each to its last byte.
function fillAll(pool) {
  for (;;) {
    const got = pool instanceof MemoryPool ? pool.tryAllocate(1 + Math.floor(Math.random() * pool.maxSize)) : pool.tryAcquire();
    if (got === null) return;
    got.view.fill(0xee);
  }
}

// Opens the pool at `where` after damage: refused with `code`, or (the defect this guards
// against) opened, every block it hands out then filled before the assertion fails.
function assertRefused(Class, where, outside, code, what) {
  let opened = null;
  let error = null;
  try {
    opened = Class.open(where);
  } catch (e) {
    error = e;
  }
  if (opened !== null) {
    fillAll(opened);
    opened.close();
  }
  assert.strictEqual(outside(), 0, `${what}: bytes outside the pool's region were written`);
  assert.ok(error !== null && error.code === code, `${what}: expected ${code}, got ${error ? error.code : 'an open pool'}`);
}

describe('Pools: the shape checksum', () => {
  for (const { Class, shape, bytes } of KINDS) {
    describe(Class.name, () => {
      let region;
      let u8;
      let pool;
      beforeEach(() => {
        region = guardedRegion(bytes, GUARD);
        u8 = new Uint8Array(region.buffer, GUARD, bytes);
        pool = Class.create({ ...region.where, ...shape });
      });
      afterEach(() => pool.close());

      const flip = (at, bit) => { u8[at] ^= 1 << bit; };

      it('a flipped bit of a covered header field, the checksum or the seal is refused with ERR_CORRUPT', () => {
        for (const field of SHAPE_FIELDS) {
          for (let at = H[field]; at < H[field] + WORD; at++) {
            for (let bit = 0; bit < BITS; bit++) {
              flip(at, bit);
              assertRefused(Class, region.where, region.outside, 'ERR_CORRUPT', `${field} byte ${at} bit ${bit}`);
              flip(at, bit);
            }
          }
        }
        // Whole again: it opens, and its blocks are where the creator put them.
        const again = Class.open(region.where);
        fillAll(again);
        again.close();
        assert.strictEqual(region.outside(), 0);
      });

      it('a pool made before the checksum (seal and checksum 0) opens unchecked; a lost seal or checksum alone is refused', () => {
        const dv = new DataView(region.buffer, GUARD);
        const checksum = dv.getUint32(H.CHECKSUM, true);
        dv.setUint32(H.SEAL, 0, true);
        assertRefused(Class, region.where, region.outside, 'ERR_CORRUPT', 'a checksum without its seal');
        dv.setUint32(H.CHECKSUM, 0, true);
        const old = Class.open(region.where);
        fillAll(old);
        old.close();
        dv.setUint32(H.SEAL, C.POOL_SEAL, true);
        assertRefused(Class, region.where, region.outside, 'ERR_CORRUPT', 'a seal with a checksum of 0 that does not match');
        dv.setUint32(H.CHECKSUM, checksum, true);
        assert.strictEqual(region.outside(), 0);
      });
    });
  }

  it('MemoryPool: a flipped bit anywhere in a standalone pool\'s class table makes open() refuse, and nothing outside the region is written', () => {
    const { buffer, where, outside } = guardedRegion(MemoryPool.bytesFor(CLASSES), GUARD);
    const pool = MemoryPool.create({ ...where, classes: CLASSES });
    const u8 = new Uint8Array(buffer, GUARD + C.POOL_CLASSES_OFFSET, TABLE_BYTES);
    try {
      for (let at = 0; at < TABLE_BYTES; at++) {
        for (let bit = 0; bit < BITS; bit++) {
          u8[at] ^= 1 << bit;
          assertRefused(MemoryPool, where, outside, 'ERR_CORRUPT', `class table byte ${at} bit ${bit}`);
          u8[at] ^= 1 << bit;
        }
      }
      // The handle opened before the damage kept its own layout, and still works.
      fillAll(pool);
      assert.strictEqual(outside(), 0);
    } finally {
      pool.close();
    }
  });

  (native.addon ? it : it.skip)('MemoryPool in a registry: a flipped bit of its class table is refused by registry.open() with ERR_CORRUPT', () => {
    const name = uniqueName('shape');
    const reg = Registry.create({ name, size: 1024 * 1024 });
    try {
      const pool = reg.create('memory-pool', 'heap', { classes: CLASSES });
      const table = new Uint8Array(pool.buffer, pool.byteOffset + C.POOL_CLASSES_OFFSET, TABLE_BYTES);
      // The smallest class's size: a few bytes more still grow, and fit the registry's block.
      table[S.POOL_CLASS.BLOCK_SIZE] ^= 1 << 3;
      assert.throws(() => reg.open('memory-pool', 'heap'), { code: 'ERR_CORRUPT' });
      table[S.POOL_CLASS.BLOCK_SIZE] ^= 1 << 3;
      reg.open('memory-pool', 'heap').close();
      pool.close();
    } finally {
      reg.close();
      removeShm(name);
    }
  });
});
