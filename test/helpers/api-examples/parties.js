'use strict';
// The other parties of docs/api.md's examples (test/00-repo/api-examples.test.js): an example
// that waits for another thread gets one here (a worker thread running a function or a block,
// a notifier, the parties of a barrier), and an example that starts a server is read by a client.
const http = require('http');
const path = require('path');
const workerThreads = require('worker_threads');

// The package, as a worker requires it.
const ROOT = path.join(__dirname, '..', '..', '..');

// Runs fn(shmstore, data) in a worker thread; resolves when it has returned and the thread ended.
// fn is written in the test's tables but runs in the worker: it uses only its arguments.
function inThread(ctx, fn, data) {
  const source = `const { workerData } = require('worker_threads');
    (async () => (${fn})(require(workerData.root), workerData.data))();`;
  return runWorker(ctx, source, { root: ROOT, data });
}

// The section's cleanup terminates a worker still running (a block before it failed).
function runWorker(ctx, source, workerData) {
  return new Promise((resolve, reject) => {
    const w = new workerThreads.Worker(source, { eval: true, workerData });
    ctx.workers.push(w);
    let failed = null;
    w.on('error', (e) => { failed = e; });
    w.on('exit', (code) => (failed || code !== 0 ? reject(failed || new Error(`worker exited with ${code}`)) : resolve()));
  });
}

// Another thread that waits until this one waits on the condition (a wait releases the mutex),
// then makes the job ready and notifies, holding the mutex as the example's notifiers do.
function notifier(scope, ctx) {
  Atomics.store(scope.readyWord, 0, 0);
  ctx.defer(inThread(ctx, (lib, { buffer, word }) => {
    const m = lib.Mutex.open({ buffer });
    const c = lib.Condition.open({ buffer, byteOffset: lib.Mutex.BYTES });
    const nap = new Int32Array(new SharedArrayBuffer(4));
    while (c.waiting === 0) Atomics.wait(nap, 0, 0, 1);
    m.lock();
    Atomics.store(new Int32Array(word), 0, 1);
    c.notifyAll();
    m.unlock();
    m.close();
    c.close();
  }, { buffer: scope.buffer, word: scope.readyWord.buffer }));
}

// n parties of the barrier 'sim-step' in worker threads, each waiting once.
function barrierParties(ctx, n) {
  for (let i = 0; i < n; i++) {
    ctx.defer(inThread(ctx, (lib, { name }) => {
      const b = lib.Barrier.open({ name });
      try {
        b.wait(60000);
      } finally {
        b.close();
      }
    }, { name: ctx.shm('sim-step') }));
  }
}

/** The page /metrics of a server an example started, once it listens. */
async function scrape(server) {
  if (!server.listening) await new Promise((r) => server.once('listening', r));
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: server.address().port, path: '/metrics' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

module.exports = { ROOT, inThread, runWorker, notifier, barrierParties, scrape };
