'use strict';
// Aggregation (medians over runs, ratios, goals) and the printed report.
const fs = require('fs');
const os = require('os');
const { latencyLines } = require('./latency-report');

function machine() {
  let cpu = os.cpus()[0] ? os.cpus()[0].model : '?';
  let procs = 0;
  try {
    const text = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const m = text.match(/^model name\s*:\s*(.+)$/m);
    if (m) cpu = m[1].trim();
    procs = (text.match(/^processor\s*:/gm) || []).length;
  } catch {
    // not Linux
  }
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return {
    cpu, cores, processors: procs || cores, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    os: `${os.type()} ${os.release()} ${os.arch()}`, node: process.version, v8: process.versions.v8,
  };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (!n) return NaN;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function summarize(samples) {
  const xs = samples.map((s) => s.nsPerOp);
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs.length, opsPerSec: 1e9 / median(xs) };
}

// raw: { [case]: { label, info, unavailable?, rounds: [{ results, scaling, ... }] } }
function aggregate(raw, ops, baselineRounds = [], memoryRounds = []) {
  const table = {};
  for (const op of ops) {
    table[op.id] = {};
    for (const [name, c] of Object.entries(raw)) {
      if (c.unavailable) continue;
      const samples = [];
      const errors = [];
      for (const r of c.rounds) {
        if (r.error) {
          errors.push(r.error);
          continue;
        }
        const x = r.results && r.results[op.id];
        if (!x) continue;
        samples.push(...x.samples);
        if (x.error) errors.push(x.error);
      }
      if (!samples.length && !errors.length) continue;
      table[op.id][name] = { ...(samples.length ? summarize(samples) : {}), samples: samples.map((s) => s.nsPerOp) };
      if (errors.length) table[op.id][name].errors = [...new Set(errors)];
    }
  }
  const scaling = {};
  for (const [name, c] of Object.entries(raw)) {
    if (c.unavailable) continue;
    const one = [];
    const two = [];
    const ratio = [];
    const errors = [];
    let na = null;
    for (const r of c.rounds) {
      const s = r.scaling;
      if (!s) continue;
      if (s.na) {
        na = s.na;
        continue;
      }
      if (s.error) errors.push(s.error);
      if (s[1]) one.push(s[1].opsPerSec);
      if (s[2]) two.push(s[2].opsPerSec);
      if (s[1] && s[2]) ratio.push(s[2].opsPerSec / s[1].opsPerSec);
    }
    if (na) scaling[name] = { na };
    else if (one.length || errors.length) {
      scaling[name] = {
        oneWorker: median(one), twoWorkers: median(two),
        ratio: median(ratio), ratioMin: Math.min(...ratio), ratioMax: Math.max(...ratio), runs: ratio.length,
      };
      if (errors.length) scaling[name].errors = [...new Set(errors)];
    }
  }
  let baseline = null;
  const br = baselineRounds.filter((b) => b[1] && b[2]);
  if (br.length) {
    const rs = br.map((b) => b[2].opsPerSec / b[1].opsPerSec);
    baseline = {
      oneWorker: median(br.map((b) => b[1].opsPerSec)), twoWorkers: median(br.map((b) => b[2].opsPerSec)),
      ratio: median(rs), ratioMin: Math.min(...rs), ratioMax: Math.max(...rs), runs: rs.length,
    };
  }
  // The memory baseline of insert scaling (memory-baseline.js), aggregated as a case's inserts:
  // { 'insert-threads', 'insert-processes' }.
  const memory = memoryRounds.length
    ? aggregateWrites({ memory: { rounds: memoryRounds.map((m) => ({ writeScaling: { insert: m } })) } }).memory || null
    : null;
  return { table, scaling, writeScaling: aggregateWrites(raw), baseline, memoryBaseline: memory };
}

// Write scaling (bench/lib/write-scaling.js): per case and mode, medians over rounds of the 1- and
// 2-writer throughput and of their ratio; updates under out[case][mode], inserts under
// out[case]['insert-' + mode].
function aggregateWrites(raw) {
  const out = {};
  for (const [name, c] of Object.entries(raw)) {
    if (c.unavailable) continue;
    for (const kind of ['update', 'insert']) {
      for (const mode of ['threads', 'processes']) {
        const one = [];
        const two = [];
        const ratios = [];
        const cpu1 = [];
        const cpu2 = [];
        const share2 = [];
        const errors = [];
        for (const r of c.rounds) {
          const w = r.writeScaling;
          if (!w) continue;
          if (w.error) errors.push(w.error);
          const m = kind === 'insert' ? w.insert && w.insert[mode] : w[mode];
          if (m && m[1] && m[2]) {
            one.push(m[1].opsPerSec);
            two.push(m[2].opsPerSec);
            ratios.push(m[2].opsPerSec / m[1].opsPerSec);
            if (Number.isFinite(m[1].cpuNsPerOp) && Number.isFinite(m[2].cpuNsPerOp)) {
              cpu1.push(m[1].cpuNsPerOp);
              cpu2.push(m[2].cpuNsPerOp);
            }
            if (Number.isFinite(m[2].cpuShare)) share2.push(m[2].cpuShare);
          }
        }
        if (!ratios.length && !errors.length) continue;
        out[name] = out[name] || {};
        out[name][kind === 'insert' ? `insert-${mode}` : mode] = {
          oneWriter: median(one), twoWriters: median(two), ratio: median(ratios),
          ratioMin: Math.min(...ratios), ratioMax: Math.max(...ratios), runs: ratios.length,
          ...(cpu1.length ? { cpuNsOneWriter: median(cpu1), cpuNsTwoWriters: median(cpu2) } : {}),
          ...(share2.length ? { cpuShareTwoWriters: median(share2) } : {}),
          ...(errors.length ? { errors: [...new Set(errors)] } : {}),
        };
      }
    }
  }
  return out;
}

const REF_MAP = 'map';
const REF_LMDB = 'lmdb-nosync';

function ratio(table, op, name, ref) {
  const a = table[op] && table[op][name];
  const b = table[op] && table[op][ref];
  if (!a || !b || !Number.isFinite(a.median) || !Number.isFinite(b.median)) return null;
  return a.median / b.median;
}

function goals(agg, raw) {
  const { table, scaling } = agg;
  const why = (name) => (raw[name] && raw[name].unavailable ? `${name} unavailable: ${raw[name].unavailable}`
    : `${name} not run`);
  const lmdbGet = table['get-hit-fresh'] && table['get-hit-fresh'].lmdb ? 'lmdb' : 'lmdb-nosync';
  const defs = [
    { text: 'pure-JS get ≤ 1.0× Map.get (fresh key strings)', a: 'shmstore-js', op: 'get-hit-fresh', ref: 'map', max: 1.0 },
    { text: `native get ≤ 0.25× lmdb get (fresh key strings, ${lmdbGet})`, a: 'shmstore-native', op: 'get-hit-fresh', ref: lmdbGet, max: 0.25 },
    { text: 'native set ≤ 0.05× lmdb putSync with noSync', a: 'shmstore-native', op: 'set-update', ref: 'lmdb-nosync', max: 0.05 },
    { text: '(pure-JS) set ≤ 0.05× lmdb putSync with noSync', a: 'shmstore-js', op: 'set-update', ref: 'lmdb-nosync', max: 0.05 },
    { text: 'native 2-worker read throughput ≥ 1.8× one worker', a: 'shmstore-native', scale: true, min: 1.8 },
    { text: '(pure-JS) 2-worker read throughput ≥ 1.8× one worker', a: 'shmstore-js', scale: true, min: 1.8 },
    { text: 'native 2 writer threads of different keys ≥ 1.7× one', a: 'shmstore-native', writes: 'threads', min: 1.7 },
    { text: 'native 2 writer processes of different keys ≥ 1.7× one', a: 'shmstore-native', writes: 'processes', min: 1.7 },
    { text: '(pure-JS) 2 writer threads of different keys ≥ 1.7× one', a: 'shmstore-js', writes: 'threads', min: 1.7 },
    { text: '(pure-JS) 2 writer processes of different keys ≥ 1.7× one', a: 'shmstore-js', writes: 'processes', min: 1.7 },
    { text: 'native 2 inserting threads of different keys ≥ 1.7× one', a: 'shmstore-native', writes: 'insert-threads', min: 1.7 },
    { text: 'native 2 inserting processes of different keys ≥ 1.7× one', a: 'shmstore-native', writes: 'insert-processes', min: 1.7 },
    { text: '(pure-JS) 2 inserting threads of different keys ≥ 1.7× one', a: 'shmstore-js', writes: 'insert-threads', min: 1.7 },
    { text: '(pure-JS) 2 inserting processes of different keys ≥ 1.7× one', a: 'shmstore-js', writes: 'insert-processes', min: 1.7 },
  ];
  return defs.map((d) => {
    let value = null;
    let note = null;
    if (d.writes) {
      const s = agg.writeScaling[d.a] && agg.writeScaling[d.a][d.writes];
      if (s && Number.isFinite(s.ratio)) value = s.ratio;
      else note = s && s.errors ? s.errors.join('; ') : why(d.a);
    } else if (d.scale) {
      const s = scaling[d.a];
      if (s && Number.isFinite(s.ratio)) value = s.ratio;
      else note = s && s.errors ? s.errors.join('; ') : why(d.a);
    } else {
      value = ratio(table, d.op, d.a, d.ref);
      const has = (name) => table[d.op] && table[d.op][name];
      const missing = (name) => (raw[name] && !raw[name].unavailable && !has(name) ? `${d.op} not measured for ${name}` : why(name));
      if (value === null) note = !has(d.a) ? missing(d.a) : missing(d.ref);
    }
    let met = value === null ? null : d.scale || d.writes ? value >= d.min : value <= d.max;
    let inconclusive = false;
    if ((d.scale || d.writes) && value !== null && agg.baseline) {
      const b = agg.baseline.ratio;
      note = `cpu baseline in this run ${b.toFixed(2)}×`;
      if (b < d.min && !met) {
        // Two threads of pure arithmetic did not reach the target either: the machine was busy.
        inconclusive = true;
        met = null;
        note += ', below the target itself: the machine did not give 2 free cores; rerun when it is quiet';
      }
    }
    // Inserts: what the same memory traffic without a store got (context, not an excuse: the
    // verdict stays the store's own ratio).
    const mb = d.writes && d.writes.startsWith('insert-') && agg.memoryBaseline && agg.memoryBaseline[d.writes];
    if (value !== null && mb && Number.isFinite(mb.ratio)) {
      note = `${note ? `${note}, ` : ''}memory baseline ${mb.ratio.toFixed(2)}×`;
    }
    return { goal: d.text, case: d.a, ratio: value, met, inconclusive, note };
  });
}

// ---- formatting ----------------------------------------------------------------------------------

function fmtNs(x) {
  if (!Number.isFinite(x)) return '–';
  if (x >= 100000) return `${(x / 1000).toFixed(0)}k`;
  if (x >= 10000) return `${(x / 1000).toFixed(1)}k`;
  if (x >= 100) return x.toFixed(0);
  return x.toFixed(1);
}

function fmtRate(x) {
  if (!Number.isFinite(x)) return '–';
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

function fmtRatio(x) {
  if (x === null || !Number.isFinite(x)) return '–';
  if (x >= 100) return `${x.toFixed(0)}×`;
  if (x >= 10) return `${x.toFixed(1)}×`;
  if (x >= 0.01) return `${x.toFixed(2)}×`;
  return `${x.toFixed(4)}×`;
}

function pad(s, n, right) {
  s = String(s);
  if (s.length >= n) return s;
  return right ? s + ' '.repeat(n - s.length) : ' '.repeat(n - s.length) + s;
}

function render({ meta, raw, agg, goalLines, ops, caseOrder }) {
  const L = [];
  const m = meta.machine;
  L.push(`shmstore benchmark · ${meta.date}${meta.quick ? ' · QUICK (smoke test, not representative)' : ''}`);
  L.push(`machine: ${m.cpu}, ${m.cores} cores (${m.processors} logical), ${m.memGiB} GiB, ${m.os}`);
  L.push(`node: ${m.node} (V8 ${m.v8}); load average at start ${meta.loadavgStart.join(' ')}, at end ${(meta.loadavgEnd || []).join(' ')}; ${meta.seconds} s`);
  L.push(`workload: ${meta.keys.toLocaleString('en-US')} keys 'key:'+10 digits (14 B), ${meta.valueBytes} B values, ` +
    `random order (seed ${meta.seed}); ${meta.runs} runs per op, each run in a fresh child process per case ` +
    `(cases alternate order between runs); a run does ≤ ${(meta.keys * (meta.passes || 1)).toLocaleString('en-US')} ops ` +
    `${meta.passes > 1 ? `(${meta.passes} passes over the keys for gets and updates) ` : ''}or stops after ${meta.budgetMs} ms`);
  if (meta.cpu) {
    L.push('times: the CPU time of the case\'s process (--cpu), not the wall clock: waits for a core are left out, and so are');
    L.push('  waits for a disk or a server (lmdb\'s syncs, Redis), which makes those cases look faster than they are.');
  }
  L.push('fresh keys: built by concatenation (\'key:\' + String(n).padStart(10, \'0\')) into an array just before the timed');
  L.push('  batch: V8 ConsStrings, not flat, not hashed; reused keys: the flat strings that were inserted.');
  L.push(`ratios: ×Map and ×lmdb are median / median of the same op in this run (×lmdb against ${REF_LMDB}; reads do not`);
  L.push('  depend on the sync mode). Lower is better everywhere except ops/s.');
  const W0 = Math.max(16, ...caseOrder.map((n) => n.length));
  for (const name of caseOrder) {
    const c = raw[name];
    if (!c) continue;
    if (c.unavailable) {
      L.push(`  ${pad(name, W0, true)} UNAVAILABLE: ${c.unavailable}`);
      continue;
    }
    const info = c.info || {};
    const bits = [];
    if (info.version) bits.push(`v${info.version}`);
    if (info.durability) bits.push(info.durability);
    if (info.filesystem) bits.push(`on ${info.filesystem}`);
    if (info.server) bits.push(`redis-server ${info.server}, ${info.persistence}`);
    if (info.engine) bits.push(`engine '${info.engine}', ${info.buckets} buckets, ${(info.size / 2 ** 20).toFixed(0)} MiB SharedArrayBuffer`);
    L.push(`  ${pad(name, W0, true)} ${c.label}${bits.length ? ` — ${bits.join('; ')}` : ''}`);
  }
  for (const note of meta.notes) L.push(`  note: ${note}`);
  L.push('');
  const W = [Math.max(18, ...caseOrder.map((n) => n.length + 2)), 24, 9, 9, 9];
  for (const op of ops) {
    const rows = agg.table[op.id];
    if (!rows || !Object.keys(rows).length) continue;
    L.push(`${op.label}`);
    L.push(`  ${pad('case', W[0], true)}${pad('ns/op median (min–max)', W[1])}${pad('ops/s', W[2])}${pad('×Map', W[3])}${pad('×lmdb', W[4])}`);
    for (const name of caseOrder) {
      const r = rows[name];
      if (!r) continue;
      if (!Number.isFinite(r.median)) {
        L.push(`  ${pad(name, W[0], true)}  ERROR: ${r.errors.join('; ')}`);
        continue;
      }
      const range = `${fmtNs(r.median)} (${fmtNs(r.min)}–${fmtNs(r.max)})`;
      L.push(`  ${pad(name, W[0], true)}${pad(range, W[1])}${pad(fmtRate(r.opsPerSec), W[2])}` +
        `${pad(fmtRatio(ratio(agg.table, op.id, name, REF_MAP)), W[3])}${pad(fmtRatio(ratio(agg.table, op.id, name, REF_LMDB)), W[4])}` +
        `${r.errors ? `  (!) ${r.errors.join('; ')}` : ''}`);
    }
    L.push('');
  }
  const sc = agg.scaling;
  if (Object.keys(sc).length || agg.baseline) {
    L.push('read scaling: get hit (reused keys) in 1 and 2 worker_threads sharing one store, aggregate ops/s');
    L.push(`  ${pad('case', W[0], true)}${pad('1 worker', 12)}${pad('2 workers', 12)}${pad('2w/1w median (min–max)', 26)}`);
    for (const name of caseOrder) {
      const s = sc[name];
      if (!s) continue;
      if (s.na) {
        L.push(`  ${pad(name, W[0], true)}${pad('n/a', 12)}${pad('n/a', 12)}   (${s.na})`);
        continue;
      }
      const rr = Number.isFinite(s.ratio) ? `${s.ratio.toFixed(2)}× (${s.ratioMin.toFixed(2)}–${s.ratioMax.toFixed(2)})` : '–';
      L.push(`  ${pad(name, W[0], true)}${pad(fmtRate(s.oneWorker), 12)}${pad(fmtRate(s.twoWorkers), 12)}${pad(rr, 26)}` +
        `${s.errors ? `  (!) ${s.errors.join('; ')}` : ''}`);
    }
    const b = agg.baseline;
    if (b) {
      L.push(`  ${pad('(cpu baseline)', W[0], true)}${pad(fmtRate(b.oneWorker), 12)}${pad(fmtRate(b.twoWorkers), 12)}` +
        `${pad(`${b.ratio.toFixed(2)}× (${b.ratioMin.toFixed(2)}–${b.ratioMax.toFixed(2)})`, 26)}` +
        '   arithmetic only, no store: the most 2 threads could scale during this run');
    }
    L.push('');
  }
  const ws = agg.writeScaling || {};
  if (Object.keys(ws).length) {
    L.push('write scaling: set of disjoint keys by 1 and 2 writers sharing one store (on a named segment),');
    L.push('  as worker_threads and as processes, aggregate ops/s: updates of loaded keys, and inserts of new keys');
    L.push('  (a new empty store for each count, the same keys for 1 and 2 writers); cpu ns/set: the writers\'');
    L.push('  CPU time per set, medians, 1 writer → 2 writers (equal: the 2 writers share nothing that costs);');
    L.push('  2w cpu/wall: the lesser of the 2 writers\' CPU time over wall time, median (below 1: a writer waited for a core)');
    L.push(`  ${pad('case', W[0], true)}${pad('sets', 8, true)}${pad('writers as', 11, true)}${pad('1 writer', 12)}${pad('2 writers', 12)}${pad('2w/1w median (min–max)', 26)}${pad('cpu ns/set', 14)}${pad('2w cpu/wall', 13)}`);
    for (const name of caseOrder) {
      for (const kind of ['update', 'insert']) {
        for (const mode of ['threads', 'processes']) {
          const s = ws[name] && ws[name][kind === 'insert' ? `insert-${mode}` : mode];
          if (!s) continue;
          const rr = Number.isFinite(s.ratio) ? `${s.ratio.toFixed(2)}× (${s.ratioMin.toFixed(2)}–${s.ratioMax.toFixed(2)})` : '–';
          const cpu = Number.isFinite(s.cpuNsOneWriter) ? `${s.cpuNsOneWriter.toFixed(0)} → ${s.cpuNsTwoWriters.toFixed(0)}` : '–';
          const share = Number.isFinite(s.cpuShareTwoWriters) ? s.cpuShareTwoWriters.toFixed(2) : '–';
          L.push(`  ${pad(name, W[0], true)}${pad(kind, 8, true)}${pad(mode, 11, true)}${pad(fmtRate(s.oneWriter), 12)}${pad(fmtRate(s.twoWriters), 12)}${pad(rr, 26)}${pad(cpu, 14)}${pad(share, 13)}` +
            `${s.errors ? `  (!) ${s.errors.join('; ')}` : ''}`);
        }
      }
    }
    const mb = agg.memoryBaseline;
    for (const mode of ['threads', 'processes']) {
      const s = mb && mb[`insert-${mode}`];
      if (!s || !Number.isFinite(s.ratio)) continue;
      const cpu = Number.isFinite(s.cpuNsOneWriter) ? `${s.cpuNsOneWriter.toFixed(0)} → ${s.cpuNsTwoWriters.toFixed(0)}` : '–';
      const share = Number.isFinite(s.cpuShareTwoWriters) ? s.cpuShareTwoWriters.toFixed(2) : '–';
      L.push(`  ${pad('(memory baseline)', W[0], true)}${pad('insert', 8, true)}${pad(mode, 11, true)}${pad(fmtRate(s.oneWriter), 12)}${pad(fmtRate(s.twoWriters), 12)}` +
        `${pad(`${s.ratio.toFixed(2)}× (${s.ratioMin.toFixed(2)}–${s.ratioMax.toFixed(2)})`, 26)}${pad(cpu, 14)}${pad(share, 13)}`);
    }
    if (mb) {
      L.push('  (memory baseline): no store, the memory work of an insert only (a random bucket line, 144 fresh bytes from a shared');
      L.push('  frontier): the most inserts could scale on this machine during this run (bench/README.md, "Insert scaling")');
    }
    L.push('');
  }
  L.push(...latencyLines(agg, raw, ops));
  if (goalLines.length) {
    L.push('goals (targets from the design brief, not tests):');
    for (const g of goalLines) {
      const tag = g.inconclusive ? 'INCONCLUSIVE' : g.met === null ? 'NOT EVALUATED' : g.met ? 'MET' : 'NOT MET';
      const val = g.ratio === null ? g.note : `measured ${fmtRatio(g.ratio)}${g.note ? ` (${g.note})` : ''}`;
      L.push(`  [${pad(tag, 13, true)}] ${g.goal}: ${val}`);
    }
  }
  return L.join('\n');
}

module.exports = { machine, aggregate, goals, render, median, REF_MAP, REF_LMDB };
