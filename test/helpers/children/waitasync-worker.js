'use strict';
// Worker that starts `count` futex.waitAsync calls that nobody will ever wake (half on a
// segment word, half on a plain SharedArrayBuffer), then reports 'ready'. The pending waits
// keep it alive until it is terminated or calls process.exit (workerData.exitAfterMs).
const { workerData, parentPort } = require('worker_threads');
const { Segment, futex } = require('../../../index');

const seg = Segment.open({ name: workerData.name });
const onSegment = new Int32Array(seg.buffer);
const plain = new Int32Array(new SharedArrayBuffer(4 * workerData.count));
for (let i = 0; i < workerData.count; i++) {
  if (i % 2 === 0) futex.waitAsync(onSegment, 0, 0);
  else futex.waitAsync(plain, i, 0);
}
parentPort.postMessage('ready');
if (workerData.exitAfterMs !== undefined) setTimeout(() => process.exit(0), workerData.exitAfterMs);
