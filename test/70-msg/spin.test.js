'use strict';
// Polling before parking (lib/msg/park.js): a waiting party of a queue or pool polls for a budget
// that adapts to what polling achieved, so that on a machine with more busy threads than cores
// the polling falls to its floor instead of keeping the core from the party it waits for.
const assert = require('assert');
const { Spinner, spinWhileEqual, spinFor } = require('../../lib/msg/park');
const { addon } = require('../../lib/base/native');

describe('polling before parking', () => {
  it('the budget halves after each poll that ended in a park, to its floor and then to no polling at all, and doubles back after polls that met the other side', () => {
    const s = new Spinner();
    const max = s.ms;
    const seen = [max];
    for (let i = 0; i < 20; i++) {
      s.lost();
      seen.push(s.ms);
    }
    assert.strictEqual(s.ms, 0);
    const floor = seen[seen.indexOf(0) - 1];
    assert.ok(floor > 0 && floor < max);
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i] === 0 || seen[i] === floor || seen[i] === seen[i - 1] / 2, `step ${i}: ${seen[i - 1]} -> ${seen[i]}`);
    }
    for (let i = 0; i < 20; i++) s.won();
    assert.strictEqual(s.ms, max);
  });

  it('a party that stopped polling parks at once, and polls again (at the floor) once every PROBE_EVERY waits', () => {
    const u32 = new Uint32Array(new SharedArrayBuffer(8));
    const s = new Spinner();
    while (s.ms > 0) s.lost();
    let polled = 0;
    for (let i = 0; i < 3 * Spinner.PROBE_EVERY; i++) {
      if (s.polls()) {
        polled++;
        assert.ok(s.ms > 0);
        s.lost(); // the probe did not meet the other side: no polling again
        assert.strictEqual(s.ms, 0);
      }
    }
    assert.strictEqual(polled, 3);
    // spinWhileEqual without polling: one look at the word.
    Atomics.store(u32, 0, 5);
    while (!s.polls() && s.ms === 0) { /* up to the next probe */ }
    s.lost();
    assert.strictEqual(spinWhileEqual(u32, 0, 4, s), true);
    assert.strictEqual(spinWhileEqual(u32, 0, 5, s), false);
    // A probe that met the other side brings the polling back.
    while (!s.polls()) { /* up to the next probe */ }
    s.won();
    assert.ok(s.ms > 0);
  });

  it('spinWhileEqual: true at once for a word that moved; false for one that does not, and the budget falls', () => {
    const u32 = new Uint32Array(new SharedArrayBuffer(8));
    const word = u32.length - 1;
    Atomics.store(u32, word, 7);
    const s = new Spinner();
    assert.strictEqual(spinWhileEqual(u32, word, 6, s), true);
    const before = s.ms;
    assert.strictEqual(spinWhileEqual(u32, word, 7, s), false);
    assert.strictEqual(s.ms, before / 2);
  });

  it('spinFor returns what the attempt returned, or `none` when the budget ran out', () => {
    const none = Symbol('none');
    const s = new Spinner();
    s.ms = 60000; // however slow this machine is now, 100 calls fit
    let calls = 0;
    assert.strictEqual(spinFor(() => (++calls === 100 ? 'got' : none), none, s), 'got');
    assert.strictEqual(calls, 100);
    const before = new Spinner().ms;
    s.ms = before;
    assert.strictEqual(spinFor(() => none, none, s), none);
    assert.strictEqual(s.ms, before / 2);
  });

  (addon ? it : it.skip)('spinFor then yields the CPU twice at most, trying after each yield, before it returns `none`', () => {
    const none = Symbol('none');
    const saved = addon.msgYield;
    let yields = 0;
    addon.msgYield = () => { yields++; };
    try {
      const s = new Spinner();
      while (s.ms > 0) s.lost(); // polling fell to nothing (the other party shares the core)
      let found = false;
      // The other party runs during the second yield.
      const attempt = () => (found ? 'released during a yield' : none);
      addon.msgYield = () => { yields++; if (yields === 2) found = true; };
      assert.strictEqual(spinFor(attempt, none, s), 'released during a yield');
      assert.strictEqual(yields, 2);
      yields = 0;
      found = false;
      addon.msgYield = () => { yields++; };
      assert.strictEqual(spinFor(attempt, none, s), none);
      assert.strictEqual(yields, 2);
    } finally {
      addon.msgYield = saved;
    }
  });
});
