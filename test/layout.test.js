'use strict';
// The addon exports the layout as compiled from src/layout_gen.h; lib/layout.js is generated
// from the same spec. Any difference means one side is stale (run `npm run gen` and rebuild)
// or binding/layout.cc misses a struct or field.
// Also: loading the addon (ABI mismatch refused with a clear error before loading; a missing
// addon reported as loadError without breaking the pure-JS parts).
const assert = require('assert');
const layout = require('../lib/layout');
const { addon, loadError } = require('../lib/native');
const fs = require('fs');
const path = require('path');
const native = require('../lib/native');
const { ShmError, Segment } = require('..');
const { tempDir } = require('./fixtures/helpers');

describe('layout', function () {
  before(function () {
    if (!addon) throw loadError; // the addon is part of what npm test checks: never skip
  });

  it('struct offsets and sizes match lib/layout.js (S)', function () {
    assert.deepStrictEqual(addon.layout.S, JSON.parse(JSON.stringify(layout.S)));
  });

  it('constants match (C)', function () {
    assert.deepStrictEqual(addon.layout.C, { ...layout.C });
  });

  it('size classes match (SIZE_CLASSES)', function () {
    assert.deepStrictEqual(addon.layout.SIZE_CLASSES, [...layout.SIZE_CLASSES]);
  });

  it('status codes match (STATUS / STATUS_CODE)', function () {
    assert.deepStrictEqual(addon.layout.STATUS, { ...layout.STATUS });
    for (const [code, n] of Object.entries(addon.layout.STATUS)) assert.strictEqual(layout.STATUS_CODE[n], code);
  });

  it('segment limits have one declaration: lib/layout.js, the addon and Segment agree', function () {
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

  it('every struct of lib/layout.js is exported by the addon', function () {
    assert.deepStrictEqual(Object.keys(addon.layout.S).sort(), Object.keys(layout.S).sort());
  });
});

describe('native addon loading', function () {
  let tmp;
  beforeEach(() => { tmp = tempDir(); });
  afterEach(() => tmp.cleanup());

  it('is loaded and reports the running ABI', function () {
    assert.ok(native.addon, native.loadError && native.loadError.message);
    assert.strictEqual(String(native.addon.moduleVersion), process.versions.modules);
    const abi = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'build', 'Release', 'abi.json'), 'utf8'));
    assert.strictEqual(abi.modules, process.versions.modules);
  });

  it('refuses an addon built for another Node ABI with ERR_ADDON_ABI, without loading it', function () {
    // Not a real shared object: loading it would fail differently, so reaching the ABI error
    // proves the check happens first.
    fs.writeFileSync(path.join(tmp.dir, 'shmstore.node'), 'not an ELF file');
    fs.writeFileSync(path.join(tmp.dir, 'abi.json'), JSON.stringify({ modules: '108', node: 'v18.20.0' }));
    assert.throws(() => native.load(tmp.dir), (e) => {
      assert.ok(e instanceof ShmError);
      assert.strictEqual(e.code, 'ERR_ADDON_ABI');
      assert.match(e.message, /built for Node v18\.20\.0 \(ABI 108\)/);
      assert.match(e.message, /npm rebuild shmstore/);
      return true;
    });
  });

  it('refuses an addon with no ABI record', function () {
    fs.writeFileSync(path.join(tmp.dir, 'shmstore.node'), 'x');
    assert.throws(() => native.load(tmp.dir), { code: 'ERR_ADDON_ABI' });
  });

  it('reports a missing addon as loadError (ERR_ADDON_MISSING) instead of throwing', function () {
    const r = native.load(tmp.dir);
    assert.strictEqual(r.addon, null);
    assert.strictEqual(r.loadError.code, 'ERR_ADDON_MISSING');
    assert.match(r.loadError.message, /npm rebuild shmstore/);
  });

  it('reports an unloadable addon as loadError', function () {
    fs.writeFileSync(path.join(tmp.dir, 'shmstore.node'), 'not an ELF file');
    fs.writeFileSync(path.join(tmp.dir, 'abi.json'), JSON.stringify({ modules: process.versions.modules }));
    const r = native.load(tmp.dir);
    assert.strictEqual(r.addon, null);
    assert.strictEqual(r.loadError.code, 'ERR_ADDON_MISSING');
  });
});
