'use strict';
// Channel batches (docs/api.md "channel.sendBatch", "channel.receiveBatch"): claims of several
// slots at once (docs/format.md §15 "Batches") with the channel's close, timeout and abort, and
// exactly-once across processes through the batch forms only.
const assert = require('assert');
const path = require('path');
const { Channel, ShmError } = require('../../index');
const { addon } = require('../../lib/base/native');
const { queueWithBoard, assertExactlyOnce } = require('../helpers/scoreboard');
const { spawnChild } = require('../helpers/parties');
const { removeShm } = require('../helpers/process');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'mpmc-child.js');
const withAddon = addon ? describe : describe.skip;
const isClosed = (e) => e.code === 'ERR_CHANNEL_CLOSED' && e.status === 37;
const isTimeout = (e) => e.code === 'ERR_QUEUE_TIMEOUT';
const range = (n, from = 0) => Array.from({ length: n }, (_, i) => from + i);
const tick = () => new Promise((r) => setTimeout(r, 5));

function channel(capacity = 4) {
  return Channel.create({ buffer: new SharedArrayBuffer(Channel.bytesFor(capacity, { messageBytes: 64 })), capacity, messageBytes: 64 });
}

describe('Channel batches', () => {
  it('sendBatch() larger than the channel and than a claim: every value once, in order', async () => {
    const ch = channel(16);
    const values = range(300);
    const sending = ch.sendBatch(values);
    const got = [];
    while (got.length < values.length) got.push(...await ch.receiveBatch(50, { timeoutMs: 10000 }));
    assert.strictEqual(await sending, 300);
    assert.deepStrictEqual(got, values);
    assert.strictEqual(ch.size, 0);
    // One receiveBatch() takes more than one claim's 64 when that many are queued.
    const big = channel(128);
    assert.strictEqual(await big.sendBatch(range(100)), 100);
    assert.deepStrictEqual(await big.receiveBatch(1000), range(100));
  });

  it('sendBatch() on a full channel takes the free slots at once and waits only for the rest', async () => {
    const ch = channel(4);
    ch.trySend('x');
    ch.trySend('y');
    const sending = ch.sendBatch(['a', 'b', 'c', 'd']);
    // The two free slots were claimed before the Promise was returned.
    assert.strictEqual(ch.size, 4);
    assert.deepStrictEqual(await ch.receiveBatch(4), ['x', 'y', 'a', 'b']);
    assert.strictEqual(await sending, 4);
    assert.deepStrictEqual(await ch.receiveBatch(4), ['c', 'd']);
  });

  it('sendBatch() whose bytes are transferred while it waits rejects with `sent`; the channel goes on', async () => {
    const ch = channel(4);
    for (const v of ['a', 'b', 'c', 'd']) assert.strictEqual(ch.trySend(v), true);
    const ab = new ArrayBuffer(4);
    const sending = ch.sendBatch(['e', new Uint8Array(ab), 'f']).then(() => null, (e) => e);
    structuredClone(ab, { transfer: [ab] });
    assert.deepStrictEqual([ch.tryReceive(), ch.tryReceive(), ch.tryReceive()], ['a', 'b', 'c']);
    const err = await sending;
    assert.ok(err instanceof TypeError && err.code === 'ERR_INVALID_ARG', `rejected with ${err}`);
    assert.strictEqual(err.sent, 1);
    assert.deepStrictEqual(await ch.receiveBatch(8, { timeoutMs: 5000 }), ['d', 'e']);
    assert.strictEqual(ch.trySend('g'), true);
    assert.deepStrictEqual(await ch.receiveBatch(8, { timeoutMs: 5000 }), ['g']);
  });

  it('concurrent send() and sendBatch() calls waiting on a full channel each deliver their own values once', async () => {
    const ch = channel(2);
    ch.trySend('a');
    ch.trySend('b');
    const pending = [ch.send('first'), ch.sendBatch(['c', 'd']), ch.send('second'), ch.sendBatch(['e'])];
    const got = [];
    while (got.length < 7) got.push(...await ch.receiveBatch(7, { timeoutMs: 10000 }));
    await Promise.all(pending);
    assert.deepStrictEqual(got.slice().sort(), ['a', 'b', 'c', 'd', 'e', 'first', 'second']);
    assert.ok(got.indexOf('c') < got.indexOf('d')); // one batch's values in order
    assert.strictEqual(ch.tryReceive(), undefined);
  });

  it('timeout: sendBatch() rejects with how many it sent; receiveBatch() rejects on an empty channel', async () => {
    const ch = channel(4);
    await assert.rejects(ch.sendBatch(['a', 'b', 'c', 'd', 'e', 'f'], { timeoutMs: 30 }), (e) => isTimeout(e) && e.sent === 4);
    assert.deepStrictEqual(await ch.receiveBatch(10), ['a', 'b', 'c', 'd']);
    await assert.rejects(ch.receiveBatch(10, { timeoutMs: 20 }), isTimeout);
    await assert.rejects(ch.sendBatch(range(5), { timeoutMs: 0 }), (e) => isTimeout(e) && e.sent === 4);
    assert.strictEqual(await ch.sendBatch([], { timeoutMs: 0 }), 0);
  });

  it('abort: a waiting sendBatch() rejects with ERR_ABORTED carrying `sent` and the reason as its cause, receiveBatch() with the reason; what was sent stays', async () => {
    const ch = channel(4);
    const ac = new AbortController();
    const sending = ch.sendBatch(range(6), { signal: ac.signal });
    await tick();
    const reason = new Error('stop sending');
    ac.abort(reason);
    // Some were sent: the caller learns how many (the rest were not, and will not be).
    await assert.rejects(sending, (e) => e instanceof ShmError && e.code === 'ERR_ABORTED' && e.sent === 4 && e.cause === reason);
    // None was sent (the channel stayed full): the same answer, with 0.
    const again = new AbortController();
    const none = ch.sendBatch(range(3), { signal: again.signal });
    await tick();
    again.abort(reason);
    await assert.rejects(none, (e) => e.code === 'ERR_ABORTED' && e.sent === 0 && e.cause === reason);
    assert.deepStrictEqual(await ch.receiveBatch(10), range(4));
    const ac2 = new AbortController();
    const receiving = ch.receiveBatch(3, { signal: ac2.signal });
    await tick();
    ac2.abort(new Error('stop receiving'));
    await assert.rejects(receiving, /stop receiving/);
    const aborted = AbortSignal.abort(new Error('already'));
    await assert.rejects(ch.receiveBatch(3, { signal: aborted }), /already/);
    await assert.rejects(ch.sendBatch([1], { signal: aborted }), (e) => e.code === 'ERR_ABORTED' && e.sent === 0 && e.cause === aborted.reason);
    // An empty array too: the abort is reported whatever the batch holds.
    await assert.rejects(ch.sendBatch([], { signal: aborted }), (e) => e.code === 'ERR_ABORTED' && e.sent === 0 && e.cause === aborted.reason);
    assert.strictEqual(await ch.sendBatch([]), 0);
    assert.strictEqual(ch.tryReceive(), undefined); // an aborted send sent nothing
  });

  it('dispose() with waiters: each waiting sendBatch() rejects with ERR_CLOSED and its own `sent`; what it sent stays', async () => {
    const ch = channel(4);
    const other = Channel.open({ buffer: ch.buffer });
    const first = ch.sendBatch(range(10));
    const second = ch.sendBatch(range(3, 100));
    await tick();
    assert.deepStrictEqual(await other.receiveBatch(2), range(2)); // room for two more of the first
    await tick();
    ch.dispose();
    await Promise.all([
      assert.rejects(first, (e) => e.code === 'ERR_CLOSED' && e.sent === 6),
      assert.rejects(second, (e) => e.code === 'ERR_CLOSED' && e.sent === 0),
    ]);
    assert.deepStrictEqual(await other.receiveBatch(10), range(4, 2));
    assert.strictEqual(other.tryReceive(), undefined);
    other.dispose();
  });

  it('close() with waiters: a waiting sendBatch() rejects with what it sent, receivers drain and then see the end', async () => {
    const ch = channel(4);
    const sending = ch.sendBatch(range(7));
    const full = ch.sendBatch(['late']);
    await tick();
    ch.close();
    await Promise.all([
      assert.rejects(sending, (e) => isClosed(e) && e.sent === 4),
      assert.rejects(full, (e) => isClosed(e) && e.sent === 0),
    ]);
    assert.deepStrictEqual(await ch.receiveBatch(3), range(3));
    assert.deepStrictEqual(await ch.receiveBatch(3), [3]);
    await assert.rejects(ch.receiveBatch(3), isClosed);
    // A receiver waiting on an empty channel is woken by close() and sees the end.
    const empty = channel(4);
    const waiting = empty.receiveBatch(8, { timeoutMs: 10000 });
    await tick();
    empty.close();
    await assert.rejects(waiting, isClosed);
    await assert.rejects(empty.sendBatch([1, 2]), (e) => isClosed(e) && e.sent === 0);
  });

  it('bad arguments: TypeError or RangeError before anything is sent or received', async () => {
    const ch = channel(4);
    assert.throws(() => ch.sendBatch('ab'), TypeError);
    assert.throws(() => ch.sendBatch([1, () => 1]), TypeError);
    assert.throws(() => ch.sendBatch(['ok', 'x'.repeat(65)]), (e) => e.code === 'ERR_MESSAGE_TOO_LARGE');
    assert.throws(() => ch.sendBatch([1], { timeoutMs: -1 }), RangeError);
    assert.throws(() => ch.sendBatch([1], { signal: {} }), TypeError);
    assert.throws(() => ch.sendBatch([1], { nope: 1 }), TypeError);
    assert.strictEqual(ch.size, 0);
    ch.trySend('kept');
    assert.throws(() => ch.receiveBatch(), TypeError);
    assert.throws(() => ch.receiveBatch(0), RangeError);
    assert.throws(() => ch.receiveBatch(1.5), RangeError);
    assert.throws(() => ch.receiveBatch('2'), TypeError);
    assert.throws(() => ch.receiveBatch(2, { timeoutMs: 'x' }), TypeError);
    assert.deepStrictEqual(await ch.receiveBatch(2), ['kept']);
    ch.dispose();
    assert.throws(() => ch.sendBatch([1]), (e) => e.code === 'ERR_CLOSED');
    assert.throws(() => ch.receiveBatch(1), (e) => e.code === 'ERR_CLOSED');
  });

  withAddon('across processes', () => {
    let names = [];
    afterEach(() => {
      for (const n of names) removeShm(n);
      names = [];
    });

    it('2 sendBatch producers and 2 receiveBatch consumers pass 200,000 messages exactly once; close ends the consumers', async function () {
      this.timeout(300000);
      const P = 2;
      const n = 100000;
      const { q, qName, bName, seg, board } = queueWithBoard('channel-batch', names, P * n, 64);
      const consumers = [0, 1].map(() => spawnChild(CHILD, ['channel-receive-batch', qName, bName, String(n)]));
      const producers = [0, 1].map((p) => spawnChild(CHILD, ['channel-send-batch', qName, bName, String(p), String(n)]));
      for (const p of producers) {
        const r = await p.exited;
        assert.strictEqual(r.code, 0, r.err);
        assert.match(r.out, /sent/);
      }
      // Every batch was sent: the close lets the consumers drain and end.
      const ch = Channel.open({ name: qName });
      ch.close();
      const results = await Promise.all(consumers.map((c) => c.exited));
      assertExactlyOnce(results, P, n, board, q);
      ch.dispose();
      q.close();
      seg.close();
    });
  });
});
