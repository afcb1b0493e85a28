'use strict';
// Group commit of asynchronous flushes across handles (docs/format.md §16, "Group commit"): a
// handle whose setDurable() finds another handle's sync in flight waits for it instead of syncing
// alongside it, then one sync covers every handle that waited; a stale announcement (a syncer
// that died) delays a flush by a bounded number of rounds, never forever.
const assert = require('assert');
const { Store } = require('../../index');
const { persistTarget, recover } = require('../helpers/persist');
const { io } = require('../../lib/persist/io');

describe('Persistence: group commit of setDurable() across handles', () => {
  let t;
  const open = [];
  const track = (s) => { open.push(s); return s; };
  beforeEach(() => { t = persistTarget('gc'); });
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
    t.cleanup();
  });

  it("handles wait for another handle's sync in flight, and one more sync covers them all", async () => {
    const a = track(Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'none' } }));
    const b = track(Store.open({ name: t.name, persist: { dir: t.dir } }));
    const c = track(Store.open({ name: t.name, engine: 'js', persist: { dir: t.dir } }));
    const real = io.fdatasync;
    const gated = [];
    let syncs = 0;
    // Every fdatasync is held until the test lets it run.
    io.fdatasync = (fd, cb) => {
      syncs += 1;
      gated.push(() => real(fd, cb));
    };
    const release = () => { for (const run of gated.splice(0)) run(); };
    try {
      const pa = a.setDurable('n', 'a', 1);
      await Promise.resolve(); // a's sync starts (a microtask) and is held
      assert.strictEqual(syncs, 1);
      const pb = b.setDurable('n', 'b', 2);
      const pc = c.setDurable('n', 'c', 3);
      await Promise.resolve();
      await Promise.resolve();
      // b and c saw a's sync in flight: they wait for it rather than start syncs of their own.
      assert.strictEqual(syncs, 1);
      assert.strictEqual(b._p.wal.waiting, true);
      assert.strictEqual(c._p.wal.waiting, true);
      release();
      await pa;
      // Until every write is durable, let each sync that starts run.
      let settled = false;
      const all = Promise.all([pb, pc]).then(() => { settled = true; });
      while (!settled) {
        release();
        await new Promise((r) => setImmediate(r));
      }
      await all;
      const p = a.persistence;
      assert.strictEqual(p.durable, p.tail);
      assert.ok(syncs <= 3, `${syncs} syncs`);
    } finally {
      io.fdatasync = real;
      release();
    }
    for (const s of open.splice(0)) s.close();
    const r = track(recover(t.name, t.dir));
    assert.deepStrictEqual(['a', 'b', 'c'].map((k) => r.get('n', k)), [1, 2, 3]);
  });

  it('a stale announcement of a sync (its syncer gone) delays setDurable() by bounded rounds, once', async () => {
    const s = track(Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'none' } }));
    s.set('n', 'k', 0);
    const c = s._p.control;
    assert.ok(c.durable < c.tail);
    // A syncer announced a sync of everything written and died before it ended.
    c.claimSync(c.tail);
    const first = s.setDurable('n', 'k', 1);
    await Promise.resolve();
    await Promise.resolve();
    assert.strictEqual(s._p.wal.waiting, true);
    await first;
    assert.strictEqual(c.durable, c.tail);
    // Its sync passed the stale value, which no longer counts: the next flush does not wait.
    assert.ok(c.syncing <= c.durable);
    const second = s.setDurable('n', 'k', 2);
    await Promise.resolve();
    await Promise.resolve();
    assert.strictEqual(s._p.wal.waiting, false);
    await second;
    assert.strictEqual(c.durable, c.tail);
  });
});
