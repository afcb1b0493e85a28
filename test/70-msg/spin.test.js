'use strict';
// Polling before parking (lib/msg/park.js): a waiting party of a queue or pool polls for a budget
// that adapts to what polling achieved, so that on a machine with more busy threads than cores
// the polling falls to its floor instead of keeping the core from the party it waits for.
const assert = require('assert');
const { Spinner, spinWhileEqual, rideWhileEqual, rideFor, spinFor } = require('../../lib/msg/park');
const { addon } = require('../../lib/base/native');
const { SpscRing, MpmcQueue, Stack, PriorityQueue, Channel, Broadcast } = require('../..');
const { C, W } = require('../../lib/layout/layout');
const { POLL_MS, POLL_WOKEN_MS } = require('../../lib/msg/async-fifo');
const { until } = require('../helpers/process');

// A structure of each kind that blocks, on an empty SharedArrayBuffer-backed queue, and its
// blocking take with a timeout.
const KINDS = [
  ['SpscRing', () => SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(64)), capacity: 64 }), (q, ms) => q.dequeue(ms)],
  ['MpmcQueue', () => MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(4, { messageBytes: 16 })), capacity: 4, messageBytes: 16 }), (q, ms) => q.dequeue(ms)],
  ['Stack', () => Stack.create({ buffer: new SharedArrayBuffer(Stack.bytesFor(4, { messageBytes: 16 })), capacity: 4, messageBytes: 16 }), (q, ms) => q.pop(ms)],
  ['PriorityQueue', () => PriorityQueue.create({ buffer: new SharedArrayBuffer(PriorityQueue.bytesFor(4, { messageBytes: 16 })), capacity: 4, messageBytes: 16 }), (q, ms) => q.dequeue(ms)],
  ['Channel', () => Channel.create({ buffer: new SharedArrayBuffer(Channel.bytesFor(4, { messageBytes: 16 })), capacity: 4, messageBytes: 16 }), (q, ms) => q.receiveSync(ms)],
];

const dispose = (q) => (q instanceof Channel ? q.dispose() : q.close());

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const MPMC_CONSUMER_WAITERS = C.MPMC_CONTROL_OFFSET / WORD + W.MPMC_CONTROL.CONSUMER_WAITERS;

// Each structure's Promise-form take, on a SharedArrayBuffer: make() gives the handle that takes,
// a second handle that puts (put(v) puts at once) and the word whose change tells that the take
// registered as a waiter (raised its sleeping flag, for the SPSC ring).
function pair(Class, bytes, options, take, put, word, close = (h) => h.close()) {
  return () => {
    const buffer = new SharedArrayBuffer(bytes);
    const q = Class.create({ buffer, ...options });
    const p = Class.open({ buffer });
    return { buffer, take: (o) => take(q, o), put: (v) => assert.ok(put(p, v)), word, close: () => { close(q); close(p); } };
  };
}
const small = { capacity: 4, messageBytes: 16 };
const smallBytes = (Class) => Class.bytesFor(4, { messageBytes: 16 });
const ASYNC_KINDS = [
  ['SpscRing', pair(SpscRing, SpscRing.bytesFor(64), { capacity: 64 }, (q, o) => q.dequeueAsync(o), (p, v) => p.tryEnqueue(v), C.SPSC_CONTROL_OFFSET / WORD + W.SPSC_CONTROL.CONSUMER_SLEEPING)],
  ['MpmcQueue', pair(MpmcQueue, smallBytes(MpmcQueue), small, (q, o) => q.dequeueAsync(o), (p, v) => p.tryEnqueue(v), MPMC_CONSUMER_WAITERS)],
  ['Stack', pair(Stack, smallBytes(Stack), small, (q, o) => q.popAsync(o), (p, v) => p.tryPush(v), C.STACK_CONTROL_OFFSET / WORD + W.STACK_CONTROL.POP_WAITERS)],
  ['PriorityQueue', pair(PriorityQueue, smallBytes(PriorityQueue), small, (q, o) => q.dequeueAsync(o), (p, v) => p.tryEnqueue(v, 0), C.PQ_CONTROL_OFFSET / WORD + W.PQ_CONTROL.DEQUEUE_WAITERS)],
  ['Channel', pair(Channel, smallBytes(Channel), small, (q, o) => q.receive(o), (p, v) => p.trySend(v), MPMC_CONSUMER_WAITERS, (h) => h.dispose())],
  ['Broadcast subscriber', () => {
    const buffer = new SharedArrayBuffer(Broadcast.bytesFor(8, { messageBytes: 16 }));
    const b = Broadcast.create({ buffer, capacity: 8, messageBytes: 16 });
    const sub = b.subscribe();
    return { buffer, take: async () => (await sub.receive()).value, put: (v) => b.publish(v), word: C.BCAST_CONTROL_OFFSET / WORD + W.BCAST_CONTROL.WAITERS, close: () => { sub.close(); b.close(); } };
  }],
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
        dispose(q);
      }
    });
  }

  for (const [name, make, take] of KINDS.filter(([n]) => n === 'MpmcQueue' || n === 'Channel')) {
    it(`${name}: a blocking take with a timeout of 0 tries once and does not poll`, () => {
      const q = make();
      const polls = Spinner.prototype.polls;
      let polled = 0;
      Spinner.prototype.polls = function () {
        polled++;
        return polls.call(this);
      };
      try {
        assert.throws(() => take(q, 0), { code: 'ERR_QUEUE_TIMEOUT' });
        assert.strictEqual(polled, 0);
      } finally {
        Spinner.prototype.polls = polls;
        dispose(q);
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

describe('Promise forms poll, a turn of the event loop at a time, before they register as waiters', () => {
  for (const [name, make] of ASYNC_KINDS) {
    it(`${name}: a message put while the take polls is taken without registering (no sleeping flag, no wake word moved)`, async () => {
      const k = make();
      const u32 = new Uint32Array(k.buffer);
      try {
        let seen = null;
        // Queued before the take: it runs in the first turn of the take's poll, before the take
        // looks again.
        setImmediate(() => {
          seen = Atomics.load(u32, k.word);
          k.put('while polling');
        });
        assert.strictEqual(await k.take(), 'while polling');
        assert.strictEqual(seen, 0, 'the take registered before it polled');
        assert.strictEqual(Atomics.load(u32, k.word), 0);
      } finally {
        k.close();
      }
    });
  }

  it('the poll leaves the event loop free: other callbacks run between its turns', async () => {
    const k = ASYNC_KINDS.find(([n]) => n === 'Channel')[1]();
    try {
      const s = Spinner.prototype.polls;
      // A budget long enough for many turns, so that what runs in them can be seen.
      Spinner.prototype.polls = function () {
        s.call(this);
        this.budget = 50;
        return true;
      };
      const u32 = new Uint32Array(k.buffer);
      let turns = 0;
      let registered = null;
      const tick = () => {
        turns++;
        if (turns < 20) setImmediate(tick);
        else {
          registered = Atomics.load(u32, k.word); // still polling: not registered
          k.put('after 20 turns');
        }
      };
      setImmediate(tick);
      try {
        assert.strictEqual(await k.take(), 'after 20 turns');
      } finally {
        Spinner.prototype.polls = s;
      }
      assert.strictEqual(turns, 20);
      assert.strictEqual(registered, 0);
    } finally {
      k.close();
    }
  });

  it('a Promise-form take that parked tells its Spinner, and its next wait polls for the woken budget', async () => {
    const k = ASYNC_KINDS.find(([n]) => n === 'MpmcQueue')[1]();
    const parked = Spinner.prototype.parked;
    const polls = Spinner.prototype.polls;
    const woken = [];
    const budgets = [];
    Spinner.prototype.parked = function () {
      woken.push(this);
      return parked.call(this);
    };
    Spinner.prototype.polls = function () {
      const r = polls.call(this);
      budgets.push(r ? this.budget : 0);
      return r;
    };
    try {
      const u32 = new Uint32Array(k.buffer);
      const p = k.take();
      // Put once the take is parked (registered).
      while (Atomics.load(u32, k.word) === 0) await new Promise((resolve) => setImmediate(resolve));
      k.put('after the park');
      assert.strictEqual(await p, 'after the park');
      assert.strictEqual(woken.length, 1);
      budgets.length = 0;
      setImmediate(() => k.put('next'));
      assert.strictEqual(await k.take(), 'next');
      assert.strictEqual(budgets[0], POLL_WOKEN_MS);
      assert.ok(POLL_WOKEN_MS > POLL_MS);
    } finally {
      Spinner.prototype.parked = parked;
      Spinner.prototype.polls = polls;
      k.close();
    }
  });

  it('a take whose park ended at its recheck and that is aborted while it polls leaves no registration behind', async () => {
    const k = ASYNC_KINDS.find(([n]) => n === 'Channel')[1]();
    const u32 = new Uint32Array(k.buffer);
    const ac = new AbortController();
    const polls = Spinner.prototype.polls;
    let calls = 0;
    let atAbort = null;
    // The first park ends at its recheck (nothing is put): the registration it made is still
    // counted when the loop polls again (its second poll), and the abort comes during that poll.
    Spinner.prototype.polls = function () {
      const r = polls.call(this);
      if (++calls !== 2) return r;
      setImmediate(() => {
        atAbort = Atomics.load(u32, k.word);
        ac.abort();
      });
      this.budget = 50;
      return true;
    };
    try {
      await assert.rejects(k.take({ signal: ac.signal }), { name: 'AbortError' });
    } finally {
      Spinner.prototype.polls = polls;
    }
    try {
      assert.strictEqual(atAbort, 1, 'registered while it polled after the recheck');
      assert.strictEqual(Atomics.load(u32, k.word), 0);
    } finally {
      k.close();
    }
  });

  it('a Promise-form take whose parks end at their rechecks, nothing put, does not take them for wake-ups (no longer poll after them)', async () => {
    const k = ASYNC_KINDS.find(([n]) => n === 'MpmcQueue')[1]();
    const parked = Spinner.prototype.parked;
    let told = 0;
    Spinner.prototype.parked = function () {
      told++;
      return parked.call(this);
    };
    try {
      // Two rechecks (50 ms each) at least before the timeout.
      await assert.rejects(k.take({ timeoutMs: 130 }), { code: 'ERR_QUEUE_TIMEOUT' });
      assert.strictEqual(told, 0);
    } finally {
      Spinner.prototype.parked = parked;
      k.close();
    }
  });
});

describe('riding out the other side\'s short pauses (park.js PAUSE_MS)', () => {
  const { PAUSE_MS, PAUSE_MARGIN } = Spinner;
  const PAUSE = PAUSE_MS / 2; // a pause short enough to ride out (ms)
  const ride = PAUSE * PAUSE_MARGIN;

  it('a spinner rides nothing until a wait of it parked and was woken within PAUSE_MS', () => {
    const s = new Spinner();
    assert.strictEqual(s.mayRide(), false);
    assert.strictEqual(s.rideBudget(1000), 0);
    s.parkedFor(10, 10 + PAUSE_MS * 2); // a long wait: the other side was not paused briefly
    assert.strictEqual(s.mayRide(), false);
    s.parkedFor(20, 20 + PAUSE);
    assert.strictEqual(s.mayRide(), true);
    assert.strictEqual(s.rideBudget(20 + PAUSE + PAUSE), ride);
  });

  it('it rides only after working at least as long as the pause since its last ride or park, its own poll not counted', () => {
    const s = new Spinner();
    s.parkedFor(0, PAUSE);
    // A consumer woken for each message of a slow stream works a few microseconds between waits.
    assert.strictEqual(s.rideBudget(PAUSE + 0.005), 0);
    assert.strictEqual(s.rideBudget(PAUSE + PAUSE / 2), 0);
    assert.strictEqual(s.rideBudget(2 * PAUSE), ride);
    // The wait's poll (after a park: the woken budget) is not work.
    assert.strictEqual(s.polls(), true);
    assert.ok(s.budget > 0);
    assert.strictEqual(s.rideBudget(2 * PAUSE), 0);
    assert.strictEqual(s.rideBudget(2 * PAUSE + s.budget), ride);
  });

  it('a ride is never longer than PAUSE_MS', () => {
    const s = new Spinner();
    s.parkedFor(0, PAUSE_MS); // the longest pause ridden
    assert.strictEqual(s.rideBudget(10), PAUSE_MS);
  });

  it('a ride met early leaves the pause as it was; a shorter pause lowers it by a tenth at most', () => {
    const s = new Spinner();
    s.parkedFor(0, PAUSE);
    s.rode(1, 1 + PAUSE / 10); // met early: the other side was a little late, not paused
    assert.strictEqual(s.rideBudget(100), ride);
    s.rode(200, 200 + PAUSE * 0.6);
    assert.strictEqual(s.rideBudget(300), ride * 0.9);
    s.rode(400, 400 + PAUSE);
    assert.strictEqual(s.rideBudget(500), ride);
  });

  it('a ride met within the ordinary budget\'s most brings the ordinary poll back; a longer one leaves it off', () => {
    const s = new Spinner();
    while (s.ms > 0) { s.polls(); s.lost(); } // the poll fell to nothing (the pauses outlast it)
    s.parkedFor(0, PAUSE);
    s.rode(10, 10 + PAUSE); // a real pause: polling would not have met it
    assert.strictEqual(s.ms, 0);
    s.rode(20, 20 + new Spinner().ms / 2); // met within a poll's budget
    assert.ok(s.ms > 0, 'the ordinary poll is back');
  });

  it('a word that moved before the ride is no ride: nothing learned, the ordinary poll left off', () => {
    const u32 = new Uint32Array(new SharedArrayBuffer(4));
    // An ordinary budget of up to 1 ms: a ride counted at its first look (some microseconds, clock
    // reads included) would be met within it and bring the poll back.
    const s = new Spinner(1, 0.0005, 1);
    while (s.ms > 0) { s.polls(); s.lost(); }
    s.parkedFor(0, PAUSE);
    assert.strictEqual(rideWhileEqual(u32, 0, 1, s, Infinity), true);
    assert.strictEqual(s.ms, 0);
    assert.strictEqual(s.rideBudget(1000), ride, 'the ride\'s end taken for the end of a wait');
  });

  it('a sleep much shorter than the pause learned leaves it; a longer one within PAUSE_MS raises it', () => {
    const s = new Spinner();
    s.parkedFor(0, PAUSE);
    s.parkedFor(10, 10 + PAUSE / 10); // the word moved as the sleep began
    assert.strictEqual(s.rideBudget(100), ride);
    s.parkedFor(200, 200 + PAUSE_MS);
    assert.strictEqual(s.rideBudget(300), PAUSE_MS);
  });

  it('a sleep shorter than a poll\'s most is no pause: nothing learned', () => {
    const s = new Spinner();
    s.parkedFor(0, new Spinner().ms / 2); // the word moved as the sleep began
    assert.strictEqual(s.mayRide(), false);
    s.parkedFor(10, 10 + PAUSE);
    s.parkedFor(20, 20 + new Spinner().ms / 2);
    assert.strictEqual(s.rideBudget(100), ride, 'the pause learned before is kept');
  });

  it('a ride that ran out stops the riding until short parks are seen again: 1, then 2, 4, ... of them while rides keep running out', () => {
    const s = new Spinner();
    let t = 0;
    // A wait that parks after a short pause, and one whose ride runs out (each its own wait: its
    // poll first).
    const shortPark = () => { s.polls(); s.parkedFor(t, t + PAUSE); t += 10; };
    const lose = () => { s.polls(); s.rideLost(t, t); t += 10; };
    shortPark();
    assert.strictEqual(s.mayRide(), true);
    lose();
    assert.strictEqual(s.mayRide(), false);
    shortPark();
    assert.strictEqual(s.mayRide(), true, 'the first run-out asks for one');
    lose();
    shortPark();
    assert.strictEqual(s.mayRide(), false, 'the second asks for two');
    shortPark();
    assert.strictEqual(s.mayRide(), true);
    lose();
    for (let i = 0; i < 3; i++) { shortPark(); assert.strictEqual(s.mayRide(), false, `the third asks for four (${i})`); }
    shortPark();
    assert.strictEqual(s.mayRide(), true);
    // A ride that met the other side halves the back-off: the next run-out asks for four, not eight.
    s.rode(t, t + PAUSE);
    t += 10;
    lose();
    for (let i = 0; i < 3; i++) { shortPark(); assert.strictEqual(s.mayRide(), false, `after a met ride (${i})`); }
    shortPark();
    assert.strictEqual(s.mayRide(), true);
  });

  it('the park that follows a ride that ran out counts the pause from the ride\'s start', () => {
    const s = new Spinner();
    s.parkedFor(0, PAUSE);
    s.rideLost(10, 10 + ride); // rode PAUSE * 1.5 for nothing
    s.parkedFor(10 + ride, 10 + ride + PAUSE); // and the pause ended PAUSE later: too long to ride
    assert.strictEqual(s.mayRide(), false);
    s.polls(); // the next wait: its park is timed from its own start
    s.parkedFor(100, 100 + PAUSE);
    assert.strictEqual(s.mayRide(), true);
  });

  it('rideWhileEqual gives up at the ride\'s end for a word that does not move, and then rides no more', () => {
    const u32 = new Uint32Array(new SharedArrayBuffer(4));
    const s = new Spinner();
    assert.strictEqual(rideWhileEqual(u32, 0, 0, s, Infinity), false, 'nothing learned: no ride');
    s.parkedFor(0, PAUSE);
    assert.strictEqual(rideWhileEqual(u32, 0, 1, s, Infinity), true, 'a word that moved');
    s.parkedFor(0, PAUSE);
    assert.strictEqual(rideWhileEqual(u32, 0, 0, s, Infinity), false);
    assert.strictEqual(s.mayRide(), false, 'the ride ran out');
  });

  it('a ride stops at the caller\'s deadline, and one cut short there does not count as run out', () => {
    const u32 = new Uint32Array(new SharedArrayBuffer(4));
    const s = new Spinner();
    s.parkedFor(0, PAUSE_MS);
    assert.strictEqual(rideWhileEqual(u32, 0, 0, s, performance.now()), false, 'a deadline already passed');
    assert.strictEqual(s.mayRide(), true);
    assert.strictEqual(rideWhileEqual(u32, 0, 0, s, performance.now() + PAUSE_MS / 10), false);
    assert.strictEqual(s.mayRide(), true, 'cut short by the deadline: nothing learned');
  });

  it('rideWhileEqual meets a word that another thread moves during the ride', async () => {
    const { Worker } = require('worker_threads');
    const sab = new SharedArrayBuffer(8);
    const u32 = new Uint32Array(sab);
    // The worker moves word 0 every 10 us or so until word 1 says stop.
    const w = new Worker(`
      const { workerData } = require('worker_threads');
      const u32 = new Uint32Array(workerData);
      Atomics.store(u32, 1, 1);
      while (Atomics.load(u32, 1) === 1) {
        const until = performance.now() + 0.01;
        while (performance.now() < until);
        Atomics.add(u32, 0, 1);
      }`, { eval: true, workerData: sab });
    try {
      await until(() => Atomics.load(u32, 1) === 1, 'the worker');
      // A loaded machine may keep the worker off its core for a whole ride now and then: tries
      // for up to 2 s, a turn of the event loop apart.
      let met = false;
      for (const end = Date.now() + 2000; !met && Date.now() < end;) {
        const s = new Spinner();
        s.parkedFor(-1, -1 + PAUSE_MS);
        const seen = Atomics.load(u32, 0);
        // Met by the ride: a word that moved before it returns at the first look without a ride,
        // and a ride that met sets the end of the last wait to now (no work time for another).
        met = rideWhileEqual(u32, 0, seen, s, Infinity) && s.mayRide() && s.rideBudget(performance.now()) === 0;
        if (!met) await new Promise((resolve) => setImmediate(resolve));
      }
      assert.ok(met, 'no ride met the moving word');
    } finally {
      Atomics.store(u32, 1, 2);
      await w.terminate();
    }
  });

  it('rideFor returns what the attempt returned; it gives up at the ride\'s end, and then rides no more', () => {
    const s = new Spinner();
    const NONE = Symbol('none');
    let tries = 0;
    const never = () => { tries++; return NONE; };
    assert.strictEqual(rideFor(never, NONE, s, Infinity), NONE, 'nothing learned: no ride');
    assert.strictEqual(tries, 0);
    s.parkedFor(0, PAUSE);
    assert.strictEqual(rideFor(() => 'at once', NONE, s, Infinity), 'at once', 'met at the first look');
    assert.strictEqual(s.mayRide(), true, 'a first look that met is no ride: nothing learned');
    // Met at the third look, before the ride first reads the clock.
    let n = 0;
    assert.strictEqual(rideFor(() => (++n === 3 ? 'met' : NONE), NONE, s, Infinity), 'met');
    s.parkedFor(0, PAUSE);
    assert.strictEqual(rideFor(never, NONE, s, Infinity), NONE);
    assert.ok(tries > 1, 'it polled the attempt');
    assert.strictEqual(s.mayRide(), false, 'the ride ran out');
  });

  it('rideFor stops at the caller\'s deadline, and a ride cut short there does not count as run out', () => {
    const s = new Spinner();
    const NONE = Symbol('none');
    s.parkedFor(0, PAUSE_MS);
    assert.strictEqual(rideFor(() => NONE, NONE, s, performance.now()), NONE, 'a deadline already passed');
    assert.strictEqual(s.mayRide(), true);
    assert.strictEqual(rideFor(() => NONE, NONE, s, performance.now() + PAUSE_MS / 10), NONE);
    assert.strictEqual(s.mayRide(), true, 'cut short by the deadline: nothing learned');
  });

  it('rideFor tries the attempt only when `ready` says it may succeed, after its first look', () => {
    const s = new Spinner();
    const NONE = Symbol('none');
    s.parkedFor(0, PAUSE);
    let tries = 0;
    let looks = 0;
    const attempt = () => { tries++; return NONE; };
    assert.strictEqual(rideFor(attempt, NONE, s, Infinity, () => { looks++; return false; }), NONE);
    assert.strictEqual(tries, 1, 'the first look only');
    assert.ok(looks > 1, 'the gate was polled');
    s.parkedFor(0, PAUSE);
    let n = 0;
    assert.strictEqual(rideFor(() => 'met', NONE, s, Infinity, () => ++n === 3), 'met');
  });

  // The stack's and the priority queue's blocking waits poll the whole operation (park.js
  // blockUntil()): with a pause learned, a take (a put into a full one) whose other side comes
  // back within the ride completes in the ride, without registering or parking. The learned pause
  // is stood in for by a spinner that may ride 2 s, and the other side comes back after 20 ms:
  // longer than the wait's poll, and than its yields of the CPU last on a loaded machine (what
  // the other side does during those is met there, before any ride).
  const RIDE_CASES = [
    ['Stack', Stack, 'take', "q.tryPush('m')", (q) => q.pop(10000)],
    ['Stack', Stack, 'put', 'q.tryPop()', (q) => { q.push('x', 10000); return 'm'; }],
    ['PriorityQueue', PriorityQueue, 'take', "q.tryEnqueue('m', 0)", (q) => q.dequeue(10000)],
    ['PriorityQueue', PriorityQueue, 'put', 'q.tryDequeue()', (q) => { q.enqueue('x', 0, 10000); return 'm'; }],
  ];
  for (const [name, Class, role, other, wait] of RIDE_CASES) {
    it(`${name}: a blocking ${role} rides out a short pause of the other side instead of parking`, async () => {
      const { Worker } = require('worker_threads');
      const buffer = new SharedArrayBuffer(smallBytes(Class));
      const q = Class.create({ buffer, ...small });
      const put = (v) => assert.ok(Class === Stack ? q.tryPush(v) : q.tryEnqueue(v, 0));
      // A put waits on a full structure.
      if (role === 'put') for (let i = 0; i < small.capacity; i++) put('f');
      const go = new Int32Array(new SharedArrayBuffer(4));
      // For each round: waits for `go` to reach the round, lets 20 ms pass, takes or puts one message.
      const w = new Worker(`
        const { workerData: d } = require('worker_threads');
        const { ${name} } = require(d.root);
        const q = ${name}.open({ buffer: d.buffer });
        for (let round = 1; round <= d.rounds; round++) {
          Atomics.wait(d.go, 0, round - 1);
          const until = performance.now() + 20;
          while (performance.now() < until);
          const r = ${other};
          if (r === undefined || r === false) throw new Error('the other side could not go on');
        }
        q.close();`, { eval: true, workerData: { root: require.resolve('../..'), buffer, go, rounds: 10 } });
      const real = { mayRide: Spinner.prototype.mayRide, rideBudget: Spinner.prototype.rideBudget, rode: Spinner.prototype.rode, parked: Spinner.prototype.parked };
      const told = { rode: 0, parked: 0 };
      Spinner.prototype.mayRide = () => true;
      Spinner.prototype.rideBudget = () => 2000;
      Spinner.prototype.rode = function (...a) { told.rode++; return real.rode.apply(this, a); };
      Spinner.prototype.parked = function () { told.parked++; return real.parked.call(this); };
      let met = false;
      try {
        // A loaded machine may keep the worker off its core for a whole ride now and then.
        for (let round = 1; round <= 10 && !met; round++) {
          const before = { ...told };
          Atomics.store(go, 0, round);
          Atomics.notify(go, 0);
          assert.strictEqual(wait(q), 'm');
          met = told.rode === before.rode + 1 && told.parked === before.parked;
        }
      } finally {
        Object.assign(Spinner.prototype, real);
        Atomics.store(go, 0, 100);
        Atomics.notify(go, 0);
        await w.terminate();
        q.close();
      }
      assert.ok(met, 'no wait was met by its ride');
    });
  }

  for (const [name, make, take] of KINDS) {
    it(`${name}: a blocking take whose sleep ended at its timeout learns no pause to ride`, () => {
      const q = make();
      const parkedFor = Spinner.prototype.parkedFor;
      const parked = Spinner.prototype.parked;
      const told = { parkedFor: 0, parked: 0 };
      Spinner.prototype.parkedFor = function (...a) { told.parkedFor++; return parkedFor.apply(this, a); };
      Spinner.prototype.parked = function () { told.parked++; return parked.call(this); };
      try {
        assert.throws(() => take(q, 20), { code: 'ERR_QUEUE_TIMEOUT' });
        assert.ok(told.parked >= 1, 'it parked');
        assert.strictEqual(told.parkedFor, 0, 'a timed-out park taken for a pause');
      } finally {
        Spinner.prototype.parkedFor = parkedFor;
        Spinner.prototype.parked = parked;
        dispose(q);
      }
    });
  }
});
