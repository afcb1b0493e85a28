'use strict';
// The native engine's logged set (src/persist/wal_append.h): the store write, the record and its
// CRC32C in one native call. It must write the very bytes the JavaScript path writes, take the
// entry's own expiry from the write, hand over to the general path whenever the record does not
// fit the mapped file (growth, a checkpoint's new file), and refuse bad arguments without a crash.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Store } = require('../../index');
const native = require('../../lib/base/native');
const { persistTarget, recover, contents } = require('../helpers/persist');
const { readLog } = require('../helpers/independent-wal-reader');
const { C } = require('../../lib/layout/layout');

const HOUR = 3600000;

// The bytes of the records of every log file of `dir` in LSN order (file headers left out: they
// hold their creation time).
function recordBytes(dir) {
  const files = fs.readdirSync(dir).filter((f) => /^wal-[0-9a-f]{16}\.log$/.test(f)).sort();
  return Buffer.concat(files.map((f) => {
    const log = readLog(path.join(dir, f));
    return fs.readFileSync(path.join(dir, f)).subarray(C.WAL_FILE_HEADER_SIZE, C.WAL_FILE_HEADER_SIZE + log.end - log.startLsn);
  }));
}

// Counts the sets the native writer of `store` logged itself.
function countNative(store) {
  const w = store._p.writer;
  assert.ok(w !== null, 'a persisted store of the native engine has a native writer');
  const counter = { n: 0 };
  const set = w.set;
  w.set = (...args) => {
    const end = set(...args);
    if (end !== 0) counter.n += 1;
    return end;
  };
  return counter;
}

// One sequence of writes: every value encoding, non-ASCII names, values stored inline and in
// large blocks (so that some records cross the 1 MiB steps the file grows by), a checkpoint in
// the middle (a new log file), explicit expiries, deletes and a clear.
function workload(s, expiresAt) {
  const big = Buffer.alloc(300000, 7);
  for (let i = 0; i < 200; i++) s.set('näme', `k${i}`, `välue ${i}`);
  s.set('näme', 'json', { a: [1, 2, { b: null }] });
  s.set('bin', '🔑', new Uint8Array([0, 1, 2, 255]));
  for (let i = 0; i < 8; i++) s.set('big', `b${i}`, big);
  s.set('näme', 'exp', 'until then', { expiresAt });
  s.set('näme', 'forever', 'x', { ttl: Infinity });
  s.delete('näme', 'k3');
  s.checkpoint();
  s.setMany('many', [['a', 1], ['b', 'two'], ['c', Buffer.from('three')]]);
  for (let i = 0; i < 100; i++) s.set('näme', `k${i}`, i);
  s.clear('many');
  s.set('many', 'after', true);
}

describe('Persistence: the native logged set', function () {
  if (!native.addon) return;
  const targets = [];
  const open = [];
  const target = () => {
    const t = persistTarget('nat');
    targets.push(t);
    return t;
  };
  const track = (s) => { open.push(s); return s; };
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
    for (const t of targets.splice(0)) t.cleanup();
  });
  const create = (t, engine) => track(Store.create({ name: t.name, size: 1 << 24, engine, persist: { dir: t.dir, sync: 'none' } }));

  it('writes records byte-identical to the JS engine, and most sets take the native path', () => {
    const expiresAt = Date.now() + HOUR;
    const [tn, tj] = [target(), target()];
    const sn = create(tn, 'native');
    const sj = create(tj, 'js');
    assert.strictEqual(sj._p.writer, null);
    const counter = countNative(sn);
    // The JS engine's sets that took the lock and appended natively (the sealer's begin and put).
    const sealer = sj._p.wal.sealer;
    const put = sealer.put;
    let puts = 0;
    sealer.put = () => {
      puts += 1;
      return put();
    };
    workload(sn, expiresAt);
    workload(sj, expiresAt);
    assert.ok(puts >= 280, `${puts} sets of the JS engine appended by the sealer`);
    // 200 + 1 + 1 + 8 + 2 sets, 3 of setMany, 101 more; a few go the general path (a new
    // namespace's first set, a record past the mapped or allocated part of the file).
    assert.ok(counter.n >= 280, `${counter.n} sets logged natively`);
    assert.strictEqual(sn.persistence.tail, sj.persistence.tail);
    const a = recordBytes(tn.dir);
    const b = recordBytes(tj.dir);
    assert.strictEqual(a.length, sn.persistence.tail - sn.persistence.logStart);
    assert.ok(a.equals(b), 'the two engines wrote the same record bytes');
    const want = Object.fromEntries(['näme', 'bin', 'big', 'many'].map((ns) => [ns, contents(sn, ns)]));
    sn.close();
    sj.close();
    for (const [t, engine] of [[tn, 'js'], [tj, 'native']]) {
      const r = track(recover(t.name, t.dir, engine));
      for (const ns of Object.keys(want)) assert.deepStrictEqual(contents(r, ns), want[ns], `${ns} recovered by ${engine}`);
      assert.ok(r.ttl('näme', 'exp') > HOUR - 60000);
      assert.strictEqual(r.verify().ok, true);
    }
  });

  it("logs the entry's own expiry from its namespace's default TTL", () => {
    const t = target();
    const s = create(t, 'native');
    s.namespace('cache', { ttl: HOUR });
    s.set('cache', 'first', 1); // the namespace's first set by this handle
    const counter = countNative(s);
    const before = Date.now();
    s.set('cache', 'k', 'v');
    const after = Date.now();
    assert.strictEqual(counter.n, 1);
    const log = readLog(path.join(t.dir, fs.readdirSync(t.dir).find((f) => f.startsWith('wal-'))));
    const rec = log.records.at(-1);
    assert.strictEqual(rec.type, 'set');
    assert.strictEqual(rec.key, 'k');
    assert.ok(rec.expiresAt >= before + HOUR && rec.expiresAt <= after + HOUR, `${rec.expiresAt} in [${before + HOUR}, ${after + HOUR}]`);
  });

  it('a write the store refuses is neither stored nor logged, and reported as on the general path', () => {
    const t = target();
    const s = track(Store.create({ name: t.name, size: 1 << 20, engine: 'native', persist: { dir: t.dir, sync: 'none' } }));
    s.set('n', 'seed', 1);
    const tail = s.persistence.tail;
    assert.throws(() => s.set('n', 'huge', Buffer.alloc(4 << 20)), { code: 'ERR_STORE_FULL' });
    assert.strictEqual(s.persistence.tail, tail);
    assert.strictEqual(s.has('n', 'huge'), false);
  });

  it('createLogWriter and its functions refuse bad arguments with TypeErrors, never a crash', () => {
    const t = target();
    const s = create(t, 'native');
    const addon = native.addon;
    const control = new Uint8Array(s._p.control.segment.buffer);
    assert.throws(() => addon.createLogWriter(), TypeError);
    assert.throws(() => addon.createLogWriter({}, control, 1), TypeError);
    assert.throws(() => addon.createLogWriter(s._e, new Uint8Array(16), 1), TypeError);
    assert.throws(() => addon.createLogWriter(s._e, control, 0), RangeError);
    // A plain ArrayBuffer's bytes could be detached and freed under the writer: shared memory only.
    assert.throws(() => addon.createLogWriter(s._e, new Uint8Array(control.length), 1), TypeError);
    assert.throws(() => s._p.writer.map(new Uint8Array(4096), 0), TypeError);
    const w = s._p.writer;
    assert.throws(() => w.set(), TypeError);
    assert.throws(() => w.set(1, 5, 'k', 'v', 1, 0), TypeError);
    assert.throws(() => w.set(1, 'n', 5, 'v', 1, 0), TypeError);
    assert.throws(() => w.set(1, 'n', 'k', 5, 1, 0), TypeError);
    assert.throws(() => w.map({}, 0), TypeError);
    assert.throws(() => w.map(new Uint8Array(8), -1), TypeError);
    assert.strictEqual(s.verify().ok, true);
  });
});
