'use strict';
// store.getMany(ns, keys) and store.setMany(ns, entries) (docs/api.md): values in key order with
// undefined for misses, pairs from an array or a Map. Bad input to either changes nothing:
// errors.test.js.
const assert = require('assert');
const { forEachEngine } = require('../helpers/engines');

forEachEngine('store.getMany() / store.setMany()', ({ make }) => {
  it('getMany and setMany', () => {
    const s = make();
    const n = s.setMany('m', [['a', 1], ['b', 'two'], ['c', Buffer.from('3')]]);
    assert.strictEqual(n, 3);
    s.setMany('m', new Map([['d', [4]]]));
    const got = s.getMany('m', ['a', 'b', 'zz', 'c', 'd']);
    assert.strictEqual(got[0], 1);
    assert.strictEqual(got[1], 'two');
    assert.strictEqual(got[2], undefined);
    assert.strictEqual(got[3].toString(), '3');
    assert.deepStrictEqual(got[4], [4]);
    assert.deepStrictEqual(s.getMany('nope', ['a']), [undefined]);
  });
});
