'use strict';
// `shmstore ls [paths...]`: the segments in /dev/shm (or the given files and folders), which of
// them are stores (Store.open accepts them) and how many entries those hold.
const fs = require('fs');
const path = require('path');
const { C, AT } = require('../../layout/layout');
const { headerChecksum } = require('../../store/js/format');
const { EXIT, printJson, table } = require('./output');
const { openStore } = require('./target');

const NOT_A_STORE = new Set(['ERR_BAD_MAGIC', 'ERR_BAD_SIZE']);
const H = AT.HEADER;
// The files ls reads are opened without waiting: a FIFO put in the place of a file after its
// stat would otherwise hold the listing until a writer comes (O_NONBLOCK changes nothing for a
// regular file).
const READ_NONBLOCK = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK;

// What a path that is no regular file is, for its row.
function fileType(st) {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'a special file';
}

/**
 * The size a store's own header gives for it, or null when `file` does not begin with a whole,
 * intact store header (its magic and its checksum). Store.open refuses a store whose file is
 * shorter than that size with ERR_BAD_SIZE, as it refuses a segment too small to be a store: this
 * tells the two apart, so that a truncated store is listed as a damaged store, as verify reports
 * it, and not as some other segment.
 */
function headerSize(file) {
  const u32 = new Uint32Array(C.HEADER_SIZE / Uint32Array.BYTES_PER_ELEMENT);
  let fd;
  try {
    fd = fs.openSync(file, READ_NONBLOCK);
    if (fs.readSync(fd, u32, 0, C.HEADER_SIZE, 0) < C.HEADER_SIZE) return null;
  } catch {
    return null;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  if (u32[H.MAGIC] !== C.MAGIC) return null;
  const total = (BigInt(u32[H.TOTAL_SIZE_HI]) << 32n) | BigInt(u32[H.TOTAL_SIZE]);
  const sum = headerChecksum(u32[H.MAGIC], u32[H.VERSION], total, u32[H.BUCKET_COUNT], u32[H.MAX_ENTRIES], u32[H.MAX_NAMESPACES]);
  return u32[H.HEADER_CHECKSUM] === sum ? total : null;
}

/**
 * Whether `file` begins with a store's magic word: false when it is shorter than one or holds
 * another word there, null when it cannot be read (Store.open then reports why).
 */
function hasStoreMagic(file) {
  const word = new Uint32Array(1);
  let fd;
  try {
    fd = fs.openSync(file, READ_NONBLOCK);
    const offset = H.MAGIC * Uint32Array.BYTES_PER_ELEMENT;
    return fs.readSync(fd, word, 0, word.byteLength, offset) === word.byteLength && word[0] === C.MAGIC;
  } catch {
    return null;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function candidates(paths) {
  if (paths.length === 0) {
    return fs.readdirSync('/dev/shm').sort().map((n) => ({ name: n, file: path.join('/dev/shm', n), target: { name: n } }));
  }
  const out = [];
  for (const p of paths) {
    const abs = path.resolve(p);
    const st = fs.statSync(abs, { throwIfNoEntry: false });
    if (st && st.isDirectory()) {
      for (const n of fs.readdirSync(abs).sort()) out.push({ name: path.join(p, n), file: path.join(abs, n), target: { path: path.join(abs, n) } });
    } else out.push({ name: p, file: abs, target: { path: abs } });
  }
  return out;
}

// A file that is not a store: a registry (with its structure count), a damaged registry (its
// magic there, another check of its header failing: a truncated file fails ERR_BAD_SIZE), or
// another segment.
function registryRow(c) {
  // Loaded here, as target.js loads the store: --help works with an addon that cannot load.
  const native = require('../../base/native');
  if (!native.addon) return { kind: 'segment' };
  const { Segment } = require('../../segment/segment');
  const { peekEntries, readHeader } = require('../../registry/table');
  let segment;
  try {
    segment = Segment.open(c.target);
  } catch {
    return { kind: 'segment' };
  }
  try {
    if (segment.buffer.byteLength >= C.REGISTRY_ENTRIES_OFFSET) {
      try {
        readHeader(segment.buffer);
      } catch (err) {
        if (err.code !== 'ERR_BAD_MAGIC') return { kind: `damaged registry (${err.code})` };
      }
    }
    const live = peekEntries(segment.buffer);
    return live === null ? { kind: 'segment' } : { kind: 'registry', entries: live };
  } finally {
    segment.close();
  }
}

function describe(c) {
  const st = fs.statSync(c.file, { throwIfNoEntry: false });
  if (!st) return { name: c.name, size: null, kind: 'missing', entries: null, namespaces: null };
  if (!st.isFile()) {
    // A folder inside a listed folder is not descended into. Anything else that is no regular
    // file (a FIFO, a socket, a device) is listed with why it is not a segment, as Store.open
    // refuses it, and never opened (a FIFO's open or read could wait for a writer).
    if (st.isDirectory()) return null;
    return { name: c.name, size: null, kind: `unreadable (ERR_INVALID_ARG: ${fileType(st)}, not a regular file)`, entries: null,
      namespaces: null };
  }
  const row = { name: c.name, size: st.size, kind: 'segment', entries: null, namespaces: null };
  // A file without a store's magic is no store, and Store.open is not asked: it would take an
  // empty or zero-filled file for a store its creator is still making and wait its lockTimeoutMs
  // (1 s) for the magic, for every such file (raw segments, what a crashed creator left). A store
  // created at this very moment is then listed as a segment, as it is one until its magic is there.
  if (hasStoreMagic(c.file) === false) return Object.assign(row, registryRow(c));
  try {
    const store = openStore(c.target);
    try {
      row.kind = 'store';
      row.entries = store.count();
      row.namespaces = store.stats().namespaces;
    } finally {
      store.close();
    }
  } catch (err) {
    if (err.code === 'ERR_BAD_SIZE' && (headerSize(c.file) ?? 0n) > BigInt(st.size)) {
      row.kind = 'damaged store (ERR_BAD_SIZE: truncated)';
    } else if (NOT_A_STORE.has(err.code)) Object.assign(row, registryRow(c));
    else if (/^ERR_(BAD_|CORRUPT)/.test(err.code || '')) row.kind = `damaged store (${err.code})`;
    else row.kind = `unreadable (${err.code || err.message})`;
  }
  return row;
}

module.exports = {
  usage: 'ls [paths...] [--json]',
  summary: 'list the segments of /dev/shm (or of the given files and folders): size, kind, entries, namespaces',
  help: "kind is 'store' for a shmstore store (with its entry count), 'registry' for a registry (with its\n" +
    "structure count), 'damaged store (ERR_...)' for a store that fails an open check ('damaged store\n" +
    "(ERR_BAD_SIZE: truncated)' when its file is shorter than its header says), 'damaged registry (ERR_...)'\n" +
    "for a registry whose header fails a check (ERR_BAD_SIZE when its file is shorter than it says), 'segment'\n" +
    "for any other file, 'unreadable (ERR_INVALID_ARG: a FIFO, not a regular file)' for a FIFO, a socket or a\n" +
    "device (never opened), 'missing' for a given path that does not exist. Folders inside a folder are not listed.",
  run({ positional, flags }) {
    const rows = candidates(positional).map(describe).filter(Boolean);
    if (flags.json) printJson(rows);
    else {
      process.stdout.write(table(['name', 'size', 'kind', 'entries', 'namespaces'],
        rows.map((r) => [r.name, r.size, r.kind, r.entries, r.namespaces])));
    }
    return EXIT.OK;
  },
};
