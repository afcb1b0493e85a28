'use strict';
// A store client run as a child process or a worker thread by the large-value tests
// (test/50-store/large-values.test.js, repair-free-head-processes.test.js). One task ({ op,
// engine, name | buffer, ... }) from argv or workerData; announcements and the result through IPC
// or the parent port.
const fs = require('fs');
const { serveActor } = require('../actors');
const { largeValueFor, checkLargeValue, largeSeqOf } = require('../values');

// The size of value `seq` of a writer: inline and indirect, across the 65535/65536 boundary, up
// to about 300 KB.
const sizeOf = (seq) => [1000, 65535, 65536, 70000, 150000, 300000][seq % 6] + (seq % 13);

const ops = {
  // Overwrites keys L0..L(keys-1) of 'large' `sets` times in turn with values of changing sizes.
  write(store, task) {
    for (let seq = 0; seq < task.sets; seq++) {
      store.set('large', `L${seq % task.keys}`, largeValueFor(task.id, seq, sizeOf(seq)));
    }
    return { writes: task.sets };
  },

  // Reads keys L0.. for task.ms: every value must check (never torn) and, per key, its sequence
  // number never goes down.
  read(store, task, announce) {
    const seen = new Map();
    let reads = 0;
    let hits = 0;
    let bad = 0;
    let stale = 0;
    announce({ running: true });
    const end = Date.now() + task.ms;
    while (Date.now() < end) {
      const k = `L${reads++ % task.keys}`;
      const v = store.get('large', k);
      if (v === undefined) continue;
      hits++;
      if (!checkLargeValue(v)) {
        bad++;
        continue;
      }
      const s = largeSeqOf(v);
      if (s < (seen.get(k) ?? -1)) stale++;
      seen.set(k, s);
    }
    return { reads, hits, bad, stale };
  },

  // Sets large (and small) values of keys K0.. until killed; after each acknowledged set appends
  // `<key> <seq>` to task.record.
  writeUntilKilled(store, task, announce) {
    const fd = fs.openSync(task.record, 'a');
    for (let seq = 0; ; seq++) {
      const key = `K${seq % task.keys}`;
      store.set('large', key, largeValueFor('k', seq, sizeOf(seq)));
      fs.writeSync(fd, `${key} ${seq}\n`);
      // By then the never-used space is gone: the writer compacts from time to time.
      if (seq === 100) announce({ running: true });
    }
  },

  // Announces itself, then sets key task.key of 'n' to task.n bytes of 'B' (repair-free-head-
  // processes.test.js stops it while it waits for its bucket's lock).
  setOne(store, task, announce) {
    announce({ ready: true });
    store.set('n', task.key, 'B'.repeat(task.n));
    return { set: true };
  },
};

serveActor(ops);
