'use strict';
// A repair pass after damage to a block header (format.md §9, step 3): the pool walk resumes at
// the next entry the chains name that proves itself, so the damage costs the blocks it covers,
// not every entry stored after it; the units in between become one free block (up to freeHead
// when no such entry follows). Both engines make the same bytes.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { C, S, AT, SIZE_CLASSES } = require('../../lib/layout/layout');
const { forEachEngine, assertSoundForBoth } = require('../helpers/engines');
const { entryWord, blocksOf } = require('../helpers/store-bytes');
const { W } = require('../../lib/layout/layout');

const KEYS = 400;
const VALUE = 'v'.repeat(40);
const CLASS_BITS = C.FLAG_CLASS_MASK << C.FLAG_CLASS_SHIFT;
const flagsWord = (u) => entryWord(u, W.ENTRY.FLAGS);
const classOf = (flags) => (flags >>> C.FLAG_CLASS_SHIFT) & C.FLAG_CLASS_MASK;
const withClass = (flags, cls) => ((flags & ~CLASS_BITS) | (cls << C.FLAG_CLASS_SHIFT)) >>> 0;

/** A store of KEYS entries k0..k(KEYS-1), inserted in order, and the block starts of its pool. */
function filled(engine, buffer = new SharedArrayBuffer(1 << 20)) {
  const s = Store.create({ buffer, engine, buckets: 64 });
  for (let i = 0; i < KEYS; i++) s.set('n', `k${i}`, VALUE);
  return { s, u32: new Uint32Array(buffer), blocks: blocksOf(buffer) };
}

const kept = (s) => Array.from({ length: KEYS }, (_, i) => i).filter((i) => s.get('n', `k${i}`) === VALUE);
const all = (but) => Array.from({ length: KEYS }, (_, i) => i).filter((i) => !but.includes(i));

/** The number i of the key k<i> of the entry at block start u. */
function keyAt(buffer, u) {
  const dv = new DataView(buffer);
  const at = u * C.BLOCK_UNIT;
  const text = Buffer.from(buffer, at + C.ENTRY_HEADER_SIZE, dv.getUint16(at + S.ENTRY.KEY_LENGTH, true)).toString();
  return Number(text.slice(1));
}
const cuts = (u32) => u32[AT.REPAIR_STATE.CUTS];

forEachEngine('store.repair() after damage to a block header', ({ engine, other }) => {
  // Each damage hits the header of the pool's block 10, which holds one entry.
  const damages = {
    'a zeroed header': (u32, u) => u32.fill(0, entryWord(u, W.ENTRY.NEXT), entryWord(u, W.ENTRY.WORDS)),
    'a size class that is not one': (u32, u) => { u32[flagsWord(u)] = withClass(u32[flagsWord(u)], C.FLAG_CLASS_MASK); },
    'a larger size class (the block covers the next entries)': (u32, u) => { u32[flagsWord(u)] = withClass(u32[flagsWord(u)], classOf(u32[flagsWord(u)]) + 6); },
    'a smaller size class (the walk lands inside the entry)': (u32, u) => { u32[flagsWord(u)] = withClass(u32[flagsWord(u)], 0); },
  };
  for (const [name, damage] of Object.entries(damages)) {
    it(`${name}: every other entry is kept, the store is sound for both engines and takes writes`, () => {
      const { s, u32, blocks } = filled(engine);
      const cuts0 = cuts(u32);
      const lost = keyAt(u32.buffer, blocks[10]);
      damage(u32, blocks[10]);
      assert.strictEqual(s.verify().ok, false);
      s.repair();
      assertSoundForBoth(s, other);
      assert.deepStrictEqual(kept(s), all([lost]));
      assert.strictEqual(s.count('n'), KEYS - 1);
      assert.strictEqual(cuts(u32), cuts0 + 1, 'a hole is counted as a cut (writers forget their parked blocks)');
      for (let i = 0; i < 300; i++) s.set('m', `x${i}`, 'w'.repeat(i % 90));
      assertSoundForBoth(s, other);
      assert.strictEqual(s.count('m'), 300);
      s.close();
    });
  }

  it('damage to a large block\'s header costs its entry only', () => {
    const buffer = new SharedArrayBuffer(1 << 21);
    const s = Store.create({ buffer, engine, buckets: 64 });
    for (let i = 0; i < 20; i++) s.set('n', `k${i}`, VALUE);
    s.set('n', 'big', 'B'.repeat(100000));
    for (let i = 20; i < KEYS; i++) s.set('n', `k${i}`, VALUE);
    const u32 = new Uint32Array(buffer);
    const large = blocksOf(buffer).find((u) => classOf(u32[flagsWord(u)]) === SIZE_CLASSES.length);
    u32[entryWord(large, W.LARGE_BLOCK.UNITS)] = 0;
    s.repair();
    assertSoundForBoth(s, other);
    assert.strictEqual(s.get('n', 'big'), undefined);
    assert.strictEqual(kept(s).length, KEYS);
    s.close();
  });

  it('an entry of a large value that lost FLAG_INDIRECT: verify reports it, repair sets it again, the value is read whole', () => {
    const buffer = new SharedArrayBuffer(1 << 21);
    const s = Store.create({ buffer, engine, buckets: 64 });
    const big = 'B'.repeat(100000);
    s.set('n', 'big', big);
    s.set('n', 'eight', Buffer.from('8 bytes!')); // an inline value of a reference's length
    const u32 = new Uint32Array(buffer);
    const entry = blocksOf(buffer).find((u) => (u32[flagsWord(u)] & C.FLAG_INDIRECT) !== 0);
    u32[flagsWord(entry)] &= ~C.FLAG_INDIRECT;
    // A reader never hands out the reference as the value: it takes the entry for damage, and the
    // repair pass its failed reads run gives the flag back.
    const reader = Store.attach(buffer, { engine: other });
    assert.strictEqual(reader.get('n', 'big'), big);
    u32[flagsWord(entry)] &= ~C.FLAG_INDIRECT;
    assert.deepStrictEqual(reader.entries('n').map(([k, value]) => [k, typeof value === 'string' ? value.length : value]).sort(),
      [['big', big.length], ['eight', Buffer.from('8 bytes!')]]);
    reader.close();
    u32[flagsWord(entry)] &= ~C.FLAG_INDIRECT;
    assert.deepStrictEqual(s.entries('n').map(([k]) => k).sort(), ['big', 'eight']);
    u32[flagsWord(entry)] &= ~C.FLAG_INDIRECT;
    const v = s.verify();
    assert.deepStrictEqual(v.errors.filter((e) => /without FLAG_INDIRECT/.test(e)).length, 1, v.errors.join('\n'));
    s.repair();
    assertSoundForBoth(s, other);
    assert.ok((u32[flagsWord(entry)] & C.FLAG_INDIRECT) !== 0);
    assert.strictEqual(s.get('n', 'big'), big);
    assert.deepStrictEqual(s.get('n', 'eight'), Buffer.from('8 bytes!'));
    s.close();
  });

  it('damage after the last entry the chains name: the rest of the pool is one free block, the chain goes on past it', () => {
    const { s, u32, blocks } = filled(engine);
    const last = blocks[blocks.length - 1];
    const head = u32[AT.HEADER.FREE_HEAD];
    const lost = keyAt(u32.buffer, last);
    const cuts0 = cuts(u32);
    u32[flagsWord(last)] = withClass(u32[flagsWord(last)], C.FLAG_CLASS_MASK);
    s.repair();
    assertSoundForBoth(s, other);
    assert.strictEqual(u32[AT.HEADER.FREE_HEAD], head);
    assert.strictEqual(u32[flagsWord(last)], (C.FLAG_FREE | (SIZE_CLASSES.length << C.FLAG_CLASS_SHIFT)) >>> 0);
    assert.strictEqual(u32[entryWord(last, W.LARGE_BLOCK.UNITS)], head - last);
    // The entries its chain linked after it are kept: the link of the damaged block was read.
    assert.deepStrictEqual(kept(s), all([lost]));
    assert.strictEqual(cuts(u32), cuts0 + 1);
    s.close();
  });

  it('a link into the middle of a block is not taken for a block start: no hole, the pool untouched', () => {
    const { s, u32, blocks } = filled(engine);
    const poolBefore = u32.slice(entryWord(blocks[0], 0), entryWord(u32[AT.HEADER.FREE_HEAD], 0));
    const cuts0 = cuts(u32);
    // The entry at block 20 now links into the middle of block 30 (bytes of a value).
    u32[entryWord(blocks[20], W.ENTRY.NEXT)] = blocks[30] + 1;
    s.repair();
    assertSoundForBoth(s, other);
    assert.strictEqual(cuts(u32), cuts0);
    assert.strictEqual(u32[AT.HEADER.FREE_HEAD], blocks[blocks.length - 1] + (blocks[1] - blocks[0]));
    // The entries after the bad link on its chain are gone (their blocks freed); the others stay.
    assert.ok(s.count('n') < KEYS && s.count('n') >= KEYS - 20, `${s.count('n')} kept`);
    const after = u32.slice(entryWord(blocks[0], 0), entryWord(u32[AT.HEADER.FREE_HEAD], 0));
    for (const i of kept(s)) {
      const at = entryWord(blocks[i], 0) - entryWord(blocks[0], 0);
      assert.deepStrictEqual(after.subarray(at + W.ENTRY.WORDS, at + W.ENTRY.WORDS + 8), poolBefore.subarray(at + W.ENTRY.WORDS, at + W.ENTRY.WORDS + 8));
    }
    s.close();
  });

  it('the other engine\'s repair of the same damaged bytes leaves the same pool', () => {
    const { s, u32, blocks } = filled(engine);
    s.close();
    u32[flagsWord(blocks[10])] = withClass(u32[flagsWord(blocks[10])], classOf(u32[flagsWord(blocks[10])]) + 6);
    u32[flagsWord(blocks[200])] = withClass(u32[flagsWord(blocks[200])], C.FLAG_CLASS_MASK);
    const copy = new SharedArrayBuffer(u32.byteLength);
    new Uint32Array(copy).set(u32);
    const a = Store.attach(u32.buffer, { engine });
    const b = Store.attach(copy, { engine: other });
    a.repair();
    b.repair();
    const pool = (buf) => {
      const w = new Uint32Array(buf);
      return w.slice(entryWord(blocks[0], 0), entryWord(w[AT.HEADER.FREE_HEAD], 0));
    };
    assert.deepStrictEqual(pool(copy), pool(u32.buffer));
    for (const word of [AT.HEADER.FREE_HEAD, AT.HEADER.GRANTED_ENTRIES, AT.ALLOC_STATE.LARGE_HEAD]) {
      assert.strictEqual(new Uint32Array(copy)[word], u32[word]);
    }
    assert.strictEqual(a.count('n'), KEYS - 2);
    assert.strictEqual(b.count('n'), KEYS - 2);
    a.close();
    b.close();
  });
});
