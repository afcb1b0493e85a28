'use strict';
// The runnable examples of examples/ run as a user would run them and print what they promise.
// Each run names the segments it creates with a prefix of its own (EXAMPLE_SHM_PREFIX, which
// every example honours), and afterwards no segment with that prefix may be left: a leak fails
// the test, and segments other processes of the machine create or remove meanwhile do not matter.
const assert = require('assert');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { ROOT, uniqueName, removeShm } = require('../helpers/process');
const { startRedis } = require('../helpers/redis-server');

const withPrefix = (prefix) => fs.readdirSync('/dev/shm').filter((n) => n.startsWith(prefix));

// Runs an example; returns the JSON of its last line. The segments it says it made (`segments`)
// must carry the run's prefix, and none with the prefix may be left once it exited.
function runExample(file, ...args) {
  const prefix = `${uniqueName('example')}-${crypto.randomBytes(4).toString('hex')}-`;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'examples', file), ...args.map(String)], {
    cwd: ROOT, encoding: 'utf8', timeout: 60000, env: { ...process.env, EXAMPLE_SHM_PREFIX: prefix },
  });
  const left = withPrefix(prefix);
  left.forEach(removeShm);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.deepStrictEqual(left, [], `${file} left segments behind`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  for (const name of out.segments || []) assert.ok(name.startsWith(prefix), `${file} named a segment ${name} without the prefix ${prefix}`);
  return out;
}

describe('examples/', function () {
  this.timeout(60000);

  it('agent-memory.js: every agent\'s notes are in its namespace, on both engines, and the store verifies', function () {
    const out = runExample('agent-memory.js', 4);
    assert.deepStrictEqual(out.memories, { 'agent:0': 5, 'agent:1': 5, 'agent:2': 5, 'agent:3': 5 });
    assert.match(out.progress, /^agent [0-3] finished last$/);
    assert.strictEqual(out.verify, true);
  });

  it('task-scheduler.js: worker threads take every task of a priority queue once and publish each result on a broadcast the main thread reads without a gap', function () {
    const out = runExample('task-scheduler.js', 3, 40);
    assert.strictEqual(out.tasks, 40);
    assert.strictEqual(out.done, 40);
    assert.strictEqual(out.missed, 0);
    assert.strictEqual(out.correct, true);
    assert.ok(out.workersThatWorked >= 1 && out.workersThatWorked <= 3);
  });

  it('zero-copy-pools.js: every document written into a memory-pool block reaches a consumer whole through a stack of handles, and every block and record comes back', function () {
    const out = runExample('zero-copy-pools.js', 300, 2);
    assert.strictEqual(out.documents, 300);
    assert.strictEqual(out.consumed, 300);
    assert.strictEqual(out.bytes, out.producedBytes);
    assert.strictEqual(out.bad, 0);
    assert.strictEqual(out.blocksHeld, 0);
    assert.strictEqual(out.talliesHeld, 0);
  });

  it('sensor-pipeline.js: every reading crosses the SPSC ring, every job the channel, and every frame comes back whole through the MPMC queue and the buffer pool', function () {
    const out = runExample('sensor-pipeline.js', 50000, 24, 2);
    assert.strictEqual(out.samples, 50000);
    assert.strictEqual(out.sumOk, true);
    assert.strictEqual(out.framesOk, 24);
    assert.strictEqual(out.blocksFree, out.blockCount);
  });

  it('langgraph-agent.js: every worker\'s conversation resumes turn after turn, and every memory and checkpoint is read back by the main thread', function () {
    const out = runExample('langgraph-agent.js', 3, 4);
    // Each turn adds the user's message and the agent's answer.
    assert.deepStrictEqual(out.conversations, { 'user-0': 8, 'user-1': 8, 'user-2': 8 });
    assert.strictEqual(out.memories, 12);
    assert.strictEqual(out.users, 3);
    assert.strictEqual(out.threads, 3);
    // At least one checkpoint per turn, the same number for every thread.
    assert.ok(out.checkpoints >= 12 && out.checkpoints % 3 === 0, String(out.checkpoints));
    assert.strictEqual(out.verify, true);
  });

  it('cluster-cache.js: each key is computed about once across the workers, every other lookup hits, nothing is left in /dev/shm', function () {
    const workers = 3;
    const out = runExample('cluster-cache.js', workers);
    assert.strictEqual(out.entries, out.keys);
    assert.strictEqual(out.hits + out.misses, workers * 3 * out.keys);
    // A key may be computed by several workers that missed it at the same moment, never more
    // than once each.
    assert.ok(out.misses >= out.keys && out.misses <= workers * out.keys, JSON.stringify(out));
    assert.strictEqual(out.segments.length, 1); // runExample checked that it is gone
  });

  it('job-board.js: processes that open a mutex and a store by name hand out every job exactly once, and leave nothing in /dev/shm', function () {
    const out = runExample('job-board.js', 3);
    assert.deepStrictEqual([out.claimed, out.distinct, out.done], [out.jobs, out.jobs, out.jobs]);
    assert.deepStrictEqual(out.structures, ['store board', 'mutex board.lock']);
    // The registry's segment; the store's is named after it, so it carries the prefix too.
    assert.strictEqual(out.segments.length, 1);
  });

  describe('with a redis-server', function () {
    let redis;
    before(async function () {
      redis = await startRedis();
    });
    after(async function () {
      if (redis) await redis.stop();
    });

    it('tiered-cache.js: machine A\'s processes compute each price about once, machine B computes none and fills its L1 from Redis', function () {
      const workers = 3;
      const out = runExample('tiered-cache.js', redis.url, workers);
      assert.deepStrictEqual([out.l1A, out.inRedis, out.l1B, out.computedOnB], [out.keys, out.keys, out.keys, 0]);
      // A price may be computed by several workers that missed it at the same moment, never more
      // than once each.
      assert.ok(out.computedOnA >= out.keys && out.computedOnA <= workers * out.keys, JSON.stringify(out));
      assert.strictEqual(out.ttlBWithinL2, true);
      assert.strictEqual(out.segments.length, 2);
    });
  });
});
