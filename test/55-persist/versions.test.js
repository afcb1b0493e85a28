'use strict';
// The format versions of log files and snapshots (docs/format.md §16, "Versions"): files of
// version 1 are read, with the same rules as version 2, and never appended to (opening such a
// store starts a new file of version 2, or gives a file without records the new header); a
// version this code does not know is refused with ERR_PERSIST_CORRUPT, whose message names it.
// The files of version 1 are written here from the document alone.
// layout-ok-file: the offsets are the document's numbers on purpose, never lib/layout.js.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Store } = require('../../index');
const { ENGINES } = require('../helpers/engines');
const { persistTarget, reboot, recover, contents } = require('../helpers/persist');
const { readLog, crc32c } = require('../helpers/independent-wal-reader');

const u64 = (buf, v, at) => buf.writeBigUInt64LE(BigInt(v), at);

// A log file header (§16, "Log file header") of `version` starting at `startLsn`.
function fileHeader(version, startLsn) {
  const b = Buffer.alloc(64);
  b.writeUInt32LE(0x4c415753, 0);
  b.writeUInt32LE(version, 4);
  u64(b, startLsn, 8);
  u64(b, Date.now(), 16);
  b.writeUInt32LE(crc32c(b.subarray(0, 60)), 60);
  return b;
}

// One record (§16, "Records") at `lsn`: [bytes, size].
function record(lsn, type, ns, key = '', value = '', encoding = 0, expiresAt = 0) {
  const n = Buffer.from(ns);
  const k = Buffer.from(key);
  const v = Buffer.from(value);
  const length = 32 + n.length + k.length + v.length;
  const b = Buffer.alloc(Math.ceil(length / 8) * 8);
  b.writeUInt32LE(length, 4);
  u64(b, lsn, 8);
  u64(b, expiresAt, 16);
  b[24] = type;
  b[25] = encoding;
  b[26] = n.length;
  b.writeUInt16LE(k.length, 28);
  Buffer.concat([n, k, v]).copy(b, 32);
  b.writeUInt32LE(crc32c(b.subarray(4, length)), 0);
  return b;
}

// A log file of `version` from LSN 0 holding `specs` ([type, ns, key, value, encoding, expiresAt]).
function logOf(version, specs) {
  const parts = [fileHeader(version, 0)];
  let lsn = 0;
  for (const s of specs) {
    const r = record(lsn, ...s);
    parts.push(r);
    lsn += r.length;
  }
  return { bytes: Buffer.concat(parts), end: lsn };
}

const logs = (dir) => fs.readdirSync(dir).filter((f) => f.startsWith('wal-')).sort();
const versionOf = (file) => fs.readFileSync(file).readUInt32LE(4);

for (const engine of ENGINES) {
  describe(`Persistence: log and snapshot format versions [${engine} engine]`, () => {
    let t;
    const open = [];
    const track = (s) => { open.push(s); return s; };
    beforeEach(() => { t = persistTarget('ver'); });
    afterEach(() => {
      for (const s of open.splice(0)) s.close();
      t.cleanup();
    });

    // A persisted store whose only log file is replaced by `bytes`, its segment gone.
    const withLog = (bytes) => {
      Store.create({ name: t.name, size: 1 << 22, engine, persist: { dir: t.dir, sync: 'none' } }).close();
      fs.writeFileSync(path.join(t.dir, logs(t.dir)[0]), bytes);
      reboot(t.name);
    };

    it('new files are of version 2', () => {
      const s = track(Store.create({ name: t.name, size: 1 << 22, engine, persist: { dir: t.dir, sync: 'none' } }));
      s.set('n', 'k', 1);
      s.checkpoint();
      for (const f of fs.readdirSync(t.dir).filter((x) => /\.(log|snap)$/.test(x))) assert.strictEqual(versionOf(path.join(t.dir, f)), 2, f);
    });

    it('reads a log of version 1 and appends after it in a new file of version 2', () => {
      const v1 = logOf(1, [
        [1, 'a', 'k1', 'one', 1],
        [1, 'a', 'k2', '{"x":2}', 2],
        [1, 'b', 'gone', 'x', 1],
        [2, 'b', 'gone'],
        [1, 'b', 'bin', '\u0001\u0002', 0],
      ]);
      withLog(v1.bytes);
      const s = track(Store.open({ name: t.name, engine, persist: { dir: t.dir } }));
      assert.strictEqual(s.persistence.recovery.records, 5);
      assert.deepStrictEqual(contents(s, 'a'), [['k1', 'one'], ['k2', { x: 2 }]]);
      assert.deepStrictEqual(s.get('b', 'bin'), Buffer.from([1, 2]));
      assert.strictEqual(s.has('b', 'gone'), false);
      // The version 1 file is left as it was; the writes go to a file of version 2 at its end.
      const names = logs(t.dir);
      assert.deepStrictEqual(names, ['wal-0000000000000000.log', `wal-${v1.end.toString(16).padStart(16, '0')}.log`]);
      assert.ok(fs.readFileSync(path.join(t.dir, names[0])).equals(v1.bytes));
      assert.strictEqual(versionOf(path.join(t.dir, names[1])), 2);
      s.set('a', 'k3', 'three');
      s.namespace('a', { ttl: 3600000 });
      const added = readLog(path.join(t.dir, names[1]));
      assert.deepStrictEqual(added.records.map((r) => r.type), ['set', 'nsSettings']);
      s.close();
      const r = track(recover(t.name, t.dir, engine));
      assert.deepStrictEqual(contents(r, 'a'), [['k1', 'one'], ['k2', { x: 2 }], ['k3', 'three']]);
      assert.strictEqual(r.persistence.recovery.records, 7);
      assert.strictEqual(r.stats().namespaceStats.a.ttl, 3600000);
    });

    it('a log of version 1 that holds namespace settings (written before the bump) is read whole', () => {
      withLog(logOf(1, [[6, 'cfg', '', '', 1, 60000], [1, 'cfg', 'k', 'v', 1]]).bytes);
      const s = track(Store.open({ name: t.name, engine, persist: { dir: t.dir } }));
      assert.strictEqual(s.persistence.recovery.records, 2);
      assert.strictEqual(s.get('cfg', 'k'), 'v');
      assert.strictEqual(s.stats().namespaceStats.cfg.ttl, 60000);
    });

    it('a log of version 1 without records gets the header of version 2 when opened', () => {
      const v1 = logOf(1, []);
      withLog(Buffer.concat([v1.bytes, Buffer.alloc(4096)]));
      const s = track(Store.open({ name: t.name, engine, persist: { dir: t.dir } }));
      assert.deepStrictEqual(logs(t.dir), ['wal-0000000000000000.log']);
      assert.strictEqual(versionOf(path.join(t.dir, logs(t.dir)[0])), 2);
      s.set('n', 'k', 'v');
      s.close();
      const r = track(recover(t.name, t.dir, engine));
      assert.strictEqual(r.get('n', 'k'), 'v');
    });

    it('a log or snapshot of an unknown version is refused with ERR_PERSIST_CORRUPT naming it', () => {
      withLog(logOf(3, [[1, 'a', 'k', 'v', 1]]).bytes);
      assert.throws(() => Store.open({ name: t.name, engine, persist: { dir: t.dir } }),
        (err) => err.code === 'ERR_PERSIST_CORRUPT' && /version 3/.test(err.message));
    });

    it('reads a snapshot of version 1, refuses one of version 3', () => {
      const s = Store.create({ name: t.name, size: 1 << 22, engine, persist: { dir: t.dir, sync: 'none' } });
      s.set('n', 'k', 'v');
      s.namespace('n', { ttl: 3600000 });
      s.checkpoint();
      s.close();
      const snap = path.join(t.dir, fs.readdirSync(t.dir).find((f) => f.endsWith('.snap')));
      const original = fs.readFileSync(snap);
      const withVersion = (v) => {
        const b = Buffer.from(original);
        b.writeUInt32LE(v, 4);
        b.writeUInt32LE(crc32c(b.subarray(0, 60)), 60);
        fs.writeFileSync(snap, b);
        reboot(t.name);
      };
      withVersion(1);
      const r = track(Store.open({ name: t.name, engine, persist: { dir: t.dir } }));
      assert.strictEqual(r.get('n', 'k'), 'v');
      assert.strictEqual(r.stats().namespaceStats.n.ttl, 3600000);
      r.close();
      withVersion(3);
      assert.throws(() => Store.open({ name: t.name, engine, persist: { dir: t.dir } }),
        (err) => err.code === 'ERR_PERSIST_CORRUPT' && /version 3/.test(err.message));
    });
  });
}
