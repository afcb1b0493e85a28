'use strict';
// index.d.ts against what index.js exports: every stable error code the package can throw is in
// the ShmErrorCode union (so that a TypeScript user can narrow err.code to it), and every class
// the typings declare as a value exists at runtime under that name.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const shmstore = require('../..');

const DTS = fs.readFileSync(path.join(__dirname, '..', '..', 'index.d.ts'), 'utf8');

describe('index.d.ts', () => {
  it('ShmErrorCode names every status code of the layout, and nothing else but ERR_UNKNOWN', () => {
    const m = /export type ShmErrorCode =([^;]*);/.exec(DTS);
    assert.ok(m, 'the ShmErrorCode union');
    const typed = [...m[1].matchAll(/'([A-Z_]+)'/g)].map((x) => x[1]).sort();
    const codes = shmstore.layout.STATUS_CODE.filter((c) => c && c !== 'OK');
    assert.deepStrictEqual(typed, [...codes, 'ERR_UNKNOWN'].sort());
  });

  it('every class and constant declared as a value is exported by index.js under that name', () => {
    const classes = [...DTS.matchAll(/^export declare (?:abstract )?class (\w+)/gm)].map((x) => x[1]);
    assert.ok(classes.length > 10);
    for (const name of classes) assert.strictEqual(typeof shmstore[name], 'function', `${name} is declared but not exported`);
    const constants = [...DTS.matchAll(/^export declare const (\w+)/gm)].map((x) => x[1]);
    assert.ok(constants.length > 0);
    for (const name of constants) assert.notStrictEqual(shmstore[name], undefined, `${name} is declared but not exported`);
  });
});
