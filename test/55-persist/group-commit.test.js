'use strict';
// Group commit of asynchronous flushes across handles (format.md §16, "Group commit"): a flush
// whose records a sync started elsewhere covers waits for that sync instead of syncing again; a
// flush that no started sync covers syncs at once (overlapping, never waiting); and a sync that
// was claimed but never ends (its syncer died) delays the others by a bounded recheck only.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { fork } = require('child_process');
const { Store } = require('../../index');
const { ENGINES } = require('../helpers/engines');
const { persistTarget, recover } = require('../helpers/persist');
const { io } = require('../../lib/persist/io');
const { walFileName } = require('../../lib/persist/files');
const { Worker } = require('worker_threads');
const { until } = require('../helpers/process');

// The writes of one batch of test/helpers/children/durable-batches.js.
const PER_BATCH = 8;

// Counts the fdatasync calls started through io.fdatasync while fn() runs.
async function countSyncs(fn) {
  const real = io.fdatasync;
  let n = 0;
  io.fdatasync = (fd, cb) => {
    n += 1;
    real(fd, cb);
  };
  try {
    await fn();
  } finally {
    io.fdatasync = real;
  }
  return n;
}

// Records the inode of the file of every fdatasync (sync and async) until stop().
function recordSyncedFiles() {
  const realAsync = io.fdatasync;
  const realSync = io.fdatasyncSync;
  const inodes = [];
  io.fdatasync = (fd, cb) => {
    inodes.push(fs.fstatSync(fd).ino);
    realAsync(fd, cb);
  };
  io.fdatasyncSync = (fd) => {
    inodes.push(fs.fstatSync(fd).ino);
    return realSync(fd);
  };
  return {
    inodes,
    stop() {
      io.fdatasync = realAsync;
      io.fdatasyncSync = realSync;
    },
  };
}

for (const engine of ENGINES) {
  describe(`Persistence: group commit across handles [${engine} engine]`, () => {
    let t;
    const open = [];
    const track = (s) => { open.push(s); return s; };
    beforeEach(() => { t = persistTarget('gc'); });
    afterEach(() => {
      for (const s of open.splice(0)) s.close();
      t.cleanup();
    });
    const create = () => track(Store.create({ name: t.name, size: 1 << 22, engine, persist: { dir: t.dir, sync: 'none' } }));
    const openOne = () => track(Store.open({ name: t.name, engine, persist: { dir: t.dir } }));

    it("a flush covered by another handle's sync in flight waits for it: one sync for both", async () => {
      const a = create();
      const b = openOne();
      b.set('n', 'b', 1);
      a.set('n', 'a', 1);
      let pa;
      let pb;
      const syncs = await countSyncs(async () => {
        // b's sync starts first (its microtask) and reads the tail past a's record too.
        pb = b.setDurable('n', 'b2', 2);
        pa = a.flush();
        assert.strictEqual(await pb, b);
        await pa;
      });
      // a waited for b's sync; it syncs itself only if that wait saw no sync end for a whole
      // recheck period (a sync that slow on a loaded machine), never otherwise.
      const wal = a._p.wal;
      assert.strictEqual(wal.joins, 1);
      assert.strictEqual(syncs, 1 + wal.stalls);
      assert.strictEqual(a.persistence.durable, a.persistence.tail);
    });

    it("a flush waiting for another handle's sync is refused as soon as that sync fails, not at its recheck", async () => {
      const a = create();
      const b = openOne();
      b.set('n', 'b', 1);
      a.set('n', 'a', 1);
      const real = io.fdatasync;
      let held = null;
      // b's sync is held, then fails as a disk would (EIO).
      io.fdatasync = (fd, cb) => {
        if (held === null) held = cb;
        else real(fd, cb);
      };
      try {
        const pb = b.setDurable('n', 'b2', 2);
        const pa = a.flush();
        const wal = a._p.wal;
        for (let i = 0; held === null || wal.joins === 0; i++) {
          assert.ok(i < 10000, 'a did not join b\'s sync');
          await new Promise((resolve) => setImmediate(resolve));
        }
        held(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', errno: -5, syscall: 'fdatasync' }));
        await assert.rejects(pb, { code: 'ERR_PERSIST_IO' });
        await assert.rejects(pa, { code: 'ERR_PERSIST_IO' });
        // Woken by the failure: its wait did not run out (a wait that runs out counts a stall).
        assert.strictEqual(wal.stalls, 0);
      } finally {
        io.fdatasync = real;
      }
    });

    it('a flush that no started sync covers syncs at once, beside the one in flight', async () => {
      const a = create();
      const b = openOne();
      const syncs = await countSyncs(async () => {
        const pa = a.setDurable('n', 'a', 1);
        // a's sync has started (a microtask) and cannot have ended (a thread-pool callback).
        await Promise.resolve();
        assert.ok(a.persistence.durable < a.persistence.tail);
        const pb = b.setDurable('n', 'b', 1);
        await Promise.all([pa, pb]);
      });
      assert.strictEqual(syncs, 2);
      assert.strictEqual(b.persistence.durable, b.persistence.tail);
    });

    it('a sync claimed by a syncer that never finishes delays a flush by a bounded recheck, then it syncs itself', async () => {
      const a = create();
      a.set('n', 'k', 1);
      // A syncer that claimed the whole log and died before its fdatasync ended.
      a._p.control.claimSync(a.persistence.tail);
      const syncs = await countSyncs(() => a.flush());
      assert.strictEqual(syncs, 1);
      assert.strictEqual(a._p.wal.joins, 1);
      assert.strictEqual(a._p.wal.stalls, 1);
      assert.strictEqual(a.persistence.durable, a.persistence.tail);
    });

    it('a writer that finds the flush lock held is woken when it is released, not at its recheck', async () => {
      const a = track(Store.create({ name: t.name, size: 1 << 22, engine, persist: { dir: t.dir, sync: 'always' } }));
      const c = a._p.control;
      // A holder that raises nothing (its own records were durable already), as a writer whose
      // records another sync covered does between its try and its release.
      assert.ok(c.tryFlushLock());
      // The writer's first failed try of the lock is held until the holder has released it: the
      // release comes between the try and anything the writer does after it. gate: 1 = the try
      // failed, 2 = released.
      const gate = new Int32Array(new SharedArrayBuffer(4));
      const worker = new Worker(`
        const { parentPort, workerData: w } = require('worker_threads');
        const { Store } = require(w.index);
        const s = Store.open({ name: w.name, engine: w.engine, persist: { dir: w.dir } });
        const c = s._p.control;
        const tryFlushLock = c.tryFlushLock.bind(c);
        c.tryFlushLock = () => {
          const took = tryFlushLock();
          if (!took && Atomics.load(w.gate, 0) === 0) {
            Atomics.store(w.gate, 0, 1);
            Atomics.wait(w.gate, 0, 1);
          }
          return took;
        };
        s.set('n', 'k', 'v');
        parentPort.postMessage({ sleptOut: s._p.wal.sleptOut, durable: s.persistence.durable >= s.persistence.tail });
        s.close();
      `, { eval: true, workerData: { index: path.join(__dirname, '../../index.js'), name: t.name, dir: t.dir, engine, gate } });
      let failed = null;
      const done = new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', (e) => {
          failed = e;
          reject(e);
        });
      });
      done.catch(() => {}); // seen by until() below, or by the await
      try {
        await until(() => {
          if (failed !== null) throw failed;
          return Atomics.load(gate, 0) === 1;
        }, 'the writer to find the flush lock held');
        c.unlockFlush();
        Atomics.store(gate, 0, 2);
        Atomics.notify(gate, 0);
        const r = await done;
        // Woken by the release (or never asleep): no sleep of it ran out its recheck.
        assert.deepStrictEqual(r, { sleptOut: 0, durable: true });
      } finally {
        Atomics.store(gate, 0, 2);
        Atomics.notify(gate, 0);
        await worker.terminate();
      }
      assert.strictEqual(a.get('n', 'k'), 'v');
    });

    it('a handle closed while it waits for another handle\'s sync still ends durable, and closes', async () => {
      const a = create();
      const b = openOne();
      b.set('n', 'b', 1);
      a.set('n', 'a', 1);
      const pb = b.flush();
      const pa = a.setDurable('n', 'a2', 2);
      await Promise.resolve();
      a.close();
      assert.strictEqual(await pa, a);
      await pb;
      assert.strictEqual(b.persistence.durable, b.persistence.tail);
      b.close();
      const r = track(recover(t.name, t.dir, engine));
      assert.strictEqual(r.get('n', 'a2'), 2);
    });

    it('a sync queued behind one in flight when its handle closes syncs the file a checkpoint switched to before it counts its records durable', async () => {
      const a = create();
      const b = openOne();
      a.set('n', 'k0', 'v0');
      const p1 = a.setDurable('n', 'k1', 'v1');
      await Promise.resolve(); // a's sync of the first file is in flight
      const p2 = a.setDurable('n', 'k2', 'v2'); // queued behind it
      const cp = b.checkpoint(); // the log switches to a new file
      const newFile = path.join(t.dir, walFileName(cp.startLsn));
      const synced = recordSyncedFiles();
      try {
        b.set('n', 'late', 'in the new file'); // never synced by b
        a.close(); // the queued sync starts once the one in flight ends
        await Promise.all([p1, p2]);
      } finally {
        synced.stop();
      }
      assert.ok(b.persistence.durable > cp.startLsn);
      assert.strictEqual(b.persistence.durable, b.persistence.tail);
      assert.ok(synced.inodes.includes(fs.statSync(newFile).ino), 'the new log file was synced');
    });

    it('writers in several processes, each awaiting its durable batches, all end durable and complete', async function () {
      this.timeout(120000);
      create().close();
      const writers = 3;
      const batches = 20;
      const results = await Promise.all(Array.from({ length: writers }, (_, w) => new Promise((resolve, reject) => {
        const child = fork(require.resolve('../helpers/children/durable-batches'), [t.name, t.dir, engine, String(w), String(batches)]);
        let got = null;
        child.on('message', (m) => { got = m; });
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 && got ? resolve(got) : reject(new Error(`writer ${w} exited ${code}`))));
      })));
      for (const r of results) assert.strictEqual(r.acknowledged, batches * PER_BATCH);
      const r = track(recover(t.name, t.dir, engine));
      assert.strictEqual(r.count('w'), writers * batches * PER_BATCH);
      assert.strictEqual(r.verify().ok, true);
    });
  });
}
