'use strict';
// SpscRing's sleeping flags count sleeps (docs/format.md §15, Waking): odd while a side is about
// to sleep or sleeps, each sleep with a value of its own. A producer that loads the consumer's
// flag during one sleep may make its CAS late, once the consumer woke (for a message published
// meanwhile) and raised the flag again for its next sleep. With a flag of 1 and 0 that late CAS
// took the new sleep without waking it, and the next publish found the flag down and woke nobody:
// both sides asleep until the 200 ms recheck (seen in `npm run bench:msg` as runs of 20,000 1 KiB
// messages that took 0.2 s instead of 15 ms). The late CAS is made here by hand, as the producer
// that stalled between its load and its CAS would make it, for the Promise forms (one thread) and
// the blocking forms (a worker), on both sides of the ring.
const assert = require('assert');
const path = require('path');
const { Worker } = require('worker_threads');
const { SpscRing } = require('../../index');
const { C, W } = require('../../lib/layout/layout');
const { runNode, until } = require('../helpers/process');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const CONSUMER_SLEEPING = C.SPSC_CONTROL_OFFSET / WORD + W.SPSC_CONTROL.CONSUMER_SLEEPING;
const PRODUCER_SLEEPING = C.SPSC_CONTROL_OFFSET / WORD + W.SPSC_CONTROL.PRODUCER_SLEEPING;

const sleeping = (u32, flag) => (Atomics.load(u32, flag) & 1) === 1;

// A 64-byte ring of variable-size messages: its consumer, its producer and a view of its words.
function ring() {
  const buffer = new SharedArrayBuffer(SpscRing.bytesFor(64));
  return { consumer: SpscRing.create({ buffer, capacity: 64 }), producer: SpscRing.open({ buffer }), u32: new Uint32Array(buffer) };
}

// What a producer (consumer) does with a value of the other side's flag it loaded earlier.
function lateTake(u32, flag, loaded) {
  return Atomics.compareExchange(u32, flag, loaded, (loaded + 1) >>> 0) === loaded;
}

describe('SpscRing: a late take of a sleeping flag leaves the next sleep raised (format.md §15, Waking)', () => {
  it('Promise forms, consumer side: the second sleep keeps its flag and the next enqueue wakes it', async () => {
    const { consumer, producer, u32 } = ring();
    try {
      const first = consumer.dequeueAsync();
      await until(() => sleeping(u32, CONSUMER_SLEEPING), 'the first sleep');
      const loaded = Atomics.load(u32, CONSUMER_SLEEPING); // the stalled producer's load
      assert.strictEqual(producer.tryEnqueue('a'), true);
      assert.strictEqual(sleeping(u32, CONSUMER_SLEEPING), false, 'the enqueue took the first sleep');
      assert.strictEqual(await first, 'a');
      const second = consumer.dequeueAsync();
      await until(() => sleeping(u32, CONSUMER_SLEEPING), 'the second sleep');
      assert.notStrictEqual(Atomics.load(u32, CONSUMER_SLEEPING), loaded, 'each sleep has a value of its own');
      assert.strictEqual(lateTake(u32, CONSUMER_SLEEPING, loaded), false, 'the late CAS fails');
      assert.strictEqual(sleeping(u32, CONSUMER_SLEEPING), true);
      assert.strictEqual(producer.tryEnqueue('b'), true);
      assert.strictEqual(sleeping(u32, CONSUMER_SLEEPING), false, 'the enqueue took the second sleep');
      assert.strictEqual(await second, 'b');
    } finally {
      producer.close();
      consumer.close();
    }
  });

  it('Promise forms, producer side: a full ring\'s second sleep keeps its flag and the next dequeue wakes it', async () => {
    const buffer = new SharedArrayBuffer(SpscRing.bytesFor(16, { elementSize: 4 }));
    const producer = SpscRing.create({ buffer, capacity: 16, elementSize: 4 });
    const consumer = SpscRing.open({ buffer });
    const u32 = new Uint32Array(buffer);
    const one = new Uint32Array(1);
    try {
      while (producer.tryEnqueue(one));
      const first = producer.enqueueAsync(Uint32Array.of(100));
      await until(() => sleeping(u32, PRODUCER_SLEEPING), 'the first sleep');
      const loaded = Atomics.load(u32, PRODUCER_SLEEPING);
      assert.strictEqual(consumer.tryDequeueInto(one), 1);
      await first;
      const second = producer.enqueueAsync(Uint32Array.of(101));
      await until(() => sleeping(u32, PRODUCER_SLEEPING), 'the second sleep');
      assert.strictEqual(lateTake(u32, PRODUCER_SLEEPING, loaded), false, 'the late CAS fails');
      assert.strictEqual(sleeping(u32, PRODUCER_SLEEPING), true);
      assert.strictEqual(consumer.tryDequeueInto(one), 1);
      assert.strictEqual(sleeping(u32, PRODUCER_SLEEPING), false, 'the dequeue took the second sleep');
      await second;
      const rest = new Uint32Array(16);
      const n = consumer.tryDequeueInto(rest);
      assert.deepStrictEqual(Array.from(rest.subarray(n - 2, n)), [100, 101]);
    } finally {
      consumer.close();
      producer.close();
    }
  });

  it('blocking forms: a consumer worker\'s second sleep keeps its flag and the next enqueue wakes it', async () => {
    const buffer = new SharedArrayBuffer(SpscRing.bytesFor(64));
    const producer = SpscRing.create({ buffer, capacity: 64 });
    const u32 = new Uint32Array(buffer);
    const w = new Worker(`
      const { workerData, parentPort } = require('worker_threads');
      const { SpscRing } = require(${JSON.stringify(require.resolve('../../index'))});
      const ring = SpscRing.open({ buffer: workerData.buffer });
      for (let i = 0; i < 2; i++) parentPort.postMessage(ring.dequeue(10000));
      ring.close();`, { eval: true, workerData: { buffer } });
    const got = [];
    w.on('message', (m) => got.push(m));
    const exited = new Promise((resolve, reject) => { w.once('exit', resolve); w.once('error', reject); });
    try {
      await until(() => sleeping(u32, CONSUMER_SLEEPING), 'the first sleep');
      const loaded = Atomics.load(u32, CONSUMER_SLEEPING);
      assert.strictEqual(producer.tryEnqueue('a'), true);
      await until(() => got.length === 1, 'the first message');
      // The first sleep was taken by the enqueue: an odd flag now is the second sleep's.
      await until(() => sleeping(u32, CONSUMER_SLEEPING), 'the second sleep');
      assert.strictEqual(lateTake(u32, CONSUMER_SLEEPING, loaded), false, 'the late CAS fails');
      assert.strictEqual(sleeping(u32, CONSUMER_SLEEPING), true);
      assert.strictEqual(producer.tryEnqueue('b'), true);
      assert.strictEqual(sleeping(u32, CONSUMER_SLEEPING), false, 'the enqueue took the second sleep');
      assert.strictEqual(await exited, 0);
      assert.deepStrictEqual(got, ['a', 'b']);
    } finally {
      producer.close();
      await w.terminate();
    }
  });

  it('a flag left odd by a side that never lowered it (a killed sleeper) is raised past, not reused', async () => {
    const { consumer, producer, u32 } = ring();
    try {
      Atomics.store(u32, CONSUMER_SLEEPING, 0xffffffff); // odd: a sleep that never ended, at the wrap
      const taking = consumer.dequeueAsync();
      await until(() => Atomics.load(u32, CONSUMER_SLEEPING) !== 0xffffffff, 'a new sleep');
      assert.strictEqual(Atomics.load(u32, CONSUMER_SLEEPING), 1, 'the next odd value, mod 2^32');
      assert.strictEqual(lateTake(u32, CONSUMER_SLEEPING, 0xffffffff), false);
      assert.strictEqual(producer.tryEnqueue('x'), true);
      assert.strictEqual(Atomics.load(u32, CONSUMER_SLEEPING), 2);
      assert.strictEqual(await taking, 'x');
    } finally {
      producer.close();
      consumer.close();
    }
  });
});

// A Promise form's waiting loop parks on the other side's index, which does not move when a call
// is aborted: unpark() ends that park as the thread's own (park.js unparkOwn()). With a thread per
// wait (SHMSTORE_FUTEX_WAITV=0) a single futex wake missed a thread that had not entered the
// kernel yet, and the park it left behind waited for its recheck.
describe('SpscRing: a Promise form aborted as its loop parks', () => {
  for (const [label, env] of [['watchers', { SHMSTORE_FUTEX_WAITV: '1' }], ['thread per wait', { SHMSTORE_FUTEX_WAITV: '0' }]]) {
    it(`a dequeueAsync() aborted as its loop parks leaves no park behind: the next enqueue reaches the next call (${label})`, async () => {
      // The abort comes in the very call that starts the loop's park, before a thread per wait can
      // be in the kernel: the loop's park must end anyway (park.js unparkOwn()). A park left behind
      // would keep the loop from the next call while the enqueue, finding the flag down, wakes
      // nobody. The recheck is made longer than the hang guard so that such a park shows as a
      // hang; the pause lets a thread the wake missed reach the kernel before the enqueue.
      const script = `
        const root = process.argv[1];
        require(root + '/lib/msg/spsc-core').PARK_MS = 60000;
        const native = require(root + '/lib/base/native');
        const { SpscRing } = require(root);
        const buffer = new SharedArrayBuffer(SpscRing.bytesFor(64));
        const consumer = SpscRing.create({ buffer, capacity: 64 });
        const producer = SpscRing.open({ buffer });
        const realWait = native.addon.futexWaitAsync;
        let onPark = null;
        native.addon.futexWaitAsync = function futexWaitAsync(...args) {
          const p = realWait.apply(this, args);
          const f = onPark;
          onPark = null;
          if (f) f();
          return p;
        };
        (async () => {
          for (let round = 0; round < 20; round++) {
            const ac = new AbortController();
            onPark = () => ac.abort();
            const aborted = await consumer.dequeueAsync({ signal: ac.signal }).then(() => 'resolved', (e) => e.name);
            if (aborted !== 'AbortError') throw new Error('round ' + round + ': ' + aborted);
            await new Promise((resolve) => setTimeout(resolve, 20));
            const next = consumer.dequeueAsync();
            producer.tryEnqueue('m' + round);
            const got = await next;
            if (got !== 'm' + round) throw new Error('round ' + round + ': ' + got);
          }
          producer.close();
          consumer.close();
          console.log('all delivered');
        })();
      `;
      const r = await runNode('-e', [script, path.join(__dirname, '..', '..')], { env, timeoutMs: 30000 });
      assert.strictEqual(r.signal, null, `killed by the hang guard: ${r.stdout}`);
      assert.strictEqual(r.code, 0, r.stderr);
      assert.strictEqual(r.stdout, 'all delivered\n');
    });
  }
});
