'use strict';
// docs/format.md §13 claims to specify the sync region exactly enough for an independent reader.
// layout-ok-file: this file reads the region with the document's offsets on purpose, never
// lib/layout/layout.js (a layout that drifted from docs/format.md must fail here).
const assert = require('assert');
const { threadId } = require('worker_threads');
const { Mutex } = require('../../index');

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
