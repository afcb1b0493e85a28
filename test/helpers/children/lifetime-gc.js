'use strict';
// Run with --expose-gc. Prints one JSON line with what it observed in /proc/self/maps:
//
// A. The addon is loaded only in a worker: the worker creates a segment, posts its buffer to
//    this thread and exits (Node then dlcloses the addon in that worker). This thread drops
//    the buffer and collects it: the backing-store deleter (code in the addon) must still be
//    there to unmap it (-Wl,-z,nodelete), and the mapping must disappear.
// B. This thread creates a segment, gives its buffer to a worker, close()s: the mapping stays
//    while the worker holds it; after the worker exits and a GC, it is gone.
const { Worker } = require('worker_threads');
const fs = require('fs');

const nameA = `shmstore-test-gcA-${process.pid}`;
const nameB = `shmstore-test-gcB-${process.pid}`;

const mapped = (name) => fs.readFileSync('/proc/self/maps', 'utf8').includes(`/dev/shm/${name}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function collectUntilUnmapped(name) {
  for (let i = 0; i < 500; i++) {
    global.gc();
    if (!mapped(name)) return true;
    await sleep(20); // the deleter may run on a V8 background thread
  }
  return false;
}

function exited(worker) {
  return new Promise((resolve) => worker.once('exit', resolve));
}

async function scenarioA() {
  const src = `
    const { parentPort } = require('worker_threads');
    const { Segment } = require(${JSON.stringify(require.resolve('../../../index'))});
    const seg = Segment.create({ name: ${JSON.stringify(nameA)}, size: 65536 });
    new Int32Array(seg.buffer)[0] = 42;
    parentPort.postMessage(seg.buffer);
    seg.close();
    seg.unlink();
  `;
  const worker = new Worker(src, { eval: true });
  // Listened for from the start: a worker that exits before its message is delivered has the
  // message and then 'exit' emitted in one turn, before any later listener could be attached.
  const exit = exited(worker);
  // Held through an object so that dropping it is an explicit, visible step.
  const held = {
    buffer: await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    }),
  };
  await exit;
  const value = new Int32Array(held.buffer)[0];
  const before = mapped(nameA);
  held.buffer = null;
  const gone = await collectUntilUnmapped(nameA);
  return { value, before, gone };
}

async function scenarioB() {
  const { Segment } = require('../../../index');
  const seg = Segment.create({ name: nameB, size: 65536 });
  const release = new SharedArrayBuffer(4);
  const src = `
    const { workerData, parentPort } = require('worker_threads');
    const i32 = new Int32Array(workerData.buffer);
    parentPort.postMessage('holding');
    Atomics.wait(new Int32Array(workerData.release), 0, 0, 30000);
    parentPort.postMessage(Atomics.add(i32, 0, 1) + 1);
  `;
  const worker = new Worker(src, { eval: true, workerData: { buffer: seg.buffer, release } });
  const exit = exited(worker);
  const messages = [];
  worker.on('message', (m) => messages.push(m));
  while (!messages.includes('holding')) await sleep(5);
  seg.close();
  seg.unlink();
  global.gc();
  await sleep(50);
  global.gc();
  const afterClose = mapped(nameB);
  Atomics.store(new Int32Array(release), 0, 1);
  Atomics.notify(new Int32Array(release), 0);
  await exit;
  const gone = await collectUntilUnmapped(nameB);
  return { afterClose, workerWrote: messages[1], gone };
}

let finished = false;
// A promise nothing will settle lets the event loop empty: say so instead of exiting with 0.
process.on('beforeExit', () => {
  if (finished) return;
  console.error('the event loop emptied before both scenarios finished');
  process.exitCode = 3;
});

(async () => {
  const a = await scenarioA();
  const b = await scenarioB();
  finished = true;
  process.stdout.write(`${JSON.stringify({ a, b })}\n`);
})().catch((e) => {
  console.error(e);
  process.exit(2);
});
