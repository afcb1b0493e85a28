'use strict';
// Latency histograms on a persisted store (docs/api.md, "Latency histograms"): the persist
// room's own set, delete, clear and setMany are the ones timed; a rebuilt store does not count
// its log replay; without the option the handle has no instrumented method of its own.
const assert = require('assert');
const { Store } = require('../../index');
const { KINDS } = require('../../lib/store/latency');
const { persistTarget, recover, reboot } = require('../helpers/persist');

describe('latency histograms of a persisted store', function () {
  this.timeout(120000);
  let t;
  let s;
  beforeEach(() => {
    t = persistTarget('lat');
  });
  afterEach(() => {
    if (s && !s.closed) s.close();
    t.cleanup();
  });

  it('times the persisted writes (the log append included) and the reads', function () {
    s = Store.create({ name: t.name, size: 1 << 22, latency: true, persist: { dir: t.dir, sync: 'none' } });
    assert.ok(s.persistence);
    for (let i = 0; i < 40; i++) s.set('n', `k${i}`, i);
    s.delete('n', 'k0');
    s.setMany('n', [['a', 1], ['b', 2]]);
    s.get('n', 'k1');
    s.clear('n');
    const snap = s.latency();
    assert.strictEqual(snap.ops.set.count, 40);
    assert.strictEqual(snap.ops.delete.count, 1);
    assert.strictEqual(snap.ops.setMany.count, 1);
    assert.strictEqual(snap.ops.get.count, 1);
    assert.strictEqual(snap.ops.clear.count, 1);
    for (const k of KINDS) assert.ok(Store.prototype[k].length <= 4, `${k} declares ${Store.prototype[k].length}`);
    // The instrumented method wraps the persist room's, not the store facade's.
    s.disableLatency();
    assert.strictEqual(s.set, Store.prototype.set);
  });

  it('without the option: no own methods; a store rebuilt from its log starts with empty histograms', function () {
    s = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'none' } });
    for (const k of KINDS) assert.ok(!Object.prototype.hasOwnProperty.call(s, k), k);
    assert.strictEqual(s.latency(), null);
    for (let i = 0; i < 25; i++) s.set('n', `k${i}`, i);
    s.close();
    s = recover(t.name, t.dir);
    assert.strictEqual(s.latency(), null);
    s.close();
    s = Store.open({ name: t.name, latency: true, persist: { dir: t.dir } });
    assert.strictEqual(s.get('n', 'k3'), 3);
    assert.strictEqual(s.latency().ops.get.count, 1);
    s.close();
    reboot(t.name);
    s = Store.open({ name: t.name, latency: true, persist: { dir: t.dir } });
    assert.ok(s.persistence.recovery, 'rebuilt from the log');
    assert.strictEqual(s.count('n'), 25);
    const snap = s.latency();
    assert.strictEqual(snap.ops.set.count, 0, 'the replay is not timed');
    assert.strictEqual(snap.ops.count.count, 1);
  });

  it('bad option: TypeError before anything is created', function () {
    assert.throws(() => Store.create({ name: t.name, size: 1 << 22, latency: 'on', persist: { dir: t.dir, sync: 'none' } }), TypeError);
    assert.throws(() => Store.open({ name: t.name, persist: { dir: t.dir } }), { code: 'ERR_SHM_NOT_FOUND' });
  });
});
