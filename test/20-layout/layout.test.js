'use strict';
// The addon exports the layout as compiled from src/layout/layout_gen.h; lib/layout/layout.js is generated
// from the same spec. Any difference means one side is stale (run `npm run gen` and rebuild)
// or binding/layout/layout.cc misses a struct or field.
const assert = require('assert');
const layout = require('../../lib/layout/layout');
const { addon, loadError } = require('../../lib/base/native');

describe('layout', function () {
  before(function () {
    if (!addon) throw loadError; // the addon is part of what npm test checks: never skip
  });

  it('struct offsets and sizes match lib/layout/layout.js (S)', function () {
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

  it('every struct of lib/layout/layout.js is exported by the addon', function () {
    assert.deepStrictEqual(Object.keys(addon.layout.S).sort(), Object.keys(layout.S).sort());
  });
});
