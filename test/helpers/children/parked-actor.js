'use strict';
// A writer of the parked-block tests (test/50-store/parked-blocks.test.js), run as a child
// process, or as a worker thread of one. One task ({ op, engine, name | buffer, ... }) from argv or
// workerData; announcements and the result through IPC or the parent port.
const fs = require('fs');
const path = require('path');
const { isMainThread, workerData, parentPort, Worker } = require('worker_threads');
const { Store } = require('../../../lib/store/store');

// Value `seq` of key `key`: 100 bytes, the same size class for every seq (9 units with the key),
// so that the space the live entries take never changes.
const valueOf = (key, seq) => `${key}=${seq};`.padEnd(100, '.');

const ops = {
  // Overwrites keys `${prefix}0..` `rounds` times each; returns how many sets it made.
  overwrite(store, task) {
    let sets = 0;
    for (let round = 1; round <= task.rounds; round++) {
      for (let k = 0; k < task.keys; k++) {
        store.set('data', `${task.prefix}${k}`, valueOf(`${task.prefix}${k}`, round));
        sets++;
      }
    }
    return { sets };
  },

  // Overwrites keys `${prefix}0..` in turn until killed; after each acknowledged set appends
  // `<key> <seq>` to task.record (when given).
  overwriteUntilKilled(store, task, announce) {
    const fd = task.record ? fs.openSync(task.record, 'a') : -1;
    for (let seq = 1; ; seq++) {
      const key = `${task.prefix}${seq % task.keys}`;
      store.set('data', key, valueOf(key, seq));
      if (fd >= 0) fs.writeSync(fd, `${key} ${seq}\n`);
      if (seq === 50) announce({ running: true });
    }
  },

  // Inserts keys `${prefix}0..${keys - 1}` (new keys: its batches park blocks, format.md §8),
  // announces { held: bytesParked }, and waits, holding them, until killed.
  insertAndHold(store, task, announce) {
    for (let k = 0; k < task.keys; k++) store.set('data', `${task.prefix}${k}`, valueOf(`${task.prefix}${k}`, 0));
    announce({ held: store.stats().bytesParked });
    return new Promise(() => setInterval(() => {}, 1000));
  },

  // A process of task.threads worker threads, thread t running `overwrite` with prefix
  // `${prefix}${t}:` and engine task.engines[t % engines.length].
  threads(_store, task) {
    return Promise.all(Array.from({ length: task.threads }, (_, t) => new Promise((resolve, reject) => {
      const w = new Worker(path.join(__filename), {
        workerData: { ...task, op: 'overwrite', prefix: `${task.prefix}${t}:`, engine: task.engines[t % task.engines.length] },
      });
      w.on('message', (m) => m.result && resolve(m.result));
      w.on('error', reject);
      w.on('exit', (code) => reject(new Error(`worker exited with ${code} before reporting`)));
    })));
  },
};

async function run(task, announce) {
  if (task.op === 'threads') return ops.threads(null, task);
  const store = task.buffer
    ? Store.attach(task.buffer, { engine: task.engine })
    : Store.open({ name: task.name, engine: task.engine });
  try {
    // Awaited: an op that holds its blocks until killed must keep the store open meanwhile.
    return await ops[task.op](store, task, announce);
  } finally {
    store.close();
  }
}

if (isMainThread && require.main === module) {
  const task = JSON.parse(process.argv[2]);
  run(task, (m) => process.send(m)).then((result) => process.send({ result }, () => process.exit(0)));
} else if (!isMainThread && workerData && workerData.op) {
  run(workerData, (m) => parentPort.postMessage(m)).then((result) => parentPort.postMessage({ result }));
}

module.exports = { valueOf };
