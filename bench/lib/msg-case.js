'use strict';
// One case of the messaging benchmark (bench/msg.js), run in a child process of its own:
//   node bench/lib/msg-case.js '<case JSON>'   prints one JSON line { samples, cpu, ns, cpuNs }:
//   ns per message of each counted run, and over all of them together (the sustained rate)
// The case's main thread is the sender (one-way) or the pinger (round trips); the other end runs
// in a worker thread or a child process of this one (the same file, as 'peer'). Each run passes
// `n` messages; the peer reports the end of a run and, as a process, the CPU time it used.
// Warm-up runs come first and are not counted: at least `warmups` of them, and as many as start
// within `warmMs` of the first. They warm up the JIT and the memory, and they outlast the start of
// the process: for its first few hundred milliseconds V8's background threads (its concurrent
// compilers and GC) keep the second core busy, so that the two ends of a queue share one core and
// take turns (a measured SpscRing batch run: 100-190 ns a message for the first 0.3 s, 50-57 ns
// from then on, each end waiting for the other about once per ring's worth of messages before,
// the receiver polling and the sender never waiting after; with --single-threaded the slow part
// ended within three runs). Then come the counted runs: at least `runs` of them, and as many as
// start within `countMs` of the first. The result is their messages over their time together,
// not a median of runs: a ring's rate still dips for a few runs every now and then (measured
// between two threads: 53-60 ns a message for most runs, then 100-160 ns for five or six, even
// after a second of warm-up), and a sustained rate includes the dips. The sender decides when each phase ends; it writes the number of runs
// in all to a shared control word, which the peer reads after each run.
const path = require('path');
const { fork } = require('child_process');
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const { SpscRing, MpmcQueue, Stack, PriorityQueue, Segment } = require('../..');
const T = require('./msg-transports');
const { runRpc } = require('./msg-rpc');

const cpuNow = () => { const u = process.cpuUsage(); return (u.user + u.system) * 1000; };

// ---- the peer ----------------------------------------------------------------------------

// The control word: the number of runs in all (RUNS_OPEN until the sender fixes it).
const RUNS_OPEN = 0x7fffffff;
const CTL_NAME = (pid) => `shmstore-bench-msg-${pid}-ctl`;
function ctlWord(where) {
  const buffer = where.ctl ? where.ctl : Segment.open({ name: where.ctlName }).buffer;
  return new Int32Array(buffer, 0, 1);
}

async function peer(c, where, report) {
  const { n, kind } = c;
  const ctl = ctlWord(where);
  const more = (r) => r < Atomics.load(ctl, 0);
  if (c.transport === 'futex' || c.transport === 'spin') {
    const turn = c.transport === 'futex' ? T.futexTurn : T.spinTurn;
    const i32 = where.name ? new Int32Array(Segment.open({ name: where.name }).buffer, 0, 1) : new Int32Array(where.buffer, 0, 1);
    for (let r = 0; more(r); r++) {
      const cpu0 = cpuNow();
      for (let i = 0; i < n; i++) turn(i32, 1);
      report(cpuNow() - cpu0);
    }
    return;
  }
  if (c.transport === 'redis') {
    const Redis = require('ioredis');
    const redis = new Redis({ port: c.redisPort, host: '127.0.0.1', lazyConnect: false });
    for (let r = 0; more(r); r++) {
      const cpu0 = cpuNow();
      for (let i = 0; i < n; i++) {
        const [, m] = await redis.brpop(`${c.id}:ping`, 0);
        if (c.pattern === 'pingpong') await redis.lpush(`${c.id}:pong`, m);
        else if (kind === 'json') JSON.parse(m);
      }
      report(cpuNow() - cpu0);
    }
    redis.disconnect();
    return;
  }
  if (c.transport === 'ipc' || c.transport.startsWith('postMessage')) {
    const port = c.transport === 'ipc' ? process : where.port;
    const batched = c.transport === 'postMessage-batch'; // arrays of messages
    let count = 0;
    let cpu0 = cpuNow();
    let done = 0;
    await new Promise((resolve) => {
      port.on('message', (m) => {
        if (c.pattern === 'pingpong') port[c.transport === 'ipc' ? 'send' : 'postMessage'](m);
        count += batched ? m.length : 1;
        if (count < n) return;
        count = 0;
        report(cpuNow() - cpu0);
        cpu0 = cpuNow();
        if (!more(++done)) resolve();
      });
    });
    if (where.port) where.port.close();
    return;
  }
  // Queues: a blocking receive loop.
  const open = (w) => T.queueEnds(c.transport, w);
  const recv = open(where.ping).receiver(kind);
  const send = c.pattern === 'pingpong' ? open(where.pong).sender() : null;
  for (let r = 0; more(r); r++) {
    const cpu0 = cpuNow();
    for (let i = 0; i < n; i++) {
      const m = recv();
      if (send) send(m);
    }
    report(cpuNow() - cpu0);
  }
}

// ---- the case ----------------------------------------------------------------------------

// The shape of the slotted queues (MpmcQueue, Stack, PriorityQueue: every one of them alike),
// sized to the payload as a user would. For 32-byte messages: 1,024 slots of 120 bytes (stride
// 128, 128 KiB in all), room for any string of 32 characters in UTF-8 (3 bytes each, so a message
// sent alone needs no count of its bytes) and for the JSON cases' text. For 1 KiB messages: 256
// slots of 1,100 bytes (278 KiB). With SHMSTORE_BENCH_SLOTS=fixed every case uses the one shape
// of earlier runs, 256 slots of 1,100 bytes, whatever its payload (bench/README.md has both).
function slotShape(size) {
  if (process.env.SHMSTORE_BENCH_SLOTS === 'fixed' || size > 32) return { capacity: 256, messageBytes: 1100 };
  return { capacity: 1024, messageBytes: 120 };
}

// Creates the shared memory of a queue transport: a SharedArrayBuffer (threads) or a segment
// (processes). Returns { where, cleanup }.
function makeQueue(c, tag) {
  const slots = slotShape(c.size);
  const shapes = {
    spsc: [SpscRing, { capacity: 1 << 16 }],
    'spsc-batch': [SpscRing, { capacity: 1 << 16 }],
    mpmc: [MpmcQueue, slots],
    'mpmc-batch': [MpmcQueue, slots],
    stack: [Stack, slots],
    pq: [PriorityQueue, slots],
  };
  if (c.topology === 'threads') {
    if (c.transport.startsWith('ringbuf')) return { where: { buffer: T.ringbufEnds.storage(1 << 16) }, cleanup() {} };
    if (c.transport === 'bare-ring') return { where: { buffer: T.bareRingEnds.storage(1 << 16) }, cleanup() {} };
    if (c.transport === 'bare-batch') return { where: { buffer: T.bareBatchEnds.storage(1 << 16), size: c.size }, cleanup() {} };
    const [Class, shape] = shapes[c.transport];
    const { capacity, ...rest } = shape;
    const buffer = new SharedArrayBuffer(Class.bytesFor(capacity, Object.keys(rest).length ? rest : undefined));
    Class.create({ buffer, ...shape }).close();
    return { where: { buffer }, cleanup() {} };
  }
  const [Class, shape] = shapes[c.transport];
  const name = `shmstore-bench-msg-${process.pid}-${tag}`;
  Class.create({ name, ...shape }).close();
  return { where: { name }, cleanup: () => Segment.unlink({ name }) };
}

async function main(c) {
  if (c.transport === 'piscina' || c.transport === 'channel') {
    const r = await runRpc(c, (i) => T.makeMessage(c.kind, c.size, i));
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const cleanups = [];
  let where;
  let pingPort = null;
  if (T.QUEUES.includes(c.transport)) {
    const ping = makeQueue(c, 'ping');
    cleanups.push(ping.cleanup);
    where = { ping: ping.where };
    if (c.pattern === 'pingpong') {
      const pong = makeQueue(c, 'pong');
      cleanups.push(pong.cleanup);
      where.pong = pong.where;
    }
  } else if (c.transport === 'futex' || c.transport === 'spin') {
    if (c.topology === 'threads') where = { buffer: new SharedArrayBuffer(64) };
    else {
      const name = `shmstore-bench-msg-${process.pid}-${c.transport}`;
      Segment.create({ name, size: 4096 }).close();
      cleanups.push(() => Segment.unlink({ name }));
      where = { name };
    }
  } else if (c.transport.startsWith('postMessage')) {
    const { port1, port2 } = new MessageChannel();
    pingPort = port1;
    where = { port: port2 };
  } else {
    where = {};
  }
  // The control word (threads: a SharedArrayBuffer; processes: a segment of its own).
  if (c.topology === 'threads') where.ctl = new SharedArrayBuffer(4);
  else {
    where.ctlName = CTL_NAME(process.pid);
    Segment.create({ name: where.ctlName, size: 4096 }).close();
    cleanups.push(() => Segment.unlink({ name: where.ctlName }));
  }
  const ctl = ctlWord(where);
  Atomics.store(ctl, 0, RUNS_OPEN);
  // The peer, and a queue of its reports.
  const reports = [];
  let wake = null;
  const onReport = (cpu) => { reports.push(cpu); if (wake) wake(); };
  const nextReport = async () => {
    while (!reports.length) await new Promise((r) => { wake = r; });
    wake = null;
    return reports.shift();
  };
  let peerProc = null;
  let peerWorker = null;
  if (c.topology === 'threads') {
    peerWorker = new Worker(__filename, { workerData: { c, where }, transferList: where.port ? [where.port] : [] });
    peerWorker.on('message', (m) => onReport(m.cpu === undefined ? null : 0));
    peerWorker.on('error', (e) => { console.error(e); process.exit(1); });
  } else {
    peerProc = fork(__filename, ['peer', JSON.stringify({ c, where })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    peerProc.on('message', (m) => { if (m && m.report) onReport(m.cpu); });
  }
  // Sender side.
  let send;
  let recv = null;
  if (T.QUEUES.includes(c.transport)) {
    const open = (w) => T.queueEnds(c.transport, w);
    send = open(where.ping).sender();
    if (c.pattern === 'pingpong') recv = open(where.pong).receiver(c.kind);
  }
  let redis = null;
  if (c.transport === 'redis') {
    const Redis = require('ioredis');
    redis = new Redis({ port: c.redisPort, host: '127.0.0.1' });
    await redis.del(`${c.id}:ping`, `${c.id}:pong`);
  }
  let i32 = null;
  if (c.transport === 'futex' || c.transport === 'spin') i32 = where.name ? new Int32Array(Segment.open({ name: where.name }).buffer, 0, 1) : new Int32Array(where.buffer, 0, 1);
  let replies = null;
  if (c.pattern === 'pingpong' && (c.transport === 'postMessage' || c.transport === 'ipc')) {
    const port = c.transport === 'ipc' ? peerProc : pingPort;
    replies = { wake: null };
    port.on('message', (m) => { if (m && m.report) return; if (replies.wake) replies.wake(); });
  }
  if (pingPort && c.pattern !== 'pingpong') pingPort.start();
  const messages = Array.from({ length: 64 }, (_, i) => T.makeMessage(c.kind, c.size, i));
  const samples = [];
  const cpu = [];
  const pending = [];
  // One run's messages. A function of its own, so that the phase decisions of the loop below
  // cannot deoptimize it: code that first ran once the warm-up was over (the count of counted
  // runs, the store of the control word) deoptimized the loop's function, which held the sending
  // loop, and the first counted runs measured the sender without its optimized code (150-210 ns
  // a message of a ring that passes one in 55).
  const sendRun = async () => {
    for (let i = 0; i < c.n; i++) {
      const m = c.kind === 'json' ? T.makeMessage('json', c.size, i) : messages[i & 63];
      if (c.transport === 'futex') T.futexTurn(i32, 0);
      else if (c.transport === 'spin') T.spinTurn(i32, 0);
      else if (c.transport === 'postMessage') pingPort.postMessage(m);
      else if (c.transport === 'postMessage-batch') {
        // The batches SpscRing's and ringbuf.js's batched transports send: an array of BATCH
        // messages per postMessage (cloned at the call, so the array is reused).
        pending.push(m);
        if (pending.length === T.BATCH) {
          pingPort.postMessage(pending);
          pending.length = 0;
        }
      }
      else if (c.transport === 'ipc') peerProc.send(m);
      else if (c.transport === 'redis') {
        const p = redis.lpush(`${c.id}:ping`, typeof m === 'string' ? m : JSON.stringify(m));
        if (c.pattern === 'pingpong') { await p; await redis.brpop(`${c.id}:pong`, 0); }
      } else send(m);
      if (recv) recv();
      if (replies) await new Promise((res) => { replies.wake = res; });
    }
    if (send && send.flush) send.flush();
    if (pending.length) pingPort.postMessage(pending);
    pending.length = 0;
  };
  const { warmups, runs } = c;
  const warmMs = c.warmMs || 0;
  const countMs = c.countMs || 0;
  const start = performance.now();
  let first = RUNS_OPEN; // the first counted run, once the warm-up is over
  let countStart = 0;
  let total = RUNS_OPEN;
  for (let r = 0; r < total; r++) {
    // Every decision is computed in every run, and every run records its sample, for the same
    // reason as sendRun(): no code of this loop runs for the first time after the warm-up.
    const now = performance.now();
    const warm = r < warmups || now - start < warmMs;
    if (first === RUNS_OPEN && !warm) countStart = now;
    first = Math.min(first, warm ? RUNS_OPEN : r);
    const enough = r - first + 1 >= runs && now - countStart >= countMs;
    if (total === RUNS_OPEN && enough) total = r + 1; // this run is the last one
    Atomics.store(ctl, 0, total);
    const cpu0 = cpuNow();
    const t0 = process.hrtime.bigint();
    await sendRun();
    const peerCpu = await nextReport();
    const t1 = process.hrtime.bigint();
    samples.push(Number(t1 - t0) / c.n);
    cpu.push((cpuNow() - cpu0 + (peerCpu || 0)) / c.n);
  }
  samples.splice(0, first); // the warm-up runs
  cpu.splice(0, first);
  // Every counted run passes n messages: the sustained rate is the mean of the runs' rates.
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  if (redis) redis.disconnect();
  if (peerWorker) await peerWorker.terminate();
  if (peerProc) await new Promise((res) => (peerProc.exitCode !== null ? res() : peerProc.once('exit', res)));
  if (pingPort) pingPort.close();
  for (const f of cleanups) f();
  process.stdout.write(`${JSON.stringify({ samples, cpu, ns: mean(samples), cpuNs: mean(cpu) })}\n`);
}

if (!isMainThread) {
  peer(workerData.c, workerData.where, () => parentPort.postMessage({ cpu: 0 })).catch((e) => { throw e; });
} else if (process.argv[2] === 'peer') {
  const { c, where } = JSON.parse(process.argv[3]);
  peer(c, where, (cpu) => process.send({ report: true, cpu })).then(() => process.disconnect());
} else if (require.main === module) {
  main(JSON.parse(process.argv[2])).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

module.exports = { file: path.resolve(__filename) };
