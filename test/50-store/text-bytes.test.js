'use strict';
// Keys and string values of every kind of character. Both engines copy ASCII text without a
// UTF-8 encoder or decoder and convert everything else in general; whichever path a string takes,
// both must store its UTF-8 bytes (a lone surrogate as U+FFFD, as Buffer.from(string) makes
// them), find the key again from either engine and read back the same string.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { C, H, UNIT_HALFS } = require('../../lib/layout/layout');
const { STATUS } = require('../../lib/base/status');
const { forEachEngine } = require('../helpers/engines');
const { chain } = require('../helpers/store-bytes');

const MAX = C.MAX_KEY_BYTES;
// ASCII (up to the key limit), one-byte strings that are not ASCII (V8 keeps 'é' and 'ÿ' in one
// byte per character), two-byte and astral characters, lone surrogates (inside and at the end),
// NUL and DEL, and an ASCII run that ends in a two-byte character at the limit.
const TEXTS = ['', 'plain', 'k'.repeat(MAX), 'café', 'ÿ'.repeat(40), 'é'.repeat(MAX / 2), '𝄞 clef',
  'lone \ud800 high', 'lone \udc00 low', 'ends high\ud83d', 'a\u0000b\u007f', `${'k'.repeat(MAX - 2)}é`];

const utf8 = (s) => Buffer.from(s, 'utf8');
// The string a store gives back for `s`: its UTF-8 bytes decoded.
const stored = (s) => utf8(s).toString('utf8');
// TEXTS[i] is stored under TEXTS[i] with this value (another text of the list).
const valueOf = (i) => TEXTS[TEXTS.length - 1 - i];

// The key bytes of every entry of the one-bucket store `s`, as hex, sorted.
function keyBytes(s) {
  const u8 = new Uint8Array(s.buffer);
  const u16 = new Uint16Array(s.buffer);
  return chain(new Uint32Array(s.buffer)).map((u) => {
    const at = u * C.BLOCK_UNIT + C.ENTRY_HEADER_SIZE;
    return Buffer.from(u8.subarray(at, at + u16[u * UNIT_HALFS + H.ENTRY.KEY_LENGTH])).toString('hex');
  }).sort();
}

forEachEngine('keys and string values of every kind of character', ({ engine, other, make }) => {
  it(`${engine} stores their UTF-8 bytes; both engines find every key and read the same strings`, () => {
    const a = make({ buckets: 1 });
    TEXTS.forEach((t, i) => a.set('t', t, valueOf(i)));
    assert.deepStrictEqual(keyBytes(a), TEXTS.map((t) => utf8(t).toString('hex')).sort());
    const b = Store.attach(a.buffer, { engine: other });
    try {
      TEXTS.forEach((t, i) => {
        assert.strictEqual(a.get('t', t), stored(valueOf(i)), `${engine} reads ${JSON.stringify(t)}`);
        assert.strictEqual(b.get('t', t), stored(valueOf(i)), `${other} reads ${JSON.stringify(t)}`);
      });
      assert.deepStrictEqual(b.keys('t').sort(), TEXTS.map(stored).sort());
      // Written again by the other engine: the same keys (updates), the new values.
      for (const t of TEXTS) b.set('t', t, t);
      assert.strictEqual(a.count('t'), TEXTS.length);
      assert.deepStrictEqual(keyBytes(a), TEXTS.map((t) => utf8(t).toString('hex')).sort());
      for (const t of TEXTS) assert.strictEqual(a.get('t', t), stored(t));
      const v = a.verify();
      assert.ok(v.ok, v.errors.join('\n'));
    } finally {
      b.close();
    }
  });

  it('the engine itself refuses a key one byte over the limit, ASCII or not, and writes nothing', () => {
    const s = make();
    s.set('t', 'x', 'y');
    const e = s._e;
    const id = s._id('t', false);
    const over = ['k'.repeat(MAX + 1), 'k'.repeat(4 * MAX), `${'k'.repeat(MAX - 1)}é`, 'é'.repeat(MAX / 2 + 1)];
    for (const k of over) {
      assert.throws(() => e.set(id, k, 'v', C.ENC_UTF8, 0), (err) => err.status === STATUS.ERR_KEY_TOO_LONG, `${k.length} units`);
    }
    e.set(id, 'k'.repeat(MAX), 'at the limit', C.ENC_UTF8, 0);
    assert.strictEqual(e.get(id, 'k'.repeat(MAX)), 'at the limit');
    assert.strictEqual(s.count('t'), 2);
  });
  // The pure-JS engine encodes a string of up to 2048 units after the key in its scratch, and
  // one of up to 16 with a loop, and copies key and value into the entry by whole words; longer
  // strings are written into the entry directly. Every length and kind around those edges, after
  // keys of every length modulo 4 (the value's alignment), as the other engine reads them.
  it(`${engine} stores the UTF-8 bytes of string values of every length around its copy paths`, () => {
    const a = make({ size: 8 << 20 });
    const b = Store.attach(a.buffer, { engine: other });
    try {
      const lengths = [0, 1, 3, 4, 15, 16, 17, 100, 2047, 2048, 2049, 6000];
      const kinds = [(n) => 'a'.repeat(n), (n) => 'é'.repeat(n), (n) => '\ud800'.repeat(n),
         (n) => (n === 0 ? '' : `${'a'.repeat(n - 1)}€`),
        (n) => '😀'.repeat(n >> 1)];
      let i = 0;
      for (const keyLength of [1, 2, 3, 4, 5]) {
        for (const n of lengths) {
          for (const kind of kinds) {
            const value = kind(n);
            const key = `${i++}`.padEnd(keyLength, 'k');
            // Write over a longer value first: bytes the new one leaves alone stay unread.
            a.set('t', key, 'x'.repeat(n + 40));
            a.set('t', key, value);
            assert.strictEqual(a.get('t', key), stored(value), `${engine}: ${JSON.stringify(key)}, ${value.length} units`);
            assert.strictEqual(b.get('t', key), stored(value), `${other}: ${JSON.stringify(key)}, ${value.length} units`);
          }
        }
      }
      const v = b.verify();
      assert.ok(v.ok, v.errors.join('\n'));
    } finally {
      b.close();
    }
  });
});
