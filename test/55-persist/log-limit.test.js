'use strict';
// The limit of a log file's size (docs/format.md §16, "Log files"; docs/api.md, "Persistence"):
// a write whose record would take the file past it is refused with ERR_LOG_FULL, changes nothing
// and is never replayed, the append lock is free after it (another process checkpoints and
// writes), a checkpoint lets writes through again, and a recovery holds exactly the acknowledged
// writes. The limit is lowered for the test (io.maxFileBytes) instead of writing gigabytes. Also:
// an error inside the append lock's critical section of a mapped write releases the lock.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { Store, ShmError } = require('../../index');
const { ENGINES } = require('../helpers/engines');
const { persistTarget, recover, logFile, contents } = require('../helpers/persist');
const { io } = require('../../lib/persist/io');
const { C } = require('../../lib/layout/layout');

const WRITER = path.join(__dirname, '../helpers/children/log-limit-writer.js');
const LIMIT = 64 * 1024;

// Runs the ops in another process's handle (log-limit-writer.js); returns each op's outcome,
// the open's first. A lock held by this process fails it after 10 x 50 ms.
function inOtherProcess(t, engine, ops) {
  const r = spawnSync(process.execPath, [WRITER, JSON.stringify({ name: t.name, dir: t.dir, engine, lockTimeoutMs: 50, ops })], { encoding: 'utf8', timeout: 30000 });
  assert.strictEqual(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

for (const engine of ENGINES) {
  for (const sync of ['none', 'always']) {
    describe(`Persistence: the log file's size limit [${engine} engine, sync ${sync}]`, () => {
      let t;
      let s = null;
      const real = { maxFileBytes: io.maxFileBytes, prefault: io.prefault };
      beforeEach(() => { t = persistTarget('loglimit'); });
      afterEach(() => {
        Object.assign(io, real);
        if (s !== null) s.close();
        s = null;
        t.cleanup();
      });

      const create = () => Store.create({ name: t.name, size: 1 << 22, engine, persist: { dir: t.dir, sync, checkpointBytes: 0 } });

      it('refuses a write past the limit with ERR_LOG_FULL, changing nothing; a checkpoint lets writes through', () => {
        io.maxFileBytes = LIMIT;
        s = create();
        const want = new Map();
        const big = 'v'.repeat(1000);
        let err = null;
        for (let i = 0; i < 1000 && err === null; i++) {
          try {
            s.set('n', `k${i}`, big + i);
            want.set(`k${i}`, big + i);
          } catch (e) {
            err = e;
          }
        }
        assert.ok(err instanceof ShmError, String(err));
        assert.strictEqual(err.code, 'ERR_LOG_FULL');
        assert.match(err.message, /store\.checkpoint\(\)/);
        assert.ok(want.size > 10, `${want.size} writes taken before the limit`);
        assert.ok(fs.statSync(logFile(t.dir)).size <= LIMIT);
        // Nothing of the refused write, nor of further refused ones, is in the store.
        assert.strictEqual(s.get('n', `k${want.size}`), undefined);
        // (Records no smaller than the refused one: a smaller one may still fit.)
        assert.throws(() => s.set('n', 'k0', `${big}changed`), { code: 'ERR_LOG_FULL' });
        assert.throws(() => s.set('other', 'xxxxxx', big), { code: 'ERR_LOG_FULL' });
        assert.deepStrictEqual(contents(s, 'n'), [...want].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
        assert.strictEqual(s.has('other', 'x'), false);
        // The append lock is free: another process checkpoints (which starts a new log file) and
        // writes, and then this handle writes again.
        assert.deepStrictEqual(inOtherProcess(t, engine, [['checkpoint'], ['set', 'n', 'child', 'c']]), ['ok', 'ok', 'ok']);
        want.set('child', 'c');
        s.set('n', 'k0', 'after');
        want.set('k0', 'after');
        assert.strictEqual(s.get('n', 'k0'), 'after');
        s.close();
        s = null;
        const r = recover(t.name, t.dir, engine);
        try {
          assert.deepStrictEqual(contents(r, 'n'), [...want].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
          assert.deepStrictEqual(contents(r, 'other'), []);
        } finally {
          r.close();
        }
      });

      // Only 'none' prefaults the log file's mapping (growth.js).
      (sync === 'none' ? it : it.skip)('an error inside the append lock of a mapped write releases the lock', () => {
        s = create();
        // The first mapping of the log file fails (its prefault, sync 'none'), after the record's
        // place was taken: the error comes from inside the critical section.
        io.prefault = () => {
          throw new Error('prefault refused by the test');
        };
        assert.throws(() => s.set('n', 'a', '1'), /prefault refused by the test/);
        io.prefault = real.prefault;
        assert.strictEqual(s.get('n', 'a'), undefined);
        assert.deepStrictEqual(inOtherProcess(t, engine, [['set', 'n', 'b', '2']]), ['ok', 'ok']);
        s.set('n', 'c', '3');
        s.close();
        s = null;
        const r = recover(t.name, t.dir, engine);
        try {
          assert.deepStrictEqual(contents(r, 'n'), [['b', '2'], ['c', '3']]);
        } finally {
          r.close();
        }
      });
    });
  }
}

describe('Persistence: checkpointBytes is at most the log file limit', () => {
  it('refuses a larger checkpointBytes with RangeError', () => {
    const t = persistTarget('loglimit');
    try {
      assert.throws(() => Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, checkpointBytes: C.WAL_MAX_FILE_BYTES + 1 } }), RangeError);
      const s = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, checkpointBytes: C.WAL_MAX_FILE_BYTES } });
      assert.strictEqual(s.persistence.checkpointBytes, C.WAL_MAX_FILE_BYTES);
      s.close();
    } finally {
      t.cleanup();
    }
  });
});
