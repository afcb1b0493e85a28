#!/usr/bin/env node
'use strict';
// Demo (`npm run demo`): agents in worker_threads sharing one shmstore.
//
// The main thread creates a store on POSIX shared memory (a plain SharedArrayBuffer when the
// native addon is not built), then starts agents in worker_threads: half of them use the native
// engine, half the pure-JS engine, all on the same bytes. Each agent, for a few seconds:
//   - writes "memories" (JSON objects) into its own namespace `agent:<id>` (the last 20,000 are
//     kept) and reads recent ones back (every read is checked against what was written);
//   - reads facts from the shared namespace `shared`, written by the other agents of either
//     engine, and now and then publishes a fact of its own there.
// Then it prints per-engine throughput and latency percentiles (p50/p99), the store's stats()
// and the result of verify().
//
//   node scripts/demo.js [--seconds N] [--agents N]
const { Worker, isMainThread, workerData, parentPort } = require('worker_threads');
const path = require('path');

const pkg = require(path.join(__dirname, '..'));
const Store = pkg.Store || require(path.join(__dirname, '..', 'lib', 'store', 'store.js')).Store;

const SHARED = 'shared';
const FACTS = 2000; // shared fact slots, overwritten round-robin
const MEMORY_SLOTS = 20000; // memories kept per agent (older ones are overwritten)
const LAT_SAMPLES = 1 << 17; // latency samples kept per op type per agent (reservoir)

// ---- agent (worker thread) ------------------------------------------------------------------

function agent() {
  const { id, engine, name, buffer, seconds, gate } = workerData;
  const store = name ? Store.open({ name, engine }) : Store.attach(buffer, { engine });
  const mine = `agent:${id}`;
  const now = process.hrtime.bigint;
  const lat = { get: new Float64Array(LAT_SAMPLES), set: new Float64Array(LAT_SAMPLES) };
  const seen = { get: 0, set: 0 };
  const record = (kind, ns) => {
    // Reservoir sampling keeps a uniform sample of every latency once the arrays are full.
    const n = seen[kind]++;
    if (n < LAT_SAMPLES) lat[kind][n] = ns;
    else {
      const j = Math.floor(Math.random() * (n + 1));
      if (j < LAT_SAMPLES) lat[kind][j] = ns;
    }
  };
  const counts = { memoriesWritten: 0, memoriesRead: 0, wrongReads: 0, factsRead: 0,
    factsPublished: 0, factsFromOtherEngine: 0 };
  let written = 0;

  Atomics.wait(gate, 0, 0); // all agents start together
  const end = Date.now() + seconds * 1000;
  let step = 0;
  while (Date.now() < end) {
    for (let burst = 0; burst < 64; burst++, step++) {
      // 1. remember something new
      const key = `memory:${written % MEMORY_SLOTS}`;
      const memory = { agent: id, n: written, engine, text: `observation ${written} of agent ${id}`, tags: ['demo', engine] };
      let t = now();
      store.set(mine, key, memory);
      record('set', Number(now() - t));
      written++;
      counts.memoriesWritten++;
      // 2. recall a few recent memories
      for (let r = 0; r < 3; r++) {
        const n = written - 1 - ((step * 7 + r * 13) % Math.min(written, 500));
        t = now();
        const m = store.get(mine, `memory:${n % MEMORY_SLOTS}`);
        record('get', Number(now() - t));
        counts.memoriesRead++;
        if (!m || m.n !== n || m.agent !== id) counts.wrongReads++;
      }
      // 3. read what the others published
      for (let r = 0; r < 2; r++) {
        t = now();
        const f = store.get(SHARED, `fact:${(step * 31 + r * 17 + id * 101) % FACTS}`);
        record('get', Number(now() - t));
        counts.factsRead++;
        if (f && f.engine !== engine && f.engine !== 'main') counts.factsFromOtherEngine++;
      }
      // 4. sometimes publish a fact
      if (step % 8 === 0) {
        t = now();
        store.set(SHARED, `fact:${(step * 13 + id * 997) % FACTS}`, { by: id, engine, at: written });
        record('set', Number(now() - t));
        counts.factsPublished++;
      }
    }
  }
  const kept = {
    get: lat.get.slice(0, Math.min(seen.get, LAT_SAMPLES)),
    set: lat.set.slice(0, Math.min(seen.set, LAT_SAMPLES)),
  };
  store.close();
  parentPort.postMessage({ id, engine, seconds, ops: seen, counts, lat: kept },
    [kept.get.buffer, kept.set.buffer]);
}

// ---- main -----------------------------------------------------------------------------------

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function fmtNs(ns) {
  if (!Number.isFinite(ns)) return '-';
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(1)} µs` : `${ns.toFixed(0)} ns`;
}

function parseArgs() {
  const a = { seconds: 6, agents: 4 };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--seconds') a.seconds = Number(argv[++i]);
    else if (argv[i] === '--agents') a.agents = Number(argv[++i]);
    else {
      console.error('usage: node scripts/demo.js [--seconds N (1-20)] [--agents N (2-16)]');
      process.exit(2);
    }
  }
  if (!(a.seconds >= 1 && a.seconds <= 20) || !(Number.isInteger(a.agents) && a.agents >= 2 && a.agents <= 16)) {
    console.error('demo: --seconds must be 1-20 and --agents an integer 2-16');
    process.exit(2);
  }
  return a;
}

function nativeProblem() {
  try {
    const s = Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine: 'native' });
    s.close();
    return null;
  } catch (e) {
    return `${e.code || e.name}: ${e.message}`;
  }
}

async function main() {
  const { seconds, agents } = parseArgs();
  const t0 = Date.now();
  const problem = nativeProblem();
  const engines = [];
  for (let i = 0; i < agents; i++) engines.push(!problem && i % 2 === 0 ? 'native' : 'js');
  if (problem) console.log(`note: the native engine is not available (${problem}); every agent uses the pure-JS engine`);

  const size = 64 << 20;
  const name = problem ? null : `shmstore-demo-${process.pid}`;
  const store = name
    ? Store.create({ name, size, engine: 'native' })
    : Store.create({ buffer: new SharedArrayBuffer(size), engine: 'js' });
  const unlink = () => {
    if (name && pkg.Segment) {
      try {
        pkg.Segment.unlink({ name });
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', unlink);
  console.log(`store: ${name ? `POSIX shared memory /${name}` : 'a SharedArrayBuffer'}, ${size >> 20} MiB; ` +
    `${agents} agents (${engines.filter((e) => e === 'native').length} native, ${engines.filter((e) => e === 'js').length} pure-JS), ` +
    `${seconds} s on ${require('os').cpus().length} cores`);
  // Seed the shared namespace so that readers find facts from the start.
  for (let f = 0; f < FACTS; f++) store.set(SHARED, `fact:${f}`, { by: 'main', engine: 'main', at: 0 });

  const gate = new Int32Array(new SharedArrayBuffer(4));
  const results = await new Promise((resolve, reject) => {
    const out = [];
    let ready = 0;
    for (let id = 0; id < agents; id++) {
      const w = new Worker(__filename, {
        workerData: { id, engine: engines[id], name, buffer: name ? null : store.buffer, seconds, gate },
      });
      w.on('online', () => {
        if (++ready === agents) {
          Atomics.store(gate, 0, 1);
          Atomics.notify(gate, 0);
        }
      });
      w.on('message', (m) => {
        out.push(m);
        if (out.length === agents) resolve(out);
      });
      w.on('error', reject);
      w.on('exit', (code) => {
        if (code !== 0) reject(new Error(`agent ${id} exited with code ${code}`));
      });
    }
  });

  console.log('');
  console.log('per engine (all agents of that engine together):');
  console.log('  engine   agents     ops/s    get p50    get p99    set p50    set p99      wrong reads');
  for (const engine of ['native', 'js']) {
    const rs = results.filter((r) => r.engine === engine);
    if (!rs.length) continue;
    const cat = (k) => {
      const all = new Float64Array(rs.reduce((n, r) => n + r.lat[k].length, 0));
      let o = 0;
      for (const r of rs) {
        all.set(r.lat[k], o);
        o += r.lat[k].length;
      }
      return all.sort();
    };
    const g = cat('get');
    const s = cat('set');
    const ops = rs.reduce((n, r) => n + r.ops.get + r.ops.set, 0);
    const read = rs.reduce((n, r) => n + r.counts.memoriesRead, 0);
    const wrong = rs.reduce((n, r) => n + r.counts.wrongReads, 0);
    console.log(`  ${engine.padEnd(8)} ${String(rs.length).padStart(6)} ${(ops / seconds / 1e3).toFixed(0).padStart(8)}k ` +
      `${fmtNs(percentile(g, 50)).padStart(10)} ${fmtNs(percentile(g, 99)).padStart(10)} ` +
      `${fmtNs(percentile(s, 50)).padStart(10)} ${fmtNs(percentile(s, 99)).padStart(10)} ` +
      `${`${wrong} of ${read}`.padStart(16)}`);
  }
  const wrong = results.reduce((n, r) => n + r.counts.wrongReads, 0);
  console.log(`  (latency of single store calls in the agents, timed with process.hrtime; ${agents} agents on ` +
    `${require('os').cpus().length} cores, so p99 includes preemption)`);
  console.log('');
  console.log('per agent:');
  for (const r of results.sort((a, b) => a.id - b.id)) {
    console.log(`  agent ${r.id} (${r.engine.padEnd(6)}): ${r.counts.memoriesWritten} memories written, ` +
      `${r.counts.memoriesRead} recalled, ${r.counts.factsRead} facts read ` +
      `(${r.counts.factsFromOtherEngine} from the other engine), ${r.counts.factsPublished} published`);
  }

  console.log('');
  const stats = store.stats();
  console.log('stats():', stats);
  const report = store.verify();
  console.log('verify():', report.ok ? { ok: true, entries: report.entries } : report);
  store.close();
  unlink();
  console.log(`\ndone in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (wrong || !report.ok) {
    console.error(`demo: FAILED (${wrong} wrong reads, verify ok = ${report.ok})`);
    process.exitCode = 1;
  }
}

if (isMainThread) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  agent();
}
