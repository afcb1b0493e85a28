'use strict';
// A lock left by a gone holder is met by several waiters at once (docs/format.md §9, "Stuck locks
// and repair"): each acts on its verdict only while the lock word still holds the value it judged,
// so that one repair pass mends the store and the others go on without a pass of their own. The
// interleaving is injected into the pure-JS engine's waiter (the native engine's RepairFor makes
// the same check); the pass that wins the race runs in a handle of either engine.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { AT, W } = require('../../lib/layout/layout');
const { ENGINES } = require('../helpers/engines');
const { exitedPid } = require('../helpers/process');
const { pidWord, tidWord, bucketWord, lockedBy } = require('../helpers/store-bytes');
const { HOLDER_GONE } = require('../../lib/ownership/waiter');

const DEAD_SLOT = 4000;
const ALLOC_LOCK = AT.ALLOC_STATE.LOCK;

// A JS store of one bucket with a few entries, and a handle of engine `other` on its bytes.
function setup(other) {
  const buffer = new SharedArrayBuffer(1 << 21);
  const s = Store.create({ buffer, engine: 'js', buckets: 1 });
  for (let i = 0; i < 8; i++) s.set('a', `k${i}`, i);
  const o = Store.attach(buffer, { engine: other });
  o.get('a', 'k0'); // resolves the namespace now, not inside the injected pass
  return { s, o, u32: new Uint32Array(buffer) };
}

// Leaves lock word `idx` held by an owner slot of a process that has exited.
function leaveHeld(u32, idx) {
  u32[pidWord(DEAD_SLOT)] = exitedPid();
  u32[tidWord(DEAD_SLOT)] = 1;
  u32[idx] = lockedBy(u32[idx], DEAD_SLOT);
}

// Makes the JS handle's waiter let `o` run its repair pass right after the waiter found the holder
// of a lock gone (another waiter of the same lock finishing its pass first); returns a counter of
// those verdicts.
function raceWithPass(s, o, method) {
  const locks = s._e.locks;
  const original = locks[method].bind(locks);
  const verdicts = { n: 0 };
  locks[method] = (...args) => {
    const r = original(...args);
    if (r === HOLDER_GONE && verdicts.n++ === 0) o.repair();
    return r;
  };
  return verdicts;
}

for (const other of ENGINES) {
  describe(`a JS waiter of a gone holder's lock, another waiter's pass first [${other} engine repairs]`, function () {
    const cases = [
      {
        what: 'an insert waiting for the bucket lock',
        idx: bucketWord(0, W.BUCKET.LOCK), method: 'acquire',
        op: (s) => s.set('a', 'new', 'v'),
        check: (s) => assert.strictEqual(s.get('a', 'new'), 'v'),
      },
      {
        what: 'a get waiting out the bucket lock',
        idx: bucketWord(0, W.BUCKET.LOCK), method: 'waitWhileHeld',
        op: (s) => assert.strictEqual(s.get('a', 'k3'), 3),
        check: () => {},
      },
      {
        what: 'a delete waiting for the bucket lock',
        idx: bucketWord(0, W.BUCKET.LOCK), method: 'acquire',
        op: (s) => assert.strictEqual(s.delete('a', 'k5'), true),
        check: (s) => assert.strictEqual(s.has('a', 'k5'), false),
      },
      {
        what: 'stats() waiting for the allocator lock',
        idx: ALLOC_LOCK, method: 'acquire',
        op: (s) => s.stats(),
        check: () => {},
      },
    ];
    for (const c of cases) {
      it(`${c.what} runs no second repair pass`, () => {
        const { s, o, u32 } = setup(other);
        try {
          leaveHeld(u32, c.idx);
          const before = u32[AT.REPAIR_STATE.REPAIRS];
          const verdicts = raceWithPass(s, o, c.method);
          c.op(s);
          assert.strictEqual(verdicts.n, 1, 'the waiter found the holder gone once');
          assert.strictEqual(u32[AT.REPAIR_STATE.REPAIRS], before + 1, 'one repair pass, the other waiter\'s');
          assert.strictEqual(u32[c.idx] & 1, 0, 'the lock is free');
          c.check(s);
          const v = s.verify();
          assert.ok(v.ok, v.errors.join('\n'));
        } finally {
          o.close();
          s.close();
        }
      });
    }
  });
}
