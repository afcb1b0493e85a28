'use strict';
// PriorityQueue (docs/api.md "PriorityQueue"; bytes and protocol: docs/format.md §15, "Priority queue").
const assert = require('assert');
const { Worker } = require('worker_threads');
const { PriorityQueue, Stack, Mutex, Registry, ShmError } = require('../../index');
const { C, W } = require('../../lib/layout/layout');
const { addon } = require('../../lib/base/native');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const COUNT = C.PQ_CONTROL_OFFSET / WORD + W.PQ_CONTROL.COUNT;

function pq(capacity, options = {}) {
  const buffer = new SharedArrayBuffer(PriorityQueue.bytesFor(capacity, { messageBytes: options.messageBytes ?? 64 }));
  return { buffer, q: PriorityQueue.create({ buffer, capacity, messageBytes: 64, ...options }) };
}

describe('PriorityQueue', () => {
  it("'max' (the default) dequeues the largest priority first, FIFO among equal priorities", () => {
    const { q } = pq(16);
    assert.strictEqual(q.order, 'max');
    const sent = [['a', 1], ['b', 5], ['c', 1], ['d', 5], ['e', -3.5], ['f', 5], ['g', 0], ['h', 1e300]];
    for (const [v, p] of sent) assert.ok(q.tryEnqueue(v, p));
    assert.strictEqual(q.size, 8);
    assert.strictEqual(q.peek(), 'h');
    const out = [];
    for (let v = q.tryDequeue(); v !== undefined; v = q.tryDequeue()) out.push(v);
    assert.deepStrictEqual(out, ['h', 'b', 'd', 'f', 'a', 'c', 'g', 'e']);
    q.close();
  });

  it("'min' dequeues the smallest first; 1000 random priorities come out sorted and stable", () => {
    const { q } = pq(1024, { order: 'min', messageBytes: 32 });
    const items = [];
    for (let i = 0; i < 1000; i++) {
      const p = Math.floor(Math.random() * 40);
      items.push({ i, p });
      q.enqueue({ i, p }, p);
    }
    const expected = items.slice().sort((a, b) => a.p - b.p || a.i - b.i);
    const got = [];
    for (let k = 0; k < 1000; k++) got.push(q.dequeue(1000));
    assert.deepStrictEqual(got, expected);
    assert.strictEqual(q.tryDequeue(), undefined);
    q.close();
  });

  it('says when full, and refuses bad arguments with clear errors leaving the queue unchanged', () => {
    for (const bad of [0, 1, 3, 2 ** 21]) assert.throws(() => PriorityQueue.bytesFor(bad), RangeError);
    assert.throws(() => PriorityQueue.bytesFor(4, { messageBytes: 0 }), RangeError);
    assert.throws(() => pq(4, { order: 'lowest' }), TypeError);
    const { buffer, q } = pq(2, { messageBytes: 8 });
    assert.ok(q.tryEnqueue('x', 1));
    // The message says what is wanted (not a bound that NaN or Infinity would seem to meet).
    for (const bad of [NaN, Infinity, -Infinity]) {
      assert.throws(() => q.tryEnqueue('y', bad), (e) => e instanceof RangeError && e.code === 'ERR_INVALID_ARG' &&
        e.message === `The "priority" argument must be a finite number. Received ${bad}`);
    }
    for (const bad of ['1', undefined, 1n]) assert.throws(() => q.tryEnqueue('y', bad), TypeError);
    assert.throws(() => q.tryEnqueue('123456789', 1), (e) => e instanceof ShmError && e.code === 'ERR_MESSAGE_TOO_LARGE');
    assert.throws(() => q.tryEnqueue(undefined, 1), TypeError);
    assert.ok(q.tryEnqueue('y', 2));
    assert.strictEqual(q.tryEnqueue('z', 3), false);
    assert.throws(() => q.enqueue('z', 3, 10), (e) => e.code === 'ERR_QUEUE_TIMEOUT' && e.status === 35);
    assert.deepStrictEqual([q.tryDequeue(), q.tryDequeue(), q.tryDequeue()], ['y', 'x', undefined]);
    const s = Stack.create({ buffer: new SharedArrayBuffer(Stack.bytesFor(2)), capacity: 2 });
    assert.throws(() => PriorityQueue.open({ buffer: s.buffer }), { code: 'ERR_BAD_MAGIC' });
    s.close();
    const other = PriorityQueue.open({ buffer });
    other.close();
    assert.throws(() => other.peek(), { code: 'ERR_CLOSED' });
    q.close();
  });

  it('the Promise forms wait without blocking the event loop, time out and abort', async () => {
    const { q } = pq(2);
    const first = q.dequeueAsync({ timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 20));
    q.enqueue('late', 1);
    assert.strictEqual(await first, 'late');
    await assert.rejects(q.dequeueAsync({ timeoutMs: 10 }), { code: 'ERR_QUEUE_TIMEOUT' });
    q.enqueue('a', 1);
    q.enqueue('b', 2);
    await assert.rejects(q.enqueueAsync('c', 3, { timeoutMs: 10 }), { code: 'ERR_QUEUE_TIMEOUT' });
    const ac = new AbortController();
    const p = q.enqueueAsync('c', 3, { signal: ac.signal });
    ac.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
    const later = q.enqueueAsync('d', 3, { timeoutMs: 5000 });
    assert.strictEqual(q.tryDequeue(), 'b');
    await later;
    assert.deepStrictEqual([q.tryDequeue(), q.tryDequeue()], ['d', 'a']);
    q.close();
  });

  (addon ? it : it.skip)('a holder of the mutex that died with the heap half updated: the next holder rebuilds it', async () => {
    const { buffer, q } = pq(8, { order: 'min' });
    for (const [v, p] of [['c', 3], ['a', 1], ['b', 2]]) q.enqueue(v, p);
    // A worker takes the queue's mutex, breaks the heap's count as a holder killed halfway
    // would leave it, and ends without unlocking (its owner record is then marked dead).
    const code = `
      const { workerData, parentPort } = require('worker_threads');
      const { Mutex } = require(${JSON.stringify(require.resolve('../../index'))});
      const m = Mutex.open({ buffer: workerData.buffer, byteOffset: workerData.at });
      m.lock();
      Atomics.store(new Uint32Array(workerData.buffer), workerData.count, 0);
      parentPort.postMessage('broken');
      setInterval(() => {}, 1000);`;
    const w = new Worker(code, { eval: true, workerData: { buffer, at: C.PQ_MUTEX_OFFSET, count: COUNT } });
    await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    await w.terminate();
    assert.strictEqual(q.rebuilds, 0);
    assert.deepStrictEqual([q.dequeue(5000), q.dequeue(5000), q.dequeue(5000)], ['a', 'b', 'c']);
    assert.strictEqual(q.rebuilds, 1);
    assert.ok(q.tryEnqueue('d', 0));
    assert.strictEqual(q.tryDequeue(), 'd');
    assert.strictEqual(Mutex.open({ buffer, byteOffset: C.PQ_MUTEX_OFFSET }).recoveries, 1);
    q.close();
  });

  it('texts about the size of a message: written and read back whole, or refused with the queue unchanged', () => {
    // A Stack and a PriorityQueue of 64-byte messages: texts on either side of the sizes where the
    // writes change ways (16 units, a third of the bytes, 64 bytes), ASCII or not; up to 64 bytes
    // go, one more byte is refused.
    const texts = ['a'.repeat(16), 'b'.repeat(17), 'c'.repeat(64), '€'.repeat(21), 'é'.repeat(32), 'x😀'.repeat(10), `${'d'.repeat(62)}é`];
    const tooLarge = ['e'.repeat(65), '€'.repeat(22), 'é'.repeat(33), `${'f'.repeat(63)}é`, '😀'.repeat(17)];
    const s = Stack.create({ buffer: new SharedArrayBuffer(Stack.bytesFor(4, { messageBytes: 64 })), capacity: 4, messageBytes: 64 });
    const { q } = pq(4);
    for (const text of texts) {
      assert.ok(s.tryPush(text));
      s.push(text);
      assert.deepStrictEqual([s.tryPop(), s.pop()], [text, text]);
      assert.ok(q.tryEnqueue(text, 1));
      q.enqueue(text, 1);
      assert.deepStrictEqual([q.tryDequeue(), q.dequeue()], [text, text]);
    }
    for (const text of tooLarge) {
      for (const send of [() => s.tryPush(text), () => s.push(text), () => q.tryEnqueue(text, 1), () => q.enqueue(text, 1)]) {
        assert.throws(send, (e) => e instanceof ShmError && e.code === 'ERR_MESSAGE_TOO_LARGE');
      }
    }
    assert.strictEqual(s.size, 0);
    assert.strictEqual(q.size, 0);
    s.close();
    q.close();
  });

  it("is a registry kind: 'priority-queue'", () => {
    const registry = Registry.create({ buffer: new SharedArrayBuffer(1 << 20), maxEntries: 4 });
    const a = registry.create('priority-queue', 'jobs', { capacity: 8, messageBytes: 32, order: 'min' });
    a.enqueue({ job: 2 }, 2);
    a.enqueue({ job: 1 }, 1);
    const b = registry.open('priority-queue', 'jobs');
    assert.strictEqual(b.order, 'min');
    assert.deepStrictEqual(b.dequeue(1000), { job: 1 });
    assert.deepStrictEqual(registry.list().find((e) => e.name === 'jobs').options, { capacity: 8, messageBytes: 32, order: 'min' });
    assert.throws(() => registry.create('priority-queue', 'bad', { capacity: 3 }), RangeError);
    registry.close();
  });
});
