'use strict';
// Call order within one handle (docs/api.md, "Order within one handle" of SpscRing, Stack and
// PriorityQueue, "Order" of a Broadcast subscriber): the pending Promise-form puts of a handle
// complete in call order and its pending takes take in call order (a stack's each the top at its
// turn, a subscriber's consecutive messages), whatever wake-up serves them; one that times out or
// is aborted leaves its place, the others keeping theirs; close() ends them in that order with
// ERR_CLOSED; the try forms of the handle do not overtake them. channel-order.test.js holds
// Channel and MpmcQueue to the same.
const assert = require('assert');
const path = require('path');
const { Worker } = require('worker_threads');
const { SpscRing, Stack, PriorityQueue, Broadcast } = require('../../index');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'take-child.js');
const MESSAGE_BYTES = 32;
const isTimeout = (e) => e.code === 'ERR_QUEUE_TIMEOUT';
const isClosed = (e) => e.code === 'ERR_CLOSED';
const range = (n, from = 0) => Array.from({ length: n }, (_, i) => from + i);
const tick = () => new Promise((r) => setTimeout(r, 5));
// Pending calls in the tests of a call that leaves its place: enough that calls served each at its
// own wake-up would come out of order.
const PENDING = 40;

// The indices of `promises` in the order they settled (fulfilled or rejected).
function settleOrder(promises) {
  const order = [];
  for (const [i, p] of promises.entries()) p.then(() => order.push(i), () => order.push(i));
  return order;
}

// Resolves once cond() holds; rejects if it does not within 10 s (a call that never completes).
async function until(cond, what) {
  const deadline = performance.now() + 10000;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`Not within 10 s: ${what}`);
    await tick();
  }
}

// A worker that takes n messages with the blocking form; resolves with them in the order taken.
function takeInWorker(kind, buffer, n) {
  const w = new Worker(CHILD, { workerData: { kind, buffer, n } });
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
}

// Each structure with Promise forms on both sides: a small one (`make(small)`: fewer messages fit
// than the tests put), its put and take forms, and what its pending takes get when `values` are put
// at once before they are served (`takenAll`): the queues' FIFO, the stack's top at each turn.
const KINDS = {
  SpscRing: {
    child: 'spsc',
    puts: 400,
    // Numbers: records of 12 bytes, 5 of them in a ring of 64 bytes.
    make: (capacity) => SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(capacity)), capacity }),
    small: 64,
    large: 1024,
    open: (h) => SpscRing.open({ buffer: h.buffer }),
    put: (h, v, o) => h.enqueueAsync(v, o),
    take: (h, o) => h.dequeueAsync(o),
    tryPut: (h, v) => h.tryEnqueue(v),
    tryTake: (h) => h.tryDequeue(),
    peek: (h) => h.peek(),
    takenAll: (values) => values,
  },
  Stack: {
    child: 'stack',
    puts: 200,
    make: (capacity) => Stack.create({
      buffer: new SharedArrayBuffer(Stack.bytesFor(capacity, { messageBytes: MESSAGE_BYTES })), capacity, messageBytes: MESSAGE_BYTES,
    }),
    small: 2,
    large: 64,
    open: (h) => Stack.open({ buffer: h.buffer }),
    put: (h, v, o) => h.pushAsync(v, o),
    take: (h, o) => h.popAsync(o),
    tryPut: (h, v) => h.tryPush(v),
    tryTake: (h) => h.tryPop(),
    peek: (h) => h.peek(),
    lifo: true,
    takenAll: (values) => [...values].reverse(),
  },
  PriorityQueue: {
    child: 'pq',
    puts: 200,
    make: (capacity) => PriorityQueue.create({
      buffer: new SharedArrayBuffer(PriorityQueue.bytesFor(capacity, { messageBytes: MESSAGE_BYTES })), capacity, messageBytes: MESSAGE_BYTES,
    }),
    small: 4,
    large: 64,
    open: (h) => PriorityQueue.open({ buffer: h.buffer }),
    // One priority for all: the order of the enqueues is the order of the dequeues.
    put: (h, v, o) => h.enqueueAsync(v, 1, o),
    take: (h, o) => h.dequeueAsync(o),
    tryPut: (h, v) => h.tryEnqueue(v, 1),
    tryTake: (h) => h.tryDequeue(),
    peek: (h) => h.peek(),
    takenAll: (values) => values,
  },
};

// Fills h with the numbers FILLER, FILLER + 1... until a try fails; returns them. Numbers: every
// message of these tests that waits for room has the size of one that leaves (in the ring, a
// string reserves 3 bytes a character).
const FILLER = 1000;
function fill(K, h) {
  const fillers = [];
  while (K.tryPut(h, FILLER + fillers.length)) fillers.push(FILLER + fillers.length);
  return fillers;
}

for (const [name, K] of Object.entries(KINDS)) {
  describe(`${name}: call order within one handle`, () => {
    it(`puts called without awaiting, more than fit, complete in call order while a worker takes with the blocking form`, async function () {
      this.timeout(60000);
      const h = K.make(K.small);
      const puts = range(K.puts).map((i) => K.put(h, i));
      const order = settleOrder(puts);
      const got = await takeInWorker(K.child, h.buffer, K.puts);
      await Promise.all(puts);
      assert.deepStrictEqual(order, range(K.puts));
      if (K.lifo) assert.deepStrictEqual([...got].sort((a, b) => a - b), range(K.puts));
      else assert.deepStrictEqual(got, range(K.puts));
      h.close();
    });

    it('pending takes take in call order', async () => {
      const h = K.make(K.large);
      const other = K.open(h);
      // Put at once, before any pending take is served.
      const takes = range(12).map(() => K.take(h));
      const order = settleOrder(takes);
      for (let i = 0; i < 12; i++) assert.strictEqual(K.tryPut(other, i), true);
      assert.deepStrictEqual(await Promise.all(takes), K.takenAll(range(12)));
      assert.deepStrictEqual(order, range(12));
      // Put one at a time, each taken before the next is put.
      const more = range(8).map(() => K.take(h));
      const moreOrder = settleOrder(more);
      for (let i = 0; i < 8; i++) {
        assert.strictEqual(K.tryPut(other, i), true);
        await until(() => moreOrder.length === i + 1, `take ${i}`);
      }
      assert.deepStrictEqual(await Promise.all(more), range(8));
      assert.deepStrictEqual(moreOrder, range(8));
      other.close();
      h.close();
    });

    it('a pending put that times out leaves its place; the puts after it keep their order', async () => {
      const h = K.make(K.small);
      const fillers = fill(K, h);
      const puts = range(PENDING).map((i) => K.put(h, i, i === 3 ? { timeoutMs: 20 } : undefined));
      const order = settleOrder(puts);
      await assert.rejects(puts[3], isTimeout);
      assert.deepStrictEqual(order, [3]);
      // Another handle takes everything, one message at a time.
      const other = K.open(h);
      const got = [];
      for (let k = 0; k < fillers.length + PENDING - 1; k++) got.push(await K.take(other, { timeoutMs: 10000 }));
      await Promise.all(puts.filter((_, i) => i !== 3));
      const sent = range(PENDING).filter((i) => i !== 3);
      assert.deepStrictEqual(order, [3, ...sent]);
      if (K.lifo) assert.deepStrictEqual(got.filter((m) => m < FILLER).sort((a, b) => a - b), sent);
      else assert.deepStrictEqual(got, [...fillers, ...sent]);
      other.close();
      h.close();
    });

    it('an aborted pending take leaves its place; the takes after it keep their order', async () => {
      const h = K.make(K.large);
      const ac = new AbortController();
      const takes = range(PENDING).map((i) => K.take(h, i === 3 ? { signal: ac.signal } : undefined));
      await tick();
      ac.abort(new Error('no longer wanted'));
      await assert.rejects(takes[3], /no longer wanted/);
      const other = K.open(h);
      for (let i = 0; i < PENDING - 1; i++) assert.strictEqual(K.tryPut(other, i), true);
      assert.deepStrictEqual(await Promise.all(takes.filter((_, i) => i !== 3)), K.takenAll(range(PENDING - 1)));
      other.close();
      h.close();
    });

    it('close() with pending takes and puts: the first ones complete in call order, the rest end with ERR_CLOSED in call order', async () => {
      // Takes: two messages for six pending takes.
      const h = K.make(K.large);
      const takes = range(6).map(() => K.take(h));
      const takeOrder = settleOrder(takes);
      const tx = K.open(h);
      K.tryPut(tx, 0);
      K.tryPut(tx, 1);
      await until(() => takeOrder.length === 2, 'the first two takes');
      h.close();
      const taken = await Promise.allSettled(takes);
      assert.deepStrictEqual(taken.slice(0, 2).map((r) => r.value), K.takenAll([0, 1]));
      for (const r of taken.slice(2)) assert.ok(r.status === 'rejected' && isClosed(r.reason), String(r.reason));
      assert.deepStrictEqual(takeOrder, range(6));
      tx.close();
      // Puts: room for two frees while five wait.
      const full = K.make(K.small);
      fill(K, full);
      const puts = range(5).map((i) => K.put(full, i));
      const putOrder = settleOrder(puts);
      const rx = K.open(full);
      K.tryTake(rx);
      K.tryTake(rx);
      await until(() => putOrder.length === 2, 'the first two puts');
      full.close();
      const put = await Promise.allSettled(puts);
      assert.deepStrictEqual(put.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'rejected', 'rejected']);
      for (const r of put.slice(2)) assert.ok(isClosed(r.reason), String(r.reason));
      assert.deepStrictEqual(putOrder, range(5));
      rx.close();
    });

    it('the try forms do not overtake pending puts and takes of their handle', async () => {
      const h = K.make(K.small);
      fill(K, h);
      const pending = K.put(h, 1);
      const other = K.open(h);
      assert.notStrictEqual(K.tryTake(other), undefined);
      // Room for one: the pending put takes it before the later tryPut().
      assert.strictEqual(K.tryPut(h, 2), false);
      await pending;
      other.close();
      h.close();
      // A message arrives for a pending take: the later try takes the next one.
      const empty = K.make(K.large);
      const tx = K.open(empty);
      const waiting = K.take(empty);
      K.tryPut(tx, 'a');
      K.tryPut(tx, 'b');
      const first = K.takenAll(['a', 'b']);
      assert.strictEqual(K.tryTake(empty), first[1]);
      assert.strictEqual(await waiting, first[0]);
      tx.close();
      empty.close();
    });

    it('peek() serves the pending takes of its handle first: it shows what the next take gets, never what a pending one is about to take', async () => {
      const h = K.make(K.large);
      const tx = K.open(h);
      const first = K.take(h);
      const second = K.take(h);
      try {
        K.tryPut(tx, 'a');
        // Two pending takes, one message: the first takes it, nothing is left to show.
        assert.strictEqual(K.peek(h), undefined);
        assert.strictEqual(await first, 'a');
        K.tryPut(tx, 'b');
        K.tryPut(tx, 'c');
        const [taken, shown] = K.takenAll(['b', 'c']);
        assert.strictEqual(K.peek(h), shown);
        assert.strictEqual(await second, taken);
        assert.strictEqual(K.tryTake(h), shown);
      } finally {
        // A failed assertion leaves no pending call (and its waiting loop) behind.
        tx.close();
        h.close();
        await Promise.allSettled([first, second]);
      }
    });
  });
}

describe('SpscRing: dequeueIntoAsync() in call order with dequeueAsync()', () => {
  it('pending dequeueIntoAsync() calls fill their arrays in call order', async () => {
    const ring = SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(32, { elementSize: 4 })), capacity: 32, elementSize: 4 });
    const targets = range(12).map(() => new Uint32Array(1));
    const takes = targets.map((t) => ring.dequeueIntoAsync(t));
    const tx = SpscRing.open({ buffer: ring.buffer });
    for (let i = 0; i < 12; i++) assert.strictEqual(tx.tryEnqueue(new Uint32Array([i])), true);
    assert.deepStrictEqual(await Promise.all(takes), Array(12).fill(1));
    assert.deepStrictEqual(targets.map((t) => t[0]), range(12));
    tx.close();
    ring.close();
  });
});

describe('Broadcast subscriber: call order of receive()', () => {
  const make = (capacity = 64) => Broadcast.create({
    buffer: new SharedArrayBuffer(Broadcast.bytesFor(capacity, { messageBytes: MESSAGE_BYTES })), capacity, messageBytes: MESSAGE_BYTES,
  });
  const values = (results) => results.map((r) => r.value);

  it('pending receive() calls resolve with consecutive messages in call order', async () => {
    const b = make();
    const sub = b.subscribe();
    const receives = range(40).map(() => sub.receive());
    const order = settleOrder(receives);
    for (let i = 0; i < 40; i++) b.publish(i);
    const got = await Promise.all(receives);
    assert.deepStrictEqual(values(got), range(40));
    assert.ok(got.every((r) => r.missed === 0));
    assert.deepStrictEqual(order, range(40));
    b.close();
  });

  it('a pending receive() that times out leaves its place; one aborted too', async () => {
    const b = make();
    const sub = b.subscribe();
    const ac = new AbortController();
    const receives = range(PENDING).map((i) => sub.receive(i === 3 ? { timeoutMs: 20 } : i === 6 ? { signal: ac.signal } : undefined));
    await assert.rejects(receives[3], isTimeout);
    ac.abort(new Error('no longer wanted'));
    await assert.rejects(receives[6], /no longer wanted/);
    for (let i = 0; i < PENDING - 2; i++) b.publish(i);
    assert.deepStrictEqual(values(await Promise.all(receives.filter((_, i) => i !== 3 && i !== 6))), range(PENDING - 2));
    b.close();
  });

  it('close() with pending receive() calls: the first ones get the messages, the rest end with ERR_CLOSED in call order', async () => {
    const b = make();
    const sub = b.subscribe();
    const receives = range(6).map(() => sub.receive());
    const order = settleOrder(receives);
    b.publish(0);
    b.publish(1);
    await until(() => order.length === 2, 'the first two receives');
    sub.close();
    const results = await Promise.allSettled(receives);
    assert.deepStrictEqual(results.slice(0, 2).map((r) => r.value?.value), [0, 1]);
    for (const r of results.slice(2)) assert.ok(r.status === 'rejected' && isClosed(r.reason), String(r.reason));
    assert.deepStrictEqual(order, range(6));
    b.close();
  });

  it('tryReceive() does not overtake a pending receive()', async () => {
    const b = make();
    const sub = b.subscribe();
    const waiting = sub.receive();
    b.publish('a');
    b.publish('b');
    assert.strictEqual(sub.tryReceive().value, 'b');
    assert.strictEqual((await waiting).value, 'a');
    b.close();
  });
});

// The ring's waiting loop for Promise-form calls (async-fifo.js, AsyncFifo.flagged()).
describe('SpscRing: the waiting loop of its Promise forms', () => {
  const { C, W } = require('../../lib/layout/layout');
  const { addon } = require('../../lib/base/native');
  const CTL = C.SPSC_CONTROL_OFFSET / Uint32Array.BYTES_PER_ELEMENT;
  const TAIL = CTL + W.SPSC_CONTROL.TAIL;

  // Resolves with what `p` settled to, or with 'pending' after `ms` (a bound far above the few
  // milliseconds the call takes when it works: before the fix it never settled).
  const within = (p, ms) => Promise.race([p.then((v) => v, (e) => e.code),
    new Promise((r) => setTimeout(() => r('pending'), ms).unref())]);

  it('a call made right after a call whose loop ended at its first look still has a loop to wait in', async () => {
    const buffer = new SharedArrayBuffer(SpscRing.bytesFor(1024));
    const ring = SpscRing.create({ buffer, capacity: 1024 });
    const other = SpscRing.open({ buffer });
    try {
      // Already past its deadline when its loop first looks: the loop ends without awaiting.
      const first = ring.dequeueAsync({ timeoutMs: 1e-6 });
      const second = ring.dequeueAsync();
      await assert.rejects(first, isTimeout);
      assert.ok(other.tryEnqueue('m'));
      assert.strictEqual(await within(second, 5000), 'm');
    } finally {
      ring.close();
      other.close();
    }
  });

  it('a blocking call of the same side wakes the loop it may have left parked with its sleeping flag cleared', async () => {
    const buffer = new SharedArrayBuffer(SpscRing.bytesFor(1024));
    const ring = SpscRing.create({ buffer, capacity: 1024 });
    const producer = SpscRing.open({ buffer });
    const wakes = [];
    const realNotify = Atomics.notify;
    const realWake = addon ? addon.futexWake : null;
    // The loop's own park is ended with futexWakeOwn (a wake that moves no word can be missed).
    const realWakeOwn = addon ? addon.futexWakeOwn : null;
    const record = (ta, index) => {
      if (ta.buffer === buffer && index === TAIL) wakes.push(index);
    };
    Atomics.notify = function notify(ta, index, count) {
      record(ta, index);
      return realNotify(ta, index, count);
    };
    if (addon) {
      addon.futexWake = function futexWake(ta, index, count) {
        record(ta, index);
        return realWake(ta, index, count);
      };
      addon.futexWakeOwn = function futexWakeOwn(ta, index) {
        record(ta, index);
        return realWakeOwn(ta, index);
      };
    }
    try {
      const pending = ring.dequeueAsync({ timeoutMs: 10000 });
      await tick(); // the loop has raised the consumer's flag and parked
      assert.throws(() => ring.dequeue(20), isTimeout); // ends by clearing the flag
      assert.deepStrictEqual(wakes, [TAIL]); // and wakes the loop, which raises it again
      assert.ok(producer.tryEnqueue('y'));
      assert.strictEqual(await pending, 'y');
    } finally {
      Atomics.notify = realNotify;
      if (addon) {
        addon.futexWake = realWake;
        addon.futexWakeOwn = realWakeOwn;
      }
      ring.close();
      producer.close();
    }
  });
});

describe('close() ends the pending Promise-form calls at once', () => {
  for (const [kind, K] of Object.entries(KINDS)) {
    it(`${kind}: pending takes reject with ERR_CLOSED, in call order, before any timer or wake-up runs`, async () => {
      const h = K.make(K.large);
      const pending = [K.take(h, { timeoutMs: 60000 }), K.take(h)];
      const settled = [];
      for (const [i, p] of pending.entries()) p.then(() => settled.push(i), () => settled.push(i));
      h.close();
      await Promise.resolve();
      await Promise.resolve();
      assert.deepStrictEqual(settled, [0, 1]);
      for (const p of pending) await assert.rejects(p, isClosed);
    });
  }

  it('Broadcast subscriber: pending receive() calls reject with ERR_CLOSED, in call order, at once', async () => {
    const b = Broadcast.create({ buffer: new SharedArrayBuffer(Broadcast.bytesFor(16, { messageBytes: MESSAGE_BYTES })), capacity: 16, messageBytes: MESSAGE_BYTES });
    const sub = b.subscribe();
    const pending = [sub.receive({ timeoutMs: 60000 }), sub.receive()];
    const settled = [];
    for (const [i, p] of pending.entries()) p.then(() => settled.push(i), () => settled.push(i));
    sub.close();
    await Promise.resolve();
    await Promise.resolve();
    assert.deepStrictEqual(settled, [0, 1]);
    for (const p of pending) await assert.rejects(p, isClosed);
    b.close();
  });
});
