'use strict';
// store.dropNamespace(ns) on a persisted store (docs/api.md, format.md §16): the drop is logged as
// one WAL_REC_NS_DROP record and replays as a drop (the namespace, its policy and its entries are
// gone from the rebuilt store), also after a checkpoint, and a drop of an absent namespace logs
// nothing.
const assert = require('assert');
const { Store } = require('../../index');
const { ENGINES } = require('../helpers/engines');
const { persistTarget, recover, contents, logFile } = require('../helpers/persist');
const { readLog } = require('../helpers/independent-wal-reader');

for (const engine of ENGINES) {
  describe(`Persistence: dropNamespace [${engine} engine]`, () => {
    let t;
    const open = [];
    const track = (s) => { open.push(s); return s; };
    beforeEach(() => { t = persistTarget('drop'); });
    afterEach(() => {
      for (const s of open.splice(0)) s.close();
      t.cleanup();
    });

    const create = () => track(Store.create({ name: t.name, size: 1 << 22, engine, persist: { dir: t.dir, sync: 'none' } }));

    it('a set, a set with an expiry and a delete by a handle that still knows a namespace another handle dropped each take the append lock once and are logged once, and the log replays to the same store', () => {
      const a = create();
      const b = track(Store.open({ name: t.name, engine, persist: { dir: t.dir } }));
      // a's append lock is taken only when a does not hold it: a set that logged itself again
      // from inside its own append released the lock another process could then take, and its
      // outer half wrote its tail over that process's.
      const control = a._p.control;
      let held = 0;
      let reentered = 0;
      const { lockAppend, unlockAppend } = control;
      control.lockAppend = function () {
        if (held !== 0) reentered++;
        lockAppend.call(this);
        held++;
      };
      control.unlockAppend = function () {
        held--;
        unlockAppend.call(this);
      };
      // The JavaScript engine's set may take and release the lock in the addon instead (a sealer's
      // begin, put and seal: lib/persist/set-record.js).
      const sealer = a._p.wal.sealer;
      if (sealer !== null) {
        const { begin, put, seal } = sealer;
        sealer.begin = (stripe) => {
          if (held !== 0) reentered++;
          const took = begin(stripe);
          if (took) held++;
          return took;
        };
        sealer.put = () => {
          held--;
          return put();
        };
        sealer.seal = (...args) => {
          held--;
          return seal(...args);
        };
      }
      const rounds = [
        ['set', () => a.set('n', 'k', 'after'), [['k', 'after'], ['x', 1]]],
        ['set with a ttl', () => a.set('n', 'k', 'after', { ttl: 3600e3 }), [['k', 'after'], ['x', 1]]],
        ['delete', () => a.delete('n', 'x'), []],
      ];
      for (const [what, op, expected] of rounds) {
        // a resolves 'n'; b drops it and makes it again: a's id for it is stale.
        a.set('n', 'x', 1);
        b.dropNamespace('n');
        b.set('n', 'x', 1);
        op();
        assert.deepStrictEqual(contents(a, 'n'), expected, what);
        assert.ok(a.verify().ok, what);
        assert.deepStrictEqual([reentered, held], [0, 0], what);
      }
      const before = contents(a, 'n');
      a.close();
      b.close();
      const r = track(recover(t.name, t.dir, engine));
      assert.deepStrictEqual(contents(r, 'n'), before);
      assert.strictEqual(r.persistence.recovery.cutBytes, 0);
      assert.strictEqual(r.persistence.recovery.reason, null);
    });

    it('rebuilds a store after a drop: the namespace, its policy and its entries are gone', () => {
      const s = create();
      s.namespace('gone', { eviction: 'clock', ttl: 60000 });
      for (let i = 0; i < 10; i++) s.set('gone', `k${i}`, i);
      s.set('keep', 'k', 'kept');
      assert.strictEqual(s.dropNamespace('gone'), 10);
      assert.strictEqual(s.dropNamespace('gone'), false);
      s.set('again', 'k', 'after');
      s.close();
      const types = readLog(logFile(t.dir)).records.map((r) => r.type);
      assert.strictEqual(types.filter((x) => x === 'nsDrop').length, 1, types.join());
      const r = track(recover(t.name, t.dir, engine));
      assert.deepStrictEqual(r.namespaces().sort(), ['again', 'keep']);
      assert.deepStrictEqual(contents(r, 'keep'), [['k', 'kept']]);
      assert.deepStrictEqual(contents(r, 'gone'), []);
      assert.strictEqual(r.count(), 2);
      // Created anew after the rebuild: the dropped namespace's TTL does not come back.
      r.set('gone', 'k', 1);
      assert.strictEqual(r.ttl('gone', 'k'), Infinity);
      assert.deepStrictEqual(r.verify().errors, []);
    });

    it('another handle that cached the dropped namespace writes it anew, and the log replays that', () => {
      const s = create();
      const o = track(Store.open({ name: t.name, engine, persist: { dir: t.dir } }));
      o.set('ns', 'old', 1);
      assert.strictEqual(s.get('ns', 'old'), 1);
      assert.strictEqual(o.dropNamespace('ns'), 1);
      s.set('ns', 'new', 2); // s resolved 'ns' before the drop
      assert.deepStrictEqual(contents(o, 'ns'), [['new', 2]]);
      // Its clear and drop of the name resolve it again too.
      assert.strictEqual(o.dropNamespace('ns'), 1);
      s.set('ns', 'new', 2);
      assert.strictEqual(o.clear('ns'), 1);
      o.set('ns', 'x', 0);
      assert.strictEqual(s.clear('ns'), 1);
      o.set('ns', 'y', 1);
      assert.strictEqual(o.dropNamespace('ns'), 1);
      assert.strictEqual(s.dropNamespace('ns'), false);
      s.set('ns', 'new', 2);
      s.close();
      o.close();
      const r = track(recover(t.name, t.dir, engine));
      assert.deepStrictEqual(contents(r, 'ns'), [['new', 2]]);
    });

    it('a drop after a checkpoint replays on top of the snapshot', () => {
      const s = create();
      for (let i = 0; i < 5; i++) s.set('gone', `k${i}`, i);
      s.set('keep', 'k', 1);
      s.checkpoint();
      assert.strictEqual(s.dropNamespace('gone'), 5);
      s.close();
      const r = track(recover(t.name, t.dir, engine));
      assert.deepStrictEqual(r.namespaces(), ['keep']);
      assert.strictEqual(r.count(), 1);
      assert.deepStrictEqual(r.verify().errors, []);
    });
  });
}
