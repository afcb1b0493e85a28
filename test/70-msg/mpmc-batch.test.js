'use strict';
// MpmcQueue batches (docs/api.md "queue.tryEnqueueBatch", "queue.tryDequeueBatch"; the claim of
// several positions at once: docs/format.md §15 "Batches"): order and edges in one thread, bad
// arguments, a gone party's batch finished whole, exactly-once across processes, and kill -9 of
// producers and consumers that work in batches.
const assert = require('assert');
const path = require('path');
const { MpmcQueue } = require('../../index');
const { C, W } = require('../../lib/layout/layout');
const { addon } = require('../../lib/base/native');
const { OwnerTable, identityOf } = require('../../lib/ownership/owners');
const { queueWithBoard, assertExactlyOnce } = require('../helpers/scoreboard');
const { exitedPid, removeShm, until } = require('../helpers/process');
const { spawnChild } = require('../helpers/parties');
const { numbered, producerOf, seqOf } = require('../helpers/messages');
const { kWords } = require('../../lib/msg/mpmc');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'mpmc-child.js');
const WORD = Uint32Array.BYTES_PER_ELEMENT;
const TAIL = C.MPMC_CONTROL_OFFSET / WORD + W.MPMC_CONTROL.TAIL;
const HEAD = C.MPMC_CONTROL_OFFSET / WORD + W.MPMC_CONTROL.HEAD;
const withAddon = addon ? describe : describe.skip;
const BATCH = 32; // the children's batches: 1 to 32 messages, dequeueBatch(32)

function queue(capacity, options = {}) {
  const messageBytes = options.messageBytes ?? 64;
  const buffer = new SharedArrayBuffer(MpmcQueue.bytesFor(capacity, { messageBytes }));
  return MpmcQueue.create({ buffer, capacity, messageBytes, ...options });
}

// A party of process `pid` whose intent names positions pos..pos+extra for `role` (a batch claim
// in progress, as a party killed in the middle of a batch leaves it).
function party(q, role, pos, extra, pid) {
  const owners = new OwnerTable(q[kWords], C.MPMC_OWNERS_OFFSET / WORD, C.MPMC_OWNER_SLOTS);
  const o = owners.claim(identityOf(pid, 1));
  const intent = C.MPMC_INTENTS_OFFSET / WORD + o * W.MPMC_INTENT.WORDS;
  Atomics.store(q[kWords], intent + (role === C.MPMC_INTENT_PRODUCE ? W.MPMC_INTENT.PRODUCE_POS : W.MPMC_INTENT.CONSUME_POS), pos);
  Atomics.store(q[kWords], intent + W.MPMC_INTENT.EXTRA, extra);
  Atomics.store(q[kWords], intent + W.MPMC_INTENT.ROLES, role);
}

const range = (from, n) => Array.from({ length: n }, (_, i) => from + i);

describe('MpmcQueue batches', () => {
  describe('one thread', () => {
    it('enqueues the prefix that fits, dequeues in FIFO order, at most max, mixed with single calls', () => {
      const q = queue(8);
      assert.strictEqual(q.tryEnqueueBatch(['a', Buffer.from([1, 2]), { b: [3] }]), 3);
      assert.strictEqual(q.tryEnqueue('d'), true);
      assert.strictEqual(q.tryEnqueueBatch(range(0, 10)), 4); // 4 slots left
      assert.strictEqual(q.tryEnqueueBatch([1]), 0);
      assert.deepStrictEqual(q.tryDequeueBatch(2), ['a', Buffer.from([1, 2])]);
      assert.deepStrictEqual(q.tryDequeue(), { b: [3] });
      assert.deepStrictEqual(q.tryDequeueBatch(), ['d', 0, 1, 2, 3]);
      assert.deepStrictEqual(q.tryDequeueBatch(), []);
      assert.strictEqual(q.tryEnqueueBatch([]), 0);
      assert.strictEqual(q.size, 0);
      assert.deepStrictEqual(q.skipped, { writes: 0, reads: 0 });
    });

    it('claims across the wrap at 2^32 and over more than one claim of 64 positions', () => {
      const q = queue(256, { messageBytes: 8, startPosition: 2 ** 32 - 100 });
      let next = 0;
      let expected = 0;
      for (let round = 0; round < 20; round++) {
        const n = q.tryEnqueueBatch(range(next, 1 + ((round * 37) % 200)));
        next += n;
        for (const m of q.tryDequeueBatch(1 + ((round * 53) % 150))) assert.strictEqual(m, expected++);
      }
      for (const m of q.tryDequeueBatch()) assert.strictEqual(m, expected++);
      assert.strictEqual(expected, next);
      assert.ok(next > 256, `${next} messages`);
      assert.strictEqual(Atomics.load(q[kWords], TAIL), (2 ** 32 - 100 + next) % 2 ** 32);
      assert.strictEqual(Atomics.load(q[kWords], HEAD), Atomics.load(q[kWords], TAIL));
    });

    it('blocking forms: enqueueBatch waits for room, times out with `enqueued`; dequeueBatch times out when empty', () => {
      const q = queue(4);
      assert.throws(() => q.dequeueBatch(4, 10), (e) => e.code === 'ERR_QUEUE_TIMEOUT' && e.status === 35);
      q.tryEnqueue('x');
      assert.throws(() => q.enqueueBatch(['a', 'b', 'c', 'd', 'e'], 20), (e) => e.code === 'ERR_QUEUE_TIMEOUT' && e.enqueued === 3);
      assert.deepStrictEqual(q.dequeueBatch(10, 1000), ['x', 'a', 'b', 'c']);
      q.enqueueBatch(['d', 'e'], 1000);
      assert.deepStrictEqual(q.dequeueBatch(undefined, 1000), ['d', 'e']);
    });

    it('refuses bad arguments; a value that cannot be sent throws after the values before it were enqueued', () => {
      const q = queue(8, { messageBytes: 4 });
      for (const bad of [undefined, 'abc', { length: 1 }, new Set([1])]) {
        assert.throws(() => q.tryEnqueueBatch(bad), TypeError);
        assert.throws(() => q.enqueueBatch(bad), TypeError);
      }
      for (const bad of [0, -1, 1.5, Infinity]) {
        assert.throws(() => q.tryDequeueBatch(bad), RangeError);
        assert.throws(() => q.dequeueBatch(bad, 10), RangeError);
      }
      assert.throws(() => q.tryDequeueBatch('2'), TypeError);
      assert.throws(() => q.enqueueBatch(['a'], -1), RangeError);
      assert.throws(() => q.tryEnqueueBatch(['a', 'b', 'toolong', 'c']), (e) => e.code === 'ERR_MESSAGE_TOO_LARGE');
      assert.throws(() => q.enqueueBatch(['d', () => 1, 'e'], 1000), TypeError);
      assert.throws(() => q.tryEnqueueBatch([1n]), TypeError);
      assert.strictEqual(q.size, 3);
      assert.deepStrictEqual(q.tryDequeueBatch(), ['a', 'b', 'd']);
      assert.deepStrictEqual(q.skipped, { writes: 0, reads: 0 });
      q.close();
      assert.throws(() => q.tryEnqueueBatch(['a']), (e) => e.code === 'ERR_CLOSED');
      assert.throws(() => q.tryDequeueBatch(), (e) => e.code === 'ERR_CLOSED');
    });
  });

  describe('a party that is gone in the middle of a batch', () => {
    it('the unpublished slots of a gone producer\'s batch are all given up within one recheck', () => {
      const q = queue(8);
      q.tryEnqueue('before');
      const pos = Atomics.load(q[kWords], TAIL);
      party(q, C.MPMC_INTENT_PRODUCE, pos, 4, exitedPid()); // claimed 5 positions
      Atomics.store(q[kWords], TAIL, pos + 5); // none of them written
      q.tryEnqueue('after');
      // The consumer stops at the first unpublished slot, finds its claimer gone and gives up all
      // five (one /proc check per position), then goes on.
      const got = q.dequeueBatch(8, 5000);
      if (got.length === 1) got.push(...q.dequeueBatch(8, 5000));
      assert.deepStrictEqual(got, ['before', 'after']);
      assert.deepStrictEqual(q.skipped, { writes: 5, reads: 0 });
      assert.strictEqual(q.tryEnqueueBatch(range(0, 8)), 8); // every slot serves its next lap
      assert.deepStrictEqual(q.tryDequeueBatch(), range(0, 8));
    });

    it('the slots of a gone consumer\'s batch are released: its messages lost, counted, none twice', () => {
      const q = queue(4);
      assert.strictEqual(q.tryEnqueueBatch(['a', 'b', 'c', 'd']), 4);
      const pos = Atomics.load(q[kWords], HEAD);
      party(q, C.MPMC_INTENT_CONSUME, pos, 2, exitedPid()); // claimed a, b, c
      Atomics.store(q[kWords], HEAD, pos + 3); // never released
      q.enqueueBatch(['e', 'f', 'g'], 5000); // waits for the dead consumer's slots, then takes them
      assert.deepStrictEqual(q.skipped, { writes: 0, reads: 3 });
      assert.deepStrictEqual(q.tryDequeueBatch(), ['d', 'e', 'f', 'g']);
    });

    it('a batch whose claimer is alive is never taken from it', () => {
      const q = queue(8);
      const pos = Atomics.load(q[kWords], TAIL);
      party(q, C.MPMC_INTENT_PRODUCE, pos, 2, process.pid);
      Atomics.store(q[kWords], TAIL, pos + 3);
      assert.throws(() => q.dequeueBatch(8, 200), (e) => e.code === 'ERR_QUEUE_TIMEOUT');
      assert.deepStrictEqual(q.skipped, { writes: 0, reads: 0 });
    });
  });

  withAddon('across processes', () => {
    let names = [];
    afterEach(() => {
      for (const n of names) removeShm(n);
      names = [];
    });

    const setup = (total, capacity) => queueWithBoard('mpmc-batch', names, total, capacity);

    it('2 batch producers, a batch consumer and a single-message consumer pass 400,000 messages exactly once', async function () {
      this.timeout(300000);
      const P = 2;
      const n = 200000;
      const { q, qName, bName, seg, board } = setup(P * n, 256);
      const consumers = ['consume-batch', 'consume'].map((mode) => spawnChild(CHILD, [mode, qName, bName, String(n)]));
      const producers = [0, 1].map((p) => spawnChild(CHILD, ['produce-batch', qName, bName, String(p), String(n)]));
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

    it('kill -9 of batch producers and batch consumers at random moments: the others go on; nothing twice, losses within a batch each', async function () {
      this.timeout(300000);
      const rounds = 6;
      const n = 400000; // more than a producer sends before it is killed
      const { q, qName, bName, seg, board } = setup(2 * rounds * n, 128);
      const drain = () => {
        for (const m of q.tryDequeueBatch()) board.markReceived(producerOf(m) * n + seqOf(m));
      };
      // Batch producers killed in the middle of their stream; this thread consumes meanwhile.
      for (let k = 0; k < rounds; k++) {
        const p = spawnChild(CHILD, ['produce-batch', qName, bName, String(k), String(n)]);
        await until(() => { drain(); return board.receivedCount() > 0; }, 'a producer running', 60000);
        const stopAt = Date.now() + 20 + Math.floor(Math.random() * 120);
        while (Date.now() < stopAt) {
          drain();
          await new Promise((r) => setImmediate(r));
        }
        p.c.kill('SIGKILL');
        await p.exited;
      }
      // Each consumer below starts on an empty queue (slots a dead producer claimed are given up
      // within 50 ms), so that what a killed consumer took is of its own round's stream alone.
      const drained = () => until(() => { drain(); return q.size === 0; }, 'the queue drained', 60000);
      await drained();
      // Batch consumers killed in the middle of their stream; this thread produces meanwhile.
      for (let k = rounds; k < 2 * rounds; k++) {
        const c = spawnChild(CHILD, ['consume-batch', qName, bName, String(n)]);
        let i = 0;
        // Killed at a random moment once it is consuming (it has received something).
        const before = board.receivedCount();
        let stopAt = Infinity;
        const deadline = Date.now() + 60000;
        while (Date.now() < stopAt && Date.now() < deadline) {
          if (stopAt === Infinity && board.receivedCount() > before) stopAt = Date.now() + 20 + Math.floor(Math.random() * 120);
          const batch = range(i, 1 + (i & (BATCH - 1))).map((j) => numbered(k, j));
          const sent = q.tryEnqueueBatch(batch);
          for (let j = 0; j < sent; j++) board.markProduced(k * n + i + j);
          i += sent;
          if (sent < batch.length) await new Promise((r) => setImmediate(r));
        }
        assert.ok(stopAt !== Infinity, 'a consumer running');
        c.c.kill('SIGKILL');
        await c.exited;
        await drained(); // what the killed consumer left (slots it claimed are released within 50 ms)
      }
      const t = board.tally();
      const skipped = q.skipped;
      // Lost ids (marked produced, never received) of stream k: k < rounds a killed producer's
      // (this thread the only consumer), k >= rounds those the consumer killed in round k took
      // with it (the queue was empty when it started and was drained after it).
      const lostOf = (k) => range(k * n, n).filter((id) => board.produced[id] && board.received[id] === 0).length;
      const perProducer = range(0, rounds).map(lostOf);
      const perConsumer = range(rounds, rounds).map(lostOf);
      console.log(`      ${rounds} batch producers and ${rounds} batch consumers killed: ${t.received} received, ${t.lost} lost, ` +
        `${t.duplicated} duplicated, ${t.unmarked} received but not marked produced; skipped slots ${JSON.stringify(skipped)}; ` +
        `lost per killed consumer ${JSON.stringify(perConsumer)}`);
      assert.strictEqual(t.duplicated, 0);
      // A dead producer loses nothing whose enqueueBatch() returned: what it claimed and did not
      // publish was never marked produced (given up: skipped.writes), and what it published
      // arrives (unmarked when it died before marking it: at most its last batch of 32).
      assert.deepStrictEqual(perProducer, range(0, rounds).map(() => 0));
      // A dead consumer takes at most the messages of its dequeueBatch(32) call: claimed and not
      // released (skipped.reads), or read and not yet marked received.
      assert.ok(perConsumer.every((x) => x <= BATCH), `lost per consumer ${perConsumer}`);
      assert.strictEqual(t.lost, perConsumer.reduce((a, b) => a + b, 0));
      assert.ok(t.unmarked <= BATCH * rounds, `unmarked ${t.unmarked}`);
      assert.ok(skipped.writes <= BATCH * rounds && skipped.reads <= BATCH * rounds, JSON.stringify(skipped));
      assert.strictEqual(q.size, 0);
      q.close();
      seg.close();
    });
  });
});
