'use strict';
// SpscRing (docs/api.md "SpscRing"; bytes and protocol: docs/format.md §15).
const assert = require('assert');
const path = require('path');
const { spawn } = require('child_process');
const { Worker } = require('worker_threads');
const { SpscRing, Segment, ShmError, Registry } = require('../../index');
const { addon } = require('../../lib/base/native');
const { uniqueName, removeShm, runNode, spawnChild, until } = require('../helpers/process');
const { Scoreboard } = require('../helpers/scoreboard');
const { numbered, seqOf, nativeSeq, nativeFill, nativeMessage } = require('../helpers/messages');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'msg-child.js');
const withAddon = addon ? describe : describe.skip;

function ring(capacity, options = {}) {
  const buffer = new SharedArrayBuffer(SpscRing.bytesFor(capacity, options.elementSize ? { elementSize: options.elementSize } : undefined));
  return SpscRing.create({ buffer, capacity, ...options });
}

function worker(data) {
  const w = new Worker(CHILD, { workerData: data });
  const exited = new Promise((resolve) => w.once('exit', resolve));
  const messages = [];
  let notify = null;
  w.on('message', (m) => { messages.push(m); if (notify) notify(); });
  const next = async () => {
    while (messages.length === 0) await new Promise((r) => { notify = r; });
    notify = null;
    return messages.shift();
  };
  return { w, exited, next };
}

describe('SpscRing', () => {
  describe('creating and opening', () => {
    it('computes the bytes a capacity needs, and refuses capacities that are not allowed', () => {
      assert.strictEqual(SpscRing.bytesFor(1024), SpscRing.DATA_OFFSET + 1024);
      assert.strictEqual(SpscRing.bytesFor(16, { elementSize: 12 }), SpscRing.DATA_OFFSET + 192);
      for (const bad of [0, 32, 100, 2 ** 31, 1.5]) assert.throws(() => SpscRing.bytesFor(bad), RangeError);
      assert.throws(() => SpscRing.bytesFor('64'), TypeError);
      assert.throws(() => SpscRing.bytesFor(1, { elementSize: 8 }), RangeError);
      assert.throws(() => SpscRing.bytesFor(8, { elementSize: 65537 }), RangeError);
      assert.throws(() => SpscRing.bytesFor(2 ** 30, { elementSize: 2 }), RangeError);
    });

    it('refuses bad options with TypeError / RangeError and leaves the memory untouched', () => {
      const buffer = new SharedArrayBuffer(SpscRing.bytesFor(256));
      assert.throws(() => SpscRing.create({ buffer }), TypeError);
      assert.throws(() => SpscRing.create({ buffer, capacity: 200 }), RangeError);
      assert.throws(() => SpscRing.create({ buffer, capacity: 512 }), RangeError); // too small a buffer
      assert.throws(() => SpscRing.create({ buffer, capacity: 256, byteOffset: 8 }), RangeError);
      assert.throws(() => SpscRing.create({ buffer, capacity: 256, colour: 1 }), TypeError);
      assert.throws(() => SpscRing.create({ buffer: new ArrayBuffer(4096), capacity: 256 }), TypeError);
      assert.throws(() => SpscRing.create(null), TypeError);
      assert.ok(new Uint8Array(buffer).every((b) => b === 0));
      assert.throws(() => SpscRing.open({ buffer }), (e) => e instanceof ShmError && e.code === 'ERR_BAD_MAGIC');
    });

    it('open refuses a header with a shape create() never makes (ERR_CORRUPT), as the C++ ring does', () => {
      const { C, W } = require('../../lib/layout/layout');
      const buffer = new SharedArrayBuffer(SpscRing.bytesFor(4, { elementSize: 8 }));
      SpscRing.create({ buffer, capacity: 4, elementSize: 8 }).close();
      const header = new Uint32Array(buffer, C.MSG_HEADER_OFFSET, W.MSG_HEADER.WORDS);
      Atomics.store(header, W.MSG_HEADER.CAPACITY, 1); // one element: create() wants at least 2
      assert.throws(() => SpscRing.open({ buffer }), (e) => e instanceof ShmError && e.code === 'ERR_CORRUPT');
      Atomics.store(header, W.MSG_HEADER.CAPACITY, 4);
      Atomics.store(header, W.MSG_HEADER.ELEMENT_SIZE, 0); // records in 4 bytes: below SPSC_MIN_BYTES
      assert.throws(() => SpscRing.open({ buffer }), (e) => e instanceof ShmError && e.code === 'ERR_CORRUPT');
      Atomics.store(header, W.MSG_HEADER.ELEMENT_SIZE, 8);
      SpscRing.open({ buffer }).close();
      assert.throws(() => SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(2, { elementSize: 8 })), capacity: 1, elementSize: 8 }), RangeError);
    });

    // format.md §15, "Version history": version 2 counts sleeps in the sleeping flags; a party of
    // version 1 (flags of 1 and 0) beside one of version 2 would leave wake-ups to the recheck.
    it('is of format version 2 (the registry records it), and a ring of version 1 (flags of 1 and 0) is refused, by the JS and the C++ open', () => {
      const { C, W } = require('../../lib/layout/layout');
      const buffer = new SharedArrayBuffer(SpscRing.bytesFor(64));
      const r = SpscRing.create({ buffer, capacity: 64 });
      const header = new Uint32Array(buffer, C.MSG_HEADER_OFFSET, W.MSG_HEADER.WORDS);
      assert.strictEqual(Atomics.load(header, W.MSG_HEADER.VERSION), 2);
      Atomics.store(header, W.MSG_HEADER.VERSION, 1);
      assert.throws(() => SpscRing.open({ buffer }),
        (e) => e instanceof ShmError && e.code === 'ERR_BAD_VERSION' && /earlier version of shmstore/.test(e.message) && /create it again/.test(e.message));
      if (addon) assert.throws(() => addon.msgSpscProduce(new Uint8Array(buffer), 1, 8), (e) => e.code === 'ERR_BAD_VERSION' && /create it again/.test(e.message));
      Atomics.store(header, W.MSG_HEADER.VERSION, 2);
      SpscRing.open({ buffer }).close();
      r.close();
      const registry = Registry.create({ buffer: new SharedArrayBuffer(1 << 20), maxEntries: 4 });
      registry.create('spsc', 'events', { capacity: 64 }).close();
      assert.strictEqual(registry.list().find((e) => e.name === 'events').version, 2);
      registry.close();
    });

    it('opens a ring created at a byte offset, with its capacity and mode', () => {
      const buffer = new SharedArrayBuffer(128 + SpscRing.bytesFor(8, { elementSize: 4 }));
      const a = SpscRing.create({ buffer, byteOffset: 128, capacity: 8, elementSize: 4 });
      const b = SpscRing.open({ buffer, byteOffset: 128 });
      assert.deepStrictEqual([b.capacity, b.elementSize, b.maxMessageBytes], [8, 4, 0]);
      assert.strictEqual(a.tryEnqueue(new Uint32Array([7, 8])), true);
      const out = new Uint32Array(4);
      assert.strictEqual(b.tryDequeueInto(out), 2);
      assert.deepStrictEqual([...out], [7, 8, 0, 0]);
      a.close();
      assert.throws(() => a.tryEnqueue(new Uint32Array([1])), (e) => e.code === 'ERR_CLOSED');
      b.close();
    });
  });

  describe('messages', () => {
    it('carries strings, bytes and JSON values back as what was sent; peek leaves them', () => {
      const r = ring(1024);
      const sent = ['', 'héllo wörld ✓ 𝄞', Buffer.from([1, 2, 3]), { a: [1, 'x', null] }, 42, null, [true], 'end'];
      for (const m of sent) assert.strictEqual(r.tryEnqueue(m), true);
      assert.deepStrictEqual(r.tryEnqueue(new Uint16Array([0x0201, 0x0403])), true);
      assert.deepStrictEqual(r.peek(), '');
      for (const m of sent) assert.deepStrictEqual(r.tryDequeue(), m);
      assert.deepStrictEqual(r.peek(), Buffer.from([1, 2, 3, 4]));
      assert.deepStrictEqual(r.tryDequeue(), Buffer.from([1, 2, 3, 4]));
      assert.strictEqual(r.tryDequeue(), undefined);
      assert.strictEqual(r.peek(), undefined);
      assert.strictEqual(r.size, 0);
    });

    it('refuses oversize messages and values that cannot be sent, with the ring unchanged', () => {
      const r = ring(256);
      assert.strictEqual(r.maxMessageBytes, 124);
      r.tryEnqueue('keep');
      const size = r.size;
      assert.throws(() => r.tryEnqueue('x'.repeat(125)), (e) => e instanceof ShmError && e.code === 'ERR_MESSAGE_TOO_LARGE' && e.status === 36);
      assert.throws(() => r.tryEnqueue(Buffer.alloc(125)), (e) => e.code === 'ERR_MESSAGE_TOO_LARGE');
      assert.throws(() => r.tryEnqueue('€'.repeat(42)), (e) => e.code === 'ERR_MESSAGE_TOO_LARGE'); // 126 bytes
      assert.strictEqual(r.tryEnqueue('€'.repeat(41)), true); // 123 bytes
      assert.throws(() => r.tryEnqueue(undefined), TypeError);
      assert.throws(() => r.tryEnqueue(() => 1), TypeError);
      assert.throws(() => r.tryEnqueue(10n), TypeError);
      const cyclic = {};
      cyclic.self = cyclic;
      assert.throws(() => r.tryEnqueue(cyclic), TypeError);
      let deep = 0;
      for (let i = 0; i < 1e6; i++) deep = [deep]; // deeper than JSON.stringify's stack
      assert.throws(() => r.tryEnqueue(deep), (e) => e instanceof RangeError && e.code === 'ERR_INVALID_ARG');
      assert.throws(() => r.enqueue('x', -1), RangeError);
      assert.throws(() => r.dequeue('1'), TypeError);
      assert.strictEqual(r.size, size + 128);
      assert.strictEqual(r.tryDequeue(), 'keep');
      assert.strictEqual(r.tryDequeue(), '€'.repeat(41));
    });

    it('fills to exactly its capacity, refuses more, and blocking forms time out', async () => {
      const r = ring(64); // two records of 28 payload bytes fill it
      const m = 'x'.repeat(28);
      assert.strictEqual(r.tryEnqueue(m), true);
      assert.strictEqual(r.tryEnqueue(m), true);
      assert.strictEqual(r.size, 64);
      assert.strictEqual(r.tryEnqueue(''), false);
      assert.throws(() => r.enqueue('', 20), (e) => e.code === 'ERR_QUEUE_TIMEOUT' && e.status === 35);
      await assert.rejects(r.enqueueAsync('', { timeoutMs: 20 }), (e) => e.code === 'ERR_QUEUE_TIMEOUT');
      assert.strictEqual(r.tryDequeue(), m);
      assert.strictEqual(r.tryEnqueue(''), true);
      assert.strictEqual(r.dequeue(), m);
      assert.strictEqual(r.dequeue(0), '');
      assert.throws(() => r.dequeue(20), (e) => e.code === 'ERR_QUEUE_TIMEOUT');
      await assert.rejects(r.dequeueAsync({ timeoutMs: 20 }), (e) => e.code === 'ERR_QUEUE_TIMEOUT');
    });

    it('dequeueAsync rejects with the reason of an AbortSignal, before or while waiting', async () => {
      const r = ring(64);
      const ac = new AbortController();
      const p = r.dequeueAsync({ signal: ac.signal });
      setTimeout(() => ac.abort(new Error('stop')), 20);
      await assert.rejects(p, /stop/);
      await assert.rejects(r.dequeueAsync({ signal: AbortSignal.abort() }), (e) => e.name === 'AbortError');
      assert.throws(() => r.dequeueAsync({ signal: {} }), TypeError);
      r.tryEnqueue('after');
      assert.strictEqual(await r.dequeueAsync({ signal: ac.signal.aborted ? undefined : ac.signal }), 'after');
    });

    it('wraps around the 2^32 positions (startPosition, a test hook) in both modes', () => {
      for (const start of [2 ** 32 - 100, 2 ** 32 - 4]) {
        const r = ring(128, { startPosition: start });
        let sent = 0;
        let got = 0;
        for (let round = 0; round < 300; round++) {
          for (let k = 0; k < 1 + (round % 4); k++) if (r.tryEnqueue({ n: sent, pad: 'p'.repeat(sent % 30) })) sent++;
          let m;
          while ((m = r.tryDequeue()) !== undefined) assert.strictEqual(m.n, got++);
        }
        assert.strictEqual(got, sent);
        assert.ok(sent > 300);
      }
      const e = ring(8, { elementSize: 8, startPosition: 2 ** 32 - 5 });
      const out = new BigUint64Array(3);
      let next = 0n;
      let expect = 0n;
      for (let i = 0; i < 100; i++) {
        if (e.tryEnqueue(new BigUint64Array([next, next + 1n]))) next += 2n;
        const n = e.tryDequeueInto(out);
        for (let k = 0; k < n; k++) assert.strictEqual(out[k], expect++);
      }
      assert.ok(expect > 100n);
    });
  });

  describe('fixed-size elements', () => {
    it('enqueues whole elements (all or none) and reads them into the caller\'s array', () => {
      const r = ring(4, { elementSize: 8 });
      assert.strictEqual(r.tryEnqueue(new Float64Array([1.5, 2.5, 3.5])), true);
      assert.strictEqual(r.tryEnqueue(new Float64Array([4.5, 5.5])), false); // all or none
      assert.strictEqual(r.size, 3);
      const out = new Float64Array(2);
      assert.strictEqual(r.tryDequeueInto(out), 2);
      assert.deepStrictEqual([...out], [1.5, 2.5]);
      const peeked = r.peek();
      assert.deepStrictEqual(peeked, Buffer.from(new Float64Array([3.5]).buffer));
      peeked.fill(0); // a copy: the element stays as it was
      assert.deepStrictEqual(r.peek(), Buffer.from(new Float64Array([3.5]).buffer));
      assert.strictEqual(r.tryEnqueue(new Float64Array([4.5, 5.5])), true);
      const odd = new Uint8Array(24 + 1).subarray(1); // not word aligned: copied byte by byte
      assert.strictEqual(r.dequeueInto(odd, 100), 3);
      assert.deepStrictEqual([...new Float64Array(odd.slice().buffer)], [3.5, 4.5, 5.5]);
      assert.strictEqual(r.tryDequeueInto(out), 0);
      assert.throws(() => r.dequeueInto(out, 10), (e) => e.code === 'ERR_QUEUE_TIMEOUT');
    });

    it('refuses partial elements, oversize batches and wrong targets with the ring unchanged', () => {
      const r = ring(4, { elementSize: 8 });
      r.tryEnqueue(new Float64Array([9]));
      assert.throws(() => r.tryEnqueue(new Uint8Array(7)), RangeError);
      assert.throws(() => r.tryEnqueue(new Uint8Array(0)), RangeError);
      assert.throws(() => r.tryEnqueue('text'), TypeError);
      assert.throws(() => r.tryEnqueue(new Float64Array(5)), (e) => e.code === 'ERR_MESSAGE_TOO_LARGE');
      assert.throws(() => r.tryDequeueInto(new Uint8Array(4)), RangeError);
      assert.throws(() => r.tryDequeueInto([0]), TypeError);
      assert.throws(() => ring(64).tryDequeueInto(new Uint8Array(8)), (e) => e.code === 'ERR_INVALID_ARG');
      assert.strictEqual(r.size, 1);
      const out = new Float64Array(1);
      assert.strictEqual(r.tryDequeueInto(out), 1);
      assert.strictEqual(out[0], 9);
    });

    // A target is used again without a new check (nothing is allocated for it), but what it holds
    // is the room: the elements taken off the ring are the ones copied, whatever its bytes did.
    it('a target used again whose resizable buffer grew or shrank takes as many elements as it holds now, every one copied', () => {
      const r = ring(16, { elementSize: 4 });
      const grows = new ArrayBuffer(8, { maxByteLength: 64 });
      const target = new Uint32Array(grows); // follows the buffer's length
      r.tryEnqueue(new Uint32Array([1, 2]));
      assert.strictEqual(r.tryDequeueInto(target), 2);
      grows.resize(32);
      r.tryEnqueue(new Uint32Array([3, 4, 5, 6, 7, 8, 9, 10, 11]));
      assert.strictEqual(r.tryDequeueInto(target), 8);
      assert.deepStrictEqual([...target], [3, 4, 5, 6, 7, 8, 9, 10]);
      const shrinks = new ArrayBuffer(32, { maxByteLength: 64 });
      const small = new Uint32Array(shrinks);
      assert.strictEqual(r.tryDequeueInto(small), 1); // 11
      shrinks.resize(8);
      r.tryEnqueue(new Uint32Array([12, 13, 14]));
      assert.strictEqual(r.dequeueInto(small, 1000), 2);
      assert.deepStrictEqual([...small], [12, 13]);
      assert.strictEqual(r.size, 1);
      shrinks.resize(2); // less than one element
      assert.throws(() => r.tryDequeueInto(small), (e) => e instanceof RangeError && e.code === 'ERR_INVALID_ARG');
      assert.strictEqual(r.size, 1);
      assert.strictEqual(r.tryDequeueInto(target), 1);
      assert.strictEqual(target[0], 14);
    });

    it('a target used again after its buffer was detached throws the TypeError a new detached target throws, the ring unchanged', async () => {
      const r = ring(16, { elementSize: 4 });
      const isDetached = (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG';
      for (const make of [() => new Uint32Array(4), () => new Uint8Array(16), () => new DataView(new ArrayBuffer(16)), () => new ArrayBuffer(16)]) {
        const target = make();
        r.tryEnqueue(new Uint32Array([1]));
        assert.strictEqual(r.tryDequeueInto(target), 1);
        const buffer = target instanceof ArrayBuffer ? target : target.buffer;
        structuredClone(buffer, { transfer: [buffer] });
        r.tryEnqueue(new Uint32Array([2, 3]));
        assert.throws(() => r.tryDequeueInto(target), isDetached);
        assert.throws(() => r.dequeueInto(target, 1000), isDetached);
        assert.throws(() => r.dequeueIntoAsync(target, { timeoutMs: 1000 }), isDetached); // an argument error: at once
        assert.strictEqual(r.size, 2);
        // Detached while a dequeueIntoAsync() waits: it rejects, and takes nothing.
        const out = make();
        const early = r.dequeueIntoAsync(new Uint32Array(2));
        const later = r.dequeueIntoAsync(out);
        const outBuffer = out instanceof ArrayBuffer ? out : out.buffer;
        structuredClone(outBuffer, { transfer: [outBuffer] });
        assert.strictEqual(await early, 2);
        r.tryEnqueue(new Uint32Array([4]));
        await assert.rejects(later, isDetached);
        assert.strictEqual(r.size, 1);
        assert.strictEqual(r.tryDequeueInto(new Uint32Array(1)), 1);
      }
    });

    // A target used again is looked at once per call: by the copy itself when nothing is pending
    // (a target's getters run once), and before the pending calls are served when some are, so
    // that a bad target throws before anything is taken for them.
    it('a target used again is looked at once per call; with calls pending, a bad target throws before they are served', async () => {
      const r = ring(16, { elementSize: 4 });
      const target = new Uint32Array(new ArrayBuffer(8, { maxByteLength: 64 }));
      const byteLength = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint32Array.prototype), 'byteLength').get;
      let looks = 0;
      Object.defineProperty(target, 'byteLength', {
        get() {
          looks++;
          return byteLength.call(this);
        },
      });
      r.tryEnqueue(new Uint32Array([1, 2, 3, 4, 5, 6, 7, 8]));
      assert.strictEqual(r.tryDequeueInto(target), 2); // checked as a new target
      looks = 0;
      assert.strictEqual(r.tryDequeueInto(target), 2);
      assert.strictEqual(looks, 1);
      assert.strictEqual(r.dequeueInto(target, 1000), 2);
      assert.strictEqual(looks, 2);
      assert.strictEqual(await r.dequeueIntoAsync(target), 2);
      assert.deepStrictEqual([...target], [7, 8]);
      assert.strictEqual(r.tryDequeueInto(target), 0);

      const pending = r.dequeueIntoAsync(new Uint32Array(1));
      r.tryEnqueue(new Uint32Array([9]));
      for (const call of [() => r.tryDequeueInto(new Uint8Array(2)), () => r.dequeueInto([0], 1000), () => r.dequeueIntoAsync(new Uint8Array(2))]) {
        assert.throws(call, (e) => e.code === 'ERR_INVALID_ARG');
        assert.strictEqual(r.size, 1); // still there for the pending call
      }
      assert.strictEqual(await pending, 1);
      assert.strictEqual(r.size, 0);
    });

    it('elements detached (transferred) while an enqueueAsync() waits reject with the TypeError records mode gives, nothing enqueued', async () => {
      const r = ring(4, { elementSize: 8 });
      r.tryEnqueue(new Float64Array([1, 2, 3, 4])); // full
      const data = new Float64Array([5, 6]);
      const pending = r.enqueueAsync(data);
      const after = r.enqueueAsync(new Float64Array([7]));
      structuredClone(data.buffer, { transfer: [data.buffer] });
      const out = new Float64Array(4);
      assert.strictEqual(r.tryDequeueInto(out), 4);
      await assert.rejects(pending, (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG');
      await after;
      assert.strictEqual(r.tryDequeueInto(out), 1);
      assert.strictEqual(out[0], 7);
      assert.strictEqual(r.size, 0);
    });
  });

  describe('handles that take turns on one side', () => {
    // Each handle caches the other side's index. A handle that sat idle while another handle of
    // its side moved on holds a copy older than its own side's index: it must load the index
    // again, not take the distance for damage nor for room or messages.
    // A ring of 64 (bytes, or 4-byte elements) whose indices a first handle moved on by more than
    // the ring holds, and a second handle opened before that: { a, late, item }.
    function movedOn(elementSize) {
      const buffer = new SharedArrayBuffer(SpscRing.bytesFor(64, elementSize ? { elementSize } : undefined));
      const a = SpscRing.create({ buffer, capacity: 64, elementSize });
      const late = SpscRing.open({ buffer });
      const item = (i) => (elementSize ? new Uint32Array([i]) : `m${i}`);
      for (let i = 0; i < 100; i++) {
        a.enqueue(item(i));
        a.tryDequeue();
      }
      return { a, late, item };
    }

    it('a consumer handle opened before another consumed more than the ring holds reads on', () => {
      for (const elementSize of [0, 4]) {
        const { a, late, item } = movedOn(elementSize);
        a.enqueue(item(100));
        if (elementSize) {
          const out = new Uint32Array(2);
          assert.strictEqual(late.tryDequeueInto(out), 1);
          assert.strictEqual(out[0], 100);
        } else {
          assert.strictEqual(late.tryDequeue(), 'm100');
        }
        assert.strictEqual(late.tryDequeue(), undefined);
      }
    });

    it('a producer handle opened before another produced more than the ring holds finds the real room', () => {
      for (const elementSize of [0, 4]) {
        const { a, late, item } = movedOn(elementSize);
        let n = 0;
        while (late.tryEnqueue(item(n))) n++;
        assert.ok(n > 0);
        if (elementSize) assert.strictEqual(n, 64);
        assert.strictEqual(a.tryEnqueue(item(n)), false); // full for the handle that is up to date too
        for (let i = 0; i < n; i++) {
          const want = elementSize ? Buffer.from(item(i).buffer) : `m${i}`;
          assert.deepStrictEqual(a.tryDequeue(), want);
        }
      }
    });
  });

  describe('between threads', () => {
    it('passes 100000 numbered messages from a worker exactly once and in order', async function () {
      this.timeout(120000);
      const buffer = new SharedArrayBuffer(SpscRing.bytesFor(4096));
      const r = SpscRing.create({ buffer, capacity: 4096 });
      const N = 100000;
      const p = worker({ mode: 'spsc-produce', buffer, byteOffset: 0, count: N });
      let sum = 0;
      for (let i = 0; i < N; i++) {
        const m = i % 2 ? r.dequeue(30000) : await r.dequeueAsync({ timeoutMs: 30000 });
        assert.strictEqual(seqOf(m), i);
        sum += seqOf(m);
      }
      assert.strictEqual(sum, (N * (N - 1)) / 2);
      assert.strictEqual(await p.next(), 'done');
      await p.exited;
      assert.strictEqual(r.tryDequeue(), undefined);
    });

    it('a worker terminated while blocked in dequeue() leaves the ring usable', async () => {
      const buffer = new SharedArrayBuffer(SpscRing.bytesFor(64));
      const r = SpscRing.create({ buffer, capacity: 64 });
      const c = worker({ mode: 'spsc-block', buffer, byteOffset: 0 });
      assert.strictEqual(await c.next(), 'waiting');
      await new Promise((res) => setTimeout(res, 50));
      await c.w.terminate();
      r.tryEnqueue('still works');
      const other = SpscRing.open({ buffer });
      assert.strictEqual(other.tryDequeue(), 'still works');
    });
  });

  withAddon('native (C++) and JS parties on the same bytes', () => {
    it('a C++ producer thread and a JS consumer pass 200000 messages exactly once, in order', async function () {
      this.timeout(120000);
      const bytes = SpscRing.bytesFor(8192);
      const buffer = new SharedArrayBuffer(bytes);
      const r = SpscRing.create({ buffer, capacity: 8192, startPosition: 2 ** 32 - 4096 });
      const N = 200000;
      const done = addon.msgSpscProduce(new Uint8Array(buffer, 0, bytes), N, 32);
      let sum = 0;
      for (let i = 0; i < N; i++) {
        const m = i % 3 ? r.dequeue(30000) : await r.dequeueAsync({ timeoutMs: 30000 });
        assert.strictEqual(m.length, 32);
        assert.strictEqual(nativeSeq(m), i);
        assert.strictEqual(nativeFill(m), i & 255);
        sum += i;
      }
      assert.strictEqual(await done, N);
      assert.strictEqual(sum, (N * (N - 1)) / 2);
    });

    it('a JS producer and a C++ consumer thread: the C++ sum matches', async function () {
      this.timeout(120000);
      const bytes = SpscRing.bytesFor(1024);
      const buffer = new SharedArrayBuffer(bytes);
      const r = SpscRing.create({ buffer, capacity: 1024 });
      const N = 100000;
      const done = addon.msgSpscConsume(new Uint8Array(buffer, 0, bytes), N);
      for (let i = 0; i < N; i++) {
        const b = nativeMessage(i, 12);
        if (!r.tryEnqueue(b)) await r.enqueueAsync(b, { timeoutMs: 30000 });
      }
      assert.deepStrictEqual(await done, { count: N, sum: (N * (N - 1)) / 2 });
    });

    // docs/api.md `segment.close()`: a native job counts as a user of the memory, as a worker
    // that holds the buffer does (case 3), so closing the segment in the job's thread does not
    // swap the pages for private zeros under the job.
    it('segment.close() while a C++ consumer thread runs on the segment: the pages stay shared, the job gets every message', async function () {
      this.timeout(120000);
      const name = uniqueName('spsc-native-close');
      try {
        const bytes = SpscRing.bytesFor(1024);
        const seg = Segment.create({ name, size: bytes });
        SpscRing.create({ buffer: seg.buffer, capacity: 1024 }).close();
        const N = 20000;
        const done = addon.msgSpscConsume(new Uint8Array(seg.buffer, 0, bytes), N);
        seg.close(); // no handle of this thread holds the buffer, no worker has it: only the job
        assert.throws(() => seg.buffer, { code: 'ERR_CLOSED' });
        const r = SpscRing.open({ name }); // a mapping of its own
        for (let i = 0; i < N; i++) {
          const b = nativeMessage(i, 12);
          if (!r.tryEnqueue(b)) await r.enqueueAsync(b, { timeoutMs: 30000 });
        }
        assert.deepStrictEqual(await done, { count: N, sum: (N * (N - 1)) / 2 });
        r.close();
      } finally {
        removeShm(name);
      }
    });

    it('the native entry points check their arguments', () => {
      assert.throws(() => addon.msgSpscProduce(new Uint8Array(64), 1, 8), TypeError);
      assert.throws(() => addon.msgSpscProduce(new Uint8Array(new SharedArrayBuffer(512)), 1, 8), (e) => e.code === 'ERR_BAD_MAGIC');
      const buffer = new SharedArrayBuffer(SpscRing.bytesFor(64));
      SpscRing.create({ buffer, capacity: 64 });
      assert.throws(() => addon.msgSpscProduce(new Uint8Array(buffer), 1, 29), (e) => e.code === 'ERR_MESSAGE_TOO_LARGE');
    });
  });

  withAddon('between processes (a segment)', () => {
    it('a child process produces 50000 messages, the parent consumes them in order', async function () {
      this.timeout(120000);
      const name = uniqueName('spsc');
      const r = SpscRing.create({ name, capacity: 4096 });
      try {
        const N = 50000;
        const child = runNode(CHILD, ['spsc-produce', name, String(N)]);
        let sum = 0;
        for (let i = 0; i < N; i++) {
          const m = await r.dequeueAsync({ timeoutMs: 60000 });
          assert.strictEqual(seqOf(m), i);
          sum += i;
        }
        const res = await child;
        assert.strictEqual(res.code, 0, res.stderr);
        assert.strictEqual(sum, (N * (N - 1)) / 2);
      } finally {
        r.close();
        removeShm(name);
      }
    });

    it('a producer killed with SIGKILL leaves no partial message: a new producer continues', async function () {
      this.timeout(120000);
      const name = uniqueName('spsc-kill');
      const r = SpscRing.create({ name, capacity: 1024 });
      try {
        const child = spawn(process.execPath, [CHILD, 'spsc-produce', name, '1000000'], { stdio: ['ignore', 'pipe', 'inherit'] });
        const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal || code)));
        // Consume until a random point past the start, then kill the producer mid-stream.
        const stopAt = 2000 + Math.floor(Math.random() * 20000);
        let next = 0;
        while (next < stopAt) {
          const m = await r.dequeueAsync({ timeoutMs: 60000 });
          assert.strictEqual(seqOf(m), next++);
        }
        child.kill('SIGKILL');
        assert.strictEqual(await exited, 'SIGKILL');
        // Whatever it published is whole and in order; nothing after.
        let m;
        while ((m = r.tryDequeue()) !== undefined) assert.strictEqual(seqOf(m), next++);
        const res = runNode(CHILD, ['spsc-produce', name, String(next + 5000), String(next)]);
        for (let i = 0; i < 5000; i++) assert.strictEqual(seqOf(await r.dequeueAsync({ timeoutMs: 60000 })), next++);
        assert.strictEqual((await res).code, 0, (await res).stderr);
        assert.strictEqual(r.tryDequeue(), undefined);
      } finally {
        r.close();
        removeShm(name);
      }
    });

    // docs/api.md, SpscRing: a consumer that dies in the middle of a dequeue leaves the ring
    // holding exactly the messages not yet released, and a new consumer continues. A consumer
    // marks a message received once its dequeue returned, so one killed after releasing a message
    // and before marking it took that message with it (at most one per kill); one killed before
    // releasing it left it for the next consumer. Never a message twice, never one skipped.
    it('consumers killed with SIGKILL at random moments while busy: each new consumer continues, every message received once but at most one per kill', async function () {
      this.timeout(120000);
      const name = uniqueName('spsc-consumer-kill');
      const bName = uniqueName('spsc-consumer-kill-board');
      const kills = 6;
      const N = 1 << 21; // more messages than the test sends
      // A ring of some 80000 messages: a backlog the consumer works on even while the test's
      // thread does not run.
      const r = SpscRing.create({ name, capacity: 1 << 20 });
      const seg = Segment.create({ name: bName, size: Scoreboard.bytesFor(N) });
      const board = new Scoreboard(seg.buffer);
      try {
        let next = 0; // the number of the next message the test sends
        // The test's thread keeps the ring from running empty: the consumer never waits long.
        const produce = () => {
          for (let j = 0; j < 512 && next < N && r.tryEnqueue(numbered(0, next)); j++) next++;
        };
        let busy = 0;
        for (let k = 0; k < kills; k++) {
          const c = spawnChild(CHILD, ['spsc-consume-marked', name, bName]);
          const started = board.receivedCount();
          await until(() => { produce(); return board.receivedCount() > started; }, 'a consumer running', 60000);
          const busyUntil = Date.now() + 10 + Math.floor(Math.random() * 40);
          while (Date.now() < busyUntil) produce();
          // The kill comes while messages are queued: a consumer that drained the ring while this
          // thread was off its core gets more first.
          for (const end = Date.now() + 5000; r.size === 0 && Date.now() < end;) produce();
          if (r.size > 0) busy++; // it had messages to take: not asleep on an empty ring
          c.c.kill('SIGKILL');
          const e = await c.exited;
          assert.strictEqual(e.signal, 'SIGKILL', e.err);
        }
        // The last new consumer is the test's thread: it takes the rest, in order.
        let last = -1;
        for (let id = 0; id < N; id++) if (board.received[id] > 0) last = id;
        let m;
        while ((m = r.tryDequeue()) !== undefined) {
          const i = seqOf(m);
          assert.ok(i > last, `${i} after ${last}`);
          board.markReceived((last = i));
        }
        assert.strictEqual(last, next - 1); // nothing left behind, nothing skipped at the end
        let lost = 0;
        for (let id = 0; id < next; id++) {
          assert.ok(board.received[id] <= 1, `message ${id} received ${board.received[id]} times`);
          lost += board.received[id] === 0 ? 1 : 0;
        }
        for (let id = next; id < N; id++) assert.strictEqual(board.received[id], 0);
        console.log(`      ${kills} consumers killed (${busy} with messages queued): ${next} messages sent, ` +
          `${lost} taken by a killed consumer unmarked`);
        assert.ok(lost <= kills, `${lost} messages missing after ${kills} kills`);
        assert.strictEqual(busy, kills); // each was killed busy, with messages to take
      } finally {
        r.close();
        seg.close();
        removeShm(name);
        removeShm(bName);
      }
    });
  });
});
