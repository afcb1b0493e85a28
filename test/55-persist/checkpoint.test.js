'use strict';
// store.checkpoint() and automatic checkpoints (docs/api.md, "Persistence"; docs/format.md §16,
// "Snapshots" and "Checkpoints"): a snapshot written while other processes keep writing plus the
// log after it rebuilds exactly the state they left; the log it covers is removed; a damaged
// snapshot is refused with ERR_PERSIST_CORRUPT and nothing of it is loaded.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { Store, Segment, layout } = require('../../index');
const native = require('../../lib/base/native');
const { STATUS } = require('../../lib/base/status');
const { ShmError } = require('../../lib/base/errors');
const { ROOT, runNode } = require('../helpers/process');
const { persistTarget, recover, reboot, contents, logFile } = require('../helpers/persist');
const { readLog, readSnapshot, replay } = require('../helpers/independent-wal-reader');

const CHILD = path.join(ROOT, 'test/helpers/children/persist-writer.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const files = (dir) => fs.readdirSync(dir).filter((f) => f !== 'control' && f !== 'segment').sort();

(native.addon ? describe : describe.skip)('Persistence: checkpoints and snapshots', function () {
  this.timeout(300000);
  let t;
  beforeEach(() => { t = persistTarget('ckpt'); });
  afterEach(() => t.cleanup());

  it('checkpoints taken while two processes (one per engine) write: the recovered state is the one in memory', async () => {
    const s = Store.create({ name: t.name, size: 1 << 23, persist: { dir: t.dir, sync: 'none', checkpointBytes: 0 } });
    try {
      let running = true;
      const runs = ['native', 'js'].map((engine, c) => runNode(CHILD, [JSON.stringify({
        name: t.name, dir: t.dir, engine, tag: `w${c}`, keys: 300, shared: 5, count: 6000,
      })]));
      const all = Promise.all(runs).finally(() => { running = false; });
      let taken = 0;
      while (running) {
        const r = s.checkpoint();
        assert.ok(r.startLsn <= s.persistence.tail);
        taken += 1;
        await sleep(2);
      }
      for (const r of await all) assert.strictEqual(r.code, 0, r.stderr);
      assert.ok(taken >= 2, `${taken} checkpoints`);
      assert.strictEqual(s.persistence.checkpoints, taken);
      const inMemory = { crash: contents(s, 'crash'), shared: contents(s, 'shared') };
      s.close();
      const r = recover(t.name, t.dir);
      try {
        assert.deepStrictEqual(contents(r, 'crash'), inMemory.crash);
        assert.deepStrictEqual(contents(r, 'shared'), inMemory.shared);
        assert.ok(r.persistence.recovery.snapshot.records > 0);
        // One snapshot and the log after it, nothing older.
        const left = files(t.dir);
        assert.strictEqual(left.length, 2, left.join(' '));
        assert.match(left[0], /^snap-/);
        assert.match(left[1], /^wal-/);
        assert.strictEqual(left[0].slice(5, 21), left[1].slice(4, 20));
        assert.strictEqual(r.verify().ok, true);
      } finally {
        r.close();
      }
    } finally {
      if (!s.closed) s.close();
    }
  });

  for (const engine of ['native', 'js']) {
    it(`${engine} engine: a log longer than checkpointBytes is checkpointed by itself, and writes after it are replayed`, async () => {
      await selfCheckpoint(engine);
    });
  }

  async function selfCheckpoint(engine) {
    const s = Store.create({ name: t.name, size: 1 << 22, engine, persist: { dir: t.dir, sync: 'none', checkpointBytes: 8192 } });
    for (let i = 0; i < 500; i++) s.set('n', `k${i % 50}`, i);
    assert.strictEqual(s.persistence.checkpoints, 0); // it runs after the current task
    await new Promise((r) => setImmediate(r));
    assert.strictEqual(s.persistence.checkpoints, 1);
    assert.ok(s.persistence.logStart > 0);
    s.set('n', 'after', 'the checkpoint');
    s.delete('n', 'k0');
    const want = contents(s, 'n');
    // The independent reader of docs/format.md §16: the snapshot plus the log after it.
    const snap = readSnapshot(path.join(t.dir, files(t.dir).find((f) => f.startsWith('snap-'))));
    const log = readLog(logFile(t.dir));
    assert.strictEqual(log.startLsn, snap.startLsn);
    assert.deepStrictEqual([...replay([...snap.records, ...log.records]).get('n')].sort(), want);
    s.close();
    const r = recover(t.name, t.dir);
    assert.deepStrictEqual(contents(r, 'n'), want);
    assert.strictEqual(r.persistence.recovery.snapshot.records, 50);
    assert.strictEqual(r.persistence.recovery.records, 2);
    r.close();
  }

  it('an automatic checkpoint that fails is reported by persistence.lastCheckpointError until one completes', async () => {
    const s = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'none', checkpointBytes: 8192 } });
    try {
      assert.strictEqual(s.persistence.lastCheckpointError, null);
      const keys = s._e.keys;
      // An engine read that fails (here made to): the checkpoint has no snapshot to write.
      s._e.keys = () => { throw Object.assign(new Error('keys'), { status: STATUS.ERR_CORRUPT }); };
      for (let i = 0; i < 500; i++) s.set('n', `k${i % 50}`, i);
      await new Promise((r) => setImmediate(r));
      s._e.keys = keys;
      const err = s.persistence.lastCheckpointError;
      assert.ok(err instanceof Error && err.code === 'ERR_CORRUPT', String(err));
      assert.strictEqual(s.persistence.checkpoints, 0);
      for (let i = 0; i < 500; i++) s.set('n', `k${i % 50}`, i);
      await new Promise((r) => setImmediate(r));
      assert.strictEqual(s.persistence.checkpoints, 1);
      assert.strictEqual(s.persistence.lastCheckpointError, null);
    } finally {
      s.close();
    }
  });

  for (const torn of [false, true]) {
    it(`a checkpoint that died after creating the next log file${torn ? ' (its header torn)' : ''} but before switching to it leaves a state that recovers`, () => {
      runAbortedSwitch(torn);
    });
  }

  function runAbortedSwitch(torn) {
    const { createLogFile } = require('../../lib/persist/wal');
    const { walFileName } = require('../../lib/persist/files');
    const s = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'none', checkpointBytes: 0 } });
    for (let i = 0; i < 20; i++) s.set('n', `a${i}`, i);
    // The dead checkpoint's new file, never switched to (its header complete, or cut short).
    const leftover = path.join(t.dir, walFileName(s.persistence.tail));
    createLogFile(t.dir, s.persistence.tail);
    if (torn) fs.truncateSync(leftover, 10);
    for (let i = 0; i < 20; i++) s.set('n', `b${i}`, i); // appends go on in the current file
    const bdir = fs.mkdtempSync(path.join(t.dir, '..', 'shmstore-backup-'));
    try {
      s.backup(bdir);
      const want = contents(s, 'n');
      s.close();
      const r = recover(t.name, t.dir);
      assert.deepStrictEqual(contents(r, 'n'), want);
      assert.strictEqual(files(t.dir).length, 1); // the leftover is gone
      r.set('n', 'after', 1);
      r.checkpoint();
      r.close();
      const r2 = recover(t.name, t.dir);
      assert.strictEqual(r2.count('n'), want.length + 1);
      r2.close();
      const other = persistTarget('ckpt-restore');
      try {
        const x = Store.restore(bdir, { name: other.name, dir: other.dir });
        assert.deepStrictEqual(contents(x, 'n'), want);
        x.close();
      } finally {
        other.cleanup();
      }
    } finally {
      fs.rmSync(bdir, { recursive: true, force: true });
    }
  }

  it('a checkpoint that died after switching files, right after an appender died with its record written but not the tail, leaves a state that recovers', () => {
    const { encodeRecordInto, sealRecord, SMALL_RECORD } = require('../../lib/persist/record');
    const { C } = layout;
    const s = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'always', checkpointBytes: 0 } });
    s.set('n', 'a', 'A');
    s.set('n', 'b', 'B');
    // What the dead appender left: its whole record (a delete of n/a) at the tail, which it did
    // not move past it. It was never acknowledged.
    const tail = s.persistence.tail;
    const old = logFile(t.dir);
    const rec = encodeRecordInto(Buffer.alloc(SMALL_RECORD), C.WAL_REC_DELETE, 'n', 'a', null, 0, 0);
    sealRecord(rec, tail);
    const fd = fs.openSync(old, 'r+');
    fs.writeSync(fd, rec, 0, rec.length, C.WAL_FILE_HEADER_SIZE + tail - s.persistence.logStart);
    fs.closeSync(fd);
    // Step 1 of a checkpoint, which then died before its snapshot was in place.
    assert.strictEqual(s._p.wal.switchFile(), tail);
    assert.strictEqual(readLog(old).end, tail); // the old file's records end where the next starts
    s.set('n', 'c', 'C'); // acknowledged durable, in the new file
    s.close();
    const r = recover(t.name, t.dir);
    try {
      assert.deepStrictEqual(contents(r, 'n'), [['a', 'A'], ['b', 'B'], ['c', 'C']]);
      assert.strictEqual(r.persistence.recovery.records, 3); // the dead appender's is not one
    } finally {
      r.close();
    }
  });

  it('a snapshot write that takes only part of its bytes (a file size limit) fails the checkpoint, and the log stays', () => {
    const { alignUp } = require('../../lib/persist/record');
    const { C } = layout;
    // bash's ulimit -f counts 1024-byte blocks; the snapshot is made to end 32 bytes past the
    // limit, so that its last write (the trailer) takes only part of its bytes.
    const limitBlocks = 8;
    const planned = limitBlocks * 1024 + C.SNAP_TRAILER_SIZE / 2;
    const body = planned - C.SNAP_HEADER_SIZE - C.SNAP_TRAILER_SIZE;
    const size = (key, value) => alignUp(C.WAL_RECORD_HEADER_SIZE + 'n'.length + key.length + value.length);
    const s = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'always', checkpointBytes: 0 } });
    let used = 0;
    const value = 'v'.repeat(59);
    for (let i = 0; body - used >= 3 * size('k000', value); i++) {
      const key = `k${String(i).padStart(3, '0')}`;
      s.set('n', key, value);
      used += size(key, value);
    }
    // The last entry fills the body exactly (its value's length is the remainder minus the rest).
    s.set('n', 'last', 'w'.repeat(body - used - size('last', '')));
    const want = contents(s, 'n');
    s.close(); // the segment stays: the child attaches
    const child = path.join(ROOT, 'test/helpers/children/checkpoint-once.js');
    const run = spawnSync('bash', ['-c', `ulimit -f ${limitBlocks} && exec "$0" "$@"`, process.execPath, child, t.name, t.dir], { cwd: ROOT, encoding: 'utf8' });
    assert.strictEqual(run.status, 0, run.stderr);
    const res = JSON.parse(run.stdout);
    assert.strictEqual(res.ok, false, `the checkpoint reported success: ${run.stdout}`);
    assert.deepStrictEqual(files(t.dir).filter((f) => !f.startsWith('wal-')), []);
    const r = recover(t.name, t.dir);
    try {
      assert.deepStrictEqual(contents(r, 'n'), want);
      // Without the limit, the same entries make a snapshot of the planned size.
      assert.strictEqual(r.checkpoint().bytes, planned);
    } finally {
      r.close();
    }
  });

  it('with checkpointMs, a log that holds records is checkpointed by itself within that time', async () => {
    const s = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'none', checkpointBytes: 0, checkpointMs: 20 } });
    try {
      assert.strictEqual(s.persistence.checkpointMs, 20);
      await sleep(60);
      assert.strictEqual(s.persistence.checkpoints, 0); // nothing to checkpoint yet
      s.set('n', 'k', 1);
      const deadline = Date.now() + 20000;
      while (s.persistence.checkpoints === 0) {
        if (Date.now() > deadline) throw new Error('no checkpoint');
        await sleep(10);
      }
      assert.strictEqual(s.persistence.logStart, s.persistence.tail);
    } finally {
      s.close();
    }
    const r = recover(t.name, t.dir);
    assert.strictEqual(r.persistence.recovery.snapshot.records, 1);
    assert.strictEqual(r.get('n', 'k'), 1);
    r.close();
  });

  describe('a damaged snapshot', () => {
    let snapFile;
    let good;
    let want;
    beforeEach(() => {
      const s = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'none', checkpointBytes: 0 } });
      for (let i = 0; i < 40; i++) s.set(i % 2 ? 'a' : 'b', `key-${i}`, { i, text: 'x'.repeat(i) });
      s.checkpoint();
      s.set('a', 'after', 1);
      want = [contents(s, 'a'), contents(s, 'b')];
      s.close();
      snapFile = path.join(t.dir, files(t.dir).find((f) => f.startsWith('snap-')));
      good = fs.readFileSync(snapFile);
    });

    function refused(bytes, what) {
      fs.writeFileSync(snapFile, bytes);
      reboot(t.name);
      assert.throws(() => Store.open({ name: t.name, persist: { dir: t.dir } }),
        (e) => e.code === 'ERR_PERSIST_CORRUPT' && e.message.includes(path.basename(snapFile)), what);
      // Nothing half loaded is left: the segment the failed recovery filled is gone.
      assert.throws(() => Segment.open({ name: t.name }), { code: 'ERR_SHM_NOT_FOUND' }, what);
    }

    it('truncated anywhere: refused', () => {
      const cuts = [0, 10, layout.C.SNAP_HEADER_SIZE, good.length - layout.C.SNAP_TRAILER_SIZE, good.length - 1];
      for (let c = 97; c < good.length; c += 211) cuts.push(c);
      for (const cut of cuts) refused(good.subarray(0, cut), `cut at ${cut}`);
    });

    it('a bit flipped in the header, any record or the trailer: refused', () => {
      const { length } = good;
      const at = [0, 8, 30, 59, 60, 64, 70, 100, length - 64, length - 40, length - 36, length - 1];
      for (let p = 128; p < length - 64; p += 173) at.push(p);
      for (const p of at) {
        const bad = Buffer.from(good);
        bad[p] ^= 0x10;
        refused(bad, `flip at ${p}`);
      }
    });

    it('zeroed or missing: refused; the intact file loads again', () => {
      refused(Buffer.alloc(good.length), 'zeroed');
      fs.rmSync(snapFile);
      reboot(t.name);
      assert.throws(() => Store.open({ name: t.name, persist: { dir: t.dir } }), (e) => e.code === 'ERR_PERSIST_CORRUPT' && /missing/.test(e.message));
      fs.writeFileSync(snapFile, good);
      const r = Store.open({ name: t.name, persist: { dir: t.dir } });
      assert.deepStrictEqual([contents(r, 'a'), contents(r, 'b')], want);
      r.close();
    });
  });

  // A checkpoint's snapshot reads each key when it comes to it, so it may catch writes made after
  // its start S while missing others the log from S holds: here set Y, delete Y, set X in a store
  // one entry from full catch X and not Y. Replayed over the snapshot, the log's `set Y` would
  // need one entry more than the store ever held; recovery loads from the snapshot only the keys
  // the log from S does not touch (format.md §16, "Recovery").
  for (const engine of ['native', 'js']) {
    it(`${engine} engine: writes that the snapshot caught, in a store at its entry limit, recover and restore`, () => {
      const M = 64;
      const s = Store.create({ name: t.name, size: 1 << 22, maxEntries: M, engine, persist: { dir: t.dir, sync: 'none', checkpointBytes: 0 } });
      const restoredDir = `${t.dir}-restored`;
      const backupDir = `${t.dir}-backup`;
      const restoredName = `${t.name}-r`;
      try {
        for (let i = 0; s.count() < M - 1; i++) s.set('bulk', `k${i}`, 'v');
        s.set('late', 'A', 'a');
        assert.strictEqual(s.count(), M);
        s.delete('bulk', 'k0');
        const keys = s._e.keys;
        let wrote = false;
        // The writes come while the checkpoint lists a namespace's keys (no stripe lock held):
        // after the log switched to S, before the snapshot reads 'late'.
        s._e.keys = function keysDuringCheckpoint(id) {
          if (!wrote) {
            wrote = true;
            s.set('late', 'Y', 'y');
            assert.strictEqual(s.count(), M);
            s.delete('late', 'Y');
            s.set('late', 'X', 'x');
          }
          return keys.call(this, id);
        };
        const r = s.checkpoint();
        s._e.keys = keys;
        assert.strictEqual(wrote, true);
        // The log records whose effects the snapshot holds are durable before it is in place,
        // whatever the sync mode (here 'none'): a snapshot is never ahead of the log.
        assert.strictEqual(s.persistence.durable, s.persistence.tail);
        assert.ok(r.records >= M, `${r.records} records`);
        assert.strictEqual(s.count(), M);
        s.backup(backupDir);
        const late = contents(s, 'late');
        assert.deepStrictEqual(late, [['A', 'a'], ['X', 'x']]);
        s.close();
        const back = recover(t.name, t.dir, engine);
        try {
          assert.deepStrictEqual(contents(back, 'late'), late);
          assert.strictEqual(back.count(), M);
          assert.strictEqual(back.verify().ok, true);
        } finally {
          back.close();
        }
        const restored = Store.restore(backupDir, { name: restoredName, dir: restoredDir });
        try {
          assert.deepStrictEqual(contents(restored, 'late'), late);
          assert.strictEqual(restored.count(), M);
        } finally {
          restored.close();
        }
      } finally {
        if (!s.closed) s.close();
        reboot(restoredName);
        fs.rmSync(restoredDir, { recursive: true, force: true });
        fs.rmSync(backupDir, { recursive: true, force: true });
      }
    });
  }

  // The same with a namespace the log clears or drops after S: the snapshot caught its entries
  // before, and the entries set after in another namespace, filling the room they left.
  for (const engine of ['native', 'js']) {
    for (const how of ['clear', 'dropNamespace']) {
      it(`${engine} engine: a namespace that the log ${how === 'clear' ? 'clears' : 'drops'} after the snapshot caught it, in a store at its entry limit, recovers`, () => {
        const M = 64;
        const s = Store.create({ name: t.name, size: 1 << 22, maxEntries: M, engine, persist: { dir: t.dir, sync: 'none', checkpointBytes: 0 } });
        try {
          s.set('a-old', 'k', 'v');
          s.set('b-new', 'first', 'v');
          for (let i = 0; s.count() < M; i++) s.set('a-old', `k${i}`, 'v');
          const keys = s._e.keys;
          let calls = 0;
          // The writes come as the checkpoint lists the second namespace's keys: the first
          // (namespaces come in id order) was read whole before.
          s._e.keys = function keysDuringCheckpoint(id) {
            if (++calls === 2) {
              s[how]('a-old');
              for (let i = 0; s.count() < M; i++) s.set('b-new', `n${i}`, 'w');
            }
            return keys.call(this, id);
          };
          s.checkpoint();
          s._e.keys = keys;
          assert.strictEqual(calls, 2);
          const want = contents(s, 'b-new');
          assert.strictEqual(want.length, M);
          s.close();
          const back = recover(t.name, t.dir, engine);
          try {
            assert.deepStrictEqual(contents(back, 'b-new'), want);
            assert.deepStrictEqual(contents(back, 'a-old'), []);
            assert.strictEqual(back.namespaces().includes('a-old'), how === 'clear');
            // Every entry of the cleared namespace, and those of the other one set after S.
            assert.strictEqual(back.persistence.recovery.snapshot.skipped, 2 * (M - 1));
            assert.strictEqual(back.verify().ok, true);
          } finally {
            back.close();
          }
        } finally {
          if (!s.closed) s.close();
        }
      });
    }
  }

  // A namespace whose snapshot entries the log written while the snapshot was read all deletes
  // or clears: recovery loads none of them, and still has the namespace, empty, as the store has.
  for (const engine of ['native', 'js']) {
    it(`${engine} engine: a namespace whose entries the log after the snapshot all deletes, or clears, is recovered empty`, () => {
      const s = Store.create({ name: t.name, size: 1 << 22, engine, persist: { dir: t.dir, sync: 'none', checkpointBytes: 0 } });
      try {
        s.set('n', 'a', 1);
        s.set('n', 'b', 2);
        s.set('c', 'a', 1);
        s.set('z', 'a', 1);
        const keys = s._e.keys;
        let calls = 0;
        // As the checkpoint lists the third namespace's keys: 'n' and 'c' were read whole.
        s._e.keys = function keysDuringCheckpoint(id) {
          if (++calls === 3) {
            s.delete('n', 'a');
            s.delete('n', 'b');
            s.clear('c');
          }
          return keys.call(this, id);
        };
        s.checkpoint();
        s._e.keys = keys;
        assert.strictEqual(calls, 3);
        const live = s.namespaces().sort();
        assert.deepStrictEqual(live, ['c', 'n', 'z']);
        s.close();
        const back = recover(t.name, t.dir, engine);
        try {
          assert.deepStrictEqual(back.namespaces().sort(), live);
          assert.strictEqual(back.count(), 1);
          assert.strictEqual(back.persistence.recovery.snapshot.skipped, 3);
        } finally {
          back.close();
        }
      } finally {
        if (!s.closed) s.close();
      }
    });
  }

  // Only the records written while the snapshot was read can have effects in it (those before
  // the end its trailer records): the keys of later ones are loaded from it, their records
  // replayed over them.
  for (const engine of ['native', 'js']) {
    it(`${engine} engine: records written after the snapshot was read skip nothing of it`, () => {
      const s = Store.create({ name: t.name, size: 1 << 22, engine, persist: { dir: t.dir, sync: 'none', checkpointBytes: 0 } });
      try {
        for (let i = 0; i < 20; i++) s.set('n', `k${i}`, i);
        s.checkpoint();
        s.delete('n', 'k0');
        s.set('n', 'k1', 'changed');
        s.clear('other');
        const want = contents(s, 'n');
        s.close();
        const back = recover(t.name, t.dir, engine);
        try {
          assert.deepStrictEqual(contents(back, 'n'), want);
          assert.strictEqual(back.persistence.recovery.snapshot.skipped, 0);
          assert.strictEqual(back.persistence.recovery.records, 2);
        } finally {
          back.close();
        }
      } finally {
        if (!s.closed) s.close();
      }
    });
  }

  // A drop by another handle whose record cannot be logged is undone (the same entries under a
  // new id) and is not in the log: a checkpoint that met the drop part way through the
  // namespace reads it again, whole; the older log it removes then holds nothing the snapshot
  // lacks.
  for (const engine of ['native', 'js']) {
    it(`${engine} engine: a namespace whose drop by another handle failed and was undone while the checkpoint read it is in the snapshot whole`, () => {
      const s = Store.create({ name: t.name, size: 1 << 22, engine, persist: { dir: t.dir, sync: 'always', checkpointBytes: 0 } });
      let other = null;
      try {
        for (let i = 0; i < 200; i++) s.set('n', `k${i}`, i);
        other = Store.open({ name: t.name, engine, persist: { dir: t.dir } });
        const c = s._p.control;
        const wal = other._p.wal;
        const unlock = c.unlockStripe;
        let refused = null;
        // After the checkpoint's first stripe of 'n' (stripe 0 resolves the name first).
        let n = 0;
        c.unlockStripe = function unlockThenDrop(stripe) {
          unlock.call(this, stripe);
          if (++n !== 2) return;
          c.unlockStripe = unlock;
          const append = wal.append;
          wal.append = () => { throw new ShmError('ERR_PERSIST_IO', 'persist: no space left (made to fail)'); };
          try {
            other.dropNamespace('n');
          } catch (err) {
            refused = err;
          } finally {
            wal.append = append;
          }
        };
        s.checkpoint();
        c.unlockStripe = unlock;
        assert.strictEqual(refused && refused.code, 'ERR_PERSIST_IO');
        assert.strictEqual(s.count('n'), 200);
        const want = contents(s, 'n');
        other.close();
        s.close();
        const back = recover(t.name, t.dir, engine);
        try {
          assert.deepStrictEqual(contents(back, 'n'), want);
        } finally {
          back.close();
        }
      } finally {
        if (other !== null && !other.closed) other.close();
        if (!s.closed) s.close();
      }
    });
  }

  // The checkpoint reads each namespace through an id this handle resolved: one dropped and
  // created again (here, or by another handle) has a new id, and its old one is refused.
  for (const engine of ['native', 'js']) {
    it(`${engine} engine: namespaces dropped and created again, by this handle before it reopened or by another handle, are checkpointed`, () => {
      let s = Store.create({ name: t.name, size: 1 << 22, engine, persist: { dir: t.dir, sync: 'none', checkpointBytes: 0 } });
      let other = null;
      try {
        s.set('a', 'k0', 'v0');
        s.dropNamespace('a');
        s.set('a', 'k1', 'v1');
        s.close();
        s = Store.open({ name: t.name, engine, persist: { dir: t.dir } });
        s.checkpoint();
        s.set('b', 'k2', 'v2');
        assert.strictEqual(s.get('b', 'k2'), 'v2'); // this handle resolved 'b'
        other = Store.open({ name: t.name, engine, persist: { dir: t.dir } });
        other.dropNamespace('b');
        other.set('b', 'k3', 'v3');
        other.set('c', 'k4', 'v4');
        other.close();
        s.checkpoint();
        s.close();
        s = recover(t.name, t.dir, engine);
        assert.deepStrictEqual(contents(s, 'a'), [['k1', 'v1']]);
        assert.deepStrictEqual(contents(s, 'b'), [['k3', 'v3']]);
        assert.deepStrictEqual(contents(s, 'c'), [['k4', 'v4']]);
        assert.strictEqual(s.persistence.recovery.snapshot.records > 0, true);
      } finally {
        if (other !== null && !other.closed) other.close();
        s.close();
      }
    });
  }

  it('bad arguments', () => {
    assert.throws(() => Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, checkpointBytes: -1 } }), RangeError);
    assert.throws(() => Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, checkpointBytes: 1.5 } }), RangeError);
    assert.throws(() => Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, checkpointMs: -5 } }), RangeError);
    const s = Store.create({ buffer: new SharedArrayBuffer(1 << 22) });
    assert.throws(() => s.checkpoint(), { name: 'ShmError', code: 'ERR_NOT_PERSISTED' });
    s.close();
  });
});
