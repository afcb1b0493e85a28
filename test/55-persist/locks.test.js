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
const { persistTarget, recover, contents } = require('../helpers/persist');

const { C, W } = layout;
const WORD = Uint32Array.BYTES_PER_ELEMENT;
const SLOT = C.OWNER_SLOTS - 1; // an owner slot no handle of the test claims

const LOCKS = {
  flush: C.PERSIST_DURABLE_OFFSET / WORD + W.PERSIST_DURABLE.FLUSH_LOCK,
  append: C.PERSIST_LOG_OFFSET / WORD + W.PERSIST_LOG.APPEND_LOCK,
  stripe: C.PERSIST_STRIPES_OFFSET / WORD + Control.stripeOf('n', 'k') * (C.PERSIST_STRIPE_SIZE / WORD),
  checkpoint: C.PERSIST_RECOVERY_OFFSET / WORD + W.PERSIST_RECOVERY.CHECKPOINT_LOCK,
};

// Makes the control segment's owner slot SLOT name a process that has exited, holding `lock`.
function leaveHeld(dir, lock) {
  const seg = Segment.open({ path: path.join(dir, 'control') });
  try {
    const u32 = new Uint32Array(seg.buffer);
    const rec = C.PERSIST_OWNERS_OFFSET / WORD + SLOT * W.OWNER.WORDS;
    Atomics.store(u32, rec + W.OWNER.PID, exitedPid());
    Atomics.store(u32, rec + W.OWNER.TID, 0);
    Atomics.store(u32, LOCKS[lock], acquiredWord(Atomics.load(u32, LOCKS[lock]), SLOT));
  } finally {
    seg.close();
  }
}

(native.addon ? describe : describe.skip)('Persistence: locks left by a process that is gone', function () {
  this.timeout(60000);
  let t;
  beforeEach(() => { t = persistTarget('locks'); });
  afterEach(() => t.cleanup());

  for (const lock of Object.keys(LOCKS)) {
    it(`the ${lock} lock is taken over and the write completes`, () => {
      const s = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'always', checkpointBytes: 0 } });
      try {
        s.set('n', 'before', 0);
        leaveHeld(t.dir, lock);
        s.set('n', 'k', 1);
        assert.strictEqual(s.persistence.durable, s.persistence.tail);
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
    });
  }
});
