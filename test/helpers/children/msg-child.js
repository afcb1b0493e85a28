'use strict';
// Child process and worker thread of the messaging tests (test/70-msg/). Messages are numbered:
// message i of producer p is the JSON-free binary payload of 8 bytes [p, i] (two u32, little
// endian) unless a mode says otherwise.
//   node msg-child.js spsc-produce <name> <count> [first]   enqueue [0, i] for i in first..count-1
//                                                             ("progress <i>" every 1000)
//   node msg-child.js spsc-produce-batch <name> <count> [first]   the same with enqueueBatch(),
//                                                             batches of 1..64 messages
//   node msg-child.js spsc-consume <name> <count>            dequeue count, print "sum <s>"
//   node msg-child.js spsc-consume-marked <name> <board>     dequeue until killed, each message's
//                                                             number in increasing order, marked
//                                                             received on the scoreboard in segment
//                                                             <board> (helpers/scoreboard.js) once
//                                                             its dequeue returned
// As a worker: workerData { mode, buffer, byteOffset, count } with the same modes plus
// 'spsc-block' (dequeue() with no timeout on an empty ring: waits until terminated) and
// 'spsc-produce-text' (enqueueBatch() of textOf(i) for i in 0..count-1, batches of 1..64).
const { isMainThread, parentPort, workerData } = require('worker_threads');
const { SpscRing, Segment } = require('../../../index');
const { numbered, textOf, seqOf } = require('../messages');
const { Scoreboard } = require('../scoreboard');

function produce(ring, count, first, progress) {
  for (let i = first; i < count; i++) {
    ring.enqueue(numbered(0, i), 60000);
    if (progress && i % 1000 === 999) progress(i + 1);
  }
}

// Batches of 1..MAX_BATCH messages (the size varies so that batches end anywhere in the ring).
const MAX_BATCH = 64;
const batchSize = (k) => 1 + ((k * 37) % MAX_BATCH);
function produceBatches(ring, count, first, progress, make = (i) => numbered(0, i)) {
  let reported = first;
  for (let i = first, k = 0; i < count; k++) {
    const batch = [];
    for (const end = Math.min(count, i + batchSize(k)); i < end; i++) batch.push(make(i));
    ring.enqueueBatch(batch, 60000);
    if (progress && i - reported >= 1000) progress((reported = i));
  }
}

function consume(ring, count) {
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const m = ring.dequeue(60000);
    const n = seqOf(m);
    if (n !== i) throw new Error(`out of order: ${n} where ${i} was due`);
    sum += n;
  }
  return sum;
}

if (isMainThread) {
  const [mode, name, count, first] = process.argv.slice(2);
  const ring = SpscRing.open({ name });
  if (mode === 'spsc-produce') {
    produce(ring, Number(count), Number(first || 0), (n) => process.stdout.write(`progress ${n}\n`));
    process.stdout.write('done\n');
  } else if (mode === 'spsc-produce-batch') {
    produceBatches(ring, Number(count), Number(first || 0), (n) => process.stdout.write(`progress ${n}\n`));
    process.stdout.write('done\n');
  } else if (mode === 'spsc-consume') {
    process.stdout.write(`sum ${consume(ring, Number(count))}\n`);
  } else if (mode === 'spsc-consume-marked') {
    const board = new Scoreboard(Segment.open({ name: count }).buffer);
    for (let last = -1; ;) {
      const n = seqOf(ring.dequeue(60000));
      if (n <= last) throw new Error(`out of order: ${n} after ${last}`);
      board.markReceived((last = n));
    }
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  ring.close();
} else {
  const { mode, buffer, byteOffset, count } = workerData;
  const ring = SpscRing.open({ buffer, byteOffset });
  if (mode === 'spsc-produce') {
    produce(ring, count, 0);
    parentPort.postMessage('done');
  } else if (mode === 'spsc-produce-batch') {
    produceBatches(ring, count, 0);
    parentPort.postMessage('done');
  } else if (mode === 'spsc-produce-text') {
    produceBatches(ring, count, 0, null, textOf);
    parentPort.postMessage('done');
  } else if (mode === 'spsc-consume') {
    parentPort.postMessage({ sum: consume(ring, count) });
  } else if (mode === 'spsc-block') {
    parentPort.postMessage('waiting');
    ring.dequeue();
    parentPort.postMessage('returned');
  }
}
