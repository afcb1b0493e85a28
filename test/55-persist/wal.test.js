'use strict';
// Store.create / Store.open with `persist` (docs/api.md, "Persistence"): every mutation is in the
// log, a store whose segment is gone is rebuilt from it exactly, the log reads as
// docs/format.md §16 says (checked by an independent reader), and a write the store refuses or
// the log cannot take is neither in memory nor replayed.
const assert = require('assert');
const fs = require('fs');
const { Store, ShmError } = require('../../index');
const { ENGINES } = require('../helpers/engines');
const { persistTarget, recover, reboot, logFile, contents } = require('../helpers/persist');
const { readLog, replay } = require('../helpers/independent-wal-reader');
const { io } = require('../../lib/persist/io');
const native = require('../../lib/base/native');
const { C } = require('../../lib/layout/layout');

for (const engine of ENGINES) {
  describe(`Persistence: the write-ahead log [${engine} engine]`, () => {
    let t;
    const open = [];
    const track = (s) => { open.push(s); return s; };
    beforeEach(() => { t = persistTarget('wal'); });
    afterEach(() => {
      for (const s of open.splice(0)) s.close();
      t.cleanup();
    });

    const create = (persist = {}, extra = {}) => track(Store.create({ name: t.name, size: 1 << 22, engine, ...extra, persist: { dir: t.dir, sync: 'none', ...persist } }));

    it('rebuilds the store from the log after the segment is gone: every kind of write', () => {
      const s = create();
      s.set('a', 'str', 'hello wörld');
      s.set('a', 'obj', { x: [1, 2, { y: null }] });
      s.set('a', 'bin', Buffer.from([0, 1, 255]));
      s.set('a', 'gone', 1);
      assert.strictEqual(s.delete('a', 'gone'), true);
      assert.strictEqual(s.delete('a', 'never'), false);
      s.setMany('b', [['k1', 1], ['k2', 2]]);
      s.set('c', 'x', 'before clear');
      assert.strictEqual(s.clear('c'), 1);
      s.set('c', 'y', 'after clear');
      s.namespace('d').set('v', 'through a view');
      const want = Object.fromEntries(['a', 'b', 'c', 'd'].map((ns) => [ns, contents(s, ns)]));
      s.close();
      const r = track(recover(t.name, t.dir, engine));
      for (const ns of Object.keys(want)) assert.deepStrictEqual(contents(r, ns), want[ns], ns);
      assert.ok(Buffer.isBuffer(r.get('a', 'bin')));
      const rec = r.persistence.recovery;
      assert.strictEqual(rec.records, 11);
      assert.strictEqual(rec.cutBytes, 0);
      assert.strictEqual(rec.reason, null);
      assert.deepStrictEqual(r.verify().ok, true);
    });

    it('a closed handle of a persisted store answers persistence with ERR_CLOSED, not as a store without persist', async () => {
      const s = create();
      s.set('n', 'k', 1);
      assert.strictEqual(s.persistence.dir, t.dir);
      s.close();
      assert.throws(() => s.persistence, { code: 'ERR_CLOSED' });
      assert.throws(() => s.checkpoint(), { code: 'ERR_CLOSED' });
      await assert.rejects(s.flush(), { code: 'ERR_CLOSED' });
      await assert.rejects(s.setDurable('n', 'k', 2), { code: 'ERR_CLOSED' });
    });

    it('attaches without replaying while the segment exists, and keeps logging after a recovery', () => {
      const s = create();
      s.set('n', 'k', 1);
      const s2 = track(Store.open({ name: t.name, engine, persist: { dir: t.dir } }));
      assert.strictEqual(s2.persistence.recovery, null);
      assert.strictEqual(s2.get('n', 'k'), 1);
      s2.set('n', 'k2', 2);
      s.close();
      s2.close();
      const r = track(recover(t.name, t.dir, engine));
      r.set('n', 'k3', 3);
      r.close();
      const r2 = track(recover(t.name, t.dir, engine));
      assert.deepStrictEqual(contents(r2, 'n'), [['k', 1], ['k2', 2], ['k3', 3]]);
      assert.strictEqual(r2.persistence.recovery.records, 3);
    });

    it('a recovery syncs the log it replayed before it calls it durable (records no sync ever wrote)', () => {
      const s = create(); // sync 'none': nothing syncs these records
      for (let i = 0; i < 100; i++) s.set('n', `k${i}`, i);
      assert.strictEqual(s.persistence.durable, 0);
      s.close();
      // The segment removed without a reboot: the log is read back from the page cache.
      const synced = [];
      const real = fs.fdatasyncSync;
      fs.fdatasyncSync = (fd) => {
        synced.push(fs.fstatSync(fd).ino);
        return real(fd);
      };
      let r;
      try {
        r = track(recover(t.name, t.dir, engine));
      } finally {
        fs.fdatasyncSync = real;
      }
      assert.strictEqual(r.persistence.recovery.records, 100);
      assert.strictEqual(r.persistence.durable, r.persistence.tail);
      assert.ok(synced.includes(fs.statSync(logFile(t.dir)).ino), 'the replayed log file was synced');
    });

    it('writes the log docs/format.md §16 describes (an independent reader agrees with the store)', () => {
      const s = create();
      const expiresAt = Date.now() + 3600000;
      s.set('ns', 'plain', 'v1');
      s.set('ns', 'ttl', 'v2', { expiresAt });
      s.set('ns', 'json', { a: 1 });
      s.set('other', 'b', new Uint8Array([7, 8, 9]));
      s.delete('ns', 'plain');
      s.set('other', 'x', 1);
      s.clear('other');
      const log = readLog(logFile(t.dir));
      assert.deepStrictEqual(log.records.map((r) => r.type), ['set', 'set', 'set', 'set', 'delete', 'set', 'clear']);
      assert.strictEqual(log.records[1].expiresAt, expiresAt);
      assert.strictEqual(log.records[0].expiresAt, 0);
      assert.deepStrictEqual(log.records.map((r) => r.encoding), [1, 1, 2, 0, 0, 2, 0]);
      assert.strictEqual(log.end, s.persistence.tail);
      // After the records: zeros only (the file grows ahead of its records, docs/format.md §16).
      const bytes = fs.readFileSync(logFile(t.dir));
      assert.ok(bytes.length >= 64 + log.end);
      assert.ok(bytes.subarray(64 + log.end).every((b) => b === 0));
      const state = replay(log.records);
      for (const ns of ['ns', 'other']) {
        assert.deepStrictEqual([...state.get(ns)].sort(), contents(s, ns), ns);
      }
    });

    it('a value whose expiresAt has passed is not brought back by a recovery', () => {
      const s = create();
      s.set('n', 'k', 'old');
      s.set('n', 'k', 'expiring', { expiresAt: Date.now() + 50 });
      s.set('n', 'keep', 'x', { ttl: 3600000 });
      s.close();
      const until = Date.now() + 60;
      while (Date.now() < until) { /* let the expiry pass */ }
      const r = track(recover(t.name, t.dir, engine));
      assert.strictEqual(r.get('n', 'k'), undefined);
      assert.strictEqual(r.get('n', 'keep'), 'x');
    });

    it('a write the store refuses (ERR_STORE_FULL) is not logged', () => {
      const s = create({}, { maxEntries: 2 });
      s.set('n', 'a', 1);
      s.set('n', 'b', 2);
      assert.throws(() => s.set('n', 'c', 3), { code: 'ERR_STORE_FULL' });
      s.set('n', 'a', 10); // an overwrite needs no new entry
      const log = readLog(logFile(t.dir));
      assert.deepStrictEqual(log.records.map((r) => r.key), ['a', 'b', 'a']);
      s.close();
      const r = track(recover(t.name, t.dir, engine));
      assert.deepStrictEqual(contents(r, 'n'), [['a', 10], ['b', 2]]);
    });

    it("a delete whose record cannot be written, and whose room another writer took meanwhile, throws the log's error; the store refuses writes until recovered", () => {
      const s = create({}, { maxEntries: 2 });
      s.set('n', 'a', 1);
      s.set('n', 'b', 2);
      // A handle that does not log, standing for another process's writer between the delete's
      // store write and its put-back.
      const other = track(Store.open({ name: t.name, engine }));
      const { mapped, writeSync } = io;
      io.mapped = false;
      let taken = false;
      io.writeSync = () => {
        if (!taken) other.set('n', 'c', 3); // takes the entry the delete freed
        taken = true;
        throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO', errno: -5, syscall: 'write' });
      };
      let err = null;
      try {
        s.delete('n', 'a');
      } catch (e) {
        err = e;
      } finally {
        Object.assign(io, { mapped, writeSync });
      }
      assert.strictEqual(err?.code, 'ERR_PERSIST_IO', err?.message);
      assert.strictEqual(err.undoError.code, 'ERR_STORE_FULL');
      // The store no longer matches its log: no handle writes until a recovery rebuilds it.
      assert.throws(() => s.set('n', 'b', 20), { code: 'ERR_PERSIST_IO' });
      s.close();
      other.close();
      const r = track(recover(t.name, t.dir, engine));
      assert.deepStrictEqual(contents(r, 'n'), [['a', 1], ['b', 2]]);
      r.set('n', 'b', 20);
      assert.strictEqual(r.get('n', 'b'), 20);
    });

    it('bad arguments of a persisted store throw before anything is logged', () => {
      const s = create();
      assert.throws(() => s.set('n', 5, 1), TypeError);
      assert.throws(() => s.set('', 'k', 1), RangeError);
      assert.throws(() => s.set('n', 'k', undefined), TypeError);
      assert.throws(() => s.set('n', 'x'.repeat(1025), 1), { code: 'ERR_KEY_TOO_LONG' });
      assert.throws(() => s.set('n', 'k', 'v'.repeat(C.MAX_VALUE_BYTES + 1)), { code: 'ERR_VALUE_TOO_LONG' });
      assert.throws(() => s.set('n', 'k', 1, { ttl: -1 }), RangeError);
      assert.throws(() => s.set('n', 'k', 1, { ttl: 5, expiresAt: 5 }), TypeError);
      assert.throws(() => s.set('n', 'k', 1, { tll: 5 }), TypeError);
      assert.throws(() => s.setMany('n', [['ok', 1], ['bad', undefined]]), TypeError);
      assert.throws(() => s.delete('n', 7), TypeError);
      assert.strictEqual(readLog(logFile(t.dir)).records.length, 0);
      assert.strictEqual(s.get('n', 'ok'), undefined);
    });

    it('setMany() runs each value\'s toJSON once, and logs and stores what that call gave', () => {
      const s = create();
      let calls = 0;
      // Each call gives a different text: a value encoded twice would store one and log another.
      const counted = (i) => ({ toJSON() { calls += 1; return { i, call: calls }; } });
      assert.strictEqual(s.setMany('m', [['a', counted(0)], ['b', 'text'], ['c', counted(2)], ['d', Buffer.from([9])]]), 4);
      assert.strictEqual(calls, 2);
      assert.deepStrictEqual(s.get('m', 'a'), { i: 0, call: 1 });
      assert.deepStrictEqual(s.get('m', 'c'), { i: 2, call: 2 });
      s.close();
      open.length = 0;
      const r = track(recover(t.name, t.dir, engine));
      assert.deepStrictEqual(r.get('m', 'a'), { i: 0, call: 1 });
      assert.strictEqual(r.get('m', 'b'), 'text');
      assert.deepStrictEqual(r.get('m', 'c'), { i: 2, call: 2 });
      assert.deepStrictEqual([...r.get('m', 'd')], [9]);
    });

    it('flush() and setDurable() resolve with the write on stable storage, in every mode', async () => {
      for (const sync of ['none', 'interval', 'always']) {
        const sub = persistTarget(`wal-${sync}`);
        try {
          const s = Store.create({ name: sub.name, size: 1 << 22, engine, persist: { dir: sub.dir, sync } });
          try {
            s.set('n', 'a', 1);
            await s.flush();
            assert.strictEqual(s.persistence.durable, s.persistence.tail);
            const p = s.setDurable('n', 'b', 2);
            assert.ok(p instanceof Promise);
            assert.strictEqual(await p, s);
            assert.strictEqual(s.persistence.durable, s.persistence.tail);
            assert.strictEqual(s.persistence.sync, sync);
          } finally {
            s.close();
          }
          const r = recover(sub.name, sub.dir, engine);
          assert.deepStrictEqual(contents(r, 'n'), [['a', 1], ['b', 2]]);
          r.close();
        } finally {
          sub.cleanup();
        }
      }
    });

    it('setDurable() calls in flight share syncs: those of one tick take one, those made while it runs one more', async () => {
      const s = create();
      const real = io.fdatasync;
      let syncs = 0;
      io.fdatasync = (fd, cb) => {
        syncs += 1;
        real(fd, cb);
      };
      try {
        const first = Array.from({ length: 64 }, (_, i) => s.setDurable('n', `a${i}`, i));
        // The first sync has started (a microtask) and cannot have ended (a thread-pool callback).
        await Promise.resolve();
        const second = Array.from({ length: 64 }, (_, i) => s.setDurable('n', `b${i}`, i));
        // One promise per sync, resolving to the store, shared by every call that joined it.
        assert.strictEqual(new Set(first).size, 1);
        assert.strictEqual(new Set(second).size, 1);
        assert.notStrictEqual(first[0], second[0]);
        for (const v of await Promise.all([...first, ...second])) assert.strictEqual(v, s);
        assert.strictEqual(syncs, 2);
        assert.strictEqual(s.persistence.durable, s.persistence.tail);
        // A handle closed while a sync is queued still runs it before its file is closed.
        const last = s.setDurable('n', 'c', 1);
        s.close();
        assert.strictEqual(await last, s);
        assert.strictEqual(syncs, 3);
      } finally {
        io.fdatasync = real;
      }
      const r = track(recover(t.name, t.dir, engine));
      assert.strictEqual(r.count('n'), 129);
    });

    it('after a failed fdatasync of one handle, a later successful sync of another proves nothing durable: its flush is refused too', async () => {
      const a = create();
      const b = track(Store.open({ name: t.name, engine, persist: { dir: t.dir } }));
      b.set('n', 'b', 1); // appended, not yet synced
      a.set('n', 'a', 1);
      const before = a.persistence.durable;
      const real = io.fdatasync;
      io.fdatasync = (fd, cb) => setImmediate(() => cb(Object.assign(new Error('EIO: i/o error, fdatasync'), { errno: -5, code: 'EIO', syscall: 'fdatasync' })));
      try {
        await assert.rejects(a.flush(), { name: 'ShmError', code: 'ERR_PERSIST_IO' });
      } finally {
        io.fdatasync = real;
      }
      // The kernel may have dropped b's pages with a's: an fdatasync of b's could succeed, yet
      // would not prove them durable. None is issued, and the flush is refused.
      let syncs = 0;
      io.fdatasync = (fd, cb) => {
        syncs += 1;
        real(fd, cb);
      };
      try {
        await assert.rejects(b.flush(), { name: 'ShmError', code: 'ERR_PERSIST_IO' });
      } finally {
        io.fdatasync = real;
      }
      assert.strictEqual(syncs, 0);
      assert.strictEqual(b.persistence.durable, before);
      assert.throws(() => b.set('n', 'c', 1), { name: 'ShmError', code: 'ERR_PERSIST_IO' });
    });

    // The zero writes of the log file while `fn()` runs, as [pos, len].
    const zeroWritesOf = (fn) => {
      const real = io.writeSync;
      const zeroWrites = [];
      io.writeSync = (fd, buf, off, len, pos) => {
        if (len > 0 && buf.subarray(off, off + len).every((b) => b === 0)) zeroWrites.push([pos, len]);
        return real(fd, buf, off, len, pos);
      };
      try {
        fn();
      } finally {
        io.writeSync = real;
      }
      return zeroWrites;
    };

    it('grows the log file with zeros written one page at a time when it syncs, so that a record dirties its page, not a large folio', () => {
      // 'interval' with a long interval: the sets sync nothing themselves.
      const s = create({ sync: 'interval', intervalMs: 60000 });
      const zeroWrites = zeroWritesOf(() => {
        // More than one growth of the file: its first, and one past WAL_PREALLOC_BYTES.
        const value = 'x'.repeat(1000);
        for (let i = 0; s.persistence.tail < C.WAL_PREALLOC_BYTES + value.length; i++) s.set('n', `k${i}`, value);
      });
      assert.ok(zeroWrites.length >= 2 * (C.WAL_PREALLOC_BYTES / C.WAL_ZERO_WRITE_BYTES) - 1);
      for (const [pos, len] of zeroWrites) {
        assert.ok(len <= C.WAL_ZERO_WRITE_BYTES, `a zero write of ${len} bytes`);
        assert.strictEqual(Math.floor(pos / C.WAL_ZERO_WRITE_BYTES), Math.floor((pos + len - 1) / C.WAL_ZERO_WRITE_BYTES), `the zero write at ${pos} crosses a page`);
      }
      assert.strictEqual(fs.statSync(logFile(t.dir)).size % C.WAL_PREALLOC_BYTES, 0);
    });

    // Sets past two growths of a 'none' log (256 keys, each written again and again), with the
    // log's allocations and zero writes recorded; then the recovered store holds the last value
    // of each key. `allocate` stands in for io.allocate.
    const noneGrowths = (allocate) => {
      const s = create();
      const value = 'x'.repeat(1000);
      let n = 0;
      const allocations = [];
      const real = io.allocate;
      io.allocate = (fd, pos, len) => {
        const err = allocate(fd, pos, len);
        allocations.push([pos, len, err]);
        return err;
      };
      let zeroWrites;
      try {
        zeroWrites = zeroWritesOf(() => {
          for (; s.persistence.tail < C.WAL_PREALLOC_NONE_BYTES + value.length; n++) s.set('n', `k${n % 256}`, `${n}${value}`);
        });
      } finally {
        io.allocate = real;
      }
      const size = fs.statSync(logFile(t.dir)).size;
      const blocks = fs.statSync(logFile(t.dir)).blocks;
      s.close();
      const r = track(recover(t.name, t.dir, engine));
      assert.strictEqual(r.count('n'), 256);
      for (let i = n - 256; i < n; i++) assert.strictEqual(r.get('n', `k${i % 256}`), `${i}${value}`);
      return { allocations, zeroWrites, size, blocks };
    };
    const growths = 2;

    (io.allocate ? it : it.skip)("with sync 'none' grows the log file by WAL_PREALLOC_NONE_BYTES with allocations, not zeros, and every write is in the log", function () {
      const { allocations, zeroWrites, size, blocks } = noneGrowths(io.allocate);
      if (allocations.some(([, , err]) => err !== 0)) this.skip(); // no fallocate where the test's files are
      // The first growth from the file header on, the second from the first's end.
      assert.deepStrictEqual(allocations.map(([pos, len]) => [pos, len]),
        [[C.WAL_FILE_HEADER_SIZE, C.WAL_PREALLOC_NONE_BYTES - C.WAL_FILE_HEADER_SIZE], [C.WAL_PREALLOC_NONE_BYTES, C.WAL_PREALLOC_NONE_BYTES]]);
      assert.deepStrictEqual(zeroWrites, []);
      assert.strictEqual(size, growths * C.WAL_PREALLOC_NONE_BYTES);
      // Allocated, not sparse (st_blocks counts 512-byte units).
      assert.ok(blocks * 512 >= size, `${blocks} blocks for ${size} bytes`);
    });

    it("with sync 'none' and no allocation (a file system without fallocate) grows the log file by WAL_PREALLOC_NONE_BYTES in zero writes of WAL_PREALLOC_BYTES, and every write is in the log", () => {
      const EOPNOTSUPP = 95;
      const { allocations, zeroWrites, size } = noneGrowths(() => EOPNOTSUPP);
      assert.strictEqual(allocations.length, io.allocate ? growths : 0);
      assert.strictEqual(zeroWrites.length, growths * (C.WAL_PREALLOC_NONE_BYTES / C.WAL_PREALLOC_BYTES));
      for (const [pos, len] of zeroWrites) {
        assert.ok(len <= C.WAL_PREALLOC_BYTES, `a zero write of ${len} bytes`);
        assert.strictEqual(pos % C.WAL_PREALLOC_BYTES + len <= C.WAL_PREALLOC_BYTES, true, `the zero write at ${pos} crosses a MiB`);
      }
      assert.strictEqual(size, growths * C.WAL_PREALLOC_NONE_BYTES);
    });

    it("sync 'always' acknowledges a write only once it is durable", () => {
      const s = create({ sync: 'always' });
      for (let i = 0; i < 20; i++) {
        s.set('n', `k${i}`, i);
        assert.strictEqual(s.persistence.durable, s.persistence.tail);
      }
      s.delete('n', 'k0');
      assert.strictEqual(s.persistence.durable, s.persistence.tail);
    });

    it("sync 'interval' syncs within the interval while writing, and on close", () => {
      const s = create({ sync: 'interval', intervalMs: 5 });
      s.set('n', 'first', 1);
      const until = Date.now() + 20;
      while (Date.now() < until) { /* let the interval pass */ }
      s.set('n', 'second', 2); // the write after the interval syncs
      assert.strictEqual(s.persistence.durable, s.persistence.tail);
      s.set('n', 'third', 3);
      const { dir } = s.persistence;
      s.close();
      const c = track(Store.open({ name: t.name, engine, persist: { dir } }));
      assert.strictEqual(c.persistence.durable, c.persistence.tail);
      assert.strictEqual(c.persistence.intervalMs, 5);
    });
  });
}

describe('Persistence: options and errors', () => {
  let t;
  beforeEach(() => { t = persistTarget('walopt'); });
  afterEach(() => t.cleanup());

  it('bad persist options are TypeErrors / RangeErrors that name them', () => {
    const base = { name: t.name, size: 1 << 22 };
    assert.throws(() => Store.create({ ...base, persist: null }), TypeError);
    assert.throws(() => Store.create({ ...base, persist: {} }), /options\.persist\.dir/);
    assert.throws(() => Store.create({ ...base, persist: { dir: t.dir, sync: 'sometimes' } }), RangeError);
    assert.throws(() => Store.create({ ...base, persist: { dir: t.dir, sync: 'always', intervalMs: 5 } }), TypeError);
    assert.throws(() => Store.create({ ...base, persist: { dir: t.dir, sync: 'interval', intervalMs: 0 } }), RangeError);
    assert.throws(() => Store.create({ ...base, persist: { dir: t.dir, dri: 1 } }), TypeError);
    assert.throws(() => Store.create({ buffer: new SharedArrayBuffer(1 << 22), persist: { dir: t.dir } }), TypeError);
    assert.throws(() => Store.open({ name: t.name, persist: { dir: t.dir, sync: 'none' } }), TypeError);
    assert.strictEqual(fs.existsSync(`${t.dir}/control`), false);
  });

  it('create refuses a directory that holds a store; open refuses one that holds none', () => {
    assert.throws(() => Store.open({ name: t.name, persist: { dir: t.dir } }), { code: 'ERR_SHM_NOT_FOUND' });
    const s = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir } });
    s.close();
    reboot(t.name);
    assert.throws(() => Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir } }), { code: 'ERR_SHM_EXISTS' });
  });

  it('a failed create leaves no control file or log behind', () => {
    const s = Store.create({ name: t.name, size: 1 << 22 });
    try {
      assert.throws(() => Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir } }), { code: 'ERR_SHM_EXISTS' });
      assert.deepStrictEqual(fs.readdirSync(t.dir), []);
    } finally {
      s.close();
    }
  });

  it('a damaged control segment or log header is refused with a stable code', () => {
    const s = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir } });
    s.set('n', 'k', 1);
    s.close();
    const log = logFile(t.dir);
    const saved = fs.readFileSync(log);
    const bad = Buffer.from(saved);
    bad[20] ^= 1; // createdMs: covered by the header checksum
    fs.writeFileSync(log, bad);
    reboot(t.name);
    assert.throws(() => Store.open({ name: t.name, persist: { dir: t.dir } }), (e) => e instanceof ShmError && e.code === 'ERR_PERSIST_CORRUPT' && /checksum/.test(e.message));
    fs.writeFileSync(log, saved);
    const ctl = `${t.dir}/control`;
    const c = fs.readFileSync(ctl);
    c[0] ^= 0xff;
    fs.writeFileSync(ctl, c);
    assert.throws(() => Store.open({ name: t.name, persist: { dir: t.dir } }), { code: 'ERR_PERSIST_CORRUPT' });
    c[0] ^= 0xff;
    fs.writeFileSync(ctl, c);
    const r = Store.open({ name: t.name, persist: { dir: t.dir } });
    assert.strictEqual(r.get('n', 'k'), 1);
    r.close();
  });

  it('a store without persist has no persistence, flush() resolves and setDurable() refuses', async () => {
    const s = Store.create({ buffer: new SharedArrayBuffer(1 << 22) });
    assert.strictEqual(s.persistence, null);
    await s.flush();
    await assert.rejects(s.setDurable('n', 'k', 1), { name: 'ShmError', code: 'ERR_NOT_PERSISTED' });
    // Bad arguments reject too (setDurable never throws): a persisted store's as well.
    const p = persistTarget('rej');
    try {
      const d = Store.create({ name: p.name, size: 1 << 22, persist: { dir: p.dir, sync: 'none' } });
      try {
        await assert.rejects(d.setDurable('n', 42, 1), TypeError);
        await assert.rejects(d.setDurable('n', 'k', undefined), TypeError);
        assert.strictEqual(await d.setDurable('n', 'k', 1), d);
      } finally {
        d.close();
      }
    } finally {
      p.cleanup();
    }
    s.close();
  });
});

(native.addon ? describe : describe.skip)('Persistence: allocating log space (the addon)', () => {
  it('allocateLogSpace grows a file with allocated zeros, and refuses bad arguments without a crash', () => {
    const t = persistTarget('alloc');
    const file = `${t.dir}/f`;
    const fd = fs.openSync(file, 'w+');
    try {
      const err = native.addon.allocateLogSpace(fd, 4096, 1 << 20);
      if (err === 0) {
        const st = fs.fstatSync(fd);
        assert.strictEqual(st.size, 4096 + (1 << 20));
        assert.ok(st.blocks * 512 >= 1 << 20);
        assert.ok(fs.readFileSync(file).every((b) => b === 0));
      } else {
        assert.strictEqual(typeof err, 'number'); // an errno: the file system has no fallocate
      }
      assert.ok(native.addon.allocateLogSpace(fd, 0, 2 ** 53 - 1) > 0); // EFBIG (or EINVAL), not a crash
      assert.throws(() => native.addon.allocateLogSpace(fd, 0), TypeError);
      assert.throws(() => native.addon.allocateLogSpace('3', 0, 1), TypeError);
      assert.throws(() => native.addon.allocateLogSpace(fd, -1, 1), RangeError);
      assert.throws(() => native.addon.allocateLogSpace(fd, 0, 0), RangeError);
      assert.throws(() => native.addon.allocateLogSpace(fd, 0.5, 1), RangeError);
    } finally {
      fs.closeSync(fd);
      t.cleanup();
    }
  });
});
