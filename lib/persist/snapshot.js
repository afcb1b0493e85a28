'use strict';
// Snapshots (docs/format.md §16, "Snapshots"): every entry of the store as set records (each
// namespace's settings record first when it has settings), between a
// checksummed header and a trailer that checksums the whole body. A snapshot is written to a
// temporary name, synced, renamed and its directory synced, so a snapshot file under its final
// name is complete; loading one checks every record and the trailer and throws
// ERR_PERSIST_CORRUPT (with the store being loaded discarded by the caller) on any damage.
const fs = require('fs');
const path = require('path');
const { C, S } = require('../layout/layout');
const { ShmError } = require('../base/errors');
const { crc32c } = require('./crc32c');
const { encodeRecordInto, sealRecord, parseRecord, SMALL_RECORD, scratchFor } = require('./record');
const { snapFileName, openRegular, writeAll } = require('./files');

const H = S.SNAP_HEADER;
const T = S.SNAP_TRAILER;
const HEADER = C.SNAP_HEADER_SIZE;
const TRAILER = C.SNAP_TRAILER_SIZE;
const FLUSH_AT = 1 << 20;
const CHUNK = 4 << 20;

function corrupt(file, what) {
  return new ShmError('ERR_PERSIST_CORRUPT', `persist: the snapshot ${path.basename(file)} is damaged: ${what}; it is refused (nothing of it was loaded)`);
}

/** Writes sequentially to a file through a 1 MiB staging buffer, CRC32C-ing what it writes. */
class BodyWriter {
  constructor(fd) {
    this.fd = fd;
    this.pos = HEADER;
    this.stage = Buffer.allocUnsafe(FLUSH_AT);
    this.used = 0;
    this.crc = 0;
    this.bytes = 0;
  }

  add(rec) {
    if (this.used + rec.length > this.stage.length) this.flush();
    this.bytes += rec.length;
    if (rec.length > this.stage.length) {
      this.write(rec); // a record of a large value: written as it is
      return;
    }
    rec.copy(this.stage, this.used);
    this.used += rec.length;
  }

  flush() {
    if (this.used === 0) return;
    this.write(this.stage.subarray(0, this.used));
    this.used = 0;
  }

  write(part) {
    this.crc = crc32c(part, this.crc);
    writeAll(this.fd, part, this.pos, 'writing a snapshot');
    this.pos += part.length;
  }
}

function encodeHeader(startLsn, geo) {
  const b = Buffer.alloc(HEADER);
  b.writeUInt32LE(C.SNAP_MAGIC, H.MAGIC);
  b.writeUInt32LE(C.SNAP_FORMAT_VERSION, H.VERSION);
  b.writeBigUInt64LE(BigInt(startLsn), H.START_LSN);
  b.writeBigUInt64LE(BigInt(Date.now()), H.CREATED_MS);
  b.writeBigUInt64LE(BigInt(geo.totalSize), H.TOTAL_SIZE);
  b.writeUInt32LE(geo.bucketCount, H.BUCKET_COUNT);
  b.writeUInt32LE(geo.maxEntries, H.MAX_ENTRIES);
  b.writeUInt32LE(geo.maxNamespaces, H.MAX_NAMESPACES);
  b.writeUInt32LE(crc32c(b.subarray(0, H.CHECKSUM)), H.CHECKSUM);
  return b;
}

function encodeTrailer(records, bodyBytes, bodyCrc, endLsn) {
  const b = Buffer.alloc(TRAILER);
  b.writeUInt32LE(C.SNAP_END_MAGIC, T.MAGIC);
  b.writeBigUInt64LE(BigInt(records), T.RECORDS);
  b.writeBigUInt64LE(BigInt(bodyBytes), T.BODY_BYTES);
  b.writeUInt32LE(bodyCrc, T.BODY_CHECKSUM);
  b.writeBigUInt64LE(BigInt(endLsn), T.END_LSN);
  b.writeUInt32LE(crc32c(b.subarray(0, T.CHECKSUM)), T.CHECKSUM);
  return b;
}

/**
 * Writes the snapshot of LSN `startLsn` into `dir` from `each(emit, emitSettings)`, which calls
 * emit(ns, key, raw, encoding, expiresAt) once per entry and emitSettings(ns, policy, ttlMs)
 * once per namespace whose settings are not the defaults, before its entries, and returns the
 * log's tail after its last read (the trailer's endLsn). Returns { file, records, bytes }.
 */
function writeSnapshot(dir, startLsn, geo, each) {
  const file = path.join(dir, snapFileName(startLsn));
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  let records = 0;
  let w;
  try {
    writeAll(fd, encodeHeader(startLsn, geo), 0, 'writing a snapshot');
    w = new BodyWriter(fd);
    const scratch = Buffer.allocUnsafe(SMALL_RECORD);
    const put = (rec) => {
      sealRecord(rec, w.bytes);
      w.add(rec);
      records += 1;
    };
    const endLsn = each(
      (ns, key, raw, encoding, expiresAt) => put(encodeRecordInto(scratchFor(scratch, ns, key, raw), C.WAL_REC_SET, ns, key, raw, encoding, expiresAt)),
      (ns, policy, ttlMs) => put(encodeRecordInto(scratch, C.WAL_REC_NS_SETTINGS, ns, null, null, policy, ttlMs)),
    );
    w.flush();
    writeAll(fd, encodeTrailer(records, w.bytes, w.crc, endLsn), w.pos, 'writing a snapshot');
    fs.fdatasyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  return { file, records, bytes: HEADER + w.bytes + TRAILER };
}

// The trailer of a snapshot file of `size` bytes (at least a header and a trailer) open as `fd`.
function readTrailer(fd, size) {
  const tail = Buffer.alloc(TRAILER);
  fs.readSync(fd, tail, 0, TRAILER, size - TRAILER);
  return tail;
}

// What is wrong with a trailer read by readTrailer(), or null when its magic and checksum hold.
function trailerFault(tail) {
  if (tail.readUInt32LE(T.MAGIC) !== C.SNAP_END_MAGIC) return 'no trailer (truncated)';
  if (tail.readUInt32LE(T.CHECKSUM) !== crc32c(tail.subarray(0, T.CHECKSUM))) return 'trailer checksum mismatch';
  return null;
}

/**
 * Reads the snapshot `file` and calls onRecord(record) for each entry, in order. Throws
 * ERR_PERSIST_CORRUPT when any check fails (the caller discards what it loaded). Returns
 * { startLsn, records, geometry }. `walk` (a native load, optional) is as scanLog's: it consumes
 * valid set and settings records itself and stops anywhere; the checks here see the rest.
 */
function readSnapshot(file, onRecord, walk = null) {
  const fd = openRegular(file);
  try {
    const size = fs.fstatSync(fd).size;
    if (size < HEADER + TRAILER) throw corrupt(file, `${size} bytes, shorter than a header and a trailer`);
    const head = Buffer.alloc(HEADER);
    fs.readSync(fd, head, 0, HEADER, 0);
    if (head.readUInt32LE(H.MAGIC) !== C.SNAP_MAGIC) throw corrupt(file, 'bad magic');
    if (head.readUInt32LE(H.CHECKSUM) !== crc32c(head.subarray(0, H.CHECKSUM))) throw corrupt(file, 'header checksum mismatch');
    // Versions SNAP_OLDEST_VERSION..SNAP_FORMAT_VERSION are read alike (format.md §16, "Versions").
    const version = head.readUInt32LE(H.VERSION);
    if (version < C.SNAP_OLDEST_VERSION || version > C.SNAP_FORMAT_VERSION) {
      throw corrupt(file, `unsupported snapshot format version ${version} (this version reads ${C.SNAP_OLDEST_VERSION} to ${C.SNAP_FORMAT_VERSION})`);
    }
    const tail = readTrailer(fd, size);
    const bad = trailerFault(tail);
    if (bad !== null) throw corrupt(file, bad);
    const bodyBytes = Number(tail.readBigUInt64LE(T.BODY_BYTES));
    const want = Number(tail.readBigUInt64LE(T.RECORDS));
    if (HEADER + bodyBytes + TRAILER !== size) throw corrupt(file, `${size} bytes where header, body and trailer make ${HEADER + bodyBytes + TRAILER}`);
    let crc = 0;
    let records = 0;
    let at = 0;
    let pos = HEADER;
    let lsn = 0;
    let buf = Buffer.alloc(0);
    const end = HEADER + bodyBytes;
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
        if (pos >= end) {
          if (buf.length > at) throw corrupt(file, `a torn record at body offset ${lsn}`);
          break;
        }
        walked = false;
        const rest = buf.subarray(at);
        const next = Buffer.allocUnsafe(rest.length + Math.min(CHUNK, end - pos));
        rest.copy(next);
        const n = fs.readSync(fd, next, rest.length, next.length - rest.length, pos);
        crc = crc32c(next.subarray(rest.length, rest.length + n), crc);
        pos += n;
        buf = next.subarray(0, rest.length + n);
        at = 0;
        continue;
      }
      if (typeof r === 'string') throw corrupt(file, `${r} at body offset ${lsn}`);
      if (r.type !== C.WAL_REC_SET && r.type !== C.WAL_REC_NS_SETTINGS) throw corrupt(file, `a record of type ${r.type} at body offset ${lsn}`);
      walked = false;
      onRecord(r);
      records += 1;
      at += r.size;
      lsn += r.size;
    }
    if (crc !== tail.readUInt32LE(T.BODY_CHECKSUM)) throw corrupt(file, 'body checksum mismatch');
    if (records !== want) throw corrupt(file, `${records} records where the trailer says ${want}`);
    return {
      startLsn: Number(head.readBigUInt64LE(H.START_LSN)),
      records,
      geometry: {
        totalSize: Number(head.readBigUInt64LE(H.TOTAL_SIZE)),
        bucketCount: head.readUInt32LE(H.BUCKET_COUNT),
        maxEntries: head.readUInt32LE(H.MAX_ENTRIES),
        // 0: a snapshot written before the field existed, of a store with the default.
        maxNamespaces: head.readUInt32LE(H.MAX_NAMESPACES) || C.DEFAULT_MAX_NAMESPACES,
      },
    };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The trailer's endLsn of the snapshot `file` (0: not recorded, or a trailer that readSnapshot()
 * will refuse): the records from its startLsn up to it are the only ones whose effects it may
 * hold (format.md §16, "Checkpoints").
 */
function snapshotEndLsn(file) {
  const fd = openRegular(file);
  try {
    const size = fs.fstatSync(fd).size;
    if (size < HEADER + TRAILER) return 0;
    const tail = readTrailer(fd, size);
    return trailerFault(tail) === null ? Number(tail.readBigUInt64LE(T.END_LSN)) : 0;
  } finally {
    fs.closeSync(fd);
  }
}

module.exports = { writeSnapshot, readSnapshot, snapshotEndLsn };
