'use strict';
// Store-level lock behaviour (docs/format.md §1 and §6; docs/api.md `lockTimeoutMs`,
// ERR_TOO_MANY_HANDLES): the owner table full of live handles refuses an attach, slots of dead
// processes are adopted and released. A lock taken over from its holder stays the new holder's:
// test/40-ownership/waiter.test.js. A lock left by a dead writer is repaired by verify():
// verify-repair.test.js; one left by an owner that is gone by its identity: owners.test.js.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { C } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');
const { exitedPid } = require('../helpers/process');
const { pidWord, tidWord } = require('../helpers/store-bytes');

forEachEngine('Store.attach(): owner slots and ERR_TOO_MANY_HANDLES', ({ engine, make }) => {
  it('owner slots: a full table of live handles refuses, slots of dead processes are reused', () => {
    const s = make();
    s.set('n', 'k', 'v');
    const u32 = new Uint32Array(s.buffer);
    const deadPid = exitedPid();
    const fill = (pid) => {
      for (let o = 1; o < C.OWNER_SLOTS; o++) {
        if (u32[pidWord(o)] === 0) {
          u32[pidWord(o)] = pid;
          u32[tidWord(o)] = 999;
        }
      }
    };
    fill(process.pid);
    assert.throws(() => Store.attach(s.buffer, { engine }), { code: 'ERR_TOO_MANY_HANDLES' });
    // Make the filler slots look like a dead process's: the next attach adopts one.
    for (let o = 1; o < C.OWNER_SLOTS; o++) {
      if (u32[tidWord(o)] === 999) u32[pidWord(o)] = deadPid;
    }
    const t = Store.attach(s.buffer, { engine });
    assert.strictEqual(t.get('n', 'k'), 'v');
    t.set('n', 'k2', 'v2');
    assert.ok(t.stats().repairs >= 1);
    let stillDead = 0;
    for (let o = 1; o < C.OWNER_SLOTS; o++) if (u32[pidWord(o)] === deadPid) stillDead++;
    assert.strictEqual(stillDead, 0, 'the repair pass released the dead slots');
    t.close();
  });
});
