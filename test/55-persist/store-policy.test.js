'use strict';
// The store's default eviction policy on a persisted store (docs/api.md, "Persistence";
// format.md §16, the control segment's `storePolicy` and the manifest's `eviction`): a store
// created with eviction 'auto' evicts, instead of refusing with ERR_STORE_FULL, after a rebuild
// from its snapshot and log (the segment removed, as a reboot does), after a rebuild that follows
// a kill -9 of its creator right after the create, and after Store.restore of a backup. The rest
// of what Store.create records in the store (size, buckets, maxEntries, maxNamespaces) is the
// control's geometry and survives as well. A control file or a manifest written before the
// policy was recorded opens and reads as 'none', as before; an opener records the policy of the
// store it attaches to in such a control file, and a damaged record is refused.
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
const POLICY_WORD = C.PERSIST_RECOVERY_OFFSET / WORD + W.PERSIST_RECOVERY.STORE_POLICY;
// The control header's `state` (ready or not) and the recovery lock, which every open takes.
const STATE_WORD = C.PERSIST_HEADER_OFFSET / WORD + W.PERSIST_HEADER.STATE;
const RECOVERY_LOCK_WORD = C.PERSIST_RECOVERY_OFFSET / WORD + W.PERSIST_RECOVERY.LOCK;
const CRASH_CREATOR = path.join(__dirname, '..', 'helpers', 'children', 'crash-creator.js');
// A store that holds far fewer values of VALUE than FILL.
const SIZE = 1 << 20;
const VALUE = 'v'.repeat(500);
const FILL = 4000;
// What Store.create records in the store besides the policy, given other than the defaults.
const SHAPE = { size: SIZE, buckets: 512, maxEntries: 3000, maxNamespaces: 40 };

// The geometry a store reports (what its creator gave: SHAPE).
function shapeOf(s) {
  const st = s.stats();
  return { size: st.bytesTotal, buckets: st.buckets, maxEntries: st.maxEntries, maxNamespaces: st.maxNamespaces };
}

// Writes FILL values under new keys: an evicting store takes them all (its oldest go), one that
// does not evict refuses with ERR_STORE_FULL. Returns the count, or the error's code.
function fill(s, tag) {
  try {
    for (let i = 0; i < FILL; i++) s.set('c', `${tag}${i}`, VALUE);
  } catch (err) {
    return err.code;
  }
  return FILL;
}

// The control file's storePolicy word, read or changed in place (no handle may have it open).
function withControl(dir, fn) {
  const seg = Segment.open({ path: path.join(dir, 'control') });
  try {
    return fn(new Uint32Array(seg.buffer, 0, C.PERSIST_CONTROL_BYTES / WORD));
  } finally {
    seg.close();
  }
}

for (const engine of ENGINES) {
  describe(`Persistence: the store's eviction policy survives a rebuild and a restore [${engine} engine]`, () => {
    let t;
    const open = [];
    const dirs = [];
    const track = (s) => { open.push(s); return s; };
    const tmp = (tag) => {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), `shmstore-policy-${tag}-`));
      dirs.push(d);
      return d;
    };
    beforeEach(() => { t = persistTarget('spol'); });
    afterEach(() => {
      for (const s of open.splice(0)) if (!s.closed) s.close();
      for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
      t.cleanup();
    });

    const create = (eviction) => track(Store.create({ name: t.name, ...SHAPE, engine, eviction, persist: { dir: t.dir, sync: 'none' } }));

    for (const how of ['log', 'snapshot and log']) {
      it(`a store created with eviction 'auto' evicts after a rebuild from the ${how}, and keeps its geometry`, () => {
        const s = create('auto');
        // The control file records the policy as the document says (an independent reader).
        assert.strictEqual(readControl(path.join(t.dir, 'control')).storePolicy, C.POLICY_CLOCK);
        assert.strictEqual(fill(s, 'a'), FILL);
        if (how !== 'log') s.checkpoint();
        s.set('c', 'last', 1);
        assert.ok(s.count('c') < FILL);
        s.close();
        const r = track(recover(t.name, t.dir, engine));
        assert.strictEqual(r.persistence.recovery.snapshot === null, how === 'log');
        assert.strictEqual(r.get('c', 'last'), 1);
        assert.strictEqual(r.stats().eviction, 'clock');
        assert.deepStrictEqual(shapeOf(r), SHAPE);
        assert.strictEqual(fill(r, 'b'), FILL);
        assert.strictEqual(r.verify().ok, true);
        r.close();
        // And again: the rebuilt store's directory still says so.
        const again = track(recover(t.name, t.dir, engine));
        assert.strictEqual(again.stats().eviction, 'clock');
        assert.deepStrictEqual(shapeOf(again), SHAPE);
      });
    }

    it("a store created without eviction stays 'none' after a rebuild: a full store refuses", () => {
      const s = create(undefined);
      assert.strictEqual(readControl(path.join(t.dir, 'control')).storePolicy, C.POLICY_NONE);
      assert.strictEqual(fill(s, 'a'), 'ERR_STORE_FULL');
      s.close();
      const r = track(recover(t.name, t.dir, engine));
      assert.strictEqual(r.stats().eviction, 'none');
      assert.strictEqual(fill(r, 'b'), 'ERR_STORE_FULL');
    });

    it("a store whose creator was killed (kill -9) right after the create is rebuilt with eviction 'auto'", async () => {
      const r = await runNode(CRASH_CREATOR, [JSON.stringify({ how: 'create', name: t.name, dir: t.dir, size: SIZE, sync: 'none', killAt: 'created', engine, eviction: 'auto' })]);
      assert.strictEqual(r.signal, 'SIGKILL', r.stderr);
      reboot(t.name);
      const s = track(Store.open({ name: t.name, engine, persist: { dir: t.dir } }));
      assert.notStrictEqual(s.persistence.recovery, null);
      assert.strictEqual(s.stats().eviction, 'clock');
      assert.strictEqual(fill(s, 'a'), FILL);
      assert.strictEqual(s.verify().ok, true);
    });

    for (const taken of ['before any write', 'after writes and a checkpoint']) {
      it(`Store.restore of a backup taken ${taken} gives a store with eviction 'auto' and its geometry, also after its own rebuild`, () => {
        const s = create('auto');
        if (taken !== 'before any write') {
          assert.strictEqual(fill(s, 'a'), FILL);
          s.checkpoint();
          s.set('c', 'last', 1);
        }
        const bdir = tmp('backup');
        s.backup(bdir);
        s.close();
        reboot(t.name);
        const to = persistTarget('spolr');
        try {
          const x = track(Store.restore(bdir, { name: to.name, dir: to.dir, engine }));
          if (taken !== 'before any write') assert.strictEqual(x.get('c', 'last'), 1);
          assert.strictEqual(x.stats().eviction, 'clock');
          assert.deepStrictEqual(shapeOf(x), SHAPE);
          assert.strictEqual(fill(x, 'b'), FILL);
          x.close();
          assert.strictEqual(JSON.parse(fs.readFileSync(path.join(bdir, MANIFEST), 'utf8')).eviction, 'clock');
          assert.strictEqual(readControl(path.join(to.dir, 'control')).storePolicy, C.POLICY_CLOCK);
          const y = track(recover(to.name, to.dir, engine));
          assert.strictEqual(y.stats().eviction, 'clock');
          assert.strictEqual(fill(y, 'c'), FILL);
          // A backup of the restored store says so too.
          const b2 = tmp('backup2');
          y.backup(b2);
          assert.strictEqual(JSON.parse(fs.readFileSync(path.join(b2, MANIFEST), 'utf8')).eviction, 'clock');
          y.close();
        } finally {
          to.cleanup();
        }
      });
    }

    it("a control file without the policy (as an earlier version wrote it) opens, and a rebuild from it reads as 'none'", () => {
      const s = create('auto');
      s.set('c', 'k', 1);
      s.close();
      withControl(t.dir, (u32) => Atomics.store(u32, POLICY_WORD, 0));
      const r = track(recover(t.name, t.dir, engine));
      assert.strictEqual(r.get('c', 'k'), 1);
      assert.strictEqual(r.stats().eviction, 'none');
      assert.strictEqual(fill(r, 'b'), 'ERR_STORE_FULL');
      r.close();
      // The rebuild records what it rebuilt: 'none', as every rebuild of such a file did.
      assert.strictEqual(readControl(path.join(t.dir, 'control')).storePolicy, C.POLICY_NONE);
    });

    it('an open that attaches to the store records its policy in a control file without it, so that a later rebuild keeps it', () => {
      const s = create('auto');
      s.set('c', 'k', 1);
      s.close();
      withControl(t.dir, (u32) => Atomics.store(u32, POLICY_WORD, 0));
      // The segment is still there: the open attaches to it.
      const a = track(Store.open({ name: t.name, engine, persist: { dir: t.dir } }));
      assert.strictEqual(a.persistence.recovery, null);
      a.close();
      assert.strictEqual(readControl(path.join(t.dir, 'control')).storePolicy, C.POLICY_CLOCK);
      const r = track(recover(t.name, t.dir, engine));
      assert.strictEqual(r.stats().eviction, 'clock');
      assert.strictEqual(fill(r, 'b'), FILL);
    });

    it("a manifest without the policy (as an earlier version wrote it) restores a store that reads as 'none'", () => {
      const s = create('auto');
      s.set('c', 'k', 1);
      const bdir = tmp('backup');
      s.backup(bdir);
      s.close();
      const m = JSON.parse(fs.readFileSync(path.join(bdir, MANIFEST), 'utf8'));
      delete m.eviction;
      writeManifest(bdir, m);
      const to = persistTarget('spolm');
      try {
        const x = track(Store.restore(bdir, { name: to.name, dir: to.dir, engine }));
        assert.strictEqual(x.get('c', 'k'), 1);
        assert.strictEqual(x.stats().eviction, 'none');
        assert.strictEqual(fill(x, 'b'), 'ERR_STORE_FULL');
        x.close();
      } finally {
        to.cleanup();
      }
    });

    it('a manifest naming an unknown policy is refused before anything is created', () => {
      const s = create('auto');
      const bdir = tmp('backup');
      s.backup(bdir);
      s.close();
      const m = JSON.parse(fs.readFileSync(path.join(bdir, MANIFEST), 'utf8'));
      m.eviction = 'lru';
      writeManifest(bdir, m);
      const to = persistTarget('spolu');
      try {
        assert.throws(() => Store.restore(bdir, { name: to.name, dir: to.dir, engine }), { code: 'ERR_PERSIST_CORRUPT' });
        assert.ok(!fs.existsSync(path.join(to.dir, 'control')));
      } finally {
        to.cleanup();
      }
    });

    it('a recorded policy with any one bit flipped is refused by every open, as damage', () => {
      const s = create('auto');
      s.close();
      const good = withControl(t.dir, (u32) => Atomics.load(u32, POLICY_WORD));
      for (let bit = 0; bit < 32; bit++) {
        withControl(t.dir, (u32) => Atomics.store(u32, POLICY_WORD, (good ^ (1 << bit)) >>> 0));
        assert.throws(() => Store.open({ name: t.name, engine, persist: { dir: t.dir } }), { code: 'ERR_PERSIST_CORRUPT' }, `bit ${bit}`);
      }
      withControl(t.dir, (u32) => Atomics.store(u32, POLICY_WORD, good));
      track(recover(t.name, t.dir, engine));
    });

    it('a damaged recorded policy is refused by an open that would rebuild the store before it changes a byte of the control file', () => {
      const s = create('auto');
      s.set('c', 'k', 1);
      s.close();
      // The segment gone: the open would rebuild it. A refusal once the rebuild began would leave
      // the store not ready, a recovery counted and lock words changed.
      reboot(t.name);
      const file = path.join(t.dir, 'control');
      const good = withControl(t.dir, (u32) => Atomics.load(u32, POLICY_WORD));
      for (let bit = 0; bit < 32; bit++) {
        withControl(t.dir, (u32) => Atomics.store(u32, POLICY_WORD, (good ^ (1 << bit)) >>> 0));
        const before = fs.readFileSync(file);
        assert.throws(() => Store.open({ name: t.name, engine, persist: { dir: t.dir } }), { code: 'ERR_PERSIST_CORRUPT' }, `bit ${bit}`);
        assert.deepStrictEqual(changedControlWords(before, fs.readFileSync(file)), [], `bit ${bit}: the offsets of the words the refused open changed`);
        assert.throws(() => Segment.open({ name: t.name }), { code: 'ERR_SHM_NOT_FOUND' }, 'no segment created');
      }
      withControl(t.dir, (u32) => Atomics.store(u32, POLICY_WORD, good));
      const r = track(Store.open({ name: t.name, engine, persist: { dir: t.dir } }));
      assert.strictEqual(r.get('c', 'k'), 1);
      assert.strictEqual(fill(r, 'after'), FILL);
    });

    it('a recorded policy damaged after the opener checked it is refused by the rebuild before anything changes', () => {
      const s = create('auto');
      s.set('c', 'k', 1);
      s.close();
      const file = path.join(t.dir, 'control');
      const good = withControl(t.dir, (u32) => Atomics.load(u32, POLICY_WORD));
      const bad = (good ^ 4) >>> 0;
      // Not ready with the segment there (as a rebuild that failed part way leaves it: the open
      // would remove the segment and rebuild it), then ready with the segment gone (a reboot).
      for (const ready of [false, true]) {
        withControl(t.dir, (u32) => {
          Atomics.store(u32, STATE_WORD, ready ? C.PERSIST_STATE_READY : C.PERSIST_STATE_EMPTY);
          Atomics.store(u32, POLICY_WORD, good);
        });
        if (ready) reboot(t.name);
        const before = fs.readFileSync(file);
        before.writeUInt32LE(bad, POLICY_WORD * WORD);
        // Damaged once the open holds the recovery lock: after Control#check saw it whole.
        writeOnRecoveryLock(POLICY_WORD, bad, () => {
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
      withControl(t.dir, (u32) => Atomics.store(u32, POLICY_WORD, good));
      const r = track(Store.open({ name: t.name, engine, persist: { dir: t.dir } }));
      assert.notStrictEqual(r.persistence.recovery, null);
      assert.strictEqual(r.get('c', 'k'), 1);
      assert.strictEqual(fill(r, 'after'), FILL);
    });

    it('a recorded policy damaged while a handle is open fails that handle\'s backup, which writes no manifest without it', () => {
      const s = create('auto');
      s.set('c', 'k', 'v');
      const bdir = tmp('bak');
      const good = withControl(t.dir, (u32) => Atomics.load(u32, POLICY_WORD));
      withControl(t.dir, (u32) => Atomics.store(u32, POLICY_WORD, (good ^ 4) >>> 0));
      assert.throws(() => s.backup(bdir), { code: 'ERR_PERSIST_CORRUPT' });
      assert.ok(!fs.existsSync(path.join(bdir, MANIFEST)), 'no manifest');
      withControl(t.dir, (u32) => Atomics.store(u32, POLICY_WORD, good));
      s.backup(bdir);
      assert.strictEqual(JSON.parse(fs.readFileSync(path.join(bdir, MANIFEST), 'utf8')).eviction, 'clock');
    });
  });
}
