'use strict';
// The Atomics calls of an MPMC single message (lib/msg/mpmc-single.js, docs/format.md §15
// "Orderings"): four on each side, the intent written with plain stores before the claim and
// left naming the finished position; an intent that names a finished position never makes a
// repair touch that slot; a batch that lost its claim and then found the queue full names nothing,
// and names nothing when it looks for gone parties, which its own intent would hold back.
const assert = require('assert');
const { MpmcQueue } = require('../../index');
const { C, W } = require('../../lib/layout/layout');
const { OwnerTable } = require('../../lib/ownership/owners');
const { exitedPid } = require('../helpers/process');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const TAIL = C.MPMC_CONTROL_OFFSET / WORD + W.MPMC_CONTROL.TAIL;
const SKIPPED_WRITES = C.MPMC_CONTROL_OFFSET / WORD + W.MPMC_CONTROL.SKIPPED_WRITES;
const SKIPPED_READS = C.MPMC_CONTROL_OFFSET / WORD + W.MPMC_CONTROL.SKIPPED_READS;
const OWNER_PID = C.MPMC_OWNERS_OFFSET / WORD + W.OWNER.PID;
const intentWord = (o, field) => C.MPMC_INTENTS_OFFSET / WORD + o * W.MPMC_INTENT.WORDS + field;
const NAMES = ['load', 'store', 'compareExchange', 'exchange', 'add', 'sub', 'and', 'or', 'xor', 'wait', 'notify'];

function queue(capacity, messageBytes = 32) {
  const buffer = new SharedArrayBuffer(MpmcQueue.bytesFor(capacity, { messageBytes }));
  return MpmcQueue.create({ buffer, capacity, messageBytes });
}

// Calls f() with every Atomics function counted; { result, calls: { name: n } }.
function counting(f) {
  const saved = NAMES.map((n) => Atomics[n]);
  const calls = {};
  NAMES.forEach((n, k) => { Atomics[n] = (...a) => { calls[n] = (calls[n] || 0) + 1; return saved[k](...a); }; });
  try {
    return { result: f(), calls };
  } finally {
    NAMES.forEach((n, k) => { Atomics[n] = saved[k]; });
  }
}

// The owner records whose intent has `role` (by the document: bit 0 producing, bit 1 consuming).
function intents(q, role) {
  const out = [];
  for (let o = 1; o < C.MPMC_OWNER_SLOTS; o++) {
    if (q.u32[intentWord(o, W.MPMC_INTENT.ROLES)] & role) {
      const pos = q.u32[intentWord(o, role === C.MPMC_INTENT_PRODUCE ? W.MPMC_INTENT.PRODUCE_POS : W.MPMC_INTENT.CONSUME_POS)];
      out.push({ o, pos, extra: q.u32[intentWord(o, W.MPMC_INTENT.EXTRA)] });
    }
  }
  return out;
}

describe('MpmcQueue: the Atomics calls of a single message', () => {
  it('tryEnqueue and tryDequeue make four each: the load of seq, the CAS, the store of seq, the load of the waiter count', () => {
    const q = queue(64);
    for (let i = 0; i < 200; i++) { q.tryEnqueue(`warm ${i}`); q.tryDequeue(); } // past the wrap, optimized
    const w = counting(() => q.tryEnqueue('a 32-byte message of ASCII text!'));
    assert.strictEqual(w.result, true);
    assert.deepStrictEqual(w.calls, { load: 2, compareExchange: 1, store: 1 });
    const r = counting(() => q.tryDequeue());
    assert.strictEqual(r.result, 'a 32-byte message of ASCII text!');
    assert.deepStrictEqual(r.calls, { load: 2, compareExchange: 1, store: 1 });
    q.close();
  });

  it("an empty queue's tryDequeue and tryDequeueBatch do not read tail (the producer's line) while no repair is due", () => {
    const q = queue(64);
    for (let i = 0; i < 200; i++) { q.tryEnqueue(`warm ${i}`); q.tryDequeue(); }
    for (const [what, f, none] of [['tryDequeue', () => q.tryDequeue(), undefined], ['tryDequeueBatch', () => q.tryDequeueBatch(), []]]) {
      // The repair look is due at most once per MPMC_RECHECK_MS: after that long, an empty poll
      // takes it (and may read tail), and the poll counted right after must not. A pair that took
      // that long itself (a preempted test) proves nothing and is tried again.
      for (let attempt = 0; ; attempt++) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, C.MPMC_RECHECK_MS + 1);
        assert.deepStrictEqual(f(), none);
        const started = performance.now();
        const loads = [];
        const load = Atomics.load;
        Atomics.load = (a, i) => { if (a === q.u32) loads.push(i); return load(a, i); };
        try {
          assert.deepStrictEqual(f(), none);
        } finally {
          Atomics.load = load;
        }
        if (performance.now() - started >= C.MPMC_RECHECK_MS && attempt < 5) continue;
        assert.ok(loads.length > 0);
        assert.ok(!loads.includes(TAIL), `${what} loaded words ${loads}`);
        break;
      }
    }
    q.close();
  });

  it("handles take owner slots MPMC_INTENT_SPREAD apart: each one's intent record has a cache line of its own", () => {
    const a = queue(8);
    const others = [1, 2, 3].map(() => MpmcQueue.open({ buffer: a.u32.buffer }));
    const slots = [];
    for (let o = 1; o < C.MPMC_OWNER_SLOTS; o++) if (a.u32[OWNER_PID + o * W.OWNER.WORDS] !== 0) slots.push(o);
    assert.deepStrictEqual(slots, [0, 1, 2, 3].map((k) => 1 + k * C.MPMC_INTENT_SPREAD));
    const lines = slots.map((o) => Math.floor((intentWord(o, 0) * WORD) / C.UNIT));
    assert.strictEqual(new Set(lines).size, slots.length);
    for (const h of [a, ...others]) h.close();
  });

  it('the intent stays after the slot is finished, naming the finished position; a repair never touches it', () => {
    const a = queue(4);
    const b = MpmcQueue.open({ buffer: a.u32.buffer });
    assert.strictEqual(a.tryEnqueue('kept'), true);
    const [mine] = intents(a, C.MPMC_INTENT_PRODUCE);
    assert.deepStrictEqual(mine, { o: mine.o, pos: 0, extra: 0 });
    // The producer dies after its enqueue returned: its record now names a gone process.
    a.u32[OWNER_PID + mine.o * W.OWNER.WORDS] = exitedPid();
    // Another producer fills the queue and, finding it full, looks for gone parties' slots.
    for (let i = 0; i < 3; i++) assert.strictEqual(b.tryEnqueue(`m${i}`), true);
    assert.strictEqual(b.tryEnqueue('full'), false);
    assert.deepStrictEqual(b.tryDequeueBatch(), ['kept', 'm0', 'm1', 'm2']);
    // The same for a consumer's intent naming the position it released.
    assert.strictEqual(b.tryEnqueue('next'), true);
    const c = MpmcQueue.open({ buffer: a.u32.buffer });
    assert.strictEqual(c.tryDequeue(), 'next');
    const consuming = intents(a, C.MPMC_INTENT_CONSUME).find((x) => x.pos === 4);
    assert.ok(consuming, 'the consumer intent names position 4');
    a.u32[OWNER_PID + consuming.o * W.OWNER.WORDS] = exitedPid();
    for (let i = 0; i < 4; i++) assert.strictEqual(b.tryEnqueue(`n${i}`), true);
    assert.strictEqual(b.tryEnqueue('full'), false);
    assert.deepStrictEqual(b.tryDequeueBatch(), ['n0', 'n1', 'n2', 'n3']);
    assert.deepStrictEqual([Atomics.load(a.u32, SKIPPED_WRITES), Atomics.load(a.u32, SKIPPED_READS)], [0, 0]);
    b.close();
  });

  it('a batch that lost its claim to another producer and then found the queue full leaves no intent', () => {
    const q = queue(4);
    const other = MpmcQueue.open({ buffer: q.u32.buffer });
    assert.strictEqual(q.tryEnqueueBatch(['a', 'b']), 2);
    // Just before the batch's CAS of tail, another producer takes the two free slots.
    const cas = Atomics.compareExchange;
    let once = true;
    Atomics.compareExchange = (u32, i, ...rest) => {
      if (once && i === TAIL) {
        once = false;
        Atomics.compareExchange = cas;
        assert.strictEqual(other.tryEnqueueBatch(['x', 'y']), 2);
      }
      return cas(u32, i, ...rest);
    };
    let n;
    try {
      n = q.tryEnqueueBatch(['c', 'd']);
    } finally {
      Atomics.compareExchange = cas;
    }
    assert.strictEqual(n, 0);
    assert.ok(!once, 'the claim was raced');
    assert.deepStrictEqual(intents(q, C.MPMC_INTENT_PRODUCE), []);
    q.close();
    other.close();
  });

  it('a batch that lost its claim to a producer that then died gives up that slot at its first look', () => {
    const q = queue(4);
    const other = MpmcQueue.open({ buffer: q.u32.buffer });
    // Just before the batch's CAS of tail (position 0), a producer of a process that has exited
    // claims position 0 (its intent, then the CAS) and dies there, and another fills 1 to 3.
    const cas = Atomics.compareExchange;
    let once = true;
    Atomics.compareExchange = (u32, i, ...rest) => {
      if (once && i === TAIL) {
        once = false;
        Atomics.compareExchange = cas;
        const owners = new OwnerTable(q.u32, C.MPMC_OWNERS_OFFSET / WORD, C.MPMC_OWNER_SLOTS);
        const o = owners.claim({ pid: exitedPid(), tid: 1, startTime: 0n, bootId: 0n });
        Atomics.store(q.u32, intentWord(o, W.MPMC_INTENT.PRODUCE_POS), 0);
        Atomics.store(q.u32, intentWord(o, W.MPMC_INTENT.ROLES), C.MPMC_INTENT_PRODUCE);
        assert.strictEqual(cas(q.u32, TAIL, 0, 1), 0);
        assert.strictEqual(other.tryEnqueueBatch(['x', 'y', 'z']), 3);
      }
      return cas(u32, i, ...rest);
    };
    let n;
    try {
      n = q.tryEnqueueBatch(['c']);
    } finally {
      Atomics.compareExchange = cas;
    }
    assert.strictEqual(n, 0); // full: the slot of position 4 is the dead producer's
    assert.ok(!once, 'the claim was raced');
    // The look for gone parties that "full" makes did not find the slot named by the batch's own
    // intent (a live owner's): it gave it up.
    assert.strictEqual(Atomics.load(q.u32, SKIPPED_WRITES), 1);
    assert.deepStrictEqual(q.tryDequeueBatch(), ['x', 'y', 'z']);
    q.close();
    other.close();
  });
});
