'use strict';
// The parties of the many-party messaging tests (test/70-msg/*-parties.test.js): a child process
// or a worker thread running one of helpers/children/, with what it printed or posted.
const { spawn } = require('child_process');
const { Worker } = require('worker_threads');

/** Spawns `node script ...args`; { c, exited } where exited resolves { code, signal, out, err }. */
function spawnChild(script, args) {
  const c = spawn(process.execPath, [script, ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  c.stdout.on('data', (d) => { out += d; });
  c.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => c.once('exit', (code, signal) => resolve({ code, signal, out, err })));
  return { c, exited };
}

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
