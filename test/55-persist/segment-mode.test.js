'use strict';
// The permission bits of a persisted store's segment (docs/api.md, "The segment's permission
// bits"; format.md §16, the control segment's `segmentMode` and the manifest's `segmentMode`): a
// store created with mode 0o660 keeps exactly 0o660, whatever the umask, after a rebuild from its
// log or its snapshot and log (the segment removed, as a reboot does), after a rebuild that
// follows a kill -9 of its creator right after the create, and after Store.restore of a backup
// (or target.mode, when given). Only the bits are kept: the segment's owner and group are those of
// the process that rebuilds or restores it (here always this one). A control file or a manifest
// written before the mode was recorded rebuilds or restores 0o600, as before; an opener records
// the mode of the segment it attaches to in such a control file, and a damaged record is refused.
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Store } = require('../../index');
const { C, W } = require('../../lib/layout/layout');
const { ENGINES } = require('../helpers/engines');
const { persistTarget, reboot, recover, changedControlWords, writeOnRecoveryLock } = require('../helpers/persist');
const { runNode } = require('../helpers/process');
const { Segment } = require('../../lib/segment/segment');
const { MANIFEST, writeManifest } = require('../../lib/persist/backup');
const { readControl } = require('../helpers/independent-wal-reader');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const MODE_WORD = C.PERSIST_RECOVERY_OFFSET / WORD + W.PERSIST_RECOVERY.SEGMENT_MODE;
// The control header's `state` (ready or not) and the recovery lock, which every open takes.
const STATE_WORD = C.PERSIST_HEADER_OFFSET / WORD + W.PERSIST_HEADER.STATE;
const RECOVERY_LOCK_WORD = C.PERSIST_RECOVERY_OFFSET / WORD + W.PERSIST_RECOVERY.LOCK;
const CRASH_CREATOR = path.join(__dirname, '..', 'helpers', 'children', 'crash-creator.js');
const SIZE = 1 << 20;
// The mode the stores are created with: group read and write, which the default 0o600 and a
// umask of 0o077 both take away.
const SHARED = 0o660;
// Another mode, for a restore's target.mode and a chmod of the live segment.
const OTHER = 0o664;
const DEFAULT = 0o600;
// The umask of these tests: it would turn every mode into 0o600 or less if it applied.
const UMASK = 0o077;

// The permission bits of a named segment, as the file system reports them.
function shmMode(name) {
  return fs.statSync(path.join('/dev/shm', name)).mode & 0o777;
}

// The control file's segmentMode word, read or changed in place (no handle may have it open).
function withControl(dir, fn) {
  const seg = Segment.open({ path: path.join(dir, 'control') });
  try {
    return fn(new Uint32Array(seg.buffer, 0, C.PERSIST_CONTROL_BYTES / WORD));
  } finally {
    seg.close();
  }
}

function readManifest(dir) {
  return JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8'));
}

for (const engine of ENGINES) {
  describe(`Persistence: the store segment's mode survives a rebuild and a restore [${engine} engine]`, () => {
    let t;
    let umask;
    const open = [];
    const dirs = [];
    const targets = [];
    const track = (s) => { open.push(s); return s; };
    const tmp = (tag) => {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), `shmstore-mode-${tag}-`));
      dirs.push(d);
      return d;
    };
    const target = (tag) => {
      const x = persistTarget(tag);
      targets.push(x);
      return x;
    };
    beforeEach(() => {
      t = persistTarget('smode');
      umask = process.umask(UMASK);
    });
    afterEach(() => {
      process.umask(umask);
      for (const s of open.splice(0)) if (!s.closed) s.close();
      for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
      for (const x of targets.splice(0)) x.cleanup();
      t.cleanup();
    });

    const create = (mode) => track(Store.create({ name: t.name, size: SIZE, engine, mode, persist: { dir: t.dir, sync: 'none' } }));

    for (const how of ['log', 'snapshot and log']) {
      it(`a store created with mode 0o660 is rebuilt from the ${how} with exactly 0o660`, () => {
        const s = create(SHARED);
        assert.strictEqual(shmMode(t.name), SHARED);
        // The control file records the mode as the document says (an independent reader).
        assert.strictEqual(readControl(path.join(t.dir, 'control')).segmentMode, SHARED);
        s.set('c', 'k', 1);
        if (how !== 'log') s.checkpoint();
        s.set('c', 'last', 2);
        s.close();
        const r = track(recover(t.name, t.dir, engine));
        assert.notStrictEqual(r.persistence.recovery, null);
        assert.strictEqual(r.persistence.recovery.snapshot === null, how === 'log');
        assert.deepStrictEqual([r.get('c', 'k'), r.get('c', 'last')], [1, 2]);
        assert.strictEqual(shmMode(t.name), SHARED);
        r.close();
        // And again: the rebuilt store's directory still says so.
        track(recover(t.name, t.dir, engine));
        assert.strictEqual(shmMode(t.name), SHARED);
      });
    }

    it('a file segment created with mode 0o660 is rebuilt with exactly 0o660', () => {
      const file = path.join(tmp('file'), 'store.shm');
      const s = track(Store.create({ path: file, size: SIZE, engine, mode: SHARED, persist: { dir: t.dir, sync: 'none' } }));
      s.set('c', 'k', 1);
      s.close();
      assert.strictEqual(fs.statSync(file).mode & 0o777, SHARED);
      Segment.unlink({ path: file });
      const r = track(Store.open({ path: file, engine, persist: { dir: t.dir } }));
      assert.notStrictEqual(r.persistence.recovery, null);
      assert.strictEqual(r.get('c', 'k'), 1);
      assert.strictEqual(fs.statSync(file).mode & 0o777, SHARED);
    });

    it('a store created without mode records and is rebuilt with 0o600', () => {
      const s = create(undefined);
      s.close();
      assert.strictEqual(readControl(path.join(t.dir, 'control')).segmentMode, DEFAULT);
      track(recover(t.name, t.dir, engine));
      assert.strictEqual(shmMode(t.name), DEFAULT);
    });

    it('a store whose creator was killed (kill -9) right after the create is rebuilt with mode 0o660', async () => {
      const r = await runNode(CRASH_CREATOR, [JSON.stringify({ how: 'create', name: t.name, dir: t.dir, size: SIZE, sync: 'none', killAt: 'created', engine, mode: SHARED })]);
      assert.strictEqual(r.signal, 'SIGKILL', r.stderr);
      reboot(t.name);
      const s = track(Store.open({ name: t.name, engine, persist: { dir: t.dir } }));
      assert.notStrictEqual(s.persistence.recovery, null);
      assert.strictEqual(shmMode(t.name), SHARED);
    });

    it('Store.restore gives the segment the mode the backup records, also after its own rebuild', () => {
      const s = create(SHARED);
      s.set('c', 'k', 1);
      const bdir = tmp('backup');
      s.backup(bdir);
      s.close();
      assert.strictEqual(readManifest(bdir).segmentMode, SHARED);
      const to = target('smoder');
      const x = track(Store.restore(bdir, { name: to.name, dir: to.dir, engine }));
      assert.strictEqual(x.get('c', 'k'), 1);
      assert.strictEqual(shmMode(to.name), SHARED);
      x.close();
      assert.strictEqual(readControl(path.join(to.dir, 'control')).segmentMode, SHARED);
      const y = track(recover(to.name, to.dir, engine));
      assert.strictEqual(shmMode(to.name), SHARED);
      // A backup of the restored store says so too.
      const b2 = tmp('backup2');
      y.backup(b2);
      assert.strictEqual(readManifest(b2).segmentMode, SHARED);
    });

    it('Store.restore with target.mode gives the segment that mode instead, and records it', () => {
      const s = create(SHARED);
      s.set('c', 'k', 1);
      const bdir = tmp('backup');
      s.backup(bdir);
      s.close();
      const to = target('smodet');
      const x = track(Store.restore(bdir, { name: to.name, dir: to.dir, engine, mode: OTHER }));
      assert.strictEqual(x.get('c', 'k'), 1);
      assert.strictEqual(shmMode(to.name), OTHER);
      x.close();
      assert.strictEqual(readControl(path.join(to.dir, 'control')).segmentMode, OTHER);
      track(recover(to.name, to.dir, engine));
      assert.strictEqual(shmMode(to.name), OTHER);
    });

    it('a Store.restore with target.mode killed (kill -9) after its stamp is rebuilt by the next open with that mode', async () => {
      const s = create(SHARED);
      s.set('c', 'k', 1);
      const bdir = tmp('backup');
      s.backup(bdir);
      s.close();
      const to = target('smodek');
      // The child's events (crash-creator.js): the control file's create (two), each file's copy
      // (two each), then the stamp, which no event marks, then the release of the recovery lock,
      // whose first event this is: the stamped control file is there, the segment is not.
      const killAt = 2 + 2 * readManifest(bdir).files.length;
      const r = await runNode(CRASH_CREATOR, [JSON.stringify({ how: 'restore', name: to.name, dir: to.dir, from: bdir, killAt, engine, mode: OTHER })]);
      assert.strictEqual(r.signal, 'SIGKILL', r.stderr);
      assert.strictEqual(readControl(path.join(to.dir, 'control')).segmentMode, OTHER, 'stamped with target.mode');
      assert.throws(() => Segment.open({ name: to.name }), { code: 'ERR_SHM_NOT_FOUND' }, 'killed before its open made the segment');
      const x = track(Store.open({ name: to.name, engine, persist: { dir: to.dir } }));
      assert.notStrictEqual(x.persistence.recovery, null);
      assert.strictEqual(x.get('c', 'k'), 1);
      assert.strictEqual(shmMode(to.name), OTHER);
      x.close();
      // And the rebuilds after it.
      track(recover(to.name, to.dir, engine));
      assert.strictEqual(shmMode(to.name), OTHER);
    });

    it('Store.restore refuses a target.mode that Store.create refuses, before anything is created', () => {
      const s = create(SHARED);
      const bdir = tmp('backup');
      s.backup(bdir);
      s.close();
      const to = target('smodeb');
      fs.rmSync(to.dir, { recursive: true });
      for (const [mode, type] of [[0o1000, RangeError], [-1, RangeError], [1.5, RangeError], ['640', TypeError], [null, TypeError]]) {
        assert.throws(() => Store.restore(bdir, { name: to.name, dir: to.dir, engine, mode }), (e) => e instanceof type && /"target\.mode"/.test(e.message), String(mode));
        assert.throws(() => Segment.open({ name: to.name }), { code: 'ERR_SHM_NOT_FOUND' });
        assert.ok(!fs.existsSync(to.dir));
      }
    });

    it('a control file without the mode (as an earlier version wrote it) opens, and a rebuild from it gives 0o600', () => {
      const s = create(SHARED);
      s.set('c', 'k', 1);
      s.close();
      withControl(t.dir, (u32) => Atomics.store(u32, MODE_WORD, 0));
      const r = track(recover(t.name, t.dir, engine));
      assert.strictEqual(r.get('c', 'k'), 1);
      assert.strictEqual(shmMode(t.name), DEFAULT);
      r.close();
      // The rebuild records what it rebuilt: 0o600, as every rebuild of such a file gave.
      assert.strictEqual(readControl(path.join(t.dir, 'control')).segmentMode, DEFAULT);
    });

    it('an open that attaches to the store records its segment\'s mode in a control file without it, so that a later rebuild keeps it', () => {
      const s = create(SHARED);
      s.set('c', 'k', 1);
      s.close();
      withControl(t.dir, (u32) => Atomics.store(u32, MODE_WORD, 0));
      // The mode the segment has now (changed since its create), not the creator's: what the
      // processes sharing it were given.
      fs.chmodSync(path.join('/dev/shm', t.name), OTHER);
      const a = track(Store.open({ name: t.name, engine, persist: { dir: t.dir } }));
      assert.strictEqual(a.persistence.recovery, null);
      a.close();
      assert.strictEqual(readControl(path.join(t.dir, 'control')).segmentMode, OTHER);
      const r = track(recover(t.name, t.dir, engine));
      assert.strictEqual(r.get('c', 'k'), 1);
      assert.strictEqual(shmMode(t.name), OTHER);
    });

    it('a manifest without the mode (as an earlier version wrote it) restores 0o600, or target.mode', () => {
      const s = create(SHARED);
      s.set('c', 'k', 1);
      const bdir = tmp('backup');
      s.backup(bdir);
      s.close();
      const m = readManifest(bdir);
      delete m.segmentMode;
      writeManifest(bdir, m);
      const to = target('smodem');
      const x = track(Store.restore(bdir, { name: to.name, dir: to.dir, engine }));
      assert.strictEqual(x.get('c', 'k'), 1);
      assert.strictEqual(shmMode(to.name), DEFAULT);
      x.close();
      assert.strictEqual(readControl(path.join(to.dir, 'control')).segmentMode, DEFAULT);
      const to2 = target('smodem2');
      track(Store.restore(bdir, { name: to2.name, dir: to2.dir, engine, mode: SHARED }));
      assert.strictEqual(shmMode(to2.name), SHARED);
    });

    it('a manifest whose mode is not an integer 0..0o777 is refused before anything is created', () => {
      const s = create(SHARED);
      const bdir = tmp('backup');
      s.backup(bdir);
      s.close();
      const m = readManifest(bdir);
      const to = target('smodeu');
      fs.rmSync(to.dir, { recursive: true });
      for (const bad of [0o1000, -1, 1.5, '640', null]) {
        writeManifest(bdir, { ...m, segmentMode: bad });
        assert.throws(() => Store.restore(bdir, { name: to.name, dir: to.dir, engine }), { code: 'ERR_PERSIST_CORRUPT' }, String(bad));
        assert.ok(!fs.existsSync(to.dir));
      }
    });

    it('a recorded mode with any one bit flipped, or a zero word with one bit set, is refused by every open, as damage', () => {
      const s = create(SHARED);
      s.close();
      const good = withControl(t.dir, (u32) => Atomics.load(u32, MODE_WORD));
      for (const base of [good, 0]) {
        for (let bit = 0; bit < 32; bit++) {
          withControl(t.dir, (u32) => Atomics.store(u32, MODE_WORD, (base ^ (1 << bit)) >>> 0));
          // The segment still exists: an open that attached without looking would succeed.
          assert.throws(() => Store.open({ name: t.name, engine, persist: { dir: t.dir } }), { code: 'ERR_PERSIST_CORRUPT' }, `word 0x${base.toString(16)}, bit ${bit}`);
        }
      }
      withControl(t.dir, (u32) => Atomics.store(u32, MODE_WORD, good));
      track(recover(t.name, t.dir, engine));
      assert.strictEqual(shmMode(t.name), SHARED);
    });

    it('a damaged recorded mode is refused by an open that would rebuild the store before it changes a byte of the control file', () => {
      const s = create(SHARED);
      s.set('c', 'k', 1);
      s.close();
      // The segment gone: the open would rebuild it. A refusal once the rebuild began would leave
      // the store not ready, a recovery counted and lock words changed.
      reboot(t.name);
      const file = path.join(t.dir, 'control');
      const good = withControl(t.dir, (u32) => Atomics.load(u32, MODE_WORD));
      for (let bit = 0; bit < 32; bit++) {
        withControl(t.dir, (u32) => Atomics.store(u32, MODE_WORD, (good ^ (1 << bit)) >>> 0));
        const before = fs.readFileSync(file);
        assert.throws(() => Store.open({ name: t.name, engine, persist: { dir: t.dir } }), { code: 'ERR_PERSIST_CORRUPT' }, `bit ${bit}`);
        assert.deepStrictEqual(changedControlWords(before, fs.readFileSync(file)), [], `bit ${bit}: the offsets of the words the refused open changed`);
        assert.throws(() => Segment.open({ name: t.name }), { code: 'ERR_SHM_NOT_FOUND' }, 'no segment created');
      }
      withControl(t.dir, (u32) => Atomics.store(u32, MODE_WORD, good));
      const r = track(Store.open({ name: t.name, engine, persist: { dir: t.dir } }));
      assert.strictEqual(r.get('c', 'k'), 1);
      assert.strictEqual(shmMode(t.name), SHARED);
    });

    it('a recorded mode damaged after the opener checked it is refused by the rebuild before anything changes', () => {
      const s = create(SHARED);
      s.set('c', 'k', 1);
      s.close();
      const file = path.join(t.dir, 'control');
      const good = withControl(t.dir, (u32) => Atomics.load(u32, MODE_WORD));
      const bad = (good ^ 1) >>> 0;
      // Not ready with the segment there (as a rebuild that failed part way leaves it: the open
      // would remove the segment and rebuild it), then ready with the segment gone (a reboot).
      for (const ready of [false, true]) {
        withControl(t.dir, (u32) => {
          Atomics.store(u32, STATE_WORD, ready ? C.PERSIST_STATE_READY : C.PERSIST_STATE_EMPTY);
          Atomics.store(u32, MODE_WORD, good);
        });
        if (ready) reboot(t.name);
        const before = fs.readFileSync(file);
        before.writeUInt32LE(bad, MODE_WORD * WORD);
        // Damaged once the open holds the recovery lock: after Control#check saw it whole.
        writeOnRecoveryLock(MODE_WORD, bad, () => {
          assert.throws(() => Store.open({ name: t.name, engine, persist: { dir: t.dir } }), { code: 'ERR_PERSIST_CORRUPT' }, `ready ${ready}`);
        });
        // Nothing but the recovery lock, which the open took and released, changed.
        assert.deepStrictEqual(changedControlWords(before, fs.readFileSync(file), [RECOVERY_LOCK_WORD]), [], `ready ${ready}: the offsets of the words the refused open changed`);
        if (!ready) {
          // The segment is still there, with the store in it.
          const x = track(Store.open({ name: t.name, engine }));
          assert.strictEqual(x.get('c', 'k'), 1);
          x.close();
        } else {
          assert.throws(() => Segment.open({ name: t.name }), { code: 'ERR_SHM_NOT_FOUND' }, 'no segment created');
        }
      }
      withControl(t.dir, (u32) => Atomics.store(u32, MODE_WORD, good));
      const r = track(Store.open({ name: t.name, engine, persist: { dir: t.dir } }));
      assert.notStrictEqual(r.persistence.recovery, null);
      assert.strictEqual(r.get('c', 'k'), 1);
      assert.strictEqual(shmMode(t.name), SHARED);
    });

    it('a recorded mode damaged while a handle is open fails that handle\'s backup, which writes no manifest without it', () => {
      const s = create(SHARED);
      s.set('c', 'k', 'v');
      const bdir = tmp('bak');
      const good = withControl(t.dir, (u32) => Atomics.load(u32, MODE_WORD));
      for (const bit of [0, 8, 16, 24, 31]) {
        withControl(t.dir, (u32) => Atomics.store(u32, MODE_WORD, (good ^ (1 << bit)) >>> 0));
        assert.throws(() => s.backup(bdir), { code: 'ERR_PERSIST_CORRUPT' }, `bit ${bit}`);
        assert.ok(!fs.existsSync(path.join(bdir, MANIFEST)), 'no manifest');
        // Refused before anything was copied.
        assert.deepStrictEqual(fs.readdirSync(bdir), []);
      }
      withControl(t.dir, (u32) => Atomics.store(u32, MODE_WORD, good));
      s.backup(bdir);
      assert.strictEqual(readManifest(bdir).segmentMode, SHARED);
    });
  });
}
