'use strict';
// A worker terminated while a Promise-form take of a message structure is pending (docs/api.md,
// "SpscRing" ... "Broadcast": a party that dies in the middle of an operation leaves nothing half
// done; a pending Promise-form call keeps the event loop alive until it settles): terminate()
// returns, and the structure goes on for the others. A receiver whose own take was pending next to
// the terminated one's gets each message sent afterwards exactly once, each woken for by the
// sender: the dead worker's waiter registration neither takes a wake-up nor holds one back. The
// sync objects' version of this is test/60-sync/lifetime.test.js.
const assert = require('assert');
const path = require('path');
const { SpscRing, MpmcQueue, Channel, Stack, PriorityQueue, Broadcast } = require('../../index');
const { addon } = require('../../lib/base/native');
const { startWorker } = require('../helpers/parties');

const WORKER = path.join(__dirname, '..', 'helpers', 'children', 'pending-receiver.js');
const MESSAGES = 3;
// Long enough for a pending call's waiting loop to park (its recheck period), and for a sleeping
// receiver to be really asleep when the message comes.
const PARK_MS = 50;
const TERMINATE_MS = 10000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Each kind: a fresh structure on a SharedArrayBuffer, how the test's thread puts a message and
// takes one now. `single`: one consumer at a time (the next starts after the terminated one).
const KINDS = {
  spsc: {
    single: true,
    make() {
      const buffer = new SharedArrayBuffer(SpscRing.bytesFor(256));
      return { buffer, h: SpscRing.create({ buffer, capacity: 256 }) };
    },
    put: (h, v) => h.enqueue(v, 1000),
    take: (h) => h.tryDequeue(),
  },
  mpmc: {
    make() {
      const buffer = new SharedArrayBuffer(MpmcQueue.bytesFor(8, { messageBytes: 32 }));
      return { buffer, h: MpmcQueue.create({ buffer, capacity: 8, messageBytes: 32 }) };
    },
    put: (h, v) => h.enqueue(v, 1000),
    take: (h) => h.tryDequeue(),
  },
  channel: {
    make() {
      const buffer = new SharedArrayBuffer(Channel.bytesFor(8, { messageBytes: 32 }));
      return { buffer, h: Channel.create({ buffer, capacity: 8, messageBytes: 32 }) };
    },
    put: (h, v) => h.sendSync(v, 1000),
    take: (h) => h.tryReceive(),
    close: (h) => h.dispose(),
  },
  stack: {
    make() {
      const buffer = new SharedArrayBuffer(Stack.bytesFor(8, { messageBytes: 32 }));
      return { buffer, h: Stack.create({ buffer, capacity: 8, messageBytes: 32 }) };
    },
    put: (h, v) => h.push(v, 1000),
    take: (h) => h.tryPop(),
  },
  pq: {
    make() {
      const buffer = new SharedArrayBuffer(PriorityQueue.bytesFor(8, { messageBytes: 32 }));
      return { buffer, h: PriorityQueue.create({ buffer, capacity: 8, messageBytes: 32 }) };
    },
    put: (h, v) => h.enqueue(v, 0, 1000),
    take: (h) => h.tryDequeue(),
  },
  broadcast: {
    make() {
      const buffer = new SharedArrayBuffer(Broadcast.bytesFor(8, { messageBytes: 32 }));
      return { buffer, h: Broadcast.create({ buffer, capacity: 8, messageBytes: 32 }) };
    },
    put: (h, v) => h.publish(v),
  },
};

// A receiver worker whose messages come one at a time through next().
function receiver(kind, buffer, count) {
  const { w } = startWorker(WORKER, { kind, buffer, count });
  const queued = [];
  const waiting = [];
  w.on('message', (m) => (waiting.length > 0 ? waiting.shift()(m) : queued.push(m)));
  w.on('error', (e) => (waiting.length > 0 ? waiting.shift()({ error: e.stack }) : queued.push({ error: e.stack })));
  const next = () => (queued.length > 0 ? Promise.resolve(queued.shift()) : new Promise((r) => waiting.push(r)));
  return { w, next };
}

// terminate() of `w`, failing the test if it does not return.
async function terminated(w) {
  let timer;
  const limit = new Promise((r) => { timer = setTimeout(() => r('hung'), TERMINATE_MS); });
  const r = await Promise.race([w.terminate().then(() => 'returned'), limit]);
  clearTimeout(timer);
  assert.strictEqual(r, 'returned', 'terminate() did not return');
}

describe('a worker terminated while a Promise-form take is pending', () => {
  for (const [kind, K] of Object.entries(KINDS)) {
    it(`${kind}: terminate() returns; another receiver gets every message sent afterwards exactly once`, async function () {
      this.timeout(60000);
      const { buffer, h } = K.make();
      const dead = receiver(kind, buffer, Infinity);
      let live = null;
      try {
        if (kind === 'broadcast') assert.ok('subscribed' in (await dead.next()));
        assert.strictEqual(await dead.next(), 'waiting');
        // Another receiver waits next to it, except on a ring (one consumer at a time), whose next
        // consumer starts after it.
        if (!K.single) live = receiver(kind, buffer, MESSAGES);
        if (kind === 'broadcast') {
          assert.ok('subscribed' in (await live.next()));
          assert.strictEqual(h.subscribers, 2);
        }
        if (live !== null) assert.strictEqual(await live.next(), 'waiting');
        await sleep(PARK_MS);
        await terminated(dead.w);
        // Without the addon the end of a worker cannot be recorded: its owner record stays taken
        // until the process exits (docs/api.md, "Without the addon").
        if (kind === 'broadcast' && addon) assert.strictEqual(h.subscribers, 1, 'the terminated subscriber is dropped');
        if (live === null) {
          live = receiver(kind, buffer, MESSAGES);
          assert.strictEqual(await live.next(), 'waiting');
        }
        const got = [];
        for (let i = 0; i < MESSAGES; i++) {
          if (i > 0) assert.strictEqual(await live.next(), 'waiting');
          await sleep(PARK_MS); // the live receiver asleep: only a wake-up gets it the message
          K.put(h, `m${i}`);
          const m = await live.next();
          assert.ok('value' in Object(m), JSON.stringify(m));
          got.push(m.value);
        }
        assert.deepStrictEqual(got, Array.from({ length: MESSAGES }, (_, i) => `m${i}`));
        // Nothing else was left queued (nothing for the dead worker, nothing twice).
        if (K.take) assert.strictEqual(K.take(h), undefined);
      } finally {
        await dead.w.terminate();
        if (live !== null) await live.w.terminate();
        (K.close ?? ((x) => x.close()))(h);
      }
    });
  }
});
