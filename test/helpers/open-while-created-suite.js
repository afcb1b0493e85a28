'use strict';
// The tests of an open by name or path while the creator is part way, for the kinds of one room
// (test/70-msg/open-while-created.test.js, test/75-pool/open-while-created.test.js): a creator
// makes its segment with 0 bytes, sizes it next and stamps the header, the magic last. An opener
// in between waits for the size and the magic (up to 1 s) and opens the creator's structure,
// instead of failing as if the segment were too small (ERR_BAD_SIZE) or held no structure
// (ERR_BAD_MAGIC); a segment nobody ever sizes or stamps is refused so after the wait.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const shm = require('../../index');
const { addon } = require('../../lib/base/native');
const { uniqueName, tempDir, removeShm, segmentUse } = require('./process');
const { openWhileCreated, fileOf, KINDS: KINDS_OF } = require('./late-creation');

// The first size of a creator that sizes its segment in two steps.
const PAGE = 4096;

/**
 * Defines the suite `title` for `kinds` (class names); `one` is the kind tried by name and in two
 * steps, `what` what a structure of the room is called, `prefix` the start of segment names.
 */
function openWhileCreatedSuite({ title, kinds, one, what, prefix }) {
  (addon ? describe : describe.skip)(title, () => {
    let dir;
    let cleanup;
    beforeEach(() => ({ dir, cleanup } = tempDir()));
    afterEach(() => cleanup());

    for (const kind of kinds) {
      it(`${kind}.open of a file its creator has made but not yet sized nor stamped waits, and opens the creator's ${what}`, async () => {
        const target = { path: path.join(dir, kind) };
        fs.writeFileSync(target.path, '');
        const got = await openWhileCreated(kind, target);
        assert.ifError(got.error);
        assert.strictEqual(got.seen, true);
      });
    }

    it(`${one}.open of a shared memory segment its creator has made but not yet sized nor stamped waits, and opens it`, async () => {
      const target = { name: uniqueName(`${prefix}-late`) };
      try {
        fs.writeFileSync(fileOf(target), '');
        const got = await openWhileCreated(one, target);
        assert.ifError(got.error);
        assert.strictEqual(got.seen, true);
      } finally {
        removeShm(target.name);
      }
    });

    // A creator that sizes its segment in steps (posix_fallocate on ext4 for a large size, glibc's
    // fallback on a file system without fallocate: an older version of this package, another
    // tool) is found with part of its size. The opener reads the size again once the magic is
    // there, instead of refusing the creator's structure as larger than the memory it mapped.
    it(`${one}.open of a file its creator sizes in two steps (first only a page, which holds the header) opens the whole ${what}`, async () => {
      const target = { path: path.join(dir, 'in-steps') };
      fs.writeFileSync(target.path, '');
      assert.ok(KINDS_OF[one].bytes() > PAGE, `the ${what} is larger than the first step`);
      const got = await openWhileCreated(one, target, { firstBytes: PAGE });
      assert.ifError(got.error);
      assert.strictEqual(got.seen, true);
    });

    it('an open of a segment never sized is ERR_BAD_SIZE, of one sized but never stamped ERR_BAD_MAGIC, after the wait; neither leaves a mapping or a descriptor', () => {
      const name = uniqueName(`${prefix}-unstamped`);
      try {
        fs.writeFileSync(fileOf({ name }), '');
        const before = segmentUse(name);
        // Every kind waits for the size in the same place (its room's region code): one kind is
        // enough there; each kind checks its own magic, so every kind is tried for that.
        assert.throws(() => shm[kinds[0]].open({ name }), { code: 'ERR_BAD_SIZE' });
        fs.truncateSync(fileOf({ name }), 1 << 16);
        for (const kind of kinds) assert.throws(() => shm[kind].open({ name }), { code: 'ERR_BAD_MAGIC' });
        assert.deepStrictEqual(segmentUse(name), before);
      } finally {
        removeShm(name);
      }
    });
  });
}

module.exports = { openWhileCreatedSuite };
