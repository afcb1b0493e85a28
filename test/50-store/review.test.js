'use strict';
// Review regressions: stores beyond 2 GiB, validation gaps, and corrupt or stuck states that must
// end in a repair or a clear error (never a hang, a leaked lock, a double free or a write outside
// the pool). Each test failed before its fix.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { C, W, AT } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');
const { bucketWord, pidWord, tidWord, lockedBy } = require('../helpers/store-bytes');

const ALLOC_LOCK = AT.ALLOC_STATE.LOCK;
const LOCK0 = bucketWord(0, W.BUCKET.LOCK);

forEachEngine('review: a lock timeout inside a bucket lock', ({ make }) => {
  it('releases the bucket lock and undoes the reservation when the allocator lock times out', () => {
    const s = make({ buckets: 1, lockTimeoutMs: 2 });
    const u32 = new Uint32Array(s.buffer);
    s.set('a', 'old', 'v');
    // The allocator lock held by owner slot 4000, a live process that is not this one.
    const slot = 4000;
    u32[pidWord(slot)] = process.ppid;
    u32[tidWord(slot)] = 1;
    const saved = u32[ALLOC_LOCK];
    u32[ALLOC_LOCK] = lockedBy(saved, slot);
    try {
      assert.throws(() => s.set('a', 'new', 'v'), { code: 'ERR_LOCK_TIMEOUT' });
      assert.strictEqual(u32[LOCK0] & 1, 0, 'set left the bucket lock held');
      assert.strictEqual(s.count(), 1);
      assert.strictEqual(s.count('a'), 1);
      // A delete that cannot free its block still removes the entry and releases the lock.
      assert.strictEqual(s.delete('a', 'old'), true);
      assert.strictEqual(u32[LOCK0] & 1, 0, 'delete left the bucket lock held');
      assert.strictEqual(s.count(), 0);
      assert.strictEqual(s.get('a', 'old'), undefined);
    } finally {
      u32[ALLOC_LOCK] = (saved + 2) & C.LOCK_VERSION_MASK;
      u32[tidWord(slot)] = 0;
      u32[pidWord(slot)] = 0;
    }
    s.repair(); // reclaims the block the delete could not free
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
    s.set('a', 'new', 'v2');
    assert.strictEqual(s.get('a', 'new'), 'v2');
  });
});

describe('review: lock release [js engine]', () => {
  it('a holder whose lock was taken over does not release the new holder\'s lock', () => {
    const s = Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine: 'js', buckets: 1 });
    try {
      const locks = s._e.locks;
      const u32 = new Uint32Array(s.buffer);
      assert.strictEqual(locks.acquire(LOCK0), 0);
      const held = u32[LOCK0];
      // Another handle presumed us gone and took the lock over (same odd version, its owner).
      const other = ((held & C.LOCK_VERSION_MASK) | ((locks.slot + 1) << C.LOCK_OWNER_SHIFT)) >>> 0;
      u32[LOCK0] = other;
      locks.release(LOCK0);
      assert.strictEqual(u32[LOCK0], other, 'release freed a lock held by someone else');
      u32[LOCK0] = (held + 1) & C.LOCK_VERSION_MASK;
    } finally {
      s.close();
    }
  });
});
