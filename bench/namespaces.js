#!/usr/bin/env node
'use strict';
// Namespace lookup cost (npm run bench:namespaces): the same operations on a store of 10
// namespaces and on one of 65535 (format.md §5: a name is found through a hash index, a handle
// caches the id), for both engines. Each case runs in its own child process
// (bench/lib/namespaces-child.js) from the declared list below; the table shows the median over
// runs of ns per operation and the ratio of the 65535-namespace store to the 10-namespace one (of
// the medians, and of the fastest runs, which a loaded machine disturbs least).
// Results: bench/results/namespaces-latest.json.
//   node bench/namespaces.js [--quick] [--runs N] [--no-save]
const fs = require('fs');
const os = require('os');
const path = require('path');
const { machine, median } = require('./lib/report');
const { runCase } = require('./lib/fork-case');

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const runs = Number(args.includes('--runs') ? args[args.indexOf('--runs') + 1] : quick ? 3 : 7);
const CHILD = path.join(__dirname, 'lib', 'namespaces-child.js');
const RESULTS = path.join(__dirname, 'results', 'namespaces-latest.json');
const KEYS = 1000;

// The declared cases: [engine, namespaces].
const CASES = [['native', 10], ['native', 65535], ['js', 10], ['js', 65535]];
const OPS = {
  'get-hit': 'get of a cached namespace (1,000 reference keys)',
  'get-rotate': 'get rotating over 9 namespaces',
  resolve: 'first get of a name by a fresh handle (index probe)',
  'get-absent': 'get of a namespace that does not exist',
};

async function main() {
  const m = machine();
  const date = new Date().toISOString();
  console.log(`shmstore bench: namespace lookups (${date})`);
  console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.os}, node ${m.node}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`runs: ${runs} (after one warm-up), each case in its own process; ns per operation, median (min-max)\n`);
  const results = {};
  for (const [engine, namespaces] of CASES) {
    results[`${engine}/${namespaces}`] = await runCase(CHILD, { engine, namespaces, runs, keys: KEYS });
  }
  const fmt = (xs) => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)})`;
  const rows = [['operation', 'engine', '10 namespaces', '65535 namespaces', 'ratio', 'ratio of min']];
  for (const [op, label] of Object.entries(OPS)) {
    for (const engine of ['native', 'js']) {
      const a = results[`${engine}/10`][op];
      const b = results[`${engine}/65535`][op];
      rows.push([label, engine, fmt(a), fmt(b), (median(b) / median(a)).toFixed(2),
        (Math.min(...b) / Math.min(...a)).toFixed(2)]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  if (!args.includes('--no-save')) {
    fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
    fs.writeFileSync(RESULTS, JSON.stringify({ date, machine: m, runs, keys: KEYS, results }, null, 2) + '\n');
    console.log(`\nsaved ${path.relative(process.cwd(), RESULTS)}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
