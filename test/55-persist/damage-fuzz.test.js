'use strict';
// Random damage to the files of a persisted store and of its backup (docs/api.md, "Persistence";
// docs/format.md §16): after a seeded history of writes, checkpoints and backups, one file of the
// persistence directory or of the backup gets bits flipped (some aimed at header fields,
// checksums and record headers), a range zeroed, its end cut, junk appended, or is removed; then
// the segment is removed (a reboot) and the directory inspected, reopened and its backup
// restored. Every call either throws a ShmError, TypeError or RangeError with a stable code, or
// gives a store that verify() finds sound and whose entries are exactly those after some prefix of
// the history (a cut at the last good record; the whole history when no byte a reader looks at was
// damaged). A restore gives exactly the backed-up state or is refused leaving nothing. Each engine
// runs in a child process, so a native crash fails the run naming its seed, and a seed that takes
// too long fails it too (see test/helpers/children/persist-fuzz-child.js for every check).
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const native = require('../../lib/base/native');
const { runSeedsInChild } = require('../helpers/fuzz');
const { ENGINES } = require('../helpers/engines');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'persist-fuzz-child.js');
// CI runs this many seeds an engine; SHMSTORE_FUZZ_SEEDS=n runs n (thousands passed locally).
const SEEDS = Number(process.env.SHMSTORE_FUZZ_SEEDS) || 60;
const SEED_MS = 20000;
// The directories go to a memory file system where there is one: what is tested is the reading of
// damaged files, and the syncs of checkpoints, backups and sync 'always' cost nothing there.
const ENV = fs.existsSync('/dev/shm') ? { TMPDIR: '/dev/shm' } : {};
// What damage may be refused with: a damaged or incomplete file, a missing one (no control file,
// no backup manifest).
const EXPECTED = new Set(['ERR_PERSIST_CORRUPT', 'ERR_SHM_NOT_FOUND']);

(native.addon ? describe : describe.skip)('Persistence: random damage to the files of a store and of its backup', function () {
  this.timeout(SEED_MS * 4 + SEEDS * 1000);
  for (const engine of ENGINES) {
    it(`${engine} engine: ${SEEDS} seeds: a documented error, or a prefix of the history; a restore is exact or refused`, async () => {
      const { errors, hung, seeds } = await runSeedsInChild(CHILD, { engine, from: 1, to: SEEDS + 1 }, SEED_MS, ENV);
      assert.strictEqual(hung, 0, `seed ${hung} did not finish within ${SEED_MS} ms`);
      const other = Object.keys(errors).filter((what) => !EXPECTED.has(what));
      assert.deepStrictEqual(other, [], JSON.stringify(errors));
      // The damage reaches what recovery reads: some reopens are refused, some cut the history.
      assert.ok(seeds.refused.length > 0 && seeds.cut.length > 0, JSON.stringify(seeds));
      console.log(`      refused ${seeds.refused.length}, cut ${seeds.cut.length}, restores refused ${seeds.restoreRefused.length} of ${SEEDS}; ${JSON.stringify(errors)}`);
    });
  }
});
