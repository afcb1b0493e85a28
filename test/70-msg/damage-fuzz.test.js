'use strict';
// Random damage to a queue's shared memory (docs/api.md, Errors: ERR_CORRUPT): bits flipped
// anywhere past the header of every kind of message structure, then calls of its non-blocking
// methods. No call may spin for ever or crash, and what a call throws is ERR_CORRUPT, or an
// error the call can give on a sound structure too (a closed channel, a message too large for
// it), never a bare engine error such as a SyntaxError. A queue does not checksum its payloads,
// so a damaged payload may read as another message: that is not what is checked. Seeded, each
// kind in a worker thread that is terminated when a seed takes too long.
const assert = require('assert');
const path = require('path');
const { runSeeds } = require('../helpers/fuzz');

const WORKER = path.join(__dirname, '..', 'helpers', 'children', 'msg-fuzz-worker.js');
const KINDS = ['spsc', 'spsc-elements', 'mpmc', 'channel', 'stack', 'priority-queue', 'broadcast'];
// 40,000 seeds per kind passed before this count was set; CI runs the first 5,000 (about a second
// a kind).
const SEEDS = 5000;
const SEED_MS = 5000;
const EXPECTED = new Set(['ERR_CORRUPT', 'ERR_CHANNEL_CLOSED', 'ERR_MESSAGE_TOO_LARGE']);

describe('Messaging: random damage to shared memory', function () {
  this.timeout(SEED_MS * 4 + 60000);
  for (const kind of KINDS) {
    it(`${kind}: ${SEEDS} seeds of 1 to 3 flipped bits, then 200 calls each: no spin, only documented errors`, async () => {
      const { errors, hung } = await runSeeds(WORKER, { kind, from: 1, to: SEEDS + 1 }, SEED_MS);
      assert.strictEqual(hung, 0, `${kind}: seed ${hung} did not finish within ${SEED_MS} ms`);
      const other = Object.keys(errors).filter((what) => !EXPECTED.has(what));
      assert.deepStrictEqual(other, [], `${kind}: ${JSON.stringify(errors)}`);
    });
  }
});
