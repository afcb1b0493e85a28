'use strict';
// Rebuilding a persisted store whose segment is gone (a reboot, or a segment removed by hand):
// a fresh store of the recorded geometry, then the log's valid prefix replayed in order
// (docs/format.md §16, "Recovery"). The torn or damaged tail after the valid prefix is cut from
// the file, so that it is never replayed and later appends do not follow garbage.
const fs = require('fs');
const path = require('path');
const { C } = require('../layout/layout');
const { ShmError } = require('../base/errors');
const { Store: BaseStore, engineError } = require('../store/store');
const { scanLog } = require('./record');
const { walFileName } = require('./wal');

/** Applies one log record to `store` (a base Store handle, no logging). */
function applyRecord(store, r, nowMs) {
  switch (r.type) {
    case C.WAL_REC_SET: {
      // A value whose expiry has passed is gone, and so is the value it replaced.
      if (r.expiresAt !== 0n && r.expiresAt <= BigInt(nowMs)) {
        BaseStore.prototype.delete.call(store, r.ns, r.key);
        return;
      }
      const id = store._id(r.ns, true);
      const payload = r.encoding === C.ENC_BINARY ? Buffer.from(r.value) : r.value.toString('utf8');
      store._e.set(id, r.key, payload, r.encoding);
      return;
    }
    case C.WAL_REC_DELETE:
      BaseStore.prototype.delete.call(store, r.ns, r.key);
      return;
    case C.WAL_REC_CLEAR:
    case C.WAL_REC_NS_DROP:
      // This version's store keeps namespaces forever: a drop replays as a clear.
      BaseStore.prototype.clear.call(store, r.ns);
      return;
    case C.WAL_REC_NS_CREATE:
      store._id(r.ns, true);
      return;
    default:
      throw new ShmError('ERR_PERSIST_CORRUPT', `unknown record type ${r.type}`);
  }
}

/**
 * Replays the log file of `control.startLsn` in `dir` into `store`, cuts its tail after the
 * valid prefix and returns { records, bytes, cutBytes, reason, end }.
 */
function replayLog(store, dir, startLsn) {
  const file = path.join(dir, walFileName(startLsn));
  if (!fs.existsSync(file)) throw new ShmError('ERR_PERSIST_CORRUPT', `persist: the log file ${walFileName(startLsn)} is missing from ${dir}`);
  const now = Date.now();
  let at = startLsn;
  const scan = scanLog(file, (r) => {
    at = r.lsn;
    try {
      applyRecord(store, r, now);
    } catch (err) {
      const e = engineError(err, `persist: replaying the record at LSN ${at}`);
      e.message = `${e.message} (the recorded geometry cannot hold the log's state)`;
      throw e;
    }
  });
  if (scan.headerError) throw new ShmError('ERR_PERSIST_CORRUPT', `persist: ${file}: ${scan.headerError}`);
  if (scan.startLsn !== startLsn) {
    throw new ShmError('ERR_PERSIST_CORRUPT', `persist: ${file} starts at LSN ${scan.startLsn}, its name says ${startLsn}`);
  }
  if (scan.cutBytes > 0) {
    const fd = fs.openSync(file, 'r+');
    try {
      fs.ftruncateSync(fd, scan.fileBytes - scan.cutBytes);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  return { records: scan.records, bytes: scan.end - startLsn, cutBytes: scan.cutBytes, reason: scan.reason, end: scan.end };
}

module.exports = { applyRecord, replayLog };
