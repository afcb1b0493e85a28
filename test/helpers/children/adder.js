'use strict';
// Adds 1 to word 0 of a segment `iterations` times after a start barrier on word 1, as a
// worker thread (workerData) or as a child process (argv: name parties iterations).
// The barrier makes the parties really run at the same time, so the exact total proves the
// additions are atomic across threads / processes on the same memory.
const { isMainThread, workerData, parentPort } = require('worker_threads');
const { Segment } = require('../../../index');
const { spinUntil } = require('../process');

function addAll(buffer, parties, iterations) {
  const i32 = new Int32Array(buffer);
  Atomics.add(i32, 1, 1);
  spinUntil(i32, 1, parties);
  for (let i = 0; i < iterations; i++) Atomics.add(i32, 0, 1);
}

if (isMainThread) {
  const [name, parties, iterations] = process.argv.slice(2);
  const seg = Segment.open({ name });
  addAll(seg.buffer, Number(parties), Number(iterations));
  seg.close();
  process.stdout.write('done\n');
} else {
  let buffer = workerData.buffer;
  let seg = null;
  if (!buffer) {
    // This worker maps the segment itself (a second mapping of the same memory).
    seg = Segment.open({ name: workerData.name });
    buffer = seg.buffer;
  }
  addAll(buffer, workerData.parties, workerData.iterations);
  if (seg) seg.close();
  parentPort.postMessage('done');
}
