'use strict';
// Helpers of the persistence tests (test/55-persist): a persisted store in a fresh directory,
// "rebooting" it (every handle closed, the shared memory segment removed) and copying a
// directory so that one log can be damaged many ways.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Store, Segment } = require('../../index');
const { uniqueName, removeShm } = require('./process');

/** A fresh { name, dir } pair, removed by cleanup(). */
function persistTarget(tag = 'p') {
  const name = uniqueName(tag);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-persist-'));
  return {
    name,
    dir,
    cleanup() {
      removeShm(name);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Removes the store's segment, as a reboot does (its handles must be closed). */
function reboot(name) {
  try {
    Segment.unlink({ name });
  } catch (err) {
    if (err.code !== 'ERR_SHM_NOT_FOUND') throw err;
  }
}

/** Reboots and reopens: the store rebuilt from `dir`. */
function recover(name, dir, engine) {
  reboot(name);
  return Store.open({ name, engine, persist: { dir } });
}

/** Copies every file of directory `from` into a new temporary directory. */
function copyDir(from) {
  const to = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-persist-copy-'));
  for (const f of fs.readdirSync(from)) fs.copyFileSync(path.join(from, f), path.join(to, f));
  return to;
}

/** The path of the one log file in `dir`. */
function logFile(dir) {
  const logs = fs.readdirSync(dir).filter((f) => /^wal-[0-9a-f]{16}\.log$/.test(f));
  if (logs.length !== 1) throw new Error(`expected one log file in ${dir}, found ${logs.join(', ')}`);
  return path.join(dir, logs[0]);
}

/** Every [key, value] of namespace `ns`, sorted by key. */
function contents(store, ns) {
  return store.entries(ns).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** A new control segment in `dir` (lib/persist/control.js) for a small store, sync 'always'. */
function newControl(dir) {
  const { Control, newStoreId } = require('../../lib/persist/control');
  const { C } = require('../../lib/layout/layout');
  return new Control(dir, {
    totalSize: 1 << 22, bucketCount: 1024, maxEntries: 1024, maxNamespaces: 255, syncMode: 2, intervalMs: 0,
    checkpointBytes: 0, checkpointMs: 0, storeId: newStoreId(), storePolicy: C.POLICY_NONE, segmentMode: 0o600, mode: 0o600,
  }, 1000);
}

/**
 * Makes the control header in `u32` (the words of a mapped control file) one written before its
 * checksum existed (docs/format.md §16, "Control segment"): seal and checksum 0. Every file of
 * control version 1 is such a file.
 */
function unseal(u32) {
  const { C, W } = require('../../lib/layout/layout');
  const WORD = Uint32Array.BYTES_PER_ELEMENT;
  Atomics.store(u32, C.PERSIST_RECOVERY_OFFSET / WORD + W.PERSIST_RECOVERY.HEADER_SEAL, 0);
  Atomics.store(u32, C.PERSIST_HEADER_OFFSET / WORD + W.PERSIST_HEADER.HEADER_CHECKSUM, 0);
}

/**
 * The byte offsets of the 32-bit words that differ between two images of a control file
 * (fs.readFileSync of it), leaving out the word indices in `except`: what an open changed.
 */
function changedControlWords(before, after, except = []) {
  const WORD = Uint32Array.BYTES_PER_ELEMENT;
  const changed = [];
  for (let i = 0; i < before.length; i += WORD) {
    if (!except.includes(i / WORD) && before.readUInt32LE(i) !== after.readUInt32LE(i)) changed.push(i);
  }
  return changed;
}

/**
 * Runs fn() with every control handle storing `value` into the control word `index` as soon as it
 * holds the recovery lock: an opener's Control#check has then seen the word as it was, and the
 * open reads it again only after. Used to damage a word at that moment, deterministically.
 */
function writeOnRecoveryLock(index, value, fn) {
  const { Control } = require('../../lib/persist/control');
  const take = Control.prototype.lockRecovery;
  Control.prototype.lockRecovery = function lockRecovery() {
    take.call(this);
    Atomics.store(this.u32, index, value);
  };
  try {
    return fn();
  } finally {
    Control.prototype.lockRecovery = take;
  }
}

module.exports = { persistTarget, reboot, recover, copyDir, logFile, contents, newControl, unseal, changedControlWords, writeOnRecoveryLock };
