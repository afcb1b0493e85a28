#!/usr/bin/env node
'use strict';
// Durable write throughput: shmstore with persist against lmdb-js (its default sync), SQLite in
// WAL mode with synchronous=FULL (better-sqlite3) and Redis with appendfsync always (a private
// redis-server on a free loopback port, started here), all measured in this run, with 1, 2 and 4
// writers as processes (p) and as worker threads of one process (t). Every write counts once it
// is on stable storage; "batch W" cases keep W writes in flight per writer (async puts/sets
// acknowledged together; for SQLite one transaction of W writes), the others write one at a time. Also shmstore without persistence
// and with sync 'none' and 'interval' (latency against the plain store of the same engine, native
// or JS). Every case runs in child processes of its own, several runs interleaved, medians
// printed with ratios against the best peer of the same writers. Workload: keys `key:` + 10 digits over 100,000 keys in random
// order, 100-byte values. Then (bench/lib/durable-recovery.js) the recovery measurements.
//   node bench/durable.js [--runs N] [--ms MS] [--warmup-ms MS] [--only case,case|recovery] [--dir DIR]
//                         [--skip-recovery] [--replay-mb MB] [--snapshot-mb MB]
const fs = require('fs');
const os = require('os');
const path = require('path');
const { fork } = require('child_process');
const { Worker } = require('worker_threads');
const { machine, median } = require('./lib/report');
const { version } = require('./lib/versions');
const { startRedis } = require('./lib/redis');
const { runWriter } = require('./lib/durable-writer');
const { recoveryMain } = require('./lib/durable-recovery');

const USAGE = `usage: node bench/durable.js [--runs N] [--ms MS] [--warmup-ms MS] [--only case,case|recovery] [--dir DIR]
                                [--skip-recovery] [--replay-mb MB] [--snapshot-mb MB]
e.g. --only plain,persist-none,plain-js,persist-none-js --runs 5: the 'none' mode of both engines
against their plain stores. Cases:
`;
const BATCH = 64;
const arg = (flag, dflt) => (process.argv.includes(flag) ? process.argv[process.argv.indexOf(flag) + 1] : dflt);

// { name, system, opts, writers, threads, batch }
function caseList() {
  const cases = [
    { name: 'plain', system: 'shmstore', opts: null, writers: 1, latency: true },
    { name: 'persist-none', system: 'shmstore', opts: { sync: 'none' }, writers: 1, latency: true },
    { name: 'persist-interval-100ms', system: 'shmstore', opts: { sync: 'interval', intervalMs: 100 }, writers: 1, latency: true },
    // The pure-JS engine, against a plain store of that engine.
    { name: 'plain-js', system: 'shmstore', opts: null, writers: 1, engine: 'js', latency: true },
    { name: 'persist-none-js', system: 'shmstore', opts: { sync: 'none' }, writers: 1, engine: 'js', latency: true },
    // 'none' with the log's pages faulting one at a time as records are stored into them (no
    // prefault on the thread pool: lib/persist/wal.js), the cost the prefault takes off the sets.
    { name: 'persist-none-noprefault', system: 'shmstore', opts: { sync: 'none' }, writers: 1, noPrefault: true, latency: true },
    { name: 'persist-none-js-noprefault', system: 'shmstore', opts: { sync: 'none' }, writers: 1, engine: 'js', noPrefault: true, latency: true },
  ];
  for (const threads of [false, true]) {
    for (const writers of [1, 2, 4]) {
      const tag = `${writers}${threads ? 't' : 'p'}`;
      const add = (name, system, opts, batch = 0) => cases.push({ name: `${name}-${tag}`, system, opts, writers, threads, batch, durable: true });
      add('persist-always', 'shmstore', { sync: 'always' });
      add(`persist-always-batch${BATCH}`, 'shmstore', { sync: 'always' }, BATCH);
      add('sqlite-wal-full', 'sqlite', { synchronous: 'FULL' });
      add(`sqlite-wal-full-batch${BATCH}`, 'sqlite', { synchronous: 'FULL' }, BATCH);
      add('lmdb', 'lmdb', {});
      add(`lmdb-batch${BATCH}`, 'lmdb', {}, BATCH);
      add('redis-always', 'redis', {});
      add(`redis-always-batch${BATCH}`, 'redis', {}, BATCH);
    }
  }
  return cases;
}

// ---- the writers of one case: processes, or threads of one host process -----------------------
function forkChild(args) {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, args, { stdio: 'inherit' });
    let got = null;
    child.on('message', (m) => { got = m; });
    child.on('exit', (code) => (code === 0 && got ? resolve(got) : reject(new Error(`${args[0]} child exited ${code}`))));
  });
}

function threadHost(tasks) {
  return Promise.all(tasks.map((task) => new Promise((resolve, reject) => {
    const w = new Worker(require.resolve('./lib/durable-writer'), { workerData: { durableWriter: true, task } });
    let got = null;
    w.on('message', (m) => { got = m; });
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 && got ? resolve(got) : reject(new Error(`writer thread exited ${code}`))));
  })));
}

// Prepares the case's files (and server), runs its writers, cleans up. Returns records/s.
async function runCase(c, ms, baseDir, run, warmupMs) {
  const dir = fs.mkdtempSync(path.join(baseDir, `shmstore-bench-${c.name}-`));
  const task = { system: c.system, ms, batch: c.batch || 0, dir };
  let cleanup = async () => {};
  if (c.system === 'shmstore') {
    const { Store, Segment } = require('..');
    task.name = `shmstore-bench-durable-${process.pid}-${run}`;
    task.persist = !!c.opts;
    task.dir = path.join(dir, 'p');
    task.engine = c.engine;
    task.noPrefault = !!c.noPrefault;
    Store.create({ name: task.name, size: 64 << 20, ...(c.engine ? { engine: c.engine } : {}), ...(c.opts ? { persist: { dir: task.dir, ...c.opts, checkpointBytes: 0 } } : {}) }).close();
    cleanup = async () => Segment.unlink({ name: task.name });
  } else if (c.system === 'sqlite') {
    const Database = require('better-sqlite3');
    task.file = path.join(dir, 'bench.db');
    task.synchronous = c.opts.synchronous;
    const db = new Database(task.file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)');
    db.close();
  } else if (c.system === 'redis') {
    const server = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir] });
    if (server.note) return { skipped: server.note };
    task.port = server.port;
    cleanup = () => server.stop();
  }
  try {
    // The latency cases (one writer, compared with the plain store) write uncounted from the
    // child's start until the measured interval, at least `warmupMs`: the first half second or so
    // of a child runs slower (V8's compiler threads take the second core of a small machine while
    // the hot code is compiled), and more code to compile, as a logged set has, would count as a
    // slower set. Both sides of a ratio warm up alike.
    const warm = c.latency ? warmupMs : 0;
    const startAt = Date.now() + 400 + c.writers * 150 + warm;
    const tasks = Array.from({ length: c.writers }, (_, w) => ({ ...task, startAt, warm: warm > 0, seed: seedOf(run, w) }));
    const results = c.threads
      ? (await forkChild(['--threads', JSON.stringify(tasks)])).counts
      : await Promise.all(tasks.map((t) => forkChild(['--child', JSON.stringify(t)])));
    const total = results.reduce((a, r) => a + r.n, 0);
    // CPU time per write: the sum over writer processes; with threads, each writer measured its
    // whole process over the same interval (every writer's time), so the greatest of them once.
    const cpuUs = c.threads ? Math.max(...results.map((r) => r.cpuUs)) : results.reduce((a, r) => a + r.cpuUs, 0);
    // The log's syncs: each writer counted its own.
    const syncs = results[0].syncs === null || results[0].syncs === undefined ? null : results.reduce((sum, r) => sum + r.syncs, 0);
    return { opsPerSec: (total / ms) * 1000, usPerOp: (ms * 1000 * c.writers) / total, cpuUsPerOp: cpuUs / total, syncsPerSec: syncs === null ? null : (syncs / ms) * 1000, perSync: syncs ? total / syncs : null };
  } finally {
    await cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// A distinct LCG seed per run and writer.
function seedOf(run, writer) {
  return Number(`${run + 1}${writer}`);
}

function table(lines) {
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  for (const l of lines) process.stdout.write(`${l.map((x, i) => x.padEnd(widths[i])).join('  ')}\n`);
}

async function main() {
  const runs = Number(arg('--runs', 3));
  const ms = Number(arg('--ms', 1000));
  const warmupMs = Number(arg('--warmup-ms', 1000));
  const baseDir = arg('--dir', os.tmpdir());
  const only = arg('--only', null);
  const all = caseList();
  const cases = only ? all.filter((c) => only.split(',').includes(c.name)) : all;
  // A misspelt case would otherwise be left out without a word.
  const unknown = only ? only.split(',').filter((n) => n !== 'recovery' && !all.some((c) => c.name === n)) : [];
  if (unknown.length > 0) throw new Error(`unknown case ${unknown.join(', ')} (node bench/durable.js --help lists them)`);
  const m = machine();
  process.stdout.write(`durable write throughput — ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, ${m.os}, Node ${m.node}, ${new Date().toISOString()}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  const redisV = require('../test/helpers/redis-server').redisVersion();
  process.stdout.write(`better-sqlite3 ${version('better-sqlite3')}, lmdb ${version('lmdb')}, redis-server ${redisV || 'absent'}; files in ${baseDir}; ` +
    `${runs} runs of ${ms} ms per case (the one-writer latency cases after ${warmupMs} ms of uncounted writes); 100-byte values, 100,000 keys; ` +
    'p = writer processes, t = worker threads of one process\n\n');
  if (cases.length > 0) await throughput(cases, runs, ms, baseDir, warmupMs);
  // `--only` runs the recovery part only when it names `recovery`.
  if (only ? !only.split(',').includes('recovery') : process.argv.includes('--skip-recovery')) return;
  process.stdout.write('\n');
  await recoveryMain({ forkChild, baseDir, runs, replayMb: Number(arg('--replay-mb', 1000)), snapshotMb: Number(arg('--snapshot-mb', 1000)) });
}

async function throughput(cases, runs, ms, baseDir, warmupMs) {
  const samples = new Map(cases.map((c) => [c.name, []]));
  const skipped = new Map();
  // Rounds interleave the cases so that a noisy moment hurts all of them alike.
  for (let r = 0; r < runs; r++) {
    for (const c of cases) {
      if (skipped.has(c.name)) continue;
      const x = await runCase(c, ms, baseDir, r, warmupMs);
      if (x.skipped) skipped.set(c.name, x.skipped);
      else samples.get(c.name).push(x);
    }
  }
  const med = new Map();
  for (const [n, xs] of samples) {
    if (xs.length === 0) continue;
    med.set(n, {
      opsPerSec: median(xs.map((x) => x.opsPerSec)), usPerOp: median(xs.map((x) => x.usPerOp)),
      cpuUsPerOp: xs[0].cpuUsPerOp === null ? null : median(xs.map((x) => x.cpuUsPerOp)),
      syncsPerSec: xs[0].syncsPerSec === null ? null : median(xs.map((x) => x.syncsPerSec)),
      perSync: xs[0].perSync === null ? null : median(xs.map((x) => x.perSync)),
      min: Math.min(...xs.map((x) => x.opsPerSec)), max: Math.max(...xs.map((x) => x.opsPerSec)),
    });
  }
  // The best peer (any system but shmstore) of the same writers and kind (threads/processes).
  const bestPeer = (c) => {
    let best = null;
    for (const o of cases) {
      if (!o.durable || o.system === 'shmstore' || o.writers !== c.writers || o.threads !== c.threads || !med.has(o.name)) continue;
      if (best === null || med.get(o.name).opsPerSec > med.get(best).opsPerSec) best = o.name;
    }
    return best;
  };
  // The plain store of the case's engine.
  const plainOf = (c) => med.get(c.engine === 'js' ? 'plain-js' : 'plain');
  const lines = [['case', 'records/s (median)', 'min–max', 'µs/write per writer', 'vs plain (latency)', 'CPU µs/write', 'vs plain (CPU)', 'syncs/s', 'records/sync', 'vs best peer, same writers']];
  const vsPlain = (c, x, key) => {
    const plain = plainOf(c);
    return plain && c.system === 'shmstore' && c.opts && x[key] !== null && plain[key] !== null ? `${(x[key] / plain[key]).toFixed(2)}x` : '';
  };
  for (const c of cases) {
    const x = med.get(c.name);
    if (!x) {
      lines.push([c.name, skipped.get(c.name) || 'no result', '', '', '', '', '', '', '', '']);
      continue;
    }
    const peer = c.system === 'shmstore' && c.durable ? bestPeer(c) : null;
    lines.push([
      c.name, x.opsPerSec.toFixed(0), `${x.min.toFixed(0)}–${x.max.toFixed(0)}`, x.usPerOp.toFixed(2), vsPlain(c, x, 'usPerOp'),
      x.cpuUsPerOp === null ? '' : x.cpuUsPerOp.toFixed(2), vsPlain(c, x, 'cpuUsPerOp'),
      x.syncsPerSec === null || x.syncsPerSec === undefined ? '' : x.syncsPerSec.toFixed(0),
      x.perSync === null || x.perSync === undefined ? '' : x.perSync.toFixed(1),
      peer ? `${(x.opsPerSec / med.get(peer).opsPerSec).toFixed(2)}x ${peer}` : '',
    ]);
  }
  table(lines);
  // The goal: the better of shmstore's durable modes against the best peer, per writer setting.
  const goal = [['writers', 'best shmstore (durable)', 'best peer', 'ratio (goal >= 2x)']];
  for (const c of cases) {
    if (c.system !== 'shmstore' || !c.durable || c.batch || !bestPeer(c)) continue;
    const mine = cases.filter((o) => o.system === 'shmstore' && o.durable && o.writers === c.writers && o.threads === c.threads && med.has(o.name))
      .sort((a, b) => med.get(b.name).opsPerSec - med.get(a.name).opsPerSec)[0];
    const peer = bestPeer(c);
    const ratio = med.get(mine.name).opsPerSec / med.get(peer).opsPerSec;
    goal.push([`${c.writers}${c.threads ? 't' : 'p'}`, `${mine.name} ${med.get(mine.name).opsPerSec.toFixed(0)}/s`, `${peer} ${med.get(peer).opsPerSec.toFixed(0)}/s`, `${ratio.toFixed(2)}x ${ratio >= 2 ? 'met' : 'NOT met'}`]);
  }
  if (goal.length > 1) {
    process.stdout.write('\n');
    table(goal);
  }
}

if (process.argv[2] === '--child') {
  runWriter(JSON.parse(process.argv[3])).then((r) => process.send(r));
} else if (process.argv[2] === '--threads') {
  threadHost(JSON.parse(process.argv[3])).then((counts) => process.send({ counts }));
} else if (process.argv[2] === '--recovery') {
  require('./lib/durable-recovery').recoveryChild(JSON.parse(process.argv[3])).then((r) => process.send(r));
} else if (process.argv.includes('--help')) {
  process.stdout.write(`${USAGE}${caseList().map((c) => c.name).join(' ')} recovery\n`);
} else {
  main().catch((err) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
}
