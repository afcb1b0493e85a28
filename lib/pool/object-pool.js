'use strict';
// ObjectPool: `capacity` records of `recordSize` bytes (docs/format.md §17, "Object pool (kind
// 2)"): the buffer pool's format and protocol under another kind number, so that neither opens
// the other's region. An acquire hands out the record in place as bytes and as a DataView, both
// made once per record and reused.
const { C } = require('../layout/layout');
const { FixedPool, kBlock, sizeOf, countOf } = require('./fixed');

class ObjectPool extends FixedPool {
  static KIND_ = C.POOL_KIND_OBJECT;
  static NAME_ = 'ObjectPool';
  static OPTIONS_ = Object.freeze({ size: 'recordSize', count: 'capacity' });
  #data = [];

  /** The bytes of each record (read-only: the pool's header fixes it). */
  get recordSize() {
    return sizeOf(this);
  }

  /** The number of records (read-only: the pool's header fixes it). */
  get capacity() {
    return countOf(this);
  }

  /** The record of a held handle as a DataView (the same one each time). */
  data(handle) {
    return this.#dataOf(this.indexOf_(handle, 'data'));
  }

  #dataOf(index) {
    let d = this.#data[index];
    if (d === undefined) {
      const view = this.viewOf_(index);
      d = new DataView(view.buffer, view.byteOffset, view.byteLength);
      this.#data[index] = d;
    }
    return d;
  }

  /** @private An acquired record: { handle, view, data } (bytes and DataView, in place). */
  [kBlock](handle, index) {
    return { handle, view: this.viewOf_(index), data: this.#dataOf(index) };
  }
}

module.exports = { ObjectPool };
