'use strict';
// Code that a batch enqueue runs (a value's toJSON) and that enqueues on the same handle
// (docs/api.md, "ring.tryEnqueueBatch" and "queue.tryEnqueueBatch"): a batch holds its handle's
// producer side until it returns, so such an enqueue, of any form, throws ERR_IN_USE and changes
// nothing, and the batch delivers exactly its own values. An SpscRing batch has records written
// past the published tail while a toJSON runs, where a nested enqueue would write over them (the
// ring then read as damaged until discard()); an MpmcQueue batch has its values prepared in the
// handle's scratch, which a nested batch would take over. A dequeue from such code (the same
// handle is also a consumer) takes what was published and leaves the batch's values as given.
const assert = require('assert');
const { SpscRing, MpmcQueue } = require('../../index');

const KINDS = [
  {
    name: 'SpscRing',
    make: () => SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(1 << 14)), capacity: 1 << 14 }),
  },
  {
    // Slots of more than 256 bytes: a batch dequeue gathers its runs of short texts in a scratch.
    name: 'MpmcQueue',
    make: () => MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(64, { messageBytes: 400 })), capacity: 64, messageBytes: 400 }),
  },
];

const BATCHES = {
  tryEnqueueBatch: (q, values) => q.tryEnqueueBatch(values),
  enqueueBatch: (q, values) => {
    q.enqueueBatch(values, 1000);
    return values.length;
  },
};

// The enqueues a toJSON may try on the handle whose batch runs it, and what each enqueues.
const NESTED = {
  tryEnqueue: [(q) => q.tryEnqueue('nested'), ['nested']],
  enqueue: [(q) => q.enqueue('nested', 1000), ['nested']],
  enqueueAsync: [(q) => q.enqueueAsync('nested'), ['nested']],
  tryEnqueueBatch: [(q) => q.tryEnqueueBatch(['nested-1', 'nested-2']), ['nested-1', 'nested-2']],
  enqueueBatch: [(q) => q.enqueueBatch(['nested-1', 'nested-2'], 1000), ['nested-1', 'nested-2']],
};

const drain = (q) => {
  const got = [];
  for (let m = q.tryDequeue(); m !== undefined; m = q.tryDequeue()) got.push(m);
  return got;
};

describe('an enqueue from code that a batch enqueue of the same handle runs', () => {
  for (const k of KINDS) {
    for (const [batch, enqueueBatch] of Object.entries(BATCHES)) {
      for (const [nested, [call, sent]] of Object.entries(NESTED)) {
        it(`${k.name}.${batch}: ${nested}() from a toJSON throws ERR_IN_USE, the batch delivers exactly its values`, async () => {
          const q = k.make();
          const errors = [];
          const logger = {
            toJSON() {
              try {
                call(q);
              } catch (e) {
                errors.push(e);
              }
              return { k: 1 };
            },
          };
          // A long text first: a ring writes it alone, and it is not published yet when the
          // toJSON runs. Short texts around it go in runs.
          const values = ['L'.repeat(300), 'a', logger, 'tail', { after: [1, 2] }, 'b'.repeat(40)];
          assert.strictEqual(enqueueBatch(q, values), values.length);
          assert.strictEqual(errors.length, 1);
          assert.strictEqual(errors[0].code, 'ERR_IN_USE');
          assert.deepStrictEqual(drain(q), ['L'.repeat(300), 'a', { k: 1 }, 'tail', { after: [1, 2] }, 'b'.repeat(40)]);
          // The handle's producer side is its own again once the batch returned.
          await call(q);
          assert.strictEqual(enqueueBatch(q, ['next']), 1);
          assert.deepStrictEqual(drain(q), [...sent, 'next']);
          q.close();
        });
      }

      it(`${k.name}.${batch}: a toJSON whose nested enqueue throws makes the batch throw after the values before it, nothing else queued`, () => {
        const q = k.make();
        const values = ['L'.repeat(300), 'a', { toJSON: () => q.tryEnqueue('nested') }, 'tail'];
        // A toJSON that throws: a value that cannot be sent (a TypeError saying why).
        assert.throws(() => enqueueBatch(q, values), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG' && /same handle/.test(e.message));
        assert.deepStrictEqual(drain(q), ['L'.repeat(300), 'a']);
        assert.strictEqual(q.tryEnqueueBatch(['after']), 1);
        assert.deepStrictEqual(drain(q), ['after']);
        q.close();
      });

      it(`${k.name}.${batch}: a dequeue from a toJSON takes what was published, and the batch delivers its values as given`, () => {
        const q = k.make();
        const before = ['old-1'.padEnd(30, 'x'), 'old-2'.padEnd(30, 'y'), 'old-3'];
        assert.strictEqual(q.tryEnqueueBatch(before), 3);
        let taken;
        const reader = {
          toJSON() {
            taken = q.tryDequeueBatch();
            return { r: 1 };
          },
        };
        const values = ['new-1', 'new-2', Buffer.from('bin'), reader, 'new-3', 'new-4'];
        assert.strictEqual(enqueueBatch(q, values), values.length);
        assert.deepStrictEqual(taken, before);
        assert.deepStrictEqual(drain(q), ['new-1', 'new-2', Buffer.from('bin'), { r: 1 }, 'new-3', 'new-4']);
        q.close();
      });
    }

    it(`${k.name}: an enqueue from the toJSON of a single enqueue goes first (a single enqueue holds nothing while it runs)`, () => {
      const q = k.make();
      assert.strictEqual(q.tryEnqueue({ toJSON: () => (q.tryEnqueueBatch(['first', 'second']) ? 'third' : 'none') }), true);
      assert.deepStrictEqual(drain(q), ['first', 'second', 'third']);
      q.close();
    });
  }
});
