'use strict';
// The guard of the kinds whose state spans several words (docs/format.md §13, "The guard"): one
// that names a slot of the caller's own thread cannot be held (a thread runs one call at a time,
// and no call holds a guard past its return), so it is damage and is taken over at once, instead
// of being waited for as a live holder's until the 10 s limit (ERR_LOCK_TIMEOUT) on every call.
const assert = require('assert');
const { RwLock, Semaphore, Barrier, layout: { C, W } } = require('../../index');

const REC = C.SYNC_STATE_OFFSET / Uint32Array.BYTES_PER_ELEMENT;
// Far below the guard's 10 s limit, far above a call that takes the guard over.
const BOUND_MS = 2000;

const KINDS = [
  ['RwLock', RwLock, W.RW_LOCK_STATE.GUARD, {}, (h) => h.tryWriteLock() && h.writeUnlock()],
  ['Semaphore', Semaphore, W.SEMAPHORE_STATE.GUARD, { permits: 1 }, (h) => h.tryAcquire() && h.release()],
  ['Barrier', Barrier, W.BARRIER_STATE.GUARD, { parties: 1 }, (h) => h.reset()],
];

describe('Sync guards: damaged words', () => {
  for (const [name, Class, field, options, use] of KINDS) {
    it(`${name}: a guard held in the name of another handle of the same thread is taken over at once`, () => {
      const buffer = new SharedArrayBuffer(Class.BYTES);
      const a = Class.create({ buffer, ...options });
      const b = Class.open({ buffer });
      const u32 = new Uint32Array(buffer);
      // Held (an odd version), by the owner slot of b (the second slot claimed).
      Atomics.store(u32, REC + field, (1 | (2 << C.LOCK_OWNER_SHIFT)) >>> 0);
      const start = performance.now();
      use(a);
      assert.ok(performance.now() - start < BOUND_MS, `${name}: took ${performance.now() - start} ms`);
      assert.strictEqual(u32[REC + field] & 1, 0, 'the guard is free again');
      a.close();
      b.close();
    });
  }
});
