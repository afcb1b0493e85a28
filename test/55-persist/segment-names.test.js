'use strict';
// Two persistence directories opened with one segment name (a configuration mistake, or a
// restored backup opened under its original's name): an open of one directory never attaches to
// the other's segment, nor removes it to rebuild its own store under the name (format.md §4
// PersistTag, §16 "Files"). Each store keeps what it acknowledged; the refused open changes
// nothing and says that the name is in use by another store. The store's own stale segment, and
// a segment gone after a reboot, are still rebuilt from the log.
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Store } = require('../../index');
const { ENGINES } = require('../helpers/engines');
const { persistTarget, reboot, recover, contents } = require('../helpers/persist');
const { spawnChild, removeShm } = require('../helpers/process');
const { Segment } = require('../../lib/segment/segment');
const { Control } = require('../../lib/persist/control');
const { readTag } = require('../../lib/persist/tag');
const { C } = require('../../lib/layout/layout');

const SIZE = 1 << 22;
const HOLDER = path.join(__dirname, '..', 'helpers', 'children', 'named-holder.js');

// Leaves the control file of `dir` as a rebuild killed part way leaves it: not ready, so that the
// next open rebuilds the store, removing what the segment name holds first.
function killedRebuild(dir) {
  const c = new Control(dir, null, 1000);
  c.ready = false;
  c.close();
}

// Resolves once the output of `child` (spawnChild) matches `re`; rejects if it exits first.
function outputMatches(child, re) {
  return new Promise((resolve, reject) => {
    const look = () => {
      if (re.test(child.output())) resolve();
      else if (child.c.exitCode !== null || child.c.signalCode !== null) reject(new Error(`the child exited before printing ${re}`));
      else setTimeout(look, 5);
    };
    look();
  });
}

const inUse = (e) => e.code === 'ERR_SHM_EXISTS' && /two stores were opened with one segment name/.test(e.message);

for (const engine of ENGINES) {
  describe(`Persistence: two directories with one segment name [${engine} engine]`, () => {
    let a;
    let b;
    let extra;
    const open = [];
    const children = [];
    const track = (s) => { open.push(s); return s; };
    beforeEach(() => {
      a = persistTarget('names');
      b = { dir: fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-persist-')) };
      extra = [];
    });
    afterEach(async () => {
      // A child a failed test never told to go on.
      for (const h of children.splice(0)) {
        h.c.kill('SIGKILL');
        await h.exited;
      }
      for (const s of open.splice(0)) if (!s.closed) s.close();
      a.cleanup();
      for (const d of [b.dir, ...extra]) fs.rmSync(d, { recursive: true, force: true });
    });

    // Directory b holds a store of its own (b = B) under the name of a's, whose segment is gone.
    function storeB() {
      const s = Store.create({ name: a.name, size: SIZE, engine, persist: { dir: b.dir, sync: 'always' } });
      s.set('n', 'b', 'B');
      s.close();
      reboot(a.name);
    }

    it('refuses to attach to the live segment of another directory, which keeps its store', () => {
      storeB();
      const sa = track(Store.create({ name: a.name, size: SIZE, engine, persist: { dir: a.dir, sync: 'always' } }));
      sa.set('n', 'a', 'A');
      assert.throws(() => Store.open({ name: a.name, engine, persist: { dir: b.dir } }), inUse);
      sa.set('n', 'a2', 'A2');
      assert.deepStrictEqual(contents(sa, 'n'), [['a', 'A'], ['a2', 'A2']]);
      sa.close();
      const ra = track(recover(a.name, a.dir, engine));
      assert.deepStrictEqual(contents(ra, 'n'), [['a', 'A'], ['a2', 'A2']]);
      ra.close();
      const rb = track(recover(a.name, b.dir, engine));
      assert.deepStrictEqual(contents(rb, 'n'), [['b', 'B']]);
    });

    it('never removes the live segment of another process\'s directory to rebuild its own store', async () => {
      storeB();
      killedRebuild(b.dir);
      const go = path.join(b.dir, '..', `${path.basename(b.dir)}.go`);
      extra.push(go);
      const holder = spawnChild(HOLDER, [JSON.stringify({ name: a.name, dir: a.dir, go })]);
      children.push(holder);
      await outputMatches(holder, /ready/);
      assert.throws(() => Store.open({ name: a.name, engine, persist: { dir: b.dir } }), inUse);
      // The segment under the name is still a's: a later opener of a's directory reads a's store.
      const later = track(Store.open({ name: a.name, engine, persist: { dir: a.dir } }));
      assert.deepStrictEqual(contents(later, 'n'), [['a', 'A']]);
      fs.writeFileSync(go, '');
      const done = await holder.exited;
      assert.strictEqual(done.code, 0, done.err);
      assert.deepStrictEqual(JSON.parse(done.out.split('\n')[1]), [['a', 'A'], ['a2', 'A2']]);
      assert.deepStrictEqual(contents(later, 'n'), [['a', 'A'], ['a2', 'A2']]);
      later.close();
      const ra = track(recover(a.name, a.dir, engine));
      assert.deepStrictEqual(contents(ra, 'n'), [['a', 'A'], ['a2', 'A2']]);
      ra.close();
      const rb = track(recover(a.name, b.dir, engine));
      assert.deepStrictEqual(contents(rb, 'n'), [['b', 'B']]);
    });

    it('refuses to remove a store without persistence that a live handle holds under the name, and removes it once nobody does', () => {
      storeB();
      killedRebuild(b.dir);
      const plain = track(Store.create({ name: a.name, size: SIZE, engine }));
      plain.set('n', 'p', 'P');
      assert.throws(() => Store.open({ name: a.name, engine, persist: { dir: b.dir } }),
        (e) => inUse(e) && /live process/.test(e.message));
      assert.strictEqual(plain.get('n', 'p'), 'P');
      plain.close();
      const sb = track(Store.open({ name: a.name, engine, persist: { dir: b.dir } }));
      assert.notStrictEqual(sb.persistence.recovery, null);
      assert.deepStrictEqual(contents(sb, 'n'), [['b', 'B']]);
    });

    it('refuses the original directory once a restore of its backup took its name', () => {
      const sa = track(Store.create({ name: a.name, size: SIZE, engine, persist: { dir: a.dir, sync: 'always' } }));
      sa.set('n', 'a', 'A');
      const bk = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-backup-'));
      extra.push(bk);
      sa.backup(bk);
      sa.close();
      reboot(a.name);
      const r = track(Store.restore(bk, { name: a.name, dir: b.dir, engine }));
      r.set('n', 'r', 'R');
      assert.throws(() => Store.open({ name: a.name, engine, persist: { dir: a.dir } }), inUse);
      r.close();
      const ra = track(recover(a.name, a.dir, engine));
      assert.deepStrictEqual(contents(ra, 'n'), [['a', 'A']]);
      ra.close();
      const rb = track(recover(a.name, b.dir, engine));
      assert.deepStrictEqual(contents(rb, 'n'), [['a', 'A'], ['r', 'R']]);
    });

    it('refuses an open under another name while the store\'s own segment exists (a mistyped name), and changes nothing', () => {
      const other = `${a.name}-typo`;
      const elsewhere = (e) => e.code === 'ERR_INVALID_ARG' && e.message.includes(`holds the log of ${a.name}, not of ${other}`) &&
        /still holds that store\. Nothing was changed/.test(e.message);
      const segmentFile = () => fs.readFileSync(path.join(a.dir, 'segment'), 'utf8');
      try {
        const sa = track(Store.create({ name: a.name, size: SIZE, engine, persist: { dir: a.dir, sync: 'always' } }));
        sa.set('n', 'a', 'A');
        assert.throws(() => Store.open({ name: other, engine, persist: { dir: a.dir } }), elsewhere);
        // The store's handle goes on (before, it was fenced off: ERR_PERSIST_STALE), no segment
        // was made under the other name, and the directory still names the store's.
        sa.set('n', 'a2', 'A2');
        assert.deepStrictEqual(contents(sa, 'n'), [['a', 'A'], ['a2', 'A2']]);
        assert.throws(() => Segment.open({ name: other }), { code: 'ERR_SHM_NOT_FOUND' });
        assert.strictEqual(segmentFile(), `name:${a.name}\n`);
        sa.close();
        // Every handle closed: the segment still holds the store, and is still what it is opened as.
        assert.throws(() => Store.open({ name: other, engine, persist: { dir: a.dir } }), elsewhere);
        const same = track(Store.open({ name: a.name, engine, persist: { dir: a.dir } }));
        assert.strictEqual(same.persistence.recovery, null);
        assert.deepStrictEqual(contents(same, 'n'), [['a', 'A'], ['a2', 'A2']]);
        same.close();
        // Moved on purpose: once its segment is gone, the store opens under the new name, rebuilt
        // from its log, and the directory names the new segment.
        reboot(a.name);
        const moved = track(Store.open({ name: other, engine, persist: { dir: a.dir } }));
        assert.notStrictEqual(moved.persistence.recovery, null);
        assert.deepStrictEqual(contents(moved, 'n'), [['a', 'A'], ['a2', 'A2']]);
        assert.strictEqual(segmentFile(), `name:${other}\n`);
        moved.close();
      } finally {
        removeShm(other);
      }
    });

    it('still rebuilds over its own stale segment, and after a reboot', () => {
      const s = track(Store.create({ name: a.name, size: SIZE, engine, persist: { dir: a.dir, sync: 'always' } }));
      s.set('n', 'a', 'A');
      s.close();
      killedRebuild(a.dir);
      const again = track(Store.open({ name: a.name, engine, persist: { dir: a.dir } }));
      assert.notStrictEqual(again.persistence.recovery, null);
      assert.deepStrictEqual(contents(again, 'n'), [['a', 'A']]);
      again.close();
      // The segment file already names the segment: a rebuild under that name leaves the file as
      // it is (a rewrite could fail on a full disk after the store was rebuilt).
      const recorded = fs.statSync(path.join(a.dir, 'segment'));
      const rebooted = track(recover(a.name, a.dir, engine));
      assert.notStrictEqual(rebooted.persistence.recovery, null);
      assert.deepStrictEqual(contents(rebooted, 'n'), [['a', 'A']]);
      assert.strictEqual(fs.statSync(path.join(a.dir, 'segment')).ino, recorded.ino);
    });

    it('takes a segment of its own that records no store id (written before the tag existed)', () => {
      const s = track(Store.create({ name: a.name, size: SIZE, engine, persist: { dir: a.dir, sync: 'always' } }));
      s.set('n', 'a', 'A');
      const id = readTag(s._buffer);
      assert.notStrictEqual(id, 0n);
      Atomics.store(new BigUint64Array(s._buffer, C.PERSIST_TAG_OFFSET, 1), 0, 0n);
      const again = track(Store.open({ name: a.name, engine, persist: { dir: a.dir } }));
      assert.strictEqual(again.persistence.recovery, null);
      assert.deepStrictEqual(contents(again, 'n'), [['a', 'A']]);
      assert.strictEqual(readTag(s._buffer), id);
    });
  });
}


// What a segment name holds when a rebuild was killed may be no store at all:
// a structure of another kind (a queue, a mutex) or other data another program put there. A
// rebuild removed whatever it found under the name; it now refuses, with ERR_SHM_EXISTS and
// nothing changed, anything but a store (format.md §16, "Files"). A segment of zeros of the
// store's own size is what a rebuild killed before it stamped the store's magic leaves: it is
// still rebuilt over.
describe('Persistence: a rebuild never removes a segment that holds no store', () => {
  const { MpmcQueue, Mutex, Segment } = require('../../index');
  const notAStore = (e) => e.code === 'ERR_SHM_EXISTS' && /holds no store/.test(e.message);
  let a;
  beforeEach(() => {
    a = persistTarget('nostore');
    const s = Store.create({ name: a.name, size: SIZE, persist: { dir: a.dir, sync: 'always' } });
    s.set('n', 'a', 'A');
    s.close();
    // The store's segment gone and a rebuild killed part way: the next open rebuilds the store,
    // whatever the name holds by then. (An open of a ready store that finds a segment under the
    // name opens it as a store, and refuses another structure with ERR_BAD_MAGIC.)
    reboot(a.name);
    killedRebuild(a.dir);
  });
  afterEach(() => a.cleanup());

  // Removes what the name holds, then opens the directory: its store, rebuilt.
  function rebuiltAfterUnlink() {
    reboot(a.name);
    const s = Store.open({ name: a.name, persist: { dir: a.dir } });
    try {
      assert.notStrictEqual(s.persistence.recovery, null);
      assert.deepStrictEqual(contents(s, 'n'), [['a', 'A']]);
    } finally {
      s.close();
    }
  }

  it('a message queue and a mutex under the name are refused and left as they were', () => {
    const q = MpmcQueue.create({ name: a.name, capacity: 4 });
    q.tryEnqueue('kept');
    q.close();
    assert.throws(() => Store.open({ name: a.name, persist: { dir: a.dir } }), notAStore);
    const again = MpmcQueue.open({ name: a.name });
    assert.strictEqual(again.tryDequeue(), 'kept');
    again.close();
    reboot(a.name);
    const m = Mutex.create({ name: a.name });
    m.lock();
    assert.throws(() => Store.open({ name: a.name, persist: { dir: a.dir } }), notAStore);
    assert.strictEqual(Mutex.open({ name: a.name }).tryLock(), false, 'the mutex is still the one held');
    m.unlock();
    m.close();
    rebuiltAfterUnlink();
  });

  it('other data is refused, and so are zeros of another size than the store; zeros of its size are rebuilt over', () => {
    const data = Segment.create({ name: a.name, size: 4096 });
    new Uint8Array(data.buffer).fill(0x5a);
    data.close();
    assert.throws(() => Store.open({ name: a.name, persist: { dir: a.dir } }), notAStore);
    const seg = Segment.open({ name: a.name });
    assert.ok(new Uint8Array(seg.buffer).every((b) => b === 0x5a), 'the data was changed');
    seg.close();
    reboot(a.name);
    Segment.create({ name: a.name, size: SIZE / 2 }).close();
    assert.throws(() => Store.open({ name: a.name, persist: { dir: a.dir } }), notAStore);
    reboot(a.name);
    Segment.create({ name: a.name, size: SIZE }).close(); // a rebuild killed before its magic
    const s = Store.open({ name: a.name, persist: { dir: a.dir } });
    assert.notStrictEqual(s.persistence.recovery, null);
    assert.deepStrictEqual(contents(s, 'n'), [['a', 'A']]);
    s.close();
  });
});
