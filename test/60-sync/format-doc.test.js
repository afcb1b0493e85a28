'use strict';
// docs/format.md §13 claims to specify the sync region exactly enough for an independent reader.
// layout-ok-file: this file reads the region with the document's offsets on purpose, never
// lib/layout/layout.js (a layout that drifted from docs/format.md must fail here).
const assert = require('assert');
const { threadId } = require('worker_threads');
const { Mutex, RwLock, Condition, Semaphore, Barrier, WaitGroup } = require('../../index');

// The region as the document describes it, read from its bytes.
function readRegion(buffer, byteOffset = 0) {
  const dv = new DataView(buffer, byteOffset, 8384);
  const u32 = (at) => dv.getUint32(at, true);
  const lock = u32(64);
  const owner = (o) => ({
    pid: u32(192 + 32 * o),
    tid: u32(192 + 32 * o + 4),
    startTime: dv.getBigUint64(192 + 32 * o + 8, true),
    bootId: dv.getBigUint64(192 + 32 * o + 16, true),
    state: u32(192 + 32 * o + 24),
  });
  return {
    magic: u32(0), kind: u32(4), version: u32(8),
    lock, held: (lock & 1) === 1, slot: lock >>> 20, lockVersion: lock & 0xfffff,
    generation: u32(68), recovering: u32(72), waiters: u32(128), owner,
  };
}

describe('Mutex: the sync region of docs/format.md §13', () => {
  it('is 8384 bytes and all zero bytes read as a free, unstamped mutex', () => {
    assert.strictEqual(Mutex.BYTES, 8384);
    const r = readRegion(new SharedArrayBuffer(8384));
    assert.deepStrictEqual([r.magic, r.held, r.waiters], [0, false, 0]);
  });

  it('is stamped on open and its lock word and owner record name the holder', () => {
    const buffer = new SharedArrayBuffer(64 + 8384);
    const m = Mutex.open({ buffer, byteOffset: 64 });
    let r = readRegion(buffer, 64);
    assert.deepStrictEqual([r.magic, r.kind, r.version], [0x434e5953, 1, 1]);
    assert.strictEqual(Buffer.from(buffer, 64, 4).toString('latin1'), 'SYNC');
    assert.strictEqual(r.held, false);
    m.lock();
    r = readRegion(buffer, 64);
    assert.strictEqual(r.held, true);
    assert.strictEqual(r.lockVersion, 1);
    assert.ok(r.slot >= 1 && r.slot <= 255);
    const o = r.owner(r.slot);
    assert.strictEqual(o.pid, process.pid);
    assert.strictEqual(o.tid, threadId);
    assert.strictEqual(o.state, 0);
    m.unlock();
    r = readRegion(buffer, 64);
    assert.deepStrictEqual([r.held, r.slot, r.lockVersion, r.recovering], [false, 0, 2, 0]);
    m.close();
    assert.strictEqual(readRegion(buffer, 64).owner(r.slot).pid, 0); // released: all zero
  });

  it('records a takeover: same odd version, the new owner, recovering and generation', () => {
    const buffer = new SharedArrayBuffer(8384);
    const a = Mutex.open({ buffer });
    const b = Mutex.open({ buffer });
    a.lock();
    const before = readRegion(buffer);
    a.close(); // abandons: released with recovering = 1
    let r = readRegion(buffer);
    assert.deepStrictEqual([r.held, r.recovering, r.lockVersion], [false, 1, before.lockVersion + 1]);
    assert.deepStrictEqual(b.lock(), { recovered: true });
    b.unlock();
    assert.strictEqual(readRegion(buffer).recovering, 0);
    // A lock word naming a released slot: the holder is gone, and is taken over in place.
    const dv = new DataView(buffer);
    dv.setUint32(64, (7 << 20) | 5, true); // held (version 5) by slot 7, whose record is zero
    assert.deepStrictEqual(b.lock(), { recovered: true });
    r = readRegion(buffer);
    assert.strictEqual(r.lockVersion, 5);
    assert.notStrictEqual(r.slot, 7);
    assert.deepStrictEqual([r.recovering, r.generation], [1, 1]);
    assert.strictEqual(b.recoveries, 1);
    b.unlock();
    b.close();
  });
});

// The other kinds (§13.1-13.5), read with the document's offsets.
function header(buffer) {
  const dv = new DataView(buffer);
  return { magic: dv.getUint32(0, true), kind: dv.getUint32(4, true), version: dv.getUint32(8, true) };
}

function u32s(buffer, at, n) {
  const dv = new DataView(buffer);
  return Array.from({ length: n }, (_, i) => dv.getUint32(at + 4 * i, true));
}

// The per-slot table at `at`: { slot: value } for the non-zero words of slots 1..255.
function slotTable(buffer, at) {
  const out = {};
  u32s(buffer, at, 256).forEach((x, o) => { if (o > 0 && x !== 0) out[o] = x; });
  return out;
}

describe('the other sync kinds of docs/format.md §13.1-13.5', () => {
  it('region sizes and kinds as in the table of §13', () => {
    assert.deepStrictEqual([RwLock.BYTES, Condition.BYTES, Semaphore.BYTES, Barrier.BYTES, WaitGroup.BYTES],
      [10432, 192, 9408, 8384, 192]);
    const kinds = [[RwLock, 2], [Condition, 3], [Semaphore, 4], [Barrier, 5], [WaitGroup, 6]];
    for (const [K, kind] of kinds) {
      const buffer = new SharedArrayBuffer(K.BYTES);
      const h = K === Barrier ? K.create({ buffer, parties: 1 }) : K.open({ buffer });
      // A condition, barrier or waitgroup region is of version 2 (the version history of §13), the
      // others of 1.
      const two = [Condition, Barrier, WaitGroup].includes(K);
      assert.deepStrictEqual(header(buffer), { magic: 0x434e5953, kind, version: two ? 2 : 1 });
      h.close();
    }
  });

  it('§13.1 rwlock: writer, readers, the read-hold table, seq and recovering', () => {
    const buffer = new SharedArrayBuffer(10432);
    const a = RwLock.open({ buffer });
    const b = RwLock.open({ buffer });
    a.readLock();
    b.readLock();
    b.readLock();
    const [guard, seqBefore, idle, readers, waiting] = u32s(buffer, 64, 5);
    assert.deepStrictEqual([guard & 1, idle, readers, waiting], [0, 0, 3, 0]);
    const holds = slotTable(buffer, 8384);
    assert.deepStrictEqual(Object.values(holds).sort(), [1, 2]);
    a.readUnlock();
    b.readUnlock();
    b.readUnlock();
    a.writeLock();
    const [, seq, writer, readersNow] = u32s(buffer, 64, 4);
    assert.strictEqual(readersNow, 0);
    assert.ok(writer >= 1 && writer <= 255);
    assert.strictEqual(new DataView(buffer).getUint32(192 + 32 * writer, true), process.pid); // its owner record
    assert.ok(seq !== seqBefore); // the last read unlock advanced it
    a.close(); // abandons the write lock
    const after = u32s(buffer, 64, 7);
    assert.deepStrictEqual([after[2], after[5], after[6]], [0, 1, 1]); // writer, recovering, generation
    b.close();
  });

  it('§13.3 semaphore: permits + held = total', () => {
    const buffer = new SharedArrayBuffer(9408);
    const s = Semaphore.create({ buffer, permits: 5 });
    s.acquire(2);
    s.release(4); // 2 held back, 2 new
    s.acquire(3);
    const [guard, permits, total, recovering] = u32s(buffer, 64, 4);
    const held = Object.values(slotTable(buffer, 8384));
    assert.deepStrictEqual([guard & 1, permits, total, recovering, held], [0, 4, 7, 0, [3]]);
    s.close(); // gives the 3 back and records it
    assert.deepStrictEqual(u32s(buffer, 68, 4), [7, 7, 1, 1]);
  });

  it('§13.4 barrier: state (generation and broken bit), arrived, parties, breaks, passed', async () => {
    const buffer = new SharedArrayBuffer(8384);
    const a = Barrier.create({ buffer, parties: 2 });
    const b = Barrier.open({ buffer });
    assert.deepStrictEqual(u32s(buffer, 68, 4), [0, 0, 2, 0]);
    const p = a.waitAsync(5000);
    assert.deepStrictEqual(u32s(buffer, 68, 2), [0, 1]);
    b.wait(5000);
    await p;
    assert.deepStrictEqual(u32s(buffer, 68, 2), [2, 0]); // generation 1, broken clear
    assert.deepStrictEqual(u32s(buffer, 84, 1), [0b1]); // passed: generation 0 did
    assert.throws(() => a.wait(10));
    assert.deepStrictEqual(u32s(buffer, 68, 4), [3, 1, 2, 1]); // broken bit set, one break
    a.reset();
    assert.deepStrictEqual(u32s(buffer, 68, 2), [6, 0]); // two generations on, bit clear
    assert.deepStrictEqual(u32s(buffer, 84, 1), [0b1]); // generations 1 (reset) and 2 (skipped): 0
    // Generation 3 passes; 32 generations on, its bit is generation 35's.
    const q = a.waitAsync(5000);
    b.wait(5000);
    await q;
    assert.deepStrictEqual([...u32s(buffer, 68, 1), ...u32s(buffer, 84, 1)], [8, 0b1001]);
    for (let g = 4; g < 36; g++) {
      const r = a.waitAsync(5000);
      b.wait(5000);
      await r;
    }
    assert.deepStrictEqual([...u32s(buffer, 68, 1), ...u32s(buffer, 84, 1)], [72, 0xffffffff]);
    a.reset(); // ends generation 36 (bit 4) and skips 37 (bit 5)
    assert.deepStrictEqual([...u32s(buffer, 68, 1), ...u32s(buffer, 84, 1)], [76, 0xffffffcf]);
    a.close();
    b.close();
  });

  it('§13.2 condition and §13.5 waitgroup words', async () => {
    const buffer = new SharedArrayBuffer(8384 + 192 + 192);
    const m = Mutex.open({ buffer });
    const c = Condition.open({ buffer, byteOffset: 8384 });
    const wg = WaitGroup.open({ buffer, byteOffset: 8384 + 192 });
    // seq, turns, and the groups word: open, closed, tokens, epoch.
    const words = () => {
      const [seq, turns, low, high] = u32s(buffer, 8384 + 64, 4);
      return { seq, turns, open: low & 0xffff, closed: low >>> 16, tokens: high & 0xff, epoch: high >>> 8 };
    };
    const at = (seq, turns, open, closed, tokens, epoch) => ({ seq, turns, open, closed, tokens, epoch });
    m.lock();
    c.notifyOne(); // nobody waits: nothing changes
    assert.deepStrictEqual(words(), at(0, 0, 0, 0, 0, 0));
    c.wait(m, 5);
    assert.deepStrictEqual(words(), at(0, 0, 0, 0, 0, 0));
    const p = c.waitAsync(m, 5000); // registers at once in the open group
    assert.deepStrictEqual(words(), at(0, 0, 1, 0, 0, 0));
    c.notifyOne(); // no closed member: the groups move on, the token to the new closed group
    assert.deepStrictEqual(words(), at(1, 1, 0, 1, 1, 1));
    c.notifyOne(); // every closed member has a token, nobody in the open group: nothing
    assert.deepStrictEqual(words(), at(1, 1, 0, 1, 1, 1));
    assert.strictEqual((await p).notified, true); // took the token
    assert.deepStrictEqual(words(), at(1, 1, 0, 0, 0, 1));
    // Waits through handles of their own, each giving the mutex back once its wait ended.
    const handles = [];
    const waitVia = () => {
      const h = Mutex.open({ buffer });
      handles.push(h);
      h.lock();
      return c.waitAsync(h, 5000).then((x) => { h.unlock(); return x; });
    };
    m.unlock();
    const q = waitVia();
    const r = waitVia();
    c.notifyOne(); // both move to the closed group with one token
    assert.deepStrictEqual(words(), at(2, 2, 0, 2, 1, 2));
    c.notifyOne(); // the other closed member's token
    assert.deepStrictEqual(words(), at(3, 2, 0, 2, 2, 2));
    const t = waitVia();
    c.notifyAll(); // both groups go: the epoch moves on by two
    assert.deepStrictEqual(words(), at(4, 3, 0, 0, 0, 4));
    assert.deepStrictEqual((await Promise.all([q, r, t])).map((x) => x.notified), [true, true, true]);
    assert.deepStrictEqual(words(), at(4, 3, 0, 0, 0, 4));
    for (const h of handles) h.close();
    m.lock();
    m.unlock();
    // count and generation: only an add that makes the count 0 moves the generation.
    const wgWords = () => [...u32s(buffer, 8384 + 192 + 64, 2)];
    wg.add(3);
    assert.deepStrictEqual(wgWords(), [3, 0]);
    wg.add(-2);
    wg.add(0);
    assert.deepStrictEqual(wgWords(), [1, 0]);
    wg.done();
    assert.deepStrictEqual(wgWords(), [0, 1]);
    wg.add(0);
    wg.add(1);
    wg.done();
    assert.deepStrictEqual(wgWords(), [0, 2]);
  });
});

