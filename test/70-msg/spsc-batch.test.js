'use strict';
// SpscRing batches (docs/api.md "SpscRing", batches): enqueueBatch/tryEnqueueBatch publish many
// records with one store of the tail, dequeueBatch/tryDequeueBatch release many with one store of
// the head (docs/format.md §15). The bytes are those of single messages: the C++ side reads them.
const assert = require('assert');
const path = require('path');
const { spawn } = require('child_process');
const { Worker } = require('worker_threads');
const { SpscRing, ShmError } = require('../../index');
const { addon } = require('../../lib/base/native');
const { uniqueName, removeShm, runNode } = require('../helpers/process');
const { seqOf, textOf, seqOfText, nativeMessage } = require('../helpers/messages');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'msg-child.js');
const withAddon = addon ? describe : describe.skip;

function ring(capacity, options = {}) {
  const buffer = new SharedArrayBuffer(SpscRing.bytesFor(capacity, options.elementSize ? { elementSize: options.elementSize } : undefined));
  return SpscRing.create({ buffer, capacity, ...options });
}

describe('SpscRing batches', () => {
  it('carries a batch of mixed values in order; max bounds a dequeue; an empty ring gives []', () => {
    const r = ring(1024);
    const sent = ['', 'héllo ✓ 𝄞', Buffer.from([1, 2, 3]), { a: [1, 'x', null] }, 42, null, [true], 'end'];
    assert.strictEqual(r.tryEnqueueBatch(sent), sent.length);
    assert.deepStrictEqual(r.tryDequeueBatch(3), sent.slice(0, 3));
    assert.deepStrictEqual(r.tryDequeue(), sent[3]);
    assert.deepStrictEqual(r.tryDequeueBatch(), sent.slice(4));
    assert.deepStrictEqual(r.tryDequeueBatch(), []);
    assert.strictEqual(r.tryEnqueueBatch([]), 0);
    assert.strictEqual(r.size, 0);
  });

  it('enqueues the prefix that fits; a full ring takes none', () => {
    const r = ring(64); // two records of 28 payload bytes fill it
    const m = 'x'.repeat(28);
    assert.strictEqual(r.tryEnqueueBatch([m, m, m]), 2);
    assert.strictEqual(r.size, 64);
    assert.strictEqual(r.tryEnqueueBatch(['']), 0);
    assert.deepStrictEqual(r.tryDequeueBatch(), [m, m]);
  });

  it('a value that cannot be sent throws; the values before it are enqueued, the rest are not', () => {
    const r = ring(256);
    assert.throws(() => r.tryEnqueueBatch(['a', 'b', () => 1, 'c']), TypeError);
    assert.throws(() => r.tryEnqueueBatch(['d', 'x'.repeat(125), 'e']), (e) => e instanceof ShmError && e.code === 'ERR_MESSAGE_TOO_LARGE');
    assert.throws(() => r.enqueueBatch([10n]), TypeError);
    assert.deepStrictEqual(r.tryDequeueBatch(), ['a', 'b', 'd']);
    assert.strictEqual(r.size, 0);
  });

  it('checks its arguments and the mode, with the ring unchanged', () => {
    const r = ring(256);
    r.tryEnqueue('keep');
    for (const bad of ['abc', { length: 1, 0: 'x' }, undefined, new Set(['x'])]) {
      assert.throws(() => r.tryEnqueueBatch(bad), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG');
      assert.throws(() => r.enqueueBatch(bad), TypeError);
    }
    assert.throws(() => r.enqueueBatch(['x'], -1), RangeError);
    assert.throws(() => r.tryDequeueBatch(0), RangeError);
    assert.throws(() => r.tryDequeueBatch(1.5), RangeError);
    assert.throws(() => r.tryDequeueBatch('2'), TypeError);
    assert.throws(() => r.dequeueBatch(1, '1'), TypeError);
    const e = ring(8, { elementSize: 4 });
    assert.throws(() => e.tryEnqueueBatch([new Uint32Array(1)]), (x) => x instanceof ShmError && x.code === 'ERR_INVALID_ARG');
    assert.throws(() => e.tryDequeueBatch(), (x) => x.code === 'ERR_INVALID_ARG');
    assert.throws(() => e.dequeueBatch(1, 0), (x) => x.code === 'ERR_INVALID_ARG');
    assert.strictEqual(r.tryDequeue(), 'keep');
    assert.strictEqual(r.tryDequeue(), undefined);
    r.close();
    assert.throws(() => r.tryEnqueueBatch([]), (x) => x.code === 'ERR_CLOSED');
    assert.throws(() => r.tryDequeueBatch(), (x) => x.code === 'ERR_CLOSED');
  });

  it('blocking forms time out: enqueueBatch says how many it enqueued', () => {
    const r = ring(64);
    const m = 'x'.repeat(28);
    assert.throws(() => r.enqueueBatch([m, m, m, m], 20), (e) => e.code === 'ERR_QUEUE_TIMEOUT' && e.status === 35 && e.enqueued === 2);
    assert.deepStrictEqual(r.dequeueBatch(1), [m]);
    assert.deepStrictEqual(r.dequeueBatch(undefined, 0), [m]);
    assert.throws(() => r.dequeueBatch(8, 20), (e) => e.code === 'ERR_QUEUE_TIMEOUT');
  });

  it('wraps around the 2^32 positions (startPosition, a test hook) with batches of every size', () => {
    for (const start of [2 ** 32 - 100, 2 ** 32 - 4]) {
      const r = ring(128, { startPosition: start });
      let sent = 0;
      let got = 0;
      for (let round = 0; round < 400; round++) {
        const batch = Array.from({ length: 1 + (round % 5) }, (_, k) => ({ n: sent + k, pad: 'p'.repeat((sent + k) % 30) }));
        sent += r.tryEnqueueBatch(batch);
        for (const m of r.tryDequeueBatch(1 + (round % 3))) assert.strictEqual(m.n, got++);
      }
      for (const m of r.tryDequeueBatch()) assert.strictEqual(m.n, got++);
      assert.strictEqual(got, sent);
      assert.ok(sent > 400);
    }
  });

  it('a batch of more than a quarter of the ring is published in parts while it is written', () => {
    // The consumer must see the first records of a large batch before the producer has written
    // the last (else it waits for the whole batch, and the producer then for all of its room).
    // A toJSON runs in the middle of the batch: what the other handle sees queued then.
    const buffer = new SharedArrayBuffer(SpscRing.bytesFor(4096));
    const producer = SpscRing.create({ buffer, capacity: 4096 });
    const consumer = SpscRing.open({ buffer });
    const seen = [];
    const values = Array.from({ length: 30 }, (_, k) => ({ toJSON: () => { seen.push(consumer.size); return { k, pad: 'p'.repeat(80) }; } }));
    assert.strictEqual(producer.tryEnqueueBatch(values), values.length);
    assert.strictEqual(seen[0], 0);
    assert.ok(seen[seen.length - 1] >= 4096 / 4, `published before the last value: ${seen}`);
    assert.deepStrictEqual(consumer.tryDequeueBatch().map((m) => m.k), values.map((_, k) => k));
  });

  it('strings of every kind come back exactly, in runs and one by one, across the end of the data and 2^32', () => {
    // Short ASCII strings go as runs (one write, one decode); a string with any other unit, a
    // long one, a JSON value or bytes breaks a run. Each value is read back exactly, whatever
    // the mix, the batch sizes and where the runs meet the end of the data.
    let seed = 7;
    const rand = (n) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const odd = ['\u00e9', '\u00ff', '\u0100', '\u20ac', '\ud83d\ude00', '\ud800', '\udfff', '\u007f', '\u0000'];
    const value = (n) => {
      const k = rand(10);
      const text = `${n}:${'abcdefghijklmnopqrstuvwxyz'.slice(0, rand(27))}`;
      if (k < 6) return text;
      if (k === 6) return `${text}${odd[rand(odd.length)]}${text}`;
      if (k === 7) return `${n}:${'L'.repeat(200 + rand(200))}`;
      if (k === 8) return { n, s: odd[rand(odd.length)] };
      return Buffer.from(text);
    };
    for (const start of [0, 2 ** 32 - 300]) {
      const r = ring(2048, { startPosition: start });
      const sent = [];
      let got = 0;
      for (let round = 0; round < 600; round++) {
        const batch = Array.from({ length: 1 + rand(40) }, (_, k) => value(sent.length + k));
        const n = round % 4 === 3 ? (r.tryEnqueue(batch[0]) ? 1 : 0) : r.tryEnqueueBatch(batch);
        // A lone surrogate travels as UTF-8 does: U+FFFD (as it always has).
        sent.push(...batch.slice(0, n).map((m) => (typeof m === 'string' ? m.toWellFormed() : m)));
        const out = round % 5 === 4 ? [r.tryDequeue()].filter((m) => m !== undefined) : r.tryDequeueBatch(1 + rand(50));
        for (const m of out) assert.deepStrictEqual(m, sent[got++]);
      }
      for (const m of r.tryDequeueBatch()) assert.deepStrictEqual(m, sent[got++]);
      assert.strictEqual(got, sent.length);
      assert.ok(got > 2000, `${got}`);
    }
  });

  it('passes 100000 numbered messages from a worker in batches exactly once and in order', async function () {
    this.timeout(120000);
    const buffer = new SharedArrayBuffer(SpscRing.bytesFor(4096));
    const r = SpscRing.create({ buffer, capacity: 4096 });
    const N = 100000;
    const w = new Worker(CHILD, { workerData: { mode: 'spsc-produce-batch', buffer, byteOffset: 0, count: N } });
    const done = new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    let next = 0;
    let sum = 0;
    let batches = 0;
    while (next < N) {
      const got = batches % 2 ? r.dequeueBatch(1 + (batches % 100), 30000) : r.tryDequeueBatch();
      if (got.length === 0) await new Promise((res) => setImmediate(res));
      for (const m of got) {
        assert.strictEqual(seqOf(m), next++);
        sum += seqOf(m);
      }
      batches++;
    }
    assert.strictEqual(sum, (N * (N - 1)) / 2);
    assert.strictEqual(await done, 'done');
    assert.deepStrictEqual(r.tryDequeueBatch(), []);
  });

  it('passes 100000 numbered strings from a worker in batches (runs of ASCII and UTF-8 records) exactly once and in order', async function () {
    this.timeout(120000);
    const buffer = new SharedArrayBuffer(SpscRing.bytesFor(4096));
    const r = SpscRing.create({ buffer, capacity: 4096 });
    const N = 100000;
    const w = new Worker(CHILD, { workerData: { mode: 'spsc-produce-text', buffer, byteOffset: 0, count: N } });
    const done = new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    let next = 0;
    let sum = 0;
    let batches = 0;
    while (next < N) {
      const got = batches % 3 === 2 ? [r.dequeue(30000)] : r.dequeueBatch(1 + (batches % 100), 30000);
      for (const m of got) {
        assert.strictEqual(m, textOf(next++));
        sum += seqOfText(m);
      }
      batches++;
    }
    assert.strictEqual(sum, (N * (N - 1)) / 2);
    assert.strictEqual(await done, 'done');
    assert.deepStrictEqual(r.tryDequeueBatch(), []);
  });

  withAddon('with the C++ side and across processes', () => {
    it('a JS batch producer and a C++ consumer thread: the C++ sum matches', async function () {
      this.timeout(120000);
      const bytes = SpscRing.bytesFor(1024);
      const buffer = new SharedArrayBuffer(bytes);
      const r = SpscRing.create({ buffer, capacity: 1024, startPosition: 2 ** 32 - 512 });
      const N = 100000;
      const done = addon.msgSpscConsume(new Uint8Array(buffer, 0, bytes), N);
      for (let i = 0; i < N;) {
        const batch = [];
        for (const end = Math.min(N, i + 1 + (i % 50)); i < end; i++) batch.push(nativeMessage(i, 12));
        let k = 0;
        while ((k += r.tryEnqueueBatch(batch.slice(k))) < batch.length) await new Promise((res) => setImmediate(res));
      }
      assert.deepStrictEqual(await done, { count: N, sum: (N * (N - 1)) / 2 });
    });

    it('a batch producer killed with SIGKILL leaves whole messages in order: a new producer continues', async function () {
      this.timeout(120000);
      const name = uniqueName('spsc-batch-kill');
      const r = SpscRing.create({ name, capacity: 1024 });
      try {
        const child = spawn(process.execPath, [CHILD, 'spsc-produce-batch', name, '1000000'], { stdio: ['ignore', 'pipe', 'inherit'] });
        const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal || code)));
        const stopAt = 2000 + Math.floor(Math.random() * 20000);
        let next = 0;
        while (next < stopAt) {
          const got = r.tryDequeueBatch(1 + (next % 77));
          if (got.length === 0) await r.dequeueAsync({ timeoutMs: 60000 }).then((m) => got.push(m));
          for (const m of got) assert.strictEqual(seqOf(m), next++);
        }
        child.kill('SIGKILL');
        assert.strictEqual(await exited, 'SIGKILL');
        for (const m of r.tryDequeueBatch()) assert.strictEqual(seqOf(m), next++);
        const end = next + 5000;
        const res = runNode(CHILD, ['spsc-produce-batch', name, String(end), String(next)]);
        while (next < end) for (const m of r.dequeueBatch(64, 60000)) assert.strictEqual(seqOf(m), next++);
        assert.strictEqual((await res).code, 0, (await res).stderr);
        assert.deepStrictEqual(r.tryDequeueBatch(), []);
      } finally {
        r.close();
        removeShm(name);
      }
    });
  });
});
