'use strict';
// MpmcQueue batches of the C++ and the JS implementation on the same bytes (docs/format.md §15
// "Batches"; src/msg/mpmc_batch.cpp and lib/msg/mpmc-batch.js): C++ batch producer threads and a
// JS batch consumer, JS batch producers and a C++ batch consumer thread, each exactly once with
// the sum of the sequence numbers as the arithmetic check.
const assert = require('assert');
const path = require('path');
const { MpmcQueue } = require('../../index');
const { addon } = require('../../lib/base/native');
const { Scoreboard } = require('../helpers/scoreboard');
const { startWorker } = require('../helpers/parties');
const { numbered, producerOf, seqOf } = require('../helpers/messages');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'mpmc-child.js');
const withAddon = addon ? describe : describe.skip;
const expectedSum = (P, n) => (P * n * (n - 1)) / 2;

function region(capacity, messageBytes, startPosition) {
  const bytes = MpmcQueue.bytesFor(capacity, { messageBytes });
  const buffer = new SharedArrayBuffer(bytes);
  const q = MpmcQueue.create({ buffer, capacity, messageBytes, startPosition });
  return { q, buffer, bytes: new Uint8Array(buffer, 0, bytes) };
}

withAddon('MpmcQueue batches: C++ and JS parties on the same bytes', () => {
  it('2 C++ batch producer threads and a JS dequeueBatch consumer: 100000 messages exactly once, in per-producer order', async function () {
    this.timeout(120000);
    const P = 2;
    const n = 50000;
    const { q, bytes } = region(128, 16, 2 ** 32 - 20000);
    const natives = [0, 1].map((p) => addon.msgMpmcProduceBatch(bytes, n, 16, p, 1 + 31 * p));
    const seen = new Uint8Array(P * n);
    const last = [-1, -1];
    let count = 0;
    let sum = 0;
    while (count < P * n) {
      let got;
      try {
        got = q.dequeueBatch(64, 20000);
      } catch (e) {
        if (e.code === 'ERR_QUEUE_TIMEOUT') break; // the assertions below say what is missing
        throw e;
      }
      for (const m of got) {
        const p = producerOf(m);
        assert.ok(seqOf(m) > last[p], `producer ${p}: ${seqOf(m)} after ${last[p]}`);
        last[p] = seqOf(m);
        seen[p * n + seqOf(m)]++;
        sum += seqOf(m);
        count++;
      }
    }
    assert.deepStrictEqual(await Promise.all(natives), [n, n]);
    assert.strictEqual(count, P * n);
    assert.strictEqual(sum, expectedSum(P, n));
    assert.ok(seen.every((r) => r === 1));
    assert.deepStrictEqual(q.skipped, { writes: 0, reads: 0 });
    q.close();
  });

  it('JS batch producers (a worker and the main thread) and a C++ batch consumer thread: the C++ count and sum match', async function () {
    this.timeout(120000);
    const P = 2;
    const n = 50000;
    const { q, buffer, bytes } = region(64, 16, 2 ** 32 - 5000);
    const consumer = addon.msgMpmcConsumeBatch(bytes, P * n, 32);
    const board = new Scoreboard(new SharedArrayBuffer(Scoreboard.bytesFor(P * n)));
    const w = startWorker(CHILD, { mode: 'produce-batch', queue: { buffer }, board: board.words.buffer, p: 1, perProducer: n });
    // The main thread: tryEnqueueBatch of 1 to 40 messages, yielding to the event loop when the
    // queue is full.
    for (let i = 0, b = 0; i < n; b++) {
      const batch = [];
      for (let k = 0; k < Math.min(1 + ((b * 13) % 40), n - i); k++) batch.push(numbered(0, i + k));
      const sent = q.tryEnqueueBatch(batch);
      i += sent;
      if (sent < batch.length) await new Promise((r) => setImmediate(r));
    }
    assert.strictEqual(await w.result, 'done');
    assert.deepStrictEqual(await consumer, { count: P * n, sum: expectedSum(P, n) });
    assert.strictEqual(q.size, 0);
    q.close();
  });

  it('the native batch parties check their arguments', () => {
    const { q, bytes } = region(4, 8);
    assert.throws(() => addon.msgMpmcProduceBatch(bytes, 1, 8, 0, 0), RangeError);
    assert.throws(() => addon.msgMpmcProduceBatch(bytes, 1, 8, 0, 65), RangeError);
    assert.throws(() => addon.msgMpmcProduceBatch(bytes, 1, 9, 0, 4), (e) => e.code === 'ERR_MESSAGE_TOO_LARGE');
    assert.throws(() => addon.msgMpmcConsumeBatch(bytes, 1, 0), RangeError);
    assert.throws(() => addon.msgMpmcConsumeBatch(new Uint8Array(new SharedArrayBuffer(MpmcQueue.SLOTS_OFFSET)), 1, 4), (e) => e.code === 'ERR_BAD_MAGIC');
    assert.throws(() => addon.msgMpmcConsumeBatch(new Uint8Array(8), 1, 4), TypeError);
    q.close();
  });
});
