'use strict';
// A handle whose segment was removed while it had it mapped (by hand, or systemd's RemoveIPC),
// after another opener rebuilt the store from the log (format.md §16, "Recovery"): its writes
// refuse with ERR_PERSIST_STALE instead of landing in the log under the rebuilt store's, a
// write it made while the rebuild ran is either in the rebuilt store or refused, never
// acknowledged and then overwritten, and its reads refuse too instead of answering from the
// removed segment. Both engines, for the stale handle and for the opener.
const assert = require('assert');
const path = require('path');
const { Store, Segment } = require('../../index');
const { ENGINES } = require('../helpers/engines');
const { persistTarget, recover, contents } = require('../helpers/persist');
const { Control } = require('../../lib/persist/control');
const { Store: FacadeStore } = require('../../lib/store/store');

// Runs fn() as calls of `store` whose check at their start ran just before the fence (the
// handle's own check, LoggedStore._live, left out): what refuses them then is the append lock's.
function pastCheck(store, fn) {
  store._live = FacadeStore.prototype._live;
  try {
    return fn();
  } finally {
    delete store._live;
  }
}

for (const engine of ENGINES) {
  for (const other of ENGINES) {
    describe(`Persistence: a handle of a removed segment [${engine} engine, rebuilt by ${other}]`, () => {
      let t;
      const open = [];
      const track = (s) => { open.push(s); return s; };
      beforeEach(() => { t = persistTarget('stale'); });
      afterEach(() => {
        for (const s of open.splice(0)) s.close();
        t.cleanup();
      });

      it('refuses its writes with ERR_PERSIST_STALE once another opener rebuilt the store', () => {
        const a = track(Store.create({ name: t.name, size: 1 << 22, engine, persist: { dir: t.dir, sync: 'always' } }));
        a.set('n', 'k0', 'v0');
        Segment.unlink({ name: t.name }); // a still has it mapped
        const b = track(Store.open({ name: t.name, engine: other, persist: { dir: t.dir } }));
        assert.strictEqual(b.get('n', 'k0'), 'v0');
        for (const write of [() => a.set('n', 'x', 'stale'), () => a.delete('n', 'k0'), () => a.clear('n'),
          () => a.setMany('n', [['y', 1]]), () => a.namespace('n', { ttl: 1000 }), () => a.dropNamespace('n')]) {
          assert.throws(write, (e) => e.code === 'ERR_PERSIST_STALE' && /open the store again/.test(e.message));
          assert.throws(() => pastCheck(a, write), (e) => e.code === 'ERR_PERSIST_STALE' && /open the store again/.test(e.message));
        }
        b.set('n', 'k1', 'from b');
        a.close();
        b.close();
        const c = track(recover(t.name, t.dir, engine));
        assert.deepStrictEqual(contents(c, 'n'), [['k0', 'v0'], ['k1', 'from b']]);
        assert.ok(c.verify().ok);
      });

      it('refuses its reads with ERR_PERSIST_STALE once another opener rebuilt the store, and still closes', async () => {
        // Interval mode: the close of such a handle waits for the log to be durable.
        const a = track(Store.create({ name: t.name, size: 1 << 22, engine, persist: { dir: t.dir, sync: 'interval' } }));
        a.set('n', 'k0', 'v0');
        a.set('n', 'k1', 'v1', { ttl: 60000 });
        const view = a.namespace('n');
        Segment.unlink({ name: t.name }); // a still has it mapped
        // Removed but not yet replaced: it is still the store, read and written through a.
        assert.strictEqual(a.get('n', 'k0'), 'v0'); // and now in a's read cache
        a.set('n', 'k2', 'v2');
        const b = track(Store.open({ name: t.name, engine: other, persist: { dir: t.dir } }));
        assert.ok(b.persistence.recovery, 'b rebuilt the store');
        b.set('n', 'k0', 'from b');
        b.delete('n', 'k1');
        const stale = (e) => e.code === 'ERR_PERSIST_STALE' && /no longer the store/.test(e.message) &&
          /close the handle and open the store again/.test(e.message);
        const reads = {
          get: () => a.get('n', 'k0'),
          getAbsent: () => a.get('n', 'nothing'),
          getOtherNamespace: () => a.get('m', 'k0'),
          has: () => a.has('n', 'k1'),
          ttl: () => a.ttl('n', 'k1'),
          getMany: () => a.getMany('n', ['k0', 'k1']),
          keys: () => a.keys('n'),
          entries: () => a.entries('n'),
          count: () => a.count('n'),
          countAll: () => a.count(),
          namespaces: () => a.namespaces(),
          stats: () => a.stats(),
          verify: () => a.verify(),
          buffer: () => a.buffer,
          persistence: () => a.persistence,
          viewGet: () => view.get('k0'),
          viewSize: () => view.size,
          viewEntries: () => [...view],
          namespace: () => a.namespace('n'),
          // A snapshot of the removed segment would stand for the store's contents.
          checkpoint: () => a.checkpoint(),
          backup: () => a.backup(path.join(t.dir, 'backup')), // removed with t.dir
        };
        for (const [what, read] of Object.entries(reads)) assert.throws(read, stale, what);
        await assert.rejects(a.flush(), stale);
        // What it wrote before the rebuild is in the rebuilt store, with b's writes over it.
        assert.deepStrictEqual(contents(b, 'n'), [['k0', 'from b'], ['k2', 'v2']]);
        a.close();
        assert.strictEqual(a.closed, true);
        assert.throws(() => a.get('n', 'k0'), { code: 'ERR_CLOSED' });
        const c = track(Store.open({ name: t.name, engine, persist: { dir: t.dir } }));
        assert.strictEqual(c.persistence.recovery, null, 'c attached to the rebuilt segment');
        assert.deepStrictEqual(contents(c, 'n'), [['k0', 'from b'], ['k2', 'v2']]);
        assert.strictEqual(c.get('n', 'k1'), undefined);
        assert.ok(c.verify().ok);
      });

      it('a write made while the rebuild reads the log is refused, not acknowledged and overwritten', () => {
        const a = track(Store.create({ name: t.name, size: 1 << 22, engine, persist: { dir: t.dir, sync: 'always' } }));
        a.set('n', 'k0', 'v0');
        Segment.unlink({ name: t.name });
        // The stale handle writes at the point where the opener stores the positions it scanned.
        const real = Control.prototype.resetPositions;
        let during = null;
        let readDuring = null;
        Control.prototype.resetPositions = function (...args) {
          // As a set whose check ran just before the fence: refused under the append lock.
          try {
            pastCheck(a, () => a.set('n', 'acked', 'while rebuilding'));
            during = 'acknowledged';
          } catch (e) {
            during = e.code;
          }
          // A read once the fence is up, while the new segment is being filled: refused too.
          try {
            readDuring = a.get('n', 'k0');
          } catch (e) {
            readDuring = e.code;
          }
          return real.apply(this, args);
        };
        let b;
        try {
          b = track(Store.open({ name: t.name, engine: other, persist: { dir: t.dir } }));
        } finally {
          Control.prototype.resetPositions = real;
        }
        assert.strictEqual(during, 'ERR_PERSIST_STALE');
        assert.strictEqual(readDuring, 'ERR_PERSIST_STALE');
        b.set('n', 'k1', 'from b');
        a.close();
        b.close();
        const c = track(recover(t.name, t.dir, engine));
        assert.deepStrictEqual(contents(c, 'n'), [['k0', 'v0'], ['k1', 'from b']]);
      });
    });
  }
}
