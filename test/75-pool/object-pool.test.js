'use strict';
// ObjectPool (docs/api.md "ObjectPool"): records acquired and released exactly once under
// contention of processes and worker threads (an owner stamp each party writes into the record
// after acquiring it by a CAS from 0 shows any record held by two at once), the records of a
// holder killed with SIGKILL come back, bad handles and options are refused, and the registry
// hosts it (kind "object-pool").
const assert = require('assert');
const path = require('path');
const { ObjectPool, BufferPool, Registry } = require('../../index');
const { addon } = require('../../lib/base/native');
const { uniqueName, removeShm, runNode, runAndKill } = require('../helpers/process');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'pools-child.js');
const withAddon = addon ? describe : describe.skip;
// The byte offset of a field in the tests' records (the record's content is the user's own).
const FIELD = 8;
const throwsCode = (fn, code) => assert.throws(fn, (e) => e.code === code && typeof e.status === 'number');

function sabPool(capacity, recordSize) {
  const buffer = new SharedArrayBuffer(ObjectPool.bytesFor(capacity, recordSize));
  return { buffer, pool: ObjectPool.create({ buffer, capacity, recordSize }) };
}

describe('ObjectPool', () => {
  it('hands out each record once, as bytes and a DataView over the same record in place', () => {
    const { buffer, pool } = sabPool(4, 24);
    assert.deepStrictEqual([pool.recordSize, pool.capacity], [24, 4]);
    const got = [];
    for (let i = 0; i < 4; i++) got.push(pool.acquire(0));
    assert.strictEqual(new Set(got.map((g) => g.handle)).size, 4);
    got.forEach((g, i) => {
      assert.strictEqual(g.view.length, 24);
      assert.strictEqual(g.data.byteLength, 24);
      g.data.setFloat64(FIELD, i + 0.5, true);
    });
    const other = ObjectPool.open({ buffer });
    got.forEach((g, i) => {
      assert.strictEqual(other.data(g.handle).getFloat64(FIELD, true), i + 0.5);
      assert.strictEqual(other.view(g.handle).buffer, buffer);
    });
    assert.strictEqual(pool.tryAcquire(), null);
    assert.deepStrictEqual(pool.stats(), { capacity: 4, free: 0, held: 4, mine: 4 });
    other.release(got[2].handle); // any handle may release
    assert.deepStrictEqual(pool.stats(), { capacity: 4, free: 1, held: 3, mine: 3 });
    other.close();
    pool.close();
  });

  it('a double release or a stale handle is ERR_BAD_HANDLE and changes nothing', () => {
    const { pool } = sabPool(2, 8);
    const a = pool.acquire(0);
    pool.release(a.handle);
    throwsCode(() => pool.release(a.handle), 'ERR_BAD_HANDLE');
    const b = pool.acquire(0);
    const c = pool.acquire(0);
    const reused = [b, c].find((g) => (g.handle & 0xffff) === (a.handle & 0xffff));
    throwsCode(() => pool.release(a.handle), 'ERR_BAD_HANDLE'); // stale: its record is held again
    throwsCode(() => pool.data(a.handle), 'ERR_BAD_HANDLE');
    throwsCode(() => pool.release(0), 'ERR_BAD_HANDLE');
    throwsCode(() => pool.release(1.5), 'ERR_BAD_HANDLE');
    throwsCode(() => pool.release(7), 'ERR_BAD_HANDLE'); // record 7 of 2
    assert.throws(() => pool.release('1'), TypeError);
    assert.deepStrictEqual(pool.stats(), { capacity: 2, free: 0, held: 2, mine: 2 });
    pool.release(reused.handle);
    assert.strictEqual(pool.stats().free, 1);
    pool.close();
  });

  it('bad options are TypeError/RangeError; a pool of another kind is ERR_BAD_MAGIC', () => {
    const buffer = new SharedArrayBuffer(ObjectPool.bytesFor(4, 16));
    assert.throws(() => ObjectPool.create({ buffer, recordSize: 16 }), TypeError);
    assert.throws(() => ObjectPool.create({ buffer, recordSize: 0, capacity: 4 }), RangeError);
    assert.throws(() => ObjectPool.create({ buffer, recordSize: 16, capacity: 65537 }), RangeError);
    assert.throws(() => ObjectPool.create({ buffer, recordSize: 16, capacity: 4, blockSize: 3 }), TypeError);
    assert.throws(() => ObjectPool.create({ buffer: new SharedArrayBuffer(64), recordSize: 16, capacity: 4 }), RangeError);
    assert.ok(new Uint8Array(buffer).every((b) => b === 0));
    const bp = BufferPool.create({ buffer, blockSize: 16, blockCount: 4 });
    throwsCode(() => ObjectPool.open({ buffer }), 'ERR_BAD_MAGIC');
    bp.close();
    const op = ObjectPool.create({ buffer, recordSize: 16, capacity: 4 });
    throwsCode(() => BufferPool.open({ buffer }), 'ERR_BAD_MAGIC');
    op.close();
  });

  it('4 worker threads acquire and release 20000 times: no record is ever held by two', async function () {
    this.timeout(120000);
    const { buffer, pool } = sabPool(3, 64);
    const { Worker } = require('worker_threads');
    const rs = await Promise.all([1, 2, 3, 4].map((id) => new Promise((resolve, reject) => {
      const w = new Worker(CHILD, { workerData: { mode: 'stamp', buffer, id, rounds: 5000 } });
      w.on('message', (m) => { if (m !== 'ready') resolve(m); });
      w.once('error', reject);
    })));
    assert.deepStrictEqual(rs, [1, 2, 3, 4].map(() => ({ acquired: 5000, violations: 0 })));
    assert.deepStrictEqual(pool.stats(), { capacity: 3, free: 3, held: 0, mine: 0 });
    pool.close();
  });

  withAddon('with the addon', () => {
    it('2 processes × 2 worker threads acquire and release 100000 times in all: exactly once', async function () {
      this.timeout(300000);
      const name = uniqueName('opool-stamp');
      const pool = ObjectPool.create({ name, recordSize: 64, capacity: 3 });
      try {
        const runs = await Promise.all([0, 1].map(() => runNode(CHILD, ['stamp', name, '25000', '2'], { timeoutMs: 240000 })));
        for (const r of runs) {
          assert.strictEqual(r.code, 0, r.stderr);
          assert.deepStrictEqual(r.stdout.trim().split('\n'), ['ready', 'acquired 50000 violations 0']);
        }
        assert.deepStrictEqual(pool.stats(), { capacity: 3, free: 3, held: 0, mine: 0 });
      } finally {
        pool.close();
        removeShm(name);
      }
    });

    it('stampers killed with SIGKILL at random moments: every record is free after reclaim', async function () {
      this.timeout(120000);
      const name = uniqueName('opool-kill');
      const pool = ObjectPool.create({ name, recordSize: 64, capacity: 4 });
      try {
        const runs = await Promise.all([0, 1].map(() => runAndKill(CHILD, ['stamp', name, '1000000000', '2'], { ready: /ready/, maxDelayMs: 1000 })));
        for (const r of runs) assert.strictEqual(r.signal, 'SIGKILL', r.stderr);
        pool.reclaim();
        assert.deepStrictEqual(pool.stats(), { capacity: 4, free: 4, held: 0, mine: 0 });
        // Every stamp a killed party left is in a free record; the records can all be taken again.
        const got = [];
        for (let i = 0; i < 4; i++) got.push(pool.acquire(0));
        for (const g of got) pool.release(g.handle);
      } finally {
        pool.close();
        removeShm(name);
      }
    });

    it('is created and opened by name through the registry (kind "object-pool")', () => {
      const name = uniqueName('opool-reg');
      const reg = Registry.create({ name, size: 1024 * 1024 });
      try {
        const a = reg.create('object-pool', 'points', { recordSize: 16, capacity: 32 });
        assert.ok(a instanceof ObjectPool);
        const b = reg.open('object-pool', 'points');
        assert.deepStrictEqual([b.recordSize, b.capacity], [16, 32]);
        const { handle, data } = a.acquire(0);
        data.setInt32(FIELD, -7, true);
        assert.strictEqual(b.data(handle).getInt32(FIELD, true), -7);
        b.release(handle);
        const entry = reg.list().find((e) => e.name === 'points');
        assert.deepStrictEqual([entry.kind, entry.options], ['object-pool', { recordSize: 16, capacity: 32 }]);
        assert.throws(() => reg.delete('points'), { code: 'ERR_IN_USE' });
        a.close();
        b.close();
        reg.delete('points');
      } finally {
        reg.close();
        removeShm(name);
      }
    });
  });
});
