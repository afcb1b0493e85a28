'use strict';
// `for await` over a channel or a broadcast subscriber, stopped while a receive is pending
// (docs/api.md "Channel": channel.iterate(), and "Broadcast": subscriber.iterate()): return() (what
// `break` calls) and an abort of the iterator's signal end the pending receive now, and no message
// is lost or duplicated by stopping: each one is delivered by the iterator or left for the next
// receiver.
const assert = require('assert');
const path = require('path');
const { Worker } = require('worker_threads');
const { Channel, Broadcast } = require('../../index');

const MESSAGE_BYTES = 32;
const range = (a, b) => Array.from({ length: b - a }, (_, i) => a + i);
const turn = () => new Promise((resolve) => setImmediate(resolve));

function channel(capacity = 64) {
  const buffer = new SharedArrayBuffer(Channel.bytesFor(capacity, { messageBytes: MESSAGE_BYTES }));
  const ch = Channel.create({ buffer, capacity, messageBytes: MESSAGE_BYTES });
  return { ch, other: () => Channel.open({ buffer }) };
}

function broadcast(capacity = 64) {
  return Broadcast.create({ buffer: new SharedArrayBuffer(Broadcast.bytesFor(capacity, { messageBytes: MESSAGE_BYTES })), capacity, messageBytes: MESSAGE_BYTES });
}

// Every message a handle can take now.
function drain(h) {
  const out = [];
  for (let m = h.tryReceive(); m !== undefined; m = h.tryReceive()) out.push(m);
  return out;
}

describe('Channel: iterate() and for await, stopped while a receive is pending', () => {
  it('an abort of the signal ends the loop while its receive waits; the messages sent after it stay for another receiver', async () => {
    const { ch, other } = channel();
    const rx = other();
    for (const i of range(0, 10)) ch.trySend(i);
    const ac = new AbortController();
    const reason = new Error('shutdown');
    const got = [];
    const loop = (async () => {
      for await (const m of rx.iterate({ signal: ac.signal })) {
        got.push(m);
        // The loop's next receive waits on an empty channel when the abort comes.
        if (got.length === 10) setImmediate(() => ac.abort(reason));
      }
    })();
    await assert.rejects(loop, (e) => e === reason);
    assert.deepStrictEqual(got, range(0, 10));
    for (const i of range(10, 20)) ch.trySend(i);
    const late = other();
    assert.deepStrictEqual(drain(late), range(10, 20));
    assert.strictEqual(rx.tryReceive(), undefined);
    for (const h of [ch, rx, late]) h.dispose();
  });

  it('return() while next() is pending: the pending next() resolves done at once, the next message goes to another receiver', async () => {
    const { ch, other } = channel();
    const rx = other();
    for (const i of range(0, 5)) ch.trySend(i);
    const it = rx[Symbol.asyncIterator]();
    assert.strictEqual(it[Symbol.asyncIterator](), it);
    for (const i of range(0, 5)) assert.deepStrictEqual(await it.next(), { value: i, done: false });
    const pending = it.next();
    await turn();
    assert.deepStrictEqual(await it.return('r'), { value: 'r', done: true });
    assert.deepStrictEqual(await pending, { value: undefined, done: true });
    assert.deepStrictEqual(await it.next(), { value: undefined, done: true });
    ch.trySend(5);
    // Nothing of the stopped iterator waits for it: another receiver, or this handle, takes it.
    assert.deepStrictEqual(drain(rx), [5]);
    for (const h of [ch, rx]) h.dispose();
  });

  it('a signal aborted before the loop: nothing is received, the messages stay', async () => {
    const { ch } = channel();
    ch.trySend('a');
    const reason = new Error('already');
    const it = ch.iterate({ signal: AbortSignal.abort(reason) });
    await assert.rejects(it.next(), (e) => e === reason);
    assert.deepStrictEqual(await it.next(), { value: undefined, done: true });
    assert.deepStrictEqual(drain(ch), ['a']);
    ch.dispose();
  });

  it('several pending next() calls: return() ends all of them; close() still ends a loop quietly', async () => {
    const { ch } = channel();
    const it = ch.iterate();
    const pending = [it.next(), it.next(), it.next()];
    await turn();
    await it.return();
    assert.deepStrictEqual(await Promise.all(pending), [1, 2, 3].map(() => ({ value: undefined, done: true })));
    ch.trySend('kept');
    const got = [];
    const loop = (async () => {
      for await (const m of ch) got.push(m);
    })();
    await turn();
    ch.close();
    await loop;
    assert.deepStrictEqual(got, ['kept']);
    ch.dispose();
  });

  it('bad options: clear errors; a disposed handle: ERR_CLOSED', () => {
    const { ch } = channel();
    assert.throws(() => ch.iterate(null), TypeError);
    assert.throws(() => ch.iterate({ signal: {} }), TypeError);
    assert.throws(() => ch.iterate({ timeoutMs: 10 }), TypeError);
    ch.dispose();
    assert.throws(() => ch.iterate(), { code: 'ERR_CLOSED' });
  });

  // A worker sends 0..N-1, then closes the channel, while the main thread takes them with
  // iterators of two handles, in turn, that it stops at random points, by return() and by aborts,
  // with one to three next() calls pending at the stop, many of them racing a message that
  // arrives. Every message is received exactly once: by an iterator (also by a next() that
  // settles after the stop), by a tryReceive() of a handle between two iterators, or by a later
  // iterator, of the other handle or the same one.
  it('iterators stopped at random points while a worker sends: every message received exactly once', async function () {
    this.timeout(60000);
    const N = 3000;
    const { ch, other } = channel(16);
    const w = new Worker(`
      const { workerData } = require('worker_threads');
      const { Channel } = require(workerData.index);
      const ch = Channel.open({ buffer: workerData.buffer });
      for (let i = 0; i < workerData.n; i++) ch.sendSync(i, 60000);
      ch.close();
      ch.dispose();
    `, { eval: true, workerData: { buffer: ch.buffer, n: N, index: path.join(__dirname, '..', '..', 'index') } });
    const exited = new Promise((resolve, reject) => {
      w.once('error', reject);
      w.once('exit', resolve);
    });
    const got = [];
    const handles = [other(), other()];
    let stops = 0;
    let pendingAtStop = 0;
    for (let ended = false; !ended; stops++) {
      const ac = new AbortController();
      const it = handles[stops % 2].iterate({ signal: ac.signal });
      const take = Math.floor(Math.random() * 20);
      for (let k = 0; k < take && !ended; k++) {
        const r = await it.next();
        if (r.done) ended = true;
        else got.push(r.value);
      }
      if (ended) break;
      if (stops % 4 === 1 || stops % 4 === 2) {
        // What has arrived is taken first: the sender, mostly blocked on the full channel, needs a
        // wake-up before it sends again, so the next() calls below find nothing and wait, and the
        // stop (an abort here, return() at the next) meets them waiting. Without it a sender that
        // kept ahead of every stop left no receive waiting at any.
        const h = handles[stops % 2];
        for (let m = h.tryReceive(); m !== undefined; m = h.tryReceive()) got.push(m);
      }
      const pending = range(0, 1 + (stops % 3)).map(() => it.next());
      if (stops % 4 === 3) await turn();
      if (stops % 2 === 1) ac.abort(new Error('stop'));
      else await it.return();
      for (const r of await Promise.allSettled(pending)) {
        if (r.status === 'fulfilled' && !r.value.done) {
          got.push(r.value.value);
        } else {
          // Ended without a message by the stop (done, or the abort's reason): it was waiting.
          if (r.status === 'rejected') assert.strictEqual(r.reason.message, 'stop');
          pendingAtStop++;
        }
      }
    }
    await exited;
    assert.ok(stops > 10, `${stops} stops`);
    assert.ok(pendingAtStop > 0, 'some stops found a receive waiting');
    assert.strictEqual(got.length, N, 'no message lost or duplicated');
    assert.deepStrictEqual([...got].sort((a, b) => a - b), range(0, N));
    for (const h of [ch, ...handles]) h.dispose();
  });
});

describe('Broadcast subscriber: iterate() and for await, stopped while a receive is pending', () => {
  it('return() while next() is pending ends it at once; the subscriber receives the rest, none missed', async () => {
    const b = broadcast();
    const sub = b.subscribe();
    for (const i of range(0, 5)) b.publish(i);
    const it = sub[Symbol.asyncIterator]();
    for (const i of range(0, 5)) assert.deepStrictEqual(await it.next(), { value: { value: i, missed: 0 }, done: false });
    const pending = it.next();
    await turn();
    await it.return();
    assert.deepStrictEqual(await pending, { value: undefined, done: true });
    for (const i of range(5, 10)) b.publish(i);
    const rest = [];
    for (let m = sub.tryReceive(); m !== undefined; m = sub.tryReceive()) rest.push(m.value);
    assert.deepStrictEqual(rest, range(5, 10));
    assert.strictEqual(sub.received, 10);
    assert.strictEqual(sub.missed, 0);
    b.close();
  });

  it('an abort of the signal ends a for await loop while its receive waits; the next loop takes up where it stopped', async () => {
    const b = broadcast();
    const sub = b.subscribe();
    const ac = new AbortController();
    const got = [];
    const loop = (async () => {
      for await (const { value } of sub.iterate({ signal: ac.signal })) {
        got.push(value);
        if (got.length === 3) setImmediate(() => ac.abort());
      }
    })();
    for (const i of range(0, 3)) b.publish(i);
    await assert.rejects(loop, { name: 'AbortError' });
    for (const i of range(3, 6)) b.publish(i);
    const again = [];
    for await (const { value } of sub) {
      again.push(value);
      if (again.length === 3) break;
    }
    assert.deepStrictEqual([...got, ...again], range(0, 6));
    assert.throws(() => sub.iterate({ signal: 'no' }), TypeError);
    b.close();
    assert.throws(() => sub.iterate(), { code: 'ERR_CLOSED' });
  });
});
