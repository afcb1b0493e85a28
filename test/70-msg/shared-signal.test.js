'use strict';
// Pending calls of one handle that share one AbortSignal (docs/api.md, "Waiting without blocking"):
// the abort listeners run one after another, and the first call to leave serves the next, whose
// signal is already aborted though its listener has not run yet. That call takes nothing: a
// message arriving in the tick of the abort stays for the next receiver.
const assert = require('assert');
const { Channel, MpmcQueue } = require('../..');

const turn = () => new Promise((resolve) => setImmediate(resolve));
const settled = (p) => p.then((v) => ({ v }), (e) => ({ e: e.name }));

describe('pending calls that share one aborted signal take nothing', () => {
  const capacity = 8;
  const messageBytes = 32;

  it('Channel: two receive() calls, a message sent in the tick of the abort stays', async () => {
    const buffer = new SharedArrayBuffer(Channel.bytesFor(capacity, { messageBytes }));
    const tx = Channel.create({ buffer, capacity, messageBytes });
    const rx = Channel.open({ buffer });
    const ac = new AbortController();
    const a = settled(rx.receive({ signal: ac.signal }));
    const b = settled(rx.receive({ signal: ac.signal }));
    await turn();
    await turn();
    tx.trySend('important');
    ac.abort();
    assert.deepStrictEqual([await a, await b], [{ e: 'AbortError' }, { e: 'AbortError' }]);
    assert.strictEqual(tx.tryReceive(), 'important');
    tx.dispose();
    rx.dispose();
  });

  it('Channel: an iterator stopped with two next() pending takes nothing', async () => {
    const buffer = new SharedArrayBuffer(Channel.bytesFor(capacity, { messageBytes }));
    const tx = Channel.create({ buffer, capacity, messageBytes });
    const rx = Channel.open({ buffer });
    const it = rx.iterate();
    const p1 = it.next();
    const p2 = it.next();
    await turn();
    await turn();
    tx.trySend('x');
    await it.return();
    assert.deepStrictEqual([await p1, await p2], [{ value: undefined, done: true }, { value: undefined, done: true }]);
    assert.strictEqual(tx.tryReceive(), 'x');
    tx.dispose();
    rx.dispose();
  });

  it('MpmcQueue: two dequeueAsync() calls, a message enqueued in the tick of the abort stays', async () => {
    const buffer = new SharedArrayBuffer(MpmcQueue.bytesFor(capacity, { messageBytes }));
    const q = MpmcQueue.create({ buffer, capacity, messageBytes });
    const other = MpmcQueue.open({ buffer });
    const ac = new AbortController();
    const a = settled(q.dequeueAsync({ signal: ac.signal }));
    const b = settled(q.dequeueAsync({ signal: ac.signal }));
    await turn();
    await turn();
    other.tryEnqueue('job');
    ac.abort();
    assert.deepStrictEqual([await a, await b], [{ e: 'AbortError' }, { e: 'AbortError' }]);
    assert.strictEqual(other.tryDequeue(), 'job');
    q.close();
    other.close();
  });
});
