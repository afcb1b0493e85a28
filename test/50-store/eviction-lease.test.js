'use strict';
// The room lease (docs/format.md §8, "The room lease"): one write at a time makes room by joined
// runs. Two writes making room for large values at once took each other's freed blocks into their
// runs, and each one's join changed the stamp the other's run started with: both runs kept
// breaking and both writes evicted up to their bounds. Two 1 MiB values set at once into a full
// 8 MiB store of 100-byte entries (a room of 14,566 entries for both) evicted 16,001 to 49,102
// entries (the whole store), now exactly their room. A lease whose holder is gone is taken over
// at once; one a live holder keeps is waited for at most lockTimeoutMs, and the write goes on
// without it.
const assert = require('assert');
const path = require('path');
const { Worker } = require('worker_threads');
const { Store } = require('../../lib/store/store');
const { Segment } = require('../../lib/segment/segment');
const { C, AT, BASE, W, CLASS_UNITS } = require('../../lib/layout/layout');
const { unitsForLarge } = require('../../lib/store/js/large');
const { classFor } = require('../../lib/store/js/alloc');
const { forEachEngine, assertSoundForBoth, uniqueName } = require('../helpers/engines');
const { exitedPid, spawnChild, until } = require('../helpers/process');
const { pidWord, tidWord, ownAs, lockedBy } = require('../helpers/store-bytes');

const ROOM_LEASE = AT.EVICT_STATE.ROOM_LEASE;
const SMALL = 'v'.repeat(100);
const keyOf = (i) => `k${String(i).padStart(12, '0')}`;
const ENTRY_UNITS = CLASS_UNITS[classFor(C.ENTRY_HEADER_SIZE + keyOf(0).length + SMALL.length)];
// The 100-byte entries whose space a value of `bytes` needs (as eviction-moves.test.js).
const roomOf = (bytes) => Math.ceil(unitsForLarge(bytes) / ENTRY_UNITS);
const VALUE = 1 << 20;
const held = (w) => (w & 1) !== 0;
const ownerOf = (w) => w >>> C.LOCK_OWNER_SHIFT;
const stateWord = (o) => BASE.OWNER + o * W.OWNER.WORDS + W.OWNER.STATE;

// Fills store `s` with 100-byte entries of the evictable namespace 'c' until it is full (its first
// eviction would come next); 'big' is pinned, so that the large values set into it never evict
// each other. Returns the number of entries.
function fill(s) {
  s.namespace('big', { eviction: 'none' });
  let n = 0;
  while (s.stats().entries === n) {
    s.set('c', keyOf(n), SMALL);
    n++;
  }
  return n;
}

const evictions = (s) => s.stats().namespaceStats.c.evictions;

forEachEngine('the room lease: two large writers at once', ({ engine, make, other }) => {
  const WORKER = `
    const { workerData, parentPort } = require('worker_threads');
    const { Store } = require(workerData.lib);
    // A long lockTimeoutMs: the writer that waits for the other's lease gives up only after a
    // quarter of it, and making room takes a while on a loaded machine.
    const s = Store.attach(workerData.buffer, { engine: workerData.engine, lockTimeoutMs: 20000 });
    const go = new Int32Array(workerData.go);
    Atomics.add(go, 0, 1);
    while (Atomics.load(go, 0) < 2);
    let error = null;
    try {
      s.set('big', workerData.key, Buffer.alloc(${VALUE}, workerData.key.length));
    } catch (err) {
      error = err.code || String(err);
    }
    s.close();
    parentPort.postMessage(error);
  `;
  const lib = path.join(__dirname, '..', '..', 'lib', 'store', 'store');
  const run = (buffer, key, go, eng) => new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { eval: true, workerData: { lib, buffer, engine: eng, key, go } });
    w.once('message', resolve);
    w.once('error', reject);
  });
  // One full store, filled once and closed; each run attaches a copy of its bytes.
  let full = null;
  let entries = 0;
  before(function () {
    this.timeout(30000); // filling with the pure-JS engine on a loaded machine
    const s = make({ size: 8 << 20, maxEntries: 200000, eviction: 'auto' });
    entries = fill(s);
    const bytes = new Uint8Array(s.buffer);
    s.close();
    full = bytes.slice();
  });
  const copy = () => {
    const buffer = new SharedArrayBuffer(full.length);
    new Uint8Array(buffer).set(full);
    return Store.attach(buffer, { engine });
  };
  const room = 2 * roomOf(VALUE);

  const twoAtOnce = async (engines, label) => {
    const s = copy();
    try {
      const before = evictions(s);
      const go = new SharedArrayBuffer(4);
      const errors = await Promise.all([run(s.buffer, 'one', go, engines[0]), run(s.buffer, 'other', go, engines[1])]);
      assert.deepStrictEqual(errors, [null, null], label);
      assert.ok(s.get('big', 'one')?.equals(Buffer.alloc(VALUE, 3)), label);
      assert.ok(s.get('big', 'other')?.equals(Buffer.alloc(VALUE, 5)), label);
      const evicted = evictions(s) - before;
      assert.ok(evicted >= room && evicted <= Math.floor(1.01 * room),
        `${label}: ${evicted} of ${entries} entries evicted for the room of ${room}`);
      assert.ok(!held(Atomics.load(new Uint32Array(s.buffer), ROOM_LEASE)), `${label}: the lease is free`);
      assertSoundForBoth(s, other);
    } finally {
      s.close();
    }
  };

  it('both values are stored and the two evict their room (at most 1.01 times it), over 5 runs', async function () {
    this.timeout(60000);
    for (let r = 0; r < 5; r++) await twoAtOnce([engine, engine], `run ${r}`);
  });

  it(`the same with one thread of each engine (${engine} and ${other})`, async function () {
    this.timeout(30000);
    await twoAtOnce([engine, other], 'mixed');
  });

  it('the same with the two writers in processes, over 2 runs', async function () {
    this.timeout(60000);
    const setter = path.join(__dirname, '..', 'helpers', 'children', 'big-setter.js');
    for (let r = 0; r < 2; r++) {
      const name = uniqueName('lease2p');
      const goName = uniqueName('lease2go');
      const seg = Segment.create({ name, size: full.length });
      const go = Segment.create({ name: goName, size: 4096 });
      let s = null;
      try {
        new Uint8Array(seg.buffer).set(full);
        s = Store.open({ name, engine });
        const before = evictions(s);
        const kids = ['one', 'other'].map((key) => spawnChild(setter, [name, engine, goName, 2, key, VALUE]));
        const results = await Promise.all(kids.map((k) => k.exited));
        assert.deepStrictEqual(results.map((x) => x.out), ['ok', 'ok'], `run ${r}: ${results.map((x) => x.err).join(' ')}`);
        assert.ok(s.get('big', 'one')?.equals(Buffer.alloc(VALUE, 3)), `run ${r}`);
        assert.ok(s.get('big', 'other')?.equals(Buffer.alloc(VALUE, 5)), `run ${r}`);
        const evicted = evictions(s) - before;
        assert.ok(evicted >= room && evicted <= Math.floor(1.01 * room),
          `run ${r}: ${evicted} of ${entries} entries evicted for the room of ${room}`);
        assertSoundForBoth(s, other);
      } finally {
        if (s) s.close();
        seg.close();
        go.close();
        Segment.unlink({ name });
        Segment.unlink({ name: goName });
      }
    }
  });
});

forEachEngine('the room lease: who takes it', ({ make, other }) => {
  // A 2 MiB store full of 100-byte entries, and the word of its lease.
  const small = (opts) => {
    const s = make({ size: 2 << 20, maxEntries: 100000, eviction: 'auto', ...opts });
    fill(s);
    return { s, u32: new Uint32Array(s.buffer) };
  };

  it('a large write takes it and gives it back; a small one that evicts an entry of its class does not touch it', function () {
    this.timeout(20000);
    const { s, u32 } = small();
    const w0 = Atomics.load(u32, ROOM_LEASE);
    s.set('c', 'one more', SMALL); // evicts one entry of its class (step 1)
    assert.strictEqual(Atomics.load(u32, ROOM_LEASE), w0);
    s.set('big', 'v', Buffer.alloc(256 << 10, 1));
    const w1 = Atomics.load(u32, ROOM_LEASE);
    assert.ok(!held(w1) && ownerOf(w1) === 0, `lease word ${w1.toString(16)}`);
    assert.notStrictEqual(w1, w0, 'taken and released: its version moved');
    assert.ok(s.get('big', 'v').equals(Buffer.alloc(256 << 10, 1)));
    assertSoundForBoth(s, other);
  });

  it('a refused write gives it back too', function () {
    this.timeout(20000);
    // Three entries in four pinned: evicting every other one frees about half a MiB, and the
    // 1 MiB value is refused after its evictions, which took the lease.
    const s = make({ size: 2 << 20, maxEntries: 100000, eviction: 'auto' });
    s.namespace('p', { eviction: 'none' });
    const u32 = new Uint32Array(s.buffer);
    for (let n = 0; s.stats().entries === n; n++) s.set(n % 4 === 0 ? 'c' : 'p', keyOf(n), SMALL);
    const w0 = Atomics.load(u32, ROOM_LEASE);
    const before = evictions(s);
    assert.throws(() => s.set('p', 'big', Buffer.alloc(VALUE)), (err) => err.code === 'ERR_STORE_FULL');
    assert.ok(evictions(s) > before, 'it evicted before it was refused');
    const w = Atomics.load(u32, ROOM_LEASE);
    assert.ok(!held(w) && w !== w0, `taken and given back: lease word ${w.toString(16)}`);
    assertSoundForBoth(s, other);
  });

  it('a lease left by a process that ended is taken over: the large value is stored', function () {
    this.timeout(20000);
    // A lockTimeoutMs of a minute: a write that waited it out instead of taking the lease over
    // would run past the test's timeout.
    const { s, u32 } = small({ lockTimeoutMs: 60000 });
    const slot = 4000;
    u32[pidWord(slot)] = exitedPid();
    u32[tidWord(slot)] = 1;
    u32[ROOM_LEASE] = lockedBy(u32[ROOM_LEASE], slot);
    s.set('big', 'v', Buffer.alloc(256 << 10, 2));
    assert.ok(s.get('big', 'v').equals(Buffer.alloc(256 << 10, 2)));
    const w = Atomics.load(u32, ROOM_LEASE);
    assert.ok(!held(w), `taken over and released: lease word ${w.toString(16)}`);
    assertSoundForBoth(s, other);
  });

  it('a lease of a thread marked dead is taken over, and a repair pass releases one a gone holder left', function () {
    this.timeout(20000);
    const { s, u32 } = small({ lockTimeoutMs: 60000 });
    const slot = 4001;
    ownAs(u32, slot, process.pid, 77); // a thread of this process
    u32[stateWord(slot)] = C.OWNER_STATE_DEAD; // ended, and marked dead by its host (format.md §6)
    u32[ROOM_LEASE] = lockedBy(u32[ROOM_LEASE], slot);
    s.set('big', 'v', Buffer.alloc(256 << 10, 3));
    assert.ok(s.get('big', 'v').equals(Buffer.alloc(256 << 10, 3)));
    assert.ok(!held(Atomics.load(u32, ROOM_LEASE)));
    // Left again by the dead thread: the repair pass releases it before it frees the slot.
    u32[ROOM_LEASE] = lockedBy(u32[ROOM_LEASE], slot);
    s.repair();
    assert.ok(!held(Atomics.load(u32, ROOM_LEASE)), 'released by the repair pass');
    assert.strictEqual(u32[pidWord(slot)], 0, 'the slot was freed');
    assertSoundForBoth(s, other);
  });
});

// A lease held by another process: killed with SIGKILL while it holds it, the lease is taken over
// at once; alive and never letting go, a write waits lockTimeoutMs / ROOM_LEASE_WAIT_SHARE and goes
// on without it.
for (const engine of ['native', 'js']) {
  describe(`the room lease held by another process [${engine} engine]`, function () {
    const holderScript = path.join(__dirname, '..', 'helpers', 'children', 'lease-holder.js');
    const withHolder = async (lockTimeoutMs, body) => {
      const name = uniqueName('lease');
      const s = Store.create({ name, size: 2 << 20, maxEntries: 100000, eviction: 'auto', engine, lockTimeoutMs });
      const holder = spawnChild(holderScript, [name]);
      try {
        fill(s);
        await until(() => holder.output().includes('held'), 'the holder to take the lease');
        await body(s, new Uint32Array(s.buffer), holder);
      } finally {
        holder.c.kill('SIGKILL');
        await holder.exited;
        s.close();
        Segment.unlink({ name });
      }
    };

    it('killed with SIGKILL while it holds the lease: a large write takes it over and stores its value', async function () {
      this.timeout(20000);
      // A lockTimeoutMs of a minute: a write that waited it out instead of taking the lease over
      // would run past the test's timeout.
      await withHolder(60000, async (s, u32, holder) => {
        holder.c.kill('SIGKILL');
        await holder.exited;
        assert.ok(held(Atomics.load(u32, ROOM_LEASE)), 'left held by the killed holder');
        s.set('big', 'v', Buffer.alloc(256 << 10, 4));
        assert.ok(s.get('big', 'v').equals(Buffer.alloc(256 << 10, 4)));
        assert.ok(!held(Atomics.load(u32, ROOM_LEASE)), 'taken over and released');
        const v = s.verify();
        assert.ok(v.ok, v.errors.join('\n'));
      });
    });

    it('alive and never letting go: a large write waits lockTimeoutMs / ROOM_LEASE_WAIT_SHARE, goes on without the lease and stores its value', async function () {
      this.timeout(20000);
      await withHolder(800, async (s, u32) => {
        const w = Atomics.load(u32, ROOM_LEASE);
        assert.ok(held(w));
        const t0 = performance.now();
        s.set('big', 'v', Buffer.alloc(256 << 10, 6));
        // It waited (a write that ignored the lease would not); a lower bound only.
        const waited = performance.now() - t0;
        assert.ok(waited >= 0.9 * (800 / C.ROOM_LEASE_WAIT_SHARE), `the write took ${waited} ms`);
        assert.ok(s.get('big', 'v').equals(Buffer.alloc(256 << 10, 6)));
        // Not taken over: the live holder keeps it.
        assert.strictEqual(Atomics.load(u32, ROOM_LEASE), w);
        const v = s.verify();
        assert.ok(v.ok, v.errors.join('\n'));
      });
    });
  });
}
