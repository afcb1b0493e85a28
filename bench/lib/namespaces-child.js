'use strict';
// One case of bench/namespaces.js in its own process. argv[2]: { engine, namespaces, runs, keys }.
// Builds a store in a SharedArrayBuffer holding `namespaces` namespaces (one entry each, besides
// 'bench' with `keys` reference entries), then times, once per run:
//   get-hit    get('bench', key) over the reference keys (the handle's cached id)
//   get-rotate get(ns_i, 'k') rotating over VISIT namespaces (the handle's name cache)
//   resolve    the first get of each of those names by a fresh handle (the name index probe)
//   get-absent get of a namespace that does not exist (a probe that ends at an empty slot)
// and sends { op: [ns per operation, one per run] } to the parent.
const { Store } = require('../../lib/store/store');
const { now } = require('./timing');

const task = JSON.parse(process.argv[2]);
const { engine, namespaces, runs, keys } = task;
const maxNamespaces = Math.max(255, namespaces);
const store = Store.create({ buffer: new SharedArrayBuffer(64 << 20), engine, maxNamespaces, buckets: 1 << 17 });
const keyOf = (i) => `key-${String(i).padStart(10, '0')}`; // 14 bytes, as the reference workload
const value = 'v'.repeat(100);
for (let i = 0; i < keys; i++) store.set('bench', keyOf(i), value);
const names = [];
for (let i = 1; i < namespaces; i++) names.push(`tenant-${i}`);
for (const n of names) store.set(n, 'k', 1);
// The namespaces the rotating and resolving ops visit: as many in every case (the small store
// has 9 besides 'bench'), spread over the whole table.
const VISIT = 9;
const visit = Array.from({ length: VISIT }, (_, i) => names[Math.floor((i * names.length) / VISIT)]);
const HANDLES = 50;
// Names no namespace has.
const ABSENT = Array.from({ length: 50 }, (_, i) => `absent-${i}`);

function timed(n, fn) {
  const t0 = now();
  fn();
  return Number(now() - t0) / n;
}

const out = { 'get-hit': [], 'get-rotate': [], resolve: [], 'get-absent': [] };
let sink = 0;
for (let r = 0; r < runs + 1; r++) {
  const sample = {
    'get-hit': timed(keys * 10, () => {
      for (let k = 0; k < 10; k++) for (let i = 0; i < keys; i++) sink += store.get('bench', keyOf(i)).length;
    }),
    'get-rotate': timed(visit.length * 1000, () => {
      for (let k = 0; k < 1000; k++) for (const n of visit) sink += store.get(n, 'k');
    }),
    resolve: (() => {
      let total = 0n;
      for (let h = 0; h < HANDLES; h++) {
        const fresh = Store.attach(store.buffer, { engine });
        const t0 = now();
        for (const n of visit) sink += fresh.get(n, 'k');
        total += now() - t0;
        fresh.close();
      }
      return Number(total) / (HANDLES * visit.length);
    })(),
    'get-absent': timed(keys * 10, () => {
      for (let i = 0; i < keys * 10; i++) sink += store.get(ABSENT[i % ABSENT.length], 'k') === undefined ? 1 : 0;
    }),
  };
  if (r === 0) continue; // warm-up
  for (const [op, ns] of Object.entries(sample)) out[op].push(ns);
}
if (sink === 42) console.log(''); // keeps the loops from being optimized away
store.close();
process.send(out, () => process.exit(0));
