#!/usr/bin/env node
'use strict';
// The CPU time of one set with sync 'none' against one of a plain store, per engine: the 'none'
// goal of bench:durable ("set latency within 1.5x of a store without persistence") measured as CPU
// nanoseconds per set, which other load on a shared machine inflates less than elapsed time.
// Each store runs in a worker thread of its own (its own compiled code: a plain set of a string
// and a logged one of the record's bytes would otherwise share the engine's type feedback), and
// the workers take turns: --rounds rounds of --sets sets each after warm-up rounds (at least two,
// and until each worker has written for --warmup-ms, default 1000: the first half second or so
// of a thread's sets runs slower while V8 compiles them on the other core), medians printed, with the system part (the log's page faults and growth) and the difference per
// round, and the minor page faults per set (process-wide, as the CPU time; the pages the log's
// prefault makes present count too, so it is the pages faulted in, not the traps). Workload of
// bench:durable: 100-byte values to random keys of 100,000 (`key:` + 10 digits).
//   node bench/logged-set.js [--rounds N] [--sets N] [--warmup-ms MS] [--engine js|native|both]
//                            [--dir DIR] [--no-prefault]
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');

const KEYS = 100000;
const VALUE = 'v'.repeat(100);
// Warm-up rounds at the least.
const WARMUP = 2;
const arg = (flag, dflt) => (process.argv.includes(flag) ? process.argv[process.argv.indexOf(flag) + 1] : dflt);

// In a worker: opens its store, then answers each message with one round's { ns, sysNs } per set.
function worker({ name, engine, dir, sets, prefault }) {
  // --no-prefault: the log's pages fault one at a time as records are stored into them (the
  // behaviour before the prefault of lib/persist/wal.js, or of a kernel without it).
  if (!prefault) require('../lib/persist/io').io.prefault = null;
  const { Store } = require('..');
  const s = Store.create({ name, size: 64 << 20, engine, ...(dir ? { persist: { dir, sync: 'none', checkpointBytes: 0 } } : {}) });
  let seed = dir ? 2 : 1;
  parentPort.on('message', (m) => {
    if (m === 'close') {
      s.close();
      require('..').Segment.unlink({ name });
      parentPort.close();
      return;
    }
    const t = process.cpuUsage();
    const f = process.resourceUsage().minorPageFault;
    const t0 = performance.now();
    for (let i = 0; i < sets; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      s.set('bench', `key:${String(seed % KEYS).padStart(10, '0')}`, VALUE);
    }
    // Process-wide CPU time: the other worker waits meanwhile.
    const u = process.cpuUsage(t);
    const faults = process.resourceUsage().minorPageFault - f;
    parentPort.postMessage({ ns: ((u.user + u.system) * 1000) / sets, sysNs: (u.system * 1000) / sets, faults: faults / sets, ms: performance.now() - t0 });
  });
}

function start(data) {
  const w = new Worker(__filename, { workerData: data });
  let pending = null; // { resolve, reject } of the round in progress
  let failed = null;
  const fail = (err) => {
    failed = failed || err;
    if (pending) pending.reject(failed);
    pending = null;
  };
  w.on('message', (m) => {
    if (pending) pending.resolve(m);
    pending = null;
  });
  w.on('error', fail);
  w.on('exit', () => fail(new Error('the worker exited')));
  const round = () => new Promise((resolve, reject) => {
    if (failed) return reject(failed);
    pending = { resolve, reject };
    w.postMessage('round');
  });
  const close = () => new Promise((resolve) => {
    w.removeAllListeners('exit');
    w.once('exit', resolve);
    w.postMessage('close');
  });
  return { round, close };
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];

async function engineCase(engine, rounds, sets, baseDir, prefault, warmupMs) {
  const dir = fs.mkdtempSync(path.join(baseDir, 'shmstore-bench-logged-set-'));
  const tag = `${process.pid}-${engine}`;
  const plain = start({ name: `shmstore-bench-ls-plain-${tag}`, engine, dir: null, sets, prefault });
  const logged = start({ name: `shmstore-bench-ls-none-${tag}`, engine, dir: path.join(dir, 'p'), sets, prefault });
  const p = [];
  const q = [];
  // The time each worker has written in warm-up rounds.
  let warmPlain = 0;
  let warmLogged = 0;
  let warm = 0;
  try {
    for (let r = 0; p.length < rounds; r++) {
      // Alternating which goes first, so that a drift of the machine hurts both alike.
      let x;
      let y;
      if (r % 2 === 0) {
        x = await plain.round();
        y = await logged.round();
      } else {
        y = await logged.round();
        x = await plain.round();
      }
      if (warm < WARMUP || Math.min(warmPlain, warmLogged) < warmupMs) {
        warm++;
        warmPlain += x.ms;
        warmLogged += y.ms;
      } else {
        p.push(x);
        q.push(y);
      }
    }
  } finally {
    await plain.close();
    await logged.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const plainNs = median(p.map((x) => x.ns));
  const noneNs = median(q.map((x) => x.ns));
  const diff = median(q.map((x, i) => x.ns - p[i].ns));
  const faults = (xs) => median(xs.map((x) => x.faults)).toFixed(4);
  process.stdout.write(`${engine.padEnd(6)}  plain ${plainNs.toFixed(0)} ns/set  none ${noneNs.toFixed(0)} ns/set (system ${median(q.map((x) => x.sysNs)).toFixed(0)})` +
    `  faults/set plain ${faults(p)} none ${faults(q)}` +
    `  overhead ${diff.toFixed(0)} ns  ratio ${(noneNs / plainNs).toFixed(2)}x ${noneNs / plainNs <= 1.5 ? '(goal <= 1.5x met)' : '(goal <= 1.5x NOT met)'}\n`);
}

async function main() {
  const rounds = Number(arg('--rounds', 15));
  const sets = Number(arg('--sets', 100000));
  const warmupMs = Number(arg('--warmup-ms', 1000));
  const which = arg('--engine', 'both');
  const baseDir = arg('--dir', os.tmpdir());
  const prefault = !process.argv.includes('--no-prefault');
  process.stdout.write(`CPU per set, sync 'none' against plain: ${rounds} rounds of ${sets} sets after ${warmupMs} ms of warm-up, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}${prefault ? '' : ', log not prefaulted'}\n`);
  for (const engine of which === 'both' ? ['js', 'native'] : [which]) await engineCase(engine, rounds, sets, baseDir, prefault, warmupMs);
}

if (isMainThread) {
  main().catch((err) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
} else {
  worker(workerData);
}
