'use strict';
// The log positions of the control segment (docs/format.md §16: tail, startLsn, durable,
// syncing) are u64 words read as two u32 halves (lib/persist/control.js): values past 2^32, and
// a value moving across 2^32 while it is read, must read exactly as the u64 word holds them.
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { newControl } = require('../helpers/persist');
const native = require('../../lib/base/native');

const U32 = 2 ** 32;
const RECORD = 8;

(native.addon ? describe : describe.skip)('Persistence: the log positions of the control segment', () => {
  let dir;
  let c;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-positions-'));
    c = newControl(dir);
  });
  afterEach(() => {
    c.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('read exactly below, at and above 2^32, as they grow across it', () => {
    for (const at of [0, RECORD, U32 - RECORD, U32, U32 + RECORD, 5 * U32 + 3 * RECORD, 2 ** 52]) {
      c.resetPositions(at, at);
      assert.deepStrictEqual([c.tail, c.startLsn, c.durable, c.syncing, c.heldTail, c.heldStartLsn], [at, at, at, at, at, at]);
    }
    c.resetPositions(U32 - 2 * RECORD, U32 - 2 * RECORD);
    // The holder of the append lock moves the tail across 2^32, a record at a time.
    for (let lsn = U32 - RECORD; lsn <= U32 + 2 * RECORD; lsn += RECORD) {
      c.heldTail = lsn;
      assert.strictEqual(c.tail, lsn);
      c.claimSync(lsn);
      assert.strictEqual(c.syncing, lsn);
      c.advanceDurable(lsn, Date.now());
      assert.strictEqual(c.durable, lsn);
    }
    // Neither syncing nor durable is ever lowered.
    c.claimSync(U32 - RECORD);
    c.advanceDurable(U32 - RECORD, Date.now());
    assert.strictEqual(c.syncing, U32 + 2 * RECORD);
    assert.strictEqual(c.durable, U32 + 2 * RECORD);
  });
});
