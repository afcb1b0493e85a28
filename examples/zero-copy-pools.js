'use strict';
// Zero-copy documents between worker threads: a producer writes each document straight into a
// block of a MemoryPool (size classes: a 300-byte note and a 40 KB report each take a block that
// fits) and pushes only its handle on a Stack, so the newest document is handled first; consumers
// pop handles, read the bytes in place, free the blocks, and keep their tallies in records of an
// ObjectPool that the main thread reads at the end. Nothing is copied between threads.
//
//   node examples/zero-copy-pools.js [documents] [consumers]
//
// In your project: require('shmstore') instead of require('..').
const { Worker, isMainThread, workerData } = require('worker_threads');
const { MemoryPool, ObjectPool, Stack } = require('..');

// A 32-bit FNV-1a checksum of the bytes, so that a consumer can tell a document arrived whole.
function fnv1a(bytes) {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return h;
}

// Tally record of one consumer (ObjectPool record): documents and bytes read, checksum failures.
const DOCS = 0;
const BYTES = 4;
const BAD = 8;
const RECORD = 12;

if (isMainThread) {
  const documents = Number(process.argv[2] || 500);
  const consumers = Number(process.argv[3] || 2);
  const classes = MemoryPool.powersOfTwo(256, 65536, 16);
  const blocks = MemoryPool.create({ buffer: new SharedArrayBuffer(MemoryPool.bytesFor(classes)), classes });
  const inbox = Stack.create({ buffer: new SharedArrayBuffer(Stack.bytesFor(64)), capacity: 64 });
  const tallies = ObjectPool.create({ buffer: new SharedArrayBuffer(ObjectPool.bytesFor(consumers, RECORD)), recordSize: RECORD, capacity: consumers });
  const shared = { blocks: blocks.buffer, inbox: inbox.buffer, tallies: tallies.buffer, documents, consumers };
  const threads = [new Worker(__filename, { workerData: { ...shared, role: 'producer' } })];
  for (let c = 0; c < consumers; c++) threads.push(new Worker(__filename, { workerData: { ...shared, role: 'consumer' } }));
  let left = threads.length;
  const handles = [];
  for (const t of threads) {
    t.on('message', (m) => handles.push(m));
    t.on('error', (err) => {
      console.error(err);
      process.exitCode = 1;
    });
    t.on('exit', () => {
      if (--left > 0) return;
      // Each consumer reported the handle of its tally record.
      let docs = 0;
      let bytes = 0;
      let bad = 0;
      for (const h of handles.filter((m) => m.tally).map((m) => m.tally)) {
        const d = tallies.data(h);
        docs += d.getUint32(DOCS, true);
        bytes += d.getUint32(BYTES, true);
        bad += d.getUint32(BAD, true);
        tallies.release(h);
      }
      const produced = handles.find((m) => m.produced);
      console.log(JSON.stringify({ documents, consumed: docs, bytes, producedBytes: produced.produced, bad,
        blocksHeld: blocks.stats().held, talliesHeld: tallies.stats().held }));
    });
  }
} else if (workerData.role === 'producer') {
  const { parentPort } = require('worker_threads');
  const blocks = MemoryPool.open({ buffer: workerData.blocks });
  const inbox = Stack.open({ buffer: workerData.inbox });
  let produced = 0;
  for (let i = 0; i < workerData.documents; i++) {
    const size = i % 10 === 0 ? 40000 + i : 300 + (i % 97); // mostly notes, every tenth a report
    // The pool holds 16 blocks per class: when every block that fits is held, allocate sleeps
    // until a consumer frees one (at most 30 s).
    const { handle, view } = blocks.allocate(size, 30000);
    for (let j = 0; j < size; j++) view[j] = (i + j * 31) & 0xff;
    inbox.push({ handle, size, sum: fnv1a(view) }, 30000);
    produced += size;
  }
  // A stack hands out the newest first: the stop marks go on only once every document was taken,
  // or a consumer would meet its mark above documents still waiting.
  while (inbox.size > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
  for (let c = 0; c < workerData.consumers; c++) inbox.push({ stop: true }, 30000);
  parentPort.postMessage({ produced });
} else {
  const { parentPort } = require('worker_threads');
  const blocks = MemoryPool.open({ buffer: workerData.blocks });
  const inbox = Stack.open({ buffer: workerData.inbox });
  const tallies = ObjectPool.open({ buffer: workerData.tallies });
  const tally = tallies.acquire(5000);
  tally.view.fill(0);
  for (;;) {
    const doc = inbox.pop(30000);
    if (doc.stop) break;
    const bytes = blocks.view(doc.handle); // the producer's bytes, in place
    const d = tally.data;
    d.setUint32(DOCS, d.getUint32(DOCS, true) + 1, true);
    d.setUint32(BYTES, d.getUint32(BYTES, true) + bytes.length, true);
    if (bytes.length !== doc.size || fnv1a(bytes) !== doc.sum) d.setUint32(BAD, d.getUint32(BAD, true) + 1, true);
    blocks.free(doc.handle);
  }
  // The record stays held: the main thread reads it and releases it.
  parentPort.postMessage({ tally: tally.handle });
}
