'use strict';
// Lock words on their own (docs/format.md §1): the encoding, taking and releasing, the heartbeat.
const assert = require('assert');
const { C } = require('../../lib/layout/layout');
const lw = require('../../lib/ownership/lockword');
const { LockHeartbeat, UNITS_PER_BEAT } = require('../../lib/ownership/heartbeat');

const OWNER = (o) => (o << C.LOCK_OWNER_SHIFT) >>> 0;

describe('ownership: lock words', () => {
  it('encodes version and owner as format.md §1 says', () => {
    assert.strictEqual(lw.acquiredWord(0, 5), (OWNER(5) | 1) >>> 0);
    assert.strictEqual(lw.releasedWord((OWNER(5) | 1) >>> 0), 2);
    assert.strictEqual(lw.acquiredWord(C.LOCK_VERSION_MASK - 1, 7), (OWNER(7) | C.LOCK_VERSION_MASK) >>> 0);
    // The version wraps and the owner bits are cleared on release.
    assert.strictEqual(lw.releasedWord((OWNER(7) | C.LOCK_VERSION_MASK) >>> 0), 0);
    assert.strictEqual(lw.takeoverWord((OWNER(9) | 33) >>> 0, 4), (OWNER(4) | 33) >>> 0);
    assert.strictEqual(lw.heartbeatWord((OWNER(4095) | 33) >>> 0), (OWNER(4095) | 35) >>> 0);
    assert.strictEqual(lw.heartbeatWord((OWNER(3) | C.LOCK_VERSION_MASK) >>> 0), (OWNER(3) | 1) >>> 0);
    assert.ok(lw.isHeld(lw.acquiredWord(10, 1)));
    assert.ok(!lw.isHeld(lw.releasedWord(lw.acquiredWord(10, 1))));
    assert.strictEqual(lw.ownerOf(lw.acquiredWord(10, 4095)), 4095);
  });

  it('tryLock takes only a free word; unlock releases only its own holder\'s', () => {
    const u32 = new Uint32Array(new SharedArrayBuffer(16));
    const LOCK = 1;
    assert.ok(lw.tryLock(u32, LOCK, 3));
    const held = u32[LOCK];
    assert.strictEqual(lw.ownerOf(held), 3);
    assert.ok(!lw.tryLock(u32, LOCK, 4), 'a held word is not taken');
    // Another owner presumed slot 3 gone and took the lock over (same odd version, its owner).
    const other = lw.takeoverWord(held, 4);
    u32[LOCK] = other;
    lw.unlock(u32, LOCK, 3);
    assert.strictEqual(u32[LOCK], other, 'release freed a lock held by someone else');
    lw.unlock(u32, LOCK, 4);
    assert.strictEqual(u32[LOCK], lw.releasedWord(other));
    assert.ok(!lw.isHeld(u32[LOCK]));
  });
});

describe('ownership: heartbeat', () => {
  it('advances a word it holds by 2 every UNITS_PER_BEAT units of work, and leaves others alone', () => {
    const u32 = new Uint32Array(new SharedArrayBuffer(8));
    const WORD = 0;
    const hb = new LockHeartbeat(u32, WORD);
    hb.slot = 6;
    assert.ok(lw.tryLock(u32, WORD, 6));
    const held = u32[WORD];
    for (let i = 0; i < UNITS_PER_BEAT - 1; i++) hb.work();
    assert.strictEqual(u32[WORD], held);
    hb.work();
    assert.strictEqual(u32[WORD], lw.heartbeatWord(held));
    assert.ok(lw.isHeld(u32[WORD]) && lw.ownerOf(u32[WORD]) === 6);
    // Taken over by slot 7: the old holder's beats leave the word alone.
    u32[WORD] = lw.takeoverWord(u32[WORD], 7);
    const taken = u32[WORD];
    hb.beat();
    assert.strictEqual(u32[WORD], taken);
  });
});
