'use strict';
// Reading a persistence directory or one of its files without opening the store: what
// `shmstore.persist.inspect(path)` reports (docs/api.md, "Persistence").
const fs = require('fs');
const path = require('path');
const { C } = require('../layout/layout');
const v = require('../base/validate');
const { ShmError } = require('../base/errors');
const { scanLog } = require('./record');
const { readSnapshot } = require('./snapshot');
const { listFiles, walFileName, snapFileName } = require('./files');
const { onPath } = require('./durable');

const TYPE_NAMES = {
  [C.WAL_REC_SET]: 'set',
  [C.WAL_REC_DELETE]: 'delete',
  [C.WAL_REC_CLEAR]: 'clear',
  [C.WAL_REC_NS_CREATE]: 'nsCreate',
  [C.WAL_REC_NS_DROP]: 'nsDrop',
  [C.WAL_REC_NS_SETTINGS]: 'nsSettings',
};

// A file of a directory that is not a regular file (a FIFO named like a log) is reported, not
// read: a read could block for ever.
function notRegular(file, kind) {
  return fs.statSync(file).isFile() ? null : { file, kind, ok: false, error: 'not a regular file', bytes: 0 };
}

function inspectLog(file) {
  const odd = notRegular(file, 'log');
  if (odd !== null) return odd;
  const types = { set: 0, delete: 0, clear: 0, nsCreate: 0, nsDrop: 0, nsSettings: 0 };
  const scan = scanLog(file, (r) => { types[TYPE_NAMES[r.type]] += 1; });
  if (scan.headerError) return { file, kind: 'log', ok: false, error: scan.headerError, bytes: scan.fileBytes };
  return {
    file, kind: 'log', ok: true, startLsn: scan.startLsn, end: scan.end, records: scan.records, types,
    bytes: scan.fileBytes, zeroBytes: scan.zeroBytes, cutBytes: scan.cutBytes, reason: scan.reason,
  };
}

function inspectSnapshot(file) {
  const odd = notRegular(file, 'snapshot');
  if (odd !== null) return odd;
  try {
    const r = readSnapshot(file, () => {});
    return { file, kind: 'snapshot', ok: true, startLsn: r.startLsn, records: r.records, geometry: r.geometry, bytes: fs.statSync(file).size };
  } catch (err) {
    if (err.code !== 'ERR_PERSIST_CORRUPT') throw err;
    return { file, kind: 'snapshot', ok: false, error: err.message, bytes: fs.statSync(file).size };
  }
}

/**
 * Reports on a log file, a snapshot file, or every log and snapshot file of a persistence
 * directory: { files: [...] }, each with ok, its LSNs, record counts, and for a log the bytes
 * of a damaged tail (cutBytes) and why its valid records end (reason). Never changes anything.
 */
function inspect(target) {
  v.validateString(target, 'path', { minLength: 1 });
  const p = path.resolve(target);
  return onPath(p, () => inspectPath(p));
}

function inspectPath(p) {
  if (!fs.existsSync(p)) throw new ShmError('ERR_SHM_NOT_FOUND', `persist: ${p} does not exist`);
  const st = fs.statSync(p);
  // A FIFO, a device or a socket is never read: a read could block for ever.
  if (!st.isDirectory() && !st.isFile()) throw new ShmError('ERR_INVALID_ARG', `persist: ${p} is neither a directory nor a regular file`);
  if (st.isDirectory()) {
    const { logs, snaps } = listFiles(p);
    return {
      dir: p,
      files: [
        ...snaps.map((s) => inspectSnapshot(path.join(p, snapFileName(s)))),
        ...logs.map((l) => inspectLog(path.join(p, walFileName(l)))),
      ],
    };
  }
  const base = path.basename(p);
  if (base.endsWith('.snap')) return { files: [inspectSnapshot(p)] };
  return { files: [inspectLog(p)] };
}

module.exports = { inspect };
