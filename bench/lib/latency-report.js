'use strict';
// The report of the latency-histogram cases (bench/README.md, "Latency histograms"): for each
// op, the median ns/op of a store with `latency: true` over the same engine without it (the cost
// of turning histograms on) and, when the baseline cases ran, the store without the option over
// the checkout named by SHMSTORE_BASELINE (the cost of the feature when it is off: ≈ 1.00 within
// the noise of the run). Then what the histograms themselves recorded in the last child.

function ratioOf(table, op, a, b) {
  const x = table[op] && table[op][a];
  const y = table[op] && table[op][b];
  return x && y && Number.isFinite(x.median) && Number.isFinite(y.median) ? x.median / y.median : null;
}

const fmt = (r) => (r === null ? '–' : `${r.toFixed(3)}×`);
const pad = (s, n, right) => (right ? String(s).padEnd(n) : String(s).padStart(n));
const us = (ns) => `${(ns / 1000).toFixed(2)} µs`;

/** The lines of the section, or [] when no latency case ran. */
function latencyLines(agg, raw, ops) {
  const engines = ['native', 'js'].filter((e) => raw[`shmstore-${e}-latency`] && !raw[`shmstore-${e}-latency`].unavailable);
  if (!engines.length) return [];
  const cols = [];
  for (const e of engines) {
    cols.push([`${e} on/off`, (op) => ratioOf(agg.table, op, `shmstore-${e}-latency`, `shmstore-${e}`)]);
    if (raw[`baseline-${e}`] && !raw[`baseline-${e}`].unavailable) {
      cols.push([`${e} off/before`, (op) => ratioOf(agg.table, op, `shmstore-${e}`, `baseline-${e}`)]);
    }
  }
  const L = ['latency histograms: median ns/op ratios in this run (on/off: latency: true over the same engine without',
    '  it; off/before: without the option over the checkout in SHMSTORE_BASELINE, i.e. before latency existed)'];
  L.push(`  ${pad('op', 30, true)}${cols.map(([h]) => pad(h, 18)).join('')}`);
  for (const op of ops) {
    if (!agg.table[op.id]) continue;
    const vals = cols.map(([, f]) => f(op.id));
    if (vals.every((x) => x === null)) continue;
    L.push(`  ${pad(op.label.slice(0, 29), 30, true)}${vals.map((x) => pad(fmt(x), 18)).join('')}`);
  }
  for (const e of engines) {
    const rec = raw[`shmstore-${e}-latency`].after && raw[`shmstore-${e}-latency`].after.latency;
    if (!rec) continue;
    L.push(`  recorded by shmstore-${e}-latency (last child, every call incl. warm-up, per call):`);
    for (const [op, s] of Object.entries(rec)) {
      L.push(`    ${pad(op, 8, true)} ${pad(s.count.toLocaleString('en-US'), 10)} calls  p50 ${us(s.p50)}  p99 ${us(s.p99)}  p99.9 ${us(s.p999)}  max ${us(s.max)}`);
    }
  }
  L.push('');
  return L;
}

module.exports = { latencyLines };
