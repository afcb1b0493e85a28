'use strict';
// Random damage to a pool's shared memory (docs/api.md, Errors: ERR_CORRUPT): bits flipped
// anywhere past the header of every kind of pool (its owner table, a memory pool's class table,
// the block records and the blocks), then calls of the non-blocking methods of two handles opened
// before and of one opened after. No call may spin for ever or crash, and what a call throws is
// ERR_CORRUPT, or an error the call can give on a sound pool too (a handle that names no held
// block, no free block). No call may write outside the pool's region: it lies between two guard
// regions of a known byte pattern, which must stay as they were, and every view a call hands out,
// a handle opened after the damage included, is filled to its last byte. A memory pool's class
// table is covered by its shape checksum, so an open after damage there is refused (ERR_CORRUPT)
// rather than laying the blocks out elsewhere. A pool does not checksum its blocks or its block
// records, so damage may free a held block or take a free one: that is not what is checked.
// Seeded, each kind in a worker thread that is terminated when a seed takes too long.
const assert = require('assert');
const path = require('path');
const { runSeeds } = require('../helpers/fuzz');

const WORKER = path.join(__dirname, '..', 'helpers', 'children', 'pool-fuzz-worker.js');
const KINDS = ['buffer-pool', 'object-pool', 'memory-pool'];
// 50,000 seeds per kind passed before this count was set; CI runs the first 1,500 (about a
// second a kind).
const SEEDS = 1500;
const SEED_MS = 5000;
const EXPECTED = new Set(['ERR_CORRUPT', 'ERR_BAD_HANDLE', 'ERR_POOL_EXHAUSTED']);

describe('Pools: random damage to shared memory', function () {
  this.timeout(SEED_MS * 4 + 60000);
  for (const kind of KINDS) {
    it(`${kind}: ${SEEDS} seeds of 1 to 3 flipped bits, then 200 calls each: no spin, only documented errors, no write outside the region`, async () => {
      const { errors, hung, seeds } = await runSeeds(WORKER, { kind, from: 1, to: SEEDS + 1 }, SEED_MS);
      assert.strictEqual(hung, 0, `${kind}: seed ${hung} did not finish within ${SEED_MS} ms`);
      const other = Object.keys(errors).filter((what) => !EXPECTED.has(what));
      assert.deepStrictEqual(other, [], `${kind}: ${JSON.stringify(errors)}`);
      assert.deepStrictEqual(seeds.outside, [], `${kind}: seeds that wrote outside the pool's region`);
    });
  }
});
