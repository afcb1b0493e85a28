#!/usr/bin/env node
'use strict';
// The longest pause a writer sees while the store is compacted (npm run bench:compact-pause): a
// worker thread overwrites keys and times each set while the main thread runs the stop-the-world
// repair pass (what store.compact() was before incremental compaction), store.compact() (a whole
// sweep in bounded steps), or nothing. Each case runs in its own child process from the declared
// list, ROUNDS times; the table prints medians and the ratio of the longest set against 'none'.
//
//   node bench/compact-pause.js [--quick] [--only <engine>[,...]]
const path = require('path');
const { machine, median } = require('./lib/report');
const { runCase } = require('./lib/fork-case');

const CHILD = path.join(__dirname, 'lib', 'pause-child.js');
const ENGINES = ['native', 'js'];
const MODES = ['none', 'repair', 'steps'];
// 'none' runs last: it waits as long as the sweep took.
const RUN_ORDER = ['steps', 'repair', 'none'];
const ROUNDS = 3;

function parseArgs(argv) {
  const o = { quick: false, only: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') o.quick = true;
    else if (argv[i] === '--only') o.only = argv[++i].split(',');
    else {
      process.stderr.write(`usage: node bench/compact-pause.js [--quick] [--only ${ENGINES.join(',')}]\n`);
      process.exit(2);
    }
  }
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const m = machine();
  const size = o.quick ? 16 << 20 : 64 << 20;
  const entries = o.quick ? 60000 : 250000;
  console.log(`shmstore bench:compact-pause — ${new Date().toISOString()}`);
  console.log(`machine: ${m.cpu} (${m.cores} cores), ${m.os}, node ${m.node}`);
  console.log(`store: ${size / 2 ** 20} MiB, ${entries} entries of 10-309 B values, every other one deleted;`);
  console.log('a worker overwrites 2000 keys (100 B values) and times each set while the main thread runs the case.\n');
  const rows = [];
  for (const engine of o.only || ENGINES) {
    const byMode = {};
    for (const mode of RUN_ORDER) {
      const runs = [];
      for (let r = 0; r < ROUNDS; r++) {
        process.stderr.write(`  ${engine} ${mode} round ${r + 1} ...\n`);
        const noneMs = byMode.steps ? median(byMode.steps.map((x) => x.ms)) : 0;
        runs.push(await runCase(CHILD, { engine, mode, size, entries, noneMs }));
      }
      byMode[mode] = runs;
    }
    const base = median(byMode.none.map((x) => x.writerMaxMs));
    for (const mode of MODES) {
      const runs = byMode[mode];
      const max = median(runs.map((x) => x.writerMaxMs));
      rows.push([engine, mode, median(runs.map((x) => x.ms)).toFixed(1), max.toFixed(2), (max / base).toFixed(1),
        median(runs.map((x) => x.writerP999Ms)).toFixed(3),
        Math.round(median(runs.map((x) => x.writerSets))), Math.round(median(runs.map((x) => x.moved))), Math.round(median(runs.map((x) => x.steps)))]);
    }
  }
  const head = ['engine', 'case', 'call ms', 'longest set ms', 'vs none', 'p99.9 set ms', 'sets meanwhile', 'moved', 'steps'];
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  for (const r of all) console.log('  ' + r.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  '));
  console.log(`\nmedians of ${ROUNDS} rounds; 'repair' is the pass store.compact() ran before incremental compaction.`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
