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
  const snap = writeSnapshot(p.dir, startLsn, c.geometry, (emit, emitSettings) => {
    for (const [ns, , , policy, ttlMs] of store._e.namespaces()) {
      // A namespace dropped while it was read is read again, whole, under the id its name has
      // now (emitNamespace): a drop whose record could not be logged was undone (the same
      // entries under a new id) and is not in the log; one that was logged drops on replay
      // whatever the snapshot caught. Read again, its settings are the new id's.
      let settings = [policy, ttlMs];
      while (!emitNamespace(store, c, ns, settings, emit, emitSettings)) settings = null;
    }
    // The log records whose effects the snapshot may hold are durable before it is in place
    // (it is renamed after this): a recovery after a power loss must not find a snapshot ahead
    // of the log, whose lost records before a caught write it could not replay (format.md §16).
    // A set copying its record outside the append lock is waited out first (passAppend).
    c.passAppend();
    const end = c.tail;
    p.wal.waitDurable(end);
    // The trailer's endLsn: no record from here on has an effect in the snapshot (the writes
    // of the entries it read appended before it read them, or before passAppend() returned).
    return end;
  });
  syncDir(p.dir);
  removeCovered(p.dir, startLsn);
  c.countCheckpoint(Date.now());
  return { startLsn, records: snap.records, bytes: snap.bytes, ms: Date.now() - started };
}

// Emits namespace `ns` of the checkpoint's snapshot: its settings (`settings`, or null to read
// them through its id now), then every entry, read under its key's stripe lock. Returns false
// when the namespace was dropped while its entries were read (the caller reads it again).
function emitNamespace(store, c, ns, settings, emit, emitSettings) {
  const e = store._e;
  // The keys through the id this handle resolves for the name (an engine takes only those: one
  // dropped and created again since this handle resolved it has a new id), holding one stripe:
  // a clear or a drop holds every stripe from its change of the store to the end of its undo,
  // so a namespace absent now was dropped for good, its record logged after S.
  let id = 0;
  let keys;
  c.lockStripe(0);
  try {
    keys = store._nsCall(ns, null, (nsId) => {
      id = nsId;
      return e.keys(nsId);
    }, 'checkpoint');
  } finally {
    c.unlockStripe(0);
  }
  if (keys === null) return true;
  // Read without a lock: a change after S is in the log from S too, and replays after this.
  const [policy, ttlMs] = settings === null ? store._settingsOf(id) : settings;
  const custom = policy !== C.POLICY_INHERIT || ttlMs !== 0;
  if (custom) emitSettings(ns, policy, ttlMs);
  // Keys grouped by stripe: one lock acquisition per stripe and namespace, not per key.
  const byStripe = new Map();
  for (const key of keys) {
    const s = Control.stripeOf(ns, key);
    let list = byStripe.get(s);
    if (list === undefined) byStripe.set(s, (list = []));
    list.push(key);
  }
  const out = store._out;
  let emitted = 0;
  for (const [s, stripeKeys] of byStripe) {
    c.lockStripe(s);
    try {
      for (const key of stripeKeys) {
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
      // Dropped since its keys were listed (the drop, and its undo if its record could not be
      // logged, are over: they hold this stripe too). What was emitted stays: read again, the
      // namespace's entries follow it, and a replay takes the last record of a key.
      if (!store._dropped(err, ns)) throw engineError(err, 'checkpoint');
      return false;
    } finally {
      c.unlockStripe(s);
    }
  }
  // A namespace is created by its first record on replay: one left without entries (cleared,
  // its keys deleted or expired, or configured before any set) gets its settings record, the
  // defaults, so that a recovery from this snapshot has it, as one from the log alone does.
  if (emitted === 0 && !custom) emitSettings(ns, policy, ttlMs);
  return true;
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
