'use strict';
// The inserts of the benchmark's write-scaling op (bench/lib/write-scaling.js, writer.js) are a
// fixed amount of work: 1 and 2 writers insert the same keys, a share each, so that their stores
// go through the same fill and the 2/1 ratio compares equal inserts (bench/README.md, "Insert
// scaling"). Both engines, as threads and as processes.
const assert = require('assert');
const path = require('path');
const { forEachEngine } = require('../helpers/engines');
const { measureWrites } = require('../../bench/lib/write-scaling');

const INSERT_KEYS = 3001; // odd: the shares of 2 writers differ by one
const WARM_KEYS = 301;
const FIRST_KEY = 5000;

forEachEngine('write-scaling inserts (benchmark)', ({ engine }) => {
  const casePath = path.join(__dirname, '..', '..', 'bench', 'cases', `shmstore-${engine}.js`);
  const c = require(casePath);

  // Runs the insert measurement on a new store; returns its result and the store's keys.
  async function run(mode, writers) {
    const named = await c.openNamed({ maxKeys: 2 * (INSERT_KEYS + WARM_KEYS) });
    try {
      const r = await measureWrites({
        casePath, share: named.share, mode, writers, N: 0, warmMs: 1, measureMs: 1,
        kind: 'insert', insertKeys: INSERT_KEYS, warmKeys: WARM_KEYS, firstKey: FIRST_KEY,
      });
      const store = named.ad.store;
      assert.ok(store.verify().ok);
      return { r, keys: [...store.keys('bench')].sort() };
    } finally {
      named.close();
    }
  }

  it('1 and 2 writers insert the same keys, however long they take', async function () {
    this.timeout(60000);
    const one = await run('threads', 1);
    const two = await run('threads', 2);
    const twoProcs = await run('processes', 2);
    assert.strictEqual(one.keys.length, INSERT_KEYS + WARM_KEYS);
    assert.deepStrictEqual(two.keys, one.keys);
    assert.deepStrictEqual(twoProcs.keys, one.keys);
    // The timed inserts are all of them, split between the writers; the aggregate is all of them
    // over the longest writer's time, so never more than the sum of the writers' own rates.
    for (const { r } of [one, two, twoProcs]) {
      assert.strictEqual(r.ops, INSERT_KEYS);
      assert.strictEqual(r.perWriter.length, r.writers);
      const sum = r.perWriter.reduce((a, b) => a + b, 0);
      assert.ok(r.opsPerSec > 0 && r.opsPerSec <= sum * (1 + 1e-9), `${r.opsPerSec} vs ${sum}`);
      // The least of the writers' CPU time over wall time (Linux: per-thread schedstat, which
      // moves at scheduler events: 0 is possible for a run this short).
      assert.ok(r.cpuShare >= 0 && r.cpuShare < 1.5, `cpuShare ${r.cpuShare}`);
    }
  });

  it('a writer idles until it is settleMs old before its timed run', async function () {
    this.timeout(60000);
    const named = await c.openNamed({ maxKeys: 2 * (INSERT_KEYS + WARM_KEYS) });
    try {
      const t0 = Date.now();
      const r = await measureWrites({
        casePath, share: named.share, mode: 'threads', writers: 1, N: 0, warmMs: 1, measureMs: 1, settleMs: 1500,
        kind: 'insert', insertKeys: INSERT_KEYS, warmKeys: WARM_KEYS, firstKey: FIRST_KEY,
      });
      assert.strictEqual(r.ops, INSERT_KEYS);
      assert.ok(Date.now() - t0 >= 1500, `done after ${Date.now() - t0} ms`);
    } finally {
      named.close();
    }
  });
});
