'use strict';
// Namespace settings on a persisted store (docs/api.md, "Persistence"; format.md §16, record type
// 6): store.namespace(name, { eviction, ttl }) logs the namespace's resulting policy and default
// TTL when they change, a rebuild from the log or from a snapshot has them as set last (a drop
// after them removes them), the independent reader reads the records from the document alone,
// and a configuration whose record cannot be written is undone.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Store } = require('../../index');
const { ENGINES } = require('../helpers/engines');
const { persistTarget, recover, logFile } = require('../helpers/persist');
const { readLog, readSnapshot, replaySettings } = require('../helpers/independent-wal-reader');
const { io } = require('../../lib/persist/io');

const HOUR = 3600000;

// { eviction, ttl } of each namespace, as stats() reports them.
function settings(s) {
  const out = {};
  for (const [ns, x] of Object.entries(s.stats().namespaceStats)) out[ns] = { eviction: x.eviction, ttl: x.ttl };
  return out;
}

for (const engine of ENGINES) {
  describe(`Persistence: namespace settings are logged [${engine} engine]`, () => {
    let t;
    const open = [];
    const track = (s) => { open.push(s); return s; };
    beforeEach(() => { t = persistTarget('nsset'); });
    afterEach(() => {
      for (const s of open.splice(0)) s.close();
      t.cleanup();
    });

    const create = () => track(Store.create({ name: t.name, size: 1 << 22, engine, persist: { dir: t.dir, sync: 'none' } }));

    // Settings of several namespaces changed in steps, one of them dropped and created anew.
    function configure(s) {
      s.namespace('pinned', { eviction: 'none' });
      s.namespace('cache', { eviction: 'clock', ttl: HOUR });
      s.set('cache', 'k', 1);
      s.namespace('cache', { ttl: 2 * HOUR }); // the policy stays clock
      s.namespace('sessions', { ttl: 5 * HOUR });
      s.set('sessions', 'k', 2);
      s.namespace('gone', { eviction: 'none', ttl: HOUR });
      s.set('gone', 'k', 3);
      s.dropNamespace('gone');
      s.namespace('again', { ttl: HOUR });
      s.dropNamespace('again');
      s.namespace('again', { eviction: 'clock' });
      s.namespace('plain');
      s.set('plain', 'k', 4);
    }

    for (const how of ['log', 'snapshot', 'snapshot and log']) {
      it(`a rebuild from the ${how} has each namespace's settings as set last`, () => {
        const s = create();
        if (how === 'snapshot') configure(s);
        if (how !== 'log') s.checkpoint();
        if (how !== 'snapshot') configure(s);
        const want = settings(s);
        assert.deepStrictEqual(want.cache, { eviction: 'clock', ttl: 2 * HOUR });
        assert.deepStrictEqual(want.pinned, { eviction: 'none', ttl: Infinity });
        assert.strictEqual(want.gone, undefined);
        s.close();
        const r = track(recover(t.name, t.dir, engine));
        assert.deepStrictEqual(settings(r), want);
        // The default TTL applies again to a write after the rebuild.
        r.set('sessions', 'new', 1);
        assert.ok(r.ttl('sessions', 'new') > 4 * HOUR);
        assert.strictEqual(r.verify().ok, true);
      });
    }

    for (const how of ['log', 'snapshot']) {
      it(`a namespace left without entries is still there after a rebuild from the ${how}`, () => {
        const s = create();
        s.set('cleared', 'k', 1);
        s.clear('cleared');
        s.set('deleted', 'k', 1);
        s.delete('deleted', 'k');
        s.namespace('configured', { ttl: Infinity }); // created, with the default settings
        s.set('full', 'k', 1);
        if (how === 'snapshot') s.checkpoint();
        const want = s.namespaces().sort();
        assert.deepStrictEqual(want, ['cleared', 'configured', 'deleted', 'full']);
        s.close();
        const r = track(recover(t.name, t.dir, engine));
        assert.deepStrictEqual(r.namespaces().sort(), want);
        assert.strictEqual(r.count('cleared'), 0);
        assert.strictEqual(r.dropNamespace('deleted'), 0); // an existing, empty namespace
        assert.strictEqual(r.verify().ok, true);
      });
    }

    it('the log holds absolute settings records that the independent reader reads', () => {
      const s = create();
      configure(s);
      s.close();
      const log = readLog(logFile(t.dir));
      const recs = log.records.filter((r) => r.type === 'nsSettings');
      // One per call that changed something: pinned, cache twice, sessions, gone, again twice.
      assert.strictEqual(recs.length, 7);
      const cache = recs.filter((r) => r.ns === 'cache');
      assert.deepStrictEqual(cache.map((r) => [r.encoding, r.expiresAt, r.key, r.value.length]), [[2, HOUR, '', 0], [2, 2 * HOUR, '', 0]]);
      const got = replaySettings(log.records);
      assert.deepStrictEqual([...got.keys()].sort(), ['again', 'cache', 'pinned', 'sessions']);
      assert.deepStrictEqual(got.get('sessions'), { policy: 0, ttlMs: 5 * HOUR });
      assert.deepStrictEqual(got.get('pinned'), { policy: 1, ttlMs: 0 });
    });

    it('a snapshot holds a settings record before the entries of each configured namespace', () => {
      const s = create();
      configure(s);
      s.checkpoint();
      s.close();
      const snap = fs.readdirSync(t.dir).find((f) => f.endsWith('.snap'));
      const { records } = readSnapshot(path.join(t.dir, snap));
      const settingsAt = new Map(records.map((r, i) => [r, i]).filter(([r]) => r.type === 'nsSettings').map(([r, i]) => [r.ns, i]));
      assert.deepStrictEqual([...settingsAt.keys()].sort(), ['again', 'cache', 'pinned', 'sessions']);
      for (const [i, r] of records.entries()) {
        if (r.type === 'set' && settingsAt.has(r.ns)) assert.ok(settingsAt.get(r.ns) < i, `${r.ns}/${r.key}`);
      }
      assert.deepStrictEqual(replaySettings(records).get('cache'), { policy: 2, ttlMs: 2 * HOUR });
    });

    it('a call that changes nothing, or without settings, logs nothing', () => {
      const s = create();
      s.namespace('n', { eviction: 'none', ttl: HOUR });
      const tail = s.persistence.tail;
      s.namespace('n', { eviction: 'none' });
      s.namespace('n', { ttl: HOUR });
      s.namespace('n');
      s.namespace('fresh'); // a view only: no namespace is created
      assert.strictEqual(s.persistence.tail, tail);
      assert.throws(() => s.namespace('n', { eviction: 'sometimes' }), RangeError);
      assert.throws(() => s.namespace('n', { ttl: '5' }), TypeError);
      assert.throws(() => s.namespace('n', { ttl: -1 }), RangeError);
      assert.strictEqual(s.persistence.tail, tail);
    });

    it('a configuration whose record cannot be written is undone and throws', () => {
      const s = create();
      s.namespace('n', { eviction: 'none', ttl: HOUR });
      const before = settings(s);
      const { mapped, writeSync } = io;
      io.mapped = false;
      io.writeSync = () => { throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO', errno: -5, syscall: 'write' }); };
      try {
        assert.throws(() => s.namespace('n', { eviction: 'clock', ttl: 2 * HOUR }), { code: 'ERR_PERSIST_IO' });
        assert.throws(() => s.namespace('new', { ttl: HOUR }), { code: 'ERR_PERSIST_IO' });
      } finally {
        Object.assign(io, { mapped, writeSync });
      }
      assert.deepStrictEqual(settings(s).n, before.n);
      assert.deepStrictEqual(settings(s).new, { eviction: settings(s).new.eviction, ttl: Infinity });
      s.close();
      const r = track(recover(t.name, t.dir, engine));
      assert.deepStrictEqual(settings(r), { n: before.n });
    });
  });
}
