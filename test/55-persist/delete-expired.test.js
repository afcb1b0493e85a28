'use strict';
// delete() and clear() of expired entries on a persisted store (docs/api.md store.delete,
// store.clear; format.md §16): an expired entry they meet is removed and reported absent (delete
// false, clear not counting it), no record is logged for that removal alone, and it stays removed
// after a rebuild from the log or from a snapshot that still holds it: the set record (or the
// snapshot's record) carries its expiry, past at the replaying clock. The entries are written by
// one engine and deleted or cleared by a handle of the other.
const assert = require('assert');
const { Store } = require('../../index');
const { ENGINES } = require('../helpers/engines');
const { persistTarget, recover, contents, logFile } = require('../helpers/persist');
const { readLog } = require('../helpers/independent-wal-reader');

// Waits (busily: a few ms) until the clock is past `ms`, epoch milliseconds.
function waitPast(ms) {
  while (Date.now() <= ms);
}

// How many records of each type the store's one log file holds.
function recordTypes(dir) {
  const n = {};
  for (const r of readLog(logFile(dir)).records) n[r.type] = (n[r.type] || 0) + 1;
  return n;
}

for (const engine of ENGINES) {
  const other = ENGINES.find((x) => x !== engine) || engine;
  describe(`Persistence: delete() and clear() of expired entries [${engine} engine]`, () => {
    let t;
    const open = [];
    const track = (s) => { open.push(s); return s; };
    beforeEach(() => { t = persistTarget('pdelexp'); });
    afterEach(() => {
      for (const s of open.splice(0)) s.close();
      t.cleanup();
    });

    for (const how of ['log', 'snapshot']) {
      it(`an expired entry they remove is not logged and does not come back after a rebuild from the ${how} (${other} deletes)`, () => {
        const s = track(Store.create({ name: t.name, size: 1 << 22, engine, readCache: false, persist: { dir: t.dir, sync: 'none' } }));
        for (const k of ['gone', 'keep', 'c1', 'c2']) s.set('n', k, 'v');
        s.set('c', 'live', 'v');
        s.set('m', 'only', 'v');
        // Overwrites (no insert, so no expiry sweep) give the entries an expiry a few ms away.
        const at = Date.now() + 20;
        s.set('n', 'gone', 'v', { expiresAt: at });
        s.set('c', 'e1', 'v', { expiresAt: at });
        s.set('m', 'only', 'v', { expiresAt: at });
        if (how === 'snapshot') s.checkpoint(); // the snapshot holds them, not yet expired
        const before = recordTypes(t.dir);
        const h = track(Store.open({ name: t.name, engine: other, readCache: false, persist: { dir: t.dir } }));
        waitPast(at);
        assert.strictEqual(h.delete('n', 'gone'), false);
        assert.strictEqual(h.clear('c'), 1); // 'live'; 'e1' had expired
        assert.strictEqual(h.clear('m'), 0); // only an expired entry: nothing live removed
        assert.deepStrictEqual(recordTypes(t.dir), { ...before, clear: (before.clear || 0) + 1 },
          'one clear record (of c); none for the delete of an expired entry or the clear of m');
        h.stats();
        const st = s.stats().namespaceStats;
        assert.deepStrictEqual([st.n.expirations, st.c.expirations, st.m.expirations], [1, 1, 1]);
        assert.deepStrictEqual([st.n.count, st.c.count, st.m.count], [3, 0, 0]);
        for (const x of open.splice(0)) x.close();
        const r = track(recover(t.name, t.dir, engine));
        assert.deepStrictEqual(contents(r, 'n'), [['c1', 'v'], ['c2', 'v'], ['keep', 'v']]);
        assert.deepStrictEqual(contents(r, 'c'), []);
        assert.deepStrictEqual(contents(r, 'm'), []);
        assert.strictEqual(r.count(), 3);
        assert.strictEqual(r.verify().ok, true);
      });
    }
  });
}
