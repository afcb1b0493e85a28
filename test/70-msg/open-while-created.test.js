'use strict';
// An open by name or path while the creator is part way (docs/format.md §15, "Creating"): a
// creator makes its segment with 0 bytes, sizes it next and stamps the header, the magic last.
// An opener in between waits for the size and the magic (up to 1 s), and opens the creator's
// structure, instead of failing as if the segment were too small (ERR_BAD_SIZE) or held no
// structure (ERR_BAD_MAGIC); a segment nobody ever sizes or stamps is refused so after the wait.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const shm = require('../../index');
const { addon } = require('../../lib/base/native');
const { uniqueName, tempDir, removeShm, segmentUse } = require('../helpers/process');
const { openWhileCreated, fileOf, KINDS: KINDS_OF } = require('../helpers/late-creation');

const KINDS = ['SpscRing', 'MpmcQueue', 'Channel', 'Stack', 'PriorityQueue', 'Broadcast'];
// The first size of a creator that sizes its segment in two steps.
const PAGE = 4096;
const withAddon = addon ? describe : describe.skip;

withAddon('Message structures: an open while the creator is part way', () => {
  let dir;
  let cleanup;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  for (const kind of KINDS) {
    it(`${kind}.open of a file its creator has made but not yet sized nor stamped waits, and opens the creator's ${kind}`, async () => {
      const target = { path: path.join(dir, kind) };
      fs.writeFileSync(target.path, '');
      const got = await openWhileCreated(kind, target);
      assert.ifError(got.error);
      assert.strictEqual(got.seen, true);
    });
  }

  it('MpmcQueue.open of a shared memory segment its creator has made but not yet sized nor stamped waits, and opens it', async () => {
    const target = { name: uniqueName('msg-late') };
    try {
      fs.writeFileSync(fileOf(target), '');
      const got = await openWhileCreated('MpmcQueue', target);
      assert.ifError(got.error);
      assert.strictEqual(got.seen, true);
    } finally {
      removeShm(target.name);
    }
  });

  // A creator that sizes its segment in steps (posix_fallocate on ext4 for a large size, glibc's
  // fallback on a file system without fallocate: an older version of this package, another tool)
  // is found with part of its size. The opener reads the size again once the magic is there,
  // instead of refusing the creator's queue as larger than the memory it mapped (ERR_BAD_SIZE).
  it('MpmcQueue.open of a file its creator sizes in two steps (first only a page, which holds the header) opens the whole queue', async () => {
    const target = { path: path.join(dir, 'in-steps') };
    fs.writeFileSync(target.path, '');
    assert.ok(KINDS_OF.MpmcQueue.bytes() > PAGE, 'the queue is larger than the first step');
    const got = await openWhileCreated('MpmcQueue', target, { firstBytes: PAGE });
    assert.ifError(got.error);
    assert.strictEqual(got.seen, true);
  });

  it('an open of a segment never sized is ERR_BAD_SIZE, of one sized but never stamped ERR_BAD_MAGIC, after the wait; neither leaves a mapping or a descriptor', () => {
    const name = uniqueName('msg-unstamped');
    try {
      fs.writeFileSync(fileOf({ name }), '');
      const before = segmentUse(name);
      // Every kind waits for the size in the same place (its room's region code): one kind is
      // enough there; each kind checks its own magic, so every kind is tried for that.
      assert.throws(() => shm[KINDS[0]].open({ name }), { code: 'ERR_BAD_SIZE' });
      fs.truncateSync(fileOf({ name }), 1 << 16);
      for (const kind of KINDS) assert.throws(() => shm[kind].open({ name }), { code: 'ERR_BAD_MAGIC' });
      assert.deepStrictEqual(segmentUse(name), before);
    } finally {
      removeShm(name);
    }
  });
});
