#!/usr/bin/env node
'use strict';
// `npm run bench:cpp`: configures and builds the C++ microbenchmarks (bench/cpp/*.cc, Google
// Benchmark, CMake option SHMSTORE_BENCH) into build-bench/ and runs each bench_* program.
// Extra arguments go to the programs (e.g. --benchmark_filter=Get). The JSON report of each
// program is written to bench/results/cpp-<name>-latest.json.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const ROOT = path.join(__dirname, '..', '..');
const BUILD = path.join(ROOT, 'build-bench');
const RESULTS = path.join(ROOT, 'bench', 'results');

function run(cmd, args, opts = {}) {
  process.stderr.write(`+ ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: ROOT, ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    process.stderr.write(`bench:cpp: ${cmd} exited with ${r.status ?? r.signal}\n`);
    process.exit(1);
  }
}

run('cmake', ['-S', ROOT, '-B', BUILD, '-DCMAKE_BUILD_TYPE=Release', '-DSHMSTORE_BENCH=ON',
  '-DSHMSTORE_ADDON=OFF', '-DSHMSTORE_TESTS=OFF']);
run('cmake', ['--build', BUILD, '--parallel', '2']);

const programs = fs.readdirSync(BUILD).filter((f) => /^bench_/.test(f) &&
  fs.statSync(path.join(BUILD, f)).isFile() && (fs.statSync(path.join(BUILD, f)).mode & 0o111));
if (!programs.length) {
  process.stderr.write('bench:cpp: no bench_* program was built (bench/cpp/*.cc)\n');
  process.exit(1);
}
fs.mkdirSync(RESULTS, { recursive: true });
for (const p of programs.sort()) {
  const out = path.join(RESULTS, `cpp-${p.replace(/^bench_/, '')}-latest.json`);
  run(path.join(BUILD, p), [
    '--benchmark_repetitions=5', '--benchmark_report_aggregates_only=true',
    '--benchmark_min_time=0.2', `--benchmark_out=${out}`, '--benchmark_out_format=json',
    ...process.argv.slice(2),
  ]);
  scrubPaths(out);
  process.stderr.write(`bench:cpp: JSON report in ${path.relative(ROOT, out)}\n`);
  summarize(out);
}

// Results are committed: keep the program's name, not where this machine built it.
function scrubPaths(file) {
  try {
    const report = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (report.context && report.context.executable) {
      report.context.executable = path.basename(report.context.executable);
    }
    fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  } catch {
    // A report that cannot be read is left as the program wrote it.
  }
}

// A short summary: median ns/op per thread count, aggregate throughput and the 2-thread / 1-thread
// throughput ratio, next to the ratio of BM_Xxh32Key (pure computation: how well 2 threads could
// scale on this machine during the run).
function summarize(file) {
  let report;
  try {
    report = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return;
  }
  const rows = new Map();
  for (const b of report.benchmarks || []) {
    if (b.aggregate_name && b.aggregate_name !== 'median') continue;
    // BM_x/real_time/threads:N, BM_x/threads:N/manual_time (N threads of its own), or
    // BM_xProcesses/processes:N/manual_time (N fork()ed processes).
    const m = /^(\w+)\/(?:.*\/)?(?:threads|processes):(\d+)(?:\/|$)/.exec(b.run_name || b.name);
    if (!m) continue;
    const row = rows.get(m[1]) || {};
    // A manual-time benchmark's time is that of a whole iteration: its time per op is 1 / throughput.
    const ns = /manual_time/.test(b.run_name || b.name) ? 1e9 / b.items_per_second : b.real_time;
    row[m[2]] = { ns, ips: b.items_per_second, cpu: b.cpu_ns_per_item };
    rows.set(m[1], row);
  }
  const fmt = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M/s` : `${(x / 1e3).toFixed(0)}k/s`);
  const ratio = (r) => (r['1'] && r['2'] ? r['2'].ips / r['1'].ips : NaN);
  const base = rows.get('BM_Xxh32Key');
  console.log('\nsummary (medians; time per op of one thread for threads:1, aggregate throughput for both;');
  console.log('  *Processes rows: 1 and 2 processes instead of threads):');
  console.log('  cpu ns/op: the writers\' CPU time per item, 1 writer → 2 (the benchmarks that count it)');
  console.log(`  ${'benchmark'.padEnd(24)}${'1 thread'.padStart(10)}${'ops/s'.padStart(11)}${'2 threads'.padStart(13)}${'2t/1t'.padStart(8)}` +
    `${'cpu ns/op'.padStart(14)}`);
  for (const [name, r] of rows) {
    const one = r['1'];
    const two = r['2'];
    console.log(`  ${name.padEnd(24)}${one ? `${one.ns.toFixed(1)} ns`.padStart(10) : '-'.padStart(10)}` +
      `${one ? fmt(one.ips).padStart(11) : ''}${two ? fmt(two.ips).padStart(13) : ''}` +
      `${Number.isFinite(ratio(r)) ? `${ratio(r).toFixed(2)}×`.padStart(8) : ''}` +
      `${one && two && Number.isFinite(one.cpu) && Number.isFinite(two.cpu) ? `${one.cpu.toFixed(0)} → ${two.cpu.toFixed(0)}`.padStart(14) : ''}`);
  }
  if (base && Number.isFinite(ratio(base))) {
    console.log(`  (BM_Xxh32Key is pure computation: its 2t/1t of ${ratio(base).toFixed(2)}× is the most any benchmark ` +
      'could scale on this machine during this run)');
  }
}
