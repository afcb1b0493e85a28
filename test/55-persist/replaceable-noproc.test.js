'use strict';
// The check a rebuild makes before it removes what its segment name holds (lib/persist/tag.js,
// checkReplaceable; format.md §4 PersistTag, §16 "Files"), made by a process whose JS code Node's
// permission model denies /proc. A store that records no persisted store's id is removed only
// once no process other than gone has it open, by the gone rule of format.md §6: such a process
// judges the owner records as any other does, through the addon's reads of /proc (format.md §6,
// "Identity unknown"). Judged by the pid alone, a record whose pid was reused by a later process,
// or left by an earlier boot (a store on a file), kept the store "in use" for as long as a
// process had that pid, and the rebuild was refused.
const assert = require('assert');
const path = require('path');
const { spawn } = require('child_process');
const { Store, Segment } = require('../../index');
const { addon } = require('../../lib/base/native');
const { C } = require('../../lib/layout/layout');
const { OwnerTable } = require('../../lib/ownership/owners');
const { readProcessStat, bootId } = require('../../lib/base/process');
const { uniqueName, removeShm, runNode, exitedPid, noProcNodeArgs } = require('../helpers/process');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'replaceable-child.js');
const SIZE = 1 << 22;
const WORD = Uint32Array.BYTES_PER_ELEMENT;

describe('Persistence: a rebuild checked by a process whose JS code cannot read /proc', function () {
  this.timeout(60000);
  const flags = noProcNodeArgs();
  let name;
  let live; // a live process other than this one and the child
  beforeEach(function () {
    if (flags === null || !addon) this.skip();
    name = uniqueName('replaceable');
    live = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  });
  afterEach(() => {
    if (live) live.kill('SIGKILL');
    live = null;
    if (name) removeShm(name);
  });

  // A store without persistence under `name` (its id 0), its handles closed: no owner record.
  function storeSegment() {
    Store.create({ name, size: SIZE }).close();
  }

  // Writes an owner record of `id` into the store segment, as a handle of that owner left it.
  function leaveRecord(id) {
    const seg = Segment.open({ name });
    try {
      assert.notStrictEqual(new OwnerTable(new Uint32Array(seg.buffer), C.OWNERS_OFFSET / WORD).claim({ tid: 1, ...id }), 0);
    } finally {
      seg.close();
    }
  }

  // The check, in a restricted child, by a rebuild of the store of id `storeId`.
  async function check(storeId = 1n) {
    const r = await runNode(CHILD, [JSON.stringify({ name, storeId: String(storeId), size: SIZE })], { nodeArgs: flags });
    assert.strictEqual(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.strictEqual(out.procDenied, true, 'the child\'s JS code is denied /proc');
    return out;
  }

  const refused = (out) => out.code === 'ERR_SHM_EXISTS' && /in use by a live process/.test(out.message);

  it('refuses to remove a store a live process has open', async () => {
    storeSegment();
    const s = Store.open({ name });
    try {
      assert.ok(refused(await check()), 'a handle of this process');
    } finally {
      s.close();
    }
    const { startTime } = readProcessStat(live.pid);
    leaveRecord({ pid: live.pid, startTime, bootId: bootId() });
    assert.ok(refused(await check()), 'a record of another live process');
  });

  it('removes a store whose only records are of gone owners: an ended process, a reused pid, an earlier boot', async () => {
    storeSegment();
    assert.deepStrictEqual(await check(), { procDenied: true, replaceable: true }, 'no record');
    const { startTime } = readProcessStat(live.pid);
    leaveRecord({ pid: exitedPid(), startTime, bootId: bootId() });
    assert.deepStrictEqual(await check(), { procDenied: true, replaceable: true }, 'an ended process');
    leaveRecord({ pid: live.pid, startTime: startTime + 1n, bootId: bootId() });
    assert.deepStrictEqual(await check(), { procDenied: true, replaceable: true }, 'a pid reused by a later process');
    leaveRecord({ pid: live.pid, startTime, bootId: bootId() ^ 1n });
    assert.deepStrictEqual(await check(), { procDenied: true, replaceable: true }, 'a record of an earlier boot');
    // And a live owner among them keeps it.
    leaveRecord({ pid: live.pid, startTime, bootId: bootId() });
    assert.ok(refused(await check()));
  });

  it('refuses a store of another persisted store whoever has it open, and takes its own', async () => {
    storeSegment();
    const seg = Segment.open({ name });
    try {
      Atomics.store(new BigUint64Array(seg.buffer, C.PERSIST_TAG_OFFSET, 1), 0, 2n);
    } finally {
      seg.close();
    }
    const other = await check(1n);
    assert.strictEqual(other.code, 'ERR_SHM_EXISTS');
    assert.match(other.message, /the store of another persistence directory/);
    const { startTime } = readProcessStat(live.pid);
    leaveRecord({ pid: live.pid, startTime, bootId: bootId() });
    assert.deepStrictEqual(await check(2n), { procDenied: true, replaceable: true }, 'its own stale segment');
  });
});
