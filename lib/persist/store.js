'use strict';
// The public Store: the store room's facade plus persistence. Without `persist` it is exactly
// the store facade; with `persist: { dir, sync }` it keeps a write-ahead log and snapshots in
// `dir`: this file opens, creates, recovers, checkpoints, backs up and closes such a store, and
// its mutations are logged as logged-store.js says (docs/format.md §16). The store room cannot
// know this room (rooms point down), so this class extends the store facade and index.js
// exports it as `Store`.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { C } = require('../layout/layout');
const v = require('../base/validate');
const { ShmError } = require('../base/errors');
const { sleepMs } = require('../base/process');
const native = require('../base/native');
const { requireAddon } = native;
const { Segment, DEFAULT_MODE } = require('../segment/segment');
const { Control, newStoreId } = require('./control');
const { Wal, createLogFile } = require('./wal');
const { walFileName, syncDir, segmentLine, targetOfLine, readSegmentLine, writeSegmentLine, SEGMENT_FILE, makeDirs } = require('./files');
const { onPath } = require('./durable');
const { rebuild } = require('./recovery');
const { checkpoint, checkpointTimer } = require('./checkpoint');
const { backup } = require('./backup');
const { checkPersist, geometryOf, storePolicyOf, geometryFault, targetOf } = require('./options');
const { POLICY_NAMES } = require('../store/cache-options');
const { restoreBackup } = require('./restore');
const { LoggedStore, setRecord, notPersisted } = require('./logged-store');
const { checkAttached, takeTag, checkReplaceable, checkNotElsewhere } = require('./tag');

// Removes the directories from `made` (the first one a recursive mkdir made) down to `dir`, each
// only while it is empty: what another party put there meanwhile stays, with its directories.
function removeMade(dir, made) {
  if (made === undefined) return;
  const top = path.resolve(made);
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      fs.rmdirSync(d);
    } catch {
      return;
    }
    if (d === top || path.dirname(d) === d) return;
  }
}

class Store extends LoggedStore {
  /** Creates a store; with `persist`, a persisted one whose log and control live in persist.dir. */
  static create(opts) {
    if (opts === null || typeof opts !== 'object' || opts.persist === undefined) return super.create(opts);
    const { persist, ...rest } = opts;
    const p = checkPersist(persist, true);
    if (rest.buffer !== undefined) throw v.typeError('"options.persist" needs a segment ("options.name" or "options.path"), not "options.buffer"');
    requireAddon();
    // A file system error on the directory is a ShmError with the code of its cause.
    return onPath(p.dir, () => Store.#createPersisted.call(this, p, rest));
  }

  static #createPersisted(p, rest) {
    const st = fs.statSync(p.dir, { throwIfNoEntry: false });
    if (st !== undefined && !st.isDirectory()) {
      throw new ShmError('ERR_INVALID_ARG', `persist: ${p.dir} exists and is not a directory`, { errno: os.constants.errno.EEXIST, syscall: 'mkdir' });
    }
    // The first directory this call made (undefined: the whole path was there): what a create
    // that fails takes away again, so that a refused create leaves the file system as it was.
    const made = makeDirs(p.dir, 0o700);
    let store;
    try {
      if (fs.existsSync(path.join(p.dir, 'control'))) {
        throw new ShmError('ERR_SHM_EXISTS', `persist: ${p.dir} already holds a persisted store (open it with Store.open)`);
      }
      store = super.create(rest);
    } catch (err) {
      removeMade(p.dir, made);
      throw err;
    }
    // The segment records the store's id before anything else can find the store ready (tag.js):
    // an opener of another directory that took the fresh segment first refuses this create.
    const storeId = newStoreId();
    let tagged = false;
    let control = null;
    // Whether this creator won the exclusive create of the control file: only then are the
    // directory's files its own, to make and, on failure, to remove (a creator of another segment
    // in the same directory that lost must leave the winner's files alone).
    let ownsDir = false;
    try {
      takeTag(store._buffer, targetOf(rest), p.dir, storeId);
      tagged = true;
      const geo = geometryOf(store._buffer);
      // The first log file exists before the control file is stamped: a stamped control file
      // always has its log, so an opener that takes the recovery lock over from a creator killed
      // before ready rebuilds an empty store (a control file without its log is damage). A log
      // file found here is a creator's that died before its stamp: nothing was ever logged.
      const beforeStamp = () => {
        ownsDir = true;
        fs.rmSync(path.join(p.dir, walFileName(0)), { force: true });
        createLogFile(p.dir, 0);
      };
      // The store's policy and its segment's mode are stamped with its geometry: a rebuild, even
      // one after a creator killed right after its stamp, creates the store as this creator did.
      // The mode is the one this creator gave its segment (Segment.create applies it exactly).
      control = new Control(p.dir, { ...geo, syncMode: p.syncMode, intervalMs: p.intervalMs, checkpointBytes: p.checkpointBytes, checkpointMs: p.checkpointMs, storeId,
        storePolicy: storePolicyOf(store._buffer), segmentMode: rest.mode === undefined ? DEFAULT_MODE : rest.mode, mode: 0o600, beforeStamp },
      LoggedStore._lockTimeout(rest));
      writeSegmentLine(p.dir, targetOf(rest));
      control.resetPositions(0, 0);
      control.ready = true;
      syncDir(p.dir);
      store._persist(control, p.dir, null);
      // Held since the control file was stamped (control.js): openers waited for this.
      control.unlockRecovery();
      return store;
    } catch (err) {
      if (control) {
        control.unlockRecovery();
        control.close();
      }
      store.close();
      Segment.unlink(targetOf(rest));
      if (ownsDir) {
        fs.rmSync(path.join(p.dir, 'control'), { force: true });
        fs.rmSync(path.join(p.dir, walFileName(0)), { force: true });
        fs.rmSync(path.join(p.dir, SEGMENT_FILE), { force: true });
      }
      removeMade(p.dir, made);
      // Lost the exclusive create of the control file (not the segment's tag) to another creator.
      if (!ownsDir && tagged && err.code === 'ERR_SHM_EXISTS') {
        throw new ShmError('ERR_SHM_EXISTS', `persist: ${p.dir} already holds a persisted store (open it with Store.open)`, { cause: err });
      }
      throw err;
    }
  }

  /**
   * Opens a store; with `persist`, attaches to its segment, or rebuilds the segment from the
   * log in persist.dir when it is gone (then store.persistence.recovery says what was done).
   */
  static open(opts) {
    if (opts === null || typeof opts !== 'object' || opts.persist === undefined) return super.open(opts);
    const { persist, ...rest } = opts;
    const p = checkPersist(persist, false);
    requireAddon();
    return onPath(p.dir, () => Store.#openPersisted.call(this, p, rest));
  }

  // openOrCreate (the store facade's) with `persist`: the creator's persist options, and the
  // directory alone for an opener.
  static _openOrCreateOptions(opts) {
    if (opts === null || typeof opts !== 'object' || opts.persist === undefined) return super._openOrCreateOptions(opts);
    const { persist, ...rest } = opts;
    const o = super._openOrCreateOptions(rest);
    checkPersist(persist, true);
    return { create: { ...o.create, persist }, open: { ...o.open, persist: { dir: persist.dir } } };
  }

  static #openPersisted(p, rest) {
    if (!fs.existsSync(path.join(p.dir, 'control'))) {
      throw new ShmError('ERR_SHM_NOT_FOUND', `persist: ${p.dir} holds no persisted store (no control file)`);
    }
    const control = Store.#openControl(p.dir, LoggedStore._lockTimeout(rest));
    let store = null;
    try {
      control.lockRecovery();
      try {
        // A copy of a directory is a store of its own from its first open that is not refused
        // (control.js): its new id is checked against the segment found, and stored once the
        // open goes on (#checkOwner, #recover).
        control.adoptCopy();
        let recovery = null;
        if (control.ready) {
          try {
            store = super.open(rest);
          } catch (err) {
            if (err.code !== 'ERR_SHM_NOT_FOUND') throw err;
          }
          if (store !== null) Store.#checkOwner(store, rest, control, p.dir);
        }
        if (store === null) {
          // A segment found under the name the directory records, while another name was given,
          // is refused before anything changes (tag.js checkNotElsewhere); not at the first open
          // of a directory of an earlier version, which cannot be told from a copy of it made
          // before (the copy, opened under a name of its own, is rebuilt there).
          const recorded = readSegmentLine(p.dir);
          const elsewhere = recorded === null ? null : targetOfLine(recorded);
          if (elsewhere !== null && recorded !== segmentLine(targetOf(rest)) && !control.inodeFirstRecorded) {
            checkNotElsewhere(elsewhere, targetOf(rest), p.dir, control.storeIdValue);
          }
          [store, recovery] = this.#recover(rest, control, p.dir);
          if (rest.latency === true) store.enableLatency();
          // Written only when it changes: a rebuild after a reboot, under the name recorded, on a
          // full disk opens the store it rebuilt rather than fail after the rebuild.
          if (recorded !== segmentLine(targetOf(rest))) writeSegmentLine(p.dir, targetOf(rest));
        }
        // A control file written before it recorded the store's policy gets the policy of the
        // store this handle has (its creator's, while the segment lives): a later rebuild keeps it.
        control.keepCopyId(); // stored by now: nothing is left pending past the open
        if (control.storePolicy === null) control.recordPolicy(storePolicyOf(store._buffer));
        // Likewise its segment's mode: the permission bits of the segment this handle mapped (its
        // creator's while it lives, or what the rebuild above gave it).
        if (control.segmentMode === null) control.recordMode(store._segment.mode);
        store._persist(control, p.dir, recovery);
        store._p.wal.upgradeFile();
        return store;
      } finally {
        control.unlockRecovery();
      }
    } catch (err) {
      if (store) store.close();
      // A copy refused before its new id was stored (another store's segment under its name) is
      // left as it was found; the message says why it has an id of its own all the same.
      if (err.code === 'ERR_SHM_EXISTS' && control.copyIdPending) {
        err.message += ` (${p.dir} is a copy of a persistence directory: its control file is not the file it was made as, ` +
          'as a copy or a move to another file system leaves it; it gets a store id of its own at its first open that is not refused)';
      } else if (err.code === 'ERR_SHM_EXISTS' && control.copyIdKept) {
        // Refused after the new id was stored (another directory's open tagged the segment
        // first): the message says what this open changed.
        err.message = err.message.replace('Nothing was changed.', `The control file of ${p.dir}, a copy of a persistence directory, ` +
          `was given a store id of its own (${control.storeId}); nothing else was changed.`);
      }
      control.close();
      throw err;
    }
  }

  // The control file of `dir`, waited for up to lockTimeoutMs while its creator has not sized it
  // or stamped its magic yet (control.js).
  static #openControl(dir, lockTimeoutMs) {
    const deadline = performance.now() + lockTimeoutMs;
    for (;;) {
      try {
        return new Control(dir, null, lockTimeoutMs);
      } catch (err) {
        if (!err.unfinished) throw err;
        if (performance.now() >= deadline) {
          // Not finished after lockTimeoutMs: its creator died before the stamp, so the store
          // never held anything (an opener never rebuilds from such a file).
          err.message += `; still unfinished after ${lockTimeoutMs} ms, as a creator killed part way leaves it: remove ${path.join(dir, 'control')} (and the segment, if it exists) and create or restore the store again`;
          throw err;
        }
      }
      sleepMs(1);
    }
  }

  /**
   * Restores the backup in directory `from` (store.backup()) as a new persisted store (see
   * restore.js). Returns the open store.
   */
  static restore(from, target) {
    return onPath(typeof from === 'string' ? from : 'restore', () => restoreBackup(this, from, target));
  }

  // Rebuilds the segment (held: the recovery lock): a store of the recorded geometry, then the
  // log replayed. Returns [store, report].
  // The segment found must be the one `dir` logs (format.md §16, "Files"): the directory's
  // segment file names it, and its geometry is the control's. Another store's segment would
  // have its writes logged here and its contents checkpointed over this store's log.
  // The segment must also record the directory's storeId (tag.js): a segment of the same name
  // and geometry may hold another directory's store. One that records no id (written before the
  // tag existed) is taken once the rest is found to be this directory's.
  static #checkOwner(store, rest, control, dir) {
    const untagged = checkAttached(store._buffer, targetOf(rest), dir, control.storeIdValue);
    const recorded = readSegmentLine(dir);
    const given = segmentLine(targetOf(rest));
    const geo = geometryOf(store._buffer);
    const want = control.geometry;
    const sameGeometry = ['totalSize', 'bucketCount', 'maxEntries', 'maxNamespaces'].every((k) => geo[k] === want[k]);
    if ((recorded !== null && recorded !== given) || !sameGeometry) {
      throw new ShmError('ERR_INVALID_ARG', `persist: ${dir} holds the log of ${recorded === null ? 'another store' : recorded.replace(/^[a-z]+:/, '')}` +
        `${sameGeometry ? '' : ' (another geometry)'}, not of ${given.replace(/^[a-z]+:/, '')}`);
    }
    // The segment is this directory's: a copy's new id is stored now, before a tag records it.
    control.keepCopyId();
    if (untagged) takeTag(store._buffer, targetOf(rest), dir, control.storeIdValue);
    if (recorded === null) writeSegmentLine(dir, targetOf(rest)); // a directory of an older version
  }

  static #recover(rest, control, dir) {
    // The recorded policy, or 'none' (what every rebuild gave before it was recorded) in a file
    // without it; and the recorded permission bits of the segment, or 0o600 (likewise). Both are
    // read, and a damaged record refused (ERR_PERSIST_CORRUPT), before anything changes: a refused
    // open leaves `ready`, `recoveries` and the segment as it found them, whatever damaged the
    // words since Control#check saw them whole.
    const policy = control.storePolicy === null ? C.POLICY_NONE : control.storePolicy;
    const mode = control.segmentMode === null ? DEFAULT_MODE : control.segmentMode;
    // The geometry the store is rebuilt with, read once and checked here, before anything changes,
    // as the policy and the mode are. A sealed control header had its checksum checked when the
    // file was opened (control.js). A file written before the checksum has none: damage to its
    // geometry is found by the rules a store's geometry follows (a geometry that follows them is
    // rebuilt as recorded; a snapshot's then refuses it unless it is the snapshot's). Both kinds of
    // file pass here.
    const geo = control.geometry;
    const fault = geometryFault(geo);
    if (fault !== null) {
      throw new ShmError('ERR_PERSIST_CORRUPT', `persist: ${path.join(dir, 'control')} records a geometry no store can have (${fault}): the file is damaged`);
    }
    // What the unlink below would remove must not be another store's segment (tag.js); refused
    // before anything changes.
    checkReplaceable(targetOf(rest), dir, control.storeIdValue, control.self, geo.totalSize);
    // From here on the rebuild changes the directory's state: a copy's new id is stored (before
    // the rebuilt segment records it), the control file is not ready and the old segment is gone
    // until the rebuild succeeds.
    control.keepCopyId();
    control.ready = false;
    try {
      Segment.unlink(targetOf(rest));
    } catch (err) {
      if (err.code !== 'ERR_SHM_NOT_FOUND') throw err;
    }
    // The replay is not timed: latency (if asked for) is turned on once the store is rebuilt.
    // Handles still attached to the segment this replaces (removed while they had it mapped)
    // append no more from here; what they appended before is in the log read below. The fence
    // comes before the rebuild, which may cut the log's tail: a handle that still stored records
    // through its mapping of the log after the cut would die of SIGBUS (recovery.js, cutTail).
    control.fenceStale();
    const store = super.create({ ...rest, size: geo.totalSize, buckets: geo.bucketCount, maxEntries: geo.maxEntries,
      maxNamespaces: geo.maxNamespaces, eviction: POLICY_NAMES[policy], mode, latency: false });
    try {
      takeTag(store._buffer, targetOf(rest), dir, control.storeIdValue);
      const start = Date.now();
      const r = rebuild(store, dir, geo);
      // Every replayed log file was synced by rebuild(): durable may be its end.
      control.resetPositions(r.end, r.startLsn);
      // The log was read back from the disk: what it holds is what a failed sync left.
      control.clearFailed();
      control.ready = true;
      return [store, { ...r.report, ms: Date.now() - start }];
    } catch (err) {
      // Never half loaded: the segment the failed rebuild filled is removed.
      store.close();
      Segment.unlink(targetOf(rest));
      throw err;
    }
  }

  _persist(control, dir, recovery) {
    control.attached();
    const wal = new Wal(dir, control);
    const mode = control.syncMode;
    const intervalMs = control.intervalMs;
    let timer = null;
    if (mode === 'interval') {
      // A write checks the age of the last sync too; the timer covers a log that stopped growing.
      timer = setInterval(() => {
        if (control.durable < control.tail) wal.flushAsync().catch(() => {});
      }, intervalMs);
      timer.unref();
    }
    // The native engine logs a set in the same call that writes it (wal_append.h); the JS engine
    // and every other mutation go through the Wal.
    const addon = native.addon;
    const writer = addon && typeof addon.createLogWriter === 'function' && this._e instanceof addon.NativeStore
      ? addon.createLogWriter(this._e, new Uint8Array(control.segment.buffer, 0, C.PERSIST_CONTROL_BYTES), control.slot)
      : null;
    if (writer !== null) wal.attachWriter(writer);
    // The JS engine's set seals the thread's set record natively when the addon can (wal.putSet).
    else if (addon && typeof addon.createRecordSealer === 'function') {
      wal.attachSealer(addon.createRecordSealer(setRecord.u8, new Uint8Array(control.segment.buffer, 0, C.PERSIST_CONTROL_BYTES), control.slot, this._out));
    }
    this._fence = control.u32;
    this._fenceSeen = control.seenRecoveries;
    this._p = {
      control, wal, dir, mode, intervalMs, timer, recovery, checkpointTimer: null, writer, writerNs: null,
      checkpointBytes: control.checkpointBytes, checkpointScheduled: false, lastCheckpointError: null,
    };
    this._p.checkpointTimer = checkpointTimer(this, this._p);
  }

  /** What the persistence of this handle is: null for a store without `persist`. */
  get persistence() {
    // First: close() forgets the persistence, and a closed handle is not one without it.
    this._live();
    const p = this._p;
    if (p === null) return null;
    return {
      dir: p.dir,
      sync: p.mode,
      intervalMs: p.mode === 'interval' ? p.intervalMs : undefined,
      checkpointBytes: p.checkpointBytes,
      checkpointMs: p.control.checkpointMs,
      tail: p.control.tail,
      durable: p.control.durable,
      logStart: p.control.startLsn,
      checkpoints: p.control.checkpoints,
      lastCheckpointError: p.lastCheckpointError,
      recovery: p.recovery,
    };
  }


  /**
   * Writes a snapshot of the store while writers keep writing and removes the log it covers
   * (waits for a checkpoint running in another handle first). Returns { startLsn, records,
   * bytes, ms }.
   */
  checkpoint() {
    this._live(); // first: close() forgets the persistence (ERR_CLOSED, not "needs persist")
    const p = this._p;
    if (p === null) throw notPersisted('checkpoint');
    return checkpoint(this, p);
  }

  /**
   * Copies what a restore needs into directory `dir`: the newest snapshot and the log after it up
   * to the durable position (syncing first), with a checksummed manifest. A later backup into
   * the same directory copies only what changed since (a new snapshot, the log's new bytes).
   * Returns { files, bytesCopied, bytesTotal, end, ms }.
   */
  backup(dir) {
    this._live();
    const p = this._p;
    v.validateString(dir, 'dir', { minLength: 1 }); // the argument first, then the state
    if (p === null) throw notPersisted('backup');
    const to = path.resolve(dir);
    // No persistence directory is a backup's: this store's (by whatever path reaches it, a
    // symbolic link included) or another store's. The copies would replace its log files in
    // place, shrinking each under the shared mappings its appenders store records through (a
    // store past the new end of a file is a SIGBUS that kills their process), and the backup's
    // cleanup would remove its control file. Every persistence directory holds `control`, and
    // the backup takes that name in its directory exclusively before it writes anything there
    // (backup.js, claimDir), so a store created there at any moment is refused or found.
    if (to === p.dir) {
      throw v.typeError('The "dir" argument must not be a persistence directory (this store\'s, or another store\'s)');
    }
    return onPath(to, () => backup(p, to, () => p.wal.waitDurable(p.control.tail)));
  }

  /**
   * Resolves once every write logged so far, by any handle of any process, is on stable
   * storage; never blocks the event loop. Resolves at once for a store without `persist`.
   */
  flush() {
    try {
      this._live();
    } catch (err) {
      return Promise.reject(err);
    }
    if (this._p === null) return Promise.resolve();
    return this._p.wal.flushAsync();
  }

  close() {
    const p = this._p;
    if (p !== null && !this.closed) {
      this._p = null;
      this._fence = null;
      if (p.timer) clearInterval(p.timer);
      if (p.checkpointTimer) clearInterval(p.checkpointTimer);
      try {
        // A clean close of an interval-mode handle leaves its writes durable.
        if (p.mode === 'interval' && !p.control.failed) p.wal.waitDurable(p.control.tail);
      } finally {
        // The control segment stays mapped until the log's asynchronous syncs are done.
        p.wal.close(() => p.control.close());
      }
    }
    super.close();
  }
}

module.exports = { Store };
