'use strict';
// SpscRing batches hand over as they go (lib/msg/spsc-records.js): a batch publishes its records
// (releases what it read) every 2 KiB, not at its end or a quarter of the ring, so that the other
// side gets something to do before its polling runs out; and a ring with little room left takes
// shorter runs of short strings, not a write per string.
const assert = require('assert');
const { SpscRing } = require('../../index');
const { C, W } = require('../../lib/layout/layout');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const TAIL = C.SPSC_CONTROL_OFFSET / WORD + W.SPSC_CONTROL.TAIL;
const HEAD = C.SPSC_CONTROL_OFFSET / WORD + W.SPSC_CONTROL.HEAD;

function ring(capacity) {
  return SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(capacity)), capacity });
}

// The Atomics.store()s of word `index` of the ring `r` made by f().
function storesOf(r, index, f) {
  const saved = Atomics.store;
  const seen = [];
  Atomics.store = function (ta, i, value) {
    if (ta.buffer === r.buffer && ta.byteOffset === r.byteOffset && i === index) seen.push(value);
    return saved.call(Atomics, ta, i, value);
  };
  try {
    f();
  } finally {
    Atomics.store = saved;
  }
  return seen;
}

// The calls of Buffer#utf8Write made by f().
function utf8Writes(f) {
  const saved = Buffer.prototype.utf8Write;
  let calls = 0;
  Buffer.prototype.utf8Write = function (...a) {
    calls++;
    return saved.apply(this, a);
  };
  try {
    f();
  } finally {
    Buffer.prototype.utf8Write = saved;
  }
  return calls;
}

describe('SpscRing: batches hand over as they go', () => {
  it('8 messages of 1 KiB in a 64 KiB ring are published and released 2 KiB at a time', () => {
    const r = ring(1 << 16);
    const values = Array.from({ length: 8 }, (_, i) => String(i).repeat(1024));
    const published = storesOf(r, TAIL, () => assert.strictEqual(r.tryEnqueueBatch(values), 8));
    // Each record takes 4 + 1024 bytes: the tail moves every second record.
    assert.strictEqual(published.length, 4);
    published.forEach((tail, k) => assert.strictEqual(tail, (k + 1) * 2 * (4 + 1024)));
    let got;
    const released = storesOf(r, HEAD, () => { got = r.tryDequeueBatch(); });
    assert.deepStrictEqual(got, values);
    assert.strictEqual(released.length, 4);
    assert.deepStrictEqual(released, published);
  });

  it('a small ring hands over a quarter at a time', () => {
    const r = ring(1024); // a quarter: 256 bytes, below 2 KiB
    const values = Array.from({ length: 6 }, (_, i) => Buffer.alloc(124, i)); // 128-byte records
    const published = storesOf(r, TAIL, () => assert.strictEqual(r.tryEnqueueBatch(values), 6));
    assert.deepStrictEqual(published, [256, 512, 768]);
    let got;
    assert.deepStrictEqual(storesOf(r, HEAD, () => { got = r.tryDequeueBatch(); }), [256, 512, 768]);
    assert.deepStrictEqual(got, values);
  });

  it('a nearly full ring takes the short strings of a batch in a few shorter runs, all in order', () => {
    const r = ring(4096);
    // 2608 bytes of records queued: 1488 left, too little for a run of 32 strings' worst case
    // (3 bytes a character: 3448 bytes) but room for their 32 × 36 bytes.
    const big = [Buffer.alloc(1500, 1), Buffer.alloc(1100, 2)];
    assert.strictEqual(r.tryEnqueueBatch(big), 2);
    const values = Array.from({ length: 32 }, (_, i) => `${String(i).padStart(8, '0')}${'x'.repeat(24)}`);
    const writes = utf8Writes(() => assert.strictEqual(r.tryEnqueueBatch(values), 32));
    assert.ok(writes <= 10, `${writes} writes for 32 strings`);
    assert.deepStrictEqual(r.tryDequeueBatch(), [...big, ...values]);
    assert.strictEqual(r.size, 0);
  });

  it('near the end of the data, a batch takes a run up to the end, then wraps', () => {
    const r = ring(4096);
    const filler = Buffer.alloc(1020, 3); // 1024-byte records
    for (let k = 0; k < 3; k++) r.tryEnqueue(filler);
    assert.strictEqual(r.tryDequeueBatch().length, 3); // head = tail = 3072: 1024 bytes to the end
    const values = Array.from({ length: 64 }, (_, i) => `m${String(i).padStart(30, '0')}`); // 36-byte records
    const writes = utf8Writes(() => assert.strictEqual(r.tryEnqueueBatch(values), 64));
    assert.ok(writes <= 16, `${writes} writes for 64 strings`);
    assert.deepStrictEqual(r.tryDequeueBatch(), values);
  });
});
