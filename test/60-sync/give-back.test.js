'use strict';
// Giving back a gone holder's hold (docs/format.md §13): the party that does it may itself die
// part way, and the news that a holder died (`recovered`, `recoveries`) must survive that. A
// worker that gives back a terminated worker's write lock (RwLock) or permits (Semaphore) is
// stopped right after its k-th atomic write to the lock's memory, as if killed there, and
// terminated holding the guard; for every k, the next acquirer is told { recovered: true }, and
// the counts add up. Also: a failed tryWriteLock() never counts as a waiting writer.
const assert = require('assert');
const { Worker } = require('worker_threads');
const { RwLock, Semaphore, layout: { C, W } } = require('../../index');
const { addon } = require('../../lib/base/native');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const ROOT = require.resolve('../..');
const SEM = C.SYNC_STATE_OFFSET / WORD;
const HELD = C.SYNC_SLOT_TABLE_OFFSET / WORD; // the semaphore's per-slot held permits

// A worker on the lock in `buffer`: runs `take` (code over `h`, the handle) and stays, holding.
// With `stopAt` > 0, every atomic write it makes to `buffer` is counted from the start of `act`,
// and it stops for good right after write number `stopAt` (posting 'stopped'); else it posts
// 'done' once `act` returned.
function party(Kind, buffer, act, stopAt = 0) {
  const w = new Worker(`
    const { parentPort, workerData: d } = require('worker_threads');
    const { ${Kind} } = require(d.root);
    const h = ${Kind}.open({ buffer: d.buffer });
    let n = 0;
    let armed = d.stopAt > 0;
    for (const f of ['store', 'add', 'sub', 'compareExchange', 'exchange']) {
      const real = Atomics[f];
      Atomics[f] = function (ta, ...rest) {
        const r = real.call(Atomics, ta, ...rest);
        if (armed && ta.buffer === d.buffer && ++n === d.stopAt) {
          parentPort.postMessage('stopped');
          for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
        }
        return r;
      };
    }
    ${act}
    armed = false;
    parentPort.postMessage('done');
    setInterval(() => {}, 1000);`, { eval: true, workerData: { root: ROOT, buffer, stopAt } });
  const said = new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  return { said, end: () => w.terminate() };
}

const CASES = [
  {
    Kind: 'RwLock',
    make: (buffer) => RwLock.create({ buffer }),
    hold: 'h.writeLock();',
    giveBack: 'h.tryWriteLock();',
    next: (h) => {
      const r = h.writeLock(5000);
      h.writeUnlock();
      return r.recovered;
    },
    counts: () => null,
  },
  {
    Kind: 'Semaphore',
    make: (buffer) => Semaphore.create({ buffer, permits: 3 }),
    hold: 'h.acquire(2);',
    giveBack: 'h.tryAcquire(3);',
    next: (h) => {
      const r = h.acquire(3, 5000);
      h.release(3);
      return r.recovered;
    },
    // Free permits plus the held ones of every slot: the total, 3.
    counts: (buffer) => {
      const u32 = new Uint32Array(buffer);
      let held = 0;
      for (let o = 1; o < C.SYNC_OWNER_SLOTS; o++) held += u32[HELD + o];
      return { total: u32[SEM + W.SEMAPHORE_STATE.TOTAL], sum: u32[SEM + W.SEMAPHORE_STATE.PERMITS] + held };
    },
  },
];

(addon ? describe : describe.skip)('Sync: a party killed while it gives back a gone holder\'s hold', function () {
  this.timeout(120000);
  for (const { Kind, make, hold, giveBack, next, counts } of CASES) {
    it(`${Kind}: at every write of the give-back, the next acquirer is still told { recovered: true }`, async () => {
      let points = 0;
      for (let k = 1; ; k++) {
        const buffer = new SharedArrayBuffer((Kind === 'RwLock' ? RwLock : Semaphore).BYTES);
        const h = make(buffer);
        try {
          const holder = party(Kind, buffer, hold);
          assert.strictEqual(await holder.said, 'done');
          await holder.end(); // gone, holding
          const giver = party(Kind, buffer, giveBack, k);
          const said = await giver.said;
          await giver.end(); // gone, holding the guard (or what its own try took)
          assert.strictEqual(next(h), true, `stopped after write ${k}: the news was lost`);
          const c = counts(buffer);
          if (c !== null) assert.strictEqual(c.sum, c.total, `stopped after write ${k}: permits`);
          assert.ok(h.recoveries >= 1, `stopped after write ${k}: no recovery counted`);
          if (said === 'done') break;
          points = k;
        } finally {
          h.close();
        }
      }
      assert.ok(points > 3, `only ${points} stop points: the give-back was not reached`);
    });
  }
});

(addon ? describe : describe.skip)('RwLock: a failed tryWriteLock() is no waiting writer', function () {
  this.timeout(30000);
  it('between its looks, another thread\'s tryReadLock() still gets the lock a reader holds', async () => {
    const buffer = new SharedArrayBuffer(RwLock.BYTES);
    const a = RwLock.create({ buffer });
    const b = RwLock.open({ buffer });
    a.readLock();
    // The trying thread stops right after it releases the guard following a raise of the waiting
    // writers' count: a try that counted itself as a waiting writer is stopped there, the guard
    // free and the count raised, as another thread then finds it. A try that never counts itself
    // never stops.
    const waiting = SEM + W.RW_LOCK_STATE.WRITERS_WAITING;
    const guard = SEM + W.RW_LOCK_STATE.GUARD;
    const w = new Worker(`
      const { parentPort, workerData: d } = require('worker_threads');
      const { RwLock } = require(d.root);
      const h = RwLock.open({ buffer: d.buffer });
      let raised = false;
      const add = Atomics.add;
      Atomics.add = function (ta, i, v) {
        if (ta.buffer === d.buffer && i === d.waiting) raised = true;
        return add.call(Atomics, ta, i, v);
      };
      const cas = Atomics.compareExchange;
      Atomics.compareExchange = function (ta, i, e, r) {
        const was = cas.call(Atomics, ta, i, e, r);
        if (raised && ta.buffer === d.buffer && i === d.guard && (r & 1) === 0) {
          parentPort.postMessage('stopped');
          for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
        }
        return was;
      };
      parentPort.postMessage(h.tryWriteLock() === false ? 'refused' : 'took');
      setInterval(() => {}, 1000);`, { eval: true, workerData: { root: ROOT, buffer, waiting, guard } });
    try {
      const said = await new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
      assert.deepStrictEqual(b.tryReadLock(), { recovered: false });
      b.readUnlock();
      assert.strictEqual(said, 'refused');
      assert.strictEqual(Atomics.load(new Uint32Array(buffer), waiting), 0);
    } finally {
      await w.terminate();
      a.readUnlock();
      a.close();
      b.close();
    }
  });
});
