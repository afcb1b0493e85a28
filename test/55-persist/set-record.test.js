'use strict';
// The JavaScript engine's logged set (lib/persist/set-record.js): its records must be byte for
// byte those of encodeRecordInto + sealRecord (whose checksums equal the addon's CRC32C), its
// stripe that of Control.stripeOf, and both engines must leave the expiry a set gave its entry in
// the `out` array (lib/store/contract.js), which the logged set records.
const assert = require('assert');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { Store } = require('../../index');
const native = require('../../lib/base/native');
const { C, S, W } = require('../../lib/layout/layout');
const { acquiredWord, releasedWord } = require('../../lib/ownership/lockword');
const { SetRecord } = require('../../lib/persist/set-record');
const { Control } = require('../../lib/persist/control');
const { encodeRecordInto, sealRecord, parseRecord, SMALL_RECORD } = require('../../lib/persist/record');
const { nativeCrc32c } = require('../../lib/persist/crc32c');
const { OUT_EXPIRY, OUT_WORDS } = require('../../lib/store/contract');
const { persistTarget, recover, contents } = require('../helpers/persist');
const { readLog } = require('../helpers/independent-wal-reader');
const { runNode } = require('../helpers/process');

const HOUR = 3600000;
const R = S.WAL_RECORD;
const WORD = Uint32Array.BYTES_PER_ELEMENT;
const ALPHABETS = ['abcxyz', 'äöü€', '🔑😀', 'a\u0000b', 'ÿ'];

// A string of whole characters (no lone surrogates) of about 1..maxUnits UTF-16 units.
function randomString(maxUnits) {
  const abc = Array.from(`${ALPHABETS[crypto.randomInt(ALPHABETS.length)]}ab`);
  let s = '';
  const n = crypto.randomInt(1, maxUnits + 1);
  while (s.length < n) s += abc[crypto.randomInt(abc.length)];
  return s;
}

describe('Persistence: the JavaScript logged set record', () => {
  it('encodes and seals exactly the bytes of encodeRecordInto + sealRecord, for every length and name', () => {
    const rec = new SetRecord();
    const dst = new Int32Array(C.MAX_INLINE_VALUE_BYTES);
    const ref = Buffer.alloc(SMALL_RECORD);
    for (let i = 0; i < 600; i++) {
      // Names repeat now and then (the record keeps a namespace's bytes), long ones go through the
      // encoder, values of every length cover each tail of the checksum's word loop.
      const ns = i % 3 === 0 ? 'same' : randomString(i % 7 === 0 ? 80 : 12);
      const key = randomString(i % 11 === 0 ? 300 : 20);
      const binary = i % 2 === 0;
      const value = binary ? crypto.randomBytes(crypto.randomInt(0, 300)) : randomString(crypto.randomInt(1, 200));
      const enc = binary ? C.ENC_BINARY : C.ENC_UTF8;
      const lsn = crypto.randomInt(0, 2 ** 40) * C.WAL_RECORD_ALIGN;
      const expiresAt = i % 4 === 0 ? 0 : Date.now() + crypto.randomInt(0, 2 ** 40);
      assert.ok(SetRecord.fits(ns, key, value));
      rec.encode(ns, key, value, enc);
      assert.strictEqual(rec.stripe, Control.stripeOf(ns, key), `stripe of ${JSON.stringify([ns, key])}`);
      const at = crypto.randomInt(0, 16) * 2;
      dst.fill(-1);
      rec.seal(lsn, expiresAt, dst, at);
      const want = encodeRecordInto(ref, C.WAL_REC_SET, ns, key, value, enc, expiresAt);
      sealRecord(want, lsn);
      const got = Buffer.from(dst.buffer, at * Int32Array.BYTES_PER_ELEMENT, rec.size);
      assert.strictEqual(rec.size, want.length);
      assert.ok(got.equals(want), `record ${i} differs`);
      const parsed = parseRecord(got, 0, lsn);
      assert.strictEqual(parsed.key, key);
      assert.strictEqual(parsed.expiresAt, expiresAt);
      // Nothing past the record was touched.
      assert.strictEqual(dst[at + rec.size / Int32Array.BYTES_PER_ELEMENT], -1);
      if (nativeCrc32c) {
        // The checksum covers the record from its length field to its end (format.md §16).
        const length = got.readUInt32LE(R.LENGTH);
        assert.strictEqual(got.readUInt32LE(R.CHECKSUM), nativeCrc32c(got.subarray(R.LENGTH, length)));
      }
    }
  });

  (native.addon ? it : it.skip)('is sealed by the addon (createRecordSealer) into exactly the bytes SetRecord#seal writes, and ends the append', () => {
    const rec = new SetRecord();
    // A control segment's bytes: the sealer moves its tail and releases its append lock.
    const control = new Uint8Array(new SharedArrayBuffer(C.PERSIST_CONTROL_BYTES));
    const u32 = new Uint32Array(control.buffer);
    const u64 = new BigUint64Array(control.buffer);
    const APPEND = C.PERSIST_LOG_OFFSET / WORD + W.PERSIST_LOG.APPEND_LOCK;
    const TAIL64 = (C.PERSIST_LOG_OFFSET / WORD + W.PERSIST_LOG.TAIL) / 2;
    const SLOT = 3;
    const out = new Int32Array(new SharedArrayBuffer(OUT_WORDS * Int32Array.BYTES_PER_ELEMENT));
    const sealer = native.addon.createRecordSealer(rec.u8, control, SLOT, out);
    const map = new Uint8Array(new SharedArrayBuffer(4096));
    const dst = new Int32Array(map.length / Int32Array.BYTES_PER_ELEMENT);
    assert.throws(() => sealer.seal(0, 0, 0), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }); // no mapping yet
    sealer.map(map, 0);
    for (let i = 0; i < 400; i++) {
      const ns = randomString(12);
      const key = randomString(i % 11 === 0 ? 300 : 20);
      const binary = i % 2 === 0;
      const value = binary ? crypto.randomBytes(crypto.randomInt(0, 300)) : randomString(crypto.randomInt(1, 200));
      const lsn = (i % 5 === 0 ? 2 ** 44 : 0) + crypto.randomInt(0, 2 ** 40) * C.WAL_RECORD_ALIGN;
      const expiresAt = i % 4 === 0 ? 0 : Date.now() + crypto.randomInt(0, 2 ** 40);
      const at = crypto.randomInt(0, 64) * C.WAL_RECORD_ALIGN;
      rec.encode(ns, key, value, binary ? C.ENC_BINARY : C.ENC_UTF8);
      map.fill(0xee);
      // The append lock as this slot holds it (every other record), or as another slot does.
      const holder = i % 2 === 0 ? SLOT : SLOT + 1;
      const held = acquiredWord(u32[APPEND], holder);
      u32[APPEND] = held;
      sealer.seal(lsn, expiresAt, at);
      const got = Buffer.from(map.subarray(at, at + rec.size));
      rec.seal(lsn, expiresAt, dst, at / Int32Array.BYTES_PER_ELEMENT);
      assert.ok(got.equals(Buffer.from(dst.buffer, at, rec.size)), `record ${i} differs`);
      assert.strictEqual(parseRecord(got, 0, lsn).key, key);
      // Nothing around the record was touched.
      if (at > 0) assert.strictEqual(map[at - 1], 0xee);
      assert.strictEqual(map[at + rec.size], 0xee);
      assert.strictEqual(u64[TAIL64], BigInt(lsn + rec.size), `record ${i}: the tail passed it`);
      // Released when this slot held it; a lock another slot holds is left alone.
      assert.strictEqual(u32[APPEND], holder === SLOT ? releasedWord(held) : held);
      u32[APPEND] = releasedWord(held);
    }
    // A record past the mapping's end, or bad arguments: an error, and nothing written, the tail
    // where it was and the lock still held.
    map.fill(0xee);
    const tail = u64[TAIL64];
    const held = acquiredWord(u32[APPEND], SLOT);
    u32[APPEND] = held;
    assert.throws(() => sealer.seal(8, 0, map.length - 8), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => sealer.seal(-8, 0, 0), { name: 'TypeError' });
    assert.throws(() => sealer.seal(8, 0.5, 0), { name: 'TypeError' });
    assert.ok(map.every((b) => b === 0xee));
    assert.strictEqual(u64[TAIL64], tail);
    assert.strictEqual(u32[APPEND], held);
    sealer.map(null);
    assert.throws(() => sealer.seal(8, 0, 0), { name: 'RangeError' });
    assert.strictEqual(u32[APPEND], held);
    // The sealer's own arguments.
    assert.throws(() => native.addon.createRecordSealer(rec.u8), TypeError);
    assert.throws(() => native.addon.createRecordSealer(rec.u8, new Uint8Array(16), SLOT, out), TypeError);
    assert.throws(() => native.addon.createRecordSealer(rec.u8, control, SLOT, new Int32Array(2)), TypeError);
    assert.throws(() => native.addon.createRecordSealer(rec.u8, control, 0, out), RangeError);
    assert.throws(() => native.addon.createRecordSealer(rec.u8, control, C.OWNER_SLOTS, out), RangeError);
    assert.throws(() => sealer.map(map), TypeError);
    assert.throws(() => sealer.map(map, -1), TypeError);
  });

  (native.addon ? it : it.skip)('createRecordSealer, its map and prefaultLogSpace refuse views a transfer could detach and free under them', () => {
    const rec = new SetRecord();
    const control = new Uint8Array(new SharedArrayBuffer(C.PERSIST_CONTROL_BYTES));
    const out = new Int32Array(new SharedArrayBuffer(OUT_WORDS * Int32Array.BYTES_PER_ELEMENT));
    const plain = (n) => new Uint8Array(n);
    const refused = { name: 'TypeError' };
    assert.throws(() => native.addon.createRecordSealer(plain(rec.u8.length), control, 1, out), refused);
    assert.throws(() => native.addon.createRecordSealer(rec.u8, plain(C.PERSIST_CONTROL_BYTES), 1, out), refused);
    assert.throws(() => native.addon.createRecordSealer(rec.u8, control, 1, new Int32Array(OUT_WORDS)), refused);
    assert.throws(() => native.addon.createRecordSealer(rec.u8, new ArrayBuffer(C.PERSIST_CONTROL_BYTES), 1, out), refused);
    const sealer = native.addon.createRecordSealer(rec.u8, control, 1, out);
    assert.throws(() => sealer.map(plain(4096), 0), refused);
    assert.throws(() => native.addon.prefaultLogSpace(plain(4096), 0, 4096), refused);
    // A DataView or typed array over shared memory is taken.
    sealer.map(new DataView(new SharedArrayBuffer(4096)), 0);
    sealer.map(null);
  });

  (native.addon ? it : it.skip)('a sealer survives the detach of a buffer the caller gave it (a child process)', async () => {
    // Before the sealer refused plain ArrayBuffers, it kept a pointer into this control buffer;
    // transferring the buffer away and collecting it left the seal writing freed memory (SIGSEGV).
    const script = `
      const native = require(${JSON.stringify(require.resolve('../../lib/base/native'))});
      const { C, S } = require(${JSON.stringify(require.resolve('../../lib/layout/layout'))});
      const scratch = new Uint8Array(new SharedArrayBuffer(4096));
      new DataView(scratch.buffer).setUint32(S.WAL_RECORD.LENGTH, S.WAL_RECORD.SIZE, true);
      let control = new Uint8Array(C.PERSIST_CONTROL_BYTES);
      const out = new Uint8Array(new SharedArrayBuffer(64));
      let sealer;
      try {
        sealer = native.addon.createRecordSealer(scratch, control, 1, out);
      } catch (err) {
        process.stdout.write(err.name);
        process.exit(0);
      }
      sealer.map(new Uint8Array(new SharedArrayBuffer(65536)), 0);
      structuredClone(control.buffer, { transfer: [control.buffer] });
      control = null;
      global.gc();
      global.gc();
      sealer.seal(0, 0, 0);
      process.stdout.write('sealed');
    `;
    const r = await runNode('-e', [script], { nodeArgs: ['--expose-gc'] });
    assert.strictEqual(r.signal, null, r.stderr);
    assert.strictEqual(r.code, 0, r.stderr);
    assert.strictEqual(r.stdout, 'TypeError');
  });

  (native.addon ? it : it.skip)("begins an append (the lock and the record's place) and puts the record with the engine's expiry, or takes nothing", () => {
    const rec = new SetRecord();
    const control = new Uint8Array(new SharedArrayBuffer(C.PERSIST_CONTROL_BYTES));
    const u32 = new Uint32Array(control.buffer);
    const u64 = new BigUint64Array(control.buffer);
    const LOG = C.PERSIST_LOG_OFFSET / WORD;
    const APPEND = LOG + W.PERSIST_LOG.APPEND_LOCK;
    const TAIL64 = (LOG + W.PERSIST_LOG.TAIL) / 2;
    const START64 = (LOG + W.PERSIST_LOG.START_LSN) / 2;
    const FILE_BYTES64 = (LOG + W.PERSIST_LOG.FILE_BYTES) / 2;
    const FAILED = C.PERSIST_RECOVERY_OFFSET / WORD + W.PERSIST_RECOVERY.FAILED;
    const stripeWord = (s) => C.PERSIST_STRIPES_OFFSET / WORD + s * (C.PERSIST_STRIPE_SIZE / WORD);
    const SLOT = 5;
    const out = new Int32Array(new SharedArrayBuffer(OUT_WORDS * Int32Array.BYTES_PER_ELEMENT));
    const sealer = native.addon.createRecordSealer(rec.u8, control, SLOT, out);
    const FILE_START = 2 ** 36;
    const map = new Uint8Array(new SharedArrayBuffer(8192));
    const dst = new Int32Array(map.length / WORD);
    rec.encode('names', 'the key', 'a value', C.ENC_UTF8);
    assert.strictEqual(sealer.begin(7), false); // no mapping
    assert.throws(() => sealer.put(), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    sealer.map(map, FILE_START);
    u64[START64] = BigInt(FILE_START);
    u64[FILE_BYTES64] = BigInt(map.length);
    let lsn = FILE_START;
    for (let i = 0; i < 20; i++) {
      rec.encode(`ns${i % 3}`, `key ${i}`, i % 2 ? 'välue'.repeat(i) : new Uint8Array(i * 3).fill(i), i % 2 ? C.ENC_UTF8 : C.ENC_BINARY);
      u64[TAIL64] = BigInt(lsn);
      const free = u32[APPEND];
      assert.strictEqual(sealer.begin(i % C.PERSIST_STRIPES), true);
      // Held by this slot from the begin on.
      assert.strictEqual(u32[APPEND], acquiredWord(free, SLOT));
      const expiresAt = i % 4 === 0 ? 0 : Date.now() + i * HOUR;
      out[OUT_EXPIRY] = expiresAt % 2 ** 32;
      out[OUT_EXPIRY + 1] = Math.floor(expiresAt / 2 ** 32);
      map.fill(0xee);
      const at = C.WAL_FILE_HEADER_SIZE + (lsn - FILE_START);
      assert.strictEqual(sealer.put(), lsn + rec.size);
      rec.seal(lsn, expiresAt, dst, at / WORD);
      assert.ok(Buffer.from(map.subarray(at, at + rec.size)).equals(Buffer.from(dst.buffer, at, rec.size)), `record ${i}`);
      assert.strictEqual(parseRecord(Buffer.from(map.subarray(at, at + rec.size)), 0, lsn).expiresAt, expiresAt);
      assert.strictEqual(map[at - 1], 0xee);
      assert.strictEqual(map[at + rec.size], 0xee);
      assert.strictEqual(u64[TAIL64], BigInt(lsn + rec.size));
      assert.strictEqual(u32[APPEND], releasedWord(acquiredWord(free, SLOT)));
      // A put is the end of one begin.
      assert.throws(() => sealer.put(), { name: 'RangeError' });
      lsn += rec.size;
    }
    // A record that no longer fits the place its begin took (a caller's bug): refused, nothing
    // written, the tail where it was and the lock released.
    const near = FILE_START + map.length - C.WAL_FILE_HEADER_SIZE - 2 * rec.size;
    u64[TAIL64] = BigInt(near);
    assert.strictEqual(sealer.begin(3), true);
    rec.encode('names', 'the key', 'x'.repeat(400), C.ENC_UTF8);
    map.fill(0xee);
    assert.throws(() => sealer.put(), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    assert.ok(map.every((b) => b === 0xee));
    assert.strictEqual(u64[TAIL64], BigInt(near));
    assert.strictEqual(u32[APPEND] & 1, 0);
    rec.encode('names', 'the key', 'a value', C.ENC_UTF8);
    // Nothing taken, and the lock free again, when the append cannot be done here.
    u64[TAIL64] = BigInt(lsn);
    const expectNone = (why, stripe = 1) => {
      const before = u32[APPEND];
      const tail = u64[TAIL64];
      assert.strictEqual(sealer.begin(stripe), false, why);
      assert.strictEqual(u32[APPEND] & 1, 0, why);
      assert.strictEqual(u64[TAIL64], tail, why);
      assert.ok(u32[APPEND] === before || u32[APPEND] === releasedWord(acquiredWord(before, SLOT)), why);
      assert.throws(() => sealer.put(), { name: 'RangeError' }, why);
    };
    u32[stripeWord(1)] = acquiredWord(0, SLOT + 1);
    expectNone('the stripe is held');
    u32[stripeWord(1)] = releasedWord(u32[stripeWord(1)]);
    assert.strictEqual(sealer.begin(1), true); // and free again: taken
    u32[APPEND] = releasedWord(u32[APPEND]);
    const other = acquiredWord(u32[APPEND], SLOT + 1);
    u32[APPEND] = other;
    assert.strictEqual(sealer.begin(2), false, 'the append lock is held by another slot');
    assert.strictEqual(u32[APPEND], other);
    u32[APPEND] = releasedWord(other);
    u32[FAILED] = 1;
    expectNone('the log failed');
    u32[FAILED] = 0;
    u64[START64] = BigInt(FILE_START + 4096);
    expectNone('a checkpoint switched the file');
    u64[START64] = BigInt(FILE_START);
    u64[FILE_BYTES64] = BigInt(C.WAL_FILE_HEADER_SIZE + (lsn - FILE_START) + rec.size - 8);
    expectNone('the record lies past the allocated file');
    u64[FILE_BYTES64] = BigInt(1 << 20);
    u64[TAIL64] = BigInt(FILE_START + map.length - C.WAL_FILE_HEADER_SIZE - 8);
    expectNone('the record lies past the mapping');
    assert.throws(() => sealer.begin(C.PERSIST_STRIPES), RangeError);
    sealer.map(null);
    expectNone('no mapping');
  });

  it('refuses a record that may not fit its scratch (the general path takes it)', () => {
    assert.strictEqual(SetRecord.fits('ns', 'k', 'x'.repeat(C.MAX_INLINE_VALUE_BYTES + 1)), false);
    assert.strictEqual(SetRecord.fits('ns', 'k', new Uint8Array(C.MAX_INLINE_VALUE_BYTES)), true);
  });

  for (const engine of native.addon ? ['js', 'native'] : ['js']) {
    it(`${engine} engine: set() leaves the expiry its entry got in out`, () => {
      const name = `shmstore-test-out-${process.pid}-${engine}`;
      const s = Store.create({ name, size: 1 << 22, engine });
      try {
        const stored = () => (s._out[OUT_EXPIRY] >>> 0) + s._out[OUT_EXPIRY + 1] * 0x100000000;
        const at = Date.now() + 5 * HOUR;
        s.set('a', 'x', 1, { expiresAt: at });
        assert.strictEqual(stored(), at);
        s.set('a', 'y', 1);
        assert.strictEqual(stored(), 0);
        s.namespace('t', { ttl: HOUR });
        const before = Date.now();
        s.set('t', 'z', 'v');
        assert.ok(stored() >= before + HOUR && stored() <= Date.now() + HOUR);
        s.set('t', 'never', 'v', { ttl: Infinity });
        assert.strictEqual(stored(), 0);
      } finally {
        s.close();
        require('../../index').Segment.unlink({ name });
      }
    });
  }

  it('a persisted JS store stores each value byte for byte as a plain store does', () => {
    const t = persistTarget('setrec-bytes');
    const plainName = `${t.name}-plain`;
    const p = Store.create({ name: t.name, size: 1 << 24, engine: 'js', persist: { dir: t.dir, sync: 'none' } });
    const q = Store.create({ name: plainName, size: 1 << 24, engine: 'js' });
    try {
      // Values below and above the engine's byte-loop bound (64), non-ASCII and astral ones,
      // binary and JSON-encoded ones, a lone surrogate; one key written again with a value of
      // another length and then of the same length.
      const values = ['v', 'x'.repeat(63), 'y'.repeat(64), 'z'.repeat(100), 'välue €', '🔑'.repeat(40), randomString(200),
        crypto.randomBytes(10), crypto.randomBytes(150), { a: [1, 'ü'] }, 42, 'lone \ud800 surrogate', 'short', 'again'];
      values.forEach((value, i) => {
        for (const key of [`k${i}`, 'same']) {
          p.set('n', key, value);
          q.set('n', key, value);
        }
      });
      for (const key of [...values.keys()].map((i) => `k${i}`).concat('same')) {
        const raw = (s) => {
          const bytes = s._e.get(s._id('n', false), key);
          return [Buffer.from(bytes).toString('hex'), s._out[0]];
        };
        assert.deepStrictEqual(raw(p), raw(q), `entry of ${key}`);
        assert.deepStrictEqual(p.get('n', key), q.get('n', key));
      }
      assert.strictEqual(p.verify().ok, true);
    } finally {
      p.close();
      q.close();
      require('../../index').Segment.unlink({ name: plainName });
      t.cleanup();
    }
  });

  it('a persisted JS store logs sets with their expiries, and a rebuild gives them back', () => {
    const t = persistTarget('setrec');
    try {
      const s = Store.create({ name: t.name, size: 1 << 24, engine: 'js', persist: { dir: t.dir, sync: 'none' } });
      s.namespace('cache', { ttl: HOUR });
      const at = Date.now() + 2 * HOUR;
      for (let i = 0; i < 300; i++) {
        s.set('plain', `k${i}`, `välue ${i}`);
        s.set('cache', `c${i}`, Buffer.from([i & 0xff, 1, 2]));
      }
      s.set('plain', 'exp', 'x', { expiresAt: at });
      const want = { plain: contents(s, 'plain'), cache: contents(s, 'cache') };
      const tail = s.persistence.tail;
      s.close();
      const file = fs.readdirSync(t.dir).find((f) => f.startsWith('wal-'));
      const log = readLog(path.join(t.dir, file));
      assert.strictEqual(log.end, tail);
      const exp = log.records.find((r) => r.key === 'exp');
      assert.strictEqual(exp.expiresAt, at);
      const c = log.records.find((r) => r.key === 'c7');
      assert.ok(c.expiresAt > Date.now() + HOUR - 60000 && c.expiresAt <= Date.now() + HOUR);
      const r = recover(t.name, t.dir, 'js');
      try {
        assert.deepStrictEqual(contents(r, 'plain'), want.plain);
        assert.deepStrictEqual(contents(r, 'cache'), want.cache);
        assert.strictEqual(r.verify().ok, true);
      } finally {
        r.close();
      }
    } finally {
      t.cleanup();
    }
  });
});
