'use strict';
// Creators killed part way (docs/api.md, Store.openOrCreate and Store.open with persist): a
// child creates a store (Store.create or Store.openOrCreate, persisted or plain) or restores a
// backup, and kills itself with SIGKILL at one of the steps that leave something behind
// (helpers/children/crash-creator.js counts them); every step is taken in turn. What a user does
// next (open or openOrCreate, chosen from the seed) must give a sound store that keeps its writes
// in its log, or fail within its lockTimeoutMs with a stable code whose message says what to do;
// doing that must then let the store be created (or restored) again. Every store is created with
// eviction 'auto', and the store the user gets evicts, also after a rebuild from its log.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Store } = require('../../index');
const { Segment } = require('../../lib/segment/segment');
const { prng } = require('../helpers/prng');
const { uniqueName, removeShm, tempDir, runNode } = require('../helpers/process');

const SIZE = 1 << 20;
const LOCK_MS = 300;
const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'crash-creator.js');
const SEED = process.env.SEED === undefined ? (Date.now() % 0x7fffffff) : Number(process.env.SEED);
// What the message of each refusal must tell the user to do.
const ADVICE = {
  ERR_SHM_EXISTS: /unlink the segment/,
  ERR_PERSIST_CORRUPT: /remove .*control/,
  ERR_BAD_SIZE: /remove .*control/,
  ERR_BAD_MAGIC: /unlink the segment/,
};

async function runChild(args) {
  const r = await runNode(CHILD, [JSON.stringify(args)]);
  return r;
}

function unlinkQuietly(name) {
  try {
    Segment.unlink({ name });
  } catch (err) {
    if (err.code !== 'ERR_SHM_NOT_FOUND') throw err;
  }
}

// A store the user got: sound, writable, evicting, and (persisted) its writes in the log and its
// policy in its directory.
function checkStore(s, name, dir, what) {
  assert.ok(s.verify().ok, what);
  assert.strictEqual(s.stats().eviction, 'clock', `${what}: the store's policy`);
  s.set('after', 'k', 7);
  s.close();
  if (dir === undefined) return;
  Segment.unlink({ name });
  const r = Store.open({ name, lockTimeoutMs: LOCK_MS, persist: { dir } });
  try {
    assert.strictEqual(r.get('after', 'k'), 7, `${what}: the write is in the log`);
    assert.strictEqual(r.stats().eviction, 'clock', `${what}: the policy after a rebuild`);
  } finally {
    r.close();
  }
}

describe(`creators killed part way (SEED=${SEED})`, () => {
  const rnd = prng(SEED);
  let backup = null;
  before(() => {
    backup = tempDir();
    const name = uniqueName('ccb');
    const s = Store.create({ name, size: SIZE, eviction: 'auto', persist: { dir: path.join(backup.dir, 'src'), sync: 'none' } });
    s.set('restored', 'k', 1);
    s.backup(path.join(backup.dir, 'backup'));
    s.close();
    removeShm(name);
  });
  after(() => backup.cleanup());

  for (const how of ['create', 'openOrCreate', 'plainCreate', 'plainOpenOrCreate', 'restore']) {
    it(`${how}: after a kill at each step, open or openOrCreate gives a sound store or a refusal that says what to do`, async function () {
      this.timeout(60000);
      const persisted = !how.startsWith('plain');
      const from = path.join(backup.dir, 'backup');
      const sync = ['none', 'always'][Math.floor(rnd() * 2)];
      const probeName = uniqueName('ccp');
      const probe = await runChild({ how, name: probeName, dir: path.join(backup.dir, `probe-${how}`), size: SIZE, sync, from, killAt: -1, eviction: 'auto' });
      removeShm(probeName); // the probe's store, left by the child that ran to the end
      assert.strictEqual(probe.code, 0, probe.stderr);
      const { events } = JSON.parse(probe.stdout);
      for (let k = 0; k < events; k++) {
        const follow = rnd() < 0.5 ? 'open' : 'openOrCreate';
        const what = `SEED=${SEED} ${how} killed at step ${k}, then ${follow}`;
        const name = uniqueName('ccr');
        const t = tempDir();
        const dir = persisted ? path.join(t.dir, 'p') : undefined;
        try {
          const r = await runChild({ how, name, dir, size: SIZE, sync, from, killAt: k, eviction: 'auto' });
          assert.strictEqual(r.signal, 'SIGKILL', `${what}: ${r.stderr}`);
          const p = persisted ? { persist: follow === 'open' ? { dir } : { dir, sync } } : {};
          const t0 = performance.now();
          let s = null;
          try {
            s = follow === 'open' ? Store.open({ name, lockTimeoutMs: LOCK_MS, ...p }) : Store.openOrCreate({ name, size: SIZE, eviction: 'auto', lockTimeoutMs: LOCK_MS, ...p });
          } catch (err) {
            assert.ok(performance.now() - t0 < 3 * LOCK_MS + 2000, `${what}: refused only after ${performance.now() - t0} ms`);
            // Nothing there yet is what open says of a store never made; anything else tells.
            if (!(follow === 'open' && err.code === 'ERR_SHM_NOT_FOUND')) {
              assert.ok(ADVICE[err.code] !== undefined, `${what}: ${err.code}: ${err.message}`);
              assert.match(err.message, ADVICE[err.code], `${what}: ${err.code}`);
            }
            // What the message says (or, for a store never made, what a user does next).
            unlinkQuietly(name);
            if (persisted) fs.rmSync(path.join(dir, 'control'), { force: true });
            s = how === 'restore' ? Store.restore(from, { name, dir, lockTimeoutMs: LOCK_MS })
              : Store.openOrCreate({ name, size: SIZE, eviction: 'auto', lockTimeoutMs: LOCK_MS, ...(persisted ? { persist: { dir, sync } } : {}) });
          }
          assert.ok(performance.now() - t0 < 6 * LOCK_MS + 4000, `${what}: took ${performance.now() - t0} ms`);
          checkStore(s, name, dir, what);
        } finally {
          removeShm(name);
          t.cleanup();
        }
      }
    });
  }
});
