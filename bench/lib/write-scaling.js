'use strict';
// Write scaling: W writers share one store, as worker_threads of the case's child process or as
// child processes forked from it, each writing its own keys (disjoint key sets: the question is
// whether sets of different keys serialize on anything shared). All warm up, wait until every one
// is ready, and start on one "go".
// - kind 'update': each overwrites its keys for `measureMs`; aggregate throughput = sum over
//   writers of ops / elapsed.
// - kind 'insert': the writers insert `insertKeys` new keys between them, a share each
//   (writer.js), after `warmKeys` between them untimed; aggregate throughput = insertKeys / the
//   longest writer's elapsed time. A fixed amount of work, not a time: the cost of an insert grows
//   with what the store holds (a miss walks its bucket's whole chain; the bucket array and the
//   entries cover more memory), so writers that each insert for the same time would put twice as
//   many keys into the store with 2 as with 1, and the 2-writer inserts would be dearer ones. Same
//   keys, same store states: the ratio is the scaling alone (bench/README.md, "Insert scaling").
// Only the cases whose store can be opened by name in another process (`openNamed`) run it.
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

// kind 'insert' also takes insertKeys, warmKeys and firstKey (writer.js).
async function measureWrites({ casePath, share, mode, writers, N, warmMs, measureMs, settleMs = 0, kind = 'update', insertKeys = 0, warmKeys = 0, firstKey = 0 }) {
  const ws = [];
  for (let index = 0; index < writers; index++) {
    ws.push(start(mode, { casePath, share, N, writers, index, warmMs, measureMs, settleMs, kind, insertKeys, warmKeys, firstKey }));
  }
  try {
    await Promise.all(ws.map((w) => w.ready));
    for (const w of ws) w.go();
    const results = await Promise.all(ws.map((w) => w.done));
    const ops = results.reduce((sum, r) => sum + r.ops, 0);
    let opsPerSec = 0;
    if (kind === 'insert') opsPerSec = (ops * 1e9) / Math.max(...results.map((r) => r.ns));
    else for (const r of results) opsPerSec += (r.ops * 1e9) / r.ns;
    // The writers' CPU time per write (writer.js), null where a writer could not tell.
    const cpuNsPerOp = results.every((r) => Number.isFinite(r.cpuNs)) && ops > 0
      ? results.reduce((sum, r) => sum + r.cpuNs, 0) / ops
      : null;
    // Each writer's CPU time over its wall time: below 1 where it did not have a core to itself.
    const cpuShare = results.every((r) => Number.isFinite(r.cpuNs)) ? Math.min(...results.map((r) => r.cpuNs / r.ns)) : null;
    return { writers, ops, opsPerSec, cpuNsPerOp, cpuShare, perWriter: results.map((r) => (r.ops * 1e9) / r.ns) };
  } finally {
    await Promise.all(ws.map((w) => w.stop()));
  }
}

module.exports = { measureWrites };
