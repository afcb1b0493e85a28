#!/usr/bin/env node
'use strict';
// Futex wake -> wake-up round trip across processes: the parent and a child ping-pong on one
// word of a shared memory segment with futex.wait / futex.wake (both block). For reference,
// the same ping-pong between two threads of one process with Atomics.wait / Atomics.notify.
// Prints the median ns per round trip over several batches.
// Then futex.waitAsync: a main thread awaiting waitAsync ping-pongs with a worker blocked in
// futex.wait, and the threads that 1,000 pending waitAsync take; each in child processes that
// alternate the futex_waitv watchers with the thread-per-wait fallback (SHMSTORE_FUTEX_WAITV=0).
//   node bench/futex.js [--runs N] [--rounds N] [--async-pairs N]
const { execFileSync, fork } = require('child_process');
const fs = require('fs');
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

const threadCount = () => Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);

// One process of one mode: round trip main (waitAsync) <-> worker (futex.wait), then threads.
async function asyncChild() {
  const asyncRounds = 2000;
  const i32 = new Int32Array(new SharedArrayBuffer(64));
  const src = `
    const { workerData } = require('worker_threads');
    const { futex } = require(${JSON.stringify(require.resolve('..'))});
    const i32 = new Int32Array(workerData.sab);
    for (let i = 0; i < workerData.total; i++) {
      let v;
      while ((v = Atomics.load(i32, 0)) % 2 !== 1) futex.wait(i32, 0, v);
      Atomics.add(i32, 0, 1);
      futex.wake(i32, 0, 1);
    }`;
  const worker = new Worker(src, { eval: true, workerData: { sab: i32.buffer, total: runs * asyncRounds } });
  const results = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < asyncRounds; i++) {
      let v;
      while ((v = Atomics.load(i32, 0)) % 2 !== 0) await futex.waitAsync(i32, 0, v);
      Atomics.add(i32, 0, 1);
      futex.wake(i32, 0, 1);
    }
    results.push(Number(process.hrtime.bigint() - t0) / asyncRounds);
  }
  await new Promise((resolve) => worker.once('exit', resolve));
  const words = new Int32Array(new SharedArrayBuffer(4 * 1000));
  const before = threadCount();
  const waits = [];
  for (let i = 0; i < 1000; i++) waits.push(futex.waitAsync(words, i, 0));
  const pending = threadCount() - before;
  for (let i = 0; i < 1000; i++) {
    Atomics.store(words, i, 1);
    futex.wake(words, i);
  }
  await Promise.all(waits);
  process.stdout.write(JSON.stringify({ ns: median(results), threads: pending }));
}

function asyncModes(pairs) {
  const out = { watchers: { ns: [], threads: [] }, threads: { ns: [], threads: [] } };
  for (let p = 0; p < pairs; p++) {
    for (const [mode, flag] of [['watchers', '1'], ['threads', '0']]) {
      const text = execFileSync(process.execPath, [__filename, 'async', '--runs', String(runs)], {
        env: { ...process.env, SHMSTORE_FUTEX_WAITV: flag },
      });
      const r = JSON.parse(text);
      out[mode].ns.push(r.ns);
      out[mode].threads.push(r.threads);
    }
  }
  return out;
}

if (process.argv[2] === 'async') {
  asyncChild().catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else if (process.argv[2] === 'child') {
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

if (process.argv[2] !== 'async' && process.argv[2] !== 'child') {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

async function main() {
  const cpu = os.cpus()[0];
  console.log(`shmstore bench: futex round trip\nmachine: ${cpu ? cpu.model : '?'} x${os.cpus().length}, ${os.platform()} ${os.release()}, node ${process.version}, runs: ${runs} x ${rounds} round trips`);
  console.log(`futex.wait/wake, parent <-> child process: ${(await crossProcess()).toFixed(0)} ns per round trip (median)`);
  console.log(`Atomics.wait/notify, main <-> worker thread (reference): ${(await crossThread()).toFixed(0)} ns per round trip (median)`);
  const pairs = arg('--async-pairs', 5);
  const m = asyncModes(pairs);
  const fmt = (xs) => xs.map((x) => (x / 1000).toFixed(1)).join(' ');
  console.log(`futex.waitAsync (main) <-> futex.wait (worker), ${pairs} alternated process pairs, us per round trip (median of ${runs} x 2000 each):`);
  console.log(`  futex_waitv watchers: ${fmt(m.watchers.ns)}  median ${(median(m.watchers.ns) / 1000).toFixed(1)}`);
  console.log(`  thread per wait:      ${fmt(m.threads.ns)}  median ${(median(m.threads.ns) / 1000).toFixed(1)}`);
  console.log(`threads added by 1,000 pending waitAsync: watchers ${m.watchers.threads.join(' ')}, thread per wait ${m.threads.threads.join(' ')}`);
}
