#!/usr/bin/env node
'use strict';
// Eviction benchmark (npm run bench:eviction): the miss ratio of shmstore's eviction (both
// engines) against lru-cache (exact LRU) and a plain FIFO on the same request sequences, cache
// aside (get; on a miss, set), and the get-hit latency of an evicting store against one that
// never evicts. Every (workload, policy) pair runs in its own child process, from the declared
// lists below; the table gives miss ratios from one run and the goal lines of the issue.
//
//   node bench/eviction.js [--quick] [--only <policy>[,...]] [--no-save]
const fs = require('fs');
const path = require('path');
const { machine } = require('./lib/report');
const { runCase } = require('./lib/fork-case');
const { version } = require('./lib/versions');
const { WORKLOADS, POLICIES, LATENCY, ROOM } = require('./lib/eviction-cases');

const CHILD = path.join(__dirname, 'lib', 'eviction-child.js');
const RESULTS = path.join(__dirname, 'results');

function parseArgs(argv) {
  const o = { quick: false, only: null, save: true };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') o.quick = true;
    else if (argv[i] === '--only') o.only = argv[++i].split(',');
    else if (argv[i] === '--no-save') o.save = false;
    else {
      process.stderr.write(`usage: node bench/eviction.js [--quick] [--only ${POLICIES.join(',')}] [--no-save]\n`);
      process.exit(2);
    }
  }
  return o;
}

const runChild = (task) => runCase(CHILD, task);

const pct = (x) => (x === undefined ? '—' : `${(100 * x).toFixed(2)}%`);

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const policies = o.only || POLICIES;
  const m = machine();
  const date = new Date().toISOString();
  console.log(`shmstore bench:eviction — ${date}\nmachine: ${m.cpu} (${m.cores} cores), ${m.os}, node ${m.node}, lru-cache ${version('lru-cache')}${o.quick ? ', --quick' : ''}\n`);
  const rows = [];
  for (const w of WORKLOADS) {
    const row = { workload: w.id, goal: w.goal, ratios: {} };
    for (const p of policies) {
      const r = await runChild({ kind: 'miss', workload: w.id, policy: p, quick: o.quick });
      row.ratios[p] = r.missRatio;
      process.stderr.write(`  ${w.id} ${p}: ${pct(r.missRatio)} (${r.requests} requests)\n`);
    }
    rows.push(row);
  }
  const head = ['workload', ...policies];
  const table = [head, ...rows.map((r) => [r.workload, ...policies.map((p) => pct(r.ratios[p]))])];
  const widths = head.map((_, i) => Math.max(...table.map((t) => t[i].length)));
  console.log('miss ratio (lower is better), cache aside: get, and set on a miss');
  for (const t of table) console.log(t.map((c, i) => c.padEnd(widths[i])).join('  '));

  // Goals: shmstore <= lru-cache on every Zipf case; clearly lower (by 10% of LRU's misses or
  // more) on scans and the loop. Judged for each engine that ran.
  console.log('\ngoals');
  const verdicts = [];
  for (const engine of policies.filter((p) => p.startsWith('shmstore'))) {
    for (const r of rows) {
      if (!r.goal || r.ratios['lru-cache'] === undefined) continue;
      const ours = r.ratios[engine];
      const lru = r.ratios['lru-cache'];
      const met = r.goal === 'le' ? ours <= lru : ours <= 0.9 * lru;
      verdicts.push({ engine, workload: r.workload, goal: r.goal, ours, lru, met });
      console.log(`  ${met ? 'met    ' : 'NOT met'}  ${engine} ${r.workload}: ${pct(ours)} vs lru-cache ${pct(lru)} (goal: ${r.goal === 'le' ? '≤' : 'clearly lower than'} lru-cache)`);
    }
  }

  console.log('\nget-hit latency (ns/op, median of rounds; ratio: median of the rounds\' ratios): a full store evicting between rounds vs one that never evicts');
  const latency = [];
  for (const engine of ['native', 'js'].filter((e) => policies.includes(`shmstore-${e}`))) {
    const r = await runChild({ kind: 'latency', engine, quick: o.quick, ...LATENCY });
    const { ratio } = r; // the median of the rounds' ratios (eviction-child.js latency())
    latency.push({ engine, ...r, ratio, met: ratio <= 1.1 });
    console.log(`  ${engine}: evicting ${r.evicting.toFixed(1)}, never evicting ${r.none.toFixed(1)}, ratio ${ratio.toFixed(3)} — ${ratio <= 1.1 ? 'met' : 'NOT met'} (goal: within 10%)`);
  }
  console.log('\nmaking room: one 1 MiB set (two at once: two threads) into a full 8 MiB store of 100-byte entries (entries evicted / entries whose space it needs; read entries evicted / read)');
  const rooms = [];
  for (const engine of ['native', 'js'].filter((e) => policies.includes(`shmstore-${e}`))) {
    for (const c of ROOM) {
      const r = await runChild({ kind: 'room', engine, ...c });
      rooms.push({ engine, ...c, ...r });
      const read = c.read ? `, read evicted ${r.readEvicted} / ${r.read}` : '';
      console.log(`  ${engine.padEnd(6)} ${c.id.padEnd(22)} evicted ${r.evicted} / ${r.needed} (${(r.evicted / r.needed).toFixed(2)}×)${read}, ${r.ms.toFixed(1)} ms${r.sound ? '' : ', verify() FAILED'}`);
    }
  }
  if (o.save) {
    fs.mkdirSync(RESULTS, { recursive: true });
    const file = path.join(RESULTS, `eviction-${date.replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, JSON.stringify({ date, machine: m, quick: o.quick, rows, verdicts, latency, rooms }, null, 2));
    console.log(`\nsaved ${path.relative(process.cwd(), file)}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
