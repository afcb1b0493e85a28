'use strict';
// Barrier (docs/api.md "Barrier"; bytes and protocol: docs/format.md §13.4).
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Barrier, ShmError } = require('../../index');
const { C, W } = require('../../lib/layout/layout');
const { addon } = require('../../lib/base/native');
const { uniqueName, removeShm, tempDir, segmentUse } = require('../helpers/process');
const { openWhileCreated, fileOf } = require('../helpers/late-creation');
const { actor, allSay } = require('../helpers/sync-actors');
const { duringFirstVerdict } = require('../helpers/verdicts');

const withAddon = addon ? describe : describe.skip;
const B = Barrier.BYTES;
const RECOVERY_BOUND_MS = 5000;
const isBroken = (e) => e instanceof ShmError && e.code === 'ERR_BARRIER_BROKEN' && e.status === 24;

function sab() {
  return new SharedArrayBuffer(B + 64);
}

async function lockstep(where, barrier, rounds) {
  const w = new Int32Array(barrier.buffer, B, 16);
  const parties = where.length;
  const actors = where.map((x, party) => actor('bar-lockstep', x, { barrier: 0, words: B, party, parties, rounds }));
  await allSay(actors, 'done');
  assert.strictEqual(Atomics.load(w, 0), 0, 'a party passed a barrier before another had arrived');
  assert.strictEqual(barrier.generation, 2 * rounds);
}

describe('Barrier', () => {
  it('lets the parties go together, one of them the leader, generation after generation', async () => {
    const buffer = sab();
    const a = Barrier.create({ buffer, parties: 2 });
    const b = Barrier.open({ buffer });
    assert.strictEqual(b.parties, 2);
    for (let g = 0; g < 3; g++) {
      const p = a.waitAsync(10000);
      assert.strictEqual(b.arrived, 1);
      assert.deepStrictEqual(b.wait(10000), { leader: true });
      assert.deepStrictEqual(await p, { leader: false });
    }
    assert.strictEqual(a.generation, 3);
    assert.strictEqual(a.arrived, 0);
    const one = Barrier.create({ buffer: sab(), parties: 1 });
    assert.deepStrictEqual(one.wait(), { leader: true });
    a.close();
    b.close();
    one.close();
  });

  it('a wait that times out breaks the barrier for the others until reset()', async () => {
    const buffer = sab();
    const a = Barrier.create({ buffer, parties: 3 });
    const b = Barrier.open({ buffer });
    const p = a.waitAsync(10000);
    assert.throws(() => b.wait(40), (e) => e instanceof ShmError && e.code === 'ERR_LOCK_TIMEOUT');
    await assert.rejects(p, isBroken);
    assert.strictEqual(a.broken, true);
    assert.throws(() => b.wait(10), isBroken);
    // The Promise form rejects on a broken barrier (a .catch() or Promise.all sees it), never throws.
    let broken;
    assert.doesNotThrow(() => { broken = b.waitAsync(10); });
    await assert.rejects(broken, isBroken);
    assert.strictEqual(a.breaks, 1);
    a.reset(2);
    assert.strictEqual(a.broken, false);
    const q = a.waitAsync(10000);
    assert.deepStrictEqual(b.wait(10000), { leader: true });
    assert.deepStrictEqual(await q, { leader: false });
    a.close();
    b.close();
  });

  it('an aborted waitAsync and a reset() during a wait break it for the waiting parties', async () => {
    const buffer = sab();
    const a = Barrier.create({ buffer, parties: 3 });
    const b = Barrier.open({ buffer });
    const ac = new AbortController();
    const p = a.waitAsync(10000, { signal: ac.signal });
    const q = b.waitAsync(10000);
    ac.abort();
    await assert.rejects(p, { name: 'AbortError' });
    await assert.rejects(q, isBroken);
    a.reset();
    const r = b.waitAsync(10000);
    a.reset();
    await assert.rejects(r, isBroken);
    // A handle closed while its wait is pending breaks it too.
    a.reset();
    const c = Barrier.open({ buffer });
    const pc = c.waitAsync(10000);
    const pb = b.waitAsync(10000);
    c.close();
    await assert.rejects(pc, { code: 'ERR_CLOSED' });
    await assert.rejects(pb, isBroken);
    a.close();
    b.close();
  });

  it('a waitAsync given a signal aborted already rejects with its reason, without arriving', async () => {
    const buffer = sab();
    const a = Barrier.create({ buffer, parties: 2 });
    const b = Barrier.open({ buffer });
    const reason = new Error('stopped before the wait');
    let p;
    assert.doesNotThrow(() => { p = a.waitAsync(10000, { signal: AbortSignal.abort(reason) }); });
    await assert.rejects(p, (e) => e === reason);
    assert.strictEqual(a.arrived, 0);
    assert.strictEqual(a.broken, false);
    const q = b.waitAsync(10000);
    assert.deepStrictEqual(a.wait(10000), { leader: true });
    assert.deepStrictEqual(await q, { leader: false });
    a.close();
    b.close();
  });

  // A wait that timed out at its first look (timeout 0), its handle closed before the wait's
  // continuation ran: close() left its generation, and the continuation must not leave it again
  // through a handle that no longer owns a slot.
  for (const own of [false, true]) {
    // A segment needs the addon: without it only the SharedArrayBuffer case runs.
    (own && !addon ? it.skip : it)(`a wait that timed out, its handle closed before it settled, rejects with ERR_CLOSED and breaks the barrier once (${own ? 'own segment' : 'SharedArrayBuffer'})`, async () => {
      const name = own ? uniqueName('barrier-closed-timeout') : undefined;
      const buffer = own ? undefined : sab();
      const b = own ? Barrier.create({ name, parties: 3 }) : Barrier.create({ buffer, parties: 3 });
      const a = own ? Barrier.open({ name }) : Barrier.open({ buffer });
      try {
        const p = a.waitAsync(0);
        a.close();
        await assert.rejects(p, { code: 'ERR_CLOSED' });
        assert.strictEqual(b.broken, true);
        assert.strictEqual(b.breaks, 1);
        b.reset();
        assert.strictEqual(b.broken, false);
      } finally {
        b.close();
        if (own) removeShm(name);
      }
    });
  }

  // Tasks sharing a handle: its second wait arrives in the next generation before its first, whose
  // generation passed, has looked. Closing the handle after the first returned leaves the second's
  // arrival, which nobody will make good: the barrier breaks, instead of letting another party
  // through with it.
  it('closing a handle breaks the barrier for a wait of it in a later generation than another wait of it', async () => {
    const buffer = sab();
    const a = Barrier.create({ buffer, parties: 2 });
    const b = Barrier.open({ buffer });
    const c = Barrier.open({ buffer });
    const first = a.waitAsync(10000);
    assert.deepStrictEqual(b.wait(10000), { leader: true });
    const second = a.waitAsync(10000);
    assert.deepStrictEqual(await first, { leader: false });
    a.close();
    await assert.rejects(second, { code: 'ERR_CLOSED' });
    assert.strictEqual(c.broken, true);
    assert.throws(() => c.wait(10000), isBroken);
    b.close();
    c.close();
  });

  // The leader's wait returns at once; the other party's async wait looks only a tick later, by
  // when the next generation may be broken or reset: its own generation passed all the same.
  it('a party whose generation passed is let go even if the next one breaks or is reset before it looks', async () => {
    const ends = {
      'broken by a timeout': (b) => assert.throws(() => b.wait(0), { code: 'ERR_LOCK_TIMEOUT' }),
      reset: (b) => b.reset(),
      'broken, then reset': (b) => { assert.throws(() => b.wait(0), { code: 'ERR_LOCK_TIMEOUT' }); b.reset(); },
    };
    for (const [how, end] of Object.entries(ends)) {
      const buffer = sab();
      const a = Barrier.create({ buffer, parties: 2 });
      const b = Barrier.open({ buffer });
      const p = a.waitAsync(10000);
      assert.deepStrictEqual(b.wait(10000), { leader: true });
      end(b);
      assert.deepStrictEqual(await p, { leader: false }, how);
      a.close();
      b.close();
    }
    // A waiter of a generation that is reset is still told it was broken, after a reset or two.
    for (const resets of [1, 2]) {
      const buffer = sab();
      const a = Barrier.create({ buffer, parties: 2 });
      const b = Barrier.open({ buffer });
      const p = a.waitAsync(10000);
      for (let i = 0; i < resets; i++) b.reset();
      await assert.rejects(p, isBroken);
      a.close();
      b.close();
    }
  });

  // With more handles taking part than `parties`, generations after a waiter's can pass without
  // it: how far the generation moved no longer tells how its own ended, the recorded outcome does.
  it('with more handles than parties, a late waiter is told how its own generation ended', async () => {
    const buffer = sab();
    const a = Barrier.create({ buffer, parties: 2 });
    const b = Barrier.open({ buffer });
    const c = Barrier.open({ buffer });
    // a's generation passes; the next one passes too (b and c) before a looks: moved by two.
    const p = a.waitAsync(10000);
    assert.deepStrictEqual(b.wait(10000), { leader: true });
    const q = c.waitAsync(10000);
    assert.deepStrictEqual(b.wait(10000), { leader: true });
    assert.deepStrictEqual(await p, { leader: false });
    assert.deepStrictEqual(await q, { leader: false });
    // a's generation is reset, and the one after the reset passes before a looks: moved by three.
    const r = assert.rejects(a.waitAsync(10000), isBroken);
    b.reset();
    const t = c.waitAsync(10000);
    assert.deepStrictEqual(b.wait(10000), { leader: true });
    await r;
    assert.deepStrictEqual(await t, { leader: false });
    // Thirty generations pass after a's before it looks: still within what the barrier records.
    const u = a.waitAsync(10000);
    assert.deepStrictEqual(b.wait(10000), { leader: true });
    for (let i = 0; i < 29; i++) {
      const w = c.waitAsync(10000);
      assert.deepStrictEqual(b.wait(10000), { leader: true });
      assert.deepStrictEqual(await w, { leader: false });
    }
    assert.deepStrictEqual(await u, { leader: false });
    for (const x of [a, b, c]) x.close();
  });

  it('refuses a region of the version before the recorded outcomes (ERR_BAD_VERSION)', () => {
    const buffer = sab();
    Barrier.create({ buffer, parties: 2 }).close();
    const version = new Uint32Array(buffer, 0, 16);
    Atomics.store(version, W.SYNC_HEADER.VERSION, C.SYNC_BARRIER_VERSION - 1);
    assert.throws(() => Barrier.open({ buffer }), { code: 'ERR_BAD_VERSION' });
  });

  it('a party that closes its handle as an arriving party judges its record does not break it', async () => {
    // The arrival looks for parties that are gone; one closes (it has passed its last wait) just
    // as its record is judged. Judged from the slot again, its released record read as gone and
    // the arrival broke the barrier for everyone.
    const buffer = sab();
    const a = Barrier.create({ buffer, parties: 2 });
    const b = Barrier.open({ buffer });
    const c = Barrier.open({ buffer });
    const { result: p, judged } = duringFirstVerdict(() => b.close(), () => {}, () => a.waitAsync(10000));
    assert.ok(judged >= 1, 'the arrival judged the other parties');
    assert.strictEqual(a.broken, false);
    assert.deepStrictEqual(c.wait(10000), { leader: true });
    assert.deepStrictEqual(await p, { leader: false });
    a.close();
    c.close();
  });

  it('generations in lockstep: 4 workers, 300 generations', async () => {
    const buffer = sab();
    const barrier = Barrier.create({ buffer, parties: 4 });
    await lockstep([1, 2, 3, 4].map(() => ({ buffer })), barrier, 150);
    barrier.close();
  });

  (addon ? it : it.skip)('a worker party terminated: the waiting parties get ERR_BARRIER_BROKEN', async () => {
    const buffer = sab();
    const barrier = Barrier.create({ buffer, parties: 3 });
    const h = actor('bar-hold', { buffer }, { barrier: 0, arrive: false });
    assert.strictEqual(await h.next(), 'ready');
    const p = barrier.waitAsync(30000);
    await h.kill();
    await assert.rejects(p, isBroken);
    barrier.close();
  });

  withAddon('across processes', () => {
    let name;
    beforeEach(() => { name = uniqueName('bar'); });
    afterEach(() => removeShm(name));

    it('generations in lockstep: 2 processes and 2 workers, 300 generations', async () => {
      const barrier = Barrier.create({ name, size: B + 64, parties: 4 });
      const { buffer } = barrier;
      await lockstep([{ name }, { buffer }, { name }, { buffer }], barrier, 150);
      barrier.close();
    });

    it('parties killed with SIGKILL at random moments break the barrier for the others within the bound; reset() mends it', async () => {
      const barrier = Barrier.create({ name, size: B + 64, parties: 3 });
      for (let round = 0; round < 3; round++) {
        const arrived = actor('bar-hold', { name }, { barrier: 0, arrive: true });
        const working = actor('bar-hold', { name }, { barrier: 0, arrive: false });
        assert.strictEqual(await arrived.next(), 'ready');
        assert.strictEqual(await working.next(), 'ready');
        const waiting = barrier.waitAsync(30000);
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 80)));
        const t0 = performance.now();
        working.kill(); // a party that will never arrive
        await assert.rejects(waiting, isBroken);
        assert.ok(performance.now() - t0 < RECOVERY_BOUND_MS);
        assert.strictEqual(await arrived.next(), 'ERR_BARRIER_BROKEN'); // the other waiter is told too
        arrived.kill();
        await arrived.exited;
        await working.exited;
        barrier.reset();
      }
      assert.strictEqual(barrier.breaks, 3);
      // Mended: with the dead parties' slots freed, two parties meet again.
      barrier.reset(2);
      const other = Barrier.open({ name });
      const p = other.waitAsync(10000);
      assert.deepStrictEqual(barrier.wait(10000), { leader: true });
      assert.deepStrictEqual(await p, { leader: false });
      other.close();
      barrier.close();
    });
  });

  withAddon('parties killed in the middle of busy generations', () => {
    let name;
    beforeEach(() => { name = uniqueName('bar'); });
    afterEach(() => removeShm(name));

    it('a process killed with SIGKILL at a random moment: every other party is told ERR_BARRIER_BROKEN, none hangs', async () => {
      for (let round = 0; round < 3; round++) {
        const barrier = Barrier.create({ name, size: B + 64, parties: 3 });
        const { buffer } = barrier;
        const victim = actor('bar-busy', { name }, { barrier: 0 });
        const others = [actor('bar-busy', { name }, { barrier: 0 }), actor('bar-busy', { buffer }, { barrier: 0 })];
        await allSay([victim, ...others], 'ready');
        await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 200)));
        victim.kill();
        await victim.exited;
        const t0 = performance.now();
        await allSay(others, 'ERR_BARRIER_BROKEN');
        assert.ok(performance.now() - t0 < RECOVERY_BOUND_MS);
        assert.strictEqual(barrier.broken, true);
        await Promise.all(others.map((o) => o.exited));
        barrier.close();
        removeShm(name);
      }
    });
  });

  // A creator makes its segment with 0 bytes, sizes it next and then stamps the region with its
  // parties (docs/format.md §13, "Opening a segment", "Stamping"). Only the creator may stamp a
  // barrier, so an opener that comes after the size but before the stamp waits for the stamp
  // (within the same 1 s as for the size), instead of refusing the creator's barrier as a region
  // that holds none (ERR_BAD_MAGIC).
  withAddon('an open while the creator is part way', () => {
    let dir;
    let cleanup;
    beforeEach(() => ({ dir, cleanup } = tempDir()));
    afterEach(() => cleanup());

    const targets = {
      'a file': () => ({ path: path.join(dir, 'barrier') }),
      'a shared memory segment': () => ({ name: uniqueName('bar-late') }),
    };
    for (const [what, targetOf] of Object.entries(targets)) {
      it(`open of ${what} its creator has made but not yet sized nor stamped waits, reads the creator's parties, and a round with the creator completes`, async () => {
        const target = targetOf();
        try {
          fs.writeFileSync(fileOf(target), '');
          // The opener's handle sees parties 2 and ends the round the creator's arrival began,
          // as its leader; the creator is let go as a party that did not lead.
          const got = await openWhileCreated('Barrier', target);
          assert.ifError(got.error);
          assert.strictEqual(got.seen, true);
        } finally {
          if (target.name !== undefined) removeShm(target.name);
        }
      });
    }

    it('an open of a segment never sized is ERR_BAD_SIZE, of one sized but never stamped ERR_BAD_MAGIC, after the wait; neither leaves a mapping or a descriptor', () => {
      const name = uniqueName('bar-unstamped');
      try {
        fs.writeFileSync(fileOf({ name }), '');
        const before = segmentUse(name);
        assert.throws(() => Barrier.open({ name }), { code: 'ERR_BAD_SIZE' });
        fs.truncateSync(fileOf({ name }), B);
        assert.throws(() => Barrier.open({ name }), { code: 'ERR_BAD_MAGIC' });
        assert.deepStrictEqual(segmentUse(name), before);
        // Nothing was stamped by the opener: a creator on the same bytes still makes its barrier.
        assert.ok(fs.readFileSync(fileOf({ name })).every((x) => x === 0));
      } finally {
        removeShm(name);
      }
    });
  });

  it('bad arguments', () => {
    const invalid = (cls) => (e) => e instanceof cls && e.code === 'ERR_INVALID_ARG';
    assert.throws(() => Barrier.create({ buffer: sab() }), invalid(TypeError));
    assert.throws(() => Barrier.create({ buffer: sab(), parties: 0 }), invalid(RangeError));
    assert.throws(() => Barrier.create({ buffer: sab(), parties: '2' }), invalid(TypeError));
    assert.throws(() => Barrier.open({ buffer: sab() }), { code: 'ERR_BAD_MAGIC' }); // never created
    assert.throws(() => Barrier.open({ buffer: sab(), parties: 2 }), invalid(TypeError));
    const buffer = sab();
    const b = Barrier.create({ buffer, parties: 2 });
    assert.throws(() => Barrier.create({ buffer, parties: 2 }), { code: 'ERR_SHM_EXISTS' });
    assert.throws(() => b.wait(-1), invalid(RangeError));
    assert.throws(() => b.reset(0), invalid(RangeError));
    assert.throws(() => b.waitAsync(1, { signal: 5 }), invalid(TypeError));
    assert.strictEqual(b.arrived, 0);
    b.close();
    assert.throws(() => b.wait(), { code: 'ERR_CLOSED' });
  });
});
