'use strict';
// A party of test/50-store/read-cache-processes.test.js, run as a child process (task: JSON in
// argv[2], result: one JSON line on stdout) or as a worker thread (workerData, postMessage).
//   { role: 'writer', name, engine, ms }: prints "ready", then for `ms` ms sets namespace 'lin'
//     key 'counter' to i and then key 'seq' to i, for i = 1, 2, ..., pausing 1 ms every 8 pairs
//     (so that readers meet unchanged values and cache them); then sets 'done' to the last i.
//   { role: 'reader', name | buffer, engine, maxMs }: reads 'seq' and then 'counter' until it
//     reads 'done', then 20 rounds more. Checks on every round: counter >= seq (a counter older
//     than a seq read before it would be a stale read), and that neither goes back. Reports
//     { rounds, bad, cachedReads (gets the read cache answered), final: [seq, counter, done] }.
const { isMainThread, parentPort, workerData } = require('worker_threads');
const { Store } = require('../../../lib/store/store');

const task = isMainThread ? JSON.parse(process.argv[2]) : workerData;
const nap = new Int32Array(new SharedArrayBuffer(4));
// A reader looks for 'done' once in this many rounds.
const DONE_EVERY = 50;

function open() {
  const opts = { engine: task.engine };
  return task.buffer ? Store.attach(task.buffer, opts) : Store.open({ name: task.name, ...opts });
}

function writer(store) {
  const end = Date.now() + task.ms;
  let i = 0;
  while (Date.now() < end) {
    i++;
    store.set('lin', 'counter', String(i));
    store.set('lin', 'seq', String(i));
    if (i === 1) process.stdout.write('ready\n');
    if (i % 8 === 0) Atomics.wait(nap, 0, 0, 1);
  }
  store.set('lin', 'done', String(i));
  return { last: i };
}

function reader(store) {
  // The engine reads, counted: every other get was answered by the read cache.
  const e = store._e;
  const inner = e.get;
  let engineReads = 0;
  e.get = (...args) => {
    engineReads++;
    return inner.apply(e, args);
  };
  const deadline = Date.now() + task.maxMs;
  let rounds = 0;
  let bad = 0;
  let lastSeq = 0;
  let lastCounter = 0;
  let gets = 0;
  let after = -1;
  let seq = 0;
  let counter = 0;
  let done;
  while (after < 20) {
    seq = Number(store.get('lin', 'seq'));
    counter = Number(store.get('lin', 'counter'));
    gets += 2;
    rounds++;
    if (!(counter >= seq) || seq < lastSeq || counter < lastCounter) bad++;
    lastSeq = seq;
    lastCounter = counter;
    if (after >= 0) {
      after++;
    } else if (rounds % DONE_EVERY === 0) {
      done = store.get('lin', 'done');
      gets++;
      if (done !== undefined) after = 0;
      if (Date.now() > deadline) throw new Error('the reader never saw "done"');
    }
  }
  return { rounds, bad, cachedReads: gets - engineReads, final: [seq, counter, Number(done)] };
}

const store = open();
let result;
try {
  result = task.role === 'writer' ? writer(store) : reader(store);
} finally {
  store.close();
}
if (isMainThread) process.stdout.write(`${JSON.stringify(result)}\n`);
else parentPort.postMessage(result);
