#!/usr/bin/env node
'use strict';
// Demo: one shared memory segment, four worker threads, no postMessage copies.
// Each worker maps the segment by name, adds to a shared counter with Atomics, writes a line
// into its own slot, and wakes the main thread through a cross-process futex. The main thread
// waits with futex.waitAsync (its timers keep running) and reads what the workers wrote.
const { Worker, isMainThread, workerData } = require('worker_threads');
const { Segment, futex } = require('..');

const WORKERS = 4;
const ADDS = 250000;
const SLOT = 64; // bytes per worker slot, after a 64-byte header (word 0: counter, word 1: done)

if (!isMainThread) {
  const seg = Segment.open({ name: workerData.name });
  const i32 = new Int32Array(seg.buffer);
  for (let i = 0; i < ADDS; i++) Atomics.add(i32, 0, 1);
  const text = `worker ${workerData.id} (thread) added ${ADDS}`;
  new TextEncoder().encodeInto(text, new Uint8Array(seg.buffer, 64 + workerData.id * SLOT, SLOT));
  Atomics.add(i32, 1, 1);
  futex.wake(i32, 1);
  seg.close();
} else {
  const name = `shmstore-demo-${process.pid}`;
  const seg = Segment.create({ name, size: 64 + WORKERS * SLOT });
  const i32 = new Int32Array(seg.buffer);
  console.log(`created ${seg.name}: ${seg.size} bytes, shared as one SharedArrayBuffer`);
  (async () => {
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 1);
    for (let id = 0; id < WORKERS; id++) new Worker(__filename, { workerData: { name, id } });
    // Wait until every worker reported done; re-check the word after each wake.
    for (let done = Atomics.load(i32, 1); done < WORKERS; done = Atomics.load(i32, 1)) {
      await futex.waitAsync(i32, 1, done, 10000);
    }
    clearInterval(timer);
    const decoder = new TextDecoder();
    for (let id = 0; id < WORKERS; id++) {
      const bytes = new Uint8Array(seg.buffer, 64 + id * SLOT, SLOT);
      console.log(`  slot ${id}: ${decoder.decode(bytes).replace(/\0+$/, '')}`);
    }
    const total = Atomics.load(i32, 0);
    console.log(`counter = ${total} (expected ${WORKERS * ADDS}); the event loop ran ${ticks} timer ticks while waiting`);
    seg.close();
    seg.unlink();
    if (total !== WORKERS * ADDS) process.exit(1);
  })().catch((e) => {
    console.error(e);
    seg.unlink();
    process.exit(1);
  });
}
