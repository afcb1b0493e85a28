'use strict';
// layout-ok-file: the 4-byte stamp is the benchmark's own, not the binary layout.
// One case of the buffer pool benchmark (bench/pool.js), run in a child process of its own:
//   node bench/lib/pool-case.js '<case JSON>'   prints one JSON line { samples, cpu, futex }:
//   per run, the ns per hand-off, the CPU ns per hand-off of both sides together (user + system,
//   every thread; a child process reports its own) and (processes) of the consumer alone, and
//   (pool) futex waits and wakes per hand-off of each side, counted at the addon's
//   futexWait/futexWake. With "pin": true (processes) the producer runs on CPU 0 and the consumer
//   on CPU 1 (taskset, util-linux): each side has a core of its own, whatever else the machine
//   runs, instead of both sharing one when the scheduler puts them there.
// The main thread hands `n` payloads of `size` bytes per run to a consumer in a worker thread or
// a child process (this file again, as the peer), which checks each payload's stamp (its number,
// in its first 4 bytes) and reports the end of each run (after one uncounted warm-up run). Every
// producer does the same payload work: it writes the 4-byte stamp into a payload whose other
// bytes were written once (a pooled block, or the one Buffer postMessage copies); `transfer`
// writes it into a new ArrayBuffer per message. Transports:
//   pool         a BufferPool block is stamped in place, its handle sent through an MpmcQueue; the
//                consumer reads the block in place and releases it (`window` blocks, and a queue of as
//                many slots: at most `window` in flight)
//   postMessage  the same 1 MiB Buffer, stamped, posted (structured clone: a copy per message)
//   transfer     a new ArrayBuffer per message, stamped, posted with its ownership transferred
//   ipc          child_process IPC with the 'advanced' serialization (a copy per message)
// The copying transports keep at most `window` messages in flight too (the consumer acknowledges
// each).
const { fork, execFileSync } = require('child_process');
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const { BufferPool, MpmcQueue, Segment } = require('../..');
const { addon } = require('../../lib/base/native');

// Futex calls of this thread (pool transport): the addon's two entry points, counted in place.
const futexCalls = { waits: 0, wakes: 0 };
function countFutexCalls() {
  if (!addon) return;
  const { futexWait, futexWake } = addon;
  addon.futexWait = (...a) => { futexCalls.waits++; return futexWait(...a); };
  addon.futexWake = (...a) => { futexCalls.wakes++; return futexWake(...a); };
}
// What a peer reports at the end of a run: its futex calls since the last report and (a child
// process) its CPU time, in ns.
function runReport(withCpu, since) {
  const r = { done: true, waits: futexCalls.waits, wakes: futexCalls.wakes, cpuNs: 0 };
  futexCalls.waits = 0;
  futexCalls.wakes = 0;
  if (withCpu) {
    const c = process.cpuUsage(since.cpu);
    r.cpuNs = (c.user + c.system) * 1000;
    since.cpu = process.cpuUsage();
  }
  return r;
}

// Pins this process to one CPU (the "pin" option).
const pinTo = (cpu) => execFileSync('taskset', ['-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });

// Hand-offs in run r: run 0 warms up (c.warm hand-offs, enough for V8 to optimize every
// transport's code: a short first run leaves the timed runs partly unoptimized), the others are
// timed (c.n each).
const lengthOf = (c, r) => (r === 0 ? c.warm : c.n);

const stampOf = (u8) => (u8[0] | (u8[1] << 8) | (u8[2] << 16) | (u8[3] << 24)) >>> 0;
function stamp(u8, i) {
  u8[0] = i & 0xff;
  u8[1] = (i >>> 8) & 0xff;
  u8[2] = (i >>> 16) & 0xff;
  u8[3] = (i >>> 24) & 0xff;
}
const check = (u8, i) => {
  if (stampOf(u8) !== i) throw new Error(`payload ${i} arrived as ${stampOf(u8)}`);
};

// ---- the consumer ------------------------------------------------------------------------

function poolPeer(c, where, send, withCpu) {
  countFutexCalls();
  const pool = BufferPool.open(where.pool);
  const q = MpmcQueue.open(where.queue);
  const since = { cpu: process.cpuUsage() };
  send('ready');
  for (let r = 0; r <= c.runs; r++) {
    runReport(withCpu, since);
    for (let i = 0; i < lengthOf(c, r); i++) {
      const handle = q.dequeue(60000);
      check(pool.view(handle), i);
      pool.release(handle);
    }
    send(runReport(withCpu, since));
  }
  q.close();
  pool.close();
}

function copyPeer(c, port, send, withCpu) {
  let i = 0;
  let run = 0;
  const since = { cpu: process.cpuUsage() };
  send('ready');
  port.on('message', (m) => {
    if (i === 0) runReport(withCpu, since); // the run starts: its CPU time counts from here
    check(m instanceof ArrayBuffer ? new Uint8Array(m) : m, i);
    send('ack');
    i++;
    if (i === lengthOf(c, run)) {
      i = 0;
      run++;
      send(runReport(withCpu, since));
    }
  });
}

// ---- the producer ------------------------------------------------------------------------

async function producer(c) {
  const messages = [];
  let wake = null;
  const onMessage = (m) => {
    messages.push(m);
    if (wake) wake();
  };
  const next = async () => {
    while (messages.length === 0) await new Promise((resolve) => { wake = resolve; });
    wake = null;
    return messages.shift();
  };
  let peer;
  let pool;
  let q;
  let post;
  if (c.transport === 'pool') {
    const names = { pool: `${c.id}-pool`, queue: `${c.id}-q` };
    let where;
    if (c.topology === 'threads') {
      const pb = new SharedArrayBuffer(BufferPool.bytesFor(c.window, c.size));
      const qb = new SharedArrayBuffer(MpmcQueue.bytesFor(c.window, { messageBytes: 16 }));
      pool = BufferPool.create({ buffer: pb, blockCount: c.window, blockSize: c.size });
      q = MpmcQueue.create({ buffer: qb, capacity: c.window, messageBytes: 16 });
      where = { pool: { buffer: pb }, queue: { buffer: qb } };
    } else {
      pool = BufferPool.create({ name: names.pool, blockCount: c.window, blockSize: c.size });
      q = MpmcQueue.create({ name: names.queue, capacity: c.window, messageBytes: 16 });
      where = { pool: { name: names.pool }, queue: { name: names.queue } };
    }
    peer = startPeer(c, where, onMessage);
    if ((await next()) !== 'ready') throw new Error('the peer did not start');
    if (c.topology === 'processes') {
      for (const name of Object.values(names)) Segment.unlink({ name }); // the mappings stay
    }
  } else {
    peer = startPeer(c, {}, onMessage);
    if ((await next()) !== 'ready') throw new Error('the peer did not start');
    post = c.topology === 'threads' ? (m, t) => peer.postMessage(m, t) : (m) => peer.send(m);
  }
  const samples = [];
  const cpu = [];
  const consumerCpu = [];
  const futex = [];
  const isDone = (m) => m !== null && typeof m === 'object' && m.done === true;
  const payload = Buffer.alloc(c.size, 0x5a);
  // Run 0 warms up (the JIT, the first touch of every block) and is not counted.
  for (let r = 0; r <= c.runs; r++) {
    futexCalls.waits = 0;
    futexCalls.wakes = 0;
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let report;
    if (c.transport === 'pool') {
      for (let i = 0; i < lengthOf(c, r); i++) {
        // Every block in flight: wait for the consumer to release one, as an application would.
        const got = pool.acquire(60000);
        stamp(got.view, i);
        q.enqueue(got.handle, 60000);
      }
      while (!isDone((report = await next())));
    } else {
      let acked = 0;
      for (let i = 0; i < lengthOf(c, r); i++) {
        while (i - acked >= c.window) if ((await next()) === 'ack') acked++;
        if (c.transport === 'transfer') {
          const ab = new ArrayBuffer(c.size);
          stamp(new Uint8Array(ab), i);
          post(ab, [ab]);
        } else {
          stamp(payload, i);
          post(payload);
        }
      }
      while (!isDone((report = await next())));
      messages.length = 0;
    }
    const ns = Number(process.hrtime.bigint() - t0);
    const used = process.cpuUsage(c0);
    // Taken in every run, the warm-up too (dropped below), so that no code runs for the first
    // time between two counted runs.
    samples.push(ns / c.n);
    cpu.push(((used.user + used.system) * 1000 + report.cpuNs) / c.n);
    if (c.topology === 'processes') consumerCpu.push(report.cpuNs / c.n);
    if (c.transport === 'pool') {
      futex.push({ producerWaits: futexCalls.waits / c.n, producerWakes: futexCalls.wakes / c.n,
        consumerWaits: report.waits / c.n, consumerWakes: report.wakes / c.n });
    }
  }
  for (const list of [samples, cpu, consumerCpu, futex]) list.shift(); // run 0, the warm-up
  if (c.topology === 'threads') await peer.terminate();
  else peer.kill();
  if (q) q.close();
  if (pool) pool.close();
  return { samples, cpu, consumerCpu, futex };
}

function startPeer(c, where, onMessage) {
  if (c.topology === 'threads') {
    const w = new Worker(__filename, { workerData: { c, where } });
    w.on('message', onMessage);
    w.on('error', (e) => { console.error(e); process.exit(1); });
    return w;
  }
  const child = fork(__filename, ['peer', JSON.stringify({ c, where })], { serialization: 'advanced' });
  child.on('message', onMessage);
  child.on('exit', (code) => { if (code) { console.error(`peer exited with ${code}`); process.exit(1); } });
  return child;
}

if (!isMainThread) {
  const { c, where } = workerData;
  const send = (m) => parentPort.postMessage(m);
  // A worker's CPU time is in its process's, which the producer measures.
  if (c.transport === 'pool') poolPeer(c, where, send, false);
  else copyPeer(c, parentPort, send, false);
} else if (process.argv[2] === 'peer') {
  const { c, where } = JSON.parse(process.argv[3]);
  if (c.pin) pinTo(1);
  const send = (m) => process.send(m);
  if (c.transport === 'pool') {
    poolPeer(c, where, send, true);
    process.disconnect();
  } else {
    copyPeer(c, process, send, true);
  }
} else {
  const c = JSON.parse(process.argv[2]);
  if (c.pin && c.topology === 'processes') pinTo(0);
  if (c.transport === 'pool') countFutexCalls();
  producer(c).then((result) => {
    console.log(JSON.stringify(result));
    process.exit(0);
  }, (e) => {
    console.error(e);
    process.exit(1);
  });
}
