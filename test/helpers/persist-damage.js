'use strict';
// One random damage to one file of a persistence or backup directory, for
// test/55-persist/damage-fuzz.test.js: bits flipped (anywhere, or aimed at a header field, a
// checksum or a record's header), a range zeroed, the file cut short, junk appended, or the file
// removed. The file's "live" bytes are those a reader looks at (a log's header and valid records,
// not the zeros it is preallocated with; every byte of any other file): most damage falls there.
const fs = require('fs');
const path = require('path');
const { C, S } = require('../../lib/layout/layout');
const { readLog } = require('./independent-wal-reader');

const LOG_RE = /^wal-[0-9a-f]{16}\.log$/;
const SNAP_RE = /^snap-[0-9a-f]{16}\.snap$/;

// The byte offsets of the fields of `struct` (a layout S entry) from `base`.
const fieldsOf = (struct, base) => Object.entries(struct).filter(([k]) => k !== 'SIZE').map(([, at]) => base + at);

/**
 * The files of `dir` as { file, name, kind, live, aimed }: `live` the bytes a reader looks at,
 * `aimed` offsets worth a flip (header fields, checksums, record headers).
 */
function describeFiles(dir) {
  return fs.readdirSync(dir).sort().map((name) => {
    const file = path.join(dir, name);
    const bytes = fs.statSync(file).size;
    if (LOG_RE.test(name)) {
      let live = bytes;
      const aimed = fieldsOf(S.WAL_FILE_HEADER, 0);
      try {
        const log = readLog(file);
        live = C.WAL_FILE_HEADER_SIZE + log.end - log.startLsn;
        for (const r of log.records) aimed.push(...fieldsOf(S.WAL_RECORD, C.WAL_FILE_HEADER_SIZE + r.lsn - log.startLsn));
      } catch {
        // a header the reader refuses: every byte is live
      }
      return { file, name, kind: 'log', live, aimed };
    }
    if (SNAP_RE.test(name)) {
      const trailer = bytes - C.SNAP_TRAILER_SIZE;
      const aimed = [...fieldsOf(S.SNAP_HEADER, 0), ...fieldsOf(S.SNAP_TRAILER, trailer)];
      // The body's records, back to back, each as long as its length field says (aligned).
      const b = fs.readFileSync(file);
      for (let x = C.SNAP_HEADER_SIZE; x + C.WAL_RECORD_HEADER_SIZE <= trailer;) {
        aimed.push(...fieldsOf(S.WAL_RECORD, x));
        const length = b.readUInt32LE(x + S.WAL_RECORD.LENGTH);
        if (length < C.WAL_RECORD_HEADER_SIZE) break;
        x += Math.ceil(length / C.WAL_RECORD_ALIGN) * C.WAL_RECORD_ALIGN;
      }
      return { file, name, kind: 'snapshot', live: bytes, aimed };
    }
    // The control's header, where its geometry and sync mode are; a manifest, a segment line.
    const kind = name === 'control' ? 'control' : name === 'manifest.json' ? 'manifest' : 'other';
    return { file, name, kind, live: bytes, aimed: kind === 'control' ? fieldsOf(S.PERSIST_HEADER, C.PERSIST_HEADER_OFFSET) : [] };
  });
}

/**
 * Damages one of `files` (describeFiles()) as `pick` draws. Returns { name, kind, how, at }:
 * `at` the lowest offset changed (the new length for a cut, the old length for junk appended,
 * 0 for a removal).
 */
function damage(files, pick) {
  const f = files[pick(files.length)];
  const bytes = fs.statSync(f.file).size;
  const within = () => (pick(5) > 0 || bytes === f.live ? pick(Math.max(1, f.live)) : f.live + pick(bytes - f.live));
  const how = ['flip', 'flip', 'aim', 'zero', 'cut', 'junk', 'remove'][pick(7)];
  if (how === 'remove') {
    fs.rmSync(f.file);
    return { name: f.name, kind: f.kind, how, at: 0 };
  }
  if (how === 'cut') {
    const at = Math.min(bytes, within());
    fs.truncateSync(f.file, at);
    return { name: f.name, kind: f.kind, how, at };
  }
  if (how === 'junk') {
    const junk = Buffer.alloc(1 + pick(300));
    if (pick(3) > 0) for (let i = 0; i < junk.length; i++) junk[i] = pick(256);
    fs.appendFileSync(f.file, junk);
    return { name: f.name, kind: f.kind, how, at: bytes };
  }
  const fd = fs.openSync(f.file, 'r+');
  try {
    let lowest = Infinity;
    const patch = (at, buf) => {
      fs.writeSync(fd, buf, 0, buf.length, at);
      lowest = Math.min(lowest, at);
    };
    if (bytes === 0) return { name: f.name, kind: f.kind, how: 'none', at: Infinity };
    if (how === 'zero') {
      const at = within() % bytes;
      patch(at, Buffer.alloc(Math.min(bytes - at, 1 + pick(pick(2) ? 16 : 4096))));
    } else {
      const aimed = how === 'aim' && f.aimed.length > 0;
      for (let n = 1 + pick(pick(2) ? 3 : 12); n > 0; n--) {
        const at = (aimed ? f.aimed[pick(f.aimed.length)] + pick(4) : within()) % bytes;
        const one = Buffer.alloc(1);
        fs.readSync(fd, one, 0, 1, at);
        one[0] ^= 1 << pick(8);
        patch(at, one);
      }
    }
    return { name: f.name, kind: f.kind, how, at: lowest };
  } finally {
    fs.closeSync(fd);
  }
}

module.exports = { describeFiles, damage };
