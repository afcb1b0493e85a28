'use strict';
// Yielding before parking (lib/msg/park.js yieldFor()): a blocked party gives its CPU to
// another runnable thread of its core (sched_yield through the addon) before it registers as a
// sleeper, so that a peer sharing the core runs, and what the peer publishes (or releases) meanwhile
// is taken without a futex wait on this side or a futex wake on the other. The peer is simulated:
// the addon's yield is replaced by a function that makes the peer's move, as the scheduler would
// run it during the yield.
const assert = require('assert');
const { MpmcQueue, Stack, SpscRing } = require('../../index');
const { C, W } = require('../../lib/layout/layout');
const { addon } = require('../../lib/base/native');
const { kWords } = require('../../lib/msg/mpmc');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const CONSUMER_WAITERS = C.MPMC_CONTROL_OFFSET / WORD + W.MPMC_CONTROL.CONSUMER_WAITERS;
const PRODUCER_WAITERS = C.MPMC_CONTROL_OFFSET / WORD + W.MPMC_CONTROL.PRODUCER_WAITERS;
const SPSC_CONSUMER_SLEEPING = C.SPSC_CONTROL_OFFSET / WORD + W.SPSC_CONTROL.CONSUMER_SLEEPING;
const SPSC_PRODUCER_SLEEPING = C.SPSC_CONTROL_OFFSET / WORD + W.SPSC_CONTROL.PRODUCER_SLEEPING;
const withAddon = addon ? describe : describe.skip;

// Runs f() with the addon's yield replaced by `onYield` and its futex calls counted.
function withPeer(onYield, f) {
  const saved = { msgYield: addon.msgYield, futexWait: addon.futexWait, futexWake: addon.futexWake };
  const calls = { yields: 0, waits: 0, wakes: 0 };
  addon.msgYield = () => { calls.yields++; onYield(calls.yields); };
  addon.futexWait = (...a) => { calls.waits++; return saved.futexWait(...a); };
  addon.futexWake = (...a) => { calls.wakes++; return saved.futexWake(...a); };
  try {
    return { result: f(), calls };
  } finally {
    Object.assign(addon, saved);
  }
}

// A consumer's dequeue(), with no yield doing anything, up to its park: `atPark` runs when it
// first calls the futex wait (the asserts of what it registered, then the peer's move that
// makes the wait return at once). Returns what the dequeue returned, the yields and the parks.
function dequeueThroughPark(consumer, atPark) {
  let parked = 0;
  let woke = null;
  const { calls } = withPeer(() => {}, () => {
    const saved = addon.futexWait;
    addon.futexWait = (...a) => {
      parked++;
      addon.futexWait = saved;
      atPark();
      return saved(...a);
    };
    woke = consumer.dequeue(10000);
  });
  return { woke, yields: calls.yields, parked };
}

function pair(capacity) {
  const buffer = new SharedArrayBuffer(MpmcQueue.bytesFor(capacity, { messageBytes: 32 }));
  const a = MpmcQueue.create({ buffer, capacity, messageBytes: 32 });
  return [a, MpmcQueue.open({ buffer })];
}

withAddon('MpmcQueue: a blocked party yields its CPU before it parks', () => {
  it('a consumer takes what a producer of its core published during the yield: no futex call on either side', () => {
    const [consumer, producer] = pair(4);
    const { result, calls } = withPeer((n) => { if (n === 1) producer.tryEnqueue('published while yielded'); }, () => consumer.dequeue(10000));
    assert.strictEqual(result, 'published while yielded');
    assert.deepStrictEqual(calls, { yields: 1, waits: 0, wakes: 0 });
    assert.strictEqual(Atomics.load(consumer[kWords], CONSUMER_WAITERS), 0, 'never registered as a sleeper');
    consumer.close();
    producer.close();
  });

  it('a producer of a full queue takes the slot a consumer of its core released during its second yield', () => {
    const [producer, consumer] = pair(2);
    producer.tryEnqueue('a');
    producer.tryEnqueue('b');
    const { calls } = withPeer((n) => { if (n === 2) assert.strictEqual(consumer.tryDequeue(), 'a'); }, () => producer.enqueue('c', 10000));
    assert.deepStrictEqual(calls, { yields: 2, waits: 0, wakes: 0 });
    assert.strictEqual(Atomics.load(producer[kWords], PRODUCER_WAITERS), 0);
    assert.deepStrictEqual(consumer.tryDequeueBatch(), ['b', 'c']);
    producer.close();
    consumer.close();
  });

  it('with nothing published during the yields the party parks as before, and is woken', () => {
    const [consumer, producer] = pair(4);
    // The peer publishes only once the consumer sleeps.
    const got = dequeueThroughPark(consumer, () => {
      assert.strictEqual(Atomics.load(consumer[kWords], CONSUMER_WAITERS), 1, 'registered as a sleeper');
      producer.tryEnqueue('after the park'); // moves the wake word: the wait returns at once
    });
    assert.deepStrictEqual(got, { woke: 'after the park', yields: 2, parked: 1 });
    consumer.close();
    producer.close();
  });

  it('a Stack popper takes what a pusher of its core pushed during the yield, without a futex call', () => {
    const buffer = new SharedArrayBuffer(Stack.bytesFor(4, { messageBytes: 32 }));
    const popper = Stack.create({ buffer, capacity: 4, messageBytes: 32 });
    const pusher = Stack.open({ buffer });
    const { result, calls } = withPeer((n) => { if (n === 1) pusher.tryPush('pushed while yielded'); }, () => popper.pop(10000));
    assert.strictEqual(result, 'pushed while yielded');
    assert.deepStrictEqual(calls, { yields: 1, waits: 0, wakes: 0 });
    popper.close();
    pusher.close();
  });
});

// A ring at offset 0 of its buffer, its two sides, and a view of its words (the sleeping flags).
function ring(capacity) {
  const buffer = new SharedArrayBuffer(SpscRing.bytesFor(capacity));
  return [SpscRing.create({ buffer, capacity }), SpscRing.open({ buffer }), new Uint32Array(buffer)];
}

withAddon('SpscRing: a blocked side yields its CPU before it raises its sleeping flag', () => {
  it('a consumer takes what the producer of its core enqueued during the yield: no flag, no futex call', () => {
    const [consumer, producer, u32] = ring(64);
    const flags = [];
    const { result, calls } = withPeer((n) => {
      flags.push(Atomics.load(u32, SPSC_CONSUMER_SLEEPING));
      if (n === 1) producer.tryEnqueue('enqueued while yielded');
    }, () => consumer.dequeue(10000));
    assert.strictEqual(result, 'enqueued while yielded');
    assert.deepStrictEqual(calls, { yields: 1, waits: 0, wakes: 0 });
    assert.deepStrictEqual(flags, [0], 'the flag was not raised before the yield');
    assert.strictEqual(Atomics.load(u32, SPSC_CONSUMER_SLEEPING), 0);
    consumer.close();
    producer.close();
  });

  it('a producer of a full ring takes the room the consumer freed during its second yield', () => {
    const [producer, consumer, u32] = ring(64);
    let n = 0;
    while (producer.tryEnqueue(`m${n}`)) n++;
    const got = [];
    const drain = () => { for (let m = consumer.tryDequeue(); m !== undefined; m = consumer.tryDequeue()) got.push(m); };
    const { calls } = withPeer((y) => { if (y === 2) drain(); }, () => producer.enqueue('last', 10000));
    assert.deepStrictEqual(calls, { yields: 2, waits: 0, wakes: 0 });
    assert.strictEqual(Atomics.load(u32, SPSC_PRODUCER_SLEEPING), 0);
    drain();
    assert.deepStrictEqual(got, [...Array.from({ length: n }, (_, i) => `m${i}`), 'last']);
    producer.close();
    consumer.close();
  });

  it('with nothing enqueued during the yields the consumer raises its flag, parks, and is woken', () => {
    const [consumer, producer, u32] = ring(64);
    const got = dequeueThroughPark(consumer, () => {
      assert.strictEqual(Atomics.load(u32, SPSC_CONSUMER_SLEEPING) & 1, 1, 'flag raised (odd: a sleep)');
      producer.tryEnqueue('after the park'); // moves the tail: the wait returns at once
    });
    assert.deepStrictEqual(got, { woke: 'after the park', yields: 2, parked: 1 });
    consumer.close();
    producer.close();
  });
});
