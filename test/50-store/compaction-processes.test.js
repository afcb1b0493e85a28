'use strict';
// Incremental compaction across threads and processes (format.md §8 "Compaction"): readers of
// both engines in other processes and a worker, while compaction steps move live entries, see
// every key exactly once with exactly its value; a writer overwriting keys while another process
// compacts ends with exactly its last values; a compacting process killed with SIGKILL at a random
// moment, or a worker terminated while compacting, leaves a store that verify() finds clean,
// with every acknowledged write present.
const assert = require('assert');
const path = require('path');
const { Store } = require('../../lib/store/store');
const { Segment } = require('../../lib/segment/segment');
const { uniqueName, tempDir } = require('../helpers/process');
const { inProcess, inWorker: inWorkerOf, announced, killRounds } = require('../helpers/actors');
const { mixedValueFor, checkValue } = require('../helpers/values');

const ACTOR = path.join(__dirname, '..', 'helpers', 'children', 'compact-actor.js');
const STABLE = 1500;
const CHURN = 3000;

// Runs the actor in a worker thread; resolves with its result.
const inWorker = (task, onMessage) => inWorkerOf(task, onMessage, ACTOR).done;

// A store of `stable` keys (never written again) and `churn` keys of which every other one is
// deleted, so that the pool is full of holes between live entries of every size.
function churned(name, engine, lockTimeoutMs) {
  const store = Store.create({ name, size: 8 << 20, engine, maxEntries: 20000, buckets: 4096, lockTimeoutMs });
  for (let i = 0; i < CHURN; i++) {
    store.set('churn', `c${i}`, mixedValueFor('c', i));
    if (i < STABLE) store.set('stable', `s${i}`, mixedValueFor('s', i));
  }
  for (let i = 0; i < CHURN; i += 2) store.delete('churn', `c${i}`);
  return store;
}

// A store of `stable` keys, each followed by two values of 1,400 bytes, all of which are deleted:
// free runs between the live entries, no free block of a live entry's class. The steps that merge
// the runs make free large blocks, and the live entries above them move down into blocks carved
// from their heads (format.md §8, "Compaction", step 2).
function spaced(name, engine, lockTimeoutMs) {
  const store = Store.create({ name, size: 8 << 20, engine, maxEntries: 20000, buckets: 4096, lockTimeoutMs });
  for (let i = 0; i < STABLE; i++) {
    store.set('stable', `s${i}`, mixedValueFor('s', i));
    store.set('gap', `g${i}`, 'g'.repeat(1400));
    store.set('gap', `h${i}`, 'h'.repeat(1400));
  }
  store.clear('gap');
  return store;
}

function checkStable(store) {
  const v = store.verify();
  assert.ok(v.ok, v.errors.join('\n'));
  assert.strictEqual(store.count('stable'), STABLE);
  for (let i = 0; i < STABLE; i++) assert.strictEqual(store.get('stable', `s${i}`), mixedValueFor('s', i), `s${i}`);
  for (const [k, val] of store.entries('churn')) assert.ok(checkValue(val), k);
}

// Three rounds of a process of `engine` compacting `name` (acknowledging keys it writes into
// 'acked' as it goes) killed with SIGKILL at a random moment: after each, verify() is clean and
// every acknowledged key holds its value.
function killCompactorRounds(store, engine, name, dir) {
  const task = { op: 'compactUntilKilled', engine, name, maxBytes: 16384, churn: CHURN, lockTimeoutMs: 200 };
  return killRounds(task, ACTOR, dir, {
    maxDelayMs: 120,
    check(acked) {
      // verify() takes every lock: one the child held is met, its holder gone, and repaired.
      checkStable(store);
      for (const k of acked) assert.strictEqual(store.get('acked', k), mixedValueFor('a', Number(k.slice(1))), k);
      store.clear('acked');
    },
  });
}

describe('incremental compaction across threads and processes', function () {
  this.timeout(120000);

  it('readers in other processes and a worker see every key exactly once with its value while entries move', async () => {
    const name = uniqueName('compactread');
    const store = churned(name, 'native');
    try {
      const ms = 2000;
      const task = { op: 'read', name, stable: STABLE, churn: CHURN, ms };
      const started = [announced(), announced(), announced()];
      const readers = [
        inProcess({ ...task, engine: 'native' }, started[0].onMessage, ACTOR).done,
        inProcess({ ...task, engine: 'js' }, started[1].onMessage, ACTOR).done,
        inWorker({ ...task, name: undefined, buffer: store.buffer, engine: 'js' }, started[2].onMessage),
      ];
      await Promise.all(started.map((a) => a.promise));
      // Two compactors, one per engine: bounded steps and churn that makes new holes.
      const compactors = [
        inProcess({ op: 'compact', engine: 'js', name, maxBytes: 65536, churn: CHURN, churnEach: 40, ms }, undefined, ACTOR).done,
        inWorker({ op: 'compact', engine: 'native', buffer: store.buffer, maxBytes: 65536, churn: CHURN, churnEach: 40, ms }),
      ];
      const c = await Promise.all(compactors);
      const r = await Promise.all(readers);
      assert.ok(c[0].moved + c[1].moved > 0, `entries were moved: ${JSON.stringify(c)}`);
      for (const x of r) {
        assert.deepStrictEqual({ bad: x.bad, missing: x.missing, listingErrors: x.listingErrors, churnBad: x.churnBad },
          { bad: 0, missing: 0, listingErrors: 0, churnBad: 0 }, JSON.stringify(x));
        assert.ok(x.reads > 0 && x.listings > 0);
      }
      checkStable(store);
    } finally {
      store.close();
      Segment.unlink({ name });
    }
  });

  it('a js-engine worker terminated while compacting: verify() clean, every key present with its value', async () => {
    const name = uniqueName('compactterm');
    const store = churned(name, 'native', 200);
    try {
      for (let round = 0; round < 3; round++) {
        const a = announced();
        const { worker, done } = inWorkerOf({
          op: 'compact', engine: 'js', buffer: store.buffer, maxBytes: 16384, churn: CHURN, churnEach: 10, ms: 0, lockTimeoutMs: 200,
        }, a.onMessage, ACTOR);
        done.catch(() => {}); // it never reports: it is terminated
        await a.promise;
        await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 60)));
        await worker.terminate();
        // A lock the worker held is taken back after lockTimeoutMs (a thread of this process).
        checkStable(store);
      }
    } finally {
      store.close();
      Segment.unlink({ name });
    }
  });

  for (const engine of ['native', 'js']) {
    it(`a ${engine}-engine process killed with SIGKILL while its steps carve free space below the entries they move: verify() clean, every key present`, async () => {
      const { dir, cleanup } = tempDir();
      const name = uniqueName('compactcarve');
      const store = spaced(name, 'native');
      try {
        await killCompactorRounds(store, engine, name, dir);
        assert.ok(store.stats().compactionMoved > 0, 'the steps moved entries');
      } finally {
        store.close();
        Segment.unlink({ name });
        cleanup();
      }
    });
  }

  for (const engine of ['native', 'js']) {
    it(`a writer overwriting keys while a ${engine}-engine process compacts ends with exactly its last values`, async () => {
      const name = uniqueName('compactwrite');
      const store = churned(name, engine === 'js' ? 'native' : 'js');
      try {
        const a = announced();
        const compactor = inProcess({ op: 'compact', engine, name, maxBytes: 32768, churn: CHURN, churnEach: 20, ms: 1500 }, a.onMessage, ACTOR);
        await a.promise;
        const keys = 400;
        const sets = 6000;
        for (let seq = 0; seq < sets; seq++) store.set('writes', `w${seq % keys}`, mixedValueFor('w', seq));
        const c = await compactor.done;
        assert.ok(c.calls > 0);
        assert.strictEqual(store.count('writes'), keys);
        for (let k = 0; k < keys; k++) assert.strictEqual(store.get('writes', `w${k}`), mixedValueFor('w', sets - keys + k), `w${k}`);
        checkStable(store);
      } finally {
        store.close();
        Segment.unlink({ name });
      }
    });

    it(`a ${engine}-engine process killed with SIGKILL while compacting: verify() clean, every acknowledged key present`, async () => {
      const { dir, cleanup } = tempDir();
      const name = uniqueName('compactkill');
      const store = churned(name, 'native');
      try {
        await killCompactorRounds(store, engine, name, dir);
      } finally {
        store.close();
        Segment.unlink({ name });
        cleanup();
      }
    });
  }
});
