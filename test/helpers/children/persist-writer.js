'use strict';
// A writer of a persisted store, run by test/55-persist as a child process (argument: a JSON
// task) or as a worker thread (workerData: the task): { name, dir, engine, tag, keys, expected,
// shared, count, checkpointEvery, failAt }.
// - Writes its own keys `<tag>-k<j>` (j = seq % keys) with value `<tag>:<seq>` for seq = 0, 1,
//   ...; after each write returns (is acknowledged), appends the line `<seq>\n` to the file
//   `expected` (the record of acknowledged writes the crash test checks, the way RocksDB's crash
//   test keeps one), until it is killed.
// - With `shared`, also sets the keys `shared-<j>` (j = seq % shared) to `<tag>:<seq>`, to make
//   writers of different processes and engines race on the same keys.
// - With `count`, stops after that many writes and exits 0.
// - With `checkpointEvery`, runs store.checkpoint() before every that many-th write.
// - With `progress` (a worker thread's SharedArrayBuffer), stores the number of acknowledged
//   writes in its first Int32 after each one.
// - With `settings`, also sets the default TTL of namespace `cfg-<tag>` to (seq + 1) seconds
//   (a logged namespace settings record) after every write, before the acknowledgement line.
// - `failAt` mode (disk full): writes until a set fails, then prints { acked, failed, code } and
//   exits 0.
const fs = require('fs');
const { isMainThread, workerData, parentPort } = require('worker_threads');
const { Store } = require('../../../index');

const task = isMainThread ? JSON.parse(process.argv[2]) : workerData;
const report = (result) => (isMainThread ? process.stdout.write(JSON.stringify(result)) : parentPort.postMessage(result));
// A file size limit (ulimit -f) sends SIGXFSZ, which ends a process by default; with a handler
// the write fails with EFBIG instead, as on a full disk.
process.on('SIGXFSZ', () => {});

const store = Store.open({ name: task.name, engine: task.engine, persist: { dir: task.dir } });
const out = task.expected ? fs.openSync(task.expected, 'a') : -1;
const count = task.count === undefined ? Infinity : task.count;
const progress = task.progress ? new Int32Array(task.progress) : null;
const start = task.start || 0;
let acked = -1;
for (let seq = start; seq < start + count; seq++) {
  const key = `${task.tag}-k${seq % task.keys}`;
  if (task.checkpointEvery && seq % task.checkpointEvery === 0) store.checkpoint();
  try {
    store.set('crash', key, `${task.tag}:${seq}`);
    if (task.shared) store.set('shared', `shared-${seq % task.shared}`, `${task.tag}:${seq}`);
    if (task.settings) store.namespace(`cfg-${task.tag}`, { ttl: (seq + 1) * 1000 });
  } catch (err) {
    if (!task.failAt) throw err;
    report({ acked, failed: seq, code: err.code, message: err.message });
    store.close();
    process.exit(0);
  }
  acked = seq;
  if (out >= 0) fs.writeSync(out, `${seq}\n`);
  if (progress !== null) Atomics.store(progress, 0, seq - start + 1);
}
store.close();
report({ acked });
