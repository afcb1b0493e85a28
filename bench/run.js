#!/usr/bin/env node
'use strict';
// shmstore benchmark driver: runs every declared case (bench/cases/index.js) in its own child
// process, round after round, on the reference workload (bench/README.md, "Workload"), and
// prints a table of ns/op medians with ratios to Map and lmdb from the same run, the
// read-scaling table and the goal lines. Results go to bench/results/. See bench/README.md.
//
//   node bench/run.js [--quick] [--only <case>[,<case>...]] [--runs N] [--keys N] [--ops a,b]
//                     [--budget MS] [--passes N] [--cpu] [--insert-keys N] [--no-save]
const fs = require('fs');
const path = require('path');
const { fork } = require('child_process');
const CASES = require('./cases');
const { OPS, SCALING, WRITE_SCALING } = require('./lib/ops');
const { VALUE_BYTES } = require('./lib/workload');
const { startRedis } = require('./lib/redis');
const { baseline } = require('./lib/scaling');
const memoryBaseline = require('./lib/memory-baseline');
const { machine, aggregate, goals, render } = require('./lib/report');
const { version } = require('./lib/versions');

const ALIASES = { native: 'shmstore-native', js: 'shmstore-js', lru: 'lru-cache', nosync: 'lmdb-nosync' };
const CHILD = path.join(__dirname, 'lib', 'child.js');
const RESULTS = path.join(__dirname, 'results');
const CHILD_TIMEOUT_MS = 180000;

function usage(msg) {
  if (msg) process.stderr.write(`bench: ${msg}\n`);
  process.stderr.write(`usage: node bench/run.js [--quick] [--only <case>[,<case>...]] [--runs N] [--keys N]
                         [--ops <op>[,<op>...]] [--budget MS] [--passes N] [--cpu] [--insert-keys N]
                         [--no-save]
cases: ${CASES.join(', ')} (aliases: ${Object.entries(ALIASES).map(([a, b]) => `${a}=${b}`).join(', ')})
ops:   ${OPS.map((o) => o.id).join(', ')}, ${SCALING.id}, ${WRITE_SCALING.id}
`);
  process.exit(msg ? 2 : 0);
}

function parseArgs(argv) {
  const o = { quick: false, only: null, runs: null, keys: null, ops: null, budgetMs: null, passes: 1, cpu: false, save: true, seed: 20240601 };
  const num = (v, name) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) usage(`${name} needs a positive integer, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--only') o.only = (o.only || []).concat(val().split(','));
    else if (a.startsWith('--only=')) o.only = (o.only || []).concat(a.slice(7).split(','));
    else if (a === '--runs') o.runs = num(val(), a);
    else if (a === '--keys') o.keys = num(val(), a);
    else if (a === '--budget') o.budgetMs = num(val(), a);
    else if (a === '--seed') o.seed = num(val(), a);
    else if (a === '--passes') o.passes = num(val(), a);
    else if (a === '--insert-keys') o.insertKeys = num(val(), a);
    else if (a === '--cpu') o.cpu = true;
    else if (a === '--ops') o.ops = val().split(',');
    else if (a === '--no-save') o.save = false;
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  if (o.only) {
    o.only = o.only.map((n) => ALIASES[n] || n);
    for (const n of o.only) if (!CASES.includes(n)) usage(`unknown case ${n}`);
  }
  if (o.ops) {
    const known = OPS.map((x) => x.id).concat(SCALING.id, WRITE_SCALING.id);
    for (const n of o.ops) if (!known.includes(n)) usage(`unknown op ${n}`);
  }
  const q = o.quick;
  return {
    ...o,
    keys: o.keys || (q ? 10000 : 100000),
    // Keys the inserting writers of write-scaling insert between them, timed (bench/lib/writer.js):
    // 1 and 2 writers alike, about half a second for one.
    insertKeys: o.insertKeys || (q ? 200000 : 1000000),
    runs: o.runs || (q ? 2 : 5),
    budgetMs: o.budgetMs || (q ? 40 : 150),
    warmMs: q ? 20 : 60,
    preWarmMs: q ? 150 : 400,
    scaleMs: q ? 100 : 300,
    // How old a write-scaling writer is before its timed run (bench/lib/writer.js).
    settleMs: q ? 400 : 1000,
  };
}

// ---- progress (stderr) ---------------------------------------------------------------------------
const tty = process.stderr.isTTY;
const started = Date.now();
let lastLine = '';
function progress(text, final) {
  const line = `[${((Date.now() - started) / 1000).toFixed(0)}s] ${text}`;
  if (tty) {
    process.stderr.write(`\r\x1b[K${line}${final ? '\n' : ''}`);
  } else if (final || text.split(':')[0] !== lastLine.split(':')[0]) {
    process.stderr.write(`${line}\n`);
  }
  lastLine = text;
}

// ---- one child -----------------------------------------------------------------------------------
let current = null;
function runChild(cfg, label) {
  return new Promise((resolve) => {
    const child = fork(CHILD, [JSON.stringify(cfg)], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    current = child;
    let result = null;
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, CHILD_TIMEOUT_MS);
    child.on('message', (m) => {
      if (m.type === 'progress') progress(`${label}: ${m.text}`);
      else result = m;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      current = null;
      if (result && result.type !== 'error') return resolve(result);
      const why = timedOut ? `timed out after ${CHILD_TIMEOUT_MS / 1000} s`
        : result ? result.error.split('\n').slice(0, 3).join(' | ')
          : `child exited with ${signal || code}${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
      resolve({ type: 'error', error: why, signal: timedOut ? null : signal });
    });
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  // The baseline and read-cache-off cases run only when named in --only.
  const caseNames = args.only ? CASES.filter((n) => args.only.includes(n))
    : CASES.filter((n) => !n.startsWith('baseline-') && !n.endsWith('-nocache'));
  const meta = {
    date: new Date().toISOString(),
    machine: machine(),
    quick: args.quick,
    keys: args.keys,
    valueBytes: VALUE_BYTES,
    runs: args.runs,
    budgetMs: args.budgetMs,
    passes: args.passes,
    cpu: args.cpu,
    warmMs: args.warmMs,
    scaleMs: args.scaleMs,
    insertKeys: args.insertKeys,
    seed: args.seed,
    only: args.only,
    ops: args.ops,
    peers: { lmdb: version('lmdb'), 'lru-cache': version('lru-cache'), ioredis: version('ioredis') },
    notes: [],
    loadavgStart: require('os').loadavg().map((x) => +x.toFixed(2)),
  };

  const env = {};
  let redis = null;
  if (caseNames.includes('redis')) {
    redis = await startRedis();
    if (redis.port) env.redisPort = redis.port;
    else {
      env.redisNote = redis.note;
      process.stderr.write(`bench: redis ${redis.note}\n`);
      meta.notes.push(`redis ${redis.note}`);
    }
  }
  const cleanup = async () => {
    if (current) current.kill('SIGKILL');
    if (redis && redis.stop) await redis.stop();
  };
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, async () => {
      await cleanup();
      process.exit(130);
    });
  }

  const raw = {};
  for (const n of caseNames) raw[n] = { rounds: [] };
  const baselineRounds = [];
  const memoryRounds = [];
  try {
    for (let round = 0; round < args.runs; round++) {
      // Alternate the case order so that slow drift of the machine does not favour one case.
      const order = round % 2 ? caseNames.slice().reverse() : caseNames;
      if (!args.ops || args.ops.includes(SCALING.id) || args.ops.includes(WRITE_SCALING.id)) {
        progress(`run ${round + 1}/${args.runs}: cpu baseline for read scaling`);
        try {
          baselineRounds.push(await baseline({ N: args.keys, seed: args.seed, warmMs: args.warmMs, measureMs: args.scaleMs }));
        } catch (e) {
          meta.notes.push(`cpu baseline failed: ${e.message}`);
        }
      }
      if (!args.ops || args.ops.includes(WRITE_SCALING.id)) {
        progress(`run ${round + 1}/${args.runs}: memory baseline for insert scaling`);
        try {
          memoryRounds.push(await memoryBaseline.measure({
            N: args.keys, insertKeys: args.insertKeys, warmMs: args.warmMs, measureMs: args.scaleMs, settleMs: args.settleMs,
          }));
        } catch (e) {
          meta.notes.push(`memory baseline failed: ${e.message}`);
        }
      }
      for (let ci = 0; ci < order.length; ci++) {
        const name = order[ci];
        if (raw[name].unavailable) continue;
        const label = `run ${round + 1}/${args.runs} · case ${ci + 1}/${order.length} ${name}`;
        progress(`${label}: starting`);
        const cfg = {
          case: name, round, N: args.keys, passes: args.passes, cpu: args.cpu, seed: args.seed, runs: 1, budgetMs: args.budgetMs,
          warmMs: args.warmMs, preWarmMs: args.preWarmMs, scaleMs: args.scaleMs, settleMs: args.settleMs, insertKeys: args.insertKeys, ops: args.ops, env,
        };
        let m = await runChild(cfg, label);
        if (m.type === 'error' && m.signal) {
          // Killed from outside (on a shared machine: the OOM killer, a timeout): one more try.
          progress(`${label}: child killed by ${m.signal}, retrying once`, true);
          meta.notes.push(`${name}, run ${round + 1}: child killed by ${m.signal}, rerun`);
          m = await runChild(cfg, label);
        }
        if (m.type === 'unavailable') {
          raw[name].unavailable = m.reason;
          progress(`${name}: unavailable: ${m.reason}`, true);
          continue;
        }
        if (m.type === 'error') {
          progress(`${label}: ERROR ${m.error}`, true);
          raw[name].rounds.push({ error: m.error });
          continue;
        }
        raw[name].label = m.label;
        raw[name].info = m.info;
        raw[name].sharing = m.sharing;
        if (m.after) raw[name].after = m.after;
        raw[name].rounds.push({ results: m.results, scaling: m.scaling, writeScaling: m.writeScaling });
      }
    }
  } finally {
    await cleanup();
  }
  progress(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`, true);
  meta.loadavgEnd = require('os').loadavg().map((x) => +x.toFixed(2));
  meta.seconds = Math.round((Date.now() - started) / 1000);
  for (const n of caseNames) {
    if (!raw[n].label) raw[n].label = n;
    const a = raw[n].after;
    if (a && a.verify && a.verify !== 'ok') meta.notes.push(`${n}: verify() after the run reported ${JSON.stringify(a.verify).slice(0, 300)}`);
  }

  const ops = OPS.filter((o) => !args.ops || args.ops.includes(o.id));
  const agg = aggregate(raw, ops, baselineRounds, memoryRounds);
  const goalLines = goals(agg, raw);
  const text = render({ meta, raw, agg, goalLines, ops, caseOrder: caseNames });
  process.stdout.write(`${text}\n`);

  if (args.save) {
    fs.mkdirSync(RESULTS, { recursive: true });
    const partial = args.quick || args.only || args.ops || args.keys !== 100000 || args.passes !== 1 || args.cpu;
    const stamp = meta.date.replace(/[:.]/g, '-').replace(/-\d+Z$/, 'Z');
    const json = JSON.stringify({ meta, cases: raw, table: agg.table, scaling: agg.scaling, writeScaling: agg.writeScaling, baseline: agg.baseline,
      memoryBaseline: agg.memoryBaseline, baselineRounds, memoryRounds, goals: goalLines }, null, 1);
    const dated = path.join(RESULTS, `${stamp}${partial ? (args.quick ? '-quick' : '-partial') : ''}.json`);
    fs.writeFileSync(dated, json);
    const latest = path.join(RESULTS, partial ? 'latest-partial.json' : 'latest.json');
    fs.writeFileSync(latest, json);
    process.stderr.write(`bench: results written to ${path.relative(process.cwd(), dated)} and ${path.relative(process.cwd(), latest)}\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`bench: ${e.stack || e}\n`);
  process.exit(1);
});
