'use strict';
// A value whose toJSON closes (disposes) the very handle that sends it: the send throws, or its
// Promise form rejects, with ERR_CLOSED, and nothing is delivered through the closed handle. A
// closed handle's memory may no longer be the region's (a segment it opened by name is unmapped:
// its pages turn private), or still be (a SharedArrayBuffer), and a write through it would then
// be delivered under an owner record the handle gave up: either way the send must not report
// success. Every other handle works on.
const assert = require('assert');
const { Worker } = require('worker_threads');
const { SpscRing, MpmcQueue, Channel, Stack, PriorityQueue, Broadcast } = require('../../index');
const { uniqueName, removeShm } = require('../helpers/process');

const closeOf = (h) => (h instanceof Channel ? h.dispose() : h.close());
const queue = (put, take) => ({ put, take });

// Each kind: its producer forms (with a value to send), and how another handle puts and takes.
const KINDS = [
  {
    Class: SpscRing,
    forms: {
      tryEnqueue: (q, v) => q.tryEnqueue(v),
      enqueue: (q, v) => q.enqueue(v, 1000),
      enqueueAsync: (q, v) => q.enqueueAsync(v),
      tryEnqueueBatch: (q, v) => q.tryEnqueueBatch([v]),
      enqueueBatch: (q, v) => q.enqueueBatch([v], 1000),
    },
    other: queue((q, v) => q.tryEnqueue(v), (q) => q.tryDequeue()),
  },
  {
    Class: MpmcQueue,
    forms: {
      tryEnqueue: (q, v) => q.tryEnqueue(v),
      enqueue: (q, v) => q.enqueue(v, 1000),
      enqueueAsync: (q, v) => q.enqueueAsync(v),
      tryEnqueueBatch: (q, v) => q.tryEnqueueBatch([v]),
      enqueueBatch: (q, v) => q.enqueueBatch([v], 1000),
    },
    other: queue((q, v) => q.tryEnqueue(v), (q) => q.tryDequeue()),
  },
  {
    Class: Channel,
    forms: {
      trySend: (q, v) => q.trySend(v),
      sendSync: (q, v) => q.sendSync(v, 1000),
      send: (q, v) => q.send(v),
      sendBatch: (q, v) => q.sendBatch([v]),
    },
    other: queue((q, v) => q.trySend(v), (q) => q.tryReceive()),
  },
  {
    Class: Stack,
    forms: {
      tryPush: (q, v) => q.tryPush(v),
      push: (q, v) => q.push(v, 1000),
      pushAsync: (q, v) => q.pushAsync(v),
    },
    other: queue((q, v) => q.tryPush(v), (q) => q.tryPop()),
  },
  {
    Class: PriorityQueue,
    forms: {
      tryEnqueue: (q, v) => q.tryEnqueue(v, 1),
      enqueue: (q, v) => q.enqueue(v, 1, 1000),
      enqueueAsync: (q, v) => q.enqueueAsync(v, 1),
    },
    other: queue((q, v) => q.tryEnqueue(v, 1), (q) => q.tryDequeue()),
  },
  {
    Class: Broadcast,
    forms: { publish: (q, v) => q.publish(v) },
    // A subscriber of the other handle receives; the other handle publishes.
    subscriber: true,
    other: queue((q, v) => q.publish(v), (sub) => sub.tryReceive()?.value),
  },
];

// The two kinds of memory a handle may be on: a segment it opened by name, a SharedArrayBuffer.
const PLACES = {
  segment: (Class) => {
    const name = uniqueName('msg-tojson-close');
    const keeper = Class.create({ name, capacity: 64 });
    return { keeper, sender: Class.open({ name }), done: () => removeShm(name) };
  },
  buffer: (Class) => {
    const keeper = Class.create({ buffer: new SharedArrayBuffer(Class.bytesFor(64)), capacity: 64 });
    return { keeper, sender: Class.open({ buffer: keeper.buffer }), done: () => {} };
  },
};

describe('a value whose toJSON closes the handle that sends it', () => {
  for (const k of KINDS) {
    for (const [form, send] of Object.entries(k.forms)) {
      for (const [place, make] of Object.entries(PLACES)) {
        it(`${k.Class.name}.${form} (${place}): ERR_CLOSED, nothing delivered, the other handles work on`, async () => {
          const { keeper, sender, done } = make(k.Class);
          const reader = k.subscriber ? keeper.subscribe() : keeper;
          try {
            let ran = false;
            const closer = {
              toJSON() {
                ran = true;
                closeOf(sender);
                return { from: 'closer' };
              },
            };
            let outcome;
            try {
              outcome = await send(sender, closer);
            } catch (e) {
              outcome = e;
            }
            assert.ok(ran);
            assert.strictEqual(outcome?.code, 'ERR_CLOSED', `${form} gave ${outcome}`);
            assert.strictEqual(k.other.take(reader), undefined);
            k.other.put(keeper, 'after');
            assert.strictEqual(k.other.take(reader), 'after');
            assert.strictEqual(k.other.take(reader), undefined);
          } finally {
            closeOf(sender);
            closeOf(keeper);
            done();
          }
        });
      }
    }
  }
});

// A batch whose handle is closed part way (by a value's toJSON, or a getter of the array): the
// ERR_CLOSED carries `enqueued`, how many of the batch's values were enqueued, a prefix of the
// array, and those are exactly what the consumer gets (a ring's values written since its last
// publication are neither published nor counted).
describe('a batch whose handle a value closes part way', () => {
  const BATCH_KINDS = [
    {
      Class: SpscRing,
      // Records of 304 bytes: a batch publishes every 7 of them (2 KiB), a 1 KiB ring holds 3.
      big: () => SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(1 << 16)), capacity: 1 << 16 }),
      small: () => SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(1024)), capacity: 1024 }),
      text: (i) => `v${i}`.padEnd(300, '.'),
    },
    {
      Class: MpmcQueue,
      // Claims of up to 64 slots (8 in the small queue); a run's toJSONs run before its claim.
      big: () => MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(256)), capacity: 256 }),
      small: () => MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(8)), capacity: 8 }),
      text: (i) => `m${i}`,
    },
  ];
  const FORMS = {
    tryEnqueueBatch: (q, values) => q.tryEnqueueBatch(values),
    enqueueBatch: (q, values) => q.enqueueBatch(values, 30000),
  };
  const drainAll = (q) => {
    const got = [];
    for (let m = q.tryDequeue(); m !== undefined; m = q.tryDequeue()) got.push(m);
    return got;
  };
  const closedWith = (e) => e?.code === 'ERR_CLOSED' && Number.isInteger(e.enqueued);

  for (const k of BATCH_KINDS) {
    for (const [form, send] of Object.entries(FORMS)) {
      it(`${k.Class.name}.${form}: a toJSON that closes the handle: ERR_CLOSED's enqueued counts exactly the values delivered`, () => {
        for (const closerAt of [0, 1, 6, 7, 8, 15, 63, 64, 90]) {
          const keeper = k.big();
          const sender = k.Class.open({ buffer: keeper.buffer });
          const values = Array.from({ length: 100 }, (_, i) => k.text(i));
          values.splice(closerAt, 0, { toJSON: () => { sender.close(); return { closer: true }; } });
          let error;
          assert.throws(() => send(sender, values), (e) => { error = e; return closedWith(e); });
          assert.ok(error.enqueued <= closerAt, `closer at ${closerAt}: ${error.enqueued} enqueued`);
          assert.deepStrictEqual(drainAll(keeper), values.slice(0, error.enqueued), `closer at ${closerAt}`);
          keeper.close();
        }
      });

      it(`${k.Class.name}.${form}: a getter of the array that closes the handle: ERR_CLOSED, nothing after it delivered`, () => {
        for (const closerAt of [0, 5, 20]) {
          // A small ring: its runs of short strings are published (a quarter of the ring) as they are written.
          const keeper = k.Class === SpscRing
            ? SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(256)), capacity: 256 })
            : k.big();
          const sender = k.Class.open({ buffer: keeper.buffer });
          const values = Array.from({ length: 60 }, (_, i) => `s${i}`);
          Object.defineProperty(values, closerAt, { get: () => { sender.close(); return `s${closerAt}`; } });
          let error;
          assert.throws(() => send(sender, values), (e) => { error = e; return closedWith(e); });
          assert.ok(error.enqueued <= closerAt, `getter at ${closerAt}: ${error.enqueued} enqueued`);
          assert.deepStrictEqual(drainAll(keeper), values.slice(0, error.enqueued), `getter at ${closerAt}`);
          keeper.close();
        }
      });
    }

    // enqueueBatch waits for room several times (a worker consumes): `enqueued` counts the values
    // of every attempt, and the consumer gets exactly those.
    it(`${k.Class.name}.enqueueBatch across waits for room: ERR_CLOSED's enqueued counts the values of every attempt`, async function () {
      this.timeout(60000);
      const keeper = k.small();
      const sender = k.Class.open({ buffer: keeper.buffer });
      const consumer = new Worker(`
        const { workerData, parentPort } = require('worker_threads');
        const { ${k.Class.name} } = require(${JSON.stringify(require.resolve('../../index'))});
        const q = ${k.Class.name}.open({ buffer: workerData.buffer });
        const got = [];
        for (let m = q.dequeue(30000); m !== 'END'; m = q.dequeue(30000)) got.push(m);
        q.close();
        parentPort.postMessage(got);
      `, { eval: true, workerData: { buffer: keeper.buffer } });
      const received = new Promise((resolve, reject) => {
        consumer.once('message', resolve);
        consumer.once('error', reject);
      });
      const values = Array.from({ length: 60 }, (_, i) => k.text(i));
      values.splice(50, 0, { toJSON: () => { sender.close(); return { closer: true }; } });
      let error;
      assert.throws(() => sender.enqueueBatch(values, 30000), (e) => { error = e; return closedWith(e); });
      keeper.enqueue('END', 30000); // the one producer now (the sender is closed)
      const got = await received;
      assert.ok(error.enqueued > 10 && error.enqueued <= 50, `${error.enqueued} enqueued`);
      assert.deepStrictEqual(got, values.slice(0, error.enqueued));
      keeper.close();
    });
  }
});
