'use strict';
// How long a blocked acquire polls before it sleeps (lib/pool/core.js, with msg/park.js's
// Spinner given a budget of its own): the pools poll for longer than the queues, and a poll cut
// short by the caller's timeout is not counted against polling.
const assert = require('assert');
const { Spinner, spinFor } = require('../../lib/msg/park');

describe('Pools: polling before sleeping', () => {
  it('a Spinner with its own budget starts at its maximum, halves to its floor, then to none, probes at its floor and doubles back to its maximum', () => {
    const s = new Spinner(0.1, 0.025);
    assert.strictEqual(s.ms, 0.1);
    const seen = [];
    for (let i = 0; i < 4; i++) {
      s.lost();
      seen.push(s.ms);
    }
    assert.deepStrictEqual(seen, [0.05, 0.025, 0, 0]);
    let probes = 0;
    for (let i = 0; i < 2 * Spinner.PROBE_EVERY; i++) {
      if (s.polls()) {
        probes++;
        assert.strictEqual(s.ms, 0.025);
        s.lost();
      }
    }
    assert.strictEqual(probes, 2);
    while (!s.polls()) { /* up to the next probe */ }
    for (let i = 0; i < 10; i++) s.won();
    assert.strictEqual(s.ms, 0.1);
  });

  it('the default Spinner is unchanged by the new arguments', () => {
    const a = new Spinner();
    const b = new Spinner(undefined, undefined);
    assert.strictEqual(a.ms, b.ms);
    for (let i = 0; i < 20; i++) {
      a.lost();
      b.lost();
      assert.strictEqual(a.ms, b.ms);
    }
  });

  it('spinFor with a cap below the budget returns `none` without lowering the budget; one that ran its whole budget lowers it', () => {
    const none = Symbol('none');
    const s = new Spinner(60000, 1000);
    assert.strictEqual(spinFor(() => none, none, s, 0.01), none);
    assert.strictEqual(s.ms, 60000);
    const t = new Spinner(0.2, 0.05);
    assert.strictEqual(spinFor(() => none, none, t, 60000), none);
    assert.strictEqual(t.ms, 0.1);
    let calls = 0;
    assert.strictEqual(spinFor(() => (++calls === 50 ? 7 : none), none, s, 0.01), 7);
    assert.strictEqual(calls, 50);
  });
});
