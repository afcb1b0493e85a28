'use strict';
// Numbers as messages (docs/format.md §15, record tag 5): every kind sends a number as its
// binary64 bytes when its messages may be 8 bytes long, so that each value comes back as sent,
// the ones JSON text cannot carry (NaN, the infinities, -0) included, and as JSON text in a
// structure whose messages are shorter.
const assert = require('assert');
const { SpscRing, MpmcQueue, Stack, PriorityQueue, Broadcast, Channel } = require('../../index');

const NUMBERS = [0, -0, 1, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 53 + 2, -1e-300, Number.MAX_VALUE, 5e-324];

// Checks that `got` holds exactly the values of `sent`, Object.is by Object.is.
function same(got, sent) {
  assert.strictEqual(got.length, sent.length);
  sent.forEach((x, i) => {
    if (typeof x === 'object') assert.deepStrictEqual(got[i], x);
    else assert.ok(Object.is(got[i], x), `message ${i}: sent ${x}, received ${got[i]}`);
  });
}

const KINDS = {
  SpscRing: () => {
    const q = SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(1024)), capacity: 1024 });
    return { send: (x) => q.tryEnqueue(x), receive: () => q.tryDequeue(), close: () => q.close() };
  },
  MpmcQueue: (messageBytes) => {
    const q = MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(16, { messageBytes })), capacity: 16, messageBytes });
    return { send: (x) => q.tryEnqueue(x), receive: () => q.tryDequeue(), close: () => q.close() };
  },
  Stack: (messageBytes) => {
    const s = Stack.create({ buffer: new SharedArrayBuffer(Stack.bytesFor(16, { messageBytes })), capacity: 16, messageBytes });
    const held = [];
    // LIFO: the values are sent, then popped in reverse and put back in order.
    return { send: (x) => s.tryPush(x), receive: () => (held.length > 0 ? held.shift() : (held.push(...drainStack(s)), held.shift())), close: () => s.close() };
  },
  PriorityQueue: (messageBytes) => {
    const q = PriorityQueue.create({ buffer: new SharedArrayBuffer(PriorityQueue.bytesFor(16, { messageBytes })), capacity: 16, messageBytes });
    return { send: (x) => q.tryEnqueue(x, 1), receive: () => q.tryDequeue(), close: () => q.close() };
  },
  Broadcast: (messageBytes) => {
    const b = Broadcast.create({ buffer: new SharedArrayBuffer(Broadcast.bytesFor(16, { messageBytes })), capacity: 16, messageBytes });
    const sub = b.subscribe();
    return { send: (x) => (b.publish(x), true), receive: () => sub.tryReceive().value, close: () => (sub.close(), b.close()) };
  },
  Channel: (messageBytes) => {
    const ch = Channel.create({ buffer: new SharedArrayBuffer(Channel.bytesFor(16, { messageBytes })), capacity: 16, messageBytes });
    return { send: (x) => ch.trySend(x), receive: () => ch.tryReceive(), close: () => ch.close() };
  },
};

function drainStack(s) {
  const out = [];
  for (let x = s.tryPop(); x !== undefined; x = s.tryPop()) out.unshift(x);
  return out;
}

describe('Numbers as messages', () => {
  for (const [kind, make] of Object.entries(KINDS)) {
    it(`${kind}: every number comes back as sent, NaN, the infinities and -0 included`, () => {
      const q = make(64);
      for (let i = 0; i < NUMBERS.length; i += 4) {
        const part = NUMBERS.slice(i, i + 4);
        for (const x of part) assert.ok(q.send(x));
        same(part.map(() => q.receive()), part);
      }
      q.close();
    });
  }

  it('numbers among strings and JSON values in batches: SpscRing, MpmcQueue and Channel', async () => {
    const values = ['a', 1, NaN, { x: 1 }, -0, 'bc', Infinity, 'd'.repeat(40), 2 ** 60];
    const ring = SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(4096)), capacity: 4096 });
    assert.strictEqual(ring.tryEnqueueBatch(values), values.length);
    same(ring.tryDequeueBatch(), values);
    ring.close();
    const q = MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(16, { messageBytes: 64 })), capacity: 16, messageBytes: 64 });
    assert.strictEqual(q.tryEnqueueBatch(values), values.length);
    same(q.tryDequeueBatch(), values);
    q.close();
    const ch = Channel.create({ buffer: new SharedArrayBuffer(Channel.bytesFor(16, { messageBytes: 64 })), capacity: 16, messageBytes: 64 });
    await ch.sendBatch(values);
    same(await ch.receiveBatch(values.length), values);
    ch.close();
  });

  it('a structure of messages shorter than 8 bytes sends numbers as JSON text, as before', () => {
    for (const make of [KINDS.MpmcQueue, KINDS.Stack, KINDS.PriorityQueue, KINDS.Broadcast]) {
      const q = make(4);
      for (const x of [7, -12, 0.5]) assert.ok(q.send(x));
      same([q.receive(), q.receive(), q.receive()], [7, -12, 0.5]);
      q.close();
    }
  });
});
