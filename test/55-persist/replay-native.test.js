'use strict';
// The native replay of the log (binding/persist applyWal, src/persist/wal_replay.cpp), which a
// recovery into a native-engine store uses, against the JavaScript replay a js-engine store uses
// (lib/persist/recovery.js applyRecord): logs with every record type, records across the 4 MiB
// read chunks, and damage of several kinds must rebuild the same entries, namespace settings
// and recovery report both ways. Also: the geometry refusing the log is the same error both
// ways, and applyWal refuses what is not a native store handle.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Store, layout } = require('../../index');
const native = require('../../lib/base/native');
const { persistTarget, recover, reboot, copyDir, logFile, contents } = require('../helpers/persist');
const { readLog } = require('../helpers/independent-wal-reader');

const HOUR = 3600000;
const R = layout.S.WAL_RECORD;

// Everything a rebuilt store shows: each namespace's entries and expiry and its settings.
function state(s) {
  const out = {};
  const stats = s.stats().namespaceStats;
  for (const ns of s.namespaces().sort()) {
    out[ns] = {
      entries: contents(s, ns).map(([k, v]) => [k, v, s.ttl(ns, k) === Infinity ? 'never' : 'expires']),
      eviction: stats[ns].eviction,
      ttl: stats[ns].ttl,
    };
  }
  return out;
}

// A log with every record type, long enough to cross a read chunk: returns its directory.
function writeLog(t) {
  const s = Store.create({ name: t.name, size: 32 << 20, persist: { dir: t.dir, sync: 'none', checkpointBytes: 0 } });
  const big = 'b'.repeat(1000);
  s.namespace('cfg', { eviction: 'none', ttl: HOUR });
  for (let i = 0; i < 8000; i++) {
    const ns = `n${i % 3}`;
    s.set(ns, `k${i % 700}`, i % 5 === 0 ? Buffer.from([i & 255, 0, 255]) : i % 5 === 1 ? { i, big } : `${i}:${big}`);
    if (i % 97 === 0) s.delete(ns, `k${(i + 1) % 700}`);
    if (i % 1000 === 999) s.set('cfg', `t${i}`, i, { ttl: HOUR });
    if (i % 1500 === 1499) s.clear('n1');
    if (i === 4000) s.dropNamespace('n2');
    if (i % 2000 === 10) s.namespace('cfg', { ttl: (i + 1) * 1000 });
  }
  s.set('cfg', 'gone', 1, { ttl: 1 }); // expired by the replay: replays as a delete
  s.close();
  const wait = Date.now() + 5;
  while (Date.now() < wait);
  return readLog(logFile(t.dir));
}

(native.addon ? describe : describe.skip)('Persistence: the native replay of the log', function () {
  this.timeout(300000);
  let t;
  let log;
  before(() => {
    t = persistTarget('rnat');
    log = writeLog(t);
    assert.ok(log.end > (4 << 20) + (1 << 19), `the log (${log.end} bytes) crosses a 4 MiB read chunk`);
    assert.deepStrictEqual(new Set(log.records.map((r) => r.type)), new Set(['set', 'delete', 'clear', 'nsDrop', 'nsSettings']));
  });
  after(() => t.cleanup());

  // Recovers a copy of the directory, its log changed by damage(buf), with each engine.
  function both(damage) {
    const out = [];
    for (const engine of ['native', 'js']) {
      const dir = copyDir(t.dir);
      try {
        const file = logFile(dir);
        const buf = fs.readFileSync(file);
        fs.writeFileSync(file, damage(buf) || buf);
        const s = recover(t.name, dir, engine);
        try {
          const { ms, ...report } = s.persistence.recovery;
          assert.ok(ms >= 0);
          out.push({ report, state: state(s), verify: s.verify().ok, size: fs.statSync(file).size });
        } finally {
          s.close();
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    assert.deepStrictEqual(out[0], out[1]);
    assert.strictEqual(out[0].verify, true);
    return out[0];
  }

  const at = (i) => layout.C.WAL_FILE_HEADER_SIZE + (log.records[i].lsn - log.startLsn);
  const mid = () => Math.floor(log.records.length / 2);

  it('the whole log rebuilds the same store both ways', () => {
    const r = both(() => null);
    assert.strictEqual(r.report.records, log.records.length);
    assert.strictEqual(r.report.cutBytes, 0);
    assert.deepStrictEqual(r.state.cfg.entries.filter(([k]) => k === 'gone'), []);
    // Dropped at i = 4000 and written again after: only keys written after the drop.
    assert.ok(r.state.n2.entries.every(([, v]) => Buffer.isBuffer(v) || (typeof v === 'object' ? v.i : Number(v.split(':')[0])) > 4000));
  });

  it('a record damaged in the middle ends the log there both ways (the reason included)', () => {
    const m = mid();
    for (const [what, damage] of [
      ['a flipped payload byte', (b) => { b[at(m) + R.SIZE + 8] ^= 1; }],
      ['a flipped checksum', (b) => { b[at(m) + R.CHECKSUM] ^= 0x80; }],
      ['a stale LSN', (b) => { b[at(m) + R.LSN] ^= 8; }],
      ['a zero length', (b) => { b.fill(0, at(m) + R.LENGTH, at(m) + R.LENGTH + 4); }],
    ]) {
      const r = both(damage);
      assert.strictEqual(r.report.records, m, what);
      assert.ok(r.report.cutBytes > 0 && r.report.reason, what);
    }
  });

  it('a log cut inside a record, also at the read chunk boundary, keeps the records before it both ways', () => {
    const chunkRecord = log.records.findIndex((x) => layout.C.WAL_FILE_HEADER_SIZE + (x.lsn - log.startLsn) + x.size > 4 << 20);
    for (const i of [chunkRecord, mid(), log.records.length - 1]) {
      const r = both((b) => b.subarray(0, at(i) + Math.floor(log.records[i].size / 2)));
      assert.strictEqual(r.report.records, i);
      assert.strictEqual(r.report.reason, 'a torn record at the end of the log');
    }
  });

  it('a snapshot (sets and settings across read chunks) and the log after it load the same both ways', () => {
    const sub = persistTarget('rnat-snap');
    try {
      const s = Store.create({ name: sub.name, size: 32 << 20, persist: { dir: sub.dir, sync: 'none', checkpointBytes: 0 } });
      s.namespace('cfg', { eviction: 'none', ttl: HOUR });
      for (let i = 0; i < 6000; i++) s.set(`n${i % 4}`, `k${i}`, i % 2 ? `${i}:${'s'.repeat(900)}` : Buffer.alloc(900, i & 255));
      s.set('cfg', 'e', 1, { ttl: 2 * HOUR });
      s.checkpoint();
      s.set('n0', 'after', 'the log after the snapshot');
      s.namespace('n1', { ttl: 3 * HOUR });
      s.close();
      const snap = fs.readdirSync(sub.dir).find((f) => f.endsWith('.snap'));
      assert.ok(fs.statSync(path.join(sub.dir, snap)).size > (4 << 20) + (1 << 19), 'the snapshot crosses a 4 MiB read chunk');
      const got = [];
      for (const engine of ['native', 'js']) {
        const dir = copyDir(sub.dir);
        try {
          const r = recover(sub.name, dir, engine);
          try {
            got.push({ snapshot: r.persistence.recovery.snapshot, records: r.persistence.recovery.records, state: state(r), verify: r.verify().ok });
          } finally {
            r.close();
          }
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }
      assert.deepStrictEqual(got[0], got[1]);
      assert.strictEqual(got[0].verify, true);
      assert.strictEqual(got[0].snapshot.records, 6002); // 6001 entries and the settings of cfg
      assert.strictEqual(got[0].state.n1.ttl, 3 * HOUR);
      assert.deepStrictEqual([got[0].state.cfg.eviction, got[0].state.cfg.ttl], ['none', HOUR]);
    } finally {
      sub.cleanup();
    }
  });

  it('a geometry that cannot hold the log is the same error both ways', () => {
    const codes = [];
    for (const engine of ['native', 'js']) {
      const sub = persistTarget('rnat-full');
      try {
        const s = Store.create({ name: sub.name, size: 1 << 20, engine, persist: { dir: sub.dir, sync: 'none' } });
        for (let i = 0; i < 100; i++) s.set('n', `k${i}`, 'x'.repeat(1000));
        s.close();
        // A log that a 1 MiB store cannot hold: the same log file in a store made smaller.
        const dir = copyDir(sub.dir);
        const file = logFile(dir);
        const more = Store.create({ name: `${sub.name}-big`, size: 8 << 20, persist: { dir: path.join(dir, 'big'), sync: 'none' } });
        for (let i = 0; i < 3000; i++) more.set('n', `k${i}`, 'x'.repeat(1000));
        more.close();
        fs.copyFileSync(logFile(path.join(dir, 'big')), file);
        fs.rmSync(path.join(dir, 'big'), { recursive: true });
        reboot(`${sub.name}-big`);
        assert.throws(() => recover(sub.name, dir, engine), (e) => {
          codes.push([e.code, /replaying the record at LSN \d+/.test(e.message)]);
          return true;
        });
        fs.rmSync(dir, { recursive: true, force: true });
      } finally {
        sub.cleanup();
      }
    }
    assert.deepStrictEqual(codes[0], codes[1]);
    assert.deepStrictEqual(codes[0], ['ERR_STORE_FULL', true]);
  });

  it('applyWal refuses what is not an open native store handle, without crashing', () => {
    const { applyWal } = native.addon;
    const out = new Float64Array(3);
    const view = new Uint8Array(64);
    for (const bad of [{}, null, 1, 'x', new Uint8Array(8)]) assert.throws(() => applyWal(bad, view, 0, 0, out), TypeError);
    const s = Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine: 'native' });
    assert.throws(() => applyWal(s._e, view, 0, 0, new Float64Array(2)), TypeError);
    assert.throws(() => applyWal(s._e, 'x', 0, 0, out), TypeError);
    // An LSN or clock with no uint64 value (Infinity, 2^64 and above) is refused, not converted.
    for (const bad of [Infinity, 2 ** 64, 2 ** 70]) {
      assert.throws(() => applyWal(s._e, view, bad, 0, out), TypeError);
      assert.throws(() => applyWal(s._e, view, 0, bad, out), TypeError);
    }
    assert.strictEqual(applyWal(s._e, view, 0, 0, out), 0);
    assert.deepStrictEqual([...out], [0, 0, 1]); // zeros: not a record
    const engine = s._e;
    s.close();
    assert.throws(() => applyWal(engine, view, 0, 0, out), { code: 'ERR_CLOSED' });
  });
});
