'use strict';
// MpmcQueue (docs/api.md "MpmcQueue"; bytes and protocol: docs/format.md §15).
const assert = require('assert');
const { MpmcQueue, SpscRing, Channel, Stack, PriorityQueue, Broadcast, ShmError } = require('../../index');
const { C, W } = require('../../lib/layout/layout');
const { OwnerTable, identityOf } = require('../../lib/ownership/owners');
const { exitedPid } = require('../helpers/process');
const { kWords } = require('../../lib/msg/mpmc');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const TAIL = C.MPMC_CONTROL_OFFSET / WORD + W.MPMC_CONTROL.TAIL;
const HEAD = C.MPMC_CONTROL_OFFSET / WORD + W.MPMC_CONTROL.HEAD;

function queue(capacity, options = {}) {
  const buffer = new SharedArrayBuffer(MpmcQueue.bytesFor(capacity, { messageBytes: options.messageBytes ?? 64 }));
  return MpmcQueue.create({ buffer, capacity, messageBytes: 64, ...options });
}

// A party whose owner record names process `pid` and whose intent names `pos` for `role`, as a
// party in the middle of an operation leaves it (a process that exited: a party killed there).
function party(q, role, pos, pid) {
  const owners = new OwnerTable(q[kWords], C.MPMC_OWNERS_OFFSET / WORD, C.MPMC_OWNER_SLOTS);
  const o = owners.claim(identityOf(pid, 1));
  const intent = C.MPMC_INTENTS_OFFSET / WORD + o * W.MPMC_INTENT.WORDS;
  Atomics.store(q[kWords], intent + (role === C.MPMC_INTENT_PRODUCE ? W.MPMC_INTENT.PRODUCE_POS : W.MPMC_INTENT.CONSUME_POS), pos);
  Atomics.store(q[kWords], intent + W.MPMC_INTENT.ROLES, role);
  return o;
}

describe('MpmcQueue', () => {
  describe('creating and opening', () => {
    it('computes the bytes a shape needs and refuses shapes that are not allowed', () => {
      assert.strictEqual(MpmcQueue.bytesFor(4, { messageBytes: 8 }), MpmcQueue.SLOTS_OFFSET + 4 * 16); // layout-ok: the documented slot strides (8 + 8, 8 + 9 rounded up, 8 + 248)
      assert.strictEqual(MpmcQueue.bytesFor(2, { messageBytes: 9 }), MpmcQueue.SLOTS_OFFSET + 2 * 24);
      assert.strictEqual(MpmcQueue.bytesFor(8), MpmcQueue.SLOTS_OFFSET + 8 * 256);
      for (const bad of [0, 1, 3, 2 ** 29]) assert.throws(() => MpmcQueue.bytesFor(bad), RangeError);
      assert.throws(() => MpmcQueue.bytesFor(4, { messageBytes: 0 }), RangeError);
      assert.throws(() => MpmcQueue.bytesFor(4, { messageBytes: 2 ** 20 + 1 }), RangeError);
      assert.throws(() => MpmcQueue.bytesFor(2 ** 20, { messageBytes: 4096 }), RangeError);
      assert.throws(() => MpmcQueue.bytesFor(4, { size: 1 }), TypeError);
    });

    it('refuses bad options, and a region of another kind', () => {
      const buffer = new SharedArrayBuffer(MpmcQueue.bytesFor(4, { messageBytes: 64 }));
      assert.throws(() => MpmcQueue.create({ buffer, messageBytes: 64 }), TypeError);
      assert.throws(() => MpmcQueue.create({ buffer, capacity: 8, messageBytes: 64 }), RangeError);
      assert.throws(() => MpmcQueue.create({ buffer, capacity: 4, messageBytes: 64, startPosition: -1 }), RangeError);
      assert.ok(new Uint8Array(buffer).every((b) => b === 0));
      assert.throws(() => MpmcQueue.open({ buffer }), (e) => e.code === 'ERR_BAD_MAGIC');
      const ringBuffer = new SharedArrayBuffer(MpmcQueue.bytesFor(4, { messageBytes: 64 }));
      SpscRing.create({ buffer: ringBuffer, capacity: 64 });
      assert.throws(() => MpmcQueue.open({ buffer: ringBuffer }), (e) => e instanceof ShmError && e.code === 'ERR_BAD_MAGIC');
      MpmcQueue.create({ buffer, capacity: 4, messageBytes: 64 }).close();
      assert.throws(() => SpscRing.open({ buffer }), (e) => e.code === 'ERR_BAD_MAGIC');
    });
  });

  it('bytesFor() of every message structure names its capacity argument in its errors, create() the option', () => {
    const names = (name) => (e) => e instanceof RangeError && e.code === 'ERR_INVALID_ARG' && e.message.startsWith(`The "${name}" argument`);
    for (const K of [SpscRing, MpmcQueue, Channel, Stack, PriorityQueue, Broadcast]) {
      assert.throws(() => K.bytesFor(3), names('capacity'), K.name);
      assert.throws(() => K.bytesFor(2 ** 31), names('capacity'), K.name);
      assert.throws(() => K.create({ buffer: new SharedArrayBuffer(1 << 16), capacity: 3 }), names('options.capacity'), K.name);
    }
    assert.throws(() => MpmcQueue.bytesFor(4, { messageBytes: 0 }), names('options.messageBytes'));
  });

  describe('messages', () => {
    it('carries strings, bytes and JSON values in FIFO order', () => {
      const q = queue(8);
      const sent = ['', 'héllo ✓', Buffer.from([1, 2]), { a: [1, null] }, 7, null, false];
      for (const m of sent) assert.strictEqual(q.tryEnqueue(m), true);
      assert.strictEqual(q.size, sent.length);
      for (const m of sent) assert.deepStrictEqual(q.tryDequeue(), m);
      assert.strictEqual(q.tryDequeue(), undefined);
      q.close();
    });

    it('fills to exactly its capacity; blocking forms time out; abort rejects with the reason', async () => {
      const q = queue(4);
      for (let i = 0; i < 4; i++) assert.strictEqual(q.tryEnqueue(i), true);
      assert.strictEqual(q.tryEnqueue(4), false);
      assert.throws(() => q.enqueue(4, 20), (e) => e.code === 'ERR_QUEUE_TIMEOUT' && e.status === 35);
      await assert.rejects(q.enqueueAsync(4, { timeoutMs: 20 }), (e) => e.code === 'ERR_QUEUE_TIMEOUT');
      for (let i = 0; i < 4; i++) assert.strictEqual(q.dequeue(0), i);
      assert.throws(() => q.dequeue(20), (e) => e.code === 'ERR_QUEUE_TIMEOUT');
      await assert.rejects(q.dequeueAsync({ timeoutMs: 20 }), (e) => e.code === 'ERR_QUEUE_TIMEOUT');
      const ac = new AbortController();
      const p = q.dequeueAsync({ signal: ac.signal });
      setTimeout(() => ac.abort(new Error('stop')), 20);
      await assert.rejects(p, /stop/);
      const later = q.dequeueAsync({ timeoutMs: 10000 });
      setTimeout(() => q.tryEnqueue('late'), 20);
      assert.strictEqual(await later, 'late');
      q.close();
      assert.throws(() => q.tryDequeue(), (e) => e.code === 'ERR_CLOSED');
    });

    it('an AbortSignal given as the options (not as { signal }) is a TypeError saying so; the queue is unchanged', () => {
      const q = queue(4);
      q.tryEnqueue('keep');
      const { signal } = new AbortController();
      const refused = (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG' && /AbortSignal.*\{ signal \}/.test(e.message);
      assert.throws(() => q.dequeueAsync(signal), refused);
      assert.throws(() => q.enqueueAsync('x', signal), refused);
      assert.strictEqual(q.size, 1);
      assert.strictEqual(q.tryDequeue(), 'keep');
      q.close();
    });

    it('refuses oversize messages and values that cannot be sent, with the queue unchanged', () => {
      const q = queue(4);
      q.tryEnqueue('keep');
      assert.throws(() => q.tryEnqueue('x'.repeat(65)), (e) => e.code === 'ERR_MESSAGE_TOO_LARGE' && e.status === 36);
      assert.throws(() => q.tryEnqueue(Buffer.alloc(65)), (e) => e.code === 'ERR_MESSAGE_TOO_LARGE');
      assert.throws(() => q.tryEnqueue('€'.repeat(22)), (e) => e.code === 'ERR_MESSAGE_TOO_LARGE');
      assert.strictEqual(q.tryEnqueue('€'.repeat(21)), true);
      assert.throws(() => q.tryEnqueue(undefined), TypeError);
      assert.throws(() => q.tryEnqueue(Symbol('s')), TypeError);
      assert.throws(() => q.enqueueAsync('x', { timeoutMs: -1 }), RangeError);
      assert.throws(() => q.dequeue(NaN), RangeError);
      assert.strictEqual(q.size, 2);
      assert.strictEqual(q.tryDequeue(), 'keep');
      assert.strictEqual(q.tryDequeue(), '€'.repeat(21));
    });

    it('wraps around the 2^32 positions (startPosition, a test hook)', () => {
      const q = queue(4, { startPosition: 2 ** 32 - 7 });
      let sent = 0;
      let got = 0;
      for (let round = 0; round < 100; round++) {
        for (let k = 0; k < round % 6; k++) if (q.tryEnqueue(sent)) sent++;
        let m;
        while ((m = q.tryDequeue()) !== undefined) assert.strictEqual(m, got++);
      }
      assert.strictEqual(got, sent);
      assert.ok(Atomics.load(q[kWords], TAIL) < 1000);
    });
  });

  describe('peek()', () => {
    it('shows the message the next dequeue takes, without taking it; undefined when empty; across the wrap at 2^32', () => {
      const q = queue(4, { startPosition: 2 ** 32 - 3 });
      assert.strictEqual(q.peek(), undefined);
      for (let i = 0; i < 10; i++) {
        assert.strictEqual(q.tryEnqueue(`m${i}`), true);
        assert.strictEqual(q.tryEnqueue({ i }), true);
        assert.strictEqual(q.peek(), `m${i}`);
        assert.strictEqual(q.peek(), `m${i}`); // nothing taken
        assert.strictEqual(q.size, 2);
        assert.strictEqual(q.tryDequeue(), `m${i}`);
        assert.deepStrictEqual(q.peek(), { i });
        assert.deepStrictEqual(q.tryDequeue(), { i });
        assert.strictEqual(q.peek(), undefined);
      }
      q.close();
      assert.throws(() => q.peek(), (e) => e.code === 'ERR_CLOSED');
    });

    it('shows nothing of a slot still being written, and looks past a slot given up', async () => {
      const q = queue(4);
      q.tryEnqueue('before');
      const pos = Atomics.load(q[kWords], TAIL);
      party(q, C.MPMC_INTENT_PRODUCE, pos, process.pid); // a live producer claimed pos, writing
      Atomics.store(q[kWords], TAIL, pos + 1);
      q.tryEnqueue('after');
      assert.strictEqual(q.tryDequeue(), 'before');
      assert.strictEqual(q.peek(), undefined); // the head is not published yet
      q.close();
      // A slot given up (bytes detached while the enqueue waited) between two messages.
      const r = queue(2, { messageBytes: 16 });
      r.tryEnqueue('a');
      r.tryEnqueue('b');
      const ab = new ArrayBuffer(8);
      const enqueued = r.enqueueAsync(new Uint8Array(ab)).then(() => null, (e) => e);
      structuredClone(ab, { transfer: [ab] });
      assert.strictEqual(r.tryDequeue(), 'a');
      assert.ok((await enqueued) instanceof TypeError);
      assert.strictEqual(r.tryEnqueue('c'), false); // the slot given up is still to be passed
      assert.strictEqual(r.peek(), 'b');
      assert.strictEqual(r.tryDequeue(), 'b');
      assert.strictEqual(r.tryEnqueue('c'), true);
      assert.strictEqual(r.peek(), 'c'); // past the slot given up
      assert.strictEqual(r.tryDequeue(), 'c');
      assert.strictEqual(r.peek(), undefined);
      r.close();
    });

    it('serves the handle\'s pending dequeueAsync() calls first', async () => {
      const q = queue(4);
      const pending = q.dequeueAsync({ timeoutMs: 5000 });
      const other = MpmcQueue.open({ buffer: q.buffer });
      other.tryEnqueue('x');
      other.tryEnqueue('y');
      assert.strictEqual(q.peek(), 'y'); // 'x' went to the pending call
      assert.strictEqual(await pending, 'x');
      assert.strictEqual(q.tryDequeue(), 'y');
      other.close();
      q.close();
    });

    it('never shows a torn message while producers and another consumer run', async function () {
      this.timeout(60000);
      const { Worker } = require('worker_threads');
      const { checkStamped } = require('../helpers/messages');
      // Large messages in 2 slots: a slot is released and written again for the next lap while a
      // peek reads it, often; a read the word check did not catch would mix two messages.
      const bytes = 1 << 16;
      const q = queue(2, { messageBytes: bytes });
      const N = 4000;
      // A worker produces stamped messages; it and this thread take them, this thread peeking too.
      const src = `
        const { workerData } = require('worker_threads');
        const { MpmcQueue } = require(${JSON.stringify(require.resolve('../../index'))});
        const { nativeMessage } = require(${JSON.stringify(require.resolve('../helpers/messages'))});
        const q = MpmcQueue.open({ buffer: workerData.buffer });
        for (let i = 0; i < workerData.n; i++) {
          q.enqueue(nativeMessage(i, workerData.bytes), 60000);
          if (i % 2 === 0) q.tryDequeue();
        }
        q.close();`;
      const w = new Worker(src, { eval: true, workerData: { buffer: q.buffer, n: N, bytes } });
      const done = new Promise((resolve, reject) => { w.once('exit', resolve); w.once('error', reject); });
      let exited = false;
      done.then(() => { exited = true; });
      let peeked = 0;
      let last = -1;
      while (!exited) {
        const m = q.peek();
        if (m !== undefined) {
          const i = checkStamped(m);
          assert.ok(i >= 0, 'a torn message');
          peeked++;
        }
        const t = q.tryDequeue();
        if (t !== undefined) {
          const i = checkStamped(t);
          assert.ok(i > last, `${i} after ${last}`);
          last = i;
        }
        if (m === undefined && t === undefined) await new Promise((r) => setImmediate(r));
      }
      assert.strictEqual(await done, 0);
      assert.ok(peeked > 0);
      q.close();
    });
  });

  describe('bytes that change after they were given', () => {
    // Bytes given to a waiting enqueue stay the caller's: they may be transferred (detached) or
    // their buffer resized before the enqueue takes a slot for them.
    const isDetached = (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG';

    it('an enqueueAsync() whose bytes are transferred while it waits fails, and the queue goes on', async () => {
      const q = queue(2, { messageBytes: 16 });
      q.tryEnqueue('a');
      q.tryEnqueue('b');
      const ab = new ArrayBuffer(8);
      const enqueued = q.enqueueAsync(new Uint8Array(ab)).then(() => null, (e) => e);
      structuredClone(ab, { transfer: [ab] });
      assert.strictEqual(q.tryDequeue(), 'a'); // room: the waiting enqueue claims it next
      const err = await enqueued;
      assert.ok(err && isDetached(err), `rejected with ${err}`);
      // Its slot was given up (not a gone producer's: not counted), and the queue goes on.
      assert.strictEqual(q.tryDequeue(), 'b');
      assert.strictEqual(q.tryDequeue(), undefined);
      assert.strictEqual(q.tryEnqueue('c'), true);
      assert.strictEqual(q.tryDequeue(), 'c');
      assert.deepStrictEqual(q.skipped, { writes: 0, reads: 0 });
      q.close();
    });

    it('bytes whose resizable buffer grows while an enqueueAsync() waits are sent at the length they were given with', async () => {
      const q = queue(2, { messageBytes: 16 });
      q.tryEnqueue('a');
      q.tryEnqueue('b');
      const ab = new ArrayBuffer(8, { maxByteLength: 64 });
      new Uint8Array(ab).fill(7);
      const enqueued = q.enqueueAsync(new Uint8Array(ab)); // a view that follows the buffer's length
      ab.resize(40);
      new Uint8Array(ab).fill(9, 8);
      assert.strictEqual(q.tryDequeue(), 'a');
      await enqueued;
      assert.strictEqual(q.tryDequeue(), 'b'); // not overwritten by the message after it
      assert.deepStrictEqual(q.tryDequeue(), Buffer.alloc(8, 7));
      assert.strictEqual(q.tryDequeue(), undefined);
      q.close();
    });

    it('a batch whose bytes are transferred by a later value\'s toJSON: the values before them are enqueued, the queue goes on', () => {
      const q = queue(8, { messageBytes: 16 });
      const ab = new ArrayBuffer(4);
      const detach = { toJSON: () => { structuredClone(ab, { transfer: [ab] }); return 'y'; } };
      assert.throws(() => q.tryEnqueueBatch(['x', new Uint8Array(ab), detach, 'z']), isDetached);
      assert.deepStrictEqual(q.tryDequeueBatch(), ['x']);
      assert.strictEqual(q.tryEnqueueBatch(['after', 'more']), 2);
      assert.deepStrictEqual(q.tryDequeueBatch(), ['after', 'more']);
      assert.deepStrictEqual(q.skipped, { writes: 0, reads: 0 });
      q.close();
    });
  });

  describe('a party that is gone in the middle of an operation', () => {
    it('a slot claimed by a producer that is gone is given up: consumers skip it', () => {
      const q = queue(4);
      q.tryEnqueue('before');
      const pos = Atomics.load(q[kWords], TAIL);
      party(q, C.MPMC_INTENT_PRODUCE, pos, exitedPid());
      Atomics.store(q[kWords], TAIL, pos + 1); // claimed, never written
      q.tryEnqueue('after');
      assert.strictEqual(q.dequeue(1000), 'before');
      assert.strictEqual(q.dequeue(5000), 'after');
      assert.deepStrictEqual(q.skipped, { writes: 1, reads: 0 });
      assert.strictEqual(q.tryDequeue(), undefined);
      for (let i = 0; i < 8; i++) { // the slot serves its next laps as usual
        assert.strictEqual(q.tryEnqueue(i), true);
        assert.strictEqual(q.tryDequeue(), i);
      }
    });

    it('peek() gives up a head slot a gone producer claimed, as a dequeue does, and shows the message behind it', async () => {
      const q = queue(4);
      const pos = Atomics.load(q[kWords], TAIL);
      party(q, C.MPMC_INTENT_PRODUCE, pos, exitedPid());
      Atomics.store(q[kWords], TAIL, pos + 1); // claimed, never written
      q.tryEnqueue('after');
      // The repair look is rate-limited: peek() within a few of its periods.
      const until = Date.now() + 5000;
      let seen;
      while ((seen = q.peek()) === undefined && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
      assert.strictEqual(seen, 'after');
      assert.deepStrictEqual(q.skipped, { writes: 1, reads: 0 });
      assert.strictEqual(q.tryDequeue(), 'after');
      q.close();
    });

    it('a slot claimed by a consumer that is gone is released: producers reuse it, one message lost', () => {
      const q = queue(2);
      q.tryEnqueue('taken by the dead');
      q.tryEnqueue('second');
      const pos = Atomics.load(q[kWords], HEAD);
      party(q, C.MPMC_INTENT_CONSUME, pos, exitedPid());
      Atomics.store(q[kWords], HEAD, pos + 1); // claimed, never released
      q.enqueue('third', 5000); // waits for the slot of the dead consumer, then takes it
      assert.deepStrictEqual(q.skipped, { writes: 0, reads: 1 });
      assert.strictEqual(q.tryDequeue(), 'second');
      assert.strictEqual(q.tryDequeue(), 'third');
      assert.strictEqual(q.tryDequeue(), undefined);
    });

    it("a full owner table: a gone owner's record is taken over only once the position its intent names is finished", () => {
      const q = queue(4);
      q.tryEnqueue('before');
      const pos = Atomics.load(q[kWords], TAIL);
      // A producer that claimed pos and died before writing it, and a live one that tried pos too
      // and lost the CAS (it clears its intent when it next finds the queue full, or claims).
      party(q, C.MPMC_INTENT_PRODUCE, pos, exitedPid());
      const loser = party(q, C.MPMC_INTENT_PRODUCE, pos, process.pid);
      Atomics.store(q[kWords], TAIL, pos + 1);
      q.tryEnqueue('after');
      const owners = new OwnerTable(q[kWords], C.MPMC_OWNERS_OFFSET / WORD, C.MPMC_OWNER_SLOTS);
      while (owners.claim(identityOf(process.pid, 2)) !== 0); // live
      // The only gone owner's intent is all that tells whose pos is: while the loser's holds back
      // giving pos up, the record stays (adopting it would leave pos named by nobody for good).
      assert.throws(() => MpmcQueue.open({ buffer: q[kWords].buffer }), (e) => e.code === 'ERR_TOO_MANY_HANDLES');
      assert.deepStrictEqual(q.skipped, { writes: 0, reads: 0 });
      Atomics.store(q[kWords], C.MPMC_INTENTS_OFFSET / WORD + loser * W.MPMC_INTENT.WORDS + W.MPMC_INTENT.ROLES, 0);
      const late = MpmcQueue.open({ buffer: q[kWords].buffer }); // gives pos up, then takes the record
      assert.deepStrictEqual(q.skipped, { writes: 1, reads: 0 });
      assert.deepStrictEqual(q.tryDequeueBatch(), ['before', 'after']);
      late.tryEnqueue('late');
      assert.strictEqual(q.tryDequeue(), 'late');
      late.close();
      q.close();
    });

    it('a gone owner\'s intent naming a position 2^30 before one a live producer holds in the same slot gives nothing up', () => {
      const q = queue(4);
      q.tryEnqueue('before');
      const pos = Atomics.load(q[kWords], TAIL);
      // A live producer claimed pos and is writing it; a gone owner's intent was left naming
      // pos - 2^30, whose sequence word is the same 4 * pos (modulo 2^32) in the same slot.
      party(q, C.MPMC_INTENT_PRODUCE, pos, process.pid);
      Atomics.store(q[kWords], TAIL, pos + 1);
      party(q, C.MPMC_INTENT_PRODUCE, (pos - 2 ** 30) >>> 0, exitedPid());
      const owners = new OwnerTable(q[kWords], C.MPMC_OWNERS_OFFSET / WORD, C.MPMC_OWNER_SLOTS);
      while (owners.claim(identityOf(process.pid, 2)) !== 0); // live
      const late = MpmcQueue.open({ buffer: q[kWords].buffer }); // adopts the gone owner's record
      assert.deepStrictEqual(q.skipped, { writes: 0, reads: 0 });
      assert.strictEqual(q.tryDequeue(), 'before');
      assert.strictEqual(q.tryDequeue(), undefined, 'the live producer\'s slot is still its own');
      late.close();
      q.close();
    });

    it('a slot whose claimer is alive is never taken from it', () => {
      const q = queue(4);
      const pos = Atomics.load(q[kWords], TAIL);
      party(q, C.MPMC_INTENT_PRODUCE, pos, process.pid); // this process: alive
      Atomics.store(q[kWords], TAIL, pos + 1);
      assert.throws(() => q.dequeue(200), (e) => e.code === 'ERR_QUEUE_TIMEOUT');
      assert.deepStrictEqual(q.skipped, { writes: 0, reads: 0 });
    });
  });
});
