'use strict';
// Random damage to a store's memory (format.md §9): bits flipped in the pool's blocks, the bucket
// table, the counters, the free list heads and a namespace record, then a repair pass by either
// engine. Reads before the repair give the value written, nothing or ERR_CORRUPT; every run must
// end with no crash, verify() clean for both engines, every value still readable exactly the
// value written (or gone, never another), and the store taking writes again. Seeded: a failing
// seed replays.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { C, AT, BASE, W, UNIT_WORDS } = require('../../lib/layout/layout');
const { forEachEngine, assertSoundForBoth } = require('../helpers/engines');
const { prng } = require('../helpers/prng');
const { entryWord, blocksOf, namespaceWord, nsRegions, cellWord, cellNsWord } = require('../helpers/store-bytes');

// Thousands of seeds passed in each engine when this test was written; CI runs a slice of them.
const SEEDS = 400;
const KEYS = 250;

// The words of what a repair pass recounts or rebuilds (not the lock words): the counters, the
// heads of the free lists, the count cells, the namespace records of 'n' (id 1) and the name index.
const META = [
  () => AT.HEADER.GRANTED_ENTRIES,
  (u32) => cellWord(u32, u32[AT.HEADER.FREE_HEAD] % C.COUNT_CELLS, W.COUNT_CELL.LIMIT),
  (u32) => cellWord(u32, u32[AT.HEADER.FREE_HEAD] % C.COUNT_CELLS, W.COUNT_CELL.ENTRIES),
  (u32) => cellWord(u32, u32[AT.HEADER.FREE_HEAD] % C.COUNT_CELLS, W.COUNT_CELL.EXPIRING),
  () => AT.ALLOC_STATE.CLASS_COUNT,
  () => AT.ALLOC_STATE.FREED_UNITS,
  () => AT.ALLOC_STATE.LARGE_HEAD,
  (u32) => AT.ALLOC_STATE.FREE_HEADS + (u32[AT.HEADER.FREE_HEAD] % C.SIZE_CLASS_COUNT),
  () => AT.NS_STATE.LIVE_COUNT,
  () => AT.NS_STATE.FREE_HINT,
  (u32) => cellNsWord(u32, u32[AT.HEADER.FREE_HEAD] % C.COUNT_CELLS, 1),
  (u32) => namespaceWord(u32, 1, W.NAMESPACE.NAME_HASH),
  (u32) => namespaceWord(u32, 1, W.NAMESPACE.STATE),
  (u32) => nsRegions(u32).index / Uint32Array.BYTES_PER_ELEMENT + (u32[AT.HEADER.FREE_HEAD] % nsRegions(u32).indexSlots),
];

// Key i's value: strings, JSON, bytes, and now and then one stored in a large block.
function valueOf(i) {
  if (i % 50 === 7) return `L${i}:${'x'.repeat(70000 + i)}`;
  if (i % 3 === 0) return { i, list: [i, `s${i}`], pad: 'p'.repeat(i % 40) };
  if (i % 3 === 1) return Buffer.from(`b${i}:${'z'.repeat(i % 60)}`);
  return `v${i}:${'y'.repeat(i % 120)}`;
}

forEachEngine('store: random damage to its memory, then a repair pass', ({ engine, other }) => {
  it(`${SEEDS} seeds of 1 to 12 flipped bits in blocks, bucket heads, counters and records: sound for both engines, no value ever another one`, function () {
    this.timeout(120000);
    let kept = 0;
    let damaged = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rand = prng(seed);
      const buffer = new SharedArrayBuffer(1 << 22);
      const s = Store.create({ buffer, engine, buckets: 64 });
      // A quarter with an expiry far ahead, which the count cells count (format.md §5).
      for (let i = 0; i < KEYS; i++) s.set('n', `k${i}`, valueOf(i), i % 4 === 1 ? { ttl: 3600000 } : undefined);
      for (let i = 0; i < KEYS; i += 5) s.delete('n', `k${i}`); // free blocks among the live ones
      const u32 = new Uint32Array(buffer);
      const blocks = blocksOf(buffer);
      const flips = 1 + Math.floor(rand() * 12);
      for (let f = 0; f < flips; f++) {
        const pick = (n) => Math.floor(rand() * n);
        let word;
        const where = rand();
        if (where < 0.1) word = META[pick(META.length)](u32);
        else if (where < 0.2) word = BASE.BUCKET + pick(64) * W.BUCKET.WORDS + W.BUCKET.HEAD;
        else if (where < 0.7) word = entryWord(blocks[pick(blocks.length)], pick(W.ENTRY.WORDS)); // a block header
        else word = entryWord(blocks[pick(blocks.length)], 0) + pick(UNIT_WORDS * 3); // a header or what follows it
        u32[word] ^= 1 << pick(32);
      }
      const ctx = `seed ${seed} (${engine} repair)`;
      try {
        if (!s.verify().ok) damaged++;
        // Reads before any repair: the value written, nothing, or ERR_CORRUPT; never another value
        // (a read that keeps failing runs a repair pass itself).
        if (seed % 2 === 0) {
          for (let i = 0; i < KEYS; i++) {
            let got;
            try {
              got = s.get('n', `k${i}`);
            } catch (err) {
              assert.strictEqual(err.code, 'ERR_CORRUPT', `k${i}: ${err.message}`);
              continue;
            }
            if (got !== undefined) assert.deepStrictEqual(got, valueOf(i), `k${i} before repair`);
          }
        }
        s.repair();
        assertSoundForBoth(s, other);
        for (let i = 0; i < KEYS; i++) {
          if (i % 5 === 0) {
            assert.strictEqual(s.get('n', `k${i}`), undefined, `k${i} was deleted`);
            continue;
          }
          const got = s.get('n', `k${i}`);
          if (got === undefined) continue;
          assert.deepStrictEqual(got, valueOf(i), `k${i}`);
          kept++;
        }
        for (let i = 0; i < 60; i++) s.set('m', `w${i}`, valueOf(i));
        for (let i = 0; i < 60; i++) assert.deepStrictEqual(s.get('m', `w${i}`), valueOf(i));
        assertSoundForBoth(s, other);
      } catch (err) {
        err.message = `${ctx}: ${err.message}`;
        throw err;
      } finally {
        s.close();
      }
    }
    // Most runs damage what verify() checks; damage costs a few entries a run, not the store.
    const live = SEEDS * (KEYS - KEYS / 5);
    assert.ok(damaged > SEEDS / 2, `${damaged} of ${SEEDS} runs damaged`);
    assert.ok(kept < live && kept > live * 0.8, `${kept} of ${live} values kept`);
    console.log(`      ${damaged} of ${SEEDS} runs damaged; ${kept} of ${live} values kept`);
  });
});
