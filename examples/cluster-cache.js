'use strict';
// A cache shared by the worker processes of a `cluster`: one store in shared memory, created by
// the primary, opened by name in every worker. A value computed by one worker is a hit for all
// the others, with no server and no copies through the primary.
//
//   node examples/cluster-cache.js [workers]
//
// The store's segment is named EXAMPLE_SHM_PREFIX (default "example-") + "cluster-cache-<pid>".
//
// In your project: require('shmstore') instead of require('..').
const cluster = require('cluster');
const { Store, Segment } = require('..');

const NAME = `${process.env.EXAMPLE_SHM_PREFIX || 'example-'}cluster-cache-${process.env.CACHE_ID || process.pid}`;
const KEYS = 200;

// Stands for a slow call (a database query, a model, a remote API).
function compute(key) {
  let h = 0;
  for (let i = 0; i < 20000; i++) h = (h * 31 + key.charCodeAt(i % key.length) + i) >>> 0;
  return { key, h };
}

if (cluster.isPrimary) {
  const workers = Number(process.argv[2] || 4);
  const store = Store.create({ name: NAME, size: 8 << 20 });
  let exited = 0;
  const totals = { hits: 0, misses: 0 };
  for (let i = 0; i < workers; i++) {
    const w = cluster.fork({ CACHE_ID: String(process.pid) });
    w.on('message', (m) => {
      totals.hits += m.hits;
      totals.misses += m.misses;
    });
    w.on('exit', (code) => {
      if (code !== 0) process.exitCode = 1;
      if (++exited < workers) return;
      // Every key was computed once in all (a worker that lost the race computed it again at
      // most once more); every other lookup was a hit.
      console.log(JSON.stringify({ workers, keys: KEYS, entries: store.count('cache'), ...totals, segments: [NAME] }));
      store.close();
      Segment.unlink({ name: NAME });
    });
  }
} else {
  const store = Store.open({ name: NAME });
  let hits = 0;
  let misses = 0;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < KEYS; i++) {
      const key = `item:${i}`;
      let value = store.get('cache', key);
      if (value === undefined) {
        misses++;
        value = compute(key);
        store.set('cache', key, value);
      } else {
        hits++;
      }
      if (value.key !== key) throw new Error(`wrong value for ${key}`);
    }
  }
  store.close();
  process.send({ hits, misses }, () => process.exit(0));
}
