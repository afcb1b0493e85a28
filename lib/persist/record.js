'use strict';
// Write-ahead log records and log files (docs/format.md §16): encoding one record, the file
// header, and the scan that finds the valid prefix of a log (a torn or damaged tail ends it and
// is never replayed).
const fs = require('fs');
const { openRegular } = require('./files');
const { C, S } = require('../layout/layout');
const { crc32c } = require('./crc32c');

const R = S.WAL_RECORD;
const F = S.WAL_FILE_HEADER;
const HEADER = C.WAL_RECORD_HEADER_SIZE;
const FILE_HEADER = C.WAL_FILE_HEADER_SIZE;
const ALIGN = C.WAL_RECORD_ALIGN;
const MAX_NS = C.MAX_NAMESPACE_BYTES;
const MAX_KEY = C.MAX_KEY_BYTES;
const MAX_VALUE = C.MAX_VALUE_BYTES;
const TYPES = new Set([C.WAL_REC_SET, C.WAL_REC_DELETE, C.WAL_REC_CLEAR, C.WAL_REC_NS_CREATE, C.WAL_REC_NS_DROP, C.WAL_REC_NS_SETTINGS]);
// The largest eviction policy a namespace settings record may name (format.md §5's values).
const MAX_POLICY = C.POLICY_CLOCK;
// The largest record: header, the longest name, key and value (64 MiB), rounded up to ALIGN.
const MAX_RECORD = alignUp(HEADER + MAX_NS + MAX_KEY + MAX_VALUE);
// The scratch buffer a writer keeps: every record whose value is stored inline in the store
// (at most C.MAX_INLINE_VALUE_BYTES); a longer record gets a buffer of its own (scratchFor).
const SMALL_RECORD = alignUp(HEADER + MAX_NS + MAX_KEY + C.MAX_INLINE_VALUE_BYTES);

function alignUp(n) {
  return Math.ceil(n / ALIGN) * ALIGN;
}

const U32 = 0x100000000;
const HIGH_HALF = Uint32Array.BYTES_PER_ELEMENT;

// A u64 field from a Number below 2^53, as two u32 halves (no BigInt on the hot path).
function writeU64(buf, value, at) {
  buf.writeUInt32LE(value % U32, at);
  buf.writeUInt32LE(Math.floor(value / U32), at + HIGH_HALF);
}

// A u64 field as a Number (exact below 2^53; LSNs and epoch milliseconds are).
function readU64(buf, at) {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + HIGH_HALF) * U32;
}

// Buffer's UTF-8 writer without Buffer#write's argument handling (a third of a short write's
// cost); Buffer#write where a runtime lacks it.
const utf8Write = typeof Buffer.prototype.utf8Write === 'function'
  ? (buf, s, at) => buf.utf8Write(s, at)
  : (buf, s, at) => buf.write(s, at, 'utf8');

/**
 * Encodes one record into `buf` (from its start; lsn 0 and no checksum yet: sealRecord fills
 * both once the position is known). `value` is a string or Uint8Array (set only); the lengths
 * must be within the limits (the store checked them). Returns the record: a view of `buf` of
 * the aligned length, whose padding is zero.
 */
function encodeRecordInto(buf, type, ns, key, value, encoding, expiresAt) {
  let at = HEADER;
  const nsLen = ns === null ? 0 : utf8Write(buf, ns, at);
  at += nsLen;
  const keyLen = key === null ? 0 : utf8Write(buf, key, at);
  at += keyLen;
  if (value !== null) {
    if (typeof value === 'string') at += utf8Write(buf, value, at);
    else {
      buf.set(value, at);
      at += value.byteLength;
    }
  }
  const size = alignUp(at);
  // The padding (under ALIGN bytes) is zero, and so is every header field not set here
  // (checksum and lsn until sealRecord, the reserved ones): each of the 32 bytes is written.
  for (let i = at; i < size; i++) buf[i] = 0;
  buf.writeUInt32LE(0, R.CHECKSUM); // layout-ok: the value is 0, the offset is named
  buf.writeUInt32LE(at, R.LENGTH);
  writeU64(buf, 0, R.LSN);
  writeU64(buf, expiresAt, R.EXPIRES_AT);
  buf[R.TYPE] = type;
  buf[R.ENCODING] = encoding;
  buf[R.NS_LENGTH] = nsLen;
  buf[R.RESERVED] = 0;
  buf.writeUInt16LE(keyLen, R.KEY_LENGTH);
  buf.writeUInt16LE(0, R.RESERVED2); // layout-ok: the value is 0, the offset is named
  return buf.subarray(0, size);
}

/** Writes the expiresAt field of an encoded record (before sealRecord). */
function setExpiry(buf, expiresAt) {
  writeU64(buf, expiresAt, R.EXPIRES_AT);
}

/**
 * A buffer that holds the record of (ns, key, value): `buf` (of SMALL_RECORD bytes or more) when
 * it surely does, else a new one of the record's size. A UTF-16 unit is at most 3 UTF-8 bytes.
 */
function scratchFor(buf, ns, key, value) {
  const strBound = (x) => (x === null ? 0 : x.length * 3);
  const valueBound = value === null ? 0 : typeof value === 'string' ? value.length * 3 : value.byteLength;
  if (HEADER + strBound(ns) + strBound(key) + valueBound + ALIGN <= buf.length) return buf;
  const bytes = (x) => (x === null ? 0 : Buffer.byteLength(x));
  const valueBytes = value === null ? 0 : typeof value === 'string' ? Buffer.byteLength(value) : value.byteLength;
  const need = alignUp(HEADER + bytes(ns) + bytes(key) + valueBytes);
  return need <= buf.length ? buf : Buffer.allocUnsafe(need);
}

/** Writes the record's LSN (its position in the log) and its checksum. */
function sealRecord(buf, lsn) {
  writeU64(buf, lsn, R.LSN);
  const length = buf.readUInt32LE(R.LENGTH);
  buf.writeUInt32LE(crc32c(buf.subarray(R.LENGTH, length)), R.CHECKSUM);
}

/** The 64-byte header of a log file whose first record has LSN `startLsn`. */
function encodeFileHeader(startLsn, createdMs = Date.now()) {
  const buf = Buffer.alloc(FILE_HEADER);
  buf.writeUInt32LE(C.WAL_MAGIC, F.MAGIC);
  buf.writeUInt32LE(C.WAL_FORMAT_VERSION, F.VERSION);
  buf.writeBigUInt64LE(BigInt(startLsn), F.START_LSN);
  buf.writeBigUInt64LE(BigInt(createdMs), F.CREATED_MS);
  buf.writeUInt32LE(crc32c(buf.subarray(0, F.CHECKSUM)), F.CHECKSUM);
  return buf;
}

/**
 * Parses a file header: { startLsn, version } or { error } (a message). Versions
 * WAL_OLDEST_VERSION..WAL_FORMAT_VERSION are read alike (format.md §16, "Versions").
 */
function decodeFileHeader(buf) {
  if (buf.length < FILE_HEADER) return { error: `the log file is shorter than its ${FILE_HEADER}-byte header` };
  if (buf.readUInt32LE(F.MAGIC) !== C.WAL_MAGIC) return { error: 'not a shmstore log file (bad magic)' };
  if (buf.readUInt32LE(F.CHECKSUM) !== crc32c(buf.subarray(0, F.CHECKSUM))) return { error: 'log file header checksum mismatch' };
  const version = buf.readUInt32LE(F.VERSION);
  if (version < C.WAL_OLDEST_VERSION || version > C.WAL_FORMAT_VERSION) {
    return { error: `unsupported log format version ${version} (this version reads ${C.WAL_OLDEST_VERSION} to ${C.WAL_FORMAT_VERSION})` };
  }
  return { startLsn: Number(buf.readBigUInt64LE(F.START_LSN)), version };
}

/**
 * Checks the record at `at` in `buf`, expected at LSN `lsn`. Returns the parsed record, or a
 * string saying why it is not a valid record (the log ends there), or null when `buf` holds
 * only part of it (read more).
 */
function parseRecord(buf, at, lsn) {
  const left = buf.length - at;
  if (left < HEADER) return null;
  const length = buf.readUInt32LE(at + R.LENGTH);
  if (length < HEADER || length > MAX_RECORD) return `bad record length ${length}`;
  const size = alignUp(length);
  if (left < size) return null;
  if (buf.readUInt32LE(at + R.CHECKSUM) !== crc32c(buf.subarray(at + R.LENGTH, at + length))) return 'record checksum mismatch';
  const recLsn = readU64(buf, at + R.LSN);
  if (recLsn !== lsn) return `record LSN ${recLsn} where ${lsn} was expected (a stale record)`;
  const type = buf[at + R.TYPE];
  const nsLength = buf[at + R.NS_LENGTH];
  const keyLength = buf.readUInt16LE(at + R.KEY_LENGTH);
  const valueLength = length - HEADER - nsLength - keyLength;
  const encoding = buf[at + R.ENCODING];
  if (!TYPES.has(type)) return `unknown record type ${type}`;
  if (nsLength > MAX_NS || keyLength > MAX_KEY || valueLength < 0 || valueLength > MAX_VALUE) return 'bad record lengths';
  // A settings record names a namespace, no key or value, and a policy there is.
  if (type === C.WAL_REC_NS_SETTINGS && (nsLength === 0 || keyLength !== 0 || valueLength !== 0 || encoding > MAX_POLICY)) return 'bad namespace settings record';
  const base = at + HEADER;
  return {
    lsn,
    size,
    type,
    encoding,
    expiresAt: readU64(buf, at + R.EXPIRES_AT),
    ns: buf.toString('utf8', base, base + nsLength),
    key: buf.toString('utf8', base + nsLength, base + nsLength + keyLength),
    value: buf.subarray(base + nsLength + keyLength, base + nsLength + keyLength + valueLength),
  };
}

const CHUNK = 4 << 20;

// Whether the bytes [from, to) of file `fd` are all zero.
function allZero(fd, from, to) {
  const buf = Buffer.alloc(Math.min(CHUNK, Math.max(0, to - from)));
  // Compared with zeros a chunk at a time (a memcmp): a loop over the bytes in JavaScript took
  // most of the time of a recovery or an inspect of a 'none' log and its preallocated tail.
  const zeros = Buffer.alloc(buf.length);
  for (let pos = from; pos < to;) {
    const n = fs.readSync(fd, buf, 0, Math.min(buf.length, to - pos), pos);
    if (n <= 0) return false;
    if (!buf.subarray(0, n).equals(zeros.subarray(0, n))) return false;
    pos += n;
  }
  return true;
}

/**
 * Reads the log file at `file` and calls onRecord(record) for each record of its valid prefix,
 * in order (with `stopAt`, only for those before that LSN: the scan ends at the first record at
 * or past it). With `walk` (a native replay), each chunk read is first given to walk(buf, at, lsn),
 * which consumes the valid records at `at` itself and returns how many and their bytes
 * ([records, bytes]); onRecord then sees only a record it left (it may stop anywhere: what it
 * left is checked and handed over as usual), and the reason the log ends is found here alike. Returns { startLsn, version (the file's format version), end (LSN after the last valid record), records, fileBytes,
 * cutBytes (bytes of a damaged tail after the valid prefix), zeroBytes (zeros after it instead:
 * preallocated space), reason (why the scan stopped before the end of the file, or null) }.
 * Throws ShmError-like { code: 'ERR_PERSIST_CORRUPT' } data as an object when the file header
 * itself is bad (see decodeFileHeader): the caller decides.
 */
function scanLog(file, onRecord, walk = null, stopAt = Infinity) {
  const fd = openRegular(file);
  try {
    const fileBytes = fs.fstatSync(fd).size;
    const head = Buffer.alloc(FILE_HEADER);
    fs.readSync(fd, head, 0, FILE_HEADER, 0);
    const h = decodeFileHeader(head.subarray(0, Math.min(FILE_HEADER, fileBytes)));
    if (h.error) return { headerError: h.error, fileBytes };
    let lsn = h.startLsn;
    let pos = FILE_HEADER;
    let buf = Buffer.alloc(0);
    let at = 0;
    let records = 0;
    let reason = null;
    let walked = false; // whether walk() has seen the bytes from `at`
    for (;;) {
      if (walk !== null && !walked) {
        const [n, bytes] = walk(buf, at, lsn);
        records += n;
        at += bytes;
        lsn += bytes;
        walked = true;
      }
      const r = parseRecord(buf, at, lsn);
      if (r === null) {
        // Keep the unparsed bytes and read more after them.
        if (pos >= fileBytes) {
          if (buf.length > at) reason = 'a torn record at the end of the log';
          break;
        }
        walked = false;
        const rest = buf.subarray(at);
        const next = Buffer.allocUnsafe(rest.length + Math.min(CHUNK, fileBytes - pos));
        rest.copy(next);
        const n = fs.readSync(fd, next, rest.length, next.length - rest.length, pos);
        if (n <= 0) break; // the file shrank while it was read: what was read is all there is
        pos += n;
        buf = next.subarray(0, rest.length + n);
        at = 0;
        continue;
      }
      if (typeof r === 'string') {
        reason = r;
        break;
      }
      if (r.lsn >= stopAt) break;
      walked = false;
      onRecord(r);
      records += 1;
      at += r.size;
      lsn += r.size;
    }
    const validBytes = FILE_HEADER + (lsn - h.startLsn);
    // Zeros after the valid prefix are the file's preallocated space, not damage.
    const version = h.version;
    if (reason !== null && allZero(fd, validBytes, fileBytes)) return { startLsn: h.startLsn, version, end: lsn, records, fileBytes, cutBytes: 0, zeroBytes: fileBytes - validBytes, reason: null };
    return { startLsn: h.startLsn, version, end: lsn, records, fileBytes, cutBytes: fileBytes - validBytes, zeroBytes: 0, reason };
  } finally {
    fs.closeSync(fd);
  }
}

module.exports = {
  encodeRecordInto, sealRecord, setExpiry, encodeFileHeader, decodeFileHeader, parseRecord, scanLog, alignUp, MAX_RECORD,
  SMALL_RECORD, scratchFor,
};
