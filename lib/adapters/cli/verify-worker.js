'use strict';
// The thread that runs `shmstore verify` when stderr is a terminal, so that the main thread can
// draw the progress line while store.verify() (one call that holds the store's locks) runs, from
// the progress words it keeps up to date.
// Posts { report } or { error: { code, message } }.
const { parentPort, workerData } = require('worker_threads');
const { withStore } = require('./target');

withStore(workerData.target, {}, (store) => store.verify({ progress: workerData.words })).then(
  (report) => parentPort.postMessage({ report }),
  (err) => parentPort.postMessage({ error: { code: err && err.code, message: String(err && err.message ? err.message : err) } }),
);
