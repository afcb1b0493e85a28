#!/usr/bin/env node
'use strict';
// Futex wake -> wake-up round trip across processes: the parent and a child ping-pong on one
// word of a shared memory segment with futex.wait / futex.wake (both block). For reference,
// the same ping-pong between two threads of one process with Atomics.wait / Atomics.notify.
// Prints the median ns per round trip over several batches.
//   node bench/futex.js [--runs N] [--rounds N]
const { fork } = require('child_process');
const os = require('os');
const { Worker } = require('worker_threads');
const { Segment, futex } = require('..');

const arg = (flag, dflt) => (process.argv.includes(flag) ? Number(process.argv[process.argv.indexOf(flag) + 1]) : dflt);
const runs = arg('--runs', 7);
const rounds = arg('--rounds', 20000);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

// Word 0 counts handoffs: even = the parent's turn, odd = the child's. Each side waits while
// the word still holds the value it last saw, so spurious or early wake-ups are harmless.
function play(i32, me, total, wait, wake) {
  for (let i = 0; i < total; i++) {
    let v;
    while ((v = Atomics.load(i32, 0)) % 2 !== me) wait(i32, 0, v);
    Atomics.add(i32, 0, 1);
    wake(i32, 0);
  }
}

const fwait = (a, i, v) => futex.wait(a, i, v);
const fwake = (a, i) => futex.wake(a, i, 1);
const awake = (a, i) => Atomics.notify(a, i, 1);
const await_ = (a, i, v) => Atomics.wait(a, i, v);

if (process.argv[2] === 'child') {
  const seg = Segment.open({ name: process.argv[3] });
  play(new Int32Array(seg.buffer), 1, runs * rounds, fwait, fwake);
  seg.close();
  process.exit(0);
}

async function crossProcess() {
  const name = `shmstore-bench-futex-${process.pid}`;
  const seg = Segment.create({ name, size: 4096 });
  const i32 = new Int32Array(seg.buffer);
  const child = fork(__filename, ['child', name], { stdio: 'inherit' });
  const results = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    play(i32, 0, rounds, fwait, fwake);
    results.push(Number(process.hrtime.bigint() - t0) / rounds);
  }
  await new Promise((resolve) => child.once('exit', resolve));
  seg.close();
  seg.unlink();
  return median(results);
}

async function crossThread() {
  const sab = new SharedArrayBuffer(64);
  const i32 = new Int32Array(sab);
  const src = `
    const { workerData } = require('worker_threads');
    const i32 = new Int32Array(workerData.sab);
    for (let i = 0; i < workerData.total; i++) {
      let v;
      while ((v = Atomics.load(i32, 0)) % 2 !== 1) Atomics.wait(i32, 0, v);
      Atomics.add(i32, 0, 1);
      Atomics.notify(i32, 0, 1);
    }`;
  const worker = new Worker(src, { eval: true, workerData: { sab, total: runs * rounds } });
  const results = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    play(i32, 0, rounds, await_, awake);
    results.push(Number(process.hrtime.bigint() - t0) / rounds);
  }
  await new Promise((resolve) => worker.once('exit', resolve));
  return median(results);
}

(async () => {
  const cpu = os.cpus()[0];
  console.log(`shmstore bench: futex round trip\nmachine: ${cpu ? cpu.model : '?'} x${os.cpus().length}, ${os.platform()} ${os.release()}, node ${process.version}, runs: ${runs} x ${rounds} round trips`);
  console.log(`futex.wait/wake, parent <-> child process: ${(await crossProcess()).toFixed(0)} ns per round trip (median)`);
  console.log(`Atomics.wait/notify, main <-> worker thread (reference): ${(await crossThread()).toFixed(0)} ns per round trip (median)`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
