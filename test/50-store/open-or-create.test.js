'use strict';
// Opening a store while another party creates it (docs/api.md, Store.open and
// Store.openOrCreate): an opener waits, up to lockTimeoutMs, for a segment whose creator has not
// sized it or written its header yet, and Store.openOrCreate lets equal processes (a cluster with
// no primary of the user's) start at once: one creates, the others open, none fails.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Store } = require('../../index');
const { Segment } = require('../../lib/segment/segment');
const { C } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');
const { ROOT, uniqueName, removeShm, tempDir, runNode, until } = require('../helpers/process');

const SIZE = 1 << 21;

// A child that opens `target` ({ name } or { path }) with `how` ('open' or 'openOrCreate'), sets
// one key of its own and prints { ms, code } as JSON (code: the error's, when it failed).
const CHILD = `
const { Store } = require(${JSON.stringify(path.join(ROOT, 'index.js'))});
const [target, how, engine, lockTimeoutMs, marker] = JSON.parse(process.argv[1]);
const t0 = performance.now();
if (marker) require('fs').writeFileSync(marker, '');
try {
  const s = how === 'open'
    ? Store.open({ ...target, engine, lockTimeoutMs })
    : Store.openOrCreate({ ...target, size: ${SIZE}, engine, lockTimeoutMs });
  s.set('parties', String(process.pid), 1);
  s.close();
  console.log(JSON.stringify({ ms: performance.now() - t0, openedAt: Date.now() }));
} catch (err) {
  console.log(JSON.stringify({ ms: performance.now() - t0, code: err.code, message: err.message }));
}`;

// `marker`: a file the child makes just before it opens.
async function child(target, how, engine, lockTimeoutMs = 5000, marker = null) {
  const r = await runNode('-e', [CHILD, JSON.stringify([target, how, engine, lockTimeoutMs, marker])]);
  assert.strictEqual(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Starts an opener of `target` in a child, waits until it is opening, then lets `finish()` do the
// rest of a creation (it returns the creator's Store and the segment to close). The opener must
// open the store only once it exists, and write into the store the creator made.
async function opensOnceCreated(target, engine, dir, finish) {
  const marker = path.join(dir, 'opening');
  const opened = child(target, 'open', engine, 5000, marker);
  await until(() => fs.existsSync(marker), 'the opener started');
  await sleep(200);
  const createdAt = Date.now();
  const { creator, seg } = finish();
  const r = await opened;
  assert.strictEqual(r.code, undefined, r.message);
  assert.ok(r.openedAt >= createdAt, 'opened before the store existed');
  assert.strictEqual(creator.count('parties'), 1, 'the opener wrote into the store the creator made');
  assert.ok(creator.verify().ok);
  creator.close();
  seg.close();
}

forEachEngine('Store.open() of a store being created, Store.openOrCreate()', ({ engine }) => {
  it('an opener waits for a created segment whose header is not written yet, then opens the store', async function () {
    this.timeout(30000);
    const name = uniqueName('oc');
    const { dir, cleanup } = tempDir();
    try {
      // The creator's first steps: the segment exists and is sized, all zero (no magic yet).
      const seg = Segment.create({ name, size: SIZE, exclusive: true });
      // The rest of the creation: the header, magic last.
      await opensOnceCreated({ name }, engine, dir, () => ({ creator: Store.create({ buffer: seg.buffer, engine }), seg }));
    } finally {
      removeShm(name);
      cleanup();
    }
  });

  it('an opener waits for a file not sized yet (empty), then opens the store', async function () {
    this.timeout(30000);
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'store.shm');
      fs.writeFileSync(file, '');
      await opensOnceCreated({ path: file }, engine, dir, () => {
        fs.truncateSync(file, SIZE);
        const seg = Segment.open({ path: file });
        return { creator: Store.create({ buffer: seg.buffer, engine }), seg };
      });
    } finally {
      cleanup();
    }
  });

  // A creator that sizes its segment in steps (posix_fallocate on ext4 for a large size, glibc's
  // fallback on a file system without fallocate: an older version of this package, another tool)
  // may be found with fewer bytes than the header: waited for as an empty one is, instead of
  // refused as too small (ERR_BAD_SIZE).
  it('an opener waits for a file its creator sizes in two steps (first fewer bytes than the header), then opens the store', async function () {
    this.timeout(30000);
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'store.shm');
      fs.writeFileSync(file, '');
      fs.truncateSync(file, C.HEADER_SIZE / 2);
      await opensOnceCreated({ path: file }, engine, dir, () => {
        fs.truncateSync(file, SIZE);
        const seg = Segment.open({ path: file });
        return { creator: Store.create({ buffer: seg.buffer, engine }), seg };
      });
    } finally {
      cleanup();
    }
  });

  it('a segment that never becomes a store is ERR_BAD_MAGIC or ERR_BAD_SIZE after lockTimeoutMs; a wrong magic fails at once', async function () {
    this.timeout(30000);
    const name = uniqueName('oc');
    const { dir, cleanup } = tempDir();
    try {
      const seg = Segment.create({ name, size: SIZE, exclusive: true });
      let t0 = performance.now();
      assert.throws(() => Store.open({ name, engine, lockTimeoutMs: 100 }), { code: 'ERR_BAD_MAGIC' });
      assert.ok(performance.now() - t0 >= 100, 'waited lockTimeoutMs');
      const empty = path.join(dir, 'empty');
      fs.writeFileSync(empty, '');
      t0 = performance.now();
      assert.throws(() => Store.open({ path: empty, engine, lockTimeoutMs: 100 }), { code: 'ERR_BAD_SIZE' });
      assert.ok(performance.now() - t0 >= 100, 'waited lockTimeoutMs');
      // Bytes no creator writes: not waited for.
      new Uint32Array(seg.buffer)[0] = 0x12345678;
      t0 = performance.now();
      assert.throws(() => Store.open({ name, engine, lockTimeoutMs: 5000 }), { code: 'ERR_BAD_MAGIC' });
      assert.ok(performance.now() - t0 < 2500, 'a wrong magic is refused at once');
      seg.close();
    } finally {
      removeShm(name);
      cleanup();
    }
  });

  it('6 processes call openOrCreate at once: every one gets the same store, one created it', async function () {
    this.timeout(60000);
    for (let round = 0; round < 3; round++) {
      const name = uniqueName('oc');
      try {
        const rs = await Promise.all(Array.from({ length: 6 }, () => child({ name }, 'openOrCreate', engine)));
        for (const r of rs) assert.strictEqual(r.code, undefined, r.message);
        const s = Store.open({ name, engine });
        assert.strictEqual(s.count('parties'), 6);
        assert.ok(s.verify().ok);
        s.close();
      } finally {
        removeShm(name);
      }
    }
  });

  it('openOrCreate opens an existing store as it is, and refuses bad options', () => {
    const name = uniqueName('oc');
    try {
      const a = Store.openOrCreate({ name, size: SIZE, engine, maxEntries: 100 });
      a.set('n', 'k', 'v');
      const b = Store.openOrCreate({ name, size: SIZE * 4, engine, maxEntries: 5000 });
      assert.strictEqual(b.get('n', 'k'), 'v');
      assert.strictEqual(b.stats().maxEntries, 100, 'the existing geometry, not the options');
      b.close();
      a.close();
      assert.throws(() => Store.openOrCreate(), TypeError);
      assert.throws(() => Store.openOrCreate({ size: SIZE, engine }), TypeError);
      assert.throws(() => Store.openOrCreate({ buffer: new SharedArrayBuffer(SIZE), engine }), TypeError);
      assert.throws(() => Store.openOrCreate({ name, engine }), { code: 'ERR_INVALID_ARG' }, 'size is required');
    } finally {
      removeShm(name);
    }
  });
});
