#!/usr/bin/env node
'use strict';
// Memory benchmark (npm run bench:memory): how much of the entry pool holds payload (key + value
// bytes), for both engines, each case in its own child process from the declared list in
// bench/lib/memory-cases.js:
//   eviction 'none': after the first fill and in steady state after five rounds of "delete half
//                    at random, refill", at the first refused insert of each fill and once the
//                    store refused REFUSALS_TO_STOP inserts in a row;
//   eviction 'auto': along a long stream of new keys.
// Each 'none' case runs with the compaction a set runs by itself when it finds no room, and the
// mixed and reference workloads once more with store.compact() sweeps (format.md §8).
// "Pool bytes" is format.md's allocator region (§2, §8): units [firstUnit, totalUnits) of 16
// bytes, totalSize − entriesOffset. The tables say where those bytes are; the goals of the issue
// are judged at the end.
//
//   node bench/memory.js [--quick] [--only <engine>[,...]] [--seed N] [--no-save]
const fs = require('fs');
const path = require('path');
const { machine } = require('./lib/report');
const { runCase } = require('./lib/fork-case');
const { WORKLOADS, ENGINES, CASES, GOALS, CHURN_ROUNDS, STREAM_FILLS, REFUSALS_TO_STOP } = require('./lib/memory-cases');

const CHILD = path.join(__dirname, 'lib', 'memory-child.js');
const RESULTS = path.join(__dirname, 'results');

function parseArgs(argv) {
  const o = { quick: false, only: null, seed: 1, save: true };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') o.quick = true;
    else if (argv[i] === '--only') o.only = argv[++i].split(',');
    else if (argv[i] === '--seed') o.seed = Number(argv[++i]);
    else if (argv[i] === '--no-save') o.save = false;
    else {
      process.stderr.write(`usage: node bench/memory.js [--quick] [--only ${ENGINES.join(',')}] [--seed N] [--no-save]\n`);
      process.exit(2);
    }
  }
  return o;
}

const pct = (x, whole) => `${((100 * x) / whole).toFixed(1)}%`;
const ratio = (m) => m.ratio.toFixed(3);

function printTable(head, rows) {
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  for (const r of all) console.log('  ' + r.map((c, i) => (i < 3 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  '));
}

// Where the pool's bytes are, as percentages of it (they add up to 100%).
const SPLIT_HEAD = ['payload/pool', 'headers', 'units', 'classes', 'larger class', 'free lists', 'never used', 'entries'];
const split = (m) => [ratio(m), pct(m.headers, m.pool), pct(m.unitRounding, m.pool), pct(m.classRounding, m.pool),
  pct(m.largerClass, m.pool), pct(m.freeLists, m.pool), pct(m.tail, m.pool), m.entries];

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const engines = o.only || ENGINES;
  const m = machine();
  const date = new Date().toISOString();
  console.log(`shmstore bench:memory — ${date}\nmachine: ${m.cpu} (${m.cores} cores), ${m.os}, node ${m.node}, seed ${o.seed}${o.quick ? ', --quick' : ''}\n`);
  console.log('pool bytes = the allocator region of docs/format.md §2/§8: units [firstUnit, totalUnits) of 16 B,');
  console.log('             i.e. totalSize − entriesOffset. payload = key + value bytes of the live entries.');
  console.log('Where the pool goes: headers (28 B per entry), rounding up to whole 16-byte units, rounding up to the');
  console.log('size class, blocks of a larger class than the entry needs, free blocks on the size-class free lists');
  console.log('(stranded when no insert of their class comes), the tail never handed out.\n');

  const results = [];
  for (const c of CASES.filter((x) => engines.includes(x.engine))) {
    process.stderr.write(`  ${c.workload} ${c.engine} eviction ${c.eviction} ...\n`);
    results.push(await runCase(CHILD, { ...c, quick: o.quick, seed: o.seed }));
  }
  const size = results[0].size;
  console.log(`store: ${size / 2 ** 20} MiB, maxEntries = the pool's units (space, not the entry count, fills it)\n`);

  // The engine column says which compaction ran too: 'set' (only the steps a set that finds no room
  // runs by itself) or 'sweep' (also store.compact() after each round's deletes and before a
  // refused insert is retried).
  const who = (r) => `${r.engine}/${r.compaction}`;
  const none = results.filter((r) => r.eviction === 'none');
  const rowsAt = (pick) => none.flatMap((r) => [r.points[0], r.points[CHURN_ROUNDS]].map((p) => [r.workload, who(r), p.point, ...split(pick(p))]));
  console.log(`eviction 'none', at the first refused insert of the fill (fill) and of the last of ${CHURN_ROUNDS} refills after deleting half (churn ${CHURN_ROUNDS})`);
  printTable(['workload', 'engine', 'point', ...SPLIT_HEAD], rowsAt((p) => p.first));
  console.log(`\neviction 'none', steady state: each fill goes on past refused inserts until ${REFUSALS_TO_STOP} in a row are refused`);
  printTable(['workload', 'engine', 'point', ...SPLIT_HEAD], rowsAt((p) => p.steady));
  console.log('\npayload/pool after each round (first refusal / steady)');
  for (const r of none) {
    console.log(`  ${r.workload.padEnd(9)} ${who(r).padEnd(12)} ${r.points.map((p) => `${p.point} ${ratio(p.first)}/${ratio(p.steady)}`).join(', ')}`);
  }
  console.log('\ncompaction in those runs: steps (all handles), entries moved, repair passes; for \'sweep\' the compact() calls');
  for (const r of none) {
    const c = r.compactionStats;
    const calls = c.calls ? `, ${c.calls} compact() calls: ${c.ms.toFixed(0)} ms in all, longest ${c.maxMs.toFixed(1)} ms` : '';
    console.log(`  ${r.workload.padEnd(9)} ${who(r).padEnd(12)} ${c.steps} steps, ${c.movedTotal} moved, ${c.repairs} repairs${calls}`);
  }

  const auto = results.filter((r) => r.eviction === 'auto');
  console.log(`\neviction 'auto': a stream of new keys, ${STREAM_FILLS} times the entries held at the first eviction; payload/pool after each fill's worth`);
  for (const r of auto) {
    console.log(`  ${r.workload.padEnd(9)} ${r.engine.padEnd(6)} ${r.points.map((p) => ratio(p.steady)).join(' ')}`);
  }
  console.log('at the end of the stream');
  printTable(['workload', 'engine', 'point', ...SPLIT_HEAD, 'refused'],
    auto.map((r) => [r.workload, r.engine, r.points[r.points.length - 1].point, ...split(r.points[r.points.length - 1].steady),
      r.points[r.points.length - 1].steady.refused]));

  console.log('\ngoals (issue 8: payload/pool, eviction \'none\')');
  const verdicts = [];
  for (const r of none) {
    const goal = GOALS[r.workload];
    if (goal === undefined) continue;
    const checks = [
      ['fill, first refused insert', r.points[0].first.ratio],
      [`after churn, first refused insert of refill ${CHURN_ROUNDS}`, r.points[CHURN_ROUNDS].first.ratio],
      [`after churn, steady (${REFUSALS_TO_STOP} refusals in a row)`, r.points[CHURN_ROUNDS].steady.ratio],
    ];
    for (const [what, x] of checks) {
      const met = x >= goal;
      verdicts.push({ workload: r.workload, engine: r.engine, compaction: r.compaction, what, ratio: x, goal, met });
      console.log(`  ${met ? 'met    ' : 'NOT met'}  ${who(r).padEnd(12)} ${WORKLOADS[r.workload].label}, ${what}: ${x.toFixed(3)} (goal ≥ ${goal})`);
    }
  }
  console.log('  (the 28-byte header alone caps the reference workload at 114/142 = 0.803; 16-byte units at 114/144 = 0.792)');

  if (o.save) {
    fs.mkdirSync(RESULTS, { recursive: true });
    const file = path.join(RESULTS, `memory-${date.replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, JSON.stringify({ date, machine: m, quick: o.quick, seed: o.seed, results, verdicts }, null, 2));
    console.log(`\nsaved ${path.relative(process.cwd(), file)}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
