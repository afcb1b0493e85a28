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
const { EXPIRY_NEVER } = require('../store/cache-options');
const { walFileName, snapFileName, listFiles, removeCovered, openRegular } = require('./files');
const { ioError } = require('./durable');
const { readSnapshot, snapshotEndLsn } = require('./snapshot');
const { touchedBy } = require('./replay-filter');
const native = require('../base/native');

// The addon's replay of records into a native engine (binding/persist), when there is one.
const applyWal = native.addon && typeof native.addon.applyWal === 'function' ? native.addon.applyWal : null;
const walked = new Float64Array(3);

// The record types a snapshot body may hold (a mask, bit t for type t).
const SNAPSHOT_TYPES = (1 << C.WAL_REC_SET) | (1 << C.WAL_REC_NS_SETTINGS);

// A walker for scanLog or readSnapshot that applies records to the native engine of `store`
// without a JS call per record (the same checks and effects as parseRecord and applyRecord; with
// `types`, only records of those types; with `skip`, a replay filter's bits, not the set records
// it may name, which the caller's onRecord checks), or null.
function nativeWalker(store, nowMs, onError, types = undefined, skip = undefined) {
  if (applyWal === null || store.engine !== 'native') return null;
  return (buf, at, lsn) => {
    const status = applyWal(store._e, buf.subarray(at), lsn, nowMs, walked, types, skip);
    if (status !== 0) onError(Object.assign(new Error('replay'), { status }), lsn + walked[1]);
    return [walked[0], walked[1]];
  };
}

/** Applies one log record to `store` (a base Store handle, no logging). */
function applyRecord(store, r, nowMs) {
  switch (r.type) {
    case C.WAL_REC_SET: {
      // A value whose expiry has passed is gone, and so is the value it replaced.
      if (r.expiresAt !== 0 && r.expiresAt <= nowMs) {
        BaseStore.prototype.delete.call(store, r.ns, r.key);
        return;
      }
      const id = store._id(r.ns, true);
      const payload = r.encoding === C.ENC_BINARY ? Buffer.from(r.value) : r.value.toString('utf8');
      // The logged expiry is the entry's own (0: never), not to be replaced by a namespace default.
      store._e.set(id, r.key, payload, r.encoding, r.expiresAt > 0 ? r.expiresAt : EXPIRY_NEVER);
      return;
    }
    case C.WAL_REC_DELETE:
      BaseStore.prototype.delete.call(store, r.ns, r.key);
      return;
    case C.WAL_REC_CLEAR:
      BaseStore.prototype.clear.call(store, r.ns);
      return;
    case C.WAL_REC_NS_DROP:
      BaseStore.prototype.dropNamespace.call(store, r.ns);
      return;
    case C.WAL_REC_NS_CREATE:
      store._id(r.ns, true);
      return;
    case C.WAL_REC_NS_SETTINGS:
      // Absolute settings: the policy in the encoding field, the default TTL in expiresAt.
      store._e.configureNamespace(store._id(r.ns, true), r.encoding, r.expiresAt);
      return;
    default:
      throw new ShmError('ERR_PERSIST_CORRUPT', `unknown record type ${r.type}`);
  }
}

/**
 * Replays the log file of `startLsn` in `dir` into `store` and returns { records, bytes,
 * cutBytes, reason, end }. With `cut` (the last file) the tail after the valid prefix is cut
 * from the file.
 */
function replayLog(store, dir, startLsn, cut = true) {
  const file = path.join(dir, walFileName(startLsn));
  if (!fs.existsSync(file)) throw new ShmError('ERR_PERSIST_CORRUPT', `persist: the log file ${walFileName(startLsn)} is missing from ${dir}`);
  const now = Date.now();
  const fail = (err, at) => {
    const e = engineError(err, `persist: replaying the record at LSN ${at}`);
    e.message = `${e.message} (the recorded geometry cannot hold the log's state)`;
    throw e;
  };
  const scan = scanLog(file, (r) => {
    try {
      applyRecord(store, r, now);
    } catch (err) {
      fail(err, r.lsn);
    }
  }, nativeWalker(store, now, fail));
  if (scan.headerError) throw new ShmError('ERR_PERSIST_CORRUPT', `persist: ${file}: ${scan.headerError}`);
  if (scan.startLsn !== startLsn) {
    throw new ShmError('ERR_PERSIST_CORRUPT', `persist: ${file} starts at LSN ${scan.startLsn}, its name says ${startLsn}`);
  }
  if (cut && scan.cutBytes > 0) cutTail(file, scan.fileBytes - scan.cutBytes);
  return {
    records: scan.records, bytes: scan.end - startLsn, cutBytes: scan.cutBytes, reason: scan.reason, end: scan.end, fileBytes: scan.fileBytes,
  };
}

function corrupt(message) {
  return new ShmError('ERR_PERSIST_CORRUPT', `persist: ${message}`);
}

/**
 * Rebuilds the state of `dir` in the empty `store` of geometry `geo`: the newest snapshot, then
 * the chain of log files from its LSN, each one's valid prefix ending where the next file
 * starts (only the last may have a tail, which is cut). A damaged snapshot or a gap in the chain
 * throws ERR_PERSIST_CORRUPT; the caller discards the half-built store. Returns the report and
 * the positions for the control segment.
 */
function rebuild(store, dir, geo) {
  const { logs, snaps } = listFiles(dir);
  const now = Date.now();
  let from = 0;
  let snapshot = null;
  if (snaps.length > 0) {
    from = snaps[snaps.length - 1];
    const file = path.join(dir, snapFileName(from));
    const fail = (err) => {
      throw engineError(err, `persist: loading the snapshot ${snapFileName(from)}`);
    };
    // The keys whose final state the log from the snapshot decides are not loaded from it
    // (replay-filter.js): those of the records written while it was read, from its LSN to the
    // end its trailer records (when it records none, the whole log after it).
    const endLsn = snapshotEndLsn(file) || Infinity;
    const filter = touchedBy(logs.filter((l) => l >= from).map((l) => [l, path.join(dir, walFileName(l))]), endLsn);
    let skipped = 0;
    const r = readSnapshot(file, (rec) => {
      try {
        if (rec.type !== C.WAL_REC_SET || !filter.skips(rec.ns, rec.key)) {
          applyRecord(store, rec, now);
          return;
        }
        skipped += 1;
        // The namespace is created as the record would have created it: a namespace whose
        // entries the log from S all deletes (or clears) exists after the replay, as it does in
        // the store (a namespace the log drops is dropped again by the replay).
        if (rec.expiresAt === 0 || rec.expiresAt > now) store._id(rec.ns, true);
      } catch (err) {
        fail(err);
      }
    }, nativeWalker(store, now, fail, SNAPSHOT_TYPES, filter.empty ? undefined : filter.bits));
    if (r.startLsn !== from) throw corrupt(`the snapshot ${snapFileName(from)} says LSN ${r.startLsn}`);
    if (r.geometry.totalSize !== geo.totalSize || r.geometry.bucketCount !== geo.bucketCount ||
        r.geometry.maxEntries !== geo.maxEntries || r.geometry.maxNamespaces !== geo.maxNamespaces) {
      throw corrupt(`the snapshot ${snapFileName(from)} was taken of a store of another geometry`);
    }
    snapshot = { startLsn: from, records: r.records, skipped };
  }
  const chain = logs.filter((l) => l >= from);
  if (chain.length === 0 || chain[0] !== from) {
    throw corrupt(`the log file ${walFileName(from)} is missing from ${dir}${snapshot ? ' (the newest snapshot starts there)' : ''}`);
  }
  let records = 0;
  let bytes = 0;
  let last = null;
  let lastStart = from;
  const leftovers = [];
  const replayed = [];
  for (const start of chain) {
    if (last !== null && (start < last.end || (start === last.end && isLeftover(dir, start)))) {
      // A file the control segment never named: a checkpoint created it and died before it
      // switched to it, and appends went on in the previous file. It holds no record.
      if (!isLeftover(dir, start)) {
        throw corrupt(`the log file ${walFileName(start)} starts at LSN ${start}, inside the records of the previous one (which end at ${last.end})`);
      }
      leftovers.push(start);
      continue;
    }
    if (last !== null && start !== last.end) {
      throw corrupt(`the log file ${walFileName(lastStart)} ends at LSN ${last.end} (${last.reason}), the next one starts at ${start}: records are missing`);
    }
    // Only the last file's tail is cut, once the chain is known to end there.
    last = replayLog(store, dir, start, false);
    lastStart = start;
    replayed.push(start);
    records += last.records;
    bytes += last.bytes;
  }
  if (last.cutBytes > 0) cutTail(path.join(dir, walFileName(lastStart)), last.fileBytes - last.cutBytes);
  // Everything replayed becomes durable (the caller stores durable = end): the files were read
  // back through the page cache, which may hold records no fdatasync ever wrote (the segment was
  // removed without a reboot, or after a failed sync), so each is synced first. The directory is
  // synced by removeCovered below.
  for (const l of replayed) syncLog(path.join(dir, walFileName(l)));
  for (const l of leftovers) fs.rmSync(path.join(dir, walFileName(l)), { force: true });
  // Leftovers of a checkpoint that died after its snapshot was in place.
  removeCovered(dir, from);
  return {
    report: { snapshot, records, bytes, cutBytes: last.cutBytes, reason: last.reason },
    startLsn: lastStart,
    end: last.end,
  };
}

// Whether the log file of `start` holds no record: a valid header and no valid record after
// it, or not even a whole header (a file cut while its header was written; a longer file with a
// damaged header is not taken for a leftover).
function isLeftover(dir, start) {
  const scan = scanLog(path.join(dir, walFileName(start)), () => {});
  if (scan.headerError) return scan.fileBytes <= C.WAL_FILE_HEADER_SIZE;
  return scan.records === 0;
}

// fdatasync of a replayed log file; a failure fails the recovery (ERR_PERSIST_IO): its records
// cannot be called durable.
function syncLog(file) {
  const fd = openRegular(file);
  try {
    fs.fdatasyncSync(fd);
  } catch (err) {
    throw ioError(err, `fdatasync of ${path.basename(file)} during recovery`);
  } finally {
    fs.closeSync(fd);
  }
}

// Shrinks the log file `file` to `size` bytes (held: the recovery lock, after control.fenceStale()).
// Handles store records through shared mappings of the log (wal.js), and a store past the new end
// of a file is a SIGBUS that kills their process, so no live mapping may be stored into past
// `size` from here on. None is: every store into a mapping (wal.js, binding/persist) is made
// holding the append lock, after comparing `recoveries` with its handle's under that lock, and the
// fence raised `recoveries` holding the append lock before this runs, so the handles of the
// replaced segment refuse (ERR_PERSIST_STALE) before they touch their mapping, while the handles
// of the rebuilt store attach only after this, and grow the file before they map it. Their
// prefault (growth.js) is not under the lock, but madvise reports a page past the end with
// EFAULT instead of a signal.
function cutTail(file, size) {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.ftruncateSync(fd, size);
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

module.exports = { applyRecord, replayLog, rebuild };
