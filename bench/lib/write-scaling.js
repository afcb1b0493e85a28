'use strict';
// Write scaling: W writers share one store, as worker_threads of the case's child process or as
// child processes forked from it, each writing its own keys (disjoint key sets: the question is
// whether sets of different keys serialize on anything shared): overwriting them (kind 'update')
// or inserting keys nobody set before (kind 'insert'; writer.js). All warm up, wait until every
// one is ready, start on one "go", and write for `measureMs`; aggregate throughput = sum over
// writers of ops / elapsed. Only the cases whose store can be opened by name in another process
// (`openNamed`) run it.
const path = require('path');
const { fork } = require('child_process');
const { Worker } = require('worker_threads');

const WRITER = path.join(__dirname, 'writer.js');

// A promise with its resolve and reject (a rejection nobody awaits yet is not unhandled).
function deferred() {
  const d = {};
  d.promise = new Promise((resolve, reject) => Object.assign(d, { resolve, reject }));
  d.promise.catch(() => {});
  return d;
}

function start(mode, task) {
  const w = mode === 'threads'
    ? new Worker(WRITER, { workerData: task })
    : fork(WRITER, [JSON.stringify(task)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = deferred();
  const done = deferred();
  const fail = (e) => {
    ready.reject(e);
    done.reject(e);
  };
  w.on('message', (m) => {
    if (m.error) fail(new Error(m.error));
    else if (m.ready) ready.resolve();
    else done.resolve(m);
  });
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`writer exited with ${code} before reporting`)));
  return {
    ready: ready.promise,
    done: done.promise,
    go: () => (mode === 'threads' ? w.postMessage('go') : w.send('go')),
    stop: () => (mode === 'threads' ? w.terminate() : w.kill('SIGKILL')),
  };
}

// kind 'insert' also takes perWriter and firstKey (writer.js).
async function measureWrites({ casePath, share, mode, writers, N, warmMs, measureMs, kind = 'update', perWriter = 0, firstKey = 0 }) {
  const ws = [];
  for (let index = 0; index < writers; index++) {
    ws.push(start(mode, { casePath, share, N, writers, index, warmMs, measureMs, kind, perWriter, firstKey }));
  }
  try {
    await Promise.all(ws.map((w) => w.ready));
    for (const w of ws) w.go();
    const results = await Promise.all(ws.map((w) => w.done));
    let opsPerSec = 0;
    for (const r of results) opsPerSec += (r.ops * 1e9) / r.ns;
    const ranOut = results.some((r) => r.ranOut);
    return { writers, opsPerSec, perWriter: results.map((r) => (r.ops * 1e9) / r.ns), ...(ranOut ? { ranOut } : {}) };
  } finally {
    await Promise.all(ws.map((w) => w.stop()));
  }
}

module.exports = { measureWrites };
