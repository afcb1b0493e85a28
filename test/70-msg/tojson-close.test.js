'use strict';
// A value whose toJSON closes (disposes) the very handle that sends it: the send throws, or its
// Promise form rejects, with ERR_CLOSED, and nothing is delivered through the closed handle. A
// closed handle's memory may no longer be the region's (a segment it opened by name is unmapped:
// its pages turn private), or still be (a SharedArrayBuffer), and a write through it would then
// be delivered under an owner record the handle gave up: either way the send must not report
// success. Every other handle works on.
const assert = require('assert');
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
