'use strict';
// Queue latency histograms (docs/api.md, "Queue latency"): every timed operation of an SPSC
// ring, an MPMC queue and a channel is counted exactly once under its own name (also when it
// fails or waits), a Promise form is timed until it settles, a handle without latency keeps its
// class's methods, snapshots from another thread merge into the union, bad arguments.
const assert = require('assert');
const { Worker } = require('worker_threads');
const { SpscRing, MpmcQueue, Channel, Store } = require('../../index');

const CAP = 8;
const ringOf = () => SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(256)), capacity: 256 });
const queueOf = () => MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(CAP, { messageBytes: 64 })), capacity: CAP, messageBytes: 64 });
const channelOf = () => Channel.create({ buffer: new SharedArrayBuffer(Channel.bytesFor(CAP, { messageBytes: 64 })), capacity: CAP, messageBytes: 64 });

const counts = (snap) => Object.fromEntries(Object.entries(snap.ops).filter(([, o]) => o.count).map(([k, o]) => [k, o.count]));

describe('queue latency histograms', function () {
  it('a handle without latency has no timed method of its own and returns null', function () {
    for (const [Class, make] of [[SpscRing, ringOf], [MpmcQueue, queueOf], [Channel, channelOf]]) {
      const q = make();
      const protoMethod = Class.prototype[Class.LATENCY_OPS[0]];
      assert.strictEqual(q.latencyEnabled, false);
      assert.strictEqual(q.latency(), null);
      for (const op of Class.LATENCY_OPS) assert.ok(!Object.prototype.hasOwnProperty.call(q, op), `${Class.name}.${op}`);
      q.enableLatency();
      assert.strictEqual(q.latencyEnabled, true);
      assert.ok(Object.prototype.hasOwnProperty.call(q, Class.LATENCY_OPS[0]));
      q.disableLatency();
      for (const op of Class.LATENCY_OPS) assert.ok(!Object.prototype.hasOwnProperty.call(q, op), `${Class.name}.${op} after disable`);
      assert.strictEqual(Class.prototype[Class.LATENCY_OPS[0]], protoMethod);
      assert.strictEqual(q.latency(), null);
    }
  });

  it('SPSC ring: each operation counted once under its name, misses included', async function () {
    const r = ringOf().enableLatency();
    for (let i = 0; i < 5; i++) assert.strictEqual(r.tryEnqueue(`m${i}`), true);
    r.enqueue('m5', 100);
    assert.strictEqual(r.peek(), 'm0');
    for (let i = 0; i < 3; i++) r.tryDequeue();
    assert.strictEqual(r.dequeue(100), 'm3');
    await r.enqueueAsync('m6');
    assert.strictEqual(await r.dequeueAsync(), 'm4');
    // Empty after these two: a miss of the try form still counts.
    r.tryDequeue();
    r.tryDequeue();
    r.tryDequeue();
    assert.deepStrictEqual(counts(r.latency()), { tryEnqueue: 5, enqueue: 1, peek: 1, tryDequeue: 6, dequeue: 1, enqueueAsync: 1, dequeueAsync: 1 });
  });

  it('MPMC queue: a blocking form that times out is counted, and reset starts over', function () {
    const q = queueOf().enableLatency();
    for (let i = 0; i < CAP; i++) assert.strictEqual(q.tryEnqueue(i), true);
    assert.strictEqual(q.tryEnqueue('full'), false);
    assert.throws(() => q.enqueue('full', 5), { code: 'ERR_QUEUE_TIMEOUT' });
    assert.strictEqual(q.peek(), 0);
    for (let i = 0; i < CAP; i++) assert.strictEqual(q.dequeue(100), i);
    const snap = q.latency({ reset: true });
    assert.deepStrictEqual(counts(snap), { tryEnqueue: CAP + 1, enqueue: 1, peek: 1, dequeue: CAP });
    // The timed-out enqueue waited about 5 ms: the histogram's max is at least that.
    assert.ok(snap.ops.enqueue.max >= 4e6, `${snap.ops.enqueue.max} ns`);
    assert.deepStrictEqual(counts(q.latency()), {});
  });

  it('channel: a receive is timed until it settles, a rejected one too', async function () {
    const ch = channelOf().enableLatency();
    const pending = ch.receive();
    await new Promise((r) => setTimeout(r, 20));
    await ch.send('late');
    assert.strictEqual(await pending, 'late');
    assert.strictEqual(ch.trySend('a'), true);
    assert.strictEqual(ch.tryReceive(), 'a');
    await ch.sendBatch(['b', 'c']);
    assert.deepStrictEqual(await ch.receiveBatch(5), ['b', 'c']);
    ch.close();
    await assert.rejects(ch.receive(), { code: 'ERR_CHANNEL_CLOSED' });
    assert.throws(() => ch.sendSync('x', 10), { code: 'ERR_CHANNEL_CLOSED' });
    const snap = ch.latency();
    assert.deepStrictEqual(counts(snap), { send: 1, receive: 2, trySend: 1, tryReceive: 1, sendBatch: 1, receiveBatch: 1, sendSync: 1 });
    // The first receive waited for the send 20 ms later.
    assert.ok(snap.ops.receive.max >= 15e6, `${snap.ops.receive.max} ns`);
  });

  it('snapshots from a worker merge into the union; other kinds of snapshot are refused', async function () {
    const q = queueOf().enableLatency();
    for (let i = 0; i < 3; i++) q.tryEnqueue(i);
    const worker = new Worker(`
      const { parentPort, workerData } = require('worker_threads');
      const { MpmcQueue } = require(${JSON.stringify(require.resolve('../../index'))});
      const q = MpmcQueue.open({ buffer: workerData.buffer }).enableLatency();
      let got = 0;
      while (q.tryDequeue() !== undefined) got++;
      q.tryEnqueue('back');
      parentPort.postMessage({ got, snap: q.latency() });
    `, { eval: true, workerData: { buffer: q.buffer } });
    const { got, snap } = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    assert.strictEqual(got, 3);
    const merged = MpmcQueue.mergeLatency([q.latency(), snap, null]);
    assert.deepStrictEqual(counts(merged), { tryEnqueue: 4, tryDequeue: 4 });
    assert.strictEqual(merged.ops.tryDequeue.sum, snap.ops.tryDequeue.sum);
    const store = Store.create({ buffer: new SharedArrayBuffer(1 << 20), latency: true });
    store.get('a', 'b');
    assert.throws(() => MpmcQueue.mergeLatency([store.latency()]), RangeError);
    assert.throws(() => Store.mergeLatency([snap]), RangeError);
    assert.throws(() => Channel.mergeLatency([snap]), RangeError);
    store.close();
  });

  it('bad arguments: TypeError', function () {
    const q = queueOf();
    assert.throws(() => q.latency({ reset: 1 }), TypeError);
    assert.throws(() => q.latency({ rest: true }), TypeError);
    assert.throws(() => q.latency('reset'), TypeError);
    assert.throws(() => MpmcQueue.mergeLatency('x'), TypeError);
    assert.throws(() => MpmcQueue.mergeLatency([{ format: 9 }]), TypeError);
  });
});
