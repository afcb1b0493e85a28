'use strict';
// A synchronous send of a handle with pending Promise-form sends serves those first, and serving
// resolves their promises inside the call: a promise hook (async_hooks) runs there, and so may
// code that sends on the same handle. The call still sends its own message, after the ones it
// served and after the one sent meanwhile: nothing it prepared is shared with that code, also
// when the pending send was left by the value's own toJSON, after the call began.
const assert = require('assert');
const asyncHooks = require('async_hooks');
const { SpscRing, MpmcQueue, Channel, Stack, PriorityQueue } = require('../../index');

// Texts of more units than a third of the 64 message bytes of the structures with `long` and more
// than short-text.js writes with a loop: what a synchronous send could encode ahead of its write
// into a scratch of the handle (as MpmcQueue stages such text), where a nested send would put its
// own. The SpscRing's messages are too small for them.
const LONG_OUTER = 'outer text of thirty-two units!!';
const LONG_NESTED = 'nested text of thirty-two units!';

const STRUCTURES = [
  {
    name: 'SpscRing',
    make: () => SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(64)), capacity: 64 }),
    forms: { tryEnqueue: (q, v) => q.tryEnqueue(v), enqueue: (q, v) => q.enqueue(v) },
    tryPut: (q, v) => q.tryEnqueue(v),
    putAsync: (q, v) => q.enqueueAsync(v),
    take: (q) => q.tryDequeue(),
    order: (got) => got, // FIFO
  },
  {
    name: 'MpmcQueue',
    make: () => MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(4, { messageBytes: 64 })), capacity: 4, messageBytes: 64 }),
    forms: { tryEnqueue: (q, v) => q.tryEnqueue(v), enqueue: (q, v) => q.enqueue(v) },
    tryPut: (q, v) => q.tryEnqueue(v),
    putAsync: (q, v) => q.enqueueAsync(v),
    take: (q) => q.tryDequeue(),
    order: (got) => got, // FIFO
    long: true,
  },
  {
    name: 'Channel',
    make: () => Channel.create({ buffer: new SharedArrayBuffer(Channel.bytesFor(4, { messageBytes: 64 })), capacity: 4, messageBytes: 64 }),
    forms: { trySend: (q, v) => q.trySend(v), sendSync: (q, v) => q.sendSync(v) },
    tryPut: (q, v) => q.trySend(v),
    putAsync: (q, v) => q.send(v),
    take: (q) => q.tryReceive(),
    order: (got) => got, // FIFO
    long: true,
    close: (q) => q.dispose(),
  },
  {
    name: 'Stack',
    make: () => Stack.create({ buffer: new SharedArrayBuffer(Stack.bytesFor(4, { messageBytes: 64 })), capacity: 4, messageBytes: 64 }),
    forms: { tryPush: (q, v) => q.tryPush(v), push: (q, v) => q.push(v) },
    tryPut: (q, v) => q.tryPush(v),
    putAsync: (q, v) => q.pushAsync(v),
    take: (q) => q.tryPop(),
    order: (got) => got.reverse(), // LIFO: the order of the pushes
    long: true,
  },
  {
    name: 'PriorityQueue',
    make: () => PriorityQueue.create({ buffer: new SharedArrayBuffer(PriorityQueue.bytesFor(4, { messageBytes: 64 })), capacity: 4, messageBytes: 64 }),
    forms: { tryEnqueue: (q, v) => q.tryEnqueue(v, 1), enqueue: (q, v) => q.enqueue(v, 1) },
    tryPut: (q, v) => q.tryEnqueue(v, 1),
    putAsync: (q, v) => q.enqueueAsync(v, 1),
    take: (q) => q.tryDequeue(),
    order: (got) => got, // FIFO among equal priorities
    long: true,
  },
];

describe('code that runs while a synchronous send serves the pending ones', () => {
  let hook = null;
  afterEach(() => {
    if (hook) hook.disable();
    hook = null;
  });

  for (const st of STRUCTURES) {
    for (const [form, send] of Object.entries(st.forms)) {
      for (const value of ['outer text', { s: 'outer object' }, ...(st.long ? [LONG_OUTER] : [])]) {
        const what = value === LONG_OUTER ? 'a text of 32 units' : typeof value === 'string' ? 'a text' : 'an object';
        // Where every message takes one node, a value of the same kind: an object is prepared
        // through the codec's object, which the thread's sends share, as the outer one was. (The
        // ring's records take the room their bytes need, which the test leaves for short ones.)
        const nested = value === LONG_OUTER ? LONG_NESTED : typeof value === 'string' || !st.long ? 'nested' : { s: 'nested object' };
        it(`${st.name}.${form}(${what}) sends its own message when a hook sends on the handle`, async () => {
          const q = st.make();
          let armed = false;
          hook = asyncHooks.createHook({
            promiseResolve() {
              if (!armed) return;
              armed = false;
              st.tryPut(q, nested);
            },
          }).enable();
          let filled = 0;
          while (st.tryPut(q, `fill${filled}`)) filled++;
          const pending = st.putAsync(q, 'async');
          for (let k = 0; k < filled; k++) st.take(q);
          armed = true;
          const r = send(q, value);
          armed = false;
          await pending;
          assert.notStrictEqual(r, false);
          const got = [];
          for (let m = st.take(q); m !== undefined; m = st.take(q)) got.push(m);
          assert.deepStrictEqual(st.order(got), ['async', nested, value]);
          (st.close ?? ((h) => h.close()))(q);
        });
      }
    }

    // The value's own toJSON leaves a call pending (a send on the full structure, then room made):
    // the handle had none pending when the call began, and its send serves that one first.
    for (const [form, send] of Object.entries(st.forms)) {
      it(`${st.name}.${form}(an object) sends its own message when its toJSON leaves a send pending that a hook's send follows`, async () => {
        const q = st.make();
        let armed = false;
        hook = asyncHooks.createHook({
          promiseResolve() {
            if (!armed) return;
            armed = false;
            st.tryPut(q, 'nested');
          },
        }).enable();
        let pending;
        const value = {
          toJSON() {
            let filled = 0;
            while (st.tryPut(q, `fill${filled}`)) filled++;
            pending = st.putAsync(q, 'async');
            for (let k = 0; k < filled; k++) st.take(q);
            armed = true;
            return { s: 'outer object' };
          },
        };
        const r = send(q, value);
        armed = false;
        await pending;
        assert.notStrictEqual(r, false);
        const got = [];
        for (let m = st.take(q); m !== undefined; m = st.take(q)) got.push(m);
        assert.deepStrictEqual(st.order(got), ['async', 'nested', { s: 'outer object' }]);
        (st.close ?? ((h) => h.close()))(q);
      });
    }
  }
});
