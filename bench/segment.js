#!/usr/bin/env node
'use strict';
// Segment costs: the cached `segment.buffer` getter, and create / first buffer access /
// open / close / unlink of a segment. Prints medians over several runs.
//   node bench/segment.js [--runs N]
const os = require('os');
const { Segment } = require('..');

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 7;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const now = () => process.hrtime.bigint();

function header(what) {
  const cpu = os.cpus()[0];
  console.log(`${what}\nmachine: ${cpu ? cpu.model : '?'} x${os.cpus().length}, ${os.platform()} ${os.release()}, node ${process.version}, runs: ${runs}`);
}

function benchGetter() {
  const seg = Segment.create({ name: `shmstore-bench-getter-${process.pid}`, size: 4096 });
  seg.buffer; // materialize once
  const n = 10_000_000;
  const results = [];
  for (let r = 0; r < runs; r++) {
    let hits = 0;
    const t0 = now();
    for (let i = 0; i < n; i++) if (seg.buffer !== null) hits++;
    const ns = Number(now() - t0) / n;
    if (hits !== n) throw new Error('unreachable');
    results.push(ns);
  }
  seg.close();
  seg.unlink();
  return median(results);
}

function benchLifecycle(size, reserve) {
  const n = 500;
  const phases = { create: [], 'first buffer': [], open: [], close: [], unlink: [] };
  for (let r = 0; r < runs; r++) {
    const t = { create: 0n, 'first buffer': 0n, open: 0n, close: 0n, unlink: 0n };
    for (let i = 0; i < n; i++) {
      const name = `shmstore-bench-lc-${process.pid}-${i}`;
      let t0 = now();
      const seg = Segment.create({ name, size, reserve });
      let t1 = now();
      t.create += t1 - t0;
      t0 = now();
      seg.buffer;
      t1 = now();
      t['first buffer'] += t1 - t0;
      t0 = now();
      const other = Segment.open({ name });
      t1 = now();
      t.open += t1 - t0;
      t0 = now();
      seg.close();
      other.close();
      t1 = now();
      t.close += (t1 - t0) / 2n;
      t0 = now();
      Segment.unlink({ name });
      t1 = now();
      t.unlink += t1 - t0;
    }
    for (const k of Object.keys(t)) phases[k].push(Number(t[k]) / n);
  }
  const out = {};
  for (const k of Object.keys(phases)) out[k] = median(phases[k]);
  return out;
}

header('shmstore bench: Segment');
console.log(`segment.buffer (cached getter): ${benchGetter().toFixed(2)} ns/op (median)`);
for (const [size, reserve] of [[4096, true], [4096, false], [64 << 20, true], [64 << 20, false]]) {
  const r = benchLifecycle(size, reserve);
  const parts = Object.entries(r).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} µs`).join(', ');
  console.log(`size ${size >= 1 << 20 ? `${size >> 20} MiB` : `${size} B`}, reserve ${reserve}: ${parts}`);
}
console.log('(close = mean of the two handles: one with a buffer, detached at once as no other thread holds it, one never asked for a buffer, unmapped)');
