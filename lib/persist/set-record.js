'use strict';
// The record of a set as the JavaScript engine's logged set writes it (docs/format.md §16,
// "Records"): byte for byte what encodeRecordInto and sealRecord produce, without their per-call
// costs. The record is built once in a word-aligned scratch buffer owned by one thread (the set
// runs in one synchronous stretch and is never re-entered); the header is written as words; and
// sealing copies the record into the log mapping word by word while the same pass computes its
// CRC32C, so that no view is allocated and no byte is read twice. With the addon the sealing is
// done natively instead, over this record's scratch (createRecordSealer: put, after the begin of
// logged-store.js _fastSet, or seal from wal.js putSet): the same bytes.
const { C, S, W } = require('../layout/layout');
const { FNV_OFFSET, FNV_PRIME, foldUnit } = require('./control');
const { crc32cWordStep, crc32cQuadStep, crc32cByteStep, crc32cJs } = require('./crc32c');

const R = S.WAL_RECORD;
const RW = W.WAL_RECORD;
const WORD = Uint32Array.BYTES_PER_ELEMENT;
const HEADER = C.WAL_RECORD_HEADER_SIZE;
const ALIGN = C.WAL_RECORD_ALIGN;
const U32 = 0x100000000;
// The header's byte fields live in two words: type, encoding, nsLength and a reserved byte in
// the word of TYPE; keyLength and a reserved u16 in the word of KEY_LENGTH (little-endian).
const TYPE_WORD = R.TYPE / WORD;
const KEY_WORD = R.KEY_LENGTH / WORD;
const BITS = 8;
const ENC_SHIFT = (R.ENCODING - R.TYPE) * BITS;
const NS_SHIFT = (R.NS_LENGTH - R.TYPE) * BITS;
// The checksum covers the record from its length field on.
const CRC_FROM = R.LENGTH;
const CRC_FROM_WORD = R.LENGTH / WORD;
// Words per step of the slice-by-16 walk.
const QUAD = 4;
// Word reads give the bytes of a word in memory order only on a little-endian machine; a
// big-endian one checksums the bytes one by one.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
// The largest record the scratch holds: every record whose value is stored inline (a longer one
// takes the general path, encodeRecordInto).
const CAPACITY = Math.ceil((HEADER + C.MAX_NAMESPACE_BYTES + C.MAX_KEY_BYTES + C.MAX_INLINE_VALUE_BYTES) / ALIGN) * ALIGN;
// Below this many UTF-16 units a name is copied by a loop here (an ASCII one), above it by the
// runtime's encoder: a call into it costs more than the loop for a short string.
const SHORT = 32;
const STRIPE_MASK = C.PERSIST_STRIPES - 1;

// A string value is written by TextEncoder#encodeInto into a view of the scratch from its byte
// on, one view per byte the value may start at, made when first needed: the encoder's call
// costs about two thirds of Buffer#utf8Write's for a 100-byte value, and a view made per call
// would cost the difference.
const valueEncoder = new TextEncoder();
// A Buffer's UTF-8 writer without Buffer#write's argument handling; Buffer#write where a runtime
// lacks it.
const utf8Write = typeof Buffer.prototype.utf8Write === 'function'
  ? (buf, s, at) => buf.utf8Write(s, at)
  : (buf, s, at) => buf.write(s, at, 'utf8');

class SetRecord {
  constructor() {
    // Shared memory: the addon's sealer (createRecordSealer) keeps a pointer to these bytes, and
    // refuses a plain ArrayBuffer, whose bytes a transfer could detach and free under it.
    const ab = new SharedArrayBuffer(CAPACITY);
    this.u8 = new Uint8Array(ab);
    this.i32 = new Int32Array(ab);
    this.buf = Buffer.from(ab);
    // Views of the scratch from each byte a value may start at (HEADER + namespace + key bytes).
    this.valueViews = new Array(HEADER + C.MAX_NAMESPACE_BYTES + C.MAX_KEY_BYTES + 1).fill(null);
    this.length = 0; // the record's length field (header and payload, no padding)
    this.size = 0; // its size in the log (aligned)
    this.stripe = 0; // the key's stripe
    this.keyAt = 0; // where the key's bytes start; the value's follow them
    this.keyLength = 0;
    this.valueLength = 0;
    this.hash = 0;
    this.ns = null; // the namespace name whose bytes are in place, its byte length and hash
    this.nsLen = 0;
    this.nsHash = 0;
  }

  /**
   * Whether the record of (ns, key, value) surely fits: strings bounded by 3 UTF-8 bytes per
   * UTF-16 unit. A record that may not fit takes the general path.
   */
  static fits(ns, key, value) {
    const v = typeof value === 'string' ? value.length * 3 : value.byteLength;
    return HEADER + (ns.length + key.length) * 3 + v + ALIGN <= CAPACITY;
  }

  // Writes `s` at `at` and folds its UTF-16 units into the stripe hash `h` (Control.stripeOf):
  // ASCII units are copied one by one in the same loop, anything else goes through the encoder
  // (a surrogate is folded in by foldUnit, which takes a lone one as U+FFFD).
  // Leaves the hash in this.hash; returns the number of bytes.
  #name(s, at, h) {
    const n = s.length;
    const u8 = this.u8;
    let ascii = n <= SHORT;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        ascii = false;
        h = (c & 0xf800) === 0xd800 ? foldUnit(h, s, i) : Math.imul(h ^ c, FNV_PRIME);
      } else {
        h = Math.imul(h ^ c, FNV_PRIME);
        if (ascii) u8[at + i] = c;
      }
    }
    this.hash = h;
    return ascii ? n : utf8Write(this.buf, s, at);
  }

  /**
   * Encodes a set record of (ns, key, value) with encoding `enc` (value a string or Uint8Array;
   * lengths within the store's limits, SetRecord.fits) except its LSN, expiry and checksum
   * (seal), and finds the key's stripe (this.stripe, as Control.stripeOf). The namespace's bytes
   * and hash are kept from the previous record when it named the same namespace.
   */
  encode(ns, key, value, enc) {
    const u8 = this.u8;
    const i32 = this.i32;
    if (ns !== this.ns) {
      this.nsLen = this.#name(ns, HEADER, FNV_OFFSET);
      // The unit 0 between the name and the key.
      this.nsHash = Math.imul(this.hash, FNV_PRIME);
      this.ns = ns;
    }
    const nsLen = this.nsLen;
    const keyAt = HEADER + nsLen;
    const keyLen = this.#name(key, keyAt, this.nsHash);
    this.stripe = this.hash & STRIPE_MASK;
    const valueAt = keyAt + keyLen;
    let end;
    if (typeof value === 'string') {
      let view = this.valueViews[valueAt];
      if (view === null) view = this.valueViews[valueAt] = u8.subarray(valueAt);
      // The scratch holds 3 bytes a unit of any value that fits (SetRecord.fits): all of it.
      end = valueAt + valueEncoder.encodeInto(value, view).written;
    } else {
      u8.set(value, valueAt);
      end = valueAt + value.byteLength;
    }
    this.keyAt = keyAt;
    this.keyLength = keyLen;
    this.valueLength = end - valueAt;
    const size = Math.ceil(end / ALIGN) * ALIGN;
    for (let i = end; i < size; i++) u8[i] = 0;
    i32[RW.CHECKSUM] = 0;
    i32[RW.LENGTH] = end;
    i32[TYPE_WORD] = C.WAL_REC_SET | (enc << ENC_SHIFT) | (nsLen << NS_SHIFT);
    i32[KEY_WORD] = keyLen;
    this.length = end;
    this.size = size;
  }

  /**
   * Sets the record's LSN and expiresAt, and copies it to `dst` (an Int32Array over the log
   * mapping) at word `at`, computing its CRC32C on the way; the checksum word is stored last.
   */
  seal(lsn, expiresAt, dst, at) {
    const i32 = this.i32;
    const u8 = this.u8;
    const lsnLo = lsn >>> 0;
    i32[RW.LSN] = lsnLo;
    i32[RW.LSN_HI] = (lsn - lsnLo) / U32;
    const expLo = expiresAt >>> 0;
    i32[RW.EXPIRES_AT] = expLo;
    i32[RW.EXPIRES_AT_HI] = (expiresAt - expLo) / U32;
    const length = this.length;
    const words = this.size / WORD;
    let crc;
    let w = CRC_FROM_WORD;
    if (LITTLE_ENDIAN) {
      // Groups of four whole words of the checksummed bytes, then single words, then the last
      // bytes.
      const wordEnd = CRC_FROM_WORD + Math.floor((length - CRC_FROM) / WORD);
      const quadEnd = wordEnd - ((wordEnd - CRC_FROM_WORD) % QUAD);
      let c = ~0;
      for (; w < quadEnd; w += QUAD) {
        const a = i32[w];
        const b = i32[w + 1]; // layout-ok: the group's next words
        const d = i32[w + 2]; // layout-ok: the group's next words
        const e = i32[w + 3]; // layout-ok: the group's next words
        dst[at + w] = a;
        dst[at + w + 1] = b; // layout-ok: the group's next words
        dst[at + w + 2] = d; // layout-ok: the group's next words
        dst[at + w + 3] = e; // layout-ok: the group's next words
        c = crc32cQuadStep(c ^ a, b, d, e);
      }
      for (; w < wordEnd; w++) {
        const x = i32[w];
        dst[at + w] = x;
        c = crc32cWordStep(c ^ x);
      }
      for (let b = w * WORD; b < length; b++) c = crc32cByteStep(c, u8[b]);
      crc = ~c >>> 0;
    } else {
      crc = crc32cJs(u8.subarray(CRC_FROM, length));
    }
    for (; w < words; w++) dst[at + w] = i32[w];
    dst[at + RW.CHECKSUM] = crc;
  }
}

module.exports = { SetRecord };
