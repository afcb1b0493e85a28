#!/usr/bin/env node
'use strict';
// Registry costs against what a user does without one: a segment per structure, named by the
// application. Each case runs in its own child process (declared in CASES), several runs each;
// the report prints the medians (with min-max) and the ratio of each registry case to its peer.
//   node bench/registry.js [--runs N] [--n N]
const os = require('os');
const { execFileSync } = require('child_process');
const { Registry, Mutex, Store, Segment } = require('..');

const arg = (flag, dflt) => (process.argv.includes(flag) ? Number(process.argv[process.argv.indexOf(flag) + 1]) : dflt);
const runs = arg('--runs', 7);
const n = arg('--n', 300);
const STORE_BYTES = 1 << 20;
const now = () => process.hrtime.bigint();

// Each case: what it measures, its peer (the case the ratio compares it to), and one run of `n`
// operations returning ns per operation.
const CASES = {
  'registry open mutex': {
    peer: 'Mutex.open by segment name',
    run(tag) {
      const registry = Registry.create({ name: tag, size: 1 << 20 });
      registry.create('mutex', 'm').close();
      const t0 = now();
      for (let i = 0; i < n; i++) registry.open('mutex', 'm').close();
      const ns = Number(now() - t0) / n;
      registry.close();
      Segment.unlink({ name: tag });
      return ns;
    },
  },
  'Mutex.open by segment name': {
    run(tag) {
      Mutex.create({ name: tag }).close();
      const t0 = now();
      for (let i = 0; i < n; i++) Mutex.open({ name: tag }).close();
      const ns = Number(now() - t0) / n;
      Segment.unlink({ name: tag });
      return ns;
    },
  },
  'registry create+delete mutex': {
    peer: 'Mutex.create+unlink a segment',
    run(tag) {
      const registry = Registry.create({ name: tag, size: 1 << 20 });
      const t0 = now();
      for (let i = 0; i < n; i++) {
        registry.create('mutex', 'm').close();
        registry.delete('m');
      }
      const ns = Number(now() - t0) / n;
      registry.close();
      Segment.unlink({ name: tag });
      return ns;
    },
  },
  'Mutex.create+unlink a segment': {
    run(tag) {
      const t0 = now();
      for (let i = 0; i < n; i++) {
        Mutex.create({ name: tag }).close();
        Segment.unlink({ name: tag });
      }
      return Number(now() - t0) / n;
    },
  },
  'registry create+delete store (1 MiB)': {
    peer: 'Store.create+unlink (1 MiB)',
    run(tag) {
      const registry = Registry.create({ name: tag, size: 1 << 20 });
      const t0 = now();
      for (let i = 0; i < n; i++) {
        registry.create('store', 's', { size: STORE_BYTES }).close();
        registry.delete('s');
      }
      const ns = Number(now() - t0) / n;
      registry.close();
      Segment.unlink({ name: tag });
      return ns;
    },
  },
  'Store.create+unlink (1 MiB)': {
    run(tag) {
      const t0 = now();
      for (let i = 0; i < n; i++) {
        Store.create({ name: tag, size: STORE_BYTES }).close();
        Segment.unlink({ name: tag });
      }
      return Number(now() - t0) / n;
    },
  },
  'registry list (64 entries)': {
    run(tag) {
      const registry = Registry.create({ name: tag, size: 1 << 20, maxEntries: 64 });
      for (let i = 0; i < 64; i++) registry.create('bytes', `b${i}`, { size: 64 });
      const t0 = now();
      for (let i = 0; i < n; i++) registry.list();
      const ns = Number(now() - t0) / n;
      registry.close();
      Segment.unlink({ name: tag });
      return ns;
    },
  },
};

if (process.argv[2] === '--case') {
  const name = process.argv[3];
  const tag = `shmstore-bench-registry-${process.pid}`;
  const results = [];
  for (let r = 0; r < runs; r++) results.push(CASES[name].run(`${tag}-${r}`));
  process.stdout.write(JSON.stringify(results));
  process.exit(0);
}

const cpu = os.cpus()[0];
console.log(`shmstore bench: Registry (${new Date().toISOString()})`);
console.log(`machine: ${cpu ? cpu.model : '?'} x${os.cpus().length}, ${os.platform()} ${os.release()}, node ${process.version}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`runs: ${runs}, operations per run: ${n}; each case in its own process; µs per operation, median (min-max)`);
const measured = {};
for (const name of Object.keys(CASES)) {
  const out = execFileSync(process.execPath, [__filename, '--case', name, ...process.argv.slice(2)], { encoding: 'utf8' });
  measured[name] = JSON.parse(out).sort((a, b) => a - b);
}
const median = (xs) => xs[xs.length >> 1];
const us = (x) => (x / 1000).toFixed(1);
for (const [name, xs] of Object.entries(measured)) {
  const peer = CASES[name].peer;
  const ratio = peer ? `  ${(median(xs) / median(measured[peer])).toFixed(2)}x ${peer}` : '';
  console.log(`${name.padEnd(40)} ${us(median(xs)).padStart(8)} µs (${us(xs[0])}-${us(xs[xs.length - 1])})${ratio}`);
}
