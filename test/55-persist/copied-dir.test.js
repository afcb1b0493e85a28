'use strict';
// A copy of a persistence directory (its files copied as they are: cp -r, a file-level backup) is
// a store of its own from its first open (docs/api.md, "Store.open with persist"; format.md §16,
// "Copies of a directory"): it gets a store id of its own, so it never attaches to the original's
// segment, and a backup of either never extends the other's files in a backup directory.
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Store } = require('../../index');
const native = require('../../lib/base/native');
const { persistTarget, contents, reboot } = require('../helpers/persist');
const { uniqueName, removeShm } = require('../helpers/process');

const manifestId = (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')).storeId;

(native.addon ? describe : describe.skip)('Persistence: a copied directory', function () {
  this.timeout(60000);
  let t;
  let copy;
  let other;
  let bdir;
  const handles = [];
  const track = (s) => {
    handles.push(s);
    return s;
  };
  beforeEach(() => {
    t = persistTarget('orig');
    copy = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-persist-cp-'));
    other = uniqueName('copy');
    bdir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-backup-cp-'));
  });
  afterEach(() => {
    for (const s of handles.splice(0)) if (!s.closed) s.close();
    t.cleanup();
    removeShm(other);
    fs.rmSync(copy, { recursive: true, force: true });
    fs.rmSync(bdir, { recursive: true, force: true });
  });

  const cp = () => fs.cpSync(t.dir, copy, { recursive: true });

  it('opened under the original\'s segment name while the original lives, the copy is refused with ERR_SHM_EXISTS and neither changes', () => {
    const a = track(Store.create({ name: t.name, size: 1 << 20, persist: { dir: t.dir, sync: 'always' } }));
    a.set('n', 'k', 'v');
    cp();
    assert.throws(() => track(Store.open({ name: t.name, persist: { dir: copy } })), (e) => e.code === 'ERR_SHM_EXISTS' && /another persistence directory/.test(e.message));
    a.set('n', 'k2', 'v2');
    a.close();
    // The original's log holds its writes; the copy, opened under a name of its own, holds what
    // was copied.
    reboot(t.name);
    const a2 = track(Store.open({ name: t.name, persist: { dir: t.dir } }));
    assert.deepStrictEqual(contents(a2, 'n'), [['k', 'v'], ['k2', 'v2']]);
    const b = track(Store.open({ name: other, persist: { dir: copy } }));
    assert.deepStrictEqual(contents(b, 'n'), [['k', 'v']]);
  });

  // A copy of a directory of an earlier version (whose control file records no inode), made
  // before this version first opened it, cannot be told from its original at its own first open:
  // opened under a name of its own while the original's segment lives, it is rebuilt there as
  // before, not refused as the original opened under a mistyped name is.
  it('a copy of a directory of an earlier version, made before its first open here, opens under a name of its own', () => {
    const { Segment } = require('../../index');
    const { C, W } = require('../../lib/layout/layout');
    const a = track(Store.create({ name: t.name, size: 1 << 20, persist: { dir: t.dir, sync: 'always' } }));
    a.set('n', 'k', 'v');
    a.close();
    // The control file as an earlier version left it: no inode recorded.
    const seg = Segment.open({ path: path.join(t.dir, 'control') });
    try {
      const u64 = new BigUint64Array(seg.buffer, 0, C.PERSIST_CONTROL_BYTES / BigUint64Array.BYTES_PER_ELEMENT);
      Atomics.store(u64, (C.PERSIST_RECOVERY_OFFSET + W.PERSIST_RECOVERY.CONTROL_INO * Uint32Array.BYTES_PER_ELEMENT) / BigUint64Array.BYTES_PER_ELEMENT, 0n);
    } finally {
      seg.close();
    }
    cp();
    const a2 = track(Store.open({ name: t.name, persist: { dir: t.dir } }));
    const b = track(Store.open({ name: other, persist: { dir: copy } }));
    assert.notStrictEqual(b.persistence.recovery, null);
    assert.deepStrictEqual(contents(b, 'n'), [['k', 'v']]);
    b.set('n', 'k2', 'copy');
    a2.set('n', 'k3', 'orig');
    assert.deepStrictEqual(contents(a2, 'n'), [['k', 'v'], ['k3', 'orig']]);
    // Its second open is no first one: a mistyped name is refused from then on.
    b.close();
    assert.throws(() => track(Store.open({ name: `${other}-typo`, persist: { dir: copy } })), { code: 'ERR_INVALID_ARG' });
  });

  // A directory moved to another file system (a copy of its files, then their removal) while
  // its segment still existed was given a new store id and then refused with ERR_SHM_EXISTS,
  // whose message said that nothing was changed: the new id had been written first, before the
  // segment was looked at. The new id is now stored only once the open goes on.
  it('moved to another file system while its segment exists, the directory is refused with ERR_SHM_EXISTS and its store id is left as it was', () => {
    const { Control } = require('../../lib/persist/control');
    const idOf = (dir) => {
      const c = new Control(dir, null, 1000);
      try {
        return c.storeIdValue;
      } finally {
        c.close();
      }
    };
    const a = track(Store.create({ name: t.name, size: 1 << 20, persist: { dir: t.dir, sync: 'always' } }));
    a.set('n', 'k', 'v');
    a.close(); // the segment stays
    const before = idOf(t.dir);
    cp();
    fs.rmSync(t.dir, { recursive: true, force: true });
    for (let i = 0; i < 2; i++) {
      assert.throws(() => track(Store.open({ name: t.name, persist: { dir: copy } })), (e) => e.code === 'ERR_SHM_EXISTS' &&
        /Nothing was changed/.test(e.message) && e.message.includes(`${copy} is a copy of a persistence directory`));
      assert.strictEqual(idOf(copy), before, 'a refused open changed the store id');
    }
    // With the segment gone the moved directory is rebuilt from its log, under an id of its own
    // from there on.
    reboot(t.name);
    const b = track(Store.open({ name: t.name, persist: { dir: copy } }));
    assert.deepStrictEqual(contents(b, 'n'), [['k', 'v']]);
    const after = idOf(copy);
    assert.notStrictEqual(after, before);
    b.close();
    const b2 = track(Store.open({ name: t.name, persist: { dir: copy } }));
    assert.strictEqual(idOf(copy), after);
    b2.close();
  });

  it('the copy and the original back up into one directory without mixing their logs; the copy keeps its new id', () => {
    const a = track(Store.create({ name: t.name, size: 1 << 20, persist: { dir: t.dir, sync: 'always', checkpointBytes: 0 } }));
    a.set('n', 'k', 'v');
    a.close();
    cp();
    const a2 = track(Store.open({ name: t.name, persist: { dir: t.dir } }));
    a2.set('n', 'a-only', 'x');
    a2.backup(bdir);
    const originalId = manifestId(bdir);
    const b = track(Store.open({ name: other, persist: { dir: copy } }));
    // Longer than the original's write: the copy's log reaches past the end of the original's in
    // the backup, which a backup of one store extends.
    b.set('n', 'b-only', 'y'.repeat(200));
    const r = b.backup(bdir);
    assert.notStrictEqual(manifestId(bdir), originalId, 'the copy backed up under the original\'s store id');
    assert.strictEqual(r.bytesCopied, r.bytesTotal, 'the copy\'s backup extended the original\'s files');
    const copyId = manifestId(bdir);
    b.close();
    // Reopened (attached, and rebuilt), the copy keeps the id it was given.
    const b2 = track(Store.open({ name: other, persist: { dir: copy } }));
    b2.close();
    reboot(other);
    const b3 = track(Store.open({ name: other, persist: { dir: copy } }));
    assert.deepStrictEqual(contents(b3, 'n'), [['b-only', 'y'.repeat(200)], ['k', 'v']]);
    b3.backup(bdir);
    assert.strictEqual(manifestId(bdir), copyId);
    b3.close();
    const r2 = persistTarget('res');
    try {
      const x = Store.restore(bdir, { name: r2.name, dir: r2.dir });
      assert.deepStrictEqual(contents(x, 'n'), [['b-only', 'y'.repeat(200)], ['k', 'v']]);
      x.close();
    } finally {
      r2.cleanup();
    }
    // The original keeps its id too.
    a2.backup(bdir);
    assert.strictEqual(manifestId(bdir), originalId);
  });
});
