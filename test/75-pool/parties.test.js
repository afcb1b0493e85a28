'use strict';
// BufferPool with many parties (docs/api.md "BufferPool"): no block is ever in two hands while
// worker threads acquire and release concurrently, and processes killed with SIGKILL at random
// moments of acquiring, filling and releasing leave every block free or reclaimable.
const assert = require('assert');
const path = require('path');
const { BufferPool } = require('../../index');
const { addon } = require('../../lib/base/native');
const { uniqueName, removeShm, runAndKill } = require('../helpers/process');
const { Worker } = require('worker_threads');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'pool-child.js');
const withAddon = addon ? describe : describe.skip;

describe('BufferPool: many parties', () => {
  it('4 worker threads churning 6 blocks: no block is ever held by two, every block comes back', async function () {
    this.timeout(120000);
    const buffer = new SharedArrayBuffer(BufferPool.bytesFor(6, 256));
    const pool = BufferPool.create({ buffer, blockCount: 6, blockSize: 256 });
    const rounds = 3000;
    const results = await Promise.all([1, 2, 3, 4].map((id) => new Promise((resolve, reject) => {
      const w = new Worker(CHILD, { workerData: { mode: 'churn', buffer, id, rounds } });
      w.once('message', resolve);
      w.once('error', reject);
    })));
    assert.deepStrictEqual(results.map((r) => r.clobbered), [0, 0, 0, 0]);
    assert.ok(results.every((r) => r.acquired > 0));
    assert.deepStrictEqual(pool.stats(), { blockCount: 6, free: 6, held: 0, mine: 0 });
    pool.close();
  });

  withAddon('processes', () => {
    it('3 processes churning, each killed with SIGKILL at a random moment: every block is free after reclaim', async function () {
      this.timeout(120000);
      const name = uniqueName('pool-churn');
      const pool = BufferPool.create({ name, blockCount: 8, blockSize: 4096 });
      try {
        const runs = await Promise.all([1, 2, 3].map((id) => runAndKill(CHILD, ['churn', name, String(id)], { ready: /ready/, maxDelayMs: 300 })));
        for (const r of runs) assert.strictEqual(r.signal, 'SIGKILL', r.stderr);
        pool.reclaim();
        assert.deepStrictEqual(pool.stats(), { blockCount: 8, free: 8, held: 0, mine: 0 });
        // And all of them can be taken again.
        const got = [];
        for (let i = 0; i < 8; i++) got.push(pool.acquire());
        for (const g of got) pool.release(g.handle);
      } finally {
        pool.close();
        removeShm(name);
      }
    });
  });
});
