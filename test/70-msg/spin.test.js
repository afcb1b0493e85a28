'use strict';
// Polling before parking (lib/msg/park.js): a waiting party of a queue or pool polls for a budget
// that adapts to what polling achieved, so that on a machine with more busy threads than cores
// the polling falls to its floor instead of keeping the core from the party it waits for.
const assert = require('assert');
const { Spinner, spinWhileEqual, spinFor } = require('../../lib/msg/park');

describe('polling before parking', () => {
  it('the budget halves after each poll that ended in a park, to its floor, and doubles back after polls that met the other side', () => {
    const s = new Spinner();
    const max = s.ms;
    const seen = [max];
    for (let i = 0; i < 20; i++) {
      s.lost();
      seen.push(s.ms);
    }
    const min = s.ms;
    assert.ok(min > 0 && min < max);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] === min || seen[i] === seen[i - 1] / 2, `step ${i}: ${seen[i - 1]} -> ${seen[i]}`);
    for (let i = 0; i < 20; i++) s.won();
    assert.strictEqual(s.ms, max);
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
});
