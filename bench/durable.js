#!/usr/bin/env node
'use strict';
// Durable set throughput: shmstore with persist in each sync mode against a store without
// persistence and against SQLite (better-sqlite3, WAL mode, synchronous=NORMAL and FULL, one
// autocommitted INSERT OR REPLACE per set), all measured in this run. Every case runs in child
// processes of its own (1 or more writers, each a process, all writing for the same time); each
// case is run several times and the medians are printed with ratios.
// Workload: keys `key:` + 10-digit number over 100,000 keys in random order, 100-byte values.
// Then, in a child process of its own: the time to rebuild a store from --replay-mb MB of log
// (1,000,000 sets by default), a checkpoint of the 100,000 keys, and the rebuild from it.
//   node bench/durable.js [--runs N] [--ms MS] [--only case,case] [--dir DIR] [--sets N]
const fs = require('fs');
const os = require('os');
const path = require('path');
const { fork } = require('child_process');
const { machine, median } = require('./lib/report');
const { version } = require('./lib/versions');

const KEYS = 100000;
const VALUE = 'v'.repeat(100);
const arg = (flag, dflt) => (process.argv.includes(flag) ? process.argv[process.argv.indexOf(flag) + 1] : dflt);

// name, kind, options, writers (processes).
const CASES = [
  ['plain', 'shmstore', null, 1],
  ['persist-none', 'shmstore', { sync: 'none' }, 1],
  ['persist-interval-100ms', 'shmstore', { sync: 'interval', intervalMs: 100 }, 1],
  ['sqlite-wal-normal', 'sqlite', { synchronous: 'NORMAL' }, 1],
  ['persist-always', 'shmstore', { sync: 'always' }, 1],
  ['persist-always-2', 'shmstore', { sync: 'always' }, 2],
  ['persist-always-4', 'shmstore', { sync: 'always' }, 4],
  ['sqlite-wal-full', 'sqlite', { synchronous: 'FULL' }, 1],
  ['sqlite-wal-full-2', 'sqlite', { synchronous: 'FULL' }, 2],
  ['sqlite-wal-full-4', 'sqlite', { synchronous: 'FULL' }, 4],
];

function keyOf(i) {
  return `key:${String(i).padStart(10, '0')}`;
}

// ---- child: one writer process ----------------------------------------------------------------
function writer(task) {
  let put;
  let done;
  if (task.kind === 'shmstore') {
    const { Store } = require('..');
    const s = task.persist
      ? Store.open({ name: task.name, persist: { dir: task.dir } })
      : Store.open({ name: task.name });
    put = (k) => s.set('bench', k, VALUE);
    done = () => s.close();
  } else {
    const Database = require('better-sqlite3');
    const db = new Database(task.file);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${task.opts.synchronous}`);
    db.pragma('busy_timeout = 10000');
    const stmt = db.prepare('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)');
    put = (k) => stmt.run(k, VALUE);
    done = () => db.close();
  }
  let seed = task.seed >>> 0;
  // Wait for the common start time, then write for task.ms.
  while (Date.now() < task.startAt) { /* all writers start together */ }
  const end = task.startAt + task.ms;
  let n = 0;
  while (Date.now() < end) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    put(keyOf(seed % KEYS));
    n += 1;
  }
  done();
  process.send({ n });
}

// ---- parent ------------------------------------------------------------------------------------
async function runCase([name, kind, opts, writers], ms, baseDir, run) {
  const dir = fs.mkdtempSync(path.join(baseDir, `shmstore-bench-${name}-`));
  const storeName = `shmstore-bench-durable-${process.pid}-${run}`;
  let cleanup = () => {};
  const task = { kind, name: storeName, dir, persist: !!opts && kind === 'shmstore', opts, file: path.join(dir, 'bench.db'), ms };
  if (kind === 'shmstore') {
    const { Store, Segment } = require('..');
    const s = Store.create({ name: storeName, size: 64 << 20, ...(opts ? { persist: { dir: path.join(dir, 'p'), ...opts, checkpointBytes: 0 } } : {}) });
    task.dir = path.join(dir, 'p');
    s.close();
    cleanup = () => Segment.unlink({ name: storeName });
  } else {
    const Database = require('better-sqlite3');
    const db = new Database(task.file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)');
    db.close();
  }
  try {
    const startAt = Date.now() + 300 + writers * 100;
    const seeds = Array.from({ length: writers }, (_, w) => `${run}${w}`);
    const results = await Promise.all(seeds.map((seed) => new Promise((resolve, reject) => {
      const child = fork(__filename, ['--child', JSON.stringify({ ...task, startAt, seed: Number(seed) + 1 })], { stdio: 'inherit' });
      let got = null;
      child.on('message', (m) => { got = m; });
      child.on('exit', (code) => (code === 0 && got ? resolve(got.n) : reject(new Error(`${name}: writer exited ${code}`))));
    })));
    const total = results.reduce((a, b) => a + b, 0);
    return { opsPerSec: (total / ms) * 1000, usPerOp: (ms * 1000 * writers) / total };
  } finally {
    cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const runs = Number(arg('--runs', 3));
  const ms = Number(arg('--ms', 1000));
  const baseDir = arg('--dir', os.tmpdir());
  const only = arg('--only', null);
  const cases = only ? CASES.filter((c) => only.split(',').includes(c[0])) : CASES;
  const m = machine();
  process.stdout.write(`durable set throughput — ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, ${m.os}, Node ${m.node}, ${new Date().toISOString()}, load ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}\n`);
  process.stdout.write(`better-sqlite3 ${version('better-sqlite3')}; files in ${baseDir}; ${runs} runs of ${ms} ms per case; 100-byte values, 100,000 keys\n\n`);
  const samples = new Map(cases.map((c) => [c[0], []]));
  // Rounds interleave the cases so that a noisy moment hurts all of them alike.
  for (let r = 0; r < runs; r++) {
    for (const c of cases) samples.get(c[0]).push(await runCase(c, ms, baseDir, r));
  }
  const med = new Map([...samples].map(([n, xs]) => [n, {
    opsPerSec: median(xs.map((x) => x.opsPerSec)),
    usPerOp: median(xs.map((x) => x.usPerOp)),
    min: Math.min(...xs.map((x) => x.opsPerSec)),
    max: Math.max(...xs.map((x) => x.opsPerSec)),
  }]));
  const ref = (n) => med.get(n);
  const lines = [['case', 'writers', 'sets/s (median)', 'min–max', 'µs/set per writer', 'vs plain (latency)', 'vs sqlite same sync, same writers']];
  for (const [name, kind, opts, writers] of cases) {
    const x = med.get(name);
    const plain = ref('plain');
    let peer = null;
    if (kind === 'shmstore' && opts) {
      const sql = opts.sync === 'always' ? `sqlite-wal-full${writers > 1 ? `-${writers}` : ''}` : opts.sync === 'interval' || opts.sync === 'none' ? 'sqlite-wal-normal' : null;
      if (sql && ref(sql)) peer = `${(x.opsPerSec / ref(sql).opsPerSec).toFixed(2)}x ${sql}`;
    }
    lines.push([
      name, String(writers), x.opsPerSec.toFixed(0), `${x.min.toFixed(0)}–${x.max.toFixed(0)}`, x.usPerOp.toFixed(2),
      plain && name !== 'plain' && kind === 'shmstore' ? `${(x.usPerOp / plain.usPerOp).toFixed(2)}x` : '',
      peer || '',
    ]);
  }
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  for (const l of lines) process.stdout.write(`${l.map((c, i) => c.padEnd(widths[i])).join('  ')}\n`);
  if (only) return;
  const sets = Number(arg('--sets', 1000000));
  const rec = [];
  for (let r = 0; r < runs; r++) rec.push(await recoveryCase(baseDir, sets));
  const m1 = (k) => median(rec.map((x) => x[k]));
  const mb = rec[0].logBytes / 1e6;
  process.stdout.write(`\nrecovery (median of ${runs}): rebuild from ${mb.toFixed(0)} MB of log (${sets} sets): ${m1('replayMs').toFixed(0)} ms = ` +
    `${(mb / (m1('replayMs') / 1000)).toFixed(0)} MB/s (1 GB in ${((1000 / mb) * m1('replayMs') / 1000).toFixed(1)} s); ` +
    `checkpoint of ${rec[0].snapshotRecords} entries: ${m1('checkpointMs').toFixed(0)} ms, ${(rec[0].snapshotBytes / 1e6).toFixed(1)} MB; ` +
    `rebuild from that snapshot: ${m1('snapshotMs').toFixed(0)} ms\n`);
}

// ---- child: recovery time ----------------------------------------------------------------------
function recovery(task) {
  const { Store, Segment } = require('..');
  const name = `shmstore-bench-recovery-${process.pid}`;
  const dir = fs.mkdtempSync(path.join(task.baseDir, 'shmstore-bench-recovery-'));
  try {
    const s = Store.create({ name, size: 256 << 20, persist: { dir, sync: 'none', checkpointBytes: 0 } });
    for (let i = 0; i < task.sets; i++) s.set('bench', keyOf(i % KEYS), VALUE);
    const logBytes = s.persistence.tail;
    s.close();
    Segment.unlink({ name });
    let t0 = process.hrtime.bigint();
    const r = Store.open({ name, persist: { dir } });
    const replayMs = Number(process.hrtime.bigint() - t0) / 1e6;
    t0 = process.hrtime.bigint();
    const ck = r.checkpoint();
    const checkpointMs = Number(process.hrtime.bigint() - t0) / 1e6;
    r.close();
    Segment.unlink({ name });
    t0 = process.hrtime.bigint();
    const r2 = Store.open({ name, persist: { dir } });
    const snapshotMs = Number(process.hrtime.bigint() - t0) / 1e6;
    r2.close();
    Segment.unlink({ name });
    process.send({ logBytes, replayMs, checkpointMs, snapshotBytes: ck.bytes, snapshotRecords: ck.records, snapshotMs });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function recoveryCase(baseDir, sets) {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--recovery', JSON.stringify({ baseDir, sets })], { stdio: 'inherit' });
    let got = null;
    child.on('message', (m) => { got = m; });
    child.on('exit', (code) => (code === 0 && got ? resolve(got) : reject(new Error(`recovery case exited ${code}`))));
  });
}

if (process.argv[2] === '--child') writer(JSON.parse(process.argv[3]));
else if (process.argv[2] === '--recovery') recovery(JSON.parse(process.argv[3]));
else main().catch((err) => { process.stderr.write(`${err.stack}\n`); process.exit(1); });
