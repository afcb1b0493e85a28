'use strict';
// The entry checksum covers FLAG_INDIRECT (format.md §8: seeded with keyHash XOR (flags &
// ENTRY_SUM_FLAGS)), so that one flipped bit never turns a large value's 8-byte reference into the
// value, nor an inline 8-byte value into a reference: readers take such an entry for damage, verify()
// names the flip, and the repair pass flips the bit back (§9, step 4). Both engines write and
// check the same bytes.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { C, S, W } = require('../../lib/layout/layout');
const { forEachEngine, assertSoundForBoth } = require('../helpers/engines');
const { entryWord, blocksOf } = require('../helpers/store-bytes');
const { xxh32 } = require('../helpers/independent-xxh32');

const BIG = 'B'.repeat(100000);
const EIGHT = Buffer.from('8 bytes!'); // an inline value of a reference's length
const flagsWord = (u) => entryWord(u, W.ENTRY.FLAGS);

/** The unit of the entry of `key` (a block of an entry class whose key bytes are `key`). */
function entryOf(buffer, key) {
  const u32 = new Uint32Array(buffer);
  const u16 = new Uint16Array(buffer);
  const want = Buffer.from(key);
  return blocksOf(buffer).find((u) => {
    const flags = u32[flagsWord(u)];
    const cls = (flags >>> C.FLAG_CLASS_SHIFT) & C.FLAG_CLASS_MASK;
    if ((flags & C.FLAG_FREE) !== 0 || cls >= C.SIZE_CLASS_COUNT) return false;
    const at = u * C.BLOCK_UNIT;
    const kl = u16[(at + S.ENTRY.KEY_LENGTH) / 2];
    return kl === want.length && Buffer.from(buffer, at + C.ENTRY_HEADER_SIZE, kl).equals(want);
  });
}

/** A store holding a large value under 'big' and an inline 8-byte value under 'eight'. */
function twoEntries(engine) {
  const buffer = new SharedArrayBuffer(1 << 21);
  const s = Store.create({ buffer, engine, buckets: 64 });
  s.set('n', 'big', BIG);
  s.set('n', 'eight', EIGHT);
  return { s, buffer, u32: new Uint32Array(buffer) };
}

const lengths = (pairs) => pairs.map(([k, v]) => [k, typeof v === 'string' ? v.length : v]).sort();
const EXPECTED = [['big', BIG.length], ['eight', EIGHT]];

forEachEngine('the entry checksum covers FLAG_INDIRECT', ({ engine, other }) => {
  it('an indirect entry\'s checksum is XXH32(key ‖ reference, keyHash XOR encoding XOR FLAG_INDIRECT); an inline one\'s has no INDIRECT in its seed', () => {
    const { s, buffer, u32 } = twoEntries(engine);
    for (const [key, indirect] of [['big', C.FLAG_INDIRECT], ['eight', 0]]) {
      const u = entryOf(buffer, key);
      const flags = u32[flagsWord(u)];
      assert.strictEqual(flags & C.FLAG_INDIRECT, indirect);
      const at = u * C.BLOCK_UNIT + C.ENTRY_HEADER_SIZE;
      const kv = new Uint8Array(buffer, at, key.length + 8);
      const seed = (u32[entryWord(u, W.ENTRY.KEY_HASH)] ^ (flags & C.FLAG_ENCODING_MASK) ^ indirect) >>> 0;
      assert.strictEqual(u32[entryWord(u, W.ENTRY.CHECKSUM)], xxh32(kv, seed), key);
    }
    s.close();
  });

  it('a large value\'s entry that lost FLAG_INDIRECT: get, getMany and entries never hand out the reference, verify names the flip, repair flips it back', () => {
    const { s, buffer, u32 } = twoEntries(engine);
    const entry = entryOf(buffer, 'big');
    const reader = Store.attach(buffer, { engine: other });
    const reads = [
      () => assert.strictEqual(reader.get('n', 'big'), BIG),
      () => assert.deepStrictEqual(lengths(reader.getMany('n', ['big', 'eight']).map((v, i) => [['big', 'eight'][i], v])), EXPECTED),
      () => assert.deepStrictEqual(lengths(reader.entries('n')), EXPECTED),
      () => assert.strictEqual(s.get('n', 'big'), BIG),
      () => assert.deepStrictEqual(lengths(s.entries('n')), EXPECTED),
    ];
    // Each read meets the flip, takes the entry for damage and the repair pass its failed reads
    // run flips the bit back: the value read is the large one.
    for (const read of reads) {
      u32[flagsWord(entry)] &= ~C.FLAG_INDIRECT;
      read();
      assert.notStrictEqual(u32[flagsWord(entry)] & C.FLAG_INDIRECT, 0);
    }
    reader.close();
    u32[flagsWord(entry)] &= ~C.FLAG_INDIRECT;
    const v = s.verify();
    assert.deepStrictEqual(v.errors.filter((e) => /is an indirect entry without FLAG_INDIRECT/.test(e)).length, 1, v.errors.join('\n'));
    s.repair();
    assertSoundForBoth(s, other);
    assert.strictEqual(s.get('n', 'big'), BIG);
    assert.deepStrictEqual(s.get('n', 'eight'), EIGHT);
    s.close();
  });

  // The large block's keyHash word is a hint (format.md §8, "Large values": a wrong one only makes
  // the block an obstacle to compaction), so the checksum alone must tell a lost flag.
  it('a large value\'s entry that lost FLAG_INDIRECT is told by its checksum even when its large block\'s keyHash hint is not the entry\'s', () => {
    const { s, buffer, u32 } = twoEntries(engine);
    const entry = entryOf(buffer, 'big');
    const large = Buffer.from(buffer).readUInt32LE(entry * C.BLOCK_UNIT + C.ENTRY_HEADER_SIZE + 'big'.length + S.INDIRECT_REF.UNIT);
    u32[entryWord(large, W.LARGE_BLOCK.KEY_HASH)] ^= 1;
    assert.ok(s.verify().ok, 'a wrong hint is no damage');
    for (const read of [() => s.get('n', 'big'), () => new Map(s.entries('n')).get('big')]) {
      u32[flagsWord(entry)] &= ~C.FLAG_INDIRECT;
      assert.strictEqual(read(), BIG);
    }
    u32[flagsWord(entry)] &= ~C.FLAG_INDIRECT;
    assert.ok(s.verify().errors.some((e) => /is an indirect entry without FLAG_INDIRECT/.test(e)));
    s.repair();
    assertSoundForBoth(s, other);
    assert.strictEqual(s.get('n', 'big'), BIG);
    s.close();
  });

  it('an inline 8-byte value that gained FLAG_INDIRECT: reads are never of a reference, verify names the flip, repair flips it back and keeps the value', () => {
    const { s, buffer, u32 } = twoEntries(engine);
    const entry = entryOf(buffer, 'eight');
    const reader = Store.attach(buffer, { engine: other });
    for (const read of [
      () => assert.deepStrictEqual(reader.get('n', 'eight'), EIGHT),
      () => assert.deepStrictEqual(lengths(reader.entries('n')), EXPECTED),
      () => assert.deepStrictEqual(s.get('n', 'eight'), EIGHT),
    ]) {
      u32[flagsWord(entry)] |= C.FLAG_INDIRECT;
      read();
      assert.strictEqual(u32[flagsWord(entry)] & C.FLAG_INDIRECT, 0);
    }
    reader.close();
    u32[flagsWord(entry)] |= C.FLAG_INDIRECT;
    const v = s.verify();
    assert.deepStrictEqual(v.errors.filter((e) => /has FLAG_INDIRECT on an inline value/.test(e)).length, 1, v.errors.join('\n'));
    s.repair();
    assertSoundForBoth(s, other);
    assert.deepStrictEqual(s.get('n', 'eight'), EIGHT);
    assert.strictEqual(s.get('n', 'big'), BIG);
    s.close();
  });

  // Genuine 8 bytes may be a large block's (unit, length): the entry's checksum says they are a
  // value, whatever block they name.
  it('an inline 8-byte value equal to a live large block\'s reference, that block\'s keyHash hint its own, is read as the value it is', () => {
    const { s, buffer, u32 } = twoEntries(engine);
    const big = entryOf(buffer, 'big');
    const at = big * C.BLOCK_UNIT + C.ENTRY_HEADER_SIZE + 'big'.length;
    const ref = Buffer.from(Buffer.from(buffer, at, C.INDIRECT_VALUE_BYTES));
    s.set('n', 'twin', ref);
    const twin = entryOf(buffer, 'twin');
    const large = ref.readUInt32LE(S.INDIRECT_REF.UNIT);
    u32[entryWord(large, W.LARGE_BLOCK.KEY_HASH)] = u32[entryWord(twin, W.ENTRY.KEY_HASH)];
    assert.deepStrictEqual(s.get('n', 'twin'), ref);
    const reader = Store.attach(buffer, { engine: other });
    assert.deepStrictEqual(new Map(reader.entries('n')).get('twin'), ref);
    reader.close();
    s.repair();
    assert.deepStrictEqual(s.get('n', 'twin'), ref);
    assert.strictEqual(s.get('n', 'big'), BIG);
    assertSoundForBoth(s, other);
    s.close();
  });
});

/** A store with a freed 300000-byte value, BIG under 'big' after it and 'tail' after that: compaction moves big's large block down into the freed space (a move only goes down). */
function movableLarge(engine) {
  const buffer = new SharedArrayBuffer(1 << 21);
  const s = Store.create({ buffer, engine, buckets: 64 });
  s.set('n', 'pad', Buffer.alloc(300000, 1));
  s.set('n', 'big', Buffer.from(BIG));
  s.set('n', 'tail', 'x');
  s.delete('n', 'pad');
  return { s, buffer, u32: new Uint32Array(buffer) };
}

/** The large block the entry of `key` at unit u refers to. */
const largeOf = (buffer, u, key) => Buffer.from(buffer).readUInt32LE(u * C.BLOCK_UNIT + C.ENTRY_HEADER_SIZE + key.length + S.INDIRECT_REF.UNIT);
const errorsOf = (store) => store.verify().errors.join('\n');

// Compaction gives the entry of a large value it moves a checksum of its own (format.md §8,
// "Compaction"): only a whole entry is moved, so damage never becomes a valid-looking entry.
forEachEngine('damaged entries and the large blocks they name', ({ engine, other }) => {
  it('compaction moves the large value of a whole entry', () => {
    const { s, buffer } = movableLarge(engine);
    const before = largeOf(buffer, entryOf(buffer, 'big'), 'big');
    s.compact();
    assert.notStrictEqual(largeOf(buffer, entryOf(buffer, 'big'), 'big'), before);
    assert.deepStrictEqual(s.get('n', 'big'), Buffer.from(BIG));
    assertSoundForBoth(s, other);
    s.close();
  });

  it('compaction leaves an indirect entry with a flipped encoding bit damaged: never read back as a string', () => {
    const { s, buffer, u32 } = movableLarge(engine);
    const large = largeOf(buffer, entryOf(buffer, 'big'), 'big');
    u32[flagsWord(entryOf(buffer, 'big'))] ^= 1; // binary -> string
    assert.match(errorsOf(s), /has a wrong checksum/);
    s.compact();
    const reader = Store.attach(buffer, { engine: other });
    assert.match(errorsOf(s), /has a wrong checksum/);
    assert.match(errorsOf(reader), /has a wrong checksum/);
    assert.strictEqual(largeOf(buffer, entryOf(buffer, 'big'), 'big'), large, 'its value stays where it was');
    assert.strictEqual(reader.get('n', 'big'), undefined);
    assert.strictEqual(s.get('n', 'big'), undefined);
    assert.strictEqual(s.get('n', 'tail'), 'x');
    reader.close();
    assertSoundForBoth(s, other);
    s.close();
  });

  it('compaction leaves an indirect entry with a flipped key byte damaged: keys() and entries() never list a key never written', () => {
    const { s, buffer } = movableLarge(engine);
    new Uint8Array(buffer)[entryOf(buffer, 'big') * C.BLOCK_UNIT + C.ENTRY_HEADER_SIZE + 1] ^= 0x08; // 'big' -> 'bag'
    s.compact();
    assert.match(errorsOf(s), /has a keyHash that is not its key's/);
    const reader = Store.attach(buffer, { engine: other });
    assert.deepStrictEqual(reader.keys('n'), ['tail']);
    assert.deepStrictEqual(s.entries('n'), [['tail', 'x']]);
    assert.deepStrictEqual(s.keys('n'), ['tail']);
    reader.close();
    assertSoundForBoth(s, other);
    s.close();
  });

  // Freeing an entry frees the large block its 8 value bytes name only when its checksum vouches
  // for them (format.md §8, "Large values").
  const removals = {
    delete: (s) => assert.strictEqual(s.delete('other', 'twin'), true),
    replace: (s) => {
      s.set('other', 'twin', 'replaced');
      assert.strictEqual(s.get('other', 'twin'), 'replaced');
    },
    clear: (s) => assert.strictEqual(s.clear('other'), 1),
    dropNamespace: (s) => assert.strictEqual(s.dropNamespace('other'), 1),
    expiry: (s, buffer) => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      // Each insert sweeps two buckets for expired entries: these sweep all 64.
      for (let i = 0; i < 64; i++) s.set('n', `s${i}`, 'v');
      for (let i = 0; i < 64; i++) s.delete('n', `s${i}`);
      assert.strictEqual(entryOf(buffer, 'twin'), undefined, 'swept');
    },
  };
  for (const [how, remove] of Object.entries(removals)) {
    it(`an inline 8-byte value equal to another entry's reference that gained FLAG_INDIRECT: its ${how} frees no block of that entry`, () => {
      const { s, buffer, u32 } = twoEntries(engine);
      const at = entryOf(buffer, 'big') * C.BLOCK_UNIT + C.ENTRY_HEADER_SIZE + 'big'.length;
      const ref = Buffer.from(Buffer.from(buffer, at, C.INDIRECT_VALUE_BYTES));
      s.set('other', 'twin', ref, how === 'expiry' ? { ttl: 1 } : undefined);
      u32[flagsWord(entryOf(buffer, 'twin'))] |= C.FLAG_INDIRECT;
      remove(s, buffer);
      // Big's block is not free: a value of its length written now takes another.
      const next = 'N'.repeat(BIG.length);
      s.set('n', 'next', next);
      assert.strictEqual(s.get('n', 'big'), BIG);
      assert.strictEqual(s.get('n', 'next'), next);
      const reader = Store.attach(buffer, { engine: other });
      assert.strictEqual(reader.get('n', 'big'), BIG);
      reader.close();
      assertSoundForBoth(s, other);
      s.close();
    });
  }
});
