'use strict';
// CRC32C (docs/format.md §16, lib/persist/crc32c.js): the JavaScript table walk and the addon's
// ISA-L function agree bit for bit with the published check value, with each other on random
// buffers, offsets and lengths, and when computed in pieces.
const assert = require('assert');
const crypto = require('crypto');
const native = require('../../lib/base/native');
const { crc32c, crc32cJs, nativeCrc32c } = require('../../lib/persist/crc32c');
const { SetRecord } = require('../../lib/persist/set-record');
const { C, S } = require('../../lib/layout/layout');

// A bitwise CRC32C written from the definition (reflected polynomial 0x82F63B78), one bit at a
// time: the reference the table walk and the addon are compared with.
function crcBitwise(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('CRC32C', () => {
  const impls = [['JavaScript', crc32cJs], ['default', crc32c]];
  if (native.addon) impls.push(['native (ISA-L)', nativeCrc32c]);

  for (const [name, f] of impls) {
    it(`${name}: the published check values`, () => {
      assert.strictEqual(f(Buffer.from('123456789')), 0xe3069283);
      assert.strictEqual(f(new Uint8Array(0)), 0);
      // RFC 3720, B.4: 32 bytes of zeros, of 0xFF, ascending and descending.
      assert.strictEqual(f(new Uint8Array(32)), 0x8a9136aa);
      assert.strictEqual(f(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
      assert.strictEqual(f(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
      assert.strictEqual(f(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
    });

    it(`${name}: equals the bitwise definition on random buffers, offsets and lengths`, () => {
      const pool = crypto.randomBytes(4096);
      for (let i = 0; i < 300; i++) {
        const off = crypto.randomInt(0, 64);
        const len = crypto.randomInt(0, pool.length - off);
        const view = pool.subarray(off, off + len);
        assert.strictEqual(f(view), crcBitwise(view), `offset ${off}, length ${len}`);
      }
    });

    it(`${name}: chained computation equals the whole`, () => {
      const buf = crypto.randomBytes(10000);
      const whole = f(buf);
      for (let i = 0; i < 50; i++) {
        const cut1 = crypto.randomInt(0, buf.length);
        const cut2 = crypto.randomInt(cut1, buf.length + 1);
        let c = f(buf.subarray(0, cut1));
        c = f(buf.subarray(cut1, cut2), c);
        c = f(buf.subarray(cut2), c);
        assert.strictEqual(c, whole);
      }
    });
  }

  (native.addon ? it : it.skip)('native and JavaScript agree on large buffers and on views of shared memory', () => {
    const big = crypto.randomBytes(3 * 1024 * 1024 + 13);
    assert.strictEqual(nativeCrc32c(big), crc32cJs(big));
    const sab = new SharedArrayBuffer(1 << 16);
    const u8 = new Uint8Array(sab);
    crypto.randomFillSync(u8);
    for (let i = 0; i < 100; i++) {
      const off = crypto.randomInt(0, 1000);
      const len = crypto.randomInt(0, 60000);
      const view = new Uint8Array(sab, off, len);
      assert.strictEqual(nativeCrc32c(view, i * 7919), crc32cJs(view, i * 7919));
    }
  });

  (native.addon ? it : it.skip)('native and JavaScript agree at every start offset 0-15 and every length 0-64', () => {
    // Each tail of the eight-byte walk after each misalignment of its start, continued from a
    // CRC state of its own.
    const pool = crypto.randomBytes(128);
    for (let off = 0; off < 16; off++) {
      for (let len = 0; len <= 64; len++) {
        const view = pool.subarray(off, off + len);
        assert.strictEqual(crc32cJs(view), nativeCrc32c(view), `offset ${off}, length ${len}`);
        assert.strictEqual(crc32cJs(view, off * 31 + len), nativeCrc32c(view, off * 31 + len));
      }
    }
  });

  (native.addon ? it : it.skip)("the logged set's checksum equals the native one for every payload length 0-64 and past it", () => {
    // SetRecord.seal walks the record in groups of four words, then words, then bytes: each
    // payload length ends the walk in another place.
    const rec = new SetRecord();
    const dst = new Int32Array(256);
    for (let len = 0; len <= 80; len++) {
      rec.encode('n', 'k', crypto.randomBytes(len), C.ENC_BINARY);
      rec.seal(len * C.WAL_RECORD_ALIGN, len, dst, 2);
      const bytes = Buffer.from(dst.buffer, 2 * Int32Array.BYTES_PER_ELEMENT, rec.size);
      const length = bytes.readUInt32LE(S.WAL_RECORD.LENGTH);
      assert.strictEqual(length, C.WAL_RECORD_HEADER_SIZE + 2 + len);
      assert.strictEqual(bytes.readUInt32LE(S.WAL_RECORD.CHECKSUM), nativeCrc32c(bytes.subarray(S.WAL_RECORD.LENGTH, length)), `payload of ${len} bytes`);
    }
  });

  (native.addon ? it : it.skip)('native: bad arguments are TypeErrors / RangeErrors, never a crash', () => {
    assert.throws(() => nativeCrc32c('abc'), TypeError);
    assert.throws(() => nativeCrc32c(), TypeError);
    assert.throws(() => nativeCrc32c(new Uint8Array(1), -1), RangeError);
    assert.throws(() => nativeCrc32c(new Uint8Array(1), 2 ** 32), RangeError);
  });
});
