'use strict';
// A handle whose segment was removed while it had it mapped (by hand, or systemd's RemoveIPC),
// after another opener rebuilt the store from the log (format.md §16, "Recovery"): its writes
// refuse with ERR_PERSIST_STALE instead of landing in the log under the rebuilt store's, and a
// write it made while the rebuild ran is either in the rebuilt store or refused, never
// acknowledged and then overwritten. Both engines, for the stale handle and for the opener.
const assert = require('assert');
const { Store, Segment } = require('../../index');
const { ENGINES } = require('../helpers/engines');
const { persistTarget, recover, contents } = require('../helpers/persist');
const { Control } = require('../../lib/persist/control');

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
          () => a.setMany('n', [['y', 1]])]) {
          assert.throws(write, (e) => e.code === 'ERR_PERSIST_STALE' && /open the store again/.test(e.message));
        }
        b.set('n', 'k1', 'from b');
        a.close();
        b.close();
        const c = track(recover(t.name, t.dir, engine));
        assert.deepStrictEqual(contents(c, 'n'), [['k0', 'v0'], ['k1', 'from b']]);
        assert.ok(c.verify().ok);
      });

      it('a write made while the rebuild reads the log is refused, not acknowledged and overwritten', () => {
        const a = track(Store.create({ name: t.name, size: 1 << 22, engine, persist: { dir: t.dir, sync: 'always' } }));
        a.set('n', 'k0', 'v0');
        Segment.unlink({ name: t.name });
        // The stale handle writes at the point where the opener stores the positions it scanned.
        const real = Control.prototype.resetPositions;
        let during = null;
        Control.prototype.resetPositions = function (...args) {
          try {
            a.set('n', 'acked', 'while rebuilding');
            during = 'acknowledged';
          } catch (e) {
            during = e.code;
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
        b.set('n', 'k1', 'from b');
        a.close();
        b.close();
        const c = track(recover(t.name, t.dir, engine));
        assert.deepStrictEqual(contents(c, 'n'), [['k0', 'v0'], ['k1', 'from b']]);
      });
    });
  }
}
