'use strict';
// Store.restore(): a backup (backup.js) checked completely, then copied into a new persistence
// directory with a new control segment, and opened, which rebuilds the store from the copies.
const fs = require('fs');
const path = require('path');
const v = require('../base/validate');
const { ShmError } = require('../base/errors');
const { requireAddon } = require('../base/native');
const { Segment } = require('../segment/segment');
const { Store: BaseStore } = require('../store/store');
const { Control, SYNC_NAMES, newStoreId } = require('./control');
const { checkBackup, policyOfManifest, modeOfManifest, removeStaleMarkerFiles } = require('./backup');
const { syncDir, makeDirs } = require('./files');
const { onPath } = require('./durable');
const { targetOf } = require('./options');

const RESTORE_KEYS = ['name', 'path', 'dir', 'mode', 'engine', 'lockTimeoutMs'];

/**
 * Restores the backup in directory `from` as the new persisted store `target` ({ name | path,
 * dir, mode?, engine?, lockTimeoutMs? }): neither the segment nor a store in target.dir may exist.
 * The segment gets target.mode, else the mode the manifest records (0o600 in one without it).
 * Every file of the backup is checked first (ERR_PERSIST_CORRUPT, with nothing created, when any
 * check fails). Returns the store, opened with StoreClass.open.
 */
function restoreBackup(StoreClass, from, target) {
  v.validateString(from, 'from', { minLength: 1 });
  v.validateObject(target, 'target');
  v.validateKeys(target, 'target', RESTORE_KEYS);
  v.validateString(target.dir, 'target.dir', { minLength: 1 });
  if ((target.name === undefined) === (target.path === undefined)) throw v.typeError('Exactly one of "target.name" and "target.path" is required');
  // As Store.create checks options.mode (Segment.create).
  if (target.mode !== undefined) v.validateInteger(target.mode, 'target.mode', 0, 0o777);
  requireAddon();
  const src = path.resolve(from);
  const dir = path.resolve(target.dir);
  const m = checkBackup(src);
  // What a backup killed while it took the directory's name left there (its marker file, not
  // listed): removed when its process is gone, as the next backup there would; a directory this
  // restore cannot write (read-only media) is left as it is.
  removeStaleMarkerFiles(src, true);
  if (fs.existsSync(path.join(dir, 'control'))) throw new ShmError('ERR_SHM_EXISTS', `persist: ${dir} already holds a persisted store`);
  const where = targetOf(target);
  let exists = false;
  try {
    Segment.open(where).close();
    exists = true;
  } catch (err) {
    if (err.code !== 'ERR_SHM_NOT_FOUND') throw err;
  }
  if (exists) throw new ShmError('ERR_SHM_EXISTS', `persist: the segment ${target.name || target.path} already exists`);
  // An error making the target's directories is the target's, not the backup's.
  onPath(dir, () => makeDirs(dir, 0o700));
  const copied = [];
  // Whether this restore won the exclusive create of the control file: only then are the
  // directory's files its own, to copy and, on failure, to remove.
  let ownsDir = false;
  try {
    // The control file is created (exclusively) before any file is copied, and the files are
    // copied before its stamp (as a creator makes its first log file): a restore that lost the
    // create to another restore, or to a creator, copies and removes nothing, so it never
    // replaces in place (shrinking it first) a log file the winner's store already appends to
    // through a shared mapping (a store past the new end of a file is a SIGBUS that kills that
    // process), nor removes the winner's files. An opener meanwhile finds the control file
    // without its magic and waits, as it waits for a creator.
    const beforeStamp = () => {
      ownsDir = true;
      for (const f of m.files) {
        fs.copyFileSync(path.join(src, f.name), path.join(dir, f.name));
        copied.push(f.name);
      }
    };
    // A store id of its own: from here on the restored store's log differs from the backed-up
    // store's (its own writes follow the backup's end), and backup.js extends the files of a
    // backup only for the same store id, so a backup of one never extends the other's files.
    let control;
    try {
      control = new Control(dir, {
        ...m.geometry, syncMode: SYNC_NAMES.indexOf(m.sync), intervalMs: m.intervalMs, checkpointBytes: m.checkpointBytes, checkpointMs: m.checkpointMs || 0,
        storeId: newStoreId(), storePolicy: policyOfManifest(m), segmentMode: target.mode === undefined ? modeOfManifest(m) : target.mode,
        mode: 0o600, beforeStamp,
      }, BaseStore._lockTimeout(target));
    } catch (err) {
      if (!ownsDir && err.code === 'ERR_SHM_EXISTS') {
        throw new ShmError('ERR_SHM_EXISTS', `persist: ${dir} already holds a persisted store`, { cause: err });
      }
      throw err;
    }
    // Left not ready: the open below (or any opener first) recovers the store from the copies.
    control.unlockRecovery();
    control.close();
    syncDir(dir);
    // The mode is the control segment's now: the open's rebuild creates the segment with it.
    const { dir: _dir, mode: _mode, ...segmentOpts } = target; // eslint-disable-line no-unused-vars
    return StoreClass.open({ ...segmentOpts, persist: { dir } });
  } catch (err) {
    if (ownsDir) {
      for (const f of copied) fs.rmSync(path.join(dir, f), { force: true });
      fs.rmSync(path.join(dir, 'control'), { force: true });
    }
    throw err;
  }
}

module.exports = { restoreBackup };
