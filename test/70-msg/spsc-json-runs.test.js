'use strict';
// SpscRing batches of JSON values (lib/msg/spsc-records.js, runs): the JSON texts of a batch's
// objects join its runs of short text (one Buffer call for the run), each record tagged as a
// message written alone (docs/format.md §15); a toJSON runs once per value on every path.
const assert = require('assert');
const { SpscRing } = require('../../index');
const { C } = require('../../lib/layout/layout');
const { addon } = require('../../lib/base/native');

function ring(capacity) {
  return SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(capacity)), capacity });
}

// Counts the calls of Buffer's string methods made by f().
function bufferCalls(f) {
  const names = ['utf8Write', 'latin1Write', 'utf8Slice', 'latin1Slice'];
  const saved = names.map((n) => Buffer.prototype[n]);
  let calls = 0;
  names.forEach((n, k) => { Buffer.prototype[n] = function (...a) { calls++; return saved[k].apply(this, a); }; });
  try {
    f();
  } finally {
    names.forEach((n, k) => { Buffer.prototype[n] = saved[k]; });
  }
  return calls;
}

describe('SpscRing: JSON values in runs', () => {
  it('a batch of 20 small objects is one write and one read, every value back equal', () => {
    const r = ring(4096);
    const values = Array.from({ length: 20 }, (_, i) => ({ i, s: 'y'.repeat(i % 7), a: [i, null, true] }));
    assert.strictEqual(bufferCalls(() => assert.strictEqual(r.tryEnqueueBatch(values), 20)), 1);
    let got;
    assert.strictEqual(bufferCalls(() => { got = r.tryDequeueBatch(); }), 1);
    assert.deepStrictEqual(got, values);
  });

  it('records are tagged as alone: ASCII JSON 4, other JSON 2, strings 3 or 1, bytes 0, numbers 5', () => {
    const r = ring(4096);
    const values = [{ a: 1 }, 'x', { b: 'caf\u00e9' }, { c: [2] }, 'y\u20ac', Buffer.from([5]), { d: 3 }, 7, null, 'z'];
    assert.strictEqual(r.tryEnqueueBatch(values), values.length);
    // Read the records from the ring's data area in order (format.md §15: a 4-byte header each,
    // tag in the top bits, payloads padded to 4 bytes).
    const u32 = new Uint32Array(r.buffer, r.byteOffset + C.SPSC_DATA_OFFSET);
    const tags = [];
    for (let at = 0, k = 0; k < values.length; k++) {
      const h = u32[at / Uint32Array.BYTES_PER_ELEMENT];
      tags.push(h >>> C.MSG_TAG_SHIFT);
      at += Uint32Array.BYTES_PER_ELEMENT + (((h & C.MSG_LENGTH_MASK) + 3) & ~3);
    }
    const { MSG_TAG_JSON_LATIN1: J1, MSG_TAG_JSON: J, MSG_TAG_LATIN1: L1, MSG_TAG_UTF8: U, MSG_TAG_BINARY: B, MSG_TAG_NUMBER: N } = C;
    assert.deepStrictEqual(tags, [J1, L1, J, J1, U, B, J1, N, J1, L1]);
    assert.deepStrictEqual(r.tryDequeueBatch(), values);
  });

  it('a toJSON runs once per value, whether its run is written, given up (not ASCII) or cut short (bytes, a long text)', () => {
    const r = ring(1 << 16);
    const calls = [];
    const tracked = (i, extra = '') => ({ toJSON: () => { calls.push(i); return { i, extra }; } });
    const values = [
      tracked(0), tracked(1), tracked(2, '\u00e9'), tracked(3), Buffer.from([1]), tracked(4),
      tracked(5, 'L'.repeat(400)), tracked(6), 'str', tracked(7), tracked(8),
    ];
    assert.strictEqual(r.tryEnqueueBatch(values), values.length);
    assert.deepStrictEqual(calls, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const got = r.tryDequeueBatch();
    assert.deepStrictEqual(got.map((m) => (Buffer.isBuffer(m) || typeof m === 'string' ? m : m.i)), [0, 1, 2, 3, Buffer.from([1]), 4, 5, 6, 'str', 7, 8]);
  });

  (addon ? it : it.skip)('a blocking batch that waits for room runs each toJSON once however often it waits', () => {
    const buffer = new SharedArrayBuffer(SpscRing.bytesFor(256));
    const producer = SpscRing.create({ buffer, capacity: 256 });
    const consumer = SpscRing.open({ buffer });
    const calls = new Array(40).fill(0);
    const values = calls.map((_, i) => ({ toJSON: () => { calls[i]++; return { i, pad: 'p'.repeat(i % 9) }; } }));
    values[17] = { toJSON: () => { calls[17]++; return { i: 17, pad: '\u00e9' }; } }; // a value that goes alone
    // The consumer runs whenever the producer, waiting for room, yields its CPU (lib/msg/park.js).
    const got = [];
    const saved = addon.msgYield;
    let waits = 0;
    addon.msgYield = () => { waits++; got.push(...consumer.tryDequeueBatch()); };
    try {
      producer.enqueueBatch(values, 10000);
    } finally {
      addon.msgYield = saved;
    }
    got.push(...consumer.tryDequeueBatch());
    assert.ok(waits >= 3, `the batch waited for room ${waits} times`);
    assert.deepStrictEqual(calls, new Array(40).fill(1));
    assert.deepStrictEqual(got.map((m) => m.i), calls.map((_, i) => i));
    producer.close();
    consumer.close();
  });

  it('a value with no JSON text ends a run: the values before it are enqueued, then it throws', () => {
    const r = ring(4096);
    const cyclic = {};
    cyclic.self = cyclic;
    assert.throws(() => r.tryEnqueueBatch([{ a: 1 }, { b: 2 }, cyclic, { c: 3 }]), TypeError);
    assert.deepStrictEqual(r.tryDequeueBatch(), [{ a: 1 }, { b: 2 }]);
    assert.throws(() => r.tryEnqueueBatch([{ a: 1 }, { toJSON: () => undefined }]), TypeError);
    assert.deepStrictEqual(r.tryDequeueBatch(), [{ a: 1 }]);
  });
});
