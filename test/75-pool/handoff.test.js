'use strict';
// The zero-copy hand-off (docs/api.md "BufferPool", "Handing a buffer to another process"): a
// producer process fills pooled blocks and sends their handles through an MpmcQueue; a consumer
// process takes each block, checks its payload in place and releases it. Every payload arrives
// with its exact checksum and every block is back in the pool at the end; a consumer killed with
// SIGKILL while it holds blocks loses them to nobody: they are reclaimed.
const assert = require('assert');
const path = require('path');
const { BufferPool, MpmcQueue } = require('../../index');
const { addon } = require('../../lib/base/native');
const { uniqueName, removeShm, until, spawnChild } = require('../helpers/process');
const { fill, checksum } = require('../helpers/payloads');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'pool-child.js');
const withAddon = addon ? describe : describe.skip;

const child = (args) => spawnChild(CHILD, args);

withAddon('BufferPool hand-off across processes', () => {
  let names = [];
  afterEach(() => {
    for (const n of names) removeShm(n);
    names = [];
  });

  function setup(blockCount, blockSize) {
    const poolName = uniqueName('pool');
    const queueName = uniqueName('poolq');
    names.push(poolName, queueName);
    const pool = BufferPool.create({ name: poolName, blockCount, blockSize });
    const q = MpmcQueue.create({ name: queueName, capacity: 16, messageBytes: 64 });
    return { pool, q, poolName, queueName };
  }

  it('2000 payloads of up to 64 KiB pass through 8 blocks with exact checksums; every block comes back', async function () {
    this.timeout(120000);
    const n = 2000;
    const { pool, q, poolName, queueName } = setup(8, 65536);
    const consumer = child(['consume', poolName, queueName, String(n)]);
    const producer = child(['produce', poolName, queueName, String(n), '30000']);
    const [p, c] = await Promise.all([producer.exited, consumer.exited]);
    assert.strictEqual(p.code, 0, p.err);
    assert.strictEqual(c.code, 0, c.err);
    assert.strictEqual(p.out.trim(), 'done');
    assert.strictEqual(c.out.trim(), `count ${n} sum ${(n * (n - 1)) / 2} bad 0`);
    assert.deepStrictEqual(pool.stats(), { blockCount: 8, free: 8, held: 0, mine: 0 });
    assert.strictEqual(q.size, 0);
    q.close();
    pool.close();
  });

  it('5000 hand-offs through 16 blocks with a producer blocked in acquire(): each once, exact checksums, every block back', async function () {
    this.timeout(120000);
    const n = 5000;
    const { pool, q, poolName, queueName } = setup(16, 4096);
    const consumer = child(['consume', poolName, queueName, String(n)]);
    const producer = child(['produce', poolName, queueName, String(n), '30000', 'blocking']);
    const [p, c] = await Promise.all([producer.exited, consumer.exited]);
    assert.strictEqual(p.code, 0, p.err);
    assert.strictEqual(c.code, 0, c.err);
    assert.strictEqual(c.out.trim(), `count ${n} sum ${(n * (n - 1)) / 2} bad 0`);
    assert.deepStrictEqual(pool.stats(), { blockCount: 16, free: 16, held: 0, mine: 0 });
    assert.strictEqual(q.size, 0);
    q.close();
    pool.close();
  });

  it('a producer blocked in acquire() killed with SIGKILL at a random moment: what it sent arrives once and intact, in order; every block is free again', async function () {
    this.timeout(120000);
    const n = 100000; // more than it can send before it is killed
    const { pool, q, poolName, queueName } = setup(16, 16384);
    const producer = child(['produce', poolName, queueName, String(n), '1000', 'blocking']);
    const got = [];
    let bad = 0;
    const drain = () => {
      let m;
      while ((m = q.tryDequeue()) !== undefined) {
        const view = pool.take(m[0]);
        if (checksum(view, m[2]) !== m[3]) bad++;
        got.push(m[1]);
        pool.release(m[0]);
      }
    };
    const timer = setInterval(drain, 1);
    try {
      await until(() => got.length > 0, 'the first payload', 30000);
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 200)));
      producer.c.kill('SIGKILL');
      assert.strictEqual((await producer.exited).signal, 'SIGKILL');
      // What is left in the queue (a slot it claimed and never wrote is given up by a later dequeue).
      await until(() => {
        drain();
        return q.size === 0;
      }, 'the queue drained', 30000);
    } finally {
      clearInterval(timer);
    }
    assert.strictEqual(bad, 0);
    assert.ok(got.length < n);
    got.forEach((i, k) => assert.strictEqual(i, k));
    assert.ok(q.skipped.writes <= 1, `${q.skipped.writes} writes given up`);
    // The blocks it held (acquired and not sent) are the dead producer's: the reclaim pass frees them.
    pool.reclaim();
    assert.deepStrictEqual(pool.stats(), { blockCount: 16, free: 16, held: 0, mine: 0 });
    q.close();
    pool.close();
  });

  it('a consumer killed with SIGKILL holding blocks: they are reclaimed, and acquire() gets them back', async function () {
    this.timeout(60000);
    const { pool, q, poolName, queueName } = setup(8, 4096);
    const sent = [];
    for (let i = 0; i < 5; i++) {
      const { handle, view } = pool.acquire();
      const length = fill(view, i);
      q.enqueue([handle, i, length, checksum(view, length)], 10000);
      sent.push(handle);
    }
    const holder = child(['hold', poolName, queueName, '5']);
    await until(() => /holding 5 bad 0/.test(holder.output()), 'the consumer holding 5 blocks', 30000);
    // The consumer took them over: this handle no longer holds them, nothing reclaims them yet.
    assert.deepStrictEqual(pool.stats(), { blockCount: 8, free: 3, held: 5, mine: 0 });
    assert.strictEqual(pool.reclaim(), 0);
    holder.c.kill('SIGKILL');
    const r = await holder.exited;
    assert.strictEqual(r.signal, 'SIGKILL');
    // All 8 blocks: 3 free ones, then 5 reclaimed when the pool runs dry.
    const got = [];
    for (let i = 0; i < 8; i++) got.push(pool.acquire().handle);
    assert.deepStrictEqual(pool.stats(), { blockCount: 8, free: 0, held: 8, mine: 8 });
    // The dead consumer's handles are stale: the blocks were acquired again since.
    for (const h of sent) assert.throws(() => pool.release(h), { code: 'ERR_BAD_HANDLE' });
    for (const h of got) pool.release(h);
    assert.strictEqual(pool.stats().free, 8);
    q.close();
    pool.close();
  });

  for (const how of ['polling', 'blocking']) {
    it(`a consumer killed at a random moment of a stream (a producer ${how} for free blocks): once the producer is done, every block is free again`, async function () {
      this.timeout(120000);
      const n = 3000;
      const { pool, q, poolName, queueName } = setup(8, 16384);
      const consumer = child(['consume', poolName, queueName, String(n)]);
      // A producer blocked in acquire() gets the dead consumer's blocks back through its own wait's reclaim pass.
      const producer = child(['produce', poolName, queueName, String(n), '1000', how]);
      setTimeout(() => consumer.c.kill('SIGKILL'), 50 + Math.floor(Math.random() * 300));
      const c = await consumer.exited;
      // A replacement consumer drains what is left (a message the dead one dequeued is lost with it;
      // its block, taken or not, is reclaimed when the producer runs dry or exits).
      const drain = setInterval(() => {
        let m;
        while ((m = q.tryDequeue()) !== undefined && m !== null) {
          try {
            const view = pool.take(m[0]);
            assert.strictEqual(checksum(view, m[2]), m[3]);
            pool.release(m[0]);
          } catch (e) {
            if (e.code !== 'ERR_BAD_HANDLE') throw e;
          }
        }
        pool.reclaim();
      }, 2);
      try {
        const p = await producer.exited;
        assert.strictEqual(p.code, 0, p.err);
      } finally {
        clearInterval(drain);
      }
      assert.ok(c.signal === 'SIGKILL' || c.code === 0);
      pool.reclaim();
      assert.deepStrictEqual(pool.stats(), { blockCount: 8, free: 8, held: 0, mine: 0 });
      q.close();
      pool.close();
    });
  }
});
