'use strict';
// The request/reply cases of the messaging benchmark (bench/msg.js): one task round trip between
// the case's main thread and one worker thread, awaited by the main thread as an application
// would (a Promise per request), through
//   'piscina'  a task of a piscina pool of exactly one thread (the task returns its input), and
//   'channel'  two shmstore Channels (requests, replies): the main thread awaits send() and
//              receive(); the worker loops receiveSync() then sendSync() (it has nothing else to do).
//              Between processes ('processes' topology): the same over two Channels in named
//              segments, the replier a child process.
// Runs from bench/lib/msg-case.js; returns { samples, cpu } in ns per round trip. The CPU time is
// the process's (process.cpuUsage counts every thread of the process, both ends included), plus,
// between processes, the child's (it reports its own after every run's last reply).
const path = require('path');
const { fork } = require('child_process');
const { Worker, isMainThread, workerData } = require('worker_threads');
const { Channel, Segment } = require('../..');

const cpuNow = () => { const u = process.cpuUsage(); return (u.user + u.system) * 1000; };

// A piscina task: the round trip's reply is the request itself.
function echo(m) {
  return m;
}

async function timed(c, once) {
  const samples = [];
  const cpu = [];
  for (let r = 0; r < c.runs; r++) {
    const cpu0 = cpuNow();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < c.n; i++) await once(i);
    samples.push(Number(process.hrtime.bigint() - t0) / c.n);
    cpu.push((cpuNow() - cpu0) / c.n);
  }
  return { samples, cpu };
}

async function runRpc(c, makeMessage) {
  if (c.transport === 'piscina') {
    const { Piscina } = require('piscina');
    const pool = new Piscina({ filename: __filename, name: 'echo', minThreads: 1, maxThreads: 1, idleTimeout: 60000 });
    await pool.run('warm-up', { name: 'echo' });
    const result = await timed(c, (i) => pool.run(makeMessage(i), { name: 'echo' }));
    await pool.destroy();
    return result;
  }
  if (c.topology === 'processes') return rpcProcesses(c, makeMessage);
  const bytes = Channel.bytesFor(16, { messageBytes: 1100 });
  const buffers = [new SharedArrayBuffer(bytes), new SharedArrayBuffer(bytes)];
  const [requests, replies] = buffers.map((buffer) => Channel.create({ buffer, capacity: 16, messageBytes: 1100 }));
  const w = new Worker(__filename, { workerData: { buffers, total: c.n * c.runs } });
  const done = new Promise((resolve, reject) => { w.once('exit', resolve); w.once('error', reject); });
  const result = await timed(c, async (i) => {
    await requests.send(makeMessage(i));
    await replies.receive();
  });
  await done;
  requests.dispose();
  replies.dispose();
  return result;
}

// The channel request/reply between this process and a child (the replier), over two Channels in
// named segments.
async function rpcProcesses(c, makeMessage) {
  const names = ['requests', 'replies'].map((what) => `shmstore-bench-rpc-${process.pid}-${what}`);
  const channels = [];
  let child = null;
  try {
    for (const name of names) channels.push(Channel.create({ name, capacity: 16, messageBytes: 1100 }));
    const [requests, replies] = channels;
    child = fork(__filename, ['--replier', ...names, String(c.n * c.runs), String(c.n)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const childCpu = [];
    child.on('message', (ns) => childCpu.push(ns));
    // Settles once the replier is gone. A replier that ends before its last reply closes both
    // channels, so that a send or receive waiting for it fails (ERR_CHANNEL_CLOSED) instead of
    // waiting for ever, and the failure reported is its exit.
    let failure = null;
    const exited = new Promise((resolve) => {
      const end = (why) => {
        if (why !== null && failure === null) {
          failure = new Error(`the replier ${why}`);
          for (const ch of channels) if (!ch.closed) ch.close();
        }
        resolve();
      };
      child.once('exit', (code, signal) => end(code === 0 ? null : `exited with ${signal || code}`));
      child.once('error', (e) => end(`failed: ${e.message}`));
    });
    const opened = new Promise((resolve) => child.once('message', resolve)); // its CPU at the start
    await Promise.race([opened, exited]);
    let result;
    try {
      if (failure === null) {
        result = await timed(c, async (i) => {
          await requests.send(makeMessage(i));
          await replies.receive();
        });
      }
    } catch (e) {
      if (failure === null) throw e;
    }
    await exited;
    if (failure !== null) throw failure;
    // childCpu[r + 1] - childCpu[r]: the child's CPU during run r, per round trip.
    const peerCpu = result.cpu.map((ns, r) => (childCpu[r + 1] - childCpu[r]) / c.n);
    result.cpu = result.cpu.map((ns, r) => ns + peerCpu[r]);
    return { ...result, peerCpu };
  } finally {
    // A replier still running (this side failed) is woken by the close and then ended.
    for (const ch of channels) {
      if (child !== null && child.exitCode === null && !ch.closed) ch.close();
      ch.dispose();
    }
    if (child !== null && child.exitCode === null && child.signalCode === null) child.kill();
    for (const name of names.slice(0, channels.length)) Segment.unlink({ name });
  }
}

if (process.argv[2] === '--replier') {
  const [requests, replies] = process.argv.slice(3, 5).map((name) => Channel.open({ name }));
  const total = Number(process.argv[5]);
  const perRun = Number(process.argv[6]);
  const parent = process.ppid;
  process.send(cpuNow());
  for (let i = 0; i < total; i++) {
    // A wait of at most a second at a time: a replier whose parent was killed (its channels
    // never closed) ends instead of waiting for ever.
    let request;
    for (;;) {
      try {
        request = requests.receiveSync(1000);
        break;
      } catch (e) {
        if (e.code !== 'ERR_QUEUE_TIMEOUT' || process.ppid !== parent) throw e;
      }
    }
    replies.sendSync(request);
    if ((i + 1) % perRun === 0) process.send(cpuNow());
  }
  requests.dispose();
  replies.dispose();
  process.disconnect();
}

if (!isMainThread && workerData && workerData.buffers) {
  const [requests, replies] = workerData.buffers.map((buffer) => Channel.open({ buffer }));
  for (let i = 0; i < workerData.total; i++) replies.sendSync(requests.receiveSync());
  requests.dispose();
  replies.dispose();
}

module.exports = { runRpc, echo, file: path.resolve(__filename) };
