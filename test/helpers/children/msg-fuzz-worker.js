'use strict';
// The seeds [from, to) of test/70-msg/damage-fuzz.test.js for one kind of structure, in a worker
// thread so that a call that spins for ever is ended by terminate(). Per seed: a structure in a
// SharedArrayBuffer, a few messages, 1 to 3 flipped bits anywhere past its magic, then 200 calls
// of its non-blocking methods drawn at random. Posts { seed, errors } after each seed: the codes
// (or names) of what the calls threw, counted.
const { workerData, parentPort } = require('worker_threads');
const { SpscRing, MpmcQueue, Channel, Broadcast, Stack, PriorityQueue, layout } = require('../../../index');
const { prng } = require('../prng');
const { randomCaller } = require('../fuzz');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const MESSAGES = ['a', 'hello', { x: 1, list: [1, 2] }, Buffer.from('bin'), 'z'.repeat(40), 7.5];

// The structure of `kind` and the calls drawn on it.
function make(kind, pick) {
  const message = () => MESSAGES[pick(MESSAGES.length)];
  if (kind === 'spsc') {
    const buffer = new SharedArrayBuffer(SpscRing.bytesFor(256));
    const h = SpscRing.create({ buffer, capacity: 256 });
    return { buffer, calls: [() => h.tryEnqueue(message()), () => h.tryDequeue(), () => h.tryEnqueueBatch([message(), message()]), () => h.tryDequeueBatch(), () => h.peek(), () => h.size] };
  }
  if (kind === 'spsc-elements') {
    const buffer = new SharedArrayBuffer(SpscRing.bytesFor(16, { elementSize: 8 }));
    const h = SpscRing.create({ buffer, capacity: 16, elementSize: 8 });
    return { buffer, calls: [() => h.tryEnqueue(new Float64Array([pick(9)])), () => h.tryDequeueInto(new Float64Array(4)), () => h.peek(), () => h.size] };
  }
  if (kind === 'mpmc' || kind === 'channel') {
    const Class = kind === 'mpmc' ? MpmcQueue : Channel;
    const buffer = new SharedArrayBuffer(Class.bytesFor(8));
    const h = Class.create({ buffer, capacity: 8 });
    const send = kind === 'mpmc' ? () => h.tryEnqueue(message()) : () => h.trySend(message());
    const receive = kind === 'mpmc' ? () => h.tryDequeue() : () => h.tryReceive();
    const batch = kind === 'mpmc' ? [() => h.tryEnqueueBatch([message(), message()]), () => h.tryDequeueBatch()] : [];
    return { buffer, calls: [send, receive, ...batch, () => h.size] };
  }
  if (kind === 'stack') {
    const buffer = new SharedArrayBuffer(Stack.bytesFor(8));
    const h = Stack.create({ buffer, capacity: 8 });
    return { buffer, calls: [() => h.tryPush(message()), () => h.tryPop(), () => h.peek(), () => h.size] };
  }
  if (kind === 'priority-queue') {
    const buffer = new SharedArrayBuffer(PriorityQueue.bytesFor(8));
    const h = PriorityQueue.create({ buffer, capacity: 8 });
    return { buffer, calls: [() => h.tryEnqueue(message(), pick(4)), () => h.tryDequeue(), () => h.peek(), () => h.size] };
  }
  const buffer = new SharedArrayBuffer(Broadcast.bytesFor(8));
  const h = Broadcast.create({ buffer, capacity: 8 });
  const sub = h.subscribe();
  return { buffer, calls: [() => h.publish(message()), () => sub.tryReceive(), () => h.size] };
}

const { kind, from, to } = workerData;
for (let seed = from; seed < to; seed++) {
  const rand = prng(seed);
  const pick = (n) => Math.floor(rand() * n);
  const { buffer, calls } = make(kind, pick);
  const errors = {};
  const call = randomCaller(calls, pick, errors);
  for (let i = 0; i < 5; i++) call();
  const u32 = new Uint32Array(buffer);
  const first = layout.S.MSG_HEADER.SIZE / WORD; // past the header: its magic and shape
  for (let f = 1 + pick(3); f > 0; f--) u32[first + pick(u32.length - first)] ^= 1 << pick(32);
  for (let i = 0; i < 200; i++) call();
  parentPort.postMessage({ seed, errors });
}
