'use strict';
// The parties of the many-party messaging tests (test/70-msg/*-parties.test.js): a child process
// or a worker thread running one of helpers/children/, with what it printed or posted.
const { spawnChild } = require('./process');
const { Worker } = require('worker_threads');

/** Starts a worker on `script` with `data`; { w, result } where result is its first message. */
function startWorker(script, data) {
  const w = new Worker(script, { workerData: data });
  const result = new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  return { w, result };
}

module.exports = { spawnChild, startWorker };
