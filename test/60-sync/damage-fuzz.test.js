'use strict';
// Random damage to a sync object's shared memory (docs/format.md §13; docs/api.md, Errors): bits
// flipped anywhere in the region of every kind (its header, its record, its owner table and
// per-slot tables), after its handles were driven into a random state, then calls of its
// non-blocking methods, of its blocking ones with a timeout of 0 or 1 ms, of its getters, and an
// open and close of a handle made after the damage. The mutex's calls include the addon's native
// implementation on the same bytes, where it is built. No call may spin for ever or crash, or take
// longer than a second; what a call throws is ERR_CORRUPT, or an error the call can give on a
// sound object too (a handle that does not hold, a timeout, a broken barrier, a count out of
// range; ERR_BAD_MAGIC or ERR_BAD_VERSION from an open of a damaged header). No call may write
// outside the region: it lies between two guard regions of a known byte pattern, which must
// stay as they were. Once the damaged handles are closed, handles opened afresh find what the
// kind promises (a mutex or rwlock that excludes, a semaphore whose counts add up, a barrier
// that reset() mends, a waitgroup count of at most 2^31 - 1). Damage that reads as another sound
// state (a held lock freed, a permit added) is not what is checked. Seeded, each kind in a worker
// thread that is terminated when a seed takes too long. SHMSTORE_FUZZ_SEEDS runs more seeds.
const assert = require('assert');
const path = require('path');
const { runSeeds } = require('../helpers/fuzz');

const WORKER = path.join(__dirname, '..', 'helpers', 'children', 'sync-fuzz-worker.js');
const KINDS = ['mutex', 'rwlock', 'condition', 'semaphore', 'barrier', 'waitgroup'];
// 5,000 seeds of the mutex, rwlock, condition and barrier and 3,000 of the semaphore and
// waitgroup passed before this count was set; CI runs the first 150 (about a second a kind).
const SEEDS = Number(process.env.SHMSTORE_FUZZ_SEEDS) || 150;
const SEED_MS = 5000;
const EXPECTED = new Set([
  'ERR_CORRUPT', 'ERR_NOT_OWNER', 'ERR_LOCK_TIMEOUT', 'ERR_BARRIER_BROKEN', 'ERR_BAD_MAGIC', 'ERR_BAD_VERSION',
  'ERR_INVALID_ARG',
]);

// Runs every seed of `kind`. A seed that did not finish in time, or had a slow call, is run again
// alone before it counts: on a loaded machine a thread can be kept off a core for a second, and
// what this test looks for (a wait for nobody, a spin) takes as long on every run of the seed.
// The seeds after one that did not finish run on. { errors, hung: [seed...], seeds } as runSeeds.
async function runAll(kind) {
  const errors = {};
  const seeds = { outside: [], slow: [], broken: [] };
  const hung = [];
  const add = (r) => {
    for (const [what, n] of Object.entries(r.errors)) errors[what] = (errors[what] || 0) + n;
    for (const what of Object.keys(seeds)) seeds[what].push(...(r.seeds[what] || []));
  };
  const again = async (seed) => {
    const r = await runSeeds(WORKER, { kind, from: seed, to: seed + 1 }, SEED_MS);
    if (r.hung !== 0) hung.push(seed);
    return r;
  };
  for (let from = 1; from <= SEEDS;) {
    const r = await runSeeds(WORKER, { kind, from, to: SEEDS + 1 }, SEED_MS);
    const slow = r.seeds.slow || [];
    r.seeds.slow = [];
    add(r);
    for (const seed of slow) {
      const s = await again(seed);
      // Its other counts were taken in the first run.
      if ((s.seeds.slow || []).length !== 0) seeds.slow.push(seed);
    }
    if (r.hung === 0) break;
    add(await again(r.hung));
    from = r.hung + 1;
  }
  return { errors, hung, seeds };
}

describe('Sync objects: random damage to shared memory', function () {
  this.timeout(SEED_MS * 4 + SEEDS * 100 + 60000);
  for (const kind of KINDS) {
    it(`${kind}: ${SEEDS} seeds of 1 to 3 flipped bits, then 200 calls each: no spin, only documented errors, no write outside the region, the kind's promises kept after`, async () => {
      const { errors, hung, seeds } = await runAll(kind);
      assert.deepStrictEqual(hung, [], `${kind}: seeds that did not finish within ${SEED_MS} ms, twice`);
      const other = Object.keys(errors).filter((what) => !EXPECTED.has(what));
      assert.deepStrictEqual(other, [], `${kind}: ${JSON.stringify(errors)}`);
      assert.deepStrictEqual(seeds.outside, [], `${kind}: seeds that wrote outside the region`);
      assert.deepStrictEqual(seeds.slow, [], `${kind}: seeds with a call that took longer than a second, twice`);
      assert.deepStrictEqual(seeds.broken, [], `${kind}: seeds after which fresh handles did not find what the kind promises`);
    });
  }
});
