'use strict';
// A blocking receive (send) that times out makes one last try after its deadline: a message (room)
// that came after its last look and before the deadline is taken, not left behind while the call
// reports ERR_QUEUE_TIMEOUT. Deterministic: the clock is wrapped so that the first time a call
// reads it at or past its deadline, another handle delivers first (a message sent, room made);
// the call's waits have all ended by then (none is woken: nobody sleeps when it is delivered), so
// only a look made after that clock read can see it.
const assert = require('assert');
const { SpscRing, MpmcQueue, Channel, Stack, PriorityQueue, Broadcast } = require('../../index');

// How long each call waits: long enough that its polling (which reads the clock too) is over
// well before it, short enough to keep the test fast. No timing is asserted.
const TIMEOUT_MS = 30;

// Runs fn() with performance.now() wrapped: the first read at or after `at` runs deliver() first
// (once). Returns what fn() returned, or the error it threw, and whether deliver() ran.
function withDeliveryAt(at, deliver, fn) {
  const real = Performance.prototype.now.bind(performance);
  let delivered = false;
  performance.now = () => {
    const t = real();
    if (!delivered && t >= at) {
      delivered = true;
      deliver();
    }
    return t;
  };
  try {
    return { value: fn(), delivered };
  } catch (error) {
    return { error, delivered };
  } finally {
    delete performance.now;
  }
}

// Calls wait(TIMEOUT_MS) with deliver() run at its deadline; asserts it returned `expected`.
function assertTakenAtDeadline(deliver, wait, expected) {
  const at = performance.now() + TIMEOUT_MS;
  const r = withDeliveryAt(at, deliver, () => wait(TIMEOUT_MS));
  assert.strictEqual(r.delivered, true);
  assert.strictEqual(r.error, undefined, `timed out with the message there: ${r.error && r.error.code}`);
  assert.deepStrictEqual(r.value, expected);
}

function sab(bytes) {
  return new SharedArrayBuffer(bytes);
}

describe('Message structures: a blocking call that times out looks once more after its deadline', () => {
  it('SpscRing dequeue(), dequeueBatch() and dequeueInto() take a message published at the deadline', () => {
    const buffer = sab(SpscRing.bytesFor(1024));
    const consumer = SpscRing.create({ buffer, capacity: 1024 });
    const producer = SpscRing.open({ buffer });
    try {
      assertTakenAtDeadline(() => producer.tryEnqueue('late'), (t) => consumer.dequeue(t), 'late');
      assertTakenAtDeadline(() => producer.tryEnqueue('late'), (t) => consumer.dequeueBatch(undefined, t), ['late']);
      assert.strictEqual(consumer.size, 0);
    } finally {
      producer.close();
      consumer.close();
    }
    const eBuffer = sab(SpscRing.bytesFor(8, { elementSize: 4 }));
    const eConsumer = SpscRing.create({ buffer: eBuffer, capacity: 8, elementSize: 4 });
    const eProducer = SpscRing.open({ buffer: eBuffer });
    try {
      const target = new Uint32Array(4);
      assertTakenAtDeadline(() => eProducer.tryEnqueue(new Uint32Array([7])), (t) => eConsumer.dequeueInto(target, t), 1);
      assert.strictEqual(target[0], 7);
    } finally {
      eProducer.close();
      eConsumer.close();
    }
  });

  it('SpscRing enqueue() takes room made at the deadline', () => {
    const buffer = sab(SpscRing.bytesFor(64));
    const producer = SpscRing.create({ buffer, capacity: 64 });
    const consumer = SpscRing.open({ buffer });
    try {
      const big = 'x'.repeat(producer.maxMessageBytes); // half the ring
      assert.strictEqual(producer.tryEnqueue(big), true);
      assert.strictEqual(producer.tryEnqueue(big), true);
      assert.strictEqual(producer.tryEnqueue('y'), false);
      assertTakenAtDeadline(() => assert.strictEqual(consumer.tryDequeue(), big), (t) => producer.enqueue('y', t), undefined);
      assert.deepStrictEqual([consumer.tryDequeue(), consumer.tryDequeue()], [big, 'y']);
    } finally {
      consumer.close();
      producer.close();
    }
  });

  it('MpmcQueue dequeue() takes a message enqueued at the deadline, enqueue() room made at it', () => {
    const buffer = sab(MpmcQueue.bytesFor(4));
    const a = MpmcQueue.create({ buffer, capacity: 4 });
    const b = MpmcQueue.open({ buffer });
    try {
      assertTakenAtDeadline(() => b.tryEnqueue('late'), (t) => a.dequeue(t), 'late');
      for (let i = 0; i < 4; i++) assert.strictEqual(b.tryEnqueue(i), true);
      assertTakenAtDeadline(() => assert.strictEqual(a.tryDequeue(), 0), (t) => b.enqueue(4, t), undefined);
      assert.deepStrictEqual([1, 2, 3, 4].map(() => a.tryDequeue()), [1, 2, 3, 4]);
    } finally {
      b.close();
      a.close();
    }
  });

  it('Channel receiveSync() takes a message sent at the deadline, sendSync() room made at it', () => {
    const buffer = sab(Channel.bytesFor(2));
    const a = Channel.create({ buffer, capacity: 2 });
    const b = Channel.open({ buffer });
    try {
      assertTakenAtDeadline(() => b.trySend('late'), (t) => a.receiveSync(t), 'late');
      assert.strictEqual(b.trySend(1), true);
      assert.strictEqual(b.trySend(2), true);
      assertTakenAtDeadline(() => assert.strictEqual(a.tryReceive(), 1), (t) => b.sendSync(3, t), undefined);
      assert.deepStrictEqual([a.tryReceive(), a.tryReceive()], [2, 3]);
    } finally {
      b.dispose();
      a.dispose();
    }
  });

  it('Stack pop() and PriorityQueue dequeue() take a message pushed at the deadline', () => {
    const sBuffer = sab(Stack.bytesFor(4));
    const s = Stack.create({ buffer: sBuffer, capacity: 4 });
    const s2 = Stack.open({ buffer: sBuffer });
    const qBuffer = sab(PriorityQueue.bytesFor(4));
    const q = PriorityQueue.create({ buffer: qBuffer, capacity: 4 });
    const q2 = PriorityQueue.open({ buffer: qBuffer });
    try {
      assertTakenAtDeadline(() => s2.tryPush('late'), (t) => s.pop(t), 'late');
      assertTakenAtDeadline(() => q2.tryEnqueue('late', 1), (t) => q.dequeue(t), 'late');
    } finally {
      for (const h of [s2, s, q2, q]) h.close();
    }
  });

  it('a broadcast Subscriber receiveSync() takes a message published at the deadline', () => {
    const buffer = sab(Broadcast.bytesFor(8));
    const publisher = Broadcast.create({ buffer, capacity: 8 });
    const reader = Broadcast.open({ buffer });
    const sub = reader.subscribe();
    try {
      assertTakenAtDeadline(() => publisher.publish('late'), (t) => sub.receiveSync(t), { value: 'late', missed: 0 });
    } finally {
      reader.close();
      publisher.close();
    }
  });
});
