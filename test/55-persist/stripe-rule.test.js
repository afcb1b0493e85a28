'use strict';
// The rule that lets a set skip its stripe lock (docs/format.md §16, "A mutation"): the
// JavaScript engine's set and the native engine's one-call set write the store and the record
// under the append lock alone, and only when they see the key's stripe free there (the native
// one computes the stripe itself, from the key's bytes or its UTF-16 units); every mutation that writes the store outside the
// append lock passes through the append lock after taking its stripe. A live process of the test
// (a child that sleeps) is made the holder of a lock of the control segment, so that a writer
// that follows the rule times out, and one that did not would write.
const assert = require('assert');
const path = require('path');
const { spawn } = require('child_process');
const { Store, Segment, layout } = require('../../index');
const native = require('../../lib/base/native');
const { acquiredWord, releasedWord } = require('../../lib/ownership/lockword');
const { identityOf } = require('../../lib/ownership/owners');
const { Control } = require('../../lib/persist/control');
const { persistTarget, recover, contents } = require('../helpers/persist');

const { C, W } = layout;
const WORD = Uint32Array.BYTES_PER_ELEMENT;
const U64 = BigUint64Array.BYTES_PER_ELEMENT / WORD;
const SLOT = C.OWNER_SLOTS - 1; // an owner slot no handle of the test claims
const APPEND = C.PERSIST_LOG_OFFSET / WORD + W.PERSIST_LOG.APPEND_LOCK;
const stripeWord = (ns, key) => C.PERSIST_STRIPES_OFFSET / WORD + Control.stripeOf(ns, key) * (C.PERSIST_STRIPE_SIZE / WORD);
// A live holder of another process fails a waiter after ten times this.
const LOCK_TIMEOUT_MS = 20;

// Holds the lock word `idx` of the control segment in `dir` as owner slot SLOT, whose record
// names the live process `pid`, until the returned function releases it.
function holdAs(dir, pid, idx) {
  const seg = Segment.open({ path: path.join(dir, 'control') });
  const u32 = new Uint32Array(seg.buffer);
  const u64 = new BigUint64Array(seg.buffer);
  const id = identityOf(pid, 0);
  const rec = C.PERSIST_OWNERS_OFFSET / WORD + SLOT * W.OWNER.WORDS;
  Atomics.store(u32, rec + W.OWNER.TID, 0);
  Atomics.store(u64, (rec + W.OWNER.START_TIME) / U64, id.startTime);
  Atomics.store(u64, (rec + W.OWNER.BOOT_ID) / U64, id.bootId);
  Atomics.store(u32, rec + W.OWNER.STATE, C.OWNER_STATE_LIVE);
  Atomics.store(u32, rec + W.OWNER.PID, pid);
  Atomics.store(u32, idx, acquiredWord(Atomics.load(u32, idx), SLOT));
  return () => {
    Atomics.store(u32, idx, releasedWord(Atomics.load(u32, idx)));
    Atomics.store(u32, rec + W.OWNER.PID, 0);
    seg.close();
  };
}

(native.addon ? describe : describe.skip)('Persistence: a set and the stripe of its key', function () {
  this.timeout(60000);
  let t;
  let child;
  beforeEach(() => {
    t = persistTarget('stripe');
    child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  });
  afterEach(() => {
    child.kill('SIGKILL');
    t.cleanup();
  });

  const create = (engine = 'js') => Store.create({ name: t.name, size: 1 << 22, engine, lockTimeoutMs: LOCK_TIMEOUT_MS,
    persist: { dir: t.dir, sync: 'none', checkpointBytes: 0 } });

  // Namespace and key pairs whose stripes are found differently by the native set: ASCII bytes,
  // non-ASCII names and keys (UTF-16 units, one of them a surrogate pair), and a key with a lone
  // surrogate, which UTF-8 cannot carry (the store keeps U+FFFD for it).
  const pairs = [['n', 'k'], ['näme', 'k'], ['n', 'këy'], ['n', '🔑 key'], ['n', 'lone \ud800']];
  for (const engine of ['js', 'native']) {
    for (const [ns, key] of pairs) {
      it(`${engine}: waits for the stripe of ${JSON.stringify([ns, key])} another process holds: the set is neither in the store nor in the log before it is free`, () => {
        const s = create(engine);
        let release = null;
        let other;
        try {
          // The namespace exists, and the first set has passed (a handle's first set of a
          // namespace goes the general way).
          s.set(ns, 'before', 0);
          const tail = s.persistence.tail;
          release = holdAs(t.dir, child.pid, stripeWord(ns, key));
          assert.throws(() => s.set(ns, key, 1), { code: 'ERR_LOCK_TIMEOUT' });
          assert.strictEqual(s.get(ns, key), undefined);
          assert.strictEqual(s.persistence.tail, tail);
          // A key of another stripe is written meanwhile, by the set's own path.
          other = ['a', 'b', 'c', 'd'].find((k) => stripeWord(ns, k) !== stripeWord(ns, key));
          s.set(ns, other, 2);
          release();
          release = null;
          s.set(ns, key, 3);
        } finally {
          if (release) release();
          s.close();
        }
        const r = recover(t.name, t.dir, engine);
        try {
          const got = contents(r, ns);
          assert.deepStrictEqual(got.find(([k]) => k === key.replace('\ud800', '\ufffd')), [key.replace('\ud800', '\ufffd'), 3]);
          assert.deepStrictEqual(got.find(([k]) => k === other), [other, 2]);
          assert.strictEqual(got.length, 3);
        } finally {
          r.close();
        }
      });
    }
  }

  // A key or a namespace name with a lone surrogate is the store's key or name with U+FFFD there
  // (docs/api.md, "Store"): every spelling of it is one key, whose writes the log must hold in
  // the store's order, so each spelling takes the one stripe.
  const spellings = [
    [['n', 'lone \ud800'], ['n', 'lone \udfff'], ['n', 'lone \ufffd']],
    [['n \udc00', 'k'], ['n \ud8ff', 'k'], ['n \ufffd', 'k']],
    [['n', 'pair 🔑 then \ud83d'], ['n', 'pair 🔑 then \ufffd']],
  ];
  for (const engine of ['js', 'native']) {
    for (const forms of spellings) {
      const [held, ...others] = forms;
      it(`${engine}: a set or delete of ${JSON.stringify(held)} spelt another way waits for the stripe another process holds`, () => {
        const s = create(engine);
        let release = null;
        try {
          s.set(held[0], 'before', 0);
          s.set(held[0], held[1], 0);
          const tail = s.persistence.tail;
          release = holdAs(t.dir, child.pid, stripeWord(held[0], held[1]));
          for (const [ns, key] of others) {
            assert.throws(() => s.set(ns, key, 1), { code: 'ERR_LOCK_TIMEOUT' }, JSON.stringify([ns, key]));
            assert.throws(() => s.delete(ns, key), { code: 'ERR_LOCK_TIMEOUT' }, JSON.stringify([ns, key]));
          }
          assert.strictEqual(s.persistence.tail, tail);
          release();
          release = null;
          for (const [ns, key] of others) s.set(ns, key, 2);
          assert.strictEqual(s.get(held[0], held[1]), 2);
        } finally {
          if (release) release();
          s.close();
        }
      });
    }
  }

  for (const [what, run] of [
    ['a delete', (s) => s.delete('n', 'k')],
    ['a clear', (s) => s.clear('n')],
  ]) {
    it(`${what} writes the store only once it has passed through the append lock`, () => {
      const s = create();
      let release = null;
      try {
        s.set('n', 'k', 1);
        // Every store write of the engine from here on is seen with the append lock's state.
        const e = s._e;
        const seen = [];
        for (const m of ['delete', 'clear']) {
          const f = e[m];
          e[m] = (...a) => {
            seen.push(m);
            return f.apply(e, a);
          };
        }
        release = holdAs(t.dir, child.pid, APPEND);
        assert.throws(() => run(s), { code: 'ERR_LOCK_TIMEOUT' });
        assert.deepStrictEqual(seen, []);
        assert.strictEqual(s.get('n', 'k'), 1);
        release();
        release = null;
        run(s);
        assert.strictEqual(s.get('n', 'k'), undefined);
      } finally {
        if (release) release();
        s.close();
      }
    });
  }
});
