'use strict';
// The Promise forms of the messaging structures and their waiter registrations (docs/format.md
// §15, "Waking"): an operation that can complete at once completes without registering as a
// waiter, so the other side's next operation moves no wake word and makes no futex wake for
// nobody; an operation that cannot registers, parks and is woken by the other side. Every kind
// waits in async-fifo.js, the SPSC ring with its sleeping flag (AsyncFifo.flagged()), held to
// the same rule here.
const assert = require('assert');
const path = require('path');
const { Worker } = require('worker_threads');
const { MpmcQueue, Stack, PriorityQueue, Channel, SpscRing, Broadcast } = require('../../index');
const { C, W } = require('../../lib/layout/layout');
const { addon } = require('../../lib/base/native');
const { Spinner } = require('../../lib/msg/park');
const { tempDir, runNode } = require('../helpers/process');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const MPMC = C.MPMC_CONTROL_OFFSET / WORD;
const STACK = C.STACK_CONTROL_OFFSET / WORD;
const PQ = C.PQ_CONTROL_OFFSET / WORD;
const SPSC = C.SPSC_CONTROL_OFFSET / WORD;
const BCAST = C.BCAST_CONTROL_OFFSET / WORD;
const CYCLES = 100;
const MESSAGE_BYTES = 32;

const mpmcWords = {
  put: { waiters: MPMC + W.MPMC_CONTROL.PRODUCER_WAITERS, wake: MPMC + W.MPMC_CONTROL.CONSUMED },
  take: { waiters: MPMC + W.MPMC_CONTROL.CONSUMER_WAITERS, wake: MPMC + W.MPMC_CONTROL.PRODUCED },
};

// Each structure with a Promise form on both sides: how to make one of `capacity` messages, put
// and take with the Promise forms and with the blocking forms (what a worker uses), and the words
// a waiter of each side registers in (`waiters`) and sleeps on (`wake`).
const KINDS = {
  MpmcQueue: {
    make: (capacity) => {
      const buffer = new SharedArrayBuffer(MpmcQueue.bytesFor(capacity, { messageBytes: MESSAGE_BYTES }));
      return { buffer, h: MpmcQueue.create({ buffer, capacity, messageBytes: MESSAGE_BYTES }) };
    },
    putAsync: (h, v, o) => h.enqueueAsync(v, o),
    takeAsync: (h, o) => h.dequeueAsync(o),
    tryPut: (h, v) => h.tryEnqueue(v),
    tryTake: (h) => h.tryDequeue(),
    words: mpmcWords,
  },
  Stack: {
    make: (capacity) => {
      const buffer = new SharedArrayBuffer(Stack.bytesFor(capacity, { messageBytes: MESSAGE_BYTES }));
      return { buffer, h: Stack.create({ buffer, capacity, messageBytes: MESSAGE_BYTES }) };
    },
    putAsync: (h, v, o) => h.pushAsync(v, o),
    takeAsync: (h, o) => h.popAsync(o),
    tryPut: (h, v) => h.tryPush(v),
    tryTake: (h) => h.tryPop(),
    lifo: true,
    words: {
      put: { waiters: STACK + W.STACK_CONTROL.PUSH_WAITERS, wake: STACK + W.STACK_CONTROL.POPPED },
      take: { waiters: STACK + W.STACK_CONTROL.POP_WAITERS, wake: STACK + W.STACK_CONTROL.PUSHED },
    },
  },
  PriorityQueue: {
    make: (capacity) => {
      const buffer = new SharedArrayBuffer(PriorityQueue.bytesFor(capacity, { messageBytes: MESSAGE_BYTES }));
      return { buffer, h: PriorityQueue.create({ buffer, capacity, messageBytes: MESSAGE_BYTES }) };
    },
    // One priority for all: first in, first out.
    putAsync: (h, v, o) => h.enqueueAsync(v, 0, o),
    takeAsync: (h, o) => h.dequeueAsync(o),
    tryPut: (h, v) => h.tryEnqueue(v, 0),
    tryTake: (h) => h.tryDequeue(),
    words: {
      put: { waiters: PQ + W.PQ_CONTROL.ENQUEUE_WAITERS, wake: PQ + W.PQ_CONTROL.DEQUEUED },
      take: { waiters: PQ + W.PQ_CONTROL.DEQUEUE_WAITERS, wake: PQ + W.PQ_CONTROL.ENQUEUED },
    },
  },
  Channel: {
    make: (capacity) => {
      const buffer = new SharedArrayBuffer(Channel.bytesFor(capacity, { messageBytes: MESSAGE_BYTES }));
      return { buffer, h: Channel.create({ buffer, capacity, messageBytes: MESSAGE_BYTES }) };
    },
    putAsync: (h, v, o) => h.send(v, o),
    takeAsync: (h, o) => h.receive(o),
    tryPut: (h, v) => h.trySend(v),
    tryTake: (h) => h.tryReceive(),
    words: mpmcWords,
  },
};

// The worker's side of a round, in the blocking forms (it opens the structure by its class name).
// Round i: it waits until the main thread's Promise form is registered and says go (GO >= i + 1),
// then puts message i or takes one, then says it is done (DONE = i + 1), its wake made: until
// the next go nothing but the main thread touches the waiter counts.
const GO = 0;
const DONE = 1;
const WORKER = `
  const { workerData, parentPort } = require('worker_threads');
  const lib = require(${JSON.stringify(require.resolve('../../index'))});
  const { kind, buffer, control, side, rounds } = workerData;
  const h = lib[kind].open({ buffer });
  const put = {
    MpmcQueue: (v) => h.enqueue(v, 10000), Stack: (v) => h.push(v, 10000),
    PriorityQueue: (v) => h.enqueue(v, 0, 10000), Channel: (v) => h.sendSync(v, 10000),
  }[kind];
  const take = {
    MpmcQueue: () => h.dequeue(10000), Stack: () => h.pop(10000),
    PriorityQueue: () => h.dequeue(10000), Channel: () => h.receiveSync(10000),
  }[kind];
  const ctl = new Int32Array(control);
  const taken = [];
  for (let i = 0; i < rounds; i++) {
    for (let go; (go = Atomics.load(ctl, ${GO})) < i + 1;) Atomics.wait(ctl, ${GO}, go, 1000);
    if (side === 'take') put(i);
    else taken.push(take());
    Atomics.store(ctl, ${DONE}, i + 1);
    Atomics.notify(ctl, ${DONE});
  }
  if (kind === 'Channel') h.dispose(); else h.close();
  parentPort.postMessage(taken);`;

// { w, done, step }: done resolves with what the worker took; step(i) lets it do round i (the main
// thread's Promise form registered) and returns once it did, its wake made.
function runWorker(data) {
  const control = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
  const ctl = new Int32Array(control);
  const w = new Worker(WORKER, { eval: true, workerData: { ...data, control } });
  const done = new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  const step = async (i) => {
    Atomics.store(ctl, GO, i + 1);
    Atomics.notify(ctl, GO);
    for (;;) {
      const at = Atomics.load(ctl, DONE);
      if (at >= i + 1) return;
      await Atomics.waitAsync(ctl, DONE, at, 1000).value;
    }
  };
  return { w, done, step };
}

// A Promise form that cannot complete polls for a few microseconds, a turn of the event loop at a
// time, before it registers and parks (async-fifo.js #poll()): waits (turns of the event loop)
// until `done()` says the registration was made.
async function until(done, what) {
  const end = Date.now() + 5000;
  while (!done()) {
    if (Date.now() > end) throw new Error(`${what}: not within 5 s`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function closeHandle(h) {
  if (h instanceof Channel) h.dispose();
  else h.close();
}

// Awaits f() counting the futex wakes the addon makes; null without the addon (Atomics.notify).
async function countingWakes(f) {
  if (!addon) {
    await f();
    return null;
  }
  const saved = addon.futexWake;
  let wakes = 0;
  addon.futexWake = (...a) => {
    wakes++;
    return saved(...a);
  };
  try {
    await f();
  } finally {
    addon.futexWake = saved;
  }
  return wakes;
}

// Runs `cycles` rounds of one Promise-form operation per side, each of which can complete at
// once, and sums the registrations: the waiter counts seen after every operation (before the
// other side's next one could take them back) plus the moves of the wake words (a waker takes
// the counts back and moves the word). Returns { registrations, wakes, taken }.
async function cyclesWithoutWaiting(u32, words, cycles, putAsync, takeAsync) {
  const wakeWords = [words.put.wake, words.take.wake];
  const before = wakeWords.map((i) => Atomics.load(u32, i));
  let registered = 0;
  const taken = [];
  const wakes = await countingWakes(async () => {
    for (let i = 0; i < cycles; i++) {
      await putAsync(i);
      registered += Atomics.load(u32, words.put.waiters) + Atomics.load(u32, words.take.waiters);
      taken.push(await takeAsync());
      registered += Atomics.load(u32, words.put.waiters) + Atomics.load(u32, words.take.waiters);
    }
  });
  const moved = wakeWords.reduce((sum, i, k) => sum + ((Atomics.load(u32, i) - before[k]) >>> 0), 0);
  return { registrations: registered + moved, wakes, taken };
}

describe('Promise forms register as waiters only when they must wait (format.md §15, "Waking")', () => {
  for (const [kind, K] of Object.entries(KINDS)) {
    it(`${kind}: ${CYCLES} cycles of a put and a take that never need to wait move no waiter count, no wake word, no futex`, async () => {
      const { buffer, h } = K.make(4);
      try {
        const u32 = new Uint32Array(buffer);
        // Neither empty nor full at any put or take.
        assert.ok(K.tryPut(h, 'first'));
        const r = await cyclesWithoutWaiting(u32, K.words, CYCLES, (v) => K.putAsync(h, v), () => K.takeAsync(h));
        assert.strictEqual(r.registrations, 0);
        if (r.wakes !== null) assert.strictEqual(r.wakes, 0);
        // Every message came out: the one put before (first in, first out) or the one just put.
        const expected = Array.from({ length: CYCLES }, (_, i) => (K.lifo ? i : i === 0 ? 'first' : i - 1));
        assert.deepStrictEqual(r.taken, expected);
      } finally {
        closeHandle(h);
      }
    });

    it(`${kind}: a put and a take with a signal aborted already reject with its reason and change nothing, though both could complete`, async () => {
      const { h } = K.make(4);
      try {
        assert.ok(K.tryPut(h, 'kept'));
        const reason = new Error('stop');
        const aborted = AbortSignal.abort(reason);
        await assert.rejects(K.putAsync(h, 'not put', { signal: aborted }), (e) => e === reason);
        await assert.rejects(K.takeAsync(h, { signal: aborted }), (e) => e === reason);
        assert.strictEqual(K.tryTake(h), 'kept');
        assert.strictEqual(K.tryTake(h), undefined);
      } finally {
        closeHandle(h);
      }
    });
  }

  it('SpscRing: enqueueAsync, dequeueAsync and dequeueIntoAsync that never need to wait raise no sleeping flag and make no futex wake', async () => {
    const flags = [SPSC + W.SPSC_CONTROL.PRODUCER_SLEEPING, SPSC + W.SPSC_CONTROL.CONSUMER_SLEEPING];
    // The sleeping flags seen after every operation: each counts its side's sleeps (format.md §15),
    // so any sleep raised since the ring was made leaves it above 0, lowered or not.
    const cycles = async (buffer, put, take) => {
      const u32 = new Uint32Array(buffer);
      let raised = 0;
      const wakes = await countingWakes(async () => {
        for (let i = 0; i < CYCLES; i++) {
          await put(i);
          raised += Atomics.load(u32, flags[0]) + Atomics.load(u32, flags[1]);
          await take();
          raised += Atomics.load(u32, flags[0]) + Atomics.load(u32, flags[1]);
        }
      });
      return { raised, wakes };
    };
    const buffer = new SharedArrayBuffer(SpscRing.bytesFor(1024));
    const ring = SpscRing.create({ buffer, capacity: 1024 });
    try {
      const taken = [];
      const r = await cycles(buffer, (v) => ring.enqueueAsync(v), async () => taken.push(await ring.dequeueAsync()));
      assert.strictEqual(r.raised, 0);
      if (r.wakes !== null) assert.strictEqual(r.wakes, 0);
      assert.deepStrictEqual(taken, Array.from({ length: CYCLES }, (_, i) => i));
    } finally {
      ring.close();
    }
    const eBuffer = new SharedArrayBuffer(SpscRing.bytesFor(16, { elementSize: 4 }));
    const elements = SpscRing.create({ buffer: eBuffer, capacity: 16, elementSize: 4 });
    try {
      const into = new Uint32Array(1);
      const intoTaken = [];
      const e = await cycles(eBuffer, (v) => elements.enqueueAsync(Uint32Array.of(v)), async () => {
        assert.strictEqual(await elements.dequeueIntoAsync(into), 1);
        intoTaken.push(into[0]);
      });
      assert.strictEqual(e.raised, 0);
      if (e.wakes !== null) assert.strictEqual(e.wakes, 0);
      assert.deepStrictEqual(intoTaken, Array.from({ length: CYCLES }, (_, i) => i));
    } finally {
      elements.close();
    }
  });

  it('Broadcast: receive() of a subscriber with a message waiting registers nothing; publish() moves no wake word', async () => {
    const buffer = new SharedArrayBuffer(Broadcast.bytesFor(8, { messageBytes: MESSAGE_BYTES }));
    const b = Broadcast.create({ buffer, capacity: 8, messageBytes: MESSAGE_BYTES });
    const u32 = new Uint32Array(buffer);
    const sub = b.subscribe();
    try {
      const waiters = BCAST + W.BCAST_CONTROL.WAITERS;
      const published = BCAST + W.BCAST_CONTROL.PUBLISHED;
      const before = Atomics.load(u32, published);
      let registered = 0;
      const got = [];
      const wakes = await countingWakes(async () => {
        for (let i = 0; i < CYCLES; i++) {
          b.publish(i);
          got.push((await sub.receive()).value);
          registered += Atomics.load(u32, waiters);
        }
      });
      assert.strictEqual(registered + ((Atomics.load(u32, published) - before) >>> 0), 0);
      if (wakes !== null) assert.strictEqual(wakes, 0);
      assert.deepStrictEqual(got, Array.from({ length: CYCLES }, (_, i) => i));
    } finally {
      sub.close();
      b.close();
    }
  });
});

describe('a Promise form that must wait registers, parks and is woken by a worker (exactly once)', () => {
  const ROUNDS = 20;
  // Each round: the Promise form, called when it cannot complete, registers once (the worker is
  // idle: nothing else moves the count); the worker's operation then finds it registered and
  // moves the wake word once; the Promise resolves with what the worker made possible.
  async function rounds(u32, words, step, call) {
    const wakeBefore = Atomics.load(u32, words.wake);
    const out = [];
    for (let i = 0; i < ROUNDS; i++) {
      const registered = Atomics.load(u32, words.waiters);
      const p = call(i);
      await until(() => Atomics.load(u32, words.waiters) !== registered, 'the registration');
      assert.strictEqual(Atomics.load(u32, words.waiters), registered + 1);
      const [r] = await Promise.all([p, step(i)]);
      out.push(r);
    }
    assert.strictEqual((Atomics.load(u32, words.wake) - wakeBefore) >>> 0, ROUNDS);
    return out;
  }

  for (const [kind, K] of Object.entries(KINDS)) {
    it(`${kind}: a take of an empty structure, ${ROUNDS} times: each gets the one message the worker put, in order`, async () => {
      const { buffer, h } = K.make(4);
      const u32 = new Uint32Array(buffer);
      const { w, done, step } = runWorker({ kind, buffer, side: 'take', rounds: ROUNDS });
      try {
        const got = await rounds(u32, K.words.take, step, () => K.takeAsync(h));
        assert.deepStrictEqual(await done, []);
        assert.deepStrictEqual(got, Array.from({ length: ROUNDS }, (_, i) => i));
        assert.strictEqual(K.tryTake(h), undefined);
      } finally {
        await w.terminate();
        closeHandle(h);
      }
    });

    it(`${kind}: a put into a full structure, ${ROUNDS} times: each is taken by the worker or left queued, every message exactly once`, async () => {
      const capacity = 4;
      const { buffer, h } = K.make(capacity);
      const u32 = new Uint32Array(buffer);
      for (let i = 0; i < capacity; i++) assert.ok(K.tryPut(h, `fill ${i}`));
      const { w, done, step } = runWorker({ kind, buffer, side: 'put', rounds: ROUNDS });
      try {
        await rounds(u32, K.words.put, step, (i) => K.putAsync(h, i));
        const byWorker = await done;
        const left = [];
        for (let v = K.tryTake(h); v !== undefined; v = K.tryTake(h)) left.push(v);
        assert.strictEqual(byWorker.length, ROUNDS);
        assert.strictEqual(left.length, capacity);
        const all = [...byWorker, ...left].map(String).sort();
        const sent = [...Array.from({ length: capacity }, (_, i) => `fill ${i}`), ...Array.from({ length: ROUNDS }, (_, i) => i)].map(String).sort();
        assert.deepStrictEqual(all, sent);
      } finally {
        await w.terminate();
        closeHandle(h);
      }
    });
  }
});

// The interleaving that loses a wake-up when a waiter reads the wake word after registering: a
// waker publishes, takes the registration and moves the word, and a third party takes the
// message, all between the waiter's registration and its read. Atomics.add on the waiter count is
// wrapped for one call so that the interleaving runs right after it, deterministically. After
// it, the waiter must still be registered when it sleeps, so that the next message wakes it.
describe('a Promise form whose registration a waker took for a message another party took stays registered (format.md §15, "Waking")', () => {
  for (const [kind, K] of Object.entries(KINDS)) {
    it(`${kind}: the waiter is registered again when it parks, and the next message wakes it`, async () => {
      const { buffer, h } = K.make(4);
      const waker = lib(kind).open({ buffer });
      const thief = lib(kind).open({ buffer });
      const { waiters } = K.words.take;
      const u32 = new Uint32Array(buffer);
      const realAdd = Atomics.add;
      let armed = true;
      Atomics.add = function add(ta, index, value) {
        const r = realAdd(ta, index, value);
        if (armed && ta.buffer === buffer && index === waiters && value === 1) {
          armed = false;
          assert.ok(K.tryPut(waker, 'x')); // takes the registration, moves the wake word
          assert.strictEqual(Atomics.load(u32, waiters), 0);
          assert.strictEqual(K.tryTake(thief), 'x');
        }
        return r;
      };
      // Without the poll before registering (async-fifo.js #poll()): the call registers at once,
      // and one turn of the event loop later it must be registered again, not only after the
      // park's recheck 50 ms later (which a wait for the registration would mistake for a pass).
      const polls = Spinner.prototype.polls;
      Spinner.prototype.polls = () => false;
      try {
        const pending = K.takeAsync(h, { timeoutMs: 10000 });
        assert.strictEqual(armed, false);
        await new Promise((resolve) => setImmediate(resolve));
        // Parked: registered, so that the next put wakes it rather than a recheck 50 ms later.
        assert.strictEqual(Atomics.load(u32, waiters), 1);
        assert.ok(K.tryPut(waker, 'y'));
        assert.strictEqual(await pending, 'y');
      } finally {
        Spinner.prototype.polls = polls;
        Atomics.add = realAdd;
        for (const x of [h, waker, thief]) closeHandle(x);
      }
    });
  }
});

function lib(kind) {
  return require('../../index')[kind];
}

// The same interleaving for the blocking forms (a worker's): the park is watched instead of the
// waiter count after it. Whenever a blocking take is about to sleep (its wake word still reads
// the value it parks on), it must be registered, or the next put would not wake it.
describe('a blocking take whose registration a waker took for a message another party took sleeps registered (format.md §15, "Waking")', () => {
  const blockingTake = {
    MpmcQueue: (h) => h.dequeue(10000), Stack: (h) => h.pop(10000),
    PriorityQueue: (h) => h.dequeue(10000), Channel: (h) => h.receiveSync(10000),
  };
  for (const [kind, K] of Object.entries(KINDS)) {
    it(`${kind}: never sleeps unregistered`, () => {
      const { buffer, h } = K.make(4);
      const waker = lib(kind).open({ buffer });
      const thief = lib(kind).open({ buffer });
      const { waiters, wake } = K.words.take;
      const u32 = new Uint32Array(buffer);
      const realAdd = Atomics.add;
      const realWait = Atomics.wait;
      const realFutexWait = addon ? addon.futexWait : null;
      let armed = true;
      const sleeps = [];
      // Called where the take parks: records the waiter count of every park that would sleep, and
      // puts the message that ends the take before it sleeps (its wake moves the word if the take
      // is registered; if not, the take finds it at its recheck).
      const watch = (ta, index, expected) => {
        if (ta.buffer === buffer && index === wake && Atomics.load(u32, wake) === (expected >>> 0)) {
          sleeps.push(Atomics.load(u32, waiters));
          if (sleeps.length === 1) assert.ok(K.tryPut(waker, 'y'));
        }
      };
      Atomics.add = function add(ta, index, value) {
        const r = realAdd(ta, index, value);
        if (armed && ta.buffer === buffer && index === waiters && value === 1) {
          armed = false;
          assert.ok(K.tryPut(waker, 'x'));
          assert.strictEqual(K.tryTake(thief), 'x');
        }
        return r;
      };
      Atomics.wait = function wait(ta, index, expected, ms) {
        watch(ta, index, expected);
        return realWait(ta, index, expected, ms);
      };
      if (addon) {
        addon.futexWait = function futexWait(ta, index, expected, ms) {
          watch(ta, index, expected);
          return realFutexWait(ta, index, expected, ms);
        };
      }
      try {
        assert.strictEqual(blockingTake[kind](h), 'y');
        assert.strictEqual(armed, false);
        assert.ok(sleeps.length >= 1);
        assert.deepStrictEqual(sleeps.filter((n) => n === 0), [], `slept unregistered: ${JSON.stringify(sleeps)}`);
      } finally {
        Atomics.add = realAdd;
        Atomics.wait = realWait;
        if (addon) addon.futexWait = realFutexWait;
        for (const x of [h, waker, thief]) closeHandle(x);
      }
    });
  }
});

// The registrations a side's word holds: a waiter count, or for a ring's sleeping flag (a count of
// its sleeps, odd while one lasts: format.md §15, Waking) 1 while a sleep lasts.
const registrations = (u32, words) => (words.flag ? Atomics.load(u32, words.waiters) & 1 : Atomics.load(u32, words.waiters));

describe('the waiting loop of a side ends at once when its last pending Promise-form call times out or is aborted', () => {
  // How many parties a wake of i32[index] finds parked (and wakes): the addon's shared futex or,
  // without it, Atomics.notify (what the Promise forms park in). 0 once no wait of the side is left.
  const parkedOn = (i32, index) => (addon ? addon.futexWake(i32, index) : Atomics.notify(i32, index));
  const SPSC_WORDS = {
    put: { waiters: SPSC + W.SPSC_CONTROL.PRODUCER_SLEEPING, wake: SPSC + W.SPSC_CONTROL.HEAD, flag: true },
    take: { waiters: SPSC + W.SPSC_CONTROL.CONSUMER_SLEEPING, wake: SPSC + W.SPSC_CONTROL.TAIL, flag: true },
  };
  const ALL = {
    ...KINDS,
    SpscRing: {
      make: () => {
        // The smallest ring (64 bytes: 5 numbers, records of 12 bytes), whatever the others hold.
        const buffer = new SharedArrayBuffer(SpscRing.bytesFor(64));
        return { buffer, h: SpscRing.create({ buffer, capacity: 64 }) };
      },
      putAsync: (h, v, o) => h.enqueueAsync(v, o),
      takeAsync: (h, o) => h.dequeueAsync(o),
      tryPut: (h, v) => h.tryEnqueue(v),
      tryTake: (h) => h.tryDequeue(),
      // A sleeping flag instead of a waiter count: even when the side says it does not sleep.
      words: SPSC_WORDS,
    },
  };
  // Right after the call rejected (or resolved): the side's waiter count (sleeping flag) is 0 and
  // nothing is parked on its wake word. Before, the loop stayed parked, and registered, until its
  // recheck (50 ms, 200 ms for the ring), its futex wait keeping the event loop alive meanwhile.
  function assertNoWaiter(u32, i32, words, what) {
    assert.strictEqual(registrations(u32, words), 0, `${what}: registered`);
    assert.strictEqual(parkedOn(i32, words.wake), 0, `${what}: parked`);
  }

  for (const [kind, K] of Object.entries(ALL)) {
    it(`${kind}: a take that times out, a take that is aborted, a put that times out`, async () => {
      const { buffer, h } = K.make(4);
      const u32 = new Uint32Array(buffer);
      const i32 = new Int32Array(buffer);
      try {
        await assert.rejects(K.takeAsync(h, { timeoutMs: 20 }), { code: 'ERR_QUEUE_TIMEOUT' });
        assertNoWaiter(u32, i32, K.words.take, 'a take that timed out');
        const ac = new AbortController();
        const aborted = K.takeAsync(h, { signal: ac.signal });
        setTimeout(() => ac.abort(new Error('stop')), 20);
        await assert.rejects(aborted, { message: 'stop' });
        assertNoWaiter(u32, i32, K.words.take, 'an aborted take');
        let n = 0;
        while (K.tryPut(h, n)) n++;
        await assert.rejects(K.putAsync(h, 'no room', { timeoutMs: 20 }), { code: 'ERR_QUEUE_TIMEOUT' });
        assertNoWaiter(u32, i32, K.words.put, 'a put that timed out');
      } finally {
        closeHandle(h);
      }
    });
  }

  it('Broadcast subscriber: a receive() that times out, one aborted', async () => {
    const buffer = new SharedArrayBuffer(Broadcast.bytesFor(8, { messageBytes: MESSAGE_BYTES }));
    const b = Broadcast.create({ buffer, capacity: 8, messageBytes: MESSAGE_BYTES });
    const u32 = new Uint32Array(buffer);
    const i32 = new Int32Array(buffer);
    const sub = b.subscribe();
    const words = { waiters: BCAST + W.BCAST_CONTROL.WAITERS, wake: BCAST + W.BCAST_CONTROL.PUBLISHED };
    try {
      await assert.rejects(sub.receive({ timeoutMs: 20 }), { code: 'ERR_QUEUE_TIMEOUT' });
      assertNoWaiter(u32, i32, words, 'a receive that timed out');
      const ac = new AbortController();
      const aborted = sub.receive({ signal: ac.signal });
      setTimeout(() => ac.abort(new Error('stop')), 20);
      await assert.rejects(aborted, { message: 'stop' });
      assertNoWaiter(u32, i32, words, 'an aborted receive');
    } finally {
      sub.close();
      b.close();
    }
  });

  // Two rings' loops parked in one thread end at the same instant: each ends its own park without
  // moving the word it parks on (the other side's index). A futex wake that moves no word can be
  // missed by the addon's watcher when another of its waits is woken at the same instant (one of
  // two back-to-back wakes reported), which left that loop parked, and the thread alive, until its
  // recheck (200 ms). Counted over many trials: a trial counts when a wait on a ring's word is
  // still in the kernel once the calls ended (looked at after a pause that lets a watcher go back
  // to its wait).
  it('SpscRing: two rings whose last pending calls end at the same instant leave no park behind, trial after trial', async () => {
    const TRIALS = 40;
    const rings = [0, 1].map(() => ALL.SpscRing.make());
    const words = rings.map(({ buffer }) => ({ u32: new Uint32Array(buffer), i32: new Int32Array(buffer) }));
    let left = 0;
    try {
      for (let t = 0; t < TRIALS; t++) {
        const ac = new AbortController();
        const takes = rings.map(({ h }) => h.dequeueAsync({ signal: ac.signal }));
        await new Promise((resolve) => setTimeout(resolve, 5)); // both loops parked
        ac.abort(new Error('stop'));
        for (const r of await Promise.allSettled(takes)) assert.strictEqual(r.reason.message, 'stop');
        await new Promise((resolve) => setTimeout(resolve, 5));
        for (const { u32, i32 } of words) {
          assert.strictEqual(registrations(u32, SPSC_WORDS.take), 0);
          if (parkedOn(i32, SPSC_WORDS.take.wake) !== 0) left++;
        }
      }
    } finally {
      for (const { h } of rings) h.close();
    }
    assert.strictEqual(left, 0, `a park left behind in ${left} of ${TRIALS * 2} ring waits`);
  });

  it('a worker whose last pending call timed out exits with nothing of the queue left waiting', async () => {
    const buffer = new SharedArrayBuffer(SpscRing.bytesFor(64) + MpmcQueue.bytesFor(4));
    SpscRing.create({ buffer, capacity: 64 });
    MpmcQueue.create({ buffer, byteOffset: SpscRing.bytesFor(64), capacity: 4 });
    // The worker reports the waiters it left, then has nothing else to do: its exit is what the
    // event loop allows once the calls ended (a park left behind would hold it until its recheck).
    const w = new Worker(`
      const { workerData, parentPort } = require('worker_threads');
      const { SpscRing, MpmcQueue } = require(${JSON.stringify(require.resolve('../../index'))});
      const { buffer, at } = workerData;
      const ring = SpscRing.open({ buffer });
      const q = MpmcQueue.open({ buffer, byteOffset: at });
      Promise.allSettled([ring.dequeueAsync({ timeoutMs: 20 }), q.dequeueAsync({ timeoutMs: 20 })]).then((r) => {
        parentPort.postMessage(r.map((x) => x.reason && x.reason.code));
        ring.close();
        q.close();
      });`, { eval: true, workerData: { buffer, at: SpscRing.bytesFor(64) } });
    const codes = new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    const exited = new Promise((resolve) => w.once('exit', resolve));
    assert.deepStrictEqual(await codes, ['ERR_QUEUE_TIMEOUT', 'ERR_QUEUE_TIMEOUT']);
    assert.strictEqual(await exited, 0);
    const u32 = new Uint32Array(buffer);
    assert.strictEqual(registrations(u32, SPSC_WORDS.take), 0);
    assert.strictEqual(Atomics.load(u32, (SpscRing.bytesFor(64) / WORD) + mpmcWords.take.waiters), 0);
  });
});

describe('a worker whose only work is a pending Promise-form call stays alive until it completes', () => {
  const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'msg-worker-waits.js');
  const MESSAGES = 3;
  const expected = { taken: ['q0', 'q1', 'q2'], popped: ['s0', 's1', 's2'], exit: 0 };

  async function run(env) {
    const r = await runNode(CHILD, [String(MESSAGES)], { env, timeoutMs: 60000 });
    assert.strictEqual(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  }

  it('without the addon (Atomics.waitAsync): MpmcQueue.dequeueAsync() and Stack.popAsync() take every message', async () => {
    const empty = tempDir();
    try {
      const { addon: loaded, ...got } = await run({ SHMSTORE_ADDON_DIR: empty.dir });
      assert.strictEqual(loaded, false);
      assert.deepStrictEqual(got, expected);
    } finally {
      empty.cleanup();
    }
  });

  (addon ? it : it.skip)('with the addon (futex.waitAsync): the same', async () => {
    const { addon: loaded, ...got } = await run({});
    assert.strictEqual(loaded, true);
    assert.deepStrictEqual(got, expected);
  });
});

// A handle closed with Promise-form calls pending rejects each with an error of its own (the same
// class, code and message): a caller that annotates its error, or reads a batch's `sent`, sees
// only its own.
describe('the pending calls that closing a handle ends get an error each', () => {
  const own = async (pending, code) => {
    const errors = await Promise.all(pending.map((p) => p.then(() => assert.fail('resolved'), (e) => e)));
    assert.strictEqual(new Set(errors).size, errors.length, 'one error object per call');
    for (const e of errors) assert.ok(e.code === code && e.message === errors[0].message && e.name === 'ShmError', e.message);
    errors[0].note = 'mine';
    assert.ok(errors.slice(1).every((e) => e.note === undefined));
    return errors;
  };

  it('Channel: dispose() with receives and batches pending', async () => {
    const { h } = KINDS.Channel.make(2);
    const rx = Channel.open({ buffer: h.buffer, byteOffset: h.byteOffset });
    const receives = [rx.receive(), rx.receive(), rx.receiveBatch(4)];
    rx.dispose();
    await own(receives, 'ERR_CLOSED');
    const tx = Channel.open({ buffer: h.buffer, byteOffset: h.byteOffset });
    h.trySend(0);
    h.trySend(1);
    const batches = [tx.sendBatch([2, 3]), tx.sendBatch([4])];
    tx.dispose();
    const errors = await own(batches, 'ERR_CLOSED');
    assert.deepStrictEqual(errors.map((e) => e.sent), [0, 0]);
    h.dispose();
  });

  it('MpmcQueue, Stack, PriorityQueue, SpscRing: close() with takes pending', async () => {
    for (const k of ['MpmcQueue', 'Stack', 'PriorityQueue']) {
      const { h } = KINDS[k].make(4);
      const pending = [KINDS[k].takeAsync(h), KINDS[k].takeAsync(h), KINDS[k].takeAsync(h)];
      h.close();
      await own(pending, 'ERR_CLOSED');
    }
    const ring = SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(64)), capacity: 64 });
    const pending = [ring.dequeueAsync(), ring.dequeueAsync(), ring.dequeueAsync()];
    ring.close();
    await own(pending, 'ERR_CLOSED');
  });

  it('Broadcast subscriber: close() with receives pending', async () => {
    const b = Broadcast.create({ buffer: new SharedArrayBuffer(Broadcast.bytesFor(4, { messageBytes: MESSAGE_BYTES })), capacity: 4, messageBytes: MESSAGE_BYTES });
    const sub = b.subscribe();
    const pending = [sub.receive(), sub.receive(), sub.receive()];
    sub.close();
    await own(pending, 'ERR_CLOSED');
    b.close();
  });
});
