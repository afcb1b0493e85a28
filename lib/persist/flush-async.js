'use strict';
// A log handle's async flush (Wal.flushAsync, docs/format.md §16): the fdatasync runs on
// libuv's thread pool, the calls of one handle share syncs, and a handle waits for a sync that
// another handle or process has started and that covers its records, instead of syncing again.
// `wal` is the Wal;
// these functions keep its fields `inflight`, `queued`, `waiting`, `closing`, `joins`, `stalls`
// and `retired`.
const { io } = require('./io');
const { ioError, failedEarlier, advanceSynced } = require('./durable');

// The promise of sync `q` ({ promise, withResult }), or, with `result` (the one store handle
// that owns this Wal), one that resolves to it: made once per sync and shared by every call
// that joins it, so that W writes in flight cost one promise, not W.
function promiseOf(q, result) {
  if (result === undefined) return q.promise;
  if (q.withResult === null) q.withResult = q.promise.then(() => result);
  return q.withResult;
}

/**
 * Resolves once every record below `lsn` (default: the tail now) is on stable storage,
 * without blocking the event loop: the fdatasync runs on libuv's thread pool. Calls of one
 * handle share syncs: one made while a sync of this handle runs, or in the same tick as the
 * one that starts it, waits for the next sync, which starts when the running one ends and
 * covers every record appended before it starts (so W writes in flight cost one sync, not W).
 */
function flushAsync(wal, lsn, result) {
  const c = wal.control;
  const target = lsn === undefined ? c.tail : lsn;
  if (c.durable >= target) return Promise.resolve(result);
  if (wal.inflight && wal.inflight.target >= target) return promiseOf(wal.inflight, result);
  if (wal.queued === null) {
    const q = { promise: null, resolve: null, reject: null, withResult: null, target };
    q.promise = new Promise((resolve, reject) => {
      q.resolve = resolve;
      q.reject = reject;
    });
    wal.queued = q;
    if (wal.inflight === null) queueMicrotask(() => startQueued(wal));
  } else if (wal.queued.target < target) {
    wal.queued.target = target;
  }
  return promiseOf(wal.queued, result);
}

// Starts the queued sync (none runs now): its target is the tail read now, which is at or past
// the record of every call that joined it. Group commit across handles and processes
// (format.md §16): when a sync that covers every call that joined it has started elsewhere
// (`syncing` at or past their records), it waits for that sync to end instead, and resolves
// with it; a sync that does not cover them is not waited for (this one starts now and overlaps
// it, which bench/fsync.js measures as cheaper than syncing after it). A wait that sees no
// sync end for RECHECK_MS (its syncer died, or is that slow) is given up: it syncs itself.
function startQueued(wal, stalled = false) {
  const q = wal.queued;
  if (q === null || wal.inflight !== null || wal.waiting) return;
  const c = wal.control;
  if (!wal.closing) {
    const durable = c.durable;
    if (durable >= q.target) {
      wal.queued = null;
      q.resolve();
      afterSyncs(wal);
      return;
    }
    if (!stalled && c.syncing >= q.target) {
      const seen = c.tick;
      // The flag after the tick (fail() sets it before it moves the tick): after a failed sync
      // nothing more becomes durable, and the call is refused below instead of waiting.
      if (c.durable < q.target && !c.failed) {
        wal.waiting = true;
        wal.joins += 1;
        // The control segment stays mapped while this handle waits (close() defers it). A
        // wait that fails counts as stalled: this handle then syncs itself.
        const resume = (stalledNow) => {
          wal.waiting = false;
          if (stalledNow) wal.stalls += 1;
          startQueued(wal, stalledNow);
        };
        c.waitTickAsync(seen).then(() => resume(!wal.closing && c.tick === seen), () => resume(true));
        return;
      }
    }
  }
  wal.queued = null;
  if (c.failed) {
    // Durable already (a sync that ended before the failure covered it): resolved, as at the top.
    if (c.durable >= q.target) q.resolve();
    else q.reject(failedEarlier());
    afterSyncs(wal);
    return;
  }
  // The target is read with the file that holds it open (syncTarget_ reopens the current file
  // after a checkpoint's switch), also for a handle being closed: an fdatasync of one file
  // proves nothing about the records of the next.
  let syncTo;
  try {
    syncTo = wal.syncTarget_();
  } catch (err) {
    q.reject(ioError(err, 'reopening the log'));
    afterSyncs(wal);
    return;
  }
  if (c.durable >= syncTo) {
    // Another handle or process synced it meanwhile.
    q.resolve();
    afterSyncs(wal);
    return;
  }
  wal.inflight = { target: syncTo, promise: q.promise, withResult: q.withResult };
  c.claimSync(syncTo);
  io.fdatasync(wal.fd, (err) => {
    wal.inflight = null;
    if (err) {
      c.fail();
      q.reject(ioError(err, 'fdatasync of the log'));
    } else if (!advanceSynced(c, syncTo)) {
      q.reject(failedEarlier());
    } else {
      q.resolve();
    }
    if (wal.queued !== null) startQueued(wal);
    else afterSyncs(wal);
  });
}

// No sync of this handle runs: the fds retired meanwhile are closed, and the file too when
// the handle was closed.
function afterSyncs(wal) {
  if (wal.inflight !== null || wal.queued !== null) return;
  for (const old of wal.retired.splice(0)) io.closeSync(old);
  if (wal.closing) wal.closeFd_();
}

module.exports = { flushAsync, startQueued, afterSyncs };
