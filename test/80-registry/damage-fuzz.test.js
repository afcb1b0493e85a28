'use strict';
// Random damage to a registry's shared memory (docs/format.md §14): bits flipped anywhere from its
// header's allocator words on (the free list's head and the tail, the table lock, the entry
// table, the free records and the structures' own bytes), then calls of its methods, each handle
// they return used and closed. No call may spin for ever or crash, and what a call throws is
// ERR_CORRUPT, or an error that method can give on a sound registry too (a name taken or not
// found, another kind, a full table, a structure in use, a lock held too long), or, from an open,
// the error of a structure whose own bytes are damaged (its class's open refuses them: bad magic,
// another version; an entry can record another version too), never a bare engine error. No call
// may write outside the registry's bytes, which a guard region of a known byte pattern follows in
// the same SharedArrayBuffer, and no create may get a block that overlaps a live structure's. The
// registry does not checksum the structures' bytes, so damage there may change what a handle
// reads: that is not what is checked. Seeded, in a worker thread that is terminated when a seed
// takes too long.
const assert = require('assert');
const path = require('path');
const { runSeeds } = require('../helpers/fuzz');

const WORKER = path.join(__dirname, '..', 'helpers', 'children', 'registry-fuzz-worker.js');
// 100,000 seeds passed before this count was set; CI runs the first 1,000 (about two seconds).
const SEEDS = 1000;
const SEED_MS = 5000;
// What each method may throw besides ERR_CORRUPT and ERR_LOCK_TIMEOUT, and what the use of a
// handle of each kind may throw besides ERR_CORRUPT.
const OPENED = ['ERR_BAD_MAGIC', 'ERR_BAD_VERSION', 'ERR_KIND_MISMATCH'];
const EXPECTED = {
  create: ['ERR_EXISTS', 'ERR_REGISTRY_FULL'],
  openOrCreate: [...OPENED, 'ERR_REGISTRY_FULL'],
  open: [...OPENED, 'ERR_NOT_FOUND'],
  delete: ['ERR_NOT_FOUND', 'ERR_IN_USE', 'ERR_KIND_MISMATCH', 'ERR_BAD_VERSION'],
  list: [],
  stats: [],
};
const expected = (what) => {
  const [where, code] = what.split(' ');
  return code === 'ERR_CORRUPT' || (Object.hasOwn(EXPECTED, where) && (code === 'ERR_LOCK_TIMEOUT' || EXPECTED[where].includes(code)));
};

describe('Registry: random damage to shared memory', function () {
  this.timeout(SEED_MS * 4 + 60000);
  it(`${SEEDS} seeds of 1 to 3 flipped bits, then 200 calls each: no spin, only documented errors, no write outside the registry, no shared block`, async () => {
    const { errors, hung, seeds } = await runSeeds(WORKER, { from: 1, to: SEEDS + 1 }, SEED_MS);
    assert.strictEqual(hung, 0, `seed ${hung} did not finish within ${SEED_MS} ms`);
    const other = Object.keys(errors).filter((what) => !expected(what));
    assert.deepStrictEqual(other, [], JSON.stringify(errors));
    assert.deepStrictEqual(seeds.outside, [], 'seeds that wrote outside the registry');
    assert.deepStrictEqual(seeds.overlaps, [], 'seeds where a create got a block that overlaps a live structure\'s');
  });
});
