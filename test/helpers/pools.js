'use strict';
// Pools for the pool tests.
const { BufferPool } = require('../../index');
const { C, W } = require('../../lib/layout/layout');

// A BufferPool or ObjectPool of `count` 64-byte blocks in a new SharedArrayBuffer, every block
// acquired by this thread (`held`: their handles); `header` is the pool's header words.
function fullPool(Class, count) {
  const shape = Class === BufferPool ? { blockSize: 64, blockCount: count } : { recordSize: 64, capacity: count };
  const buffer = new SharedArrayBuffer(Class.bytesFor(count, 64));
  const pool = Class.create({ buffer, ...shape });
  const held = [];
  for (let i = 0; i < count; i++) held.push(pool.acquire(0).handle);
  return { buffer, pool, held, header: new Uint32Array(buffer, C.POOL_HEADER_OFFSET, W.POOL_HEADER.WORDS) };
}

module.exports = { fullPool };
