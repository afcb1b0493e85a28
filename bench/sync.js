#!/usr/bin/env node
'use strict';
// `npm run bench:sync`: the sync room's Mutex against its peers, each case in its own child
// process from the declared list below, the peers measured in the same run:
//   - uncontended lock + unlock, sync: our Mutex (JS), our native mutex through the addon
//     (NativeMutex), a plain Atomics spin/wait mutex, and in C++ (Google Benchmark, bench/cpp/
//     sync.cc) shm::sync::Mutex and a pthread_mutex with PTHREAD_PROCESS_SHARED + ROBUST;
//   - uncontended, async: our lockAsync() + unlock() against async-mutex's acquire() + release();
//   - hand-off latency (a release reaching a waiter asleep in lock(): bench/lib/sync-case.js)
//     between two threads and between two processes, the same protocol in JS and in C++.
// Prints medians over runs with min-max and the ratio to each group's reference peer, the
// machine, Node and the date, and the goals; writes bench/results/sync-latest.json
// (sync-partial.json for --quick or --only runs).
//
//   node bench/sync.js [--quick] [--only <case>[,<case>...]] [--no-save]
const fs = require('fs');
const os = require('os');
const path = require('path');
const { fork, spawnSync } = require('child_process');
const { machine, median } = require('./lib/report');
const { version } = require('./lib/versions');

const ROOT = path.join(__dirname, '..');
const CASE = path.join(__dirname, 'lib', 'sync-case.js');
const BUILD = path.join(ROOT, 'build-bench');
const RESULTS = path.join(__dirname, 'results');
const CHILD_TIMEOUT_MS = 600000;

// The declared cases: JS ones run by bench/lib/sync-case.js, C++ ones by bench_sync (one
// benchmark per process, selected by name). `half`: the C++ hand-off iteration is reported per
// acquisition already (manual time), nothing to divide.
const GROUPS = [
  {
    title: 'uncontended lock + unlock (sync), ns', ref: 'cpp-pthread-lock',
    cases: [
      { id: 'js-lock', label: 'shmstore Mutex (JS)' },
      { id: 'native-lock', label: 'shmstore native mutex via the addon' },
      { id: 'cpp-sync-lock', label: 'shm::sync::Mutex (C++)', bm: 'BM_SyncMutexLockUnlock' },
      { id: 'atomics-lock', label: 'peer: Atomics spin/wait mutex (JS)' },
      { id: 'cpp-pthread-lock', label: 'peer: pthread robust + pshared (C++)', bm: 'BM_PthreadRobustLockUnlock' },
    ],
  },
  {
    title: 'uncontended lock + unlock (async), ns', ref: 'async-mutex',
    cases: [
      { id: 'js-lock-async', label: 'shmstore Mutex lockAsync (JS)' },
      { id: 'async-mutex', label: `peer: async-mutex ${version('async-mutex') || ''}`.trim() },
    ],
  },
  {
    title: 'hand-off latency, two threads, ns', ref: 'cpp-pthread-handoff-threads',
    cases: [
      { id: 'js-handoff-threads', label: 'shmstore Mutex (JS)' },
      { id: 'native-handoff-threads', label: 'shmstore native mutex via the addon' },
      { id: 'cpp-sync-handoff-threads', label: 'shm::sync::Mutex (C++)', bm: 'BM_SyncMutexHandoffThreads' },
      { id: 'atomics-handoff-threads', label: 'peer: Atomics spin/wait mutex (JS)' },
      { id: 'cpp-pthread-handoff-threads', label: 'peer: pthread robust + pshared (C++)', bm: 'BM_PthreadRobustHandoffThreads' },
    ],
  },
  {
    title: 'hand-off latency, two processes, ns', ref: 'cpp-pthread-handoff-processes',
    cases: [
      { id: 'js-handoff-processes', label: 'shmstore Mutex (JS)' },
      { id: 'native-handoff-processes', label: 'shmstore native mutex via the addon' },
      { id: 'cpp-sync-handoff-processes', label: 'shm::sync::Mutex (C++)', bm: 'BM_SyncMutexHandoffProcesses' },
      { id: 'cpp-pthread-handoff-processes', label: 'peer: pthread robust + pshared (C++)', bm: 'BM_PthreadRobustHandoffProcesses' },
    ],
  },
];
const ALL = GROUPS.flatMap((g) => g.cases);

function parseArgs(argv) {
  const o = { quick: false, only: null, save: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--only') o.only = argv[++i].split(',');
    else if (a === '--no-save') o.save = false;
    else {
      process.stderr.write(`usage: node bench/sync.js [--quick] [--only <case>[,<case>...]] [--no-save]\ncases: ${ALL.map((c) => c.id).join(', ')}\n`);
      process.exit(a === '-h' || a === '--help' ? 0 : 2);
    }
  }
  for (const id of o.only || []) if (!ALL.some((c) => c.id === id)) throw new Error(`unknown case ${id}`);
  return { ...o, runs: o.quick ? 3 : 7, budgetMs: o.quick ? 50 : 200, handoffs: o.quick ? 100 : 300, reps: o.quick ? 3 : 5 };
}

function runJs(c, cfg) {
  return new Promise((resolve) => {
    const child = fork(CASE, [c.id, JSON.stringify(cfg)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result = { error: 'no result' };
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('message', (m) => { result = m; });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal) result = { error: `killed by ${signal}` };
      resolve(result);
    });
  });
}

function buildCpp() {
  for (const args of [['-S', ROOT, '-B', BUILD, '-DCMAKE_BUILD_TYPE=Release', '-DSHMSTORE_BENCH=ON',
    '-DSHMSTORE_ADDON=OFF', '-DSHMSTORE_TESTS=OFF'], ['--build', BUILD, '--parallel', '2', '--target', 'bench_sync']]) {
    const r = spawnSync('cmake', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) return `cmake ${args[0]} failed (${r.error ? r.error.message : r.status})`;
  }
  return null;
}

// One Google Benchmark case in its own process: the per-repetition real times (manual time for
// the hand-offs: ns per acquisition).
function runCpp(c, cfg) {
  const out = path.join(os.tmpdir(), `shmstore-bench-sync-${process.pid}.json`);
  const r = spawnSync(path.join(BUILD, 'bench_sync'), [`--benchmark_filter=^${c.bm}(/|$)`,
    `--benchmark_repetitions=${cfg.reps}`, `--benchmark_out=${out}`, '--benchmark_out_format=json',
    '--benchmark_min_time=0.2'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: CHILD_TIMEOUT_MS });
  if (r.status !== 0) {
    process.stderr.write(r.stderr || '');
    return { error: `bench_sync exited with ${r.status ?? r.signal}` };
  }
  const report = JSON.parse(fs.readFileSync(out, 'utf8'));
  fs.rmSync(out, { force: true });
  const samples = report.benchmarks.filter((b) => b.run_type === 'iteration').map((b) => b.real_time);
  return { samples };
}

function fmt(ns) {
  if (!Number.isFinite(ns)) return '-';
  return ns >= 1e4 ? ns.toFixed(0) : ns >= 100 ? ns.toFixed(1) : ns.toFixed(2);
}

async function main() {
  const cfg = parseArgs(process.argv.slice(2));
  const meta = { date: new Date().toISOString(), machine: machine(), loadavgStart: os.loadavg().map((x) => +x.toFixed(2)),
    runs: cfg.runs, reps: cfg.reps, handoffs: cfg.handoffs, budgetMs: cfg.budgetMs, quick: cfg.quick, only: cfg.only };
  const cases = cfg.only ? ALL.filter((c) => cfg.only.includes(c.id)) : ALL;
  const cppError = cases.some((c) => c.bm) ? buildCpp() : null;
  const results = {};
  for (const c of cases) {
    process.stderr.write(`bench:sync: ${c.id}\n`);
    const r = c.bm ? (cppError ? { error: cppError } : runCpp(c, cfg)) : await runJs(c, cfg);
    results[c.id] = r.samples
      ? { label: c.label, median: median(r.samples), min: Math.min(...r.samples), max: Math.max(...r.samples), samples: r.samples }
      : { label: c.label, error: r.error };
  }
  meta.loadavgEnd = os.loadavg().map((x) => +x.toFixed(2));

  const m = meta.machine;
  const lines = [`shmstore bench: sync (Mutex)`, `machine: ${m.cpu}, ${m.cores} cores, ${m.os}; node ${m.node}; ${meta.date}`,
    `load average ${meta.loadavgStart.join(' ')} -> ${meta.loadavgEnd.join(' ')}; JS: ${cfg.runs} runs per case, C++: ${cfg.reps} repetitions; medians`];
  for (const g of GROUPS) {
    const rows = g.cases.filter((c) => results[c.id]);
    if (!rows.length) continue;
    const ref = results[g.ref] && results[g.ref].median;
    lines.push('', `${g.title} (ratio: to ${results[g.ref] ? results[g.ref].label : g.ref})`);
    lines.push(`| case | median | min - max | ratio |`, '|---|---:|---:|---:|');
    for (const c of rows) {
      const r = results[c.id];
      if (r.error) lines.push(`| ${r.label} | error: ${r.error.split('\n')[0]} | | |`);
      else lines.push(`| ${r.label} | ${fmt(r.median)} | ${fmt(r.min)} - ${fmt(r.max)} | ${ref ? (r.median / ref).toFixed(2) : '-'} |`);
    }
  }
  const med = (id) => (results[id] && Number.isFinite(results[id].median) ? results[id].median : NaN);
  const verdict = (ok) => (Number.isNaN(ok) ? 'not measured' : ok ? 'met' : 'NOT met');
  const goal = (label, value, ok) => lines.push(`- ${label}: ${value} -> ${verdict(ok)}`);
  const cmp = (a, b, f) => (Number.isNaN(med(a)) || Number.isNaN(med(b)) ? NaN : f(med(a), med(b)));
  lines.push('', 'goals:');
  goal('uncontended sync lock+unlock <= 50 ns, JS Mutex', `${fmt(med('js-lock'))} ns`, Number.isNaN(med('js-lock')) ? NaN : med('js-lock') <= 50);
  goal('uncontended sync lock+unlock <= 50 ns, native mutex via the addon', `${fmt(med('native-lock'))} ns`, Number.isNaN(med('native-lock')) ? NaN : med('native-lock') <= 50);
  goal('lockAsync faster than async-mutex', `${fmt(med('js-lock-async'))} vs ${fmt(med('async-mutex'))} ns`, cmp('js-lock-async', 'async-mutex', (a, b) => a < b));
  for (const id of ['js-handoff-processes', 'native-handoff-processes', 'cpp-sync-handoff-processes']) {
    const ratio = cmp(id, 'cpp-pthread-handoff-processes', (a, b) => a / b);
    goal(`cross-process hand-off within 1.5x of the robust pthread mutex, ${results[id] ? results[id].label : id}`,
      `${Number.isNaN(ratio) ? '-' : ratio.toFixed(2)}x`, Number.isNaN(ratio) ? NaN : ratio <= 1.5);
  }
  console.log(lines.join('\n'));
  if (cfg.save) {
    fs.mkdirSync(RESULTS, { recursive: true });
    const file = path.join(RESULTS, cfg.quick || cfg.only ? 'sync-partial.json' : 'sync-latest.json');
    fs.writeFileSync(file, `${JSON.stringify({ meta, results }, null, 2)}\n`);
    process.stderr.write(`bench:sync: results in ${path.relative(ROOT, file)}\n`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
