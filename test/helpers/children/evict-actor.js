'use strict';
// A store client run as a child process or a worker thread by the eviction tests
// (test/50-store/eviction-processes). One task ({ op, engine, name, ... }) from argv or workerData;
// announcements and the result through IPC or the worker's port (serveActor).
const fs = require('fs');
const { serveActor } = require('../actors');
const { valueFor, checkValue } = require('../values');

// The sequence number a valueFor() value carries ('<actor>:<seq>:...').
const seqOf = (v) => Number(v.split(':')[1]);

const ops = {
  // Writes key `<id>-<i>` of 'cache' with increasing sequence numbers for task.ms (each writer its
  // own keys): a store far smaller than the keys written, so almost every insert evicts.
  write(store, task) {
    const end = Date.now() + task.ms;
    let seq = 0;
    while (Date.now() < end) {
      for (let i = 0; i < 100; i++, seq++) store.set('cache', `${task.id}-${seq % task.keys}`, valueFor(task.id, seq));
    }
    return { writes: seq };
  },

  // Reads the keys of 'cache' for task.ms. A value must carry its checksum (not torn) and, per
  // key, a sequence number never below one already seen (an evicted value never comes back).
  read(store, task) {
    const end = Date.now() + task.ms;
    const seen = new Map();
    let reads = 0;
    let hits = 0;
    let bad = 0;
    let stale = 0;
    while (Date.now() < end) {
      for (let i = 0; i < 100; i++, reads++) {
        const k = `${task.writers[reads % task.writers.length]}-${(reads * 7919) % task.keys}`;
        const v = store.get('cache', k);
        if (v === undefined) continue;
        hits++;
        if (!checkValue(v)) {
          bad++;
          continue;
        }
        const s = seqOf(v);
        if (s < (seen.get(k) ?? -1)) stale++;
        seen.set(k, s);
      }
    }
    return { reads, hits, bad, stale };
  },

  // Reads every key p0..p<task.pinned - 1> of the pinned namespace 'pinned', round after round,
  // for task.ms: each must be there (get and has) with the value valueFor('pin', i) the parent
  // set before any writer started. Counts misses and wrong values, and names the first few.
  readPinned(store, task) {
    const end = Date.now() + task.ms;
    let rounds = 0;
    let reads = 0;
    let misses = 0;
    let wrong = 0;
    const first = [];
    while (Date.now() < end) {
      for (let i = 0; i < task.pinned; i++, reads++) {
        const k = `p${i}`;
        const v = store.get('pinned', k);
        if (v === undefined || !store.has('pinned', k)) {
          misses++;
          if (first.length < 5) first.push(`${k} missing`);
        } else if (v !== valueFor('pin', i)) {
          wrong++;
          if (first.length < 5) first.push(`${k} = ${JSON.stringify(v)}`);
        }
      }
      rounds++;
    }
    return { rounds, reads, misses, wrong, first };
  },

  // Writes pinned memories m0.. and, between them, enough cache entries to keep the hand busy,
  // until killed. After each acknowledged memory set, appends its key to task.record (the
  // expected-values record the parent checks after the kill).
  pinnedUntilKilled(store, task, announce) {
    const fd = fs.openSync(task.record, 'a');
    for (let n = 0; ; n++) {
      if (n < task.memories) {
        store.set('memories', `m${n}`, valueFor('mem', n));
        fs.writeSync(fd, `m${n}\n`);
      }
      for (let i = 0; i < 20; i++) store.set('cache', `c${(n * 20 + i) % task.keys}`, valueFor('c', n * 20 + i));
      if (n === 50) announce({ running: true });
    }
  },

  // Into a store full of 100-byte entries of 'c' and 'pinned' (every 50th), sets values of 256 KiB
  // of 'c' one after another, each making room by evicting runs of small entries and joining them
  // (format.md §8, "Joined runs"), with 300 small entries between two values to fill the store
  // again, until killed.
  largeUntilKilled(store, task, announce) {
    const small = 'v'.repeat(100);
    for (let n = 0; ; n++) {
      store.set('c', `big${n % 3}`, Buffer.alloc(256 << 10, (n % 250) + 1));
      for (let i = 0; i < 300; i++) store.set('c', `f${(n * 300 + i) % 20000}`, small);
      if (n === 2) announce({ running: true });
    }
  },
};

serveActor(ops);
