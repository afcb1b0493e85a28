'use strict';
// Code that a batch enqueue runs (a value's toJSON) and that enqueues on the same handle
// (docs/api.md, "ring.tryEnqueueBatch" and "queue.tryEnqueueBatch"): a batch holds its handle's
// producer side until it returns, so such an enqueue, of any form, throws ERR_IN_USE and changes
// nothing, and the batch delivers exactly its own values. An SpscRing batch has records written
// past the published tail while a toJSON runs, where a nested enqueue would write over them (the
// ring then read as damaged until discard()); an MpmcQueue batch has its values prepared in the
// handle's scratch, which a nested batch would take over. A dequeue from such code (the same
// handle is also a consumer) takes what was published and leaves the batch's values as given.
// The batch holds the producer side only while it writes: code it runs before, while it serves
// the handle's pending enqueueAsync() calls (a promise hook as their promises resolve), enqueues
// as it would beside a single enqueue.
const assert = require('assert');
const asyncHooks = require('async_hooks');
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

describe('an enqueue from code that runs while a batch enqueue serves the pending enqueueAsync() calls', () => {
  let hook = null;
  afterEach(() => {
    if (hook) hook.disable();
    hook = null;
  });

  for (const k of KINDS) {
    for (const [batch, enqueueBatch] of Object.entries(BATCHES)) {
      for (const [nested, [call, sent]] of Object.entries(NESTED)) {
        // A promise hook that throws ends the process: the enqueue it makes must not be refused.
        it(`${k.name}.${batch}: ${nested}() from a promise hook goes after the served call, before the batch's values`, async () => {
          const q = k.make();
          let filled = 0;
          while (q.tryEnqueue(`fill${filled}`)) filled++;
          const pending = q.enqueueAsync('async'); // waits: the structure is full
          assert.strictEqual(drain(q).length, filled);
          let armed = false;
          const errors = [];
          const made = [];
          hook = asyncHooks.createHook({
            promiseResolve() {
              if (!armed) return;
              armed = false;
              try {
                made.push(call(q));
              } catch (e) {
                errors.push(e);
              }
            },
          }).enable();
          armed = true;
          const values = ['b1', { b: 2 }, 'b3'];
          const n = enqueueBatch(q, values);
          armed = false;
          assert.deepStrictEqual(errors, []);
          assert.strictEqual(made.length, 1);
          assert.strictEqual(n, values.length);
          await pending;
          await made[0];
          assert.deepStrictEqual(drain(q), ['async', ...sent, 'b1', { b: 2 }, 'b3']);
          q.close();
        });
      }
    }
  }
});

describe('what a refused enqueue is told to do instead', () => {
  for (const k of KINDS) {
    it(`${k.name}: ERR_IN_USE names the ways on that the structure allows`, () => {
      const q = k.make();
      let error;
      const values = ['a', {
        toJSON() {
          try {
            q.tryEnqueue('nested');
          } catch (e) {
            error = e;
          }
          return 1;
        },
      }];
      assert.strictEqual(q.tryEnqueueBatch(values), 2);
      assert.strictEqual(error?.code, 'ERR_IN_USE');
      assert.match(error.message, /after the batch returns/);
      if (k.name === 'SpscRing') {
        // A ring has one producer: a second handle enqueuing beside the batch would be a second one.
        assert.doesNotMatch(error.message, /through another handle/);
        assert.match(error.message, /second producer/);
      } else {
        assert.match(error.message, /through another handle/);
      }
      q.close();
    });
  }
});

describe('a value whose toJSON throws in a batch', () => {
  for (const k of KINDS) {
    for (const [batch, enqueueBatch] of Object.entries(BATCHES)) {
      it(`${k.name}.${batch}: its toJSON runs once; the TypeError carries what it threw as its cause`, () => {
        const q = k.make();
        for (const [toJSON, cause] of [
          [() => q.tryEnqueue('nested'), (e) => e.code === 'ERR_IN_USE'],
          [() => { throw new Error('no text'); }, (e) => e.message === 'no text'],
        ]) {
          let calls = 0;
          const values = ['a', 'L'.repeat(300), { toJSON: () => { calls++; return toJSON(); } }, 'b'];
          assert.throws(() => enqueueBatch(q, values), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG' && cause(e.cause));
          assert.strictEqual(calls, 1);
          assert.deepStrictEqual(drain(q), ['a', 'L'.repeat(300)]);
        }
        // A toJSON that gives no JSON text: a value that cannot be sent, found with one call.
        let calls = 0;
        const values = ['a', { toJSON: () => { calls++; return undefined; } }, 'b'];
        assert.throws(() => enqueueBatch(q, values), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG');
        assert.strictEqual(calls, 1);
        assert.deepStrictEqual(drain(q), ['a']);
        q.close();
      });
    }

    it(`${k.name}: a single enqueue's TypeError of a throwing toJSON carries what it threw as its cause`, () => {
      const q = k.make();
      const thrown = new Error('no text');
      assert.throws(() => q.tryEnqueue({ toJSON() { throw thrown; } }), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG' && e.cause === thrown);
      const deep = [];
      let at = deep;
      for (let d = 0; d < 1e6; d++) at = at[0] = [];
      assert.throws(() => q.tryEnqueue(deep), (e) => e instanceof RangeError && e.code === 'ERR_INVALID_ARG' && e.cause instanceof RangeError);
      assert.strictEqual(q.size, 0);
      q.close();
    });
  }
});

// The typings say it where a TypeScript user looks: on each call that throws it.
describe('index.d.ts on the calls a batch refuses', () => {
  const fs = require('fs');
  const path = require('path');
  const dts = fs.readFileSync(path.join(__dirname, '..', '..', 'index.d.ts'), 'utf8');
  // The doc comment right above the declaration of `method` in class `cls`.
  const docOf = (cls, method) => {
    const body = new RegExp(`^export declare class ${cls}\\b[^]*?^}`, 'm').exec(dts)[0];
    const lines = body.split('\n');
    const at = lines.findIndex((l) => new RegExp(`^  ${method}\\(`).test(l));
    assert.ok(at > 0, `${cls}.${method} is declared`);
    if (!lines[at - 1].trim().endsWith('*/')) return '';
    let from = at - 1;
    while (!lines[from].trim().startsWith('/**')) from--;
    return lines.slice(from, at).join('\n');
  };

  for (const cls of ['SpscRing', 'MpmcQueue']) {
    for (const method of ['tryEnqueue', 'enqueue', 'enqueueAsync', 'tryEnqueueBatch', 'enqueueBatch']) {
      it(`${cls}.${method} notes ERR_IN_USE`, () => {
        assert.match(docOf(cls, method), /ERR_IN_USE/);
      });
    }
    for (const method of ['tryEnqueueBatch', 'enqueueBatch']) {
      it(`${cls}.${method} notes the ERR_CLOSED that carries \`enqueued\``, () => {
        assert.match(docOf(cls, method), /ERR_CLOSED[^]*`enqueued`|`enqueued`[^]*ERR_CLOSED/);
      });
    }
  }

  it('ShmError declares `enqueued`', () => {
    assert.match(/^export declare class ShmError\b[^]*?^}/m.exec(dts)[0], /^ {2}enqueued\?: number;$/m);
  });
});
