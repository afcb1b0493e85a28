'use strict';
// Compaction moves large values (format.md §8, "Compaction", "Large blocks"), in both engines on
// the same bytes: a store holding large values between holes gets contiguous free space back;
// readers in other processes and a worker see every large value exactly once and whole while
// they move; a process killed with SIGKILL in the middle of large moves leaves a store that
// verify() finds clean, with every acknowledged large value present.
const assert = require('assert');
const path = require('path');
const { Store } = require('../../lib/store/store');
const { Segment } = require('../../lib/segment/segment');
const { uniqueName, tempDir } = require('../helpers/process');
const { inProcess, inWorker: inWorkerOf, announced, killRounds } = require('../helpers/actors');
const { bigValueFor } = require('../helpers/values');

const ACTOR = path.join(__dirname, '..', 'helpers', 'children', 'compact-actor.js');
const BIG = 24;

// A store whose `big` keys b0.. lie between holes: each was written after a temporary large
// value that is deleted again. BIG pairs, or as many as fit (`big` says how many were written).
let big = BIG;
function holey(opts) {
  const store = Store.create({ ...(opts.buffer ? {} : { size: 6 << 20 }), maxEntries: 2000, buckets: 256, ...opts });
  big = 0;
  try {
    for (; big < BIG; big++) {
      store.set('tmp', `t${big}`, bigValueFor('t', big));
      store.set('big', `b${big}`, bigValueFor('b', big));
    }
  } catch (err) {
    if (err.code !== 'ERR_STORE_FULL') throw err;
  }
  for (let i = 0; i <= big; i++) store.delete('tmp', `t${i}`);
  return store;
}

function checkBig(store) {
  const v = store.verify();
  assert.ok(v.ok, v.errors.join('\n'));
  assert.strictEqual(store.count('big'), big);
  for (let i = 0; i < big; i++) assert.ok(store.get('big', `b${i}`).equals(bigValueFor('b', i)), `b${i}`);
}

describe('compaction of large values', function () {
  this.timeout(120000);

  for (const engine of ['native', 'js']) {
    const other = engine === 'js' ? 'native' : 'js';
    it(`${engine}: a sweep moves large values out of its windows and the largest free block grows`, () => {
      // Full: the space after the last block is smaller than a value, the holes hold one each.
      const store = holey({ buffer: new SharedArrayBuffer(3 << 20), engine });
      assert.ok(big >= 8 && big < BIG, `${big} values`);
      try {
        const before = store.stats();
        const r = store.compact();
        assert.ok(r.done);
        assert.ok(r.movedEntries >= big / 2, JSON.stringify(r));
        // Each hole holds one value of at most 82,000 bytes: a run of several is larger.
        assert.ok(r.bytesLargestFree > 3 * 82000, JSON.stringify(r));
        assert.ok(r.bytesLargestFree > r.bytesLargestFreeBefore, JSON.stringify(r));
        assert.strictEqual(store.stats().bytesLive, before.bytesLive);
        checkBig(store);
        // The other engine reads the moved values and finds the store sound.
        const peer = Store.attach(store.buffer, { engine: other });
        checkBig(peer);
        peer.close();
      } finally {
        store.close();
      }
    });

    it(`${engine}: sweeps by both engines in turn, with values replaced between them, keep every value`, () => {
      const store = holey({ buffer: new SharedArrayBuffer(6 << 20), engine });
      const peer = Store.attach(store.buffer, { engine: other });
      try {
        for (let round = 0; round < 4; round++) {
          const s = round % 2 ? peer : store;
          // A value replaced (a new large block, the old one freed) and one deleted and re-set.
          s.set('big', `b${round}`, bigValueFor('b', round));
          s.delete('big', `b${big - 1 - round}`);
          s.set('big', `b${big - 1 - round}`, bigValueFor('b', big - 1 - round));
          const r = s.compact();
          assert.ok(r.done && r.movedEntries > 0, JSON.stringify(r));
          checkBig(store);
          checkBig(peer);
        }
      } finally {
        peer.close();
        store.close();
      }
    });
  }

  it('readers of both engines in other processes and a worker see every large value whole, once, while they move', async () => {
    const name = uniqueName('compactbig');
    const store = holey({ name, engine: 'native' });
    try {
      const ms = 2000;
      const task = { op: 'readLarge', name, big: BIG, ms };
      const started = [announced(), announced(), announced()];
      const readers = [
        inProcess({ ...task, engine: 'native' }, started[0].onMessage, ACTOR).done,
        inProcess({ ...task, engine: 'js' }, started[1].onMessage, ACTOR).done,
        inWorkerOf({ ...task, name: undefined, buffer: store.buffer, engine: 'js' }, started[2].onMessage, ACTOR).done,
      ];
      await Promise.all(started.map((a) => a.promise));
      const compactors = [
        inProcess({ op: 'compactLarge', engine: 'js', name, maxBytes: 65536, bigChurn: 4, ms }, undefined, ACTOR).done,
        inWorkerOf({ op: 'compactLarge', engine: 'native', buffer: store.buffer, maxBytes: 65536, bigChurn: 4, ms }, undefined, ACTOR).done,
      ];
      const c = await Promise.all(compactors);
      const r = await Promise.all(readers);
      assert.ok(c[0].moved + c[1].moved > 0, `values were moved: ${JSON.stringify(c)}`);
      for (const x of r) {
        assert.deepStrictEqual({ bad: x.bad, missing: x.missing, listingErrors: x.listingErrors },
          { bad: 0, missing: 0, listingErrors: 0 }, JSON.stringify(x));
        assert.ok(x.reads > 0 && x.listings > 0);
      }
      checkBig(store);
    } finally {
      store.close();
      Segment.unlink({ name });
    }
  });

  for (const engine of ['native', 'js']) {
    it(`a ${engine}-engine process killed with SIGKILL while moving large values: verify() clean, every acknowledged value present`, async () => {
      const { dir, cleanup } = tempDir();
      const name = uniqueName('compactbigkill');
      const store = holey({ name, size: 16 << 20, engine: 'native', lockTimeoutMs: 200 });
      try {
        const task = { op: 'compactLargeUntilKilled', engine, name, maxBytes: 65536, lockTimeoutMs: 200 };
        await killRounds(task, ACTOR, dir, {
          maxDelayMs: 150,
          check(acked) {
            // verify() takes every lock: one the child held is met, its holder gone, and repaired.
            checkBig(store);
            for (const k of acked) assert.ok(store.get('acked', k).equals(bigValueFor('a', Number(k.slice(1)))), k);
            store.clear('acked');
          },
        });
      } finally {
        store.close();
        Segment.unlink({ name });
        cleanup();
      }
    });
  }
});

// A compaction move of a large block finds the entry that refers to it on its chain, and reads
// the reference of an entry only where the entry fits its block (as the native engine does): a
// damaged entry whose key length reaches past its block, with INDIRECT set and the large value's
// key hash, where the bytes past the block happen to hold that reference, must not be taken for
// the value's entry (the move would free the large block under the real entry).
describe('compaction: a damaged entry whose reference lies past its block [js engine]', () => {
  const { C, W, H, S, UNIT_HALFS, SIZE_CLASSES } = require('../../lib/layout/layout');
  const { chain, entryWord } = require('../helpers/store-bytes');
  it('is not taken for the entry of the large value the step moves', () => {
    const s = Store.create({ buffer: new SharedArrayBuffer(1 << 21), engine: 'js', maxEntries: 100, buckets: 1 });
    try {
      const value = bigValueFor('b', 1);
      s.set('n', 'big', value); // its large block first in the pool
      s.set('tmp', 'room', bigValueFor('t', 2)); // a free large block after it, once deleted
      s.delete('tmp', 'room');
      s.set('n', 'x', 'small'); // the head of the chain, before the entry of 'big'
      const u32 = new Uint32Array(s.buffer);
      const u16 = new Uint16Array(s.buffer);
      const [x, big] = chain(u32);
      const bytes = Buffer.from(s.buffer);
      const refAt = (u, kl) => u * C.BLOCK_UNIT + C.ENTRY_HEADER_SIZE + kl;
      const bigKl = u16[big * UNIT_HALFS + H.ENTRY.KEY_LENGTH];
      const ref = bytes.subarray(refAt(big, bigKl), refAt(big, bigKl) + S.INDIRECT_REF.SIZE);
      // x's key length reaches 40 bytes into the block after it; the reference read there is
      // the one of 'big'.
      const xUnits = SIZE_CLASSES[(u32[entryWord(x, W.ENTRY.FLAGS)] >>> C.FLAG_CLASS_SHIFT) & C.FLAG_CLASS_MASK];
      const kl = 40 + C.BLOCK_UNIT * xUnits - C.ENTRY_HEADER_SIZE;
      bytes.set(ref, refAt(x, kl));
      u16[x * UNIT_HALFS + H.ENTRY.KEY_LENGTH] = kl;
      u16[x * UNIT_HALFS + H.ENTRY.VALUE_LENGTH] = S.INDIRECT_REF.SIZE;
      u32[entryWord(x, W.ENTRY.KEY_HASH)] = u32[entryWord(big, W.ENTRY.KEY_HASH)];
      u32[entryWord(x, W.ENTRY.FLAGS)] |= C.FLAG_INDIRECT;
      s.compact();
      assert.ok(s.get('n', 'big').equals(value), 'the large value');
      s.repair(); // unlinks x
      const v = s.verify();
      assert.ok(v.ok, v.errors.join('\n'));
      assert.ok(s.get('n', 'big').equals(value));
    } finally {
      s.close();
    }
  });
});
