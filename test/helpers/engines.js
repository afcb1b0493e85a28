'use strict';
// One factory for both engines: every store test file runs its suite once per engine.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { uniqueName } = require('./process');

// SHMSTORE_TEST_ENGINES=js narrows a local run; CI runs both.
const ENGINES = process.env.SHMSTORE_TEST_ENGINES ? process.env.SHMSTORE_TEST_ENGINES.split(',') : ['native', 'js'];

function forEachEngine(title, body) {
  for (const engine of ENGINES) {
    describe(`${title} [${engine} engine]`, function () {
      const opened = [];
      // Creates a store on a fresh SharedArrayBuffer (no segment to clean up).
      const make = (opts = {}) => {
        const s = Store.create({ buffer: new SharedArrayBuffer(opts.size || 1 << 22), engine, ...opts, size: undefined });
        opened.push(s);
        return s;
      };
      afterEach(() => {
        for (const s of opened.splice(0)) s.close();
      });
      body({ engine, make, other: engine === 'js' ? 'native' : 'js' });
    });
  }
}

/** Asserts that verify() finds `store` sound, and so does a handle of engine `other` on its bytes. */
function assertSoundForBoth(store, other) {
  const v = store.verify();
  assert.ok(v.ok, v.errors.join('\n'));
  const o = Store.attach(store.buffer, { engine: other });
  try {
    const w = o.verify();
    assert.ok(w.ok, w.errors.join('\n'));
  } finally {
    o.close();
  }
}

// uniqueName is re-exported for the store tests that name a segment.
module.exports = { ENGINES, forEachEngine, assertSoundForBoth, uniqueName };
