'use strict';
// Stack (docs/api.md "Stack"; bytes and protocol: docs/format.md §15, "Stack").
const assert = require('assert');
const { Stack, MpmcQueue, Registry, ShmError } = require('../../index');
const { C, S, W } = require('../../lib/layout/layout');
const { OwnerTable, identityOf } = require('../../lib/ownership/owners');
const L = require('../../lib/msg/stack-lists');
const { exitedPid } = require('../helpers/process');
const { duringFirstVerdict } = require('../helpers/verdicts');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const U64 = BigUint64Array.BYTES_PER_ELEMENT;

function stack(capacity, messageBytes = 64) {
  const buffer = new SharedArrayBuffer(Stack.bytesFor(capacity, { messageBytes }));
  return { buffer, s: Stack.create({ buffer, capacity, messageBytes }) };
}

// The view of the lists stack-lists.js works on, over a stack in `buffer` (format.md §15).
function lists(buffer, capacity, messageBytes) {
  const stride = (Stack.bytesFor(capacity, { messageBytes }) - Stack.NODES_OFFSET) / capacity;
  const u32 = new Uint32Array(buffer);
  const base = Stack.NODES_OFFSET / WORD - stride / WORD;
  const strideWords = stride / WORD;
  return { u32, u64: new BigUint64Array(buffer, 0, Stack.NODES_OFFSET / U64), capacity, base, strideWords, stateIndex: (n) => base + n * strideWords };
}

// An owner record of a process that exited: a party killed in the middle of an operation.
function deadOwner(buffer, pid = exitedPid()) {
  const owners = new OwnerTable(new Uint32Array(buffer), C.STACK_OWNERS_OFFSET / WORD, C.STACK_OWNER_SLOTS);
  return owners.claim(identityOf(pid, 1));
}

describe('Stack', () => {
  it('is last in, first out, with strings, bytes and JSON values, and says when full or empty', () => {
    const { s } = stack(4);
    assert.strictEqual(s.tryPop(), undefined);
    assert.strictEqual(s.peek(), undefined);
    assert.ok(s.tryPush('a'));
    assert.ok(s.tryPush(Buffer.from([1, 2, 3])));
    assert.ok(s.tryPush({ n: 1, list: [true, null] }));
    assert.ok(s.tryPush(new Uint16Array([7])));
    assert.strictEqual(s.tryPush('full'), false);
    assert.strictEqual(s.size, 4);
    assert.deepStrictEqual(s.peek(), Buffer.from(new Uint16Array([7]).buffer));
    assert.deepStrictEqual(s.tryPop(), Buffer.from(new Uint16Array([7]).buffer));
    assert.deepStrictEqual(s.tryPop(), { n: 1, list: [true, null] });
    assert.deepStrictEqual(s.tryPop(), Buffer.from([1, 2, 3]));
    assert.strictEqual(s.pop(1000), 'a');
    assert.strictEqual(s.size, 0);
    assert.throws(() => s.pop(10), (e) => e instanceof ShmError && e.code === 'ERR_QUEUE_TIMEOUT' && e.status === 35);
    s.close();
  });

  it('bytes come back as Buffers of their own: neither the node used again nor a write into one changes another', () => {
    // Lengths from none to past half of Buffer's pool (small copies share the pool, large ones not).
    const lengths = [0, 1, 48, Buffer.poolSize / 2 + 1];
    const { s } = stack(2, Buffer.poolSize);
    for (const length of lengths) {
      const bytes = Buffer.alloc(length, length & 0xff);
      s.push(bytes);
      const peeked = s.peek();
      const popped = s.pop();
      assert.ok(Buffer.isBuffer(peeked) && Buffer.isBuffer(popped));
      assert.deepStrictEqual(peeked, bytes);
      assert.deepStrictEqual(popped, bytes);
      s.push(Buffer.alloc(length, 0xee)); // the same node, written over
      popped.fill(0x11);
      assert.deepStrictEqual(peeked, bytes);
      assert.deepStrictEqual(s.pop(), Buffer.alloc(length, 0xee));
    }
    s.close();
  });

  it('a second handle (another thread or process) sees the same stack; closed handles refuse', () => {
    const { buffer, s } = stack(8);
    const t = Stack.open({ buffer });
    s.push('x');
    assert.strictEqual(t.capacity, 8);
    assert.strictEqual(t.messageBytes, 64);
    assert.strictEqual(t.tryPop(), 'x');
    t.close();
    t.close();
    assert.throws(() => t.tryPop(), { code: 'ERR_CLOSED' });
    s.close();
  });

  it('refuses bad arguments with clear errors and leaves the stack unchanged', () => {
    for (const bad of [0, 1, 3, 2 ** 21]) assert.throws(() => Stack.bytesFor(bad), RangeError);
    assert.throws(() => Stack.bytesFor(4, { messageBytes: 0 }), RangeError);
    assert.throws(() => Stack.bytesFor(4, { other: 1 }), TypeError);
    assert.throws(() => Stack.create({ buffer: new SharedArrayBuffer(64), capacity: 4 }), RangeError);
    assert.throws(() => Stack.create({ capacity: 4 }), TypeError);
    const { buffer, s } = stack(2, 8);
    s.push('ok');
    assert.throws(() => s.tryPush('123456789'), (e) => e.code === 'ERR_MESSAGE_TOO_LARGE' && e.status === 36);
    assert.throws(() => s.tryPush(undefined), TypeError);
    assert.throws(() => s.tryPush(() => 1), TypeError);
    assert.throws(() => s.pop(-1), RangeError);
    assert.throws(() => s.push('x', 'soon'), TypeError);
    assert.strictEqual(s.size, 1);
    assert.strictEqual(s.tryPop(), 'ok');
    const q = MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(2)), capacity: 2 });
    assert.throws(() => Stack.open({ buffer: q.buffer }), (e) => e.code === 'ERR_BAD_MAGIC' && /an MPMC queue, not a stack/.test(e.message));
    assert.throws(() => Stack.open({ buffer: new SharedArrayBuffer(Stack.NODES_OFFSET) }), { code: 'ERR_BAD_MAGIC' });
    assert.throws(() => Stack.open({ buffer: buffer.slice(0, Stack.NODES_OFFSET) }), { code: 'ERR_BAD_SIZE' });
    q.close();
    s.close();
  });

  it('the Promise forms wait without blocking the event loop, time out and abort', async () => {
    const { s } = stack(2);
    const popped = s.popAsync({ timeoutMs: 5000 });
    let ticks = 0;
    await new Promise((r) => setTimeout(r, 20));
    ticks++;
    s.push('late');
    assert.strictEqual(await popped, 'late');
    assert.strictEqual(ticks, 1);
    await assert.rejects(s.popAsync({ timeoutMs: 10 }), { code: 'ERR_QUEUE_TIMEOUT' });
    s.push(1);
    s.push(2);
    await assert.rejects(s.pushAsync(3, { timeoutMs: 10 }), { code: 'ERR_QUEUE_TIMEOUT' });
    const ac = new AbortController();
    const p = s.pushAsync(3, { signal: ac.signal });
    ac.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
    const later = s.pushAsync(4, { timeoutMs: 5000 });
    assert.strictEqual(s.tryPop(), 2);
    await later;
    assert.deepStrictEqual([s.tryPop(), s.tryPop(), s.tryPop()], [4, 1, undefined]);
    s.close();
  });

  describe('parties that are gone (format.md §15, "Stack")', () => {
    it('a node taken by a pusher that died is taken back: a full stack can be filled again', () => {
      const { buffer, s } = stack(4, 16);
      const r = lists(buffer, 4, 16);
      const dead = deadOwner(buffer);
      const n = L.take(r, L.FREE_LIST, dead); // taken from the free list, never pushed
      assert.ok(n > 0);
      for (let i = 0; i < 3; i++) assert.ok(s.tryPush(i));
      assert.ok(s.tryPush(3)); // the push that finds no free node takes back the dead party's
      assert.deepStrictEqual(s.lost, { pushes: 1, pops: 0 });
      assert.deepStrictEqual([s.tryPop(), s.tryPop(), s.tryPop(), s.tryPop(), s.tryPop()], [3, 2, 1, 0, undefined]);
      s.close();
    });

    it("an opener that finds the owner table full adopts a gone owner's record and takes back the node it held", () => {
      const { buffer, s } = stack(4, 16);
      const r = lists(buffer, 4, 16);
      const dead = [];
      const pid = exitedPid();
      for (let k = 1; k < C.STACK_OWNER_SLOTS - 1; k++) dead.push(deadOwner(buffer, pid));
      assert.strictEqual(deadOwner(buffer, pid), 0); // the table is full
      const n = L.take(r, L.FREE_LIST, dead[0]);
      assert.ok(n > 0);
      const t = Stack.open({ buffer });
      assert.deepStrictEqual(t.lost, { pushes: 1, pops: 0 });
      for (let i = 0; i < 4; i++) assert.ok(t.tryPush(i));
      assert.strictEqual(t.tryPush('no room'), false);
      t.close();
      s.close();
    });

    it('takes back no node of a party that claimed the record of one that closed while it was judged', () => {
      // A party puts its node back and closes as the pass judges its record (which then reads as
      // released: gone), and its thread opens the stack again at once, gets the same record and
      // takes two nodes. The pass kept its verdict for that record and took the new party's node
      // from it (counted lost, then freed twice).
      const { buffer, s } = stack(4, 16);
      const r = lists(buffer, 4, 16);
      const owners = new OwnerTable(new Uint32Array(buffer), C.STACK_OWNERS_OFFSET / WORD, C.STACK_OWNER_SLOTS);
      const a = Stack.open({ buffer });
      const slot = 2; // the lowest free record after s's
      assert.ok(owners.read(slot).pid === process.pid && owners.read(slot + 1).pid === 0);
      const first = L.take(r, L.FREE_LIST, slot); // a node `a` is pushing
      let b = null;
      let nodes = [];
      const { result } = duringFirstVerdict(() => {
        L.put(r, L.FREE_LIST, slot, first);
        a.close();
      }, () => {
        b = Stack.open({ buffer });
        nodes = [L.take(r, L.FREE_LIST, slot), L.take(r, L.FREE_LIST, slot)];
      }, () => s.reclaim());
      assert.strictEqual(result, 0);
      assert.deepStrictEqual(s.lost, { pushes: 0, pops: 0 });
      for (const n of nodes) L.put(r, L.FREE_LIST, slot, n);
      for (let i = 0; i < 4; i++) assert.ok(s.tryPush(i));
      assert.strictEqual(s.tryPush('no room'), false);
      b.close();
      s.close();
    });

    it('a pop announced by a party that died is finished by the next party, and its node is taken back', () => {
      const { buffer, s } = stack(4, 16);
      const r = lists(buffer, 4, 16);
      s.push('a');
      s.push('b');
      const dead = deadOwner(buffer);
      // What a popper leaves when it dies right after its announcing CAS (format.md §15).
      const top = (C.STACK_CONTROL_OFFSET + S.STACK_CONTROL.TOP) / U64;
      const h = Atomics.load(r.u64, top);
      const low = Number(h & 0xffffffffn);
      const announced = BigInt((low | (C.STACK_OP_POP << C.STACK_OP_SHIFT) | (dead << C.STACK_OWNER_SHIFT)) >>> 0) |
        (((h >> 32n) + 1n) << 32n); // layout-ok: the head's tag is its high half (format.md §15)
      assert.strictEqual(Atomics.compareExchange(r.u64, top, h, announced), h);
      assert.strictEqual(s.peek(), 'a'); // 'b' went with the dead popper
      assert.strictEqual(s.size, 1);
      assert.strictEqual(s.reclaim(), 1);
      assert.deepStrictEqual(s.lost, { pushes: 0, pops: 1 });
      assert.strictEqual(s.reclaim(), 0);
      for (let i = 0; i < 3; i++) assert.ok(s.tryPush(i));
      assert.strictEqual(s.tryPush('no room'), false);
      s.close();
    });

    it('size is the depth of the top node, not the `stacked` count that a party killed between its CAS and the count leaves off', () => {
      const { buffer, s } = stack(4, 16);
      const u32 = new Uint32Array(buffer);
      assert.ok(s.tryPush('a'));
      // The party that finished the push was killed after its CAS of `top`, before adding 1.
      Atomics.sub(u32, L.SIZE, 1);
      assert.strictEqual(s.size, 1);
      assert.strictEqual(s.tryPop(), 'a'); // the count wraps below 0
      assert.strictEqual(s.size, 0);
      assert.ok(s.tryPush('b')); // the count 0, one message stacked
      assert.strictEqual(s.size, 1);
      assert.ok(s.tryPush('c'));
      assert.strictEqual(s.tryPop(), 'c');
      // The party that finished that pop was killed before subtracting 1: one too many.
      Atomics.add(u32, L.SIZE, 1);
      assert.strictEqual(s.size, 1);
      assert.ok(s.tryPush('d'));
      assert.strictEqual(s.size, 2);
      // A top node whose depth is not 1 to the capacity (damage: a stray write) is refused.
      const r = lists(buffer, 4, 16);
      const top = L.first(r, L.STACK);
      Atomics.store(u32, r.stateIndex(top) + W.STACK_NODE.DEPTH, 5);
      assert.throws(() => s.size, (e) => e.code === 'ERR_CORRUPT');
      Atomics.store(u32, r.stateIndex(top) + W.STACK_NODE.DEPTH, 0);
      assert.throws(() => s.size, (e) => e.code === 'ERR_CORRUPT');
      s.close();
    });

    it('size reads one node whatever the depth: nodes below the top are not walked', () => {
      const { buffer, s } = stack(8, 16);
      const r = lists(buffer, 8, 16);
      for (let i = 0; i < 8; i++) assert.ok(s.tryPush(i));
      assert.strictEqual(s.size, 8);
      // The node under the top made to name itself: a walk of the list would not end within the
      // capacity; the size does not go there (a pop would, and finds the damage then).
      const top = L.first(r, L.STACK);
      const below = Atomics.load(r.u32, r.stateIndex(top) + W.STACK_NODE.NEXT);
      Atomics.store(r.u32, r.stateIndex(below) + W.STACK_NODE.NEXT, below);
      assert.strictEqual(s.size, 8);
      s.close();
    });

    it('a pushed node announced by a party that died is pushed by the next party (delivered, not lost)', () => {
      const { buffer, s } = stack(4, 16);
      const r = lists(buffer, 4, 16);
      const dead = deadOwner(buffer);
      const n = L.take(r, L.FREE_LIST, dead);
      const at = r.stateIndex(n);
      // Its payload: 'z' as a UTF-8 record (format.md §15, Records).
      Buffer.from(buffer).write('z', at * WORD + C.STACK_NODE_HEADER_BYTES);
      Atomics.store(r.u32, at + W.STACK_NODE.RECORD, (C.MSG_TAG_UTF8 << C.MSG_TAG_SHIFT) | 1);
      const top = (C.STACK_CONTROL_OFFSET + S.STACK_CONTROL.TOP) / U64;
      const h = Atomics.load(r.u64, top);
      Atomics.store(r.u32, at + W.STACK_NODE.NEXT, 0); // the stack was empty
      Atomics.store(r.u32, at + W.STACK_NODE.DEPTH, 1); // so the node is the only one
      const announced = BigInt((n | (C.STACK_OP_PUSH << C.STACK_OP_SHIFT) | (dead << C.STACK_OWNER_SHIFT)) >>> 0) |
        (((h >> 32n) + 1n) << 32n); // layout-ok: the head's tag is its high half
      assert.strictEqual(Atomics.compareExchange(r.u64, top, h, announced), h);
      assert.strictEqual(s.size, 1);
      assert.strictEqual(s.tryPop(), 'z');
      assert.strictEqual(s.reclaim(), 0);
      assert.deepStrictEqual(s.lost, { pushes: 0, pops: 0 });
      s.close();
    });
  });

  it('size, read while workers push and pop, is always a number of messages the stack held; exact once they stop', async () => {
    const { Worker } = require('worker_threads');
    const capacity = 16;
    const { buffer, s } = stack(capacity, 16);
    for (let i = 0; i < 8; i++) s.push(i);
    // Each worker pops one message and pushes one back, so the stack holds 7 or 8 messages per
    // worker in the middle of a round: with two workers, always 6 to 8.
    const code = `
      const { workerData } = require('worker_threads');
      const { Stack } = require(${JSON.stringify(require.resolve('../../index'))});
      const s = Stack.open({ buffer: workerData.buffer });
      const stop = new Int32Array(workerData.stop);
      let rounds = 0;
      while (Atomics.load(stop, 0) === 0 || rounds < 1000) { s.push(s.pop(10000), 10000); rounds++; }
      s.close();`;
    const stop = new SharedArrayBuffer(4);
    const workers = [0, 1].map(() => new Worker(code, { eval: true, workerData: { buffer, stop } }));
    const ended = workers.map((w) => new Promise((resolve, reject) => { w.on('exit', resolve); w.on('error', reject); }));
    const seen = new Set();
    for (let i = 0; i < 20000; i++) seen.add(s.size);
    Atomics.store(new Int32Array(stop), 0, 1);
    await Promise.all(ended);
    for (const n of seen) assert.ok(n >= 6 && n <= 8, `size ${n}`);
    assert.strictEqual(s.size, 8);
    s.close();
  });

  it('is of format version 2 (the registry records it), and a stack of version 1 (nodes without a depth) is refused', () => {
    const { buffer, s } = stack(4);
    const version = (C.MSG_HEADER_OFFSET + S.MSG_HEADER.VERSION) / WORD;
    const u32 = new Uint32Array(buffer);
    assert.strictEqual(Atomics.load(u32, version), 2);
    Atomics.store(u32, version, 1);
    assert.throws(() => Stack.open({ buffer }), (e) => e instanceof ShmError && e.code === 'ERR_BAD_VERSION' && /create it again/.test(e.message));
    s.close();
    const registry = Registry.create({ buffer: new SharedArrayBuffer(1 << 20), maxEntries: 4 });
    registry.create('stack', 'work', { capacity: 8 }).close();
    assert.strictEqual(registry.list().find((e) => e.name === 'work').version, 2);
    registry.close();
  });

  it("is a registry kind: 'stack'", () => {
    const registry = Registry.create({ buffer: new SharedArrayBuffer(1 << 20), maxEntries: 4 });
    const a = registry.create('stack', 'work', { capacity: 8, messageBytes: 32 });
    a.push({ job: 1 });
    const b = registry.open('stack', 'work');
    assert.deepStrictEqual(b.pop(1000), { job: 1 });
    assert.deepStrictEqual(registry.list().find((e) => e.name === 'work').options, { capacity: 8, messageBytes: 32 });
    assert.throws(() => registry.create('stack', 'bad', { capacity: 3 }), RangeError);
    registry.close();
  });
});
