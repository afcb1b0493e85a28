'use strict';
// Channel (docs/api.md "Channel"; bytes and protocol: docs/format.md §15, "Channels").
const assert = require('assert');
const path = require('path');
const { Worker } = require('worker_threads');
const { Channel, MpmcQueue } = require('../../index');
const { CLOSED, kWords, kClosable, kPrepare, kPush } = require('../../lib/msg/mpmc');
const { writeSlot } = require('../../lib/msg/mpmc-batch');
const S = require('../../lib/msg/mpmc-slots');
const { C, W } = require('../../lib/layout/layout');
const { OwnerTable, identityOf } = require('../../lib/ownership/owners');
const { addon } = require('../../lib/base/native');
const { uniqueName, removeShm, runNode } = require('../helpers/process');
const { seqOf } = require('../helpers/messages');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'mpmc-child.js');
const withAddon = addon ? describe : describe.skip;
const isClosed = (e) => e.code === 'ERR_CHANNEL_CLOSED' && e.status === 37;
const isTimeout = (e) => e.code === 'ERR_QUEUE_TIMEOUT';
const WORD = Uint32Array.BYTES_PER_ELEMENT;

function channel(capacity = 4) {
  return Channel.create({ buffer: new SharedArrayBuffer(Channel.bytesFor(capacity, { messageBytes: 64 })), capacity, messageBytes: 64 });
}

function worker(data) {
  const w = new Worker(CHILD, { workerData: data });
  const messages = [];
  let notify = null;
  w.on('message', (m) => { messages.push(m); if (notify) notify(); });
  const next = async () => {
    while (!messages.length) await new Promise((r) => { notify = r; });
    notify = null;
    return messages.shift();
  };
  return { w, next };
}

describe('Channel', () => {
  it('sends and receives in order: try forms, Promise forms, blocking forms', async () => {
    const ch = channel(4);
    assert.strictEqual(ch.trySend('a'), true);
    await ch.send({ b: 2 });
    ch.sendSync(3, 100);
    assert.strictEqual(ch.tryReceive(), 'a');
    assert.deepStrictEqual(await ch.receive(), { b: 2 });
    assert.strictEqual(ch.receiveSync(100), 3);
    assert.strictEqual(ch.tryReceive(), undefined);
    for (let i = 0; i < 4; i++) assert.strictEqual(ch.trySend(i), true);
    assert.strictEqual(ch.trySend(4), false);
    await assert.rejects(ch.send(4, { timeoutMs: 20 }), (e) => e.code === 'ERR_QUEUE_TIMEOUT');
    assert.throws(() => ch.sendSync(4, 20), (e) => e.code === 'ERR_QUEUE_TIMEOUT');
    assert.throws(() => ch.trySend('x'.repeat(65)), (e) => e.code === 'ERR_MESSAGE_TOO_LARGE');
    assert.throws(() => ch.send(undefined), TypeError);
    ch.dispose();
    assert.throws(() => ch.trySend(1), (e) => e.code === 'ERR_CLOSED');
  });

  it('close(): receivers drain, then see the end; sends and a second close fail (Go semantics)', async () => {
    const ch = channel(4);
    ch.trySend(1);
    ch.trySend(2);
    ch.close();
    assert.strictEqual(ch.closed, true);
    assert.throws(() => ch.trySend(3), isClosed);
    await assert.rejects(ch.send(3), isClosed);
    assert.throws(() => ch.close(), isClosed);
    const got = [];
    for await (const m of ch) got.push(m);
    assert.deepStrictEqual(got, [1, 2]);
    await assert.rejects(ch.receive(), isClosed);
    assert.throws(() => ch.receiveSync(), isClosed);
    assert.strictEqual(ch.tryReceive(), undefined);
  });

  it('after close(), nothing to receive now is not the end while a sender that claimed its slot before may publish it; a zero timeout tells', async () => {
    const ch = channel(4);
    ch.trySend('first');
    // A sender of this process past its check of `closed`, not done writing: its intent names the
    // position it claimed (format.md §15), then the claim of `tail`.
    const q = MpmcQueue.open({ buffer: ch.buffer });
    const pos = Atomics.load(q[kWords], S.TAIL);
    const o = new OwnerTable(q[kWords], C.MPMC_OWNERS_OFFSET / WORD, C.MPMC_OWNER_SLOTS).claim(identityOf(process.pid, 1));
    Atomics.store(q[kWords], S.intentWord(o, W.MPMC_INTENT.PRODUCE_POS), pos);
    Atomics.store(q[kWords], S.intentWord(o, W.MPMC_INTENT.ROLES), C.MPMC_INTENT_PRODUCE);
    Atomics.store(q[kWords], S.TAIL, pos + 1);
    ch.close();
    assert.strictEqual(ch.tryReceive(), 'first');
    // Closed and nothing queued, and yet not the end:
    assert.deepStrictEqual([ch.closed, ch.tryReceive()], [true, undefined]);
    assert.throws(() => ch.receiveSync(0), isTimeout);
    await assert.rejects(ch.receive({ timeoutMs: 0 }), isTimeout);
    await assert.rejects(ch.receiveBatch(4, { timeoutMs: 0 }), isTimeout);
    // The sender publishes what it sent before the close.
    const { tag, payload } = q[kPrepare]('sent before the close');
    writeSlot(q[kWords], Buffer.from(ch.buffer), q.seqIndex_(pos), tag, payload);
    Atomics.store(q[kWords], q.seqIndex_(pos), S.seqOf(pos, C.MPMC_SEQ_FULL));
    assert.strictEqual(ch.tryReceive(), 'sent before the close');
    assert.throws(() => ch.receiveSync(0), isClosed);
    await assert.rejects(ch.receive({ timeoutMs: 0 }), isClosed);
    q.close();
  });

  it('close() wakes every waiting receiver and sender', async () => {
    const ch = channel(2);
    const receivers = [ch.receive(), ch.receive({ timeoutMs: 60000 })];
    const full = channel(2);
    full.trySend(1);
    full.trySend(2);
    const sender = full.send(3);
    await new Promise((r) => setTimeout(r, 30));
    ch.close();
    full.close();
    // Awaited together: one wake-up may end them all at once (a rejection not yet awaited would be unhandled).
    await Promise.all([...receivers, sender].map((p) => assert.rejects(p, isClosed)));
    assert.deepStrictEqual([full.tryReceive(), full.tryReceive(), full.tryReceive()], [1, 2, undefined]);
  });

  it('a send that claimed its slot after close() gives it up: nothing arrives after the end', () => {
    const ch = channel(4);
    ch.trySend('before');
    // A sender past its check of `closed` when close() lands: it claims a slot, then sees it.
    const q = MpmcQueue.open({ buffer: ch.buffer });
    q[kClosable]();
    const p = q[kPrepare]('after the end');
    ch.close();
    assert.strictEqual(q[kPush](p), CLOSED);
    assert.strictEqual(q.size, 2); // claimed and given up, not yet skipped by a receiver
    assert.strictEqual(ch.receiveSync(100), 'before');
    assert.throws(() => ch.receiveSync(100), isClosed); // the given-up slot is skipped
    assert.deepStrictEqual(ch.skipped, { writes: 0, reads: 0 });
    // A plain queue handle on a channel's bytes ignores close: what it enqueues is drained.
    const plain = MpmcQueue.open({ buffer: ch.buffer });
    assert.strictEqual(plain.tryEnqueue('late'), true);
    assert.strictEqual(ch.receiveSync(100), 'late');
    q.close();
    plain.close();
  });

  it('sendBatch() sends in order; receiveBatch() takes what is queued, at least one, at most max', async () => {
    const values = [1, 'two', { three: 3 }, 4, 5, 6];
    const roomy = channel(8);
    assert.strictEqual(await roomy.sendBatch(values), 6);
    assert.deepStrictEqual(await roomy.receiveBatch(4), values.slice(0, 4));
    assert.deepStrictEqual(await roomy.receiveBatch(10), values.slice(4));
    const ch = channel(4); // the batch waits for room: receivers take it in turns
    const sending = ch.sendBatch(values);
    const got = [];
    while (got.length < values.length) got.push(...await ch.receiveBatch(3, { timeoutMs: 10000 }));
    assert.deepStrictEqual(got, values);
    assert.strictEqual(await sending, 6);
    assert.throws(() => ch.sendBatch([1, undefined]), TypeError); // checked before any is sent
    assert.strictEqual(ch.tryReceive(), undefined);
    assert.throws(() => ch.sendBatch('x'), TypeError);
    assert.throws(() => ch.receiveBatch(0), RangeError);
    ch.close();
    await assert.rejects(ch.receiveBatch(3), isClosed);
    await assert.rejects(ch.sendBatch([1]), isClosed);
  });

  it('abort and timeout of receive()', async () => {
    const ch = channel();
    await assert.rejects(ch.receive({ timeoutMs: 20 }), (e) => e.code === 'ERR_QUEUE_TIMEOUT');
    const ac = new AbortController();
    const p = ch.receive({ signal: ac.signal });
    ac.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
    assert.throws(() => ch.receive({ signal: 1 }), TypeError);
  });

  it('a worker blocked in receiveSync() ends at close(); a terminated one leaves the channel usable', async () => {
    const ch = channel(8);
    const r = worker({ mode: 'channel-receive', queue: { buffer: ch.buffer } });
    for (let i = 0; i < 100; i++) await ch.send(Buffer.from([0, 0, 0, 0, i, 0, 0, 0]));
    ch.close();
    assert.deepStrictEqual(await r.next(), { count: 100, sum: 4950 });
    const ch2 = channel(8);
    const b = worker({ mode: 'channel-block', queue: { buffer: ch2.buffer } });
    assert.strictEqual(await b.next(), 'waiting');
    await new Promise((res) => setTimeout(res, 30));
    await b.w.terminate();
    ch2.trySend('after');
    assert.strictEqual(ch2.receiveSync(1000), 'after');
  });

  withAddon('between processes', () => {
    it('a child process sends 20000 messages and closes; for await receives each once, then ends', async function () {
      this.timeout(120000);
      const name = uniqueName('channel');
      const ch = Channel.create({ name, capacity: 64, messageBytes: 16 });
      try {
        const child = runNode(CHILD, ['channel-send', name, '20000']);
        let count = 0;
        let sum = 0;
        for await (const m of ch) {
          assert.strictEqual(seqOf(m), count);
          count++;
          sum += seqOf(m);
        }
        const res = await child;
        assert.strictEqual(res.code, 0, res.stderr);
        assert.deepStrictEqual([count, sum], [20000, (20000 * 19999) / 2]);
      } finally {
        ch.dispose();
        removeShm(name);
      }
    });
  });
});
