'use strict';
// docs/format.md §15 claims to specify the message regions exactly enough for an independent
// reader. layout-ok-file: this file reads the bytes with the document's offsets on purpose, never
// lib/layout/layout.js (a layout that drifted from docs/format.md must fail here).
const assert = require('assert');
const { SpscRing, MpmcQueue, Channel } = require('../../index');
const { exitedPid } = require('../helpers/process');
const { decodeRecord } = require('../helpers/doc-records');


// An SPSC ring read from its bytes as the document describes it: its header, indices and the
// messages queued between head and tail, decoded by tag.
function readRing(buffer, byteOffset = 0) {
  const dv = new DataView(buffer, byteOffset);
  const u32 = (at) => dv.getUint32(at, true);
  const ring = {
    magic: u32(0), kind: u32(4), version: u32(8), capacity: u32(12), elementSize: u32(16),
    tail: u32(64), head: u32(128), consumerSleeping: u32(192), producerSleeping: u32(256),
  };
  const c = ring.capacity;
  const data = 320;
  ring.messages = [];
  ring.tags = [];
  ring.pads = []; // the bytes after each payload up to its next word
  if (ring.elementSize) {
    for (let k = ring.head; k !== ring.tail; k = (k + 1) >>> 0) {
      const at = data + (k & (c - 1)) * ring.elementSize;
      ring.messages.push(Buffer.from(buffer, byteOffset + at, ring.elementSize));
    }
    return ring;
  }
  let h = ring.head;
  while (h !== ring.tail) {
    let place = h & (c - 1);
    let header = u32(data + place);
    if (header >>> 28 === 15) {
      h = (h + c - place) >>> 0;
      place = 0;
      header = u32(data);
    }
    const length = header & 0x0fffffff;
    assert.ok(length <= c / 2 - 4);
    const bytes = Buffer.from(buffer, byteOffset + data + place + 4, length);
    const tag = header >>> 28;
    ring.pads.push(...Buffer.from(buffer, byteOffset + data + place + 4 + length, ((length + 3) & ~3) - length));
    ring.tags.push(tag);
    ring.messages.push(decodeRecord(tag, bytes));
    h = (h + 4 + ((length + 3) & ~3)) >>> 0;
  }
  return ring;
}

describe('SpscRing: the bytes of docs/format.md §15', () => {
  it('has the documented header, control lines and size', () => {
    assert.strictEqual(SpscRing.bytesFor(64), 320 + 64);
    const buffer = new SharedArrayBuffer(64 + SpscRing.bytesFor(256));
    SpscRing.create({ buffer, byteOffset: 64, capacity: 256 });
    const r = readRing(buffer, 64);
    // The header's version: "2 for an SPSC ring" (its sleeping flags count sleeps, "Version history").
    assert.deepStrictEqual([r.magic, r.kind, r.version, r.capacity, r.elementSize], [0x5147534d, 1, 2, 256, 0]);
    assert.strictEqual(Buffer.from(buffer, 64, 4).toString('latin1'), 'MSGQ');
    assert.deepStrictEqual([r.head, r.tail, r.consumerSleeping, r.producerSleeping], [0, 0, 0, 0]);
  });

  it('queues records as the document says, wrap headers included, across 2^32', () => {
    const buffer = new SharedArrayBuffer(SpscRing.bytesFor(128));
    const ring = SpscRing.create({ buffer, capacity: 128, startPosition: 2 ** 32 - 40 });
    assert.strictEqual(readRing(buffer).head, 2 ** 32 - 40);
    const sent = [];
    let n = 0;
    for (let round = 0; round < 50; round++) {
      const m = [`text ${n}`, { n }, Buffer.from([n & 255, 1, 2])][n % 3];
      if (ring.tryEnqueue(m)) {
        sent.push(m);
        n++;
      }
      const r = readRing(buffer);
      assert.deepStrictEqual(r.messages, sent);
      if (sent.length > 2) {
        ring.tryDequeue();
        sent.shift();
      }
    }
    const r = readRing(buffer);
    assert.ok(r.tail < 2 ** 32 - 40); // the counters wrapped
    assert.strictEqual((r.tail - r.head) >>> 0, ring.size);
  });

  it('tags ASCII text Latin-1, other text UTF-8 and numbers binary64, one by one and in batches', () => {
    const buffer = new SharedArrayBuffer(SpscRing.bytesFor(4096));
    const ring = SpscRing.create({ buffer, capacity: 4096 });
    const values = ['ascii', 'caf\u00e9', '', { a: 1 }, { b: '\u00ff' }, 'x'.repeat(300), '\ud83d\ude00', 'tail', 42, -0, NaN, 2 ** 53 + 2, -1.5e-300];
    const tags = [3, 1, 3, 4, 2, 3, 1, 3, 5, 5, 5, 5, 5];
    for (const v of values) assert.ok(ring.tryEnqueue(v));
    let r = readRing(buffer);
    assert.deepStrictEqual(r.messages, values);
    assert.deepStrictEqual(r.tags, tags);
    assert.deepStrictEqual(ring.tryDequeueBatch(), values);
    // A batch of short strings goes as one run; one that is not ASCII sends the run one by one.
    const batch = ['a', 'bc', 'def', 'ghij', 'klmno', { c: 2 }, 'p', 'q\u00e9', 'r', 's'];
    assert.strictEqual(ring.tryEnqueueBatch(batch), batch.length);
    r = readRing(buffer);
    assert.deepStrictEqual(r.messages, batch);
    assert.deepStrictEqual(r.tags, [3, 3, 3, 3, 3, 4, 3, 1, 3, 3]);
  });

  it('tags short text of every length as long text: Latin-1 exactly when every unit is ASCII', () => {
    // Text up to a few dozen units is written and read with fewer native calls; its records
    // must be what any other text of the same units gives. Each length in a ring of its own
    // (zeroed memory): text written through a scratch of the thread leaves no byte of an earlier,
    // longer message of any structure in its padding.
    for (let n = 0; n <= 90; n++) {
      const buffer = new SharedArrayBuffer(SpscRing.bytesFor(1 << 14));
      const ring = SpscRing.create({ buffer, capacity: 1 << 14 });
      const ascii = Array.from({ length: n }, (_, k) => String.fromCharCode(0x20 + ((k * 7 + n) % 95))).join('');
      const values = [ascii, `${ascii}\x7f`];
      for (const at of new Set([0, n >> 1, n - 1].filter((k) => k >= 0))) {
        for (const c of ['\x80', '\xff', '\u0100', '\ud83d\ude00', '\ud800']) values.push(ascii.slice(0, at) + c + ascii.slice(at + 1));
      }
      values.push({ s: ascii }, { s: `${ascii}\xe9` });
      for (const v of values) assert.ok(ring.tryEnqueue(v));
      const r = readRing(buffer);
      assert.ok(r.pads.every((b) => b === 0), `length ${n}`);
      const expected = values.map((v) => (typeof v === 'string' ? Buffer.from(v).toString() : v)); // a lone surrogate sends U+FFFD
      assert.deepStrictEqual(r.messages, expected, `length ${n}`);
      assert.deepStrictEqual(r.tags, values.map((v) => {
        const text = typeof v === 'string' ? v : JSON.stringify(v);
        return [...text].every((c) => c.charCodeAt(0) < 0x80) ? (typeof v === 'string' ? 3 : 4) : (typeof v === 'string' ? 1 : 2);
      }), `length ${n}`);
      for (const v of expected) assert.deepStrictEqual(ring.tryDequeue(), v);
    }
  });

  it('keeps fixed-size elements at (k & (c - 1)) * elementSize', () => {
    const buffer = new SharedArrayBuffer(SpscRing.bytesFor(4, { elementSize: 6 }));
    const ring = SpscRing.create({ buffer, capacity: 4, elementSize: 6, startPosition: 2 ** 32 - 2 });
    ring.tryEnqueue(Buffer.from('abcdefghijkl'));
    ring.tryDequeueInto(new Uint8Array(6));
    ring.tryEnqueue(Buffer.from('mnopqrstuvwx'));
    const r = readRing(buffer);
    assert.strictEqual(r.elementSize, 6);
    assert.deepStrictEqual(r.messages.map(String), ['ghijkl', 'mnopqr', 'stuvwx']);
    assert.strictEqual(r.tail, 2);
  });
});

// An MPMC queue read from its bytes as the document describes it.
function readQueue(buffer, byteOffset = 0) {
  const dv = new DataView(buffer, byteOffset);
  const u32 = (at) => dv.getUint32(at, true);
  const q = {
    magic: u32(0), kind: u32(4), version: u32(8), capacity: u32(12), messageBytes: u32(16),
    tail: u32(64), head: u32(128), produced: u32(192), consumed: u32(256),
    consumerWaiters: u32(320), producerWaiters: u32(384), skippedWrites: u32(448), skippedReads: u32(452),
  };
  const c = q.capacity;
  const stride = 8 * Math.ceil((8 + q.messageBytes) / 8);
  q.slot = (p) => {
    const at = 12864 + (p & (c - 1)) * stride;
    const seq = u32(at);
    const d = (seq - ((p * 4) >>> 0)) | 0;
    const record = u32(at + 4);
    return { seq, d, length: record & 0x0fffffff, tag: record >>> 28, payload: Buffer.from(buffer, byteOffset + at + 8, record & 0x0fffffff) };
  };
  q.owner = (o) => ({ pid: u32(576 + 32 * o), state: u32(576 + 32 * o + 24) });
  q.intent = (o) => ({ roles: u32(8768 + 16 * o), producePos: u32(8768 + 16 * o + 4), consumePos: u32(8768 + 16 * o + 8) });
  // The messages between head and tail, in order (given-up slots left out).
  q.messages = [];
  for (let p = q.head; p !== q.tail; p = (p + 1) >>> 0) {
    const s = q.slot(p);
    if (s.d !== 1) continue;
    q.messages.push(decodeRecord(s.tag, s.payload));
  }
  return q;
}

describe('MpmcQueue: the bytes of docs/format.md §15', () => {
  it('has the documented header, control lines, owner and intent tables and slots', () => {
    assert.strictEqual(MpmcQueue.bytesFor(4, { messageBytes: 13 }), 12864 + 4 * 24);
    const buffer = new SharedArrayBuffer(128 + MpmcQueue.bytesFor(4, { messageBytes: 13 }));
    const queue = MpmcQueue.create({ buffer, byteOffset: 128, capacity: 4, messageBytes: 13, startPosition: 2 ** 32 - 2 });
    let q = readQueue(buffer, 128);
    assert.deepStrictEqual([q.magic, q.kind, q.version, q.capacity, q.messageBytes], [0x5147534d, 2, 1, 4, 13]);
    assert.deepStrictEqual([q.head, q.tail], [2 ** 32 - 2, 2 ** 32 - 2]);
    for (let k = 0; k < 4; k++) assert.strictEqual(q.slot((2 ** 32 - 2 + k) >>> 0).d, 0);
    let mine = 0;
    for (let o = 1; o < 256; o++) if (q.owner(o).pid === process.pid) mine = o;
    assert.ok(mine > 0);
    assert.deepStrictEqual(q.intent(mine).roles, 0);
    const sent = ['a', { b: 1 }, Buffer.from([9])];
    for (const m of sent) queue.tryEnqueue(m);
    q = readQueue(buffer, 128);
    assert.deepStrictEqual(q.messages, sent);
    assert.strictEqual(q.tail, 1); // wrapped
    assert.strictEqual(q.slot(q.head).seq, ((q.head * 4) >>> 0) + 1);
    queue.tryDequeue();
    q = readQueue(buffer, 128);
    assert.strictEqual(q.slot(2 ** 32 - 2).seq, ((2 ** 32 - 2 + 4) * 4) % 2 ** 32); // released: 4(p + c)
    queue.close();
    assert.strictEqual(readQueue(buffer, 128).owner(mine).pid, 0);
  });

  it('tags ASCII text Latin-1, other text UTF-8 and numbers binary64, one by one and in batches', () => {
    const buffer = new SharedArrayBuffer(MpmcQueue.bytesFor(32, { messageBytes: 32 }));
    const queue = MpmcQueue.create({ buffer, capacity: 32, messageBytes: 32 });
    const values = ['ascii', 'caf\u00e9', '', { a: 1 }, { b: '\u00ff' }, '\ud83d\ude00', Buffer.from([7]), 7, -Infinity, -0];
    const tags = [3, 1, 3, 4, 2, 1, 0, 5, 5, 5];
    for (const v of values) assert.ok(queue.tryEnqueue(v));
    assert.strictEqual(queue.tryEnqueueBatch(values), values.length);
    const q = readQueue(buffer);
    assert.deepStrictEqual(q.messages, [...values, ...values]);
    const seen = [];
    for (let p = q.head; p !== q.tail; p = (p + 1) >>> 0) seen.push(q.slot(p).tag);
    assert.deepStrictEqual(seen, [...tags, ...tags]);
    assert.deepStrictEqual(queue.tryDequeueBatch(), [...values, ...values]);
    queue.close();
  });

  it('sends a number as JSON text when the messages are shorter than its 8 bytes', () => {
    const buffer = new SharedArrayBuffer(MpmcQueue.bytesFor(4, { messageBytes: 4 }));
    const queue = MpmcQueue.create({ buffer, capacity: 4, messageBytes: 4 });
    assert.ok(queue.tryEnqueue(7));
    assert.strictEqual(queue.tryEnqueueBatch([-12, 0.5]), 2);
    const q = readQueue(buffer);
    assert.deepStrictEqual(q.messages, [7, -12, 0.5]);
    assert.deepStrictEqual([0, 1, 2].map((k) => q.slot(k).tag), [4, 4, 4]);
    assert.throws(() => queue.tryEnqueue(123456), { code: 'ERR_MESSAGE_TOO_LARGE' });
    assert.deepStrictEqual(queue.tryDequeueBatch(), [7, -12, 0.5]);
    queue.close();
  });

  it('gives up a slot as the document says: an intent naming it, a claimer gone, state 2', () => {
    const buffer = new SharedArrayBuffer(MpmcQueue.bytesFor(4, { messageBytes: 8 }));
    const queue = MpmcQueue.create({ buffer, capacity: 4, messageBytes: 8 });
    const dv = new DataView(buffer);
    // Owner 200: a process that exited, enqueuing position 0 (bit 0), which it claimed.
    dv.setUint32(576 + 32 * 200, exitedPid(), true);
    dv.setUint32(8768 + 16 * 200 + 4, 0, true);
    dv.setUint32(8768 + 16 * 200, 1, true);
    dv.setUint32(64, 1, true);
    queue.tryEnqueue('next');
    assert.strictEqual(queue.dequeue(5000), 'next');
    const q = readQueue(buffer);
    assert.strictEqual(q.slot(0).seq, 4 * 4); // given up (2), then consumed and released
    assert.deepStrictEqual([q.skippedWrites, q.skippedReads, q.head, q.tail], [1, 0, 2, 2]);
    queue.close();
  });

  it('a batch as the document says: a reader claims 3 positions with one CAS, the queue dequeues them; a gone batch is given up whole', () => {
    const buffer = new SharedArrayBuffer(MpmcQueue.bytesFor(8, { messageBytes: 8 }));
    const queue = MpmcQueue.create({ buffer, capacity: 8, messageBytes: 8 });
    const dv = new DataView(buffer);
    const u32 = new Uint32Array(buffer);
    // Owner 201, a live party (this process): intent producePos 0, extra 2, roles 1; tail 0 -> 3;
    // three slots (stride 16) written, then seq = 4p + 1 each.
    dv.setUint32(576 + 32 * 201, process.pid, true);
    dv.setUint32(8768 + 16 * 201 + 4, 0, true);
    dv.setUint32(8768 + 16 * 201 + 12, 2, true);
    dv.setUint32(8768 + 16 * 201, 1, true);
    assert.strictEqual(Atomics.compareExchange(u32, 64 / 4, 0, 3), 0);
    for (let p = 0; p < 3; p++) {
      const slot = 12864 + 16 * p;
      dv.setUint8(slot + 8, 0x61 + p);
      dv.setUint32(slot + 4, (1 << 28) | 1, true); // UTF-8, 1 byte
      Atomics.store(u32, slot / 4, 4 * p + 1);
    }
    dv.setUint32(8768 + 16 * 201, 0, true);
    dv.setUint32(8768 + 16 * 201 + 12, 0, true);
    assert.deepStrictEqual(queue.tryDequeueBatch(), ['a', 'b', 'c']);
    // A gone owner (202) whose batch claimed positions 3..6 and published none of them.
    dv.setUint32(576 + 32 * 202, exitedPid(), true);
    dv.setUint32(8768 + 16 * 202 + 4, 3, true);
    dv.setUint32(8768 + 16 * 202 + 12, 3, true);
    dv.setUint32(8768 + 16 * 202, 1, true);
    dv.setUint32(64, 7, true);
    queue.tryEnqueue('next');
    assert.strictEqual(queue.dequeue(5000), 'next');
    const q = readQueue(buffer);
    assert.deepStrictEqual([q.skippedWrites, q.head, q.tail], [4, 8, 8]);
    for (let p = 3; p < 7; p++) assert.strictEqual(q.slot(p).seq, 4 * (p + 8)); // given up, skipped, released
    queue.close();
  });
});

describe('Channel: the closed word of docs/format.md §15', () => {
  it('is the u32 at 456 of an MPMC region: 0, then 1 after close(); both wake words move', () => {
    const buffer = new SharedArrayBuffer(Channel.bytesFor(2, { messageBytes: 8 }));
    const ch = Channel.create({ buffer, capacity: 2, messageBytes: 8 });
    const before = readQueue(buffer);
    assert.strictEqual(new DataView(buffer).getUint32(456, true), 0);
    assert.strictEqual(before.kind, 2);
    ch.close();
    const after = readQueue(buffer);
    assert.strictEqual(new DataView(buffer).getUint32(456, true), 1);
    assert.deepStrictEqual([after.produced, after.consumed], [before.produced + 1, before.consumed + 1]);
    ch.dispose();
  });
});
