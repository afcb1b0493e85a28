'use strict';
// Call order within one handle (docs/api.md "Channel", "Order"): pending Promise-form sends of a
// Channel (or enqueueAsync() calls of an MpmcQueue) complete in call order and pending receives
// take the messages in call order, whatever wake-up serves them; one that times out or is aborted
// leaves its place, the others keeping theirs; close() ends them in that order.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Worker } = require('worker_threads');
const { Channel, MpmcQueue } = require('../../index');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'mpmc-child.js');
const isClosed = (e) => e.code === 'ERR_CHANNEL_CLOSED';
const isTimeout = (e) => e.code === 'ERR_QUEUE_TIMEOUT';
const range = (n, from = 0) => Array.from({ length: n }, (_, i) => from + i);
const tick = () => new Promise((r) => setTimeout(r, 5));

function channel(capacity = 4) {
  return Channel.create({ buffer: new SharedArrayBuffer(Channel.bytesFor(capacity, { messageBytes: 64 })), capacity, messageBytes: 64 });
}

function queue(capacity = 4) {
  return MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(capacity, { messageBytes: 64 })), capacity, messageBytes: 64 });
}

// A worker that receives n messages with the blocking form; resolves them in the order received.
function collect(q, n, isChannel) {
  const w = new Worker(CHILD, { workerData: { mode: 'collect', channel: isChannel, queue: { buffer: q.buffer }, n } });
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
}

// The indices of `promises` in the order they settled (fulfilled or rejected).
function settleOrder(promises) {
  const order = [];
  for (const [i, p] of promises.entries()) p.then(() => order.push(i), () => order.push(i));
  return order;
}

describe('Channel: call order within one handle', () => {
  it('sends called without awaiting, on a channel smaller than them, reach a receiving worker in call order', async function () {
    this.timeout(60000);
    const ch = channel(4);
    const sends = range(200).map((i) => ch.send(i));
    const order = settleOrder(sends);
    const got = await collect(ch, 200, true);
    await Promise.all(sends);
    assert.deepStrictEqual(got, range(200));
    assert.deepStrictEqual(order, range(200));
    ch.dispose();
  });

  it('pending receive() calls take the messages in call order', async () => {
    const ch = channel(4);
    const receives = range(20).map(() => ch.receive());
    for (let i = 0; i < 20; i++) await ch.send(i);
    assert.deepStrictEqual(await Promise.all(receives), range(20));
    // Sent from another handle, before this one's receives are served, too.
    const rx = range(12).map(() => ch.receive());
    const tx = Channel.open({ buffer: ch.buffer });
    for (let i = 0; i < 4; i++) assert.strictEqual(tx.trySend(i), true);
    for (let i = 4; i < 12; i++) await tx.send(i);
    assert.deepStrictEqual(await Promise.all(rx), range(12));
    tx.dispose();
    ch.dispose();
  });

  it('a pending send that times out leaves its place; the sends after it keep their order', async () => {
    const ch = channel(2);
    ch.trySend('a');
    ch.trySend('b');
    const sends = range(10).map((i) => ch.send(i, i === 4 ? { timeoutMs: 20 } : undefined));
    const order = settleOrder(sends);
    await assert.rejects(sends[4], isTimeout);
    assert.deepStrictEqual(order, [4]);
    // A receiver elsewhere makes room one message at a time.
    const rx = Channel.open({ buffer: ch.buffer });
    const got = [];
    for (let k = 0; k < 11; k++) got.push(await rx.receive({ timeoutMs: 10000 }));
    assert.deepStrictEqual(got, ['a', 'b', 0, 1, 2, 3, 5, 6, 7, 8, 9]);
    await Promise.all(sends.filter((_, i) => i !== 4));
    assert.deepStrictEqual(order, [4, 0, 1, 2, 3, 5, 6, 7, 8, 9]);
    rx.dispose();
    ch.dispose();
  });

  it('an aborted pending receive leaves its place; the receives after it keep their order', async () => {
    const ch = channel(4);
    const ac = new AbortController();
    const receives = range(10).map((i) => ch.receive(i === 3 ? { signal: ac.signal } : undefined));
    await tick();
    ac.abort(new Error('no longer wanted'));
    await assert.rejects(receives[3], /no longer wanted/);
    const tx = Channel.open({ buffer: ch.buffer });
    for (let i = 0; i < 9; i++) await tx.send(i);
    const rest = await Promise.all(receives.filter((_, i) => i !== 3));
    assert.deepStrictEqual(rest, range(9));
    tx.dispose();
    ch.dispose();
  });

  it('close() with pending sends and receives: the first ones complete in call order, the rest end', async () => {
    // Receives: the three messages sent before close() go to the first three, in order.
    const ch = channel(4);
    const receives = range(8).map(() => ch.receive());
    const receiveOrder = settleOrder(receives);
    const tx = Channel.open({ buffer: ch.buffer });
    for (let i = 0; i < 3; i++) tx.trySend(i);
    tx.close();
    const results = await Promise.allSettled(receives);
    assert.deepStrictEqual(results.slice(0, 3).map((r) => r.value), [0, 1, 2]);
    for (const r of results.slice(3)) assert.ok(r.status === 'rejected' && isClosed(r.reason), String(r.reason));
    assert.deepStrictEqual(receiveOrder, range(8));
    // Sends: room for two frees while eight wait; the first two take it, close() ends the rest.
    const full = channel(4);
    for (let i = 0; i < 4; i++) full.trySend(i);
    const sends = range(8, 4).map((i) => full.send(i));
    const sendOrder = settleOrder(sends);
    const rx = Channel.open({ buffer: full.buffer });
    assert.deepStrictEqual([rx.tryReceive(), rx.tryReceive()], [0, 1]);
    while (sendOrder.length < 2) await tick();
    rx.close();
    const sent = await Promise.allSettled(sends);
    assert.deepStrictEqual(sent.map((r) => r.status), ['fulfilled', 'fulfilled', ...Array(6).fill('rejected')]);
    for (const r of sent.slice(2)) assert.ok(isClosed(r.reason), String(r.reason));
    assert.deepStrictEqual(sendOrder, range(8));
    const drained = [];
    for await (const m of rx) drained.push(m);
    assert.deepStrictEqual(drained, [2, 3, 4, 5]);
    for (const c of [ch, tx, full, rx]) c.dispose();
  });

  it('sendBatch() and receiveBatch() wait in the same order as send() and receive()', async () => {
    const ch = channel(2);
    ch.trySend('a');
    ch.trySend('b');
    const sends = [ch.send('c'), ch.sendBatch(['d', 'e', 'f']), ch.send('g'), ch.sendBatch(['h']), ch.send('i')];
    const rx = Channel.open({ buffer: ch.buffer });
    const got = [];
    for (let k = 0; k < 9; k++) got.push(await rx.receive({ timeoutMs: 10000 }));
    assert.deepStrictEqual(got, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
    assert.deepStrictEqual(await Promise.all(sends), [undefined, 3, undefined, 1, undefined]);
    // A receiveBatch() called after a receive() does not take the message that receive() waits for.
    const roomy = channel(4);
    const receives = [roomy.receive(), roomy.receiveBatch(8), roomy.receive(), roomy.receiveBatch(8)];
    const tx = Channel.open({ buffer: roomy.buffer });
    for (const m of ['x', 'y', 'z']) tx.trySend(m);
    await tick();
    tx.trySend('w');
    await tick();
    tx.trySend('v');
    assert.deepStrictEqual(await Promise.all(receives), ['x', ['y', 'z'], 'w', ['v']]);
    for (const c of [ch, rx, roomy, tx]) c.dispose();
  });

  it('the try and blocking forms do not overtake pending sends and receives of their handle', async () => {
    const ch = channel(2);
    ch.trySend('a');
    ch.trySend('b');
    const pending = ch.send('c');
    const rx = Channel.open({ buffer: ch.buffer });
    assert.strictEqual(rx.tryReceive(), 'a');
    // Room for one: the pending send takes it before the later trySend() or sendSync().
    assert.strictEqual(ch.trySend('d'), false);
    await pending;
    assert.throws(() => ch.sendSync('d', 0), isTimeout);
    assert.strictEqual(rx.tryReceive(), 'b');
    ch.sendSync('d', 0);
    assert.deepStrictEqual([rx.tryReceive(), rx.tryReceive()], ['c', 'd']);
    // A message arrives for a pending receive(): the later tryReceive() gets the next one.
    const waiting = rx.receive();
    ch.trySend('p');
    ch.trySend('q');
    assert.strictEqual(rx.tryReceive(), 'q');
    assert.strictEqual(await waiting, 'p');
    // And receiveSync() lets the pending receive() have the last message before it sees the end.
    const last = rx.receive();
    ch.trySend('r');
    ch.close();
    assert.throws(() => rx.receiveSync(0), isClosed);
    assert.strictEqual(await last, 'r');
    ch.dispose();
    rx.dispose();
  });

  it('dispose() ends pending sends and receives with ERR_CLOSED', async () => {
    const full = channel(2);
    full.trySend(1);
    full.trySend(2);
    const sends = [full.send(3), full.send(4)];
    const empty = channel(2);
    const receives = [empty.receive(), empty.receiveBatch(2)];
    full.dispose();
    empty.dispose();
    for (const p of [...sends, ...receives]) await assert.rejects(p, (e) => e.code === 'ERR_CLOSED');
  });
});

describe('MpmcQueue: call order within one handle', () => {
  it('enqueueAsync() calls without awaiting reach a dequeuing worker in call order', async function () {
    this.timeout(60000);
    const q = queue(4);
    const enqueues = range(200).map((i) => q.enqueueAsync(i));
    const order = settleOrder(enqueues);
    const got = await collect(q, 200, false);
    await Promise.all(enqueues);
    assert.deepStrictEqual(got, range(200));
    assert.deepStrictEqual(order, range(200));
    q.close();
  });

  it('pending dequeueAsync() calls take the messages in call order; one that times out leaves its place', async () => {
    const q = queue(4);
    const dequeues = range(12).map((i) => q.dequeueAsync(i === 5 ? { timeoutMs: 20 } : undefined));
    await assert.rejects(dequeues[5], isTimeout);
    for (let i = 0; i < 11; i++) await q.enqueueAsync(i);
    assert.deepStrictEqual(await Promise.all(dequeues.filter((_, i) => i !== 5)), range(11));
    // The try forms do not overtake a pending dequeueAsync().
    const waiting = q.dequeueAsync();
    const other = MpmcQueue.open({ buffer: q.buffer });
    other.tryEnqueue('first');
    other.tryEnqueue('second');
    assert.strictEqual(q.tryDequeue(), 'second');
    assert.strictEqual(await waiting, 'first');
    other.close();
    q.close();
  });
});

// Deadlines of pending calls (docs/api.md "Order": a timeout counts from the call). The thread
// is kept busy with a loop so that neither a timer nor the waiting loop can run in between.
const busy = (ms) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

describe('pending calls and their deadlines', () => {
  for (const [what, make, send, receive, other] of [
    ['Channel', channel, (q, v) => q.trySend(v), (q, o) => q.receive(o), (q) => Channel.open({ buffer: q.buffer })],
    ['MpmcQueue', queue, (q, v) => q.tryEnqueue(v), (q, o) => q.dequeueAsync(o), (q) => MpmcQueue.open({ buffer: q.buffer })],
  ]) {
    it(`${what}: a message sent before a pending receive's deadline is its own, even when the event loop runs only after the deadline`, async () => {
      const q = make();
      const peer = other(q);
      try {
        const pending = receive(q, { timeoutMs: 10 });
        assert.ok(send(peer, 'm'));
        busy(30); // past the deadline before any timer or wake-up runs
        assert.strictEqual(await pending, 'm');
      } finally {
        for (const h of [peer, q]) (h.dispose || h.close).call(h);
      }
    });

    it(`${what}: the same, called from an I/O callback (where a turn's immediates, and so the waiting loop's polls, run before its timers)`, async () => {
      const q = make();
      const peer = other(q);
      try {
        await new Promise((resolve) => fs.stat(__filename, resolve));
        const pending = receive(q, { timeoutMs: 10 });
        assert.ok(send(peer, 'm'));
        busy(30); // past the deadline before any timer, poll or wake-up runs
        assert.strictEqual(await pending, 'm');
      } finally {
        for (const h of [peer, q]) (h.dispose || h.close).call(h);
      }
    });

    it(`${what}: a pending receive past its deadline takes nothing from a try or blocking call of the same handle`, async () => {
      const q = make();
      const peer = other(q);
      try {
        const pending = receive(q, { timeoutMs: 10 });
        busy(30);
        assert.ok(send(peer, 'm1'));
        // The try form serves the pending calls first; the one timed out ends instead of taking m1.
        assert.strictEqual(what === 'Channel' ? q.tryReceive() : q.tryDequeue(), 'm1');
        await assert.rejects(pending, isTimeout);
      } finally {
        for (const h of [peer, q]) (h.dispose || h.close).call(h);
      }
    });

    it(`${what}: disposing or closing the handle ends its pending calls at once with ERR_CLOSED`, async () => {
      const q = make();
      const pending = [receive(q, { timeoutMs: 60000 }), receive(q)];
      const settled = settleOrder(pending);
      (q.dispose || q.close).call(q);
      await Promise.resolve();
      await Promise.resolve();
      assert.deepStrictEqual(settled, [0, 1]); // before any timer or wake-up could run
      for (const p of pending) await assert.rejects(p, (e) => e.code === 'ERR_CLOSED');
    });
  }
});
