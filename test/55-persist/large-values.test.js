'use strict';
// A persisted store with large values (docs/format.md §8 "Large values", §16): their records, up
// to 64 MiB, are logged and replayed after a reboot, written into a snapshot by a checkpoint and
// loaded back from it, in both engines.
const assert = require('assert');
const { Store } = require('../../index');
const native = require('../../lib/base/native');
const { persistTarget, recover } = require('../helpers/persist');
const { largeValueFor, checkLargeValue } = require('../helpers/values');

const ENGINES = native.addon ? ['native', 'js'] : ['js'];

for (const engine of ENGINES) {
  describe(`Persistence of large values [${engine} engine]`, function () {
    this.timeout(120000);
    let t;
    beforeEach(() => {
      t = persistTarget('plarge');
    });
    afterEach(() => t.cleanup());

    it('replays logged large values after a reboot, and loads them from a checkpoint\'s snapshot', () => {
      const big = largeValueFor('p', 1, 20 << 20);
      const mid = largeValueFor('p', 2, 300000);
      const str = 'ś'.repeat(50000);
      let s = Store.create({ name: t.name, engine, size: 64 << 20, maxEntries: 1000,
        persist: { dir: t.dir, sync: 'none', checkpointBytes: 0 } });
      try {
        s.set('n', 'big', big);
        s.set('n', 'mid', mid);
        s.set('n', 'str', str);
        s.set('n', 'gone', largeValueFor('p', 3, 100000));
        s.delete('n', 'gone');
      } finally {
        s.close();
      }
      // What every recovery must find.
      const expectValues = (x) => {
        assert.ok(x.get('n', 'big').equals(big));
        assert.ok(x.get('n', 'mid').equals(mid));
        assert.strictEqual(x.get('n', 'str'), str);
        assert.strictEqual(x.get('n', 'gone'), undefined);
      };
      s = recover(t.name, t.dir, engine);
      try {
        expectValues(s);
        s.checkpoint();
        s.set('n', 'after', largeValueFor('p', 4, 70000));
      } finally {
        s.close();
      }
      s = recover(t.name, t.dir, engine);
      try {
        expectValues(s);
        assert.ok(checkLargeValue(s.get('n', 'after')));
        assert.strictEqual(s.count('n'), 4);
        const v = s.verify();
        assert.ok(v.ok, v.errors.join('\n'));
      } finally {
        s.close();
      }
    });
  });
}
