'use strict';
// Payloads and targets that hold no bytes, and handles that are closed (docs/api.md: every
// function validates its arguments; every call after close() throws ERR_CLOSED): a detached
// ArrayBuffer, or a view over one, as a message or a target is a TypeError with ERR_INVALID_ARG,
// and the structure goes on; a null target is refused like any non-view; latency() of a closed
// queue is ERR_CLOSED.
const assert = require('assert');
const { SpscRing, MpmcQueue, Channel, Stack, PriorityQueue, Broadcast } = require('../../index');

function detached() {
  const ab = new ArrayBuffer(8);
  structuredClone(ab, { transfer: [ab] });
  return ab;
}
const refusedArg = (fn) => assert.throws(fn, (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG');

describe('Messaging: detached buffers, null targets, latency after close', () => {
  it('a detached buffer as a message of every kind is refused; the structure still carries messages', () => {
    const sab = (Class, ...a) => new SharedArrayBuffer(Class.bytesFor(...a));
    const ring = SpscRing.create({ buffer: sab(SpscRing, 1024), capacity: 1024 });
    const q = MpmcQueue.create({ buffer: sab(MpmcQueue, 16), capacity: 16 });
    const ch = Channel.create({ buffer: sab(Channel, 16), capacity: 16 });
    const st = Stack.create({ buffer: sab(Stack, 16), capacity: 16 });
    const pq = PriorityQueue.create({ buffer: sab(PriorityQueue, 16), capacity: 16 });
    const bc = Broadcast.create({ buffer: sab(Broadcast, 16), capacity: 16 });
    const sub = bc.subscribe();
    const ab = new ArrayBuffer(8);
    const dv = new DataView(ab, 2, 4); // a view made before its buffer was detached
    structuredClone(ab, { transfer: [ab] });
    for (const bad of [detached(), dv]) {
      refusedArg(() => ring.tryEnqueue(bad));
      refusedArg(() => q.tryEnqueue(bad));
      refusedArg(() => ch.trySend(bad));
      refusedArg(() => st.tryPush(bad));
      refusedArg(() => pq.tryEnqueue(bad, 1));
      refusedArg(() => bc.publish(bad));
    }
    assert.strictEqual(ring.tryEnqueue('ok'), true);
    assert.strictEqual(ring.tryDequeue(), 'ok');
    assert.strictEqual(q.tryEnqueue('ok'), true);
    assert.strictEqual(q.tryDequeue(), 'ok');
    assert.strictEqual(ch.trySend('ok'), true);
    assert.strictEqual(ch.tryReceive(), 'ok');
    bc.publish('ok');
    assert.deepStrictEqual(sub.tryReceive(), { value: 'ok', missed: 0 });
    for (const h of [ring, q, ch, st, pq, sub, bc]) h.close();
  });

  it('element mode: a null, detached or too small target is refused before anything is dequeued', () => {
    const ring = SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(16, { elementSize: 8 })), capacity: 16, elementSize: 8 });
    ring.tryEnqueue(new Float64Array([1.5]));
    refusedArg(() => ring.tryDequeueInto(null));
    refusedArg(() => ring.dequeueInto(null, 10));
    refusedArg(() => ring.tryDequeueInto(detached()));
    assert.throws(() => ring.tryDequeueInto(new Uint8Array(4)), { name: 'RangeError', code: 'ERR_INVALID_ARG' });
    const out = new Float64Array(2);
    assert.strictEqual(ring.tryDequeueInto(out), 1);
    assert.strictEqual(out[0], 1.5);
    refusedArg(() => ring.tryDequeueInto(null)); // after a target was used: still refused
    ring.close();
  });

  it('latency() of a closed ring or queue is ERR_CLOSED', () => {
    const ring = SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(1024)), capacity: 1024 }).enableLatency();
    const q = MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(16)), capacity: 16 });
    assert.ok(ring.latency());
    assert.strictEqual(q.latency(), null);
    ring.close();
    q.close();
    assert.throws(() => ring.latency(), { code: 'ERR_CLOSED' });
    assert.throws(() => q.latency(), { code: 'ERR_CLOSED' });
    assert.throws(() => q.enableLatency(), { code: 'ERR_CLOSED' });
    const ch = Channel.create({ buffer: new SharedArrayBuffer(Channel.bytesFor(16)), capacity: 16 });
    assert.strictEqual(ch.latency(), null);
    ch.dispose();
    assert.throws(() => ch.latency(), { code: 'ERR_CLOSED' });
  });
});
