'use strict';
// A store client run as a worker thread or a child process by the compaction tests
// (test/50-store/compaction-processes.test.js). One task ({ op, engine, name | buffer, ... }) from
// argv or workerData; announcements and the result through IPC or the parent port.
const fs = require('fs');
const { serveActor } = require('../actors');
const { mixedValueFor, checkValue, bigValueFor } = require('../values');

const ops = {
  // Reads the `stable` namespace (keys s0.. with mixedValueFor('s', i), never written while this
  // runs) for task.ms: every get must return exactly its value, every listing must hold each key
  // exactly once; values of `churn` must check when present.
  read(store, task, announce) {
    const end = Date.now() + task.ms;
    const r = { reads: 0, bad: 0, missing: 0, listings: 0, listingErrors: 0, churnBad: 0 };
    for (let round = 0; Date.now() < end || round < 2; round++) {
      for (let i = 0; i < task.stable; i++, r.reads++) {
        const v = store.get('stable', `s${i}`);
        if (v === undefined) r.missing++;
        else if (v !== mixedValueFor('s', i)) r.bad++;
        const c = store.get('churn', `c${(i * 31 + round) % task.churn}`);
        if (c !== undefined && !checkValue(c)) r.churnBad++;
      }
      const keys = store.keys('stable');
      r.listings++;
      if (keys.length !== task.stable || new Set(keys).size !== task.stable) r.listingErrors++;
      if (round === 0) announce({ running: true });
    }
    return r;
  },

  // Bounded compaction calls of task.maxBytes for task.ms (until killed when task.ms is 0), after
  // each a churn of task.churnEach deletes and re-inserts of `churn` keys (new holes to fill).
  compact(store, task, announce) {
    const end = task.ms ? Date.now() + task.ms : Infinity;
    const r = { calls: 0, moved: 0, merged: 0 };
    for (let seq = 0; Date.now() < end; r.calls++) {
      const c = store.compact({ maxBytes: task.maxBytes });
      r.moved += c.movedEntries;
      r.merged += c.mergedRuns;
      for (let i = 0; i < task.churnEach; i++, seq++) {
        const k = `c${(seq * 7) % task.churn}`;
        if (seq % 2) store.delete('churn', k);
        else store.set('churn', k, mixedValueFor('c', seq));
      }
      if (r.calls === 2) announce({ running: true });
    }
    return r;
  },

  // Overwrites keys w0..w{keys-1} with mixedValueFor('w', seq) for seq = 0..sets-1 (key seq % keys);
  // the last value of each key is the parent's expectation.
  write(store, task) {
    for (let seq = 0; seq < task.sets; seq++) store.set('writes', `w${seq % task.keys}`, mixedValueFor('w', seq));
    return { sets: task.sets };
  },

  // Writes `acked` keys a0.. (appending each acknowledged key to task.record) and runs compaction
  // steps in between, until killed.
  compactUntilKilled(store, task, announce) {
    const fd = fs.openSync(task.record, 'a');
    for (let n = 0; ; n++) {
      store.set('acked', `a${n}`, mixedValueFor('a', n));
      fs.writeSync(fd, `a${n}\n`);
      if (n % 3 === 0) store.delete('churn', `c${(n * 7) % task.churn}`);
      store.compact({ maxBytes: task.maxBytes });
      if (n === 5) announce({ running: true });
    }
  },
};

// Large values (format.md §8, "Compaction", large blocks): `big` keys b0.. hold
// bigValueFor('b', i), never written while readers run; `bigChurn` keys come and go.

Object.assign(ops, {
  // Reads the `big` keys for task.ms: each get must be exactly its value (never torn, missing or
  // another key's); every listing must hold each key exactly once.
  readLarge(store, task, announce) {
    const end = Date.now() + task.ms;
    const r = { reads: 0, bad: 0, missing: 0, listings: 0, listingErrors: 0 };
    for (let round = 0; Date.now() < end || round < 2; round++) {
      for (let i = 0; i < task.big; i++, r.reads++) {
        const v = store.get('big', `b${i}`);
        if (v === undefined) r.missing++;
        else if (!v.equals(bigValueFor('b', i))) r.bad++;
      }
      const keys = store.keys('big');
      r.listings++;
      if (keys.length !== task.big || new Set(keys).size !== task.big) r.listingErrors++;
      if (round === 0) announce({ running: true });
    }
    return r;
  },

  // Bounded compaction calls for task.ms (until killed when task.ms is 0), after each a delete
  // and a re-insert of `bigChurn` keys (new holes between the large blocks).
  compactLarge(store, task, announce) {
    const end = task.ms ? Date.now() + task.ms : Infinity;
    const r = { calls: 0, moved: 0, merged: 0 };
    for (let seq = 0; Date.now() < end; r.calls++) {
      const c = store.compact({ maxBytes: task.maxBytes });
      r.moved += c.movedEntries;
      r.merged += c.mergedRuns;
      const k = `x${seq % task.bigChurn}`;
      if (seq++ % 2) store.delete('bigChurn', k);
      else store.set('bigChurn', k, bigValueFor('x', seq));
      if (r.calls === 2) announce({ running: true });
    }
    return r;
  },

  // Writes `acked` large values a0.. (appending each acknowledged key to task.record), each after
  // a temporary one deleted again (a hole), and runs compaction steps in between, until killed.
  compactLargeUntilKilled(store, task, announce) {
    const fd = fs.openSync(task.record, 'a');
    for (let n = 0; ; n++) {
      store.set('tmp', `u${n % 4}`, bigValueFor('u', n));
      store.set('acked', `a${n}`, bigValueFor('a', n));
      fs.writeSync(fd, `a${n}\n`);
      store.delete('tmp', `u${(n + 2) % 4}`);
      store.compact({ maxBytes: task.maxBytes });
      if (n === 3) announce({ running: true });
    }
  },
});

serveActor(ops);
