'use strict';
// Concurrency and crash recovery: processes and workers on both engines hammer one store; a
// process killed with SIGKILL and a worker terminated part way through writing leave a store the
// survivors keep using.
const assert = require('assert');
const path = require('path');
const { Store } = require('../../lib/store/store');
const { Segment } = require('../../lib/segment/segment');
const { C, AT, BASE } = require('../../lib/layout/layout');
const { OwnerTable } = require('../../lib/ownership/owners');
const { uniqueName } = require('../helpers/engines');
const { inWorker, inProcess, announced } = require('../helpers/actors');
const { checkValue } = require('../helpers/values');
const { spawnChild } = require('../helpers/process');

const PAUSED_WAITER = path.join(__dirname, '..', 'helpers', 'children', 'paused-waiter.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Resolves once check() holds; rejects if the child exits first.
function until(check, child) {
  return new Promise((resolve, reject) => {
    const look = () => {
      if (check()) resolve();
      else if (child.c.exitCode !== null || child.c.signalCode !== null) reject(new Error(`the child exited: ${child.output()}`));
      else setTimeout(look, 5);
    };
    look();
  });
}

function withNamedStore(fn, engine = 'native', opts = {}) {
  return async function () {
    const name = uniqueName('conc');
    const store = Store.create({ name, size: 1 << 24, buckets: 256, engine, ...opts });
    try {
      await fn.call(this, store, name);
    } finally {
      store.close();
      Segment.unlink({ name });
    }
  };
}

// A pure-JS-engine worker takes the lock of key 'victim' (namespace 'held') of `store` and is
// terminated while it holds it.
async function holdInWorkerThenTerminate(store) {
  const a = announced();
  const { worker, done } = inWorker({ op: 'hold', engine: 'js', buffer: store.buffer, key: 'victim' },
    a.onMessage);
  done.catch(() => {});
  await a.promise;
  await worker.terminate();
}

// The owner records of `store` that name thread `tid` of this process.
function recordsOfThread(store, tid) {
  const t = new OwnerTable(new Uint32Array(store.buffer), BASE.OWNER);
  const out = [];
  for (let o = 1; o < C.OWNER_SLOTS; o++) {
    const r = t.read(o);
    if (r.pid === process.pid && r.tid === tid) out.push(r);
  }
  return out;
}

// Touches every bucket of `store` with writes, so a lock left anywhere is met and recovered.
function touchEverything(store) {
  for (let i = 0; i < 4000; i++) store.set('after', `k${i}`, i);
  for (let i = 0; i < 4000; i++) assert.strictEqual(store.get('after', `k${i}`), i);
  assert.strictEqual(store.clear('after'), 4000);
  store.clear('loop');
}

describe('store concurrency', function () {
  this.timeout(60000);

  it('2 processes and 2 workers on mixed engines: no bad read, verify clean, counts add up',
    withNamedStore(async (store, name) => {
      const ms = 4000;
      const keys = 500;
      const actors = [
        inProcess({ op: 'stress', id: 'p-native', engine: 'native', name, ms, keys }).done,
        inProcess({ op: 'stress', id: 'p-js', engine: 'js', name, ms, keys }).done,
        inWorker({ op: 'stress', id: 'w-native', engine: 'native', buffer: store.buffer, ms, keys }).done,
        inWorker({ op: 'stress', id: 'w-js', engine: 'js', buffer: store.buffer, ms, keys }).done,
      ];
      const results = await Promise.all(actors);
      for (const r of results) {
        assert.strictEqual(r.bad, 0, 'a reader saw a torn or foreign value');
        assert.ok(r.writes > 100 && r.reads > 100, JSON.stringify(r));
      }
      const v = store.verify();
      assert.ok(v.ok, v.errors.join('\n'));
      // Nobody died: no lock was left, so no waiter may have taken a holder for gone.
      assert.strictEqual(store.stats().repairs, 0, 'a repair pass ran');
      for (const [k, val] of store.entries('shared')) assert.ok(checkValue(val), k);
      assert.strictEqual(store.count('shared'), store.keys('shared').length);
      const ids = ['p-native', 'p-js', 'w-native', 'w-js'];
      ids.forEach((id, i) => assert.strictEqual(store.count(`actor-${id}`), results[i].ownLive, id));
      const total = store.namespaces().reduce((n, ns) => n + store.count(ns), 0);
      assert.strictEqual(store.count(), total);
    }));

  for (const engine of ['native', 'js']) {
    it(`a ${engine}-engine process killed with SIGKILL while writing leaves a usable store`,
      withNamedStore(async (store, name) => {
        for (let round = 0; round < 3; round++) {
          const a = announced();
          const { child, done } = inProcess({ op: 'loop', id: `kill${round}`, engine, name, keys: 300 },
            a.onMessage);
          await a.promise;
          await new Promise((r) => setTimeout(r, 50 + round * 40));
          child.kill('SIGKILL');
          await assert.rejects(done, /SIGKILL/);
          touchEverything(store);
          const v = store.verify();
          assert.ok(v.ok, v.errors.join('\n'));
          for (const [k, val] of store.entries('loop')) assert.ok(checkValue(val), k);
        }
      }, 'js', { lockTimeoutMs: 200 }));
  }

  it('a lock held by a killed process is taken back, deterministically', withNamedStore(async (store, name) => {
    const a = announced();
    const { child, done } = inProcess({ op: 'hold', engine: 'js', name, key: 'victim' }, a.onMessage);
    await a.promise;
    child.kill('SIGKILL');
    await assert.rejects(done);
    const before = store.stats().repairs;
    store.set('held', 'victim', 'recovered');
    assert.strictEqual(store.get('held', 'victim'), 'recovered');
    assert.strictEqual(store.stats().repairs, before + 1);
    assert.ok(store.verify().ok);
  }));

  for (const engine of ['js', 'native']) {
    it(`a worker terminated while holding a lock is recovered by a ${engine} handle`, async () => {
      const store = Store.create({ buffer: new SharedArrayBuffer(1 << 22), engine, lockTimeoutMs: 200 });
      try {
        const a = announced();
        const { worker, done } = inWorker({ op: 'hold', engine: 'js', buffer: store.buffer, key: 'victim' },
          a.onMessage);
        done.catch(() => {});
        await a.promise;
        await worker.terminate();
        store.set('held', 'victim', 'recovered');
        assert.strictEqual(store.get('held', 'victim'), 'recovered');
        assert.ok(store.stats().repairs >= 1);
        assert.ok(store.verify().ok);
      } finally {
        store.close();
      }
    });
  }

  // The owner record of a JS-engine handle in a terminated worker names the host process, which
  // lives on: the addon marks the record dead as the worker's environment is torn down, so no
  // process waits for lockTimeoutMs (the host's threads) or 10 x lockTimeoutMs (the others).
  for (const engine of ['js', 'native']) {
    it(`a JS-engine worker terminated while holding a lock: another process (${engine} engine) takes it back at once`,
      withNamedStore(async (store, name) => {
        const lockTimeoutMs = 5000;
        await holdInWorkerThenTerminate(store);
        const r = await inProcess({ op: 'timedSet', engine, name, key: 'victim', value: 'by a process', lockTimeoutMs }).done;
        assert.ok(r.ms < lockTimeoutMs / 5, `the other process waited ${r.ms} ms`);
        assert.strictEqual(r.value, 'by a process');
        assert.ok(r.verify);
        assert.ok(r.repairs >= 1);
        assert.strictEqual(store.get('held', 'victim'), 'by a process');
        assert.ok(store.verify().ok);
      }, 'js', { lockTimeoutMs: 5000 }));

    it(`a JS-engine worker terminated while holding a lock: another thread of the host (${engine} engine) takes it back at once`,
      async () => {
        const lockTimeoutMs = 5000;
        const store = Store.create({ buffer: new SharedArrayBuffer(1 << 22), engine, lockTimeoutMs });
        try {
          await holdInWorkerThenTerminate(store);
          const t0 = performance.now();
          store.set('held', 'victim', 'by the host');
          const ms = performance.now() - t0;
          assert.ok(ms < lockTimeoutMs / 5, `the host's thread waited ${ms} ms`);
          assert.strictEqual(store.get('held', 'victim'), 'by the host');
          assert.ok(store.stats().repairs >= 1);
          assert.ok(store.verify().ok);
        } finally {
          store.close();
        }
      });
  }

  // The stuck-lock rule presumes a lock held by another thread of this process for lockTimeoutMs
  // abandoned (a worker terminated where its slot could not be marked dead). A pause of the
  // whole process (SIGSTOP, a frozen cgroup) pauses the holder too: its
  // length must not count, or the waiter repairs over a live writer when the process resumes.
  for (const engine of ['js', 'native']) {
    it(`a ${engine} handle waiting for a lock of a live thread of its process through a pause of the process longer than lockTimeoutMs does not take it over`,
      withNamedStore(async (store, name) => {
        const lockTimeoutMs = 600;
        const flagName = `${name}-flag`;
        const flagSegment = Segment.create({ name: flagName, size: 4096 });
        const flag = new Int32Array(flagSegment.buffer, 0, 1);
        const child = spawnChild(PAUSED_WAITER, [name, flagName, engine, lockTimeoutMs]);
        try {
          await until(() => child.output().includes('waiting\n'), child);
          await sleep(lockTimeoutMs / 4);
          child.c.kill('SIGSTOP');
          await sleep(lockTimeoutMs * 3);
          child.c.kill('SIGCONT');
          // The holder lets go within a quarter of lockTimeoutMs of the waiter's own waiting.
          await sleep(lockTimeoutMs / 4);
          Atomics.store(flag, 0, 1);
          const r = await child.exited;
          assert.strictEqual(r.code, 0, r.err);
          const result = JSON.parse(r.out.trim().split('\n').pop());
          assert.deepStrictEqual(result, { repairs: 0, value: 'after the pause', verify: true });
        } finally {
          child.c.kill('SIGCONT');
          child.c.kill('SIGKILL');
          flagSegment.close();
          Segment.unlink({ name: flagName });
        }
      }));
  }

  for (const engine of ['native', 'js']) {
    it(`a ${engine}-engine handle of a terminated worker leaves no live owner record`, async () => {
      const store = Store.create({ buffer: new SharedArrayBuffer(1 << 22), engine: 'js' });
      try {
        const a = announced();
        const { worker, done } = inWorker({ op: 'idle', engine, buffer: store.buffer }, a.onMessage);
        done.catch(() => {});
        const { m } = await a.promise;
        assert.strictEqual(recordsOfThread(store, m.threadId).length, 1);
        await worker.terminate();
        const left = recordsOfThread(store, m.threadId);
        if (engine === 'native') {
          assert.deepStrictEqual(left, [], 'the handle\'s finalizer released the slot');
        } else {
          assert.deepStrictEqual(left.map((r) => r.state), [C.OWNER_STATE_DEAD], 'the addon marked the slot dead');
        }
        store.repair(); // frees the slots of gone owners
        assert.deepStrictEqual(recordsOfThread(store, m.threadId), []);
      } finally {
        store.close();
      }
    });
  }

  for (const engine of ['js', 'native']) {
    it(`a ${engine} handle waits for a long pass of another thread that shows a heartbeat`, async () => {
      // lockTimeoutMs 300 against beats every 10 ms: a busy machine that delays the beating
      // thread for a while must not make it look stopped.
      const store = Store.create({ buffer: new SharedArrayBuffer(1 << 22), engine, lockTimeoutMs: 300 });
      try {
        store.set('held', 'k', 'before');
        const flag = new SharedArrayBuffer(4);
        const a = announced();
        const { done } = inWorker({ op: 'longPass', engine: 'js', buffer: store.buffer, ms: 800, flag },
          a.onMessage);
        await a.promise;
        const repairs = new Uint32Array(store.buffer)[AT.HEADER.GC_COUNTER];
        store.set('held', 'k', 'after'); // blocks until the pass releases its locks
        assert.strictEqual(Atomics.load(new Int32Array(flag), 0), 1, 'the lock was taken before the pass ended');
        assert.strictEqual(new Uint32Array(store.buffer)[AT.HEADER.GC_COUNTER], repairs, 'no repair pass ran');
        await done;
        assert.strictEqual(store.get('held', 'k'), 'after');
        assert.ok(store.verify().ok);
      } finally {
        store.close();
      }
    });
  }

  it('a pure-JS worker terminated while writing in a loop leaves a usable store', async () => {
    const store = Store.create({ buffer: new SharedArrayBuffer(1 << 23), buckets: 64, engine: 'js', lockTimeoutMs: 200 });
    try {
      for (let round = 0; round < 5; round++) {
        const a = announced();
        const { worker, done } = inWorker({ op: 'loop', id: `t${round}`, engine: 'js', buffer: store.buffer, keys: 200 },
          a.onMessage);
        done.catch(() => {});
        await a.promise;
        await new Promise((r) => setTimeout(r, 20 + round * 15));
        await worker.terminate();
        touchEverything(store);
        const v = store.verify();
        assert.ok(v.ok, v.errors.join('\n'));
      }
    } finally {
      store.close();
    }
  });
});
