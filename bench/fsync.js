#!/usr/bin/env node
'use strict';
// What one fdatasync of a log costs on this machine, and what syncs of one file running at once
// cost: the measurements behind the group commit of the persist room (docs/api.md,
// store.setDurable). Each syncer appends 64 records of 160 bytes (10 KiB) to its own part of one
// preallocated file and syncs it, in a loop, for --ms: blocking (fs.fdatasyncSync, as a sync
// 'always' set does) or on libuv's thread pool (fs.fdatasync, as setDurable and flush do), one
// or several processes at once. Every case runs in child processes of its own, the cases
// interleaved over --runs rounds; medians printed. The futex wake-up between processes that a
// waiter for another's sync would add is measured by bench/futex.js.
//   node bench/fsync.js [--runs N] [--ms MS] [--dir DIR] [--only case,case]
const fs = require('fs');
const os = require('os');
const path = require('path');
const { fork } = require('child_process');
const { machine, median } = require('./lib/report');

// 64 records of 160 bytes (a 100-byte value with its key and header), as a batch of bench:durable.
const RECORD_BATCH = 10240;
const FILE_BYTES = 64 << 20;
const arg = (flag, dflt) => (process.argv.includes(flag) ? process.argv[process.argv.indexOf(flag) + 1] : dflt);

// { name, procs, mode }: `procs` processes at once, each syncing blocking or async.
const CASES = [
  { name: 'blocking-1p', procs: 1, mode: 'blocking' },
  { name: 'async-1p', procs: 1, mode: 'async' },
  { name: 'blocking-2p', procs: 2, mode: 'blocking' },
  { name: 'async-2p', procs: 2, mode: 'async' },
  { name: 'blocking-4p', procs: 4, mode: 'blocking' },
  { name: 'async-4p', procs: 4, mode: 'async' },
];

// One syncer: returns { syncs, us: [per-sync microseconds] }.
async function syncer({ file, index, stride, mode, ms, startAt }) {
  const fd = fs.openSync(file, 'r+');
  const buf = Buffer.alloc(RECORD_BATCH, index + 1);
  const us = [];
  while (Date.now() < startAt) await new Promise((r) => setTimeout(r, 1));
  const end = startAt + ms;
  for (let at = index * RECORD_BATCH; Date.now() < end; at = (at + stride * RECORD_BATCH) % FILE_BYTES) {
    fs.writeSync(fd, buf, 0, buf.length, at);
    const t0 = process.hrtime.bigint();
    if (mode === 'blocking') fs.fdatasyncSync(fd);
    else await new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
    us.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  fs.closeSync(fd);
  return { syncs: us.length, us: median(us) };
}

function child(task) {
  return new Promise((resolve, reject) => {
    const c = fork(__filename, ['--child', JSON.stringify(task)], { stdio: 'inherit' });
    let got = null;
    c.on('message', (m) => { got = m; });
    c.on('exit', (code) => (code === 0 && got ? resolve(got) : reject(new Error(`syncer exited ${code}`))));
  });
}

async function runCase(c, file, ms) {
  const startAt = Date.now() + 300 + c.procs * 100;
  const rs = await Promise.all(Array.from({ length: c.procs }, (_, index) => child({ file, index, stride: c.procs, mode: c.mode, ms, startAt })));
  return { perSec: rs.reduce((a, r) => a + r.syncs, 0) / (ms / 1000), us: median(rs.map((r) => r.us)) };
}

async function main() {
  const runs = Number(arg('--runs', 5));
  const ms = Number(arg('--ms', 1000));
  const dir = fs.mkdtempSync(path.join(arg('--dir', os.tmpdir()), 'shmstore-bench-fsync-'));
  const only = arg('--only', null);
  const cases = only ? CASES.filter((c) => only.split(',').includes(c.name)) : CASES;
  const m = machine();
  const file = path.join(dir, 'log');
  process.stdout.write(`fdatasync of one file — ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, ${m.os}, Node ${m.node}, ${new Date().toISOString()}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  process.stdout.write(`file in ${dir} (${FILE_BYTES >> 20} MiB, written with zeros and synced first); each sync after a 10 KiB write; ${runs} rounds of ${ms} ms per case\n\n`);
  try {
    fs.writeFileSync(file, Buffer.alloc(FILE_BYTES));
    const fd = fs.openSync(file, 'r+');
    fs.fdatasyncSync(fd);
    fs.closeSync(fd);
    const samples = new Map(cases.map((c) => [c.name, []]));
    for (let r = 0; r < runs; r++) {
      for (const c of cases) samples.get(c.name).push(await runCase(c, file, ms));
    }
    const lines = [['case', 'syncs/s, all processes (median)', 'min–max', 'µs per sync (median)', 'vs blocking-1p']];
    const base = samples.has('blocking-1p') ? median(samples.get('blocking-1p').map((x) => x.perSec)) : null;
    for (const c of cases) {
      const xs = samples.get(c.name).map((x) => x.perSec);
      const rate = median(xs);
      lines.push([c.name, rate.toFixed(0), `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`,
        median(samples.get(c.name).map((x) => x.us)).toFixed(0), base ? `${(rate / base).toFixed(2)}x` : '']);
    }
    const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
    for (const l of lines) process.stdout.write(`${l.map((x, i) => x.padEnd(widths[i])).join('  ')}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  syncer(JSON.parse(process.argv[3])).then((r) => process.send(r));
} else {
  main().catch((err) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
}
