#!/usr/bin/env node
'use strict';
// Buffer pool benchmark (npm run bench:pool): the hand-off of a 1 MiB payload from one thread to
// another and from one process to another, with shmstore's BufferPool (the block is stamped in
// place, its handle travels through an MpmcQueue, the consumer reads the block in place and
// releases it) against postMessage of a copied 1 MiB Buffer, postMessage transferring a fresh
// ArrayBuffer, and (processes) child_process IPC with the 'advanced' serialization. Each case
// runs in its own child process (bench/lib/pool-case.js) from the declared list below; the table
// shows the median over runs of the time and of the CPU time (both sides) per hand-off, the ratios
// the issue's goal names, and the futex calls per hand-off of the pool's two sides.
// Then the operations of one thread (bench/lib/pool-ops-case.js, a child process per case):
// acquire+release of the buffer and object pools against an in-process free-list array, and
// memory-pool allocate+free against Buffer.allocUnsafe left to the garbage collector.
// Results: bench/results/pool-latest.json.
//   node bench/pool.js [--quick] [--only <substring>] [--runs N] [--window W] [--pin] [--no-save]
// --window: the payloads in flight, the same for every transport (pool blocks and queue slots;
// acknowledged messages); a power of two from 2 to 1024, default 16.
// --pin: the two processes of each processes case run on CPUs 0 and 1 (taskset), one core each;
// unpinned, a machine busy with other work often has the scheduler put both on one core, where a
// hand-off costs the switches between them (their CPU time then adds up to about the wall time).
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { machine, median } = require('./lib/report');

const args = process.argv.slice(2);
const flag = (f) => args.includes(f);
const value = (f, d) => (args.includes(f) ? args[args.indexOf(f) + 1] : d);
const quick = flag('--quick');
const runs = Number(value('--runs', quick ? 3 : 7));
const only = value('--only', null);
const CASE = path.join(__dirname, 'lib', 'pool-case.js');
const RESULTS = path.join(__dirname, 'results', 'pool-latest.json');
const SIZE = 1 << 20;
const N = quick ? 100 : 2000;
// Hand-offs of the warm-up run before the timed ones, the same for every transport.
const WARM = quick ? 1000 : 20000;
const WINDOW = Number(value('--window', 16));
const PIN = flag('--pin');
if (!Number.isInteger(Math.log2(WINDOW)) || WINDOW < 2 || WINDOW > 1024) throw new RangeError(`--window ${WINDOW}: a power of two from 2 to 1024`);

// The declared cases: [transport, topology].
const CASES = [
  ['pool', 'threads'], ['postMessage', 'threads'], ['transfer', 'threads'],
  ['pool', 'processes'], ['ipc', 'processes'],
];
const LABELS = {
  pool: 'BufferPool hand-off (zero-copy)',
  postMessage: 'postMessage, copied Buffer',
  transfer: 'postMessage, transferred ArrayBuffer',
  ipc: 'child_process IPC (advanced), copied',
};
const idOf = ([transport, topology]) => `${topology}/${transport}`;
const OPS_CASE = path.join(__dirname, 'lib', 'pool-ops-case.js');
const OPS_N = quick ? 200000 : 1000000;
// The declared operation cases, each [op, its peer in the same run].
const OPS = [['buffer-pool', 'free-list'], ['object-pool', 'free-list'], ['free-list', null], ['memory-pool', 'alloc-unsafe'], ['alloc-unsafe', null]];
const OPS_LABELS = {
  'buffer-pool': 'BufferPool acquire(0) + release',
  'object-pool': 'ObjectPool acquire(0) + release',
  'free-list': 'in-process free-list array pop + push',
  'memory-pool': 'MemoryPool allocate + free (64 B..4 KiB)',
  'alloc-unsafe': 'Buffer.allocUnsafe, same sizes, + GC',
};

function runCase(c) {
  const [transport, topology] = c;
  const desc = { id: `bench-${process.pid}-${topology}-${transport}`, transport, topology, n: N, warm: WARM, runs, size: SIZE, window: WINDOW, pin: PIN && topology === 'processes' };
  try {
    const out = execFileSync(process.execPath, [CASE, JSON.stringify(desc)], { encoding: 'utf8', timeout: 600000, stdio: ['ignore', 'pipe', 'inherit'] });
    const r = JSON.parse(out.trim().split('\n').pop());
    // The futex calls of the run whose time is the median (the runs are odd in number).
    const mid = r.samples.indexOf(median(r.samples));
    return { ns: median(r.samples), cpuNs: median(r.cpu), samples: r.samples, cpu: r.cpu, futex: r.futex[mid],
      consumerCpuNs: r.consumerCpu.length > 0 ? median(r.consumerCpu) : undefined, consumerCpu: r.consumerCpu };
  } catch (e) {
    return { error: String(e.message).split('\n')[0] };
  }
}

const us = (ns) => (ns / 1000).toFixed(ns >= 100000 ? 0 : 1);

const m = machine();
const date = new Date().toISOString();
const loadavgBefore = os.loadavg();
console.log(`shmstore bench: buffer pool hand-off of ${SIZE} bytes (${date})`);
console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.os}; node ${m.node}`);
console.log(`load average: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ${runs} runs of ${N} hand-offs per case, ${WINDOW} in flight (median; a first run of ${WARM} warms up)${PIN ? '; processes pinned to CPUs 0 and 1' : ''}\n`);
const results = {};
for (const c of CASES) {
  const id = idOf(c);
  if (only && !id.includes(only)) continue;
  results[id] = runCase(c);
  const r = results[id];
  console.log(`  ${id.padEnd(24)} ${r.error ? `error: ${r.error}` : `${us(r.ns)} µs per hand-off`} (load average now ${os.loadavg()[0].toFixed(2)})`);
}

console.log('\nper 1 MiB hand-off: µs (median) | × faster than postMessage of a copied Buffer (threads) | payload GB/s | CPU µs (both sides, median; processes: the consumer alone in brackets)');
const pm = results['threads/postMessage'];
for (const c of CASES) {
  const r = results[idOf(c)];
  if (!r) continue;
  const label = `${c[1]} ${LABELS[c[0]]}`;
  if (r.error) {
    console.log(`    ${label.padEnd(52)} ${r.error}`);
    continue;
  }
  const ratio = pm && pm.ns ? `${(pm.ns / r.ns).toFixed(1)}×` : '—';
  const split = r.consumerCpuNs === undefined ? '' : ` (consumer ${us(r.consumerCpuNs)})`;
  console.log(`    ${label.padEnd(52)} ${us(r.ns).padStart(9)} µs  ${ratio.padStart(8)}  ${(SIZE / r.ns).toFixed(2).padStart(7)} GB/s  ${us(r.cpuNs).padStart(7)} µs CPU${split}`);
}
const calls = (f) => `${(f.producerWaits + f.producerWakes).toFixed(3)} (${f.producerWaits.toFixed(3)} waits, ${f.producerWakes.toFixed(3)} wakes)`;
for (const topology of ['threads', 'processes']) {
  const f = results[`${topology}/pool`]?.futex;
  if (!f) continue;
  console.log(`  ${topology} pool, futex calls per hand-off in the median run: producer ${calls(f)}, consumer ${calls({ producerWaits: f.consumerWaits, producerWakes: f.consumerWakes })}`);
}

// Neither producer writes the whole payload (every producer stamps 4 bytes of a payload whose
// other bytes were written once; `transfer` stamps a new ArrayBuffer) and neither consumer reads
// it all: the table is the cost of the hand-off, postMessage's copies included. For scale, one copy of
// 1 MiB (what a producer writing a whole payload into a block adds) measured in this process.
const src = Buffer.alloc(SIZE, 0x5a);
const dst = Buffer.alloc(SIZE);
const copies = [];
for (let i = 0; i < 200; i++) {
  const t0 = process.hrtime.bigint();
  src.copy(dst);
  copies.push(Number(process.hrtime.bigint() - t0));
}
const copyNs = median(copies);
console.log(`\nfor scale: one 1 MiB Buffer copy in this process takes ${us(copyNs)} µs (median of 200): what writing a whole payload adds to any transport`);
console.log(`payload work, the same for every transport: the producer writes a 4-byte stamp (the message number) into a 1 MiB payload; the consumer checks the stamp`);

const goals = [];
for (const topology of ['threads', 'processes']) {
  const p = results[`${topology}/pool`];
  const peer = results[topology === 'threads' ? 'threads/postMessage' : 'processes/ipc'];
  if (p && p.ns && pm && pm.ns) {
    goals.push({ text: `pooled hand-off (${topology}) >= 50x faster than postMessage of a copied 1 MiB Buffer`, met: pm.ns / p.ns >= 50,
      detail: `${(pm.ns / p.ns).toFixed(1)}× (${us(p.ns)} vs ${us(pm.ns)} µs; CPU ${us(p.cpuNs)} vs ${us(pm.cpuNs)} µs per hand-off)` });
  }
  if (topology === 'processes' && p && p.ns && peer && peer.ns) {
    goals.push({ text: 'pooled hand-off (processes) vs child_process IPC of a copied 1 MiB Buffer', met: null,
      detail: `${(peer.ns / p.ns).toFixed(1)}× (${us(p.ns)} vs ${us(peer.ns)} µs)` });
  }
}
const ops = {};
if (!only || 'ops'.includes(only) || OPS.some(([op]) => `ops/${op}`.includes(only))) {
  console.log(`\noperations of one thread: ns per pair (median of ${runs} runs of ${OPS_N}) | × the peer's time`);
  for (const [op] of OPS) {
    if (only && !`ops/${op}`.includes(only) && only !== 'ops') continue;
    try {
      const out = execFileSync(process.execPath, [OPS_CASE, JSON.stringify({ op, n: OPS_N, runs })], { encoding: 'utf8', timeout: 600000, stdio: ['ignore', 'pipe', 'inherit'] });
      const samples = JSON.parse(out.trim().split('\n').pop()).samples;
      ops[op] = { ns: median(samples), samples };
    } catch (e) {
      ops[op] = { error: String(e.message).split('\n')[0] };
    }
  }
  for (const [op, peer] of OPS) {
    const r = ops[op];
    if (!r) continue;
    const p = peer && ops[peer];
    const rel = r.ns && p && p.ns ? `${(r.ns / p.ns).toFixed(2)}× ${peer}` : '';
    console.log(`    ${OPS_LABELS[op].padEnd(44)} ${r.error ? r.error : `${r.ns.toFixed(1).padStart(8)} ns  ${rel}`}`);
  }
}

console.log('\ngoals:');
for (const g of goals) console.log(`  [${g.met === null ? 'info' : g.met ? 'met' : 'NOT met'}] ${g.text}: ${g.detail}`);
if (!flag('--no-save') && !only) {
  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  fs.writeFileSync(RESULTS, `${JSON.stringify({ date, machine: m, loadavgBefore, loadavg: os.loadavg(), runs, n: N, window: WINDOW, pin: PIN, size: SIZE, results, copyNs, opsN: OPS_N, ops, goals }, null, 2)}\n`);
  console.log(`\nsaved ${path.relative(process.cwd(), RESULTS)}`);
}
