'use strict';
// Persisted stores created and opened by several processes at once (docs/api.md,
// Store.openOrCreate and Store.open with persist): an opener that came while the store was being
// created took it for one to recover and rebuilt it from the log, removing the creator's segment,
// so the creator (and whoever opened it before) went on writing into a segment nobody else saw.
// Now the creator holds the recovery lock from before its control file says what it is until the
// store is ready, and openers wait for it.
const assert = require('assert');
const path = require('path');
const { Store } = require('../../index');
const { Segment } = require('../../lib/segment/segment');
const { forEachEngine } = require('../helpers/engines');
const { ROOT, uniqueName, removeShm, tempDir, runNode } = require('../helpers/process');

const SIZE = 4 << 20;

// A child that gets the store with `how` and sets its own key: 'openOrCreate', or 'retry' (what
// a caller without openOrCreate writes: open, else create, else open again, a few times). Prints
// { ok } or { code, message }.
const CHILD = `
const { Store } = require(${JSON.stringify(path.join(ROOT, 'index.js'))});
const [name, dir, engine, how] = JSON.parse(process.argv[1]);
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
function get() {
  if (how === 'openOrCreate') return Store.openOrCreate({ name, size: ${SIZE}, engine, persist: { dir, sync: 'none' } });
  for (let i = 0; ; i++, sleep(2)) {
    try { return Store.open({ name, engine, persist: { dir } }); } catch (e) { if (e.code !== 'ERR_SHM_NOT_FOUND' || i > 500) throw e; }
    try { return Store.create({ name, size: ${SIZE}, engine, persist: { dir, sync: 'none' } }); } catch (e) { if (e.code !== 'ERR_SHM_EXISTS') throw e; }
  }
}
try {
  const s = get();
  s.set('parties', String(process.pid), process.pid);
  s.close();
  console.log(JSON.stringify({ ok: process.pid }));
} catch (err) {
  console.log(JSON.stringify({ code: err.code, message: err.message }));
}`;

async function party(name, dir, engine, how) {
  const r = await runNode('-e', [CHILD, JSON.stringify([name, dir, engine, how])]);
  assert.strictEqual(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

forEachEngine('persisted stores created and opened at once', ({ engine }) => {
  for (const how of ['openOrCreate', 'retry']) {
    it(`5 processes (${how}): every write acknowledged is in the store, and in its log after the segment is gone`, async function () {
      this.timeout(120000);
      for (let round = 0; round < 5; round++) {
        const name = uniqueName('poc');
        const { dir, cleanup } = tempDir();
        try {
          const rs = await Promise.all(Array.from({ length: 5 }, () => party(name, dir, engine, how)));
          for (const r of rs) assert.ok(r.ok, r.message);
          const want = rs.map((r) => [String(r.ok), r.ok]).sort();
          let s = Store.open({ name, engine, persist: { dir } });
          assert.deepStrictEqual(s.entries('parties').sort(), want, 'the store every party wrote to');
          assert.ok(s.verify().ok);
          assert.strictEqual(s.persistence.recovery, null, 'nobody recovered a store that was never lost');
          s.close();
          // A reboot: the segment is gone, the log brings back every write.
          Segment.unlink({ name });
          s = Store.open({ name, engine, persist: { dir } });
          assert.deepStrictEqual(s.entries('parties').sort(), want, 'the log');
          s.close();
        } finally {
          removeShm(name);
          cleanup();
        }
      }
    });
  }

  it('a creator of another segment that loses the directory to a creator at the same moment leaves the winner\'s files alone', () => {
    const winner = uniqueName('poc');
    const loser = uniqueName('poc');
    const { dir, cleanup } = tempDir();
    const fs = require('fs');
    const existsSync = fs.existsSync;
    try {
      const a = Store.create({ name: winner, size: SIZE, engine, persist: { dir, sync: 'none' } });
      a.set('n', 'k', 'kept');
      // The loser checked for a control file just before the winner made it: it goes on to its
      // exclusive create of the control file, which fails.
      const control = path.join(dir, 'control');
      let lied = false;
      fs.existsSync = (f) => (!lied && f === control ? ((lied = true), false) : existsSync(f));
      assert.throws(() => Store.create({ name: loser, size: SIZE, engine, persist: { dir, sync: 'none' } }),
        { code: 'ERR_SHM_EXISTS', message: /already holds a persisted store/ });
      fs.existsSync = existsSync;
      assert.ok(lied, 'the loser went past its check');
      assert.throws(() => Segment.open({ name: loser }), { code: 'ERR_SHM_NOT_FOUND' }, 'the loser removed its own segment');
      a.set('n', 'k2', 'logged after');
      a.close();
      Segment.unlink({ name: winner });
      const b = Store.open({ name: winner, engine, persist: { dir } });
      assert.deepStrictEqual(b.entries('n').sort(), [['k', 'kept'], ['k2', 'logged after']], 'the winner\'s control and log are there');
      b.close();
    } finally {
      fs.existsSync = existsSync;
      removeShm(winner);
      removeShm(loser);
      cleanup();
    }
  });

  it('openOrCreate with persist opens an existing store with its own settings, and checks its options', () => {
    const name = uniqueName('poc');
    const { dir, cleanup } = tempDir();
    try {
      const a = Store.openOrCreate({ name, size: SIZE, engine, persist: { dir, sync: 'none' } });
      a.set('n', 'k', 1);
      const b = Store.openOrCreate({ name, size: SIZE * 2, engine, persist: { dir, sync: 'always' } });
      assert.strictEqual(b.get('n', 'k'), 1);
      assert.strictEqual(b.persistence.sync, 'none', 'the creator\'s sync mode');
      b.close();
      a.close();
      assert.throws(() => Store.openOrCreate({ name, size: SIZE, engine, persist: { dir, sync: 'sometimes' } }), RangeError);
      assert.throws(() => Store.openOrCreate({ name, size: SIZE, engine, persist: { dir, wat: 1 } }), TypeError);
      assert.throws(() => Store.openOrCreate({ buffer: new SharedArrayBuffer(SIZE), engine, persist: { dir } }), TypeError);
    } finally {
      removeShm(name);
      cleanup();
    }
  });
});
