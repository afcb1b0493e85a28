'use strict';
// MpmcQueue batches of short strings (lib/msg/mpmc-runs.js) and the publication of a batch claim
// with one Atomics.store (docs/format.md §15 "Batches"): every record exactly as a message
// written alone, whatever mix a batch holds; one Buffer call per run each way; one Atomics.store
// of `seq` per claim each way; a gone party's claim left half published (or half released) in
// that order; and exactly-once of text batches across processes.
const assert = require('assert');
const path = require('path');
const { MpmcQueue } = require('../../index');
const { C, W } = require('../../lib/layout/layout');
const { addon } = require('../../lib/base/native');
const { OwnerTable, identityOf } = require('../../lib/ownership/owners');
const { queueWithBoard, assertExactlyOnce } = require('../helpers/scoreboard');
const { exitedPid, removeShm, until } = require('../helpers/process');
const { spawnChild } = require('../helpers/parties');
const { kWords } = require('../../lib/msg/mpmc');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'mpmc-child.js');
const WORD = Uint32Array.BYTES_PER_ELEMENT;
const TAIL = C.MPMC_CONTROL_OFFSET / WORD + W.MPMC_CONTROL.TAIL;
const HEAD = C.MPMC_CONTROL_OFFSET / WORD + W.MPMC_CONTROL.HEAD;
const withAddon = addon ? describe : describe.skip;
const BATCHES_UP_TO = 64; // the longest batch of the mixed test

function queue(capacity, messageBytes) {
  const buffer = new SharedArrayBuffer(MpmcQueue.bytesFor(capacity, { messageBytes }));
  return MpmcQueue.create({ buffer, capacity, messageBytes });
}

const strideOf = (m) => Math.ceil((C.MPMC_SLOT_HEADER_BYTES + m) / C.MPMC_SLOT_ALIGN) * C.MPMC_SLOT_ALIGN;
const seqWord = (q, pos) => (C.MPMC_SLOTS_OFFSET + (pos & (q.capacity - 1)) * strideOf(q.messageBytes)) / WORD;

// The record of position `pos` read by its header alone: { tag, value } (tags of format.md §15).
function recordAt(q, pos) {
  const at = seqWord(q, pos);
  const h = q[kWords][at + W.MPMC_SLOT.RECORD];
  const length = h & C.MSG_LENGTH_MASK;
  const tag = h >>> C.MSG_TAG_SHIFT;
  const bytes = Buffer.from(q[kWords].buffer, q[kWords].byteOffset + at * WORD + C.MPMC_SLOT_HEADER_BYTES, length);
  if (tag === C.MSG_TAG_BINARY) return { tag, value: Buffer.from(bytes) };
  const text = bytes.toString(tag === C.MSG_TAG_LATIN1 || tag === C.MSG_TAG_JSON_LATIN1 ? 'latin1' : 'utf8');
  return { tag, value: tag === C.MSG_TAG_JSON || tag === C.MSG_TAG_JSON_LATIN1 ? JSON.parse(text) : text };
}

// The tag a message alone gets (codec.writeRecord): Latin-1 for ASCII text, else UTF-8.
function tagOf(v) {
  if (Buffer.isBuffer(v)) return C.MSG_TAG_BINARY;
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  const ascii = !/[^\0-\x7f]/.test(text);
  if (typeof v === 'string') return ascii ? C.MSG_TAG_LATIN1 : C.MSG_TAG_UTF8;
  return ascii ? C.MSG_TAG_JSON_LATIN1 : C.MSG_TAG_JSON;
}

// A deterministic mix: ASCII strings of 0 to 70 characters (some too long to share a 64-byte
// slot), non-ASCII ones, JSON values, bytes.
function mixed(n, seed) {
  let x = seed;
  const rnd = (k) => { x = (x * 1103515245 + 12345) >>> 0; return (x >>> 8) % k; };
  return Array.from({ length: n }, (_, i) => {
    const r = rnd(10);
    if (r < 6) return `${i}:${'q'.repeat(rnd(r === 0 ? 60 : 20))}`;
    if (r === 6) return `${i}\u00e9${'z'.repeat(rnd(8))}`;
    if (r === 7) return { i, s: 'j'.repeat(rnd(12)) };
    if (r === 8) return Buffer.from([i & 255, rnd(256)]);
    return r === 9 && i % 2 ? '' : `\ud83d\ude00${i}`;
  });
}

// Counts the calls of Buffer's string methods (and Atomics.store) made by f().
function counting(f) {
  const names = ['utf8Write', 'latin1Write', 'utf8Slice', 'latin1Slice'];
  const saved = names.map((n) => Buffer.prototype[n]);
  const savedStore = Atomics.store;
  const calls = { buffer: 0, store: 0 };
  names.forEach((n, k) => { Buffer.prototype[n] = function (...a) { calls.buffer++; return saved[k].apply(this, a); }; });
  Atomics.store = (...a) => { calls.store++; return savedStore(...a); };
  try {
    return { result: f(), calls };
  } finally {
    names.forEach((n, k) => { Buffer.prototype[n] = saved[k]; });
    Atomics.store = savedStore;
  }
}

// A party of process `pid` whose intent names positions pos..pos+extra for `role`.
function party(q, role, pos, extra, pid) {
  const owners = new OwnerTable(q[kWords], C.MPMC_OWNERS_OFFSET / WORD, C.MPMC_OWNER_SLOTS);
  const o = owners.claim(identityOf(pid, 1));
  const intent = C.MPMC_INTENTS_OFFSET / WORD + o * W.MPMC_INTENT.WORDS;
  Atomics.store(q[kWords], intent + (role === C.MPMC_INTENT_PRODUCE ? W.MPMC_INTENT.PRODUCE_POS : W.MPMC_INTENT.CONSUME_POS), pos);
  Atomics.store(q[kWords], intent + W.MPMC_INTENT.EXTRA, extra);
  Atomics.store(q[kWords], intent + W.MPMC_INTENT.ROLES, role);
}

describe('MpmcQueue: runs of short strings in batches', () => {
  it('every slot holds its own record, tagged as alone, whatever a batch mixes; read back in order by every form', () => {
    const q = queue(64, 64);
    const values = mixed(3000, 7);
    const got = [];
    let sent = 0;
    for (let round = 0; sent < values.length; round++) {
      const n = Math.min(1 + ((round * 13) % BATCHES_UP_TO), values.length - sent);
      const from = Atomics.load(q[kWords], TAIL);
      const k = round % 3 === 2 ? values.slice(sent, sent + n).filter((v) => q.tryEnqueue(v)).length : q.tryEnqueueBatch(values.slice(sent, sent + n));
      for (let j = 0; j < k; j++) {
        const r = recordAt(q, (from + j) >>> 0);
        assert.deepStrictEqual(r.value, values[sent + j]);
        assert.strictEqual(r.tag, tagOf(values[sent + j]), `tag of ${JSON.stringify(values[sent + j])}`);
      }
      sent += k;
      if (round % 4 === 3) for (let v = q.tryDequeue(); v !== undefined; v = q.tryDequeue()) got.push(v);
      else got.push(...q.tryDequeueBatch(round % 2 ? 64 : 1 + (round % 7)));
    }
    got.push(...q.tryDequeueBatch());
    assert.deepStrictEqual(got, values);
  });

  it('a batch of 32 short strings costs one Buffer call to write and one to read, and one Atomics.store of `seq` each way', () => {
    const q = queue(256, 1100);
    const values = Array.from({ length: 32 }, (_, i) => `${String(i).padStart(8, '0')}${'x'.repeat(24)}`);
    q.tryEnqueueBatch(values); // warm, and the same shape as below
    q.tryDequeueBatch();
    const w = counting(() => q.tryEnqueueBatch(values));
    assert.strictEqual(w.result, 32);
    assert.strictEqual(w.calls.buffer, 1);
    // The first slot's `seq`, then roles and extra cleared (the intent's stores before the claim
    // are plain, ordered by the CAS): not one per slot.
    assert.strictEqual(w.calls.store, 3);
    const r = counting(() => q.tryDequeueBatch());
    assert.deepStrictEqual(r.result, values);
    assert.strictEqual(r.calls.buffer, 1);
    assert.strictEqual(r.calls.store, 3);
  });

  it('a run that is not ASCII goes one message at a time, also when its UTF-8 is cut at the end of the scratch', () => {
    const q = queue(64, 64);
    // 40 strings of 20 units: 800 units, whose UTF-8 (2400 bytes) does not fit the 2048 of a run.
    const euros = Array.from({ length: 40 }, (_, i) => `${'\u20ac'.repeat(19)}${i % 10}`);
    const values = ['a', '\u00e9\u00e9\u00e9', 'abcdefghijklmno', 'p', ...euros, 'q', '\ud83d\ude00\ud83d\ude00', 'r'.repeat(64)];
    assert.strictEqual(q.tryEnqueueBatch(values), values.length);
    values.forEach((v, j) => assert.deepStrictEqual(recordAt(q, j), { tag: tagOf(v), value: v }));
    assert.deepStrictEqual(q.tryDequeueBatch(), values);
  });

  it('a batch of many short strings is read back in runs of at most 2048 bytes, each string whole', () => {
    const q = queue(256, 300);
    const values = Array.from({ length: 200 }, (_, i) => `${i}:${'w'.repeat((i * 7) % 250)}`);
    assert.strictEqual(q.tryEnqueueBatch(values), 200);
    const got = q.tryDequeueBatch();
    assert.deepStrictEqual(got, values);
  });

  it('JSON values travel in runs as JSON records', () => {
    const q = queue(16, 256);
    const values = Array.from({ length: 10 }, (_, i) => ({ i, s: 'y'.repeat(i) }));
    const w = counting(() => q.tryEnqueueBatch(values));
    assert.strictEqual(w.calls.buffer, 1);
    for (let j = 0; j < 10; j++) assert.strictEqual(recordAt(q, j).tag, C.MSG_TAG_JSON_LATIN1);
    assert.deepStrictEqual(q.tryDequeueBatch(), values);
  });

  it('short ASCII strings in slots smaller than 3 bytes a unit are checked by their one encode, not counted first', () => {
    // 32 units may take up to 96 bytes of UTF-8: more than a 40-byte slot. The run's encode before
    // the claim shows them ASCII (as many bytes as units), which is what proves that they fit.
    const q = queue(64, 40);
    const values = Array.from({ length: 32 }, (_, i) => `${String(i).padStart(8, '0')}${'x'.repeat(24)}`);
    values[31] = 'y'.repeat(40); // exactly a slot
    const savedLength = Buffer.byteLength;
    let counted = 0;
    Buffer.byteLength = (...a) => { counted++; return savedLength(...a); };
    let w;
    try {
      w = counting(() => q.tryEnqueueBatch(values));
    } finally {
      Buffer.byteLength = savedLength;
    }
    assert.strictEqual(w.result, 32);
    assert.strictEqual(w.calls.buffer, 1);
    assert.strictEqual(counted, 0);
    values.forEach((v, j) => assert.deepStrictEqual(recordAt(q, j), { tag: C.MSG_TAG_LATIN1, value: v }));
    assert.deepStrictEqual(q.tryDequeueBatch(), values);
  });

  it('a run that is not ASCII is checked message by message: the values before one too large are enqueued, then it throws', () => {
    const q = queue(16, 40);
    const tooLarge = '\u00e9'.repeat(30); // 30 units, 60 bytes
    assert.throws(() => q.tryEnqueueBatch(['ab', '\u00e9\u00e9', tooLarge, 'cd']), (e) => e.code === 'ERR_MESSAGE_TOO_LARGE');
    assert.deepStrictEqual(q.tryDequeueBatch(), ['ab', '\u00e9\u00e9']);
    // A value that JSON cannot carry, after a run: the run is sent, then the TypeError.
    assert.throws(() => q.tryEnqueueBatch(['ef', 'gh', 1n]), TypeError);
    assert.throws(() => q.tryEnqueueBatch(['ij', { k: 'x'.repeat(40) }]), (e) => e.code === 'ERR_MESSAGE_TOO_LARGE');
    assert.deepStrictEqual(q.tryDequeueBatch(), ['ef', 'gh', 'ij']);
    assert.deepStrictEqual(q.skipped, { writes: 0, reads: 0 });
  });

  it('small slots are read back by one decode of the region per run of consecutive slots, split at the end of the ring', () => {
    const q = queue(16, 24); // 32-byte slots
    assert.strictEqual(q.tryEnqueueBatch(Array.from({ length: 10 }, (_, i) => `skip${i}`)), 10);
    assert.strictEqual(q.tryDequeueBatch().length, 10);
    const values = Array.from({ length: 16 }, (_, i) => `${i}:${'v'.repeat(i + 6)}`); // slots 10..15, then 0..9
    assert.strictEqual(q.tryEnqueueBatch(values), 16);
    const saved = Buffer.prototype.latin1Slice;
    const decoded = [];
    Buffer.prototype.latin1Slice = function (...a) { decoded.push(this.buffer); return saved.apply(this, a); };
    let got;
    try {
      got = q.tryDequeueBatch();
    } finally {
      Buffer.prototype.latin1Slice = saved;
    }
    assert.deepStrictEqual(got, values);
    assert.strictEqual(decoded.length, 2);
    for (const b of decoded) assert.strictEqual(b, q[kWords].buffer);
  });

  describe('a claim left half finished by a party that is gone', () => {
    it('a producer gone after publishing the later slots of its claim: those are delivered, the others given up', () => {
      const q = queue(8, 16);
      const pos = Atomics.load(q[kWords], TAIL);
      party(q, C.MPMC_INTENT_PRODUCE, pos, 3, exitedPid()); // claimed 4 positions
      Atomics.store(q[kWords], TAIL, pos + 4);
      // It wrote all four and published the last two (the first slot's `seq` is stored last).
      const helper = queue(8, 16);
      helper.tryEnqueueBatch(['m0', 'm1', 'm2', 'm3']);
      for (let j = 0; j < 4; j++) {
        const from = seqWord(helper, j);
        const to = seqWord(q, pos + j);
        q[kWords].set(helper[kWords].subarray(from + W.MPMC_SLOT.RECORD, from + W.MPMC_SLOT.RECORD + 2), to + W.MPMC_SLOT.RECORD);
      }
      for (const j of [3, 2]) Atomics.store(q[kWords], seqWord(q, pos + j), ((pos + j) * 4 + 1) >>> 0);
      q.tryEnqueue('after');
      const got = [];
      const deadline = Date.now() + 5000;
      while (got.length < 3 && Date.now() < deadline) got.push(...q.dequeueBatch(8, 100 + C.MPMC_RECHECK_MS));
      assert.deepStrictEqual(got, ['m2', 'm3', 'after']);
      assert.deepStrictEqual(q.skipped, { writes: 2, reads: 0 });
    });

    it('a consumer gone after releasing the later slots of its claim: the first is released, counted once', () => {
      const q = queue(4, 16);
      assert.strictEqual(q.tryEnqueueBatch(['a', 'b', 'c', 'd']), 4);
      const pos = Atomics.load(q[kWords], HEAD);
      party(q, C.MPMC_INTENT_CONSUME, pos, 2, exitedPid()); // claimed a, b, c
      Atomics.store(q[kWords], HEAD, pos + 3);
      for (const j of [2, 1]) Atomics.store(q[kWords], seqWord(q, pos + j), ((pos + j + 4) * 4) >>> 0);
      q.enqueueBatch(['e', 'f', 'g'], 5000); // waits for the first slot, released by the repair
      assert.deepStrictEqual(q.skipped, { writes: 0, reads: 1 });
      assert.deepStrictEqual(q.tryDequeueBatch(), ['d', 'e', 'f', 'g']);
    });
  });

  withAddon('across processes', () => {
    let names = [];
    afterEach(() => {
      for (const n of names) removeShm(n);
      names = [];
    });

    it('2 producers of text batches, a batch consumer and a single-message consumer pass 200,000 strings exactly once, in order per producer', async function () {
      this.timeout(300000);
      const P = 2;
      const n = 100000;
      const { q, qName, bName, seg, board } = queueWithBoard('mpmc-runs', names, P * n, 256, 64);
      const consumers = ['consume-batch', 'consume'].map((mode) => spawnChild(CHILD, [mode, qName, bName, String(n)]));
      const producers = [0, 1].map((p) => spawnChild(CHILD, ['produce-batch-text', qName, bName, String(p), String(n)]));
      for (const p of producers) {
        const r = await p.exited;
        assert.strictEqual(r.code, 0, r.err);
      }
      await until(() => board.receivedCount() === P * n, 'every message received', 120000);
      board.stop();
      const results = await Promise.all(consumers.map((c) => c.exited));
      assertExactlyOnce(results, P, n, board, q);
      q.close();
      seg.close();
    });
  });
});
