'use strict';
// What every message structure's handle promises (lib/msg/handle.js): it is made only by create()
// or open() (the constructor is a TypeError), an open() that fails leaves no mapping and no
// descriptor of the segment behind, and Symbol.dispose closes it like close().
const assert = require('assert');
const { SpscRing, MpmcQueue, Channel, Stack, PriorityQueue, Broadcast, Mutex, Segment, layout } = require('../../index');
const { addon } = require('../../lib/base/native');
const { uniqueName, removeShm, segmentUse } = require('../helpers/process');

const CLASSES = [SpscRing, MpmcQueue, Channel, Stack, PriorityQueue, Broadcast];
const withAddon = addon ? describe : describe.skip;

describe('Message structures: handles', () => {
  withAddon('on a named segment', () => {
    it('a handle opened on another handle\'s buffer keeps sharing the queue after that handle closes', () => {
      const name = uniqueName('msg-held');
      try {
        const first = MpmcQueue.create({ name, capacity: 16 });
        const second = MpmcQueue.open({ buffer: first.buffer });
        first.close();
        second.enqueue('after');
        // A handle mapping the segment on its own sees the message: the memory is still shared.
        const third = MpmcQueue.open({ name });
        try {
          assert.strictEqual(third.tryDequeue(), 'after');
        } finally {
          third.close();
          second.close();
        }
      } finally {
        removeShm(name);
      }
    });
  });

  // A handle that opened its segment by name unmaps it (its pages turn private) when it closes:
  // what its close() takes back from the shared words (the sleeping flag, the waiter count of its
  // pending Promise-form calls) must be stored before that, or the other parties never see it.
  withAddon('closing a handle opened by name with Promise-form calls pending', () => {
    const WORD = Uint32Array.BYTES_PER_ELEMENT;
    const { C, W } = layout;
    // Each kind's waiting words of both sides (format.md §15), as u32 indices into the region, and
    // a pending call of each side (a full structure for the sending side).
    const KINDS = [
      {
        Class: SpscRing,
        words: [C.SPSC_CONTROL_OFFSET / WORD + W.SPSC_CONTROL.CONSUMER_SLEEPING, C.SPSC_CONTROL_OFFSET / WORD + W.SPSC_CONTROL.PRODUCER_SLEEPING],
        waiting: (flag) => flag & 1, // a count of sleeps, odd while one lasts (format.md §15)
        take: (q) => q.dequeueAsync(),
        fill: (q) => { while (q.tryEnqueue('x')); },
        give: (q) => q.enqueueAsync('y'),
        send: (q, v) => q.tryEnqueue(v),
        receive: (q) => q.tryDequeue(),
      },
      ...[MpmcQueue, Channel].map((Class) => ({
        Class,
        words: [C.MPMC_CONTROL_OFFSET / WORD + W.MPMC_CONTROL.CONSUMER_WAITERS, C.MPMC_CONTROL_OFFSET / WORD + W.MPMC_CONTROL.PRODUCER_WAITERS],
        take: (q) => (Class === Channel ? q.receive() : q.dequeueAsync()),
        fill: (q) => { while (Class === Channel ? q.trySend('x') : q.tryEnqueue('x')); },
        give: (q) => (Class === Channel ? q.send('y') : q.enqueueAsync('y')),
        send: (q, v) => (Class === Channel ? q.trySend(v) : q.tryEnqueue(v)),
        receive: (q) => (Class === Channel ? q.tryReceive() : q.tryDequeue()),
      })),
      {
        Class: Stack,
        words: [C.STACK_CONTROL_OFFSET / WORD + W.STACK_CONTROL.POP_WAITERS, C.STACK_CONTROL_OFFSET / WORD + W.STACK_CONTROL.PUSH_WAITERS],
        take: (q) => q.popAsync(),
        fill: (q) => { while (q.tryPush('x')); },
        give: (q) => q.pushAsync('y'),
        send: (q, v) => q.tryPush(v),
        receive: (q) => q.tryPop(),
      },
      {
        Class: PriorityQueue,
        words: [C.PQ_CONTROL_OFFSET / WORD + W.PQ_CONTROL.DEQUEUE_WAITERS, C.PQ_CONTROL_OFFSET / WORD + W.PQ_CONTROL.ENQUEUE_WAITERS],
        take: (q) => q.dequeueAsync(),
        fill: (q) => { while (q.tryEnqueue('x', 1)); },
        give: (q) => q.enqueueAsync('y', 1),
        send: (q, v) => q.tryEnqueue(v, 1),
        receive: (q) => q.tryDequeue(),
      },
    ];
    // The other kinds' words are waiter counts: their value is what waits.
    for (const k of KINDS) k.waiting = k.waiting || ((count) => count);
    const closeOf = (q) => (q instanceof Channel ? q.dispose() : q.close());
    const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
    for (const k of KINDS) {
      it(`${k.Class.name}: close() does not throw, the pending calls reject with ERR_CLOSED, the waiting words are taken back, the other handles work on`, async () => {
        for (const side of ['take', 'give']) {
          const name = uniqueName('msg-close-pending');
          const keeper = k.Class.create({ name, capacity: 64 });
          const closing = k.Class.open({ name });
          try {
            if (side === 'give') k.fill(keeper);
            const pending = [k[side](closing), k[side](closing)];
            await settle(); // their waiting loop parks: its words are set
            const shared = new Uint32Array(keeper.buffer);
            const word = k.words[side === 'take' ? 0 : 1];
            assert.notStrictEqual(k.waiting(shared[word]), 0, `${side}: waiting`);
            closeOf(closing);
            for (const p of pending) await assert.rejects(p, { code: 'ERR_CLOSED' });
            await settle();
            assert.strictEqual(k.waiting(shared[word]), 0, `${side}: the waiting word taken back`);
            // The other handles work on: a handle of this thread, and a new one opened by name.
            const other = k.Class.open({ name });
            try {
              while (k.receive(keeper) !== undefined);
              const got = k.take(other);
              assert.strictEqual(k.send(keeper, 'after'), true);
              assert.strictEqual(await got, 'after');
            } finally {
              closeOf(other);
            }
          } finally {
            closeOf(closing);
            closeOf(keeper);
            removeShm(name);
          }
        }
      });
    }
  });

  // The shape and the region a handle reports, as docs/api.md lists them per class.
  const READ_ONLY = new Map([
    [SpscRing, ['capacity', 'elementSize', 'maxMessageBytes', 'size']],
    [MpmcQueue, ['capacity', 'messageBytes', 'size']],
    [Channel, ['capacity', 'messageBytes', 'size']],
    [Stack, ['capacity', 'messageBytes', 'size']],
    [PriorityQueue, ['capacity', 'messageBytes', 'size', 'order']],
    [Broadcast, ['capacity', 'messageBytes']],
  ]);
  for (const Class of CLASSES) {
    it(`${Class.name}: the shape and the region a handle reports cannot be assigned (a TypeError in strict code) and stay the structure's`, () => {
      const q = Class.create({ buffer: new SharedArrayBuffer(Class.bytesFor(1024) + 64), byteOffset: 64, capacity: 1024 });
      try {
        for (const key of [...READ_ONLY.get(Class), 'buffer', 'byteOffset']) {
          const before = q[key];
          assert.throws(() => {
            q[key] = 7;
          }, TypeError, key);
          assert.deepStrictEqual(q[key], before, key);
        }
        assert.strictEqual(q.capacity, 1024);
        assert.strictEqual(q.byteOffset, 64);
      } finally {
        q.close();
      }
    });
  }

  for (const Class of CLASSES) {
    it(`${Class.name}: a handle has no own fields a user could overwrite (its state is private)`, () => {
      const q = Class.create({ buffer: new SharedArrayBuffer(Class.bytesFor(1024)), capacity: 1024 });
      try {
        assert.deepStrictEqual(Reflect.ownKeys(q), []);
      } finally {
        q.close();
      }
    });
  }

  it('MpmcQueue: a field a user sets on the handle does not move where the handle reads and writes', () => {
    const q = MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(16)), capacity: 16 });
    try {
      q.enqueue('a');
      q.enqueue('b');
      // The region's words were once a public field that every size, repair and wake-up read.
      q.u32 = new Uint32Array(MpmcQueue.bytesFor(16) / Uint32Array.BYTES_PER_ELEMENT);
      assert.strictEqual(q.size, 2);
      assert.strictEqual(q.tryDequeue(), 'a');
      assert.strictEqual(q.tryDequeue(), 'b');
      assert.strictEqual(q.size, 0);
    } finally {
      q.close();
    }
  });

  for (const Class of CLASSES) {
    it(`${Class.name} cannot be constructed directly; Symbol.dispose closes a handle`, function () {
      assert.throws(() => new Class(), (e) => e instanceof TypeError && e.message.includes(`${Class.name}.create()`));
      assert.throws(() => new Class(Symbol('token'), { buffer: new SharedArrayBuffer(1 << 16), byteOffset: 0 }), TypeError);
      if (typeof Symbol.dispose !== 'symbol') this.skip();
      const buffer = new SharedArrayBuffer(Class.bytesFor(1024));
      const q = Class.create({ buffer, capacity: 1024 });
      const other = Class.open({ buffer });
      q[Symbol.dispose]();
      // A channel's `closed` is the channel's (Go's close), not the handle's: it throws once disposed.
      if (Class === Channel) assert.throws(() => q.closed, { code: 'ERR_CLOSED' });
      else assert.strictEqual(q.closed, true);
      assert.throws(() => q.buffer, { code: 'ERR_CLOSED' });
      assert.strictEqual(other.buffer, buffer); // the structure stays for the other handles
      q[Symbol.dispose](); // idempotent
      other[Symbol.dispose]();
    });
  }

  withAddon('segments', () => {
    it('an open() of a segment that holds no such structure is ERR_BAD_MAGIC and leaves the segment unmapped and closed', () => {
      const name = uniqueName('msg-handle');
      const seg = Segment.create({ name, size: 1 << 20 });
      // A region of another room: its magic is there, so an open refuses it at once (one of a
      // segment never stamped waits for its creator first: open-while-created.test.js).
      Mutex.create({ buffer: seg.buffer }).close();
      try {
        const before = segmentUse(name);
        assert.strictEqual(before.maps, 1); // the creator's
        for (const Class of CLASSES) {
          for (let i = 0; i < 3; i++) assert.throws(() => Class.open({ name }), { code: 'ERR_BAD_MAGIC' });
        }
        assert.deepStrictEqual(segmentUse(name), before);
      } finally {
        seg.close();
        removeShm(name);
      }
    });
  });
});
