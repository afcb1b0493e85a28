'use strict';
// BufferPool: `blockCount` fixed-size blocks in a segment or a SharedArrayBuffer (docs/format.md
// §17, kind 1), for payloads handed between threads and processes without a copy: a party
// acquires a block, fills it in place and passes its handle (a u32) through a queue; the receiver
// reads the block in place and releases it. Each block's state word names its holder's owner
// record (§6), so the blocks of a holder that is gone (a killed process, a terminated worker) are
// found and reclaimed by anyone. The format and the methods are fixed.js's and core.js's.
const { C } = require('../layout/layout');
const { FixedPool, kBlock, sizeOf, countOf } = require('./fixed');

class BufferPool extends FixedPool {
  static KIND_ = C.POOL_KIND_BUFFER;
  static NAME_ = 'BufferPool';
  static OPTIONS_ = Object.freeze({ size: 'blockSize', count: 'blockCount' });

  /** The bytes of each block (read-only: the pool's header fixes it). */
  get blockSize() {
    return sizeOf(this);
  }

  /** The number of blocks (read-only: the pool's header fixes it). */
  get blockCount() {
    return countOf(this);
  }

  /** @private An acquired block: { handle, view } (the view is the block in place). */
  [kBlock](handle, index) {
    return { handle, view: this.viewOf_(index) };
  }
}

module.exports = { BufferPool };
