'use strict';
// The files of a persistence directory (docs/format.md §16): their names, listing them, syncing
// the directory, and removing what a snapshot covers.
const fs = require('fs');
const path = require('path');
const { ShmError } = require('../base/errors');

const HEX = 16;
const LOG_RE = /^wal-([0-9a-f]{16})\.log$/;
const SNAP_RE = /^snap-([0-9a-f]{16})\.snap$/;

/** The name of the log file whose first record has LSN `startLsn`. */
function walFileName(startLsn) {
  return `wal-${startLsn.toString(16).padStart(HEX, '0')}.log`;
}

/** The name of the snapshot after which the log is replayed from LSN `startLsn`. */
function snapFileName(startLsn) {
  return `snap-${startLsn.toString(16).padStart(HEX, '0')}.snap`;
}

/** { logs, snaps, temps }: the LSNs in the log and snapshot file names (ascending), temp names. */
function listFiles(dir) {
  const logs = [];
  const snaps = [];
  const temps = [];
  for (const f of fs.readdirSync(dir)) {
    let m = LOG_RE.exec(f);
    if (m) logs.push(parseInt(m[1], 16));
    else if ((m = SNAP_RE.exec(f))) snaps.push(parseInt(m[1], 16));
    else if (f.endsWith('.tmp')) temps.push(f);
  }
  const up = (a, b) => a - b;
  return { logs: logs.sort(up), snaps: snaps.sort(up), temps };
}

function syncDir(dir) {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Removes the files the snapshot of `startLsn` makes unnecessary: older snapshots, log files
 * that end before it, and temporary files of snapshots that were never finished.
 */
function removeCovered(dir, startLsn) {
  const { logs, snaps, temps } = listFiles(dir);
  for (const s of snaps) if (s < startLsn) fs.rmSync(path.join(dir, snapFileName(s)), { force: true });
  for (const l of logs) if (l < startLsn) fs.rmSync(path.join(dir, walFileName(l)), { force: true });
  for (const t of temps) fs.rmSync(path.join(dir, t), { force: true });
  syncDir(dir);
}

// The file that names the segment a persistence directory belongs to (format.md §16, "Files"):
// one line, "name:<segment name>" or "path:<absolute path>".
const SEGMENT_FILE = 'segment';

/** The line that names a store target { name } or { path } (a path made absolute). */
function segmentLine(target) {
  if (target.name !== undefined) return `name:${target.name}`;
  const p = target.path instanceof URL ? require('url').fileURLToPath(target.path) : target.path;
  return `path:${path.resolve(p)}`;
}

/** The segment target ({ name } or { path }) a line of segmentLine() names; null for another line (damage). */
function targetOfLine(line) {
  if (line.startsWith('name:')) return { name: line.slice('name:'.length) };
  if (line.startsWith('path:') && path.isAbsolute(line.slice('path:'.length))) return { path: line.slice('path:'.length) };
  return null;
}

/** The line of `dir`'s segment file, or null when it has none (a directory of an older version). */
function readSegmentLine(dir) {
  const file = path.join(dir, SEGMENT_FILE);
  if (!fs.existsSync(file)) return null;
  return fs.readFileSync(file, 'utf8').trim();
}

/** Records that `dir` belongs to the segment `target` (written whole, then renamed, synced). */
function writeSegmentLine(dir, target) {
  const tmp = path.join(dir, `${SEGMENT_FILE}.tmp`);
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    writeAll(fd, Buffer.from(`${segmentLine(target)}\n`), 0, `writing ${tmp}`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path.join(dir, SEGMENT_FILE));
  syncDir(dir);
}

/**
 * Writes all of `buf` to `fd` at file offset `pos`, with `write` (fs.writeSync's signature; the
 * log's goes through io.js). A write may take fewer bytes than asked (a file size limit or a
 * full disk reached part way, a network or FUSE file system): the rest is written after them,
 * and the next write reports why it cannot go on (its error is thrown as it is). A write that
 * takes no byte and reports nothing is ERR_PERSIST_IO naming `what`. A file whose bytes were
 * not all written is never taken for complete.
 */
function writeAll(fd, buf, pos, what, write = fs.writeSync) {
  for (let done = 0; done < buf.length;) {
    const n = write(fd, buf, done, buf.length - done, pos + done);
    if (!(n > 0)) throw new ShmError('ERR_PERSIST_IO', `persist: ${what}: ${done} of ${buf.length} bytes written, then a write wrote none`);
    done += n;
  }
}

/**
 * Opens `file` ('r' or 'r+') only if it is a regular file: a FIFO, device or socket named like a
 * log, snapshot or manifest is ERR_PERSIST_CORRUPT, not an open or a read that blocks for ever.
 * The open does not block (O_NONBLOCK, which changes nothing for a regular file), and the type is
 * that of what was opened (fstat), so a file swapped in between cannot slip through.
 */
function openRegular(file, flags = 'r') {
  const { O_RDONLY, O_RDWR, O_NONBLOCK } = fs.constants;
  const fd = fs.openSync(file, (flags === 'r+' ? O_RDWR : O_RDONLY) | O_NONBLOCK);
  if (fs.fstatSync(fd).isFile()) return fd;
  fs.closeSync(fd);
  throw new ShmError('ERR_PERSIST_CORRUPT', `persist: ${file} is not a regular file`);
}

/**
 * Makes directory `dir` and the missing ones above it (mode `mode`), as
 * `fs.mkdirSync(dir, { recursive: true })` does, and returns the first one it made (undefined
 * when `dir` was there). One directory at a time, from the deepest one that exists: Node's own
 * recursive form retries a parent without end when mkdir says ENOENT of a parent that exists,
 * which /proc does, so a directory under /proc hung the call; here that ENOENT is the error.
 */
function makeDirs(dir, mode) {
  const missing = [];
  let d = path.resolve(dir);
  for (;;) {
    const st = fs.statSync(d, { throwIfNoEntry: false });
    if (st !== undefined) {
      // Not a directory: the error mkdir gives (EEXIST for `dir` itself, ENOTDIR below it).
      if (!st.isDirectory()) fs.mkdirSync(missing.length > 0 ? missing[missing.length - 1] : d);
      break;
    }
    missing.push(d);
    const up = path.dirname(d);
    if (up === d) break;
    d = up;
  }
  for (let k = missing.length - 1; k >= 0; k--) {
    try {
      fs.mkdirSync(missing[k], { mode });
    } catch (err) {
      // Made meanwhile by another party: go on, as the recursive form does.
      if (err.code !== 'EEXIST' || !fs.statSync(missing[k]).isDirectory()) throw err;
      if (k === missing.length - 1) missing.pop();
    }
  }
  return missing.length > 0 ? missing[missing.length - 1] : undefined;
}

module.exports = {
  openRegular, makeDirs, writeAll,
  walFileName, snapFileName, listFiles, syncDir, removeCovered, SEGMENT_FILE, segmentLine, targetOfLine, readSegmentLine, writeSegmentLine,
};
