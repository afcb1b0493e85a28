'use strict';
// node msg-worker-waits.js <messages>: a worker takes <messages> messages from an MPMC queue and
// pops as many from a stack of a SharedArrayBuffer, each with a Promise form called before this
// thread puts the message (nothing but the pending call keeps the worker's event loop alive).
// Prints one JSON line: { addon, taken, popped, exit }. Run with and without the addon by
// test/70-msg/async-waiters.test.js.
const { Worker, isMainThread, workerData, parentPort } = require('worker_threads');
const { MpmcQueue, Stack } = require('../../../index');
const native = require('../../../lib/base/native');

const CAPACITY = 4;
// A worker that exits with its call pending never answers: the report is printed anyway.
const GUARD_MS = 30000;
// How long this thread lets the worker's waiting loop park before it puts a message.
const PARK_MS = 100;

async function worker() {
  const q = MpmcQueue.open({ buffer: workerData.queue });
  const s = Stack.open({ buffer: workerData.stack });
  for (let i = 0; i < workerData.messages; i++) {
    const taken = q.dequeueAsync();
    parentPort.postMessage('waiting');
    parentPort.postMessage({ taken: await taken });
    const popped = s.popAsync();
    parentPort.postMessage('waiting');
    parentPort.postMessage({ popped: await popped });
  }
  q.close();
  s.close();
}

function main() {
  const messages = Number(process.argv[2]);
  const queue = new SharedArrayBuffer(MpmcQueue.bytesFor(CAPACITY));
  const stack = new SharedArrayBuffer(Stack.bytesFor(CAPACITY));
  const q = MpmcQueue.create({ buffer: queue, capacity: CAPACITY });
  const s = Stack.create({ buffer: stack, capacity: CAPACITY });
  const report = { addon: native.addon !== null, taken: [], popped: [], exit: null };
  const print = () => {
    clearTimeout(guard);
    process.stdout.write(`${JSON.stringify(report)}\n`);
  };
  const guard = setTimeout(print, GUARD_MS);
  const w = new Worker(__filename, { workerData: { queue, stack, messages } });
  let waits = 0;
  const puts = new Set();
  w.on('message', (msg) => {
    if ('taken' in Object(msg)) report.taken.push(msg.taken);
    else if ('popped' in Object(msg)) report.popped.push(msg.popped);
    else if (msg === 'waiting') {
      const i = waits++;
      const t = setTimeout(() => {
        puts.delete(t);
        if (i % 2 === 0) q.enqueue(`q${i >> 1}`);
        else s.push(`s${i >> 1}`);
      }, PARK_MS);
      puts.add(t);
    }
  });
  w.on('error', (e) => process.stderr.write(`worker: ${e.stack}\n`));
  w.on('exit', (code) => {
    report.exit = code;
    for (const t of puts) clearTimeout(t);
    q.close();
    s.close();
    print();
  });
}

if (isMainThread) main();
else {
  worker().catch((e) => {
    process.stderr.write(`worker: ${e.stack}\n`);
    process.exitCode = 1;
  });
}
