'use strict';
// Batches of parked blocks (docs/format.md §8, "Parked blocks"): an insert that has no parked
// block of its class takes a batch under one hold of AllocState.lock and parks the rest, the
// batch doubling up to PARK_REFILL while the inserts keep one size; the inserts that take those
// blocks do not touch the allocator lock; a full store gets every parked block back before it
// refuses; a writer killed holding a batch leaves nothing a repair pass does not free. Both
// engines, the same bytes.
const assert = require('assert');
const path = require('path');
const { Store } = require('../../lib/store/store');
const { Segment } = require('../../lib/segment/segment');
const { C, AT, SIZE_CLASSES, entriesOffset } = require('../../lib/layout/layout');
const { ownAs, freeOwner, lockedBy } = require('../helpers/store-bytes');
const { forEachEngine, uniqueName } = require('../helpers/engines');
const { inProcess, announced } = require('../helpers/actors');
const { valueOf } = require('../helpers/children/parked-actor');

const ACTOR = path.join(__dirname, '..', 'helpers', 'children', 'parked-actor.js');
const UNIT = C.BLOCK_UNIT;
const ALLOC_LOCK = AT.ALLOC_STATE.LOCK;
// The block of an entry with a key of up to 3 bytes and a 100-byte value (valueOf's size).
const BLOCK = SIZE_CLASSES.find((u) => u * UNIT >= C.ENTRY_HEADER_SIZE + 3 + 100);

// What a stream of inserts of one size leaves parked after each insert, by the rule of
// format.md §8: a refill when none is parked, of 1, 2, 4, ... PARK_REFILL blocks.
function expectedParked(n) {
  const out = [];
  let parked = 0;
  let streak = -1;
  for (let i = 0; i < n; i++) {
    if (parked === 0) {
      streak = Math.min(streak + 1, Math.log2(C.PARK_REFILL));
      parked = 2 ** streak; // the batch; this insert takes one of it
    }
    parked--;
    out.push(parked);
  }
  return out;
}

function clean(s, parked) {
  const v = s.verify();
  assert.ok(v.ok, v.errors.join('\n'));
  assert.strictEqual(v.leakedUnits, 0);
  assert.strictEqual(v.parkedUnits, parked);
  return v;
}

forEachEngine('batches of parked blocks', ({ engine, make, other }) => {
  it('inserts of one size: each refill parks exactly the rest of its batch, and only a refill takes the allocator lock', () => {
    const s = make();
    const u32 = new Uint32Array(s.buffer);
    const want = expectedParked(100);
    let refills = 0;
    for (let i = 0; i < 100; i++) {
      const parked = s.stats().bytesParked / (BLOCK * UNIT); // stats() takes the lock: first
      const lock = u32[ALLOC_LOCK];
      s.set('ns', `k${i}`, valueOf(`k${i}`, 0));
      const refilled = parked === 0;
      refills += refilled;
      // The lock word's version moves on every acquisition: it stays put unless this insert
      // took a batch.
      assert.strictEqual(u32[ALLOC_LOCK] !== lock, refilled, `insert ${i}`);
      assert.strictEqual(s.stats().bytesParked, want[i] * BLOCK * UNIT, `insert ${i}`);
    }
    // Batches of 1, 2, 4, 8, 16, 32 and 64 (127 blocks) for 100 inserts: 7 holds of the lock.
    assert.strictEqual(C.PARK_REFILL, 64);
    assert.strictEqual(refills, 7);
    assert.strictEqual(want[99], 27);
    clean(s, want[99] * BLOCK);
    const peer = Store.attach(s.buffer, { engine: other });
    try {
      assert.strictEqual(peer.verify().parkedUnits, want[99] * BLOCK, `the ${other} engine sees them parked`);
      for (let i = 0; i < 100; i++) assert.strictEqual(peer.get('ns', `k${i}`), valueOf(`k${i}`, 0));
    } finally {
      peer.close();
    }
  });

  it('an insert that has parked blocks completes while another process holds the allocator lock', () => {
    const s = make({ lockTimeoutMs: 2 });
    const u32 = new Uint32Array(s.buffer);
    let i = 0;
    // Until a batch of PARK_REFILL is parked (batches of 1, 2, ... PARK_REFILL / 2 come before
    // it: PARK_REFILL - 1 inserts; after the refill at the next insert, PARK_REFILL - 1 are).
    while (i < C.PARK_REFILL) s.set('ns', `k${i}`, valueOf(`k${i}`, i++));
    assert.strictEqual(s.stats().bytesParked, (C.PARK_REFILL - 1) * BLOCK * UNIT);
    const slot = 4000; // a live process that is not this one (format.md §6)
    ownAs(u32, slot, process.ppid);
    const saved = u32[ALLOC_LOCK];
    u32[ALLOC_LOCK] = lockedBy(saved, slot);
    try {
      for (let n = 0; n < C.PARK_REFILL - 1; n++) s.set('ns', `k${i}`, valueOf(`k${i}`, i++));
      assert.throws(() => s.set('ns', `k${i}`, valueOf(`k${i}`, i)), { code: 'ERR_LOCK_TIMEOUT' });
    } finally {
      u32[ALLOC_LOCK] = (saved + 2) & C.LOCK_VERSION_MASK;
      freeOwner(u32, slot);
    }
    for (let k = 0; k < i; k++) assert.strictEqual(s.get('ns', `k${k}`), valueOf(`k${k}`, k));
    assert.strictEqual(s.get('ns', `k${i}`), undefined);
    clean(s, 0);
  });

  it('a full store: the writer gives back every parked block before it refuses an insert, and no room is left', () => {
    const s = make({ size: entriesOffset(1024) + 64 * 1024, buckets: 1024 });
    let n = 0;
    assert.throws(() => {
      for (;;) {
        s.set('ns', `k${n}`, valueOf(`k${n}`, 0));
        n++;
      }
    }, { code: 'ERR_STORE_FULL' });
    const st = s.stats();
    assert.strictEqual(st.bytesParked, 0);
    assert.ok(st.bytesFree < BLOCK * UNIT, `${st.bytesFree} bytes free`);
    assert.strictEqual(st.entries, n);
    const v = clean(s, 0);
    assert.strictEqual(v.liveUnits, n * BLOCK);
  });

  it(`a ${other} handle fills the store while a ${engine} writer holds a batch: at most PARK_MAX_UNITS stay parked, and the writer's own inserts use them`, () => {
    const a = make({ size: entriesOffset(1024) + 64 * 1024, buckets: 1024 });
    const b = Store.attach(a.buffer, { engine: other });
    try {
      for (let i = 0; i < C.PARK_REFILL; i++) a.set('ns', `a${i}`, valueOf(`a${i}`, 0));
      const held = a.stats().bytesParked;
      assert.strictEqual(held, (C.PARK_REFILL - 1) * BLOCK * UNIT);
      assert.ok(held <= C.PARK_MAX_UNITS * UNIT);
      let n = 0;
      assert.throws(() => {
        for (;;) {
          b.set('ns', `b${n}`, valueOf(`b${n}`, 0));
          n++;
        }
      }, { code: 'ERR_STORE_FULL' });
      assert.strictEqual(b.stats().bytesParked, 0);
      clean(b, held / UNIT);
      for (let i = C.PARK_REFILL; i < 2 * C.PARK_REFILL - 1; i++) a.set('ns', `a${i}`, valueOf(`a${i}`, 0));
      assert.strictEqual(a.stats().bytesParked, 0);
      assert.throws(() => a.set('ns', 'one-more', valueOf('x', 0)), { code: 'ERR_STORE_FULL' });
      clean(b, 0);
    } finally {
      b.close();
    }
  });

  it(`close() returns a batch's parked blocks: a ${other} handle finds them free`, () => {
    const a = make();
    const b = Store.attach(a.buffer, { engine: other });
    try {
      for (let i = 0; i < 20; i++) a.set('ns', `k${i}`, valueOf(`k${i}`, 0));
      const parked = a.stats().bytesParked;
      assert.ok(parked > 0);
      const free = b.stats().bytesFreeLists;
      clean(b, parked / UNIT);
      a.close();
      assert.strictEqual(b.stats().bytesFreeLists, free + parked);
      clean(b, 0);
    } finally {
      b.close();
    }
  });
});

describe('batches of parked blocks across processes', function () {
  this.timeout(120000);

  for (const engine of ['native', 'js']) {
    const repairer = engine === 'native' ? 'js' : 'native';
    it(`a ${engine}-engine writer killed with SIGKILL holding a batch: a ${repairer} verify() repairs, its parked blocks are free, every insert present`, async () => {
      const name = uniqueName('batchkill');
      const store = Store.create({ name, size: 1 << 20, engine: repairer });
      let child = null;
      try {
        const keys = 20; // batches of 1, 2, 4, 8 and 16: 11 blocks left parked
        const a = announced();
        const run = inProcess({ op: 'insertAndHold', engine, name, prefix: 'K', keys }, a.onMessage, ACTOR);
        child = run.child;
        const { m } = await a.promise;
        const parked = m.held / UNIT;
        assert.strictEqual(parked, 11 * BLOCK);
        // A live writer's batch: parked, not leaked.
        clean(store, parked);
        const free = store.stats().bytesFree;
        child.kill('SIGKILL');
        await assert.rejects(run.done, /SIGKILL/);
        // verify() meets the parked blocks of a gone owner: it repairs first.
        const v = clean(store, 0);
        assert.strictEqual(v.entries, keys);
        assert.strictEqual(store.stats().bytesFree, free + parked * UNIT);
        for (let k = 0; k < keys; k++) assert.strictEqual(store.get('data', `K${k}`), valueOf(`K${k}`, 0));
      } finally {
        if (child) child.kill('SIGKILL');
        store.close();
        Segment.unlink({ name });
      }
    });
  }
});
