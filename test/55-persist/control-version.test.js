'use strict';
// The control segment's version (docs/format.md §16, "Control segment"): version 2 added the rule
// that a mutation writing the store outside the append lock passes through it after taking its
// stripe. A control segment of version 1 is upgraded by an opener when no owner of it is live,
// and refused (ERR_BAD_VERSION, the segment unchanged) while a live process may still be running
// the older build's rules on it. A version the package does not know is refused as corrupt.
const assert = require('assert');
const path = require('path');
const { spawn } = require('child_process');
const { Store, Segment, layout } = require('../../index');
const native = require('../../lib/base/native');
const { identityOf } = require('../../lib/ownership/owners');
const { persistTarget, recover, unseal } = require('../helpers/persist');

const { C, W } = layout;
const WORD = Uint32Array.BYTES_PER_ELEMENT;
const U64 = BigUint64Array.BYTES_PER_ELEMENT / WORD;
const VERSION = C.PERSIST_HEADER_OFFSET / WORD + W.PERSIST_HEADER.VERSION;
const SLOT = C.OWNER_SLOTS - 1; // an owner slot no handle of the test claims
const OWNER = C.PERSIST_OWNERS_OFFSET / WORD + SLOT * W.OWNER.WORDS;

// The control segment of `dir`, mapped for the test to read and write its words.
function control(dir) {
  const seg = Segment.open({ path: path.join(dir, 'control') });
  return { seg, u32: new Uint32Array(seg.buffer), u64: new BigUint64Array(seg.buffer) };
}

// Owner slots with a pid (claimed, by anyone).
function claimedSlots(u32) {
  let n = 0;
  for (let o = 1; o < C.OWNER_SLOTS; o++) {
    if (Atomics.load(u32, C.PERSIST_OWNERS_OFFSET / WORD + o * W.OWNER.WORDS + W.OWNER.PID) !== 0) n++;
  }
  return n;
}

(native.addon ? describe : describe.skip)('Persistence: the control segment version', function () {
  this.timeout(60000);
  let t;
  let child;
  beforeEach(() => {
    t = persistTarget('ctlver');
    child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  });
  afterEach(() => {
    child.kill('SIGKILL');
    t.cleanup();
  });

  // A persisted store with one entry, closed: its control segment stays in the directory.
  function made() {
    const s = Store.create({ name: t.name, size: 1 << 22, engine: 'js', persist: { dir: t.dir, sync: 'none' } });
    s.set('n', 'k', 'v');
    s.close();
  }

  it('is the current version in a new control segment', () => {
    made();
    const c = control(t.dir);
    try {
      assert.strictEqual(Atomics.load(c.u32, VERSION), C.PERSIST_FORMAT_VERSION);
      assert.strictEqual(C.PERSIST_FORMAT_VERSION, 2);
    } finally {
      c.seg.close();
    }
  });

  it('upgrades a control segment of version 1 that no live process holds', () => {
    made();
    const c = control(t.dir);
    try {
      // A file of version 1 predates the header's checksum: it has none.
      unseal(c.u32);
      Atomics.store(c.u32, VERSION, C.PERSIST_FORMAT_VERSION_PREVIOUS);
      const s = Store.open({ name: t.name, engine: 'js', persist: { dir: t.dir } });
      try {
        assert.strictEqual(Atomics.load(c.u32, VERSION), C.PERSIST_FORMAT_VERSION);
        assert.strictEqual(s.get('n', 'k'), 'v');
        s.set('n', 'k2', 'w');
      } finally {
        s.close();
      }
    } finally {
      c.seg.close();
    }
    const r = recover(t.name, t.dir, 'js');
    try {
      assert.strictEqual(r.get('n', 'k2'), 'w');
    } finally {
      r.close();
    }
  });

  it('refuses a control segment of version 1 while a live process owns a slot of it, and leaves it unchanged', async () => {
    made();
    const c = control(t.dir);
    try {
      // The child process is made an owner of the segment, as a process of the older build.
      const id = identityOf(child.pid, 0);
      Atomics.store(c.u32, OWNER + W.OWNER.TID, 0);
      Atomics.store(c.u64, (OWNER + W.OWNER.START_TIME) / U64, id.startTime);
      Atomics.store(c.u64, (OWNER + W.OWNER.BOOT_ID) / U64, id.bootId);
      Atomics.store(c.u32, OWNER + W.OWNER.STATE, C.OWNER_STATE_LIVE);
      Atomics.store(c.u32, OWNER + W.OWNER.PID, child.pid);
      unseal(c.u32);
      Atomics.store(c.u32, VERSION, C.PERSIST_FORMAT_VERSION_PREVIOUS);
      const claimed = claimedSlots(c.u32);
      for (const engine of ['js', 'native']) {
        assert.throws(() => Store.open({ name: t.name, engine, persist: { dir: t.dir } }),
          (err) => err.code === 'ERR_BAD_VERSION' && /older shmstore/.test(err.message) && /version 1/.test(err.message));
        assert.strictEqual(Atomics.load(c.u32, VERSION), C.PERSIST_FORMAT_VERSION_PREVIOUS);
        assert.strictEqual(claimedSlots(c.u32), claimed);
      }
      // Once that process has ended, the segment is upgraded and the store opens.
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      const s = Store.open({ name: t.name, engine: 'js', persist: { dir: t.dir } });
      try {
        assert.strictEqual(Atomics.load(c.u32, VERSION), C.PERSIST_FORMAT_VERSION);
        assert.strictEqual(s.get('n', 'k'), 'v');
      } finally {
        s.close();
      }
    } finally {
      c.seg.close();
    }
  });

  it('refuses a control segment of a version it does not know as corrupt, naming the version', () => {
    made();
    const c = control(t.dir);
    try {
      Atomics.store(c.u32, VERSION, 3);
      assert.throws(() => Store.open({ name: t.name, engine: 'js', persist: { dir: t.dir } }),
        (err) => err.code === 'ERR_PERSIST_CORRUPT' && /version 3/.test(err.message));
      assert.strictEqual(Atomics.load(c.u32, VERSION), 3);
    } finally {
      c.seg.close();
    }
  });
});
