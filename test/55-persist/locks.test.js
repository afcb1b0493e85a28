'use strict';
// No process is special (docs/format.md §16, "Protocol"): a lock of the control segment left held
// by a process that is gone (the flush lock, the append lock, a stripe, the checkpoint lock) is
// taken over by the next writer, which completes its write with the durability of its mode.
const assert = require('assert');
const path = require('path');
const { Store, Segment, layout } = require('../../index');
const native = require('../../lib/base/native');
const { acquiredWord } = require('../../lib/ownership/lockword');
const { Control } = require('../../lib/persist/control');
const { exitedPid } = require('../helpers/process');
const { persistTarget, recover, contents, newControl } = require('../helpers/persist');

const { C, W } = layout;
const WORD = Uint32Array.BYTES_PER_ELEMENT;
const SLOT = C.OWNER_SLOTS - 1; // an owner slot no handle of the test claims

const LOCKS = {
  flush: C.PERSIST_DURABLE_OFFSET / WORD + W.PERSIST_DURABLE.FLUSH_LOCK,
  append: C.PERSIST_LOG_OFFSET / WORD + W.PERSIST_LOG.APPEND_LOCK,
  stripe: C.PERSIST_STRIPES_OFFSET / WORD + Control.stripeOf('n', 'k') * (C.PERSIST_STRIPE_SIZE / WORD),
  checkpoint: C.PERSIST_RECOVERY_OFFSET / WORD + W.PERSIST_RECOVERY.CHECKPOINT_LOCK,
};

// Makes the control segment's owner slot SLOT name process `pid` (by default one that has
// exited) with no identity, holding `lock`.
function leaveHeld(dir, lock, pid = exitedPid()) {
  const seg = Segment.open({ path: path.join(dir, 'control') });
  try {
    const u32 = new Uint32Array(seg.buffer);
    const rec = C.PERSIST_OWNERS_OFFSET / WORD + SLOT * W.OWNER.WORDS;
    Atomics.store(u32, rec + W.OWNER.PID, pid);
    Atomics.store(u32, rec + W.OWNER.TID, 0);
    Atomics.store(u32, LOCKS[lock], acquiredWord(Atomics.load(u32, LOCKS[lock]), SLOT));
  } finally {
    seg.close();
  }
}

// Writes to a persisted store while `lock` is left held by slot SLOT naming `pid` (leaveHeld):
// the lock is taken over, the writes complete (durable at once with sync 'always'), and a
// recovery finds them.
function writeThroughHeld(t, lock, pid, options) {
  const s = Store.create({ name: t.name, size: 1 << 22, ...options });
  try {
    s.set('n', 'before', 0);
    leaveHeld(t.dir, lock, pid);
    s.set('n', 'k', 1);
    if (options.persist.sync === 'always') assert.strictEqual(s.persistence.durable, s.persistence.tail);
    if (lock === 'checkpoint') s.checkpoint();
    s.set('n', 'k', 2);
  } finally {
    s.close();
  }
  const r = recover(t.name, t.dir);
  try {
    assert.deepStrictEqual(contents(r, 'n'), [['before', 0], ['k', 2]]);
  } finally {
    r.close();
  }
}

(native.addon ? describe : describe.skip)('Persistence: locks left by a process that is gone', function () {
  this.timeout(60000);
  let t;
  beforeEach(() => { t = persistTarget('locks'); });
  afterEach(() => t.cleanup());

  for (const lock of Object.keys(LOCKS)) {
    it(`the ${lock} lock is taken over and the write completes`, () => {
      writeThroughHeld(t, lock, exitedPid(), { persist: { dir: t.dir, sync: 'always', checkpointBytes: 0 } });
    });
  }

  // With every owner slot in use, an open adopts the slot of a gone owner, and releases every
  // lock the gone owner left held under it: held by a slot that is live again, such a hold was
  // waited for by every other writer until ERR_LOCK_TIMEOUT, and a hold of the flush lock (only
  // ever tried, and a try takes a hold naming its own slot for its own) by the adopter's durable
  // writes, forever.
  for (const lock of ['flush', 'stripe']) {
    it(`an open that must adopt a gone owner's slot (every slot in use) releases its ${lock} lock`, async () => {
      const { spawn } = require('child_process');
      const s = Store.create({ name: t.name, size: 1 << 22, lockTimeoutMs: 100, persist: { dir: t.dir, sync: 'always' } });
      let child = null;
      try {
        s.set('n', 'before', 0);
        const seg = Segment.open({ path: path.join(t.dir, 'control') });
        try {
          // Every free slot names a process that has exited; the first of them, which the next
          // open adopts, holds the lock (the stripe: that of key 'k').
          const u32 = new Uint32Array(seg.buffer);
          const dead = exitedPid();
          let first = 0;
          for (let o = 1; o < C.OWNER_SLOTS; o++) {
            const rec = C.PERSIST_OWNERS_OFFSET / WORD + o * W.OWNER.WORDS;
            if (Atomics.load(u32, rec + W.OWNER.PID) !== 0) continue;
            Atomics.store(u32, rec + W.OWNER.PID, dead);
            Atomics.store(u32, rec + W.OWNER.TID, 0);
            if (first === 0) first = o;
          }
          Atomics.store(u32, LOCKS[lock], acquiredWord(Atomics.load(u32, LOCKS[lock]), first));
        } finally {
          seg.close();
        }
        // The adopter, another process, writes durably (a write that waits forever is seen as no
        // answer) and stays open while this handle writes key 'k': a hold naming its slot is a
        // live process's to this handle.
        const code = `
          const [root, name, dir] = process.argv.slice(1);
          const { Store } = require(root);
          const s = Store.open({ name, persist: { dir } });
          s.set('n', 'other', 1);
          process.send(s.persistence.durable >= s.persistence.tail);
          process.once('message', () => { s.close(); process.disconnect(); });`;
        child = spawn(process.execPath, ['-e', code, path.join(__dirname, '..', '..'), t.name, t.dir], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
        const exited = new Promise((resolve) => child.once('exit', resolve));
        const answer = await Promise.race([
          new Promise((resolve) => child.once('message', resolve)),
          exited.then(() => 'exited'),
          new Promise((resolve) => setTimeout(() => resolve('no answer'), 20000)),
        ]);
        assert.strictEqual(answer, true, 'the write of the adopting handle never became durable');
        s.set('n', 'k', 1);
        child.send('close');
        assert.strictEqual(await exited, 0);
      } finally {
        if (child !== null && child.exitCode === null) child.kill('SIGKILL');
        s.close();
      }
      const r = recover(t.name, t.dir);
      try {
        assert.deepStrictEqual(contents(r, 'n'), [['before', 0], ['k', 1], ['other', 1]]);
      } finally {
        r.close();
      }
    });
  }
});

// A record that names a live process and no identity (a claim not finished, a freeing stopped
// between its stores, or damage) holds nothing (format.md §6, rule 6): an owner takes a lock
// only once its claim is complete. Judged by its pid alone, it held a control lock for as long as
// that unrelated process lived, and every writer timed out.
(native.addon ? describe : describe.skip)('Persistence: a lock held by a record of a live pid without identity', function () {
  this.timeout(60000);
  const { spawn } = require('child_process');
  let t;
  let child;
  before(() => { child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' }); });
  after(() => child.kill('SIGKILL'));
  beforeEach(() => { t = persistTarget('bare'); });
  afterEach(() => t.cleanup());

  for (const lock of ['append', 'stripe', 'checkpoint']) {
    it(`the ${lock} lock is taken over and the write completes`, () => {
      writeThroughHeld(t, lock, child.pid, { lockTimeoutMs: 50, persist: { dir: t.dir, sync: 'none', checkpointBytes: 0 } });
    });
  }
});

// Asking whether a lock's holder is gone reads /proc for a holder in another process: a waiter
// asks only about a hold it has seen unchanged for PERSIST_TAKEOVER_MS, and then once per that
// time, so that writers waiting while another process syncs spend no CPU on it.
(native.addon ? describe : describe.skip)('Persistence: the flush lock\'s holder is judged only after a hold that lasts', function () {
  this.timeout(30000);
  const fs = require('fs');
  const os = require('os');
  const { GONE, OTHER_PROCESS } = require('../../lib/ownership/owners');
  let dir;
  let c;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-takeover-'));
    c = newControl(dir);
  });
  afterEach(() => {
    c.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // The clock the lock reads is this test's: a slow or loaded machine cannot move a try into
  // another period than the one the test means it for.
  let clock = 0;
  const realNow = Object.getOwnPropertyDescriptor(performance, 'now');
  beforeEach(() => { performance.now = () => clock; });
  afterEach(() => {
    if (realNow) Object.defineProperty(performance, 'now', realNow);
    else delete performance.now;
  });

  it('a live holder in another process: no question for PERSIST_TAKEOVER_MS, then one per period; a gone one is taken over', () => {
    const u32 = new Uint32Array(c.segment.buffer);
    let answer = OTHER_PROCESS;
    let asked = 0;
    c.owners.status = (o) => {
      assert.strictEqual(o, SLOT);
      asked++;
      return answer;
    };
    const held = acquiredWord(Atomics.load(u32, LOCKS.flush), SLOT);
    Atomics.store(u32, LOCKS.flush, held);
    clock = 1000;
    // Tries all through the first period of the hold, up to its last moment.
    for (let i = 0; i < 1000; i++) {
      clock = 1000 + (i * (C.PERSIST_TAKEOVER_MS - 0.001)) / 999;
      assert.strictEqual(c.tryFlushLock(), false);
    }
    assert.strictEqual(asked, 0, 'asked within the first period of the hold');
    clock = 1000 + C.PERSIST_TAKEOVER_MS;
    for (let i = 0; i < 1000; i++) assert.strictEqual(c.tryFlushLock(), false);
    assert.strictEqual(asked, 1, 'asked once for a hold seen for a period, not at every try');
    clock += C.PERSIST_TAKEOVER_MS - 0.001;
    assert.strictEqual(c.tryFlushLock(), false);
    assert.strictEqual(asked, 1, 'not asked again within the next period');
    clock += 0.001;
    assert.strictEqual(c.tryFlushLock(), false);
    assert.strictEqual(asked, 2, 'asked again once the next period is over');
    // Another hold (the word changed: released and taken again) starts the period over.
    const again = acquiredWord(held + 1, SLOT);
    assert.notStrictEqual(again, held);
    Atomics.store(u32, LOCKS.flush, again);
    clock += 10 * C.PERSIST_TAKEOVER_MS;
    assert.strictEqual(c.tryFlushLock(), false);
    assert.strictEqual(asked, 2, 'a new hold is first seen, not judged');
    clock += C.PERSIST_TAKEOVER_MS;
    answer = GONE;
    assert.strictEqual(c.tryFlushLock(), true, 'the gone holder\'s lock is taken over');
    assert.strictEqual(asked, 3);
    c.unlockFlush();
    assert.strictEqual(c.tryFlushLock(), true, 'released, it is free');
    c.unlockFlush();
  });

  // Format.md §6, rule 6: a record that names a live pid and no identity holds nothing. Judged by
  // its pid, it kept the flush lock while that process lived, and every durable write waited. A
  // record of this process's own pid is judged by the same-process rules instead (a thread of
  // this process may be its claimer): a holder of this process is not gone.
  it('a hold by a record that names a live pid of another process and no identity is taken over after one period', () => {
    const u32 = new Uint32Array(c.segment.buffer);
    const rec = C.PERSIST_OWNERS_OFFSET / WORD + SLOT * W.OWNER.WORDS;
    for (const pid of [process.ppid, process.pid]) {
      Atomics.store(u32, rec + W.OWNER.PID, pid);
      const held = acquiredWord(Atomics.load(u32, LOCKS.flush), SLOT);
      Atomics.store(u32, LOCKS.flush, held);
      clock += 1000;
      assert.strictEqual(c.tryFlushLock(), false, 'first seen');
      clock += C.PERSIST_TAKEOVER_MS;
      const other = pid !== process.pid;
      assert.strictEqual(c.tryFlushLock(), other, `taken over from pid ${pid}: ${other}`);
      if (other) c.unlockFlush();
      else Atomics.store(u32, LOCKS.flush, 0);
    }
  });
});
