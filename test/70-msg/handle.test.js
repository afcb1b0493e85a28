'use strict';
// What every message structure's handle promises (lib/msg/handle.js): it is made only by create()
// or open() (the constructor is a TypeError), an open() that fails leaves no mapping and no
// descriptor of the segment behind, and Symbol.dispose closes it like close().
const assert = require('assert');
const { SpscRing, MpmcQueue, Channel, Stack, PriorityQueue, Broadcast, Mutex, Segment } = require('../../index');
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
