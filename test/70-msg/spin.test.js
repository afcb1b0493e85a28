'use strict';
// Polling before parking (lib/msg/park.js): a waiting party of a queue or pool polls for a budget
// that adapts to what polling achieved, so that on a machine with more busy threads than cores
// the polling falls to its floor instead of keeping the core from the party it waits for.
const assert = require('assert');
const { Spinner, spinWhileEqual, spinFor } = require('../../lib/msg/park');
const { addon } = require('../../lib/base/native');
const { SpscRing, MpmcQueue, Stack, PriorityQueue } = require('../..');

// A structure of each kind that blocks, on an empty SharedArrayBuffer-backed queue, and its
// blocking take with a timeout.
const KINDS = [
  ['SpscRing', () => SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(64)), capacity: 64 }), (q, ms) => q.dequeue(ms)],
  ['MpmcQueue', () => MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(4, { messageBytes: 16 })), capacity: 4, messageBytes: 16 }), (q, ms) => q.dequeue(ms)],
  ['Stack', () => Stack.create({ buffer: new SharedArrayBuffer(Stack.bytesFor(4, { messageBytes: 16 })), capacity: 4, messageBytes: 16 }), (q, ms) => q.pop(ms)],
  ['PriorityQueue', () => PriorityQueue.create({ buffer: new SharedArrayBuffer(PriorityQueue.bytesFor(4, { messageBytes: 16 })), capacity: 4, messageBytes: 16 }), (q, ms) => q.dequeue(ms)],
];

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

  it('a wait after a park polls for the longer woken budget, even when polling fell to nothing; one that met the other side sets the budget to its most', () => {
    // Two parties taking turns that both stopped polling parked at every turn, each woken by the
    // other: a reply comes only after the other side's wake-up, which short polls never cover.
    const s = new Spinner();
    const max = s.ms;
    while (s.ms > 0) s.lost();
    s.parked();
    assert.strictEqual(s.polls(), true);
    assert.ok(s.budget > max, `woken budget ${s.budget} ms against ${max}`);
    s.won();
    assert.strictEqual(s.ms, max);
    // The next wait, after one that did not park: the ordinary budget.
    assert.strictEqual(s.polls(), true);
    assert.strictEqual(s.budget, max);
    // spinWhileEqual polls for the woken budget: a word that moved is met at once.
    const u32 = new Uint32Array(new SharedArrayBuffer(8));
    while (s.ms > 0) s.lost();
    s.parked();
    Atomics.store(u32, 0, 1);
    assert.strictEqual(spinWhileEqual(u32, 0, 0, s), true);
    assert.strictEqual(s.ms, max);
  });

  it('woken polls that met nothing halve the woken budget down to nothing, leaving the ordinary one alone; it comes back after PROBE_EVERY probes', () => {
    // A stream whose messages come seldom: each one wakes its consumer, which would poll in vain.
    const s = new Spinner();
    const max = s.ms;
    while (s.ms > 0) s.lost();
    const seen = [];
    for (let i = 0; i < 20; i++) {
      s.parked();
      if (!s.polls()) break;
      seen.push(s.budget);
      s.lost();
    }
    assert.ok(seen.length >= 2 && seen.length < 20, `woken budgets ${seen}`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] < seen[i - 1] || seen[i] === seen[i - 1], `${seen}`);
    assert.strictEqual(s.ms, 0);
    // From here a wait after a park parks at once, but for the ordinary probes (one wait in
    // PROBE_EVERY, at the floor), and the woken budget is back once every PROBE_EVERY probes.
    let waits = 0;
    let probes = 0;
    for (;;) {
      waits++;
      s.parked();
      const polls = s.polls();
      if (polls && s.budget > max) break;
      if (polls) {
        probes++;
        s.lost();
      }
      assert.ok(waits <= (Spinner.PROBE_EVERY + 1) * Spinner.PROBE_EVERY, `no woken poll after ${waits} waits`);
    }
    assert.strictEqual(probes, Spinner.PROBE_EVERY);
  });

  it('a woken poll that meets nothing polls for the woken budget (tens of microseconds, against a few), then halves it', () => {
    const u32 = new Uint32Array(new SharedArrayBuffer(8));
    const s = new Spinner();
    while (s.ms > 0) s.lost();
    s.parked();
    const t0 = performance.now();
    assert.strictEqual(spinWhileEqual(u32, 0, 0, s), false);
    const polledMs = performance.now() - t0;
    const first = s.budget;
    assert.ok(polledMs >= 0.9 * first, `polled ${polledMs} ms for a budget of ${first}`); // a lower bound only
    assert.strictEqual(s.ms, 0, 'the ordinary budget is left alone');
    s.parked();
    assert.strictEqual(s.polls(), true);
    assert.strictEqual(s.budget, first / 2);
    // spinFor (the Stack's and the PriorityQueue's poll) polls for it too.
    s.parked();
    const none = Symbol('none');
    const t1 = performance.now();
    assert.strictEqual(spinFor(() => none, none, s), none);
    const spunMs = performance.now() - t1;
    assert.ok(spunMs >= 0.9 * (first / 2), `spun ${spunMs} ms for a budget of ${first / 2}`);
  });

  for (const [name, make, take] of KINDS) {
    it(`${name}: a blocking take that parked tells its Spinner, and its next wait polls for the woken budget`, () => {
      const q = make();
      const parked = Spinner.prototype.parked;
      const woken = [];
      let polled = null;
      Spinner.prototype.parked = function () {
        woken.push(this);
        return parked.call(this);
      };
      try {
        assert.throws(() => take(q, 20), { code: 'ERR_QUEUE_TIMEOUT' });
        assert.ok(woken.length >= 1, 'no park was told');
        const spinner = woken[0];
        const polls = spinner.polls.bind(spinner);
        // The next take's poll: its budget is the woken one (more than the ordinary most).
        spinner.polls = () => {
          const r = polls();
          if (polled === null) polled = spinner.budget;
          return r;
        };
        assert.throws(() => take(q, 1), { code: 'ERR_QUEUE_TIMEOUT' });
        assert.ok(polled > new Spinner().ms, `the next wait polled for ${polled} ms`);
      } finally {
        Spinner.prototype.parked = parked;
        q.close();
      }
    });
  }

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
