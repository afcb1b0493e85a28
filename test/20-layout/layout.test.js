'use strict';
// The addon exports the layout as compiled from src/layout/layout_gen.h; lib/layout/layout.js is generated
// from the same spec. Any difference means one side is stale (run `npm run gen` and rebuild)
// or binding/layout/layout.cc misses a struct or field.
const assert = require('assert');
const layout = require('../../lib/layout/layout');
const { addon, loadError } = require('../../lib/base/native');
const { Segment } = require('../..');

describe('layout', function () {
  before(function () {
    if (!addon) throw loadError; // the addon is part of what npm test checks: never skip
  });

  it('struct offsets and sizes match lib/layout/layout.js (S, and the word indices W, H, BASE, AT)', function () {
    const { S, C } = addon.layout;
    assert.deepStrictEqual(S, JSON.parse(JSON.stringify(layout.S)));
    // Each word index, scaled by its element size, is the compiled byte offset; a u64's high word
    // follows its low word.
    const u32 = Uint32Array.BYTES_PER_ELEMENT;
    const u16 = Uint16Array.BYTES_PER_ELEMENT;
    for (const [struct, fields] of Object.entries(layout.W)) {
      for (const [f, i] of Object.entries(fields)) {
        if (f === 'WORDS') assert.strictEqual(i * u32, S[struct].SIZE, `W.${struct}.WORDS`);
        else if (f.endsWith('_HI')) assert.strictEqual((i - 1) * u32, S[struct][f.slice(0, -3)], `W.${struct}.${f}`);
        else assert.strictEqual(i * u32, S[struct][f], `W.${struct}.${f}`);
      }
    }
    for (const [struct, fields] of Object.entries(layout.H)) {
      for (const [f, i] of Object.entries(fields)) {
        assert.strictEqual(i * u16, f === 'HALFS' ? S[struct].SIZE : S[struct][f], `H.${struct}.${f}`);
      }
    }
    const at = { HEADER: 'HEADER_OFFSET', ALLOC_STATE: 'ALLOC_OFFSET', NS_STATE: 'NSSTATE_OFFSET',
      REPAIR_STATE: 'REPAIR_OFFSET', EVICT_STATE: 'EVICT_OFFSET', COMPACT_STATE: 'COMPACT_OFFSET', PERSIST_TAG: 'PERSIST_TAG_OFFSET',
      OWNER: 'OWNERS_OFFSET', BUCKET: 'BUCKETS_OFFSET' };
    assert.deepStrictEqual(Object.keys(layout.BASE).sort(), Object.keys(at).sort());
    for (const [struct, c] of Object.entries(at)) assert.strictEqual(layout.BASE[struct] * u32, C[c], `BASE.${struct}`);
    for (const [struct, fields] of Object.entries(layout.AT)) {
      for (const [f, i] of Object.entries(fields)) {
        assert.strictEqual(i, layout.BASE[struct] + layout.W[struct][f], `AT.${struct}.${f}`);
      }
    }
    assert.strictEqual(layout.UNIT_WORDS * u32, C.BLOCK_UNIT);
    assert.strictEqual(layout.UNIT_HALFS * u16, C.BLOCK_UNIT);
    assert.strictEqual(layout.entriesOffset(1) % C.UNIT, 0);
    assert.ok(layout.entriesOffset(1) >= C.BUCKETS_OFFSET + C.BUCKET_SIZE);
  });

  it('constants match (C)', function () {
    assert.deepStrictEqual(addon.layout.C, { ...layout.C });
  });

  it('size classes match (SIZE_CLASSES), and the engine copy (CLASS_UNITS) holds the same, out of reach of callers', function () {
    assert.deepStrictEqual(addon.layout.SIZE_CLASSES, [...layout.SIZE_CLASSES]);
    assert.deepStrictEqual([...layout.CLASS_UNITS], [...layout.SIZE_CLASSES]);
    assert.ok(Object.isFrozen(layout.SIZE_CLASSES));
    const exported = require('../..').layout;
    assert.strictEqual(exported.CLASS_UNITS, undefined);
    assert.strictEqual(exported.SIZE_CLASSES, layout.SIZE_CLASSES);
  });

  it('status codes match (STATUS / STATUS_CODE)', function () {
    assert.deepStrictEqual(addon.layout.STATUS, { ...layout.STATUS });
    for (const [code, n] of Object.entries(addon.layout.STATUS)) assert.strictEqual(layout.STATUS_CODE[n], code);
  });

  it('segment limits have one declaration: lib/layout/layout.js, the addon and Segment agree', function () {
    const { C } = layout;
    assert.strictEqual(C.MAX_SEGMENT_BYTES, 2 ** 47);
    assert.strictEqual(addon.maxSegmentSize, C.MAX_SEGMENT_BYTES);
    assert.strictEqual(Segment.MAX_SIZE, C.MAX_SEGMENT_BYTES);
    // The longest name passes both the JS validation and the addon's; one more character fails both.
    const long = `t${process.pid}-`.padEnd(C.MAX_SEGMENT_NAME_BYTES, 'x');
    Segment.create({ name: long, size: 64 }).close();
    Segment.unlink({ name: long });
    assert.throws(() => Segment.create({ name: `${long}x`, size: 64 }), { name: 'RangeError', code: 'ERR_INVALID_ARG' });
    assert.throws(() => addon.segmentCreate(0, `${long}x`, 64, 0o600, true, false), { code: 'ERR_INVALID_ARG' });
    const longPath = `/${'p'.repeat(C.MAX_SEGMENT_PATH_BYTES)}`;
    assert.throws(() => Segment.create({ path: longPath, size: 64 }), { name: 'RangeError', code: 'ERR_INVALID_ARG' });
    assert.throws(() => addon.segmentCreate(1, longPath, 64, 0o600, true, false), { code: 'ERR_INVALID_ARG' });
  });

  it('every struct of lib/layout/layout.js is exported by the addon', function () {
    assert.deepStrictEqual(Object.keys(addon.layout.S).sort(), Object.keys(layout.S).sort());
  });
});
