#!/usr/bin/env node
'use strict';
// Keyv over shmstore (shmstore/keyv) against the stores a Keyv user would otherwise pick: Keyv's
// in-process Map (not shared between processes) and @keyv/redis on a loopback redis-server (shared,
// over a socket). Each case runs in its own child process (declared in CASES), several runs each;
// the report prints the medians (with min-max) and the ratio of each case to its peer.
//   node bench/keyv.js [--runs N] [--n N]
const { execFileSync } = require('child_process');
const { Keyv } = require('keyv');
const { Store, Segment } = require('..');
const KeyvShmstore = require('../keyv');
const { startRedis } = require('./lib/redis');
const { machine } = require('./lib/report');

const arg = (flag, dflt) => (process.argv.includes(flag) ? Number(process.argv[process.argv.indexOf(flag) + 1]) : dflt);
const runs = arg('--runs', 7);
const n = arg('--n', 5000);
const KEYS = 1000;
const VALUE = { user: 42, name: 'Ada Lovelace', roles: ['admin', 'editor'], note: 'x'.repeat(64) };
const now = () => process.hrtime.bigint();

// A Keyv over each store kind: { keyv, close() }.
const STORES = {
  async shmstoreNative(tag) {
    const store = Store.create({ name: tag, size: 16 << 20, engine: 'native' });
    return { keyv: new Keyv({ store: new KeyvShmstore(store), namespace: 'bench' }), close: () => { store.close(); Segment.unlink({ name: tag }); } };
  },
  async shmstoreJs(tag) {
    const store = Store.create({ name: tag, size: 16 << 20, engine: 'js' });
    return { keyv: new Keyv({ store: new KeyvShmstore(store), namespace: 'bench' }), close: () => { store.close(); Segment.unlink({ name: tag }); } };
  },
  async map() {
    return { keyv: new Keyv({ namespace: 'bench' }), close: () => {} };
  },
  async redis() {
    const server = await startRedis();
    if (server.note) throw new Error(server.note);
    const KeyvRedis = require('@keyv/redis').default;
    const keyv = new Keyv({ store: new KeyvRedis(`redis://127.0.0.1:${server.port}`), namespace: 'bench' });
    return { keyv, close: async () => { await keyv.disconnect(); await server.stop(); } };
  },
};

// One run: `n` awaited operations of `op` on a fresh Keyv, ns per operation.
async function runOnce(kind, op, tag) {
  const { keyv, close } = await STORES[kind](tag);
  for (let i = 0; i < KEYS; i++) await keyv.set(`k${i}`, VALUE);
  const t0 = now();
  if (op === 'get') for (let i = 0; i < n; i++) await keyv.get(`k${i % KEYS}`);
  else for (let i = 0; i < n; i++) await keyv.set(`k${i % KEYS}`, VALUE, 60000);
  const ns = Number(now() - t0) / n;
  await close();
  return ns;
}

const CASES = {};
for (const op of ['get', 'set']) {
  CASES[`${op} Keyv + shmstore (native)`] = { kind: 'shmstoreNative', op, peer: `${op} Keyv + Map` };
  CASES[`${op} Keyv + shmstore (js)`] = { kind: 'shmstoreJs', op, peer: `${op} Keyv + Map` };
  CASES[`${op} Keyv + Map`] = { kind: 'map', op };
  CASES[`${op} Keyv + @keyv/redis`] = { kind: 'redis', op, peer: `${op} Keyv + shmstore (native)` };
}

async function child(name) {
  const tag = `shmstore-bench-keyv-${process.pid}`;
  const results = [];
  for (let r = 0; r < runs; r++) results.push(await runOnce(CASES[name].kind, CASES[name].op, `${tag}-${r}`));
  process.stdout.write(JSON.stringify(results));
}

function main() {
  const m = machine();
  console.log(`shmstore bench: Keyv adapter (${new Date().toISOString()})`);
  console.log(`machine: ${m.cpu} x${m.cores}, ${m.memGiB} GiB, ${m.os}, node ${m.node}`);
  console.log(`runs: ${runs}, awaited operations per run: ${n} over ${KEYS} keys; each case in its own process; µs per operation, median (min-max)`);
  const measured = {};
  for (const name of Object.keys(CASES)) {
    try {
      const out = execFileSync(process.execPath, [__filename, '--case', name, ...process.argv.slice(2)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      measured[name] = JSON.parse(out).sort((a, b) => a - b);
    } catch (err) {
      console.log(`${name.padEnd(34)} not measured: ${String(err.stderr || err.message).trim().split('\n').pop()}`);
    }
  }
  const median = (xs) => xs[xs.length >> 1];
  const us = (x) => (x / 1000).toFixed(2);
  for (const [name, xs] of Object.entries(measured)) {
    const peer = CASES[name].peer;
    const ratio = peer && measured[peer] ? `  ${(median(xs) / median(measured[peer])).toFixed(2)}x ${peer}` : '';
    console.log(`${name.padEnd(34)} ${us(median(xs)).padStart(8)} µs (${us(xs[0])}-${us(xs[xs.length - 1])})${ratio}`);
  }
}

if (process.argv[2] === '--case') {
  child(process.argv[3]).then(() => process.exit(0), (err) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  });
} else {
  main();
}
