'use strict';
// Child process and worker thread of the mutex tests (test/60-sync/mutex.test.js). Usage:
//   node mutex-child.js count <name> <k>   k increments of the plain counter after the mutex
//   node mutex-child.js hold <name>        lock, print "held", then wait to be killed
// As a worker, workerData is { mode: 'count' | 'hold' | 'leave', buffer, k } and "held" is posted;
// 'leave' opens a handle, posts "opened" and ends the worker without closing it.
// The counter is the u32 right after the mutex region (byte Mutex.BYTES of the segment).
const { isMainThread, parentPort, workerData } = require('worker_threads');
const { Mutex } = require('../../../index');

function count(m, k) {
  const counter = new Uint32Array(m.buffer, Mutex.BYTES, 1);
  for (let i = 0; i < k; i++) {
    m.lock();
    const seen = counter[0]; // a plain read and write: only the mutex keeps increments apart
    for (let j = 0; j < 20; j++) Math.sqrt(j);
    counter[0] = seen + 1;
    m.unlock();
  }
}

if (isMainThread) {
  const [mode, name, k] = process.argv.slice(2);
  const m = Mutex.open({ name });
  if (mode === 'count') {
    count(m, Number(k));
    m.close();
    process.stdout.write('done\n');
  } else if (mode === 'hold') {
    m.lock();
    process.stdout.write('held\n');
    setInterval(() => {}, 1000);
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} else {
  const m = Mutex.open({ buffer: workerData.buffer });
  if (workerData.mode === 'count') {
    count(m, workerData.k);
    m.close();
    parentPort.postMessage('done');
  } else if (workerData.mode === 'leave') {
    parentPort.postMessage('opened');
  } else {
    m.lock();
    parentPort.postMessage('held');
    for (;;) {
      // held until terminated
    }
  }
}
