'use strict';
// The Atomics calls of an MPMC single message (lib/msg/mpmc-single.js, docs/format.md §15
// "Orderings"): four on each side, the intent written with plain stores before the claim and
// left naming the finished position; an intent that names a finished position never makes a
// repair touch that slot; a batch that lost its claim and then found the queue full names nothing,
// and names nothing when it looks for gone parties, which its own intent would hold back; a single
// claim that lost its CAS and then met damage names nothing either, nor one whose record could not
// be read.
const assert = require('assert');
const { MpmcQueue } = require('../../index');
const { C, W } = require('../../lib/layout/layout');
const { OwnerTable } = require('../../lib/ownership/owners');
const { exitedPid } = require('../helpers/process');
const { kWords } = require('../../lib/msg/mpmc');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const TAIL = C.MPMC_CONTROL_OFFSET / WORD + W.MPMC_CONTROL.TAIL;
const HEAD = C.MPMC_CONTROL_OFFSET / WORD + W.MPMC_CONTROL.HEAD;
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
    if (q[kWords][intentWord(o, W.MPMC_INTENT.ROLES)] & role) {
      const pos = q[kWords][intentWord(o, role === C.MPMC_INTENT_PRODUCE ? W.MPMC_INTENT.PRODUCE_POS : W.MPMC_INTENT.CONSUME_POS)];
      out.push({ o, pos, extra: q[kWords][intentWord(o, W.MPMC_INTENT.EXTRA)] });
    }
  }
  return out;
}

// Runs f() with `race()` run once just before the first CAS of word `index` of q's region (that
// CAS then sees what race() did). Returns f()'s result, or what it threw as { threw }.
function racedAt(q, index, race, f) {
  const cas = Atomics.compareExchange;
  let once = true;
  Atomics.compareExchange = (u32, i, ...rest) => {
    if (once && u32 === q[kWords] && i === index) {
      once = false;
      Atomics.compareExchange = cas;
      race();
    }
    return cas(u32, i, ...rest);
  };
  try {
    return f();
  } catch (err) {
    return { threw: err };
  } finally {
    Atomics.compareExchange = cas;
    assert.ok(!once, 'the claim was raced');
  }
}

// A party of a process that has exited claims position `pos` for `role` as format.md §15 says (its
// intent, then the CAS of the index) and dies there, leaving the slot unfinished. Its owner slot.
function goneClaim(q, role, pos) {
  const owners = new OwnerTable(q[kWords], C.MPMC_OWNERS_OFFSET / WORD, C.MPMC_OWNER_SLOTS);
  const o = owners.claim({ pid: exitedPid(), tid: 1, startTime: 0n, bootId: 0n });
  const produce = role === C.MPMC_INTENT_PRODUCE;
  Atomics.store(q[kWords], intentWord(o, produce ? W.MPMC_INTENT.PRODUCE_POS : W.MPMC_INTENT.CONSUME_POS), pos);
  Atomics.store(q[kWords], intentWord(o, W.MPMC_INTENT.ROLES), role);
  const index = produce ? TAIL : HEAD;
  assert.strictEqual(Atomics.compareExchange(q[kWords], index, pos, (pos + 1) >>> 0), pos);
  return o;
}

const isCorrupt = (r) => r && r.threw && r.threw.code === 'ERR_CORRUPT';

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
        Atomics.load = (a, i) => { if (a === q[kWords]) loads.push(i); return load(a, i); };
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
    const others = [1, 2, 3].map(() => MpmcQueue.open({ buffer: a[kWords].buffer }));
    const slots = [];
    for (let o = 1; o < C.MPMC_OWNER_SLOTS; o++) if (a[kWords][OWNER_PID + o * W.OWNER.WORDS] !== 0) slots.push(o);
    assert.deepStrictEqual(slots, [0, 1, 2, 3].map((k) => 1 + k * C.MPMC_INTENT_SPREAD));
    const lines = slots.map((o) => Math.floor((intentWord(o, 0) * WORD) / C.UNIT));
    assert.strictEqual(new Set(lines).size, slots.length);
    for (const h of [a, ...others]) h.close();
  });

  it('the intent stays after the slot is finished, naming the finished position; a repair never touches it', () => {
    const a = queue(4);
    const b = MpmcQueue.open({ buffer: a[kWords].buffer });
    assert.strictEqual(a.tryEnqueue('kept'), true);
    const [mine] = intents(a, C.MPMC_INTENT_PRODUCE);
    assert.deepStrictEqual(mine, { o: mine.o, pos: 0, extra: 0 });
    // The producer dies after its enqueue returned: its record now names a gone process.
    a[kWords][OWNER_PID + mine.o * W.OWNER.WORDS] = exitedPid();
    // Another producer fills the queue and, finding it full, looks for gone parties' slots.
    for (let i = 0; i < 3; i++) assert.strictEqual(b.tryEnqueue(`m${i}`), true);
    assert.strictEqual(b.tryEnqueue('full'), false);
    assert.deepStrictEqual(b.tryDequeueBatch(), ['kept', 'm0', 'm1', 'm2']);
    // The same for a consumer's intent naming the position it released.
    assert.strictEqual(b.tryEnqueue('next'), true);
    const c = MpmcQueue.open({ buffer: a[kWords].buffer });
    assert.strictEqual(c.tryDequeue(), 'next');
    const consuming = intents(a, C.MPMC_INTENT_CONSUME).find((x) => x.pos === 4);
    assert.ok(consuming, 'the consumer intent names position 4');
    a[kWords][OWNER_PID + consuming.o * W.OWNER.WORDS] = exitedPid();
    for (let i = 0; i < 4; i++) assert.strictEqual(b.tryEnqueue(`n${i}`), true);
    assert.strictEqual(b.tryEnqueue('full'), false);
    assert.deepStrictEqual(b.tryDequeueBatch(), ['n0', 'n1', 'n2', 'n3']);
    assert.deepStrictEqual([Atomics.load(a[kWords], SKIPPED_WRITES), Atomics.load(a[kWords], SKIPPED_READS)], [0, 0]);
    b.close();
  });

  it('a batch that lost its claim to another producer and then found the queue full leaves no intent', () => {
    const q = queue(4);
    const other = MpmcQueue.open({ buffer: q[kWords].buffer });
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
    const other = MpmcQueue.open({ buffer: q[kWords].buffer });
    // Just before the batch's CAS of tail (position 0), a producer of a process that has exited
    // claims position 0 (its intent, then the CAS) and dies there, and another fills 1 to 3.
    const cas = Atomics.compareExchange;
    let once = true;
    Atomics.compareExchange = (u32, i, ...rest) => {
      if (once && i === TAIL) {
        once = false;
        Atomics.compareExchange = cas;
        const owners = new OwnerTable(q[kWords], C.MPMC_OWNERS_OFFSET / WORD, C.MPMC_OWNER_SLOTS);
        const o = owners.claim({ pid: exitedPid(), tid: 1, startTime: 0n, bootId: 0n });
        Atomics.store(q[kWords], intentWord(o, W.MPMC_INTENT.PRODUCE_POS), 0);
        Atomics.store(q[kWords], intentWord(o, W.MPMC_INTENT.ROLES), C.MPMC_INTENT_PRODUCE);
        assert.strictEqual(cas(q[kWords], TAIL, 0, 1), 0);
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
    assert.strictEqual(Atomics.load(q[kWords], SKIPPED_WRITES), 1);
    assert.deepStrictEqual(q.tryDequeueBatch(), ['x', 'y', 'z']);
    q.close();
    other.close();
  });
  it('a producer that lost its claim to one that then died, and then met damage, leaves no intent: the slot is given up', () => {
    const q = queue(4);
    const other = MpmcQueue.open({ buffer: q[kWords].buffer });
    const seq1 = q.seqIndex_(1);
    const sound = Atomics.load(q[kWords], seq1);
    // Just before the enqueue's CAS of tail (position 0), a producer of a process that has exited
    // claims position 0 and dies there, and the slot of position 1 is damaged (a state no party
    // writes): the enqueue loses its CAS, then meets the damage at the new tail and reports it.
    let gone = 0;
    const r = racedAt(q, TAIL, () => {
      gone = goneClaim(q, C.MPMC_INTENT_PRODUCE, 0);
      Atomics.store(q[kWords], seq1, sound + 3);
    }, () => q.tryEnqueue('never'));
    assert.ok(isCorrupt(r), `reported ${r && r.threw}`);
    // Only the dead producer's intent names position 0 now; the producer that stopped at the
    // damage (and may claim nothing more) does not hold back its repair.
    assert.deepStrictEqual(intents(q, C.MPMC_INTENT_PRODUCE).map((x) => [x.o, x.pos]), [[gone, 0]]);
    // The damage mended, the queue goes on: a consumer's look gives position 0 up.
    Atomics.store(q[kWords], seq1, sound);
    assert.strictEqual(other.tryEnqueue('after'), true);
    assert.strictEqual(other.dequeue(5000), 'after');
    assert.strictEqual(Atomics.load(q[kWords], SKIPPED_WRITES), 1);
    q.close();
    other.close();
  });

  it('a consumer that lost its claim to one that then died, and then met damage, leaves no intent: the slot is released', () => {
    const q = queue(4);
    const other = MpmcQueue.open({ buffer: q[kWords].buffer });
    assert.strictEqual(other.tryEnqueue('taken by the dead'), true);
    assert.strictEqual(other.tryEnqueue('b'), true);
    const seq1 = q.seqIndex_(1);
    const sound = Atomics.load(q[kWords], seq1);
    // Just before the dequeue's CAS of head (position 0), a consumer of a process that has exited
    // claims position 0 and dies there, and the slot of position 1 is damaged.
    let gone = 0;
    const r = racedAt(q, HEAD, () => {
      gone = goneClaim(q, C.MPMC_INTENT_CONSUME, 0);
      Atomics.store(q[kWords], seq1, sound + 2);
    }, () => q.tryDequeue());
    assert.ok(isCorrupt(r), `reported ${r && r.threw}`);
    assert.deepStrictEqual(intents(q, C.MPMC_INTENT_CONSUME).map((x) => [x.o, x.pos]), [[gone, 0]]);
    // The damage mended, producers come round to the dead consumer's slot: the full queue's look
    // releases it (its message counted lost) and they go on into it.
    Atomics.store(q[kWords], seq1, sound);
    assert.strictEqual(other.tryEnqueue('c'), true);
    assert.strictEqual(other.tryEnqueue('d'), true);
    other.enqueue('e', 5000);
    assert.strictEqual(Atomics.load(q[kWords], SKIPPED_READS), 1);
    assert.deepStrictEqual(other.tryDequeueBatch(), ['b', 'c', 'd', 'e']);
    q.close();
    other.close();
  });

  it('a consumer whose claimed record cannot be read releases the slot and leaves no intent', () => {
    const q = queue(4);
    const other = MpmcQueue.open({ buffer: q[kWords].buffer });
    assert.strictEqual(other.tryEnqueue('damaged'), true);
    // The record header of position 0 says the message is longer than a slot.
    const record = q.seqIndex_(0) + W.MPMC_SLOT.RECORD;
    Atomics.store(q[kWords], record, ((C.MSG_TAG_UTF8 << C.MSG_TAG_SHIFT) | (q.messageBytes + 1)) >>> 0);
    assert.throws(() => q.tryDequeue(), (e) => e.code === 'ERR_CORRUPT');
    // The consumer stopped with an error: its intent names nothing (format.md §15).
    assert.deepStrictEqual(intents(q, C.MPMC_INTENT_CONSUME), []);
    assert.strictEqual(other.tryEnqueue('next'), true);
    assert.strictEqual(other.tryDequeue(), 'next');
    q.close();
    other.close();
  });
});
