'use strict';
// Checkpoints (docs/format.md §16, "Checkpoints"): a fuzzy snapshot taken while writers keep
// writing, after which the log it covers is removed.
//
// 1. The log switches to a new file at its tail S (the old file is synced first): every record
//    below S was applied to the store before S was fixed (a writer applies, then appends).
// 2. Every entry is read under its key's stripe lock (so no mutation of it is half done: no value
//    whose record failed to append is ever captured) and written as a set record.
// 3. The snapshot is renamed into place and the directory synced; then older snapshots and the
//    log files before S are removed.
// Replaying the log from S over the snapshot gives the current state: a key changed after S has
// all those changes in the log from S, in their store order, and the last one wins whatever
// the snapshot caught; a key not changed after S was caught with its value as of S. (A recovery
// loads from the snapshot only keys of the second kind: replay-filter.js.)
const { C } = require('../layout/layout');
const { Control } = require('./control');
const { writeSnapshot } = require('./snapshot');
const { removeCovered, syncDir } = require('./files');
const { engineError } = require('../store/store');

/**
 * Runs a checkpoint of `store` (a persisted Store handle; its persistence state `p`), holding the
 * control segment's checkpoint lock. Returns { startLsn, records, bytes, ms }.
 */
function runCheckpoint(store, p) {
  const started = Date.now();
  const c = p.control;
  const startLsn = p.wal.switchFile();
  const e = store._e;
  const out = store._out;
  const snap = writeSnapshot(p.dir, startLsn, c.geometry, (emit, emitSettings) => {
    for (const [ns, , , policy, ttlMs] of e.namespaces()) {
      // The namespace's keys through the id this handle resolves for its name (an engine takes
      // only those: one dropped and created again since this handle resolved it has a new id).
      // Absent by now: dropped after S, which the log from S replays.
      let id = 0;
      const keys = store._nsCall(ns, null, (nsId) => {
        id = nsId;
        return e.keys(nsId);
      }, 'checkpoint');
      if (keys === null) continue;
      // Read without a lock: a change after S is in the log from S too, and replays after this.
      const settings = policy !== C.POLICY_INHERIT || ttlMs !== 0;
      if (settings) emitSettings(ns, policy, ttlMs);
      let emitted = 0;
      // Keys grouped by stripe: one lock acquisition per stripe and namespace, not per key.
      const byStripe = new Map();
      for (const key of keys) {
        const s = Control.stripeOf(ns, key);
        let list = byStripe.get(s);
        if (list === undefined) byStripe.set(s, (list = []));
        list.push(key);
      }
      let dropped = false;
      for (const [s, keys] of byStripe) {
        c.lockStripe(s);
        try {
          for (const key of keys) {
            const raw = e.get(id, key);
            if (raw === undefined) continue;
            const enc = out[0];
            const at = e.expiresAt(id, key); // 0: never; < 0: gone meanwhile (expired)
            if (at >= 0) {
              emit(ns, key, raw, enc, at);
              emitted += 1;
            }
          }
        } catch (err) {
          // Dropped while its keys were read: after S, so the log from S drops what was emitted.
          if (!store._dropped(err, ns)) throw engineError(err, 'checkpoint');
          dropped = true;
        } finally {
          c.unlockStripe(s);
        }
        if (dropped) break;
      }
      // A namespace is created by its first record on replay: one left without entries (cleared,
      // its keys deleted or expired, or configured before any set) gets its settings record, the
      // defaults, so that a recovery from this snapshot has it, as one from the log alone does.
      if (emitted === 0 && !settings && !dropped) emitSettings(ns, policy, ttlMs);
    }
  });
  syncDir(p.dir);
  removeCovered(p.dir, startLsn);
  c.countCheckpoint(Date.now());
  return { startLsn, records: snap.records, bytes: snap.bytes, ms: Date.now() - started };
}

/** A checkpoint by hand: waits for one running elsewhere to finish, then runs its own. */
function checkpoint(store, p) {
  p.control.lockCheckpoint();
  try {
    return runCheckpoint(store, p);
  } finally {
    p.control.unlockCheckpoint();
  }
}

/**
 * After a write whose record ends at `end`: when the current log file has grown past the store's
 * checkpointBytes, schedules one checkpoint in this thread (after the current task), unless one
 * runs somewhere already.
 */
function maybeCheckpoint(store, p, end) {
  const limit = p.checkpointBytes;
  if (limit === 0 || p.checkpointScheduled) return;
  // The test of every write is against the record's end and the first LSN of the file the record
  // went to (the log handle reopens the current file before each append), not the shared tail and
  // start LSN: reading those atomically costs six builtin calls. A checkpoint elsewhere since only
  // makes the test pass where the shared positions would not; the scheduled run tests those.
  if (end - p.wal.fileStart < limit) return;
  const c = p.control;
  p.checkpointScheduled = true;
  setImmediate(() => {
    p.checkpointScheduled = false;
    if (store._p === p && c.tail - c.startLsn >= limit) tryCheckpoint(store, p);
  });
}

// A checkpoint unless one runs somewhere already. A failure is kept (persistence's
// lastCheckpointError) until an attempt of this handle completes: the log stays valid meanwhile.
function tryCheckpoint(store, p) {
  const c = p.control;
  if (!c.tryCheckpointLock()) return;
  try {
    runCheckpoint(store, p);
    p.lastCheckpointError = null;
  } catch (err) {
    p.lastCheckpointError = err;
  } finally {
    c.unlockCheckpoint();
  }
}

/**
 * With checkpointMs: a timer of this handle that checkpoints a log holding records after the
 * newest snapshot once it is checkpointMs old (any handle's timer may do it; one at a time).
 * Returns the timer (unref'd), or null.
 */
function checkpointTimer(store, p) {
  const ms = p.control.checkpointMs;
  if (ms === 0) return null;
  const timer = setInterval(() => {
    const c = p.control;
    if (store._p !== p || c.tail === c.startLsn || Date.now() - c.lastCheckpointMs < ms) return;
    tryCheckpoint(store, p);
  }, Math.max(1, Math.floor(ms / 2)));
  timer.unref();
  return timer;
}

module.exports = { checkpoint, maybeCheckpoint, checkpointTimer, DEFAULT_CHECKPOINT_BYTES: C.PERSIST_CHECKPOINT_BYTES };
