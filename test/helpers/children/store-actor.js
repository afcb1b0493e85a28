'use strict';
// A store client run as a worker thread or as a child process by the store tests. It receives
// one task ({ op, engine, name | buffer, ... }) and reports a result object back.
const { parentPort, workerData, isMainThread } = require('worker_threads');
const { Store } = require('../../../lib/store/store');
const { W, BASE } = require('../../../lib/layout/layout');
const { valueFor, checkValue } = require('../values');

function open(task) {
  const opts = { engine: task.engine, lockTimeoutMs: task.lockTimeoutMs };
  return task.buffer ? Store.attach(task.buffer, opts) : Store.open({ name: task.name, ...opts });
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

// Takes the lock of the bucket of `key` (namespace 'held') through the pure-JS engine `store`;
// returns its word index.
function holdBucketOf(store, key) {
  const e = store._e;
  const id = store._id('held', true);
  const read = require('../../../lib/store/js/read');
  const h = read.keyHash(e, read.encodeKey(e, key), id);
  const lw = BASE.BUCKET + (h & e.mask) * W.BUCKET.WORDS + W.BUCKET.LOCK;
  e.locks.acquire(lw);
  return lw;
}

// The value of pinned entry i (as test/50-store/eviction-room.test.js writes it).
const pinnedValue = (i) => `pinned ${i} `.padEnd(100, '.');

const ops = {
  // Reads what the other side wrote, writes its own, reports.
  exchange(store, task) {
    const seen = {};
    for (const k of task.read) seen[k] = store.get('x', k);
    for (const [k, v] of task.write) store.set('x', k, v);
    return { seen, verify: store.verify().ok };
  },

  // Mixed reads and writes of overlapping keys for task.ms milliseconds; every value carries
  // its own checksum and every read is checked.
  stress(store, task) {
    const end = Date.now() + task.ms;
    let writes = 0;
    let reads = 0;
    let bad = 0;
    let own = 0;
    let seq = 0;
    const mine = `actor-${task.id}`;
    while (Date.now() < end) {
      for (let i = 0; i < 200; i++) {
        const k = `k${(seq * 7 + i * 13) % task.keys}`;
        if (i % 3 === 0) {
          store.set('shared', k, valueFor(task.id, seq++));
          writes++;
        } else {
          const v = store.get('shared', k);
          reads++;
          if (v !== undefined && !checkValue(v)) bad++;
        }
        if (i % 50 === 0) {
          store.set(mine, `own${own}`, valueFor(task.id, own));
          own++;
          if (own % 4 === 0) store.delete(mine, `own${own - 2}`);
        }
      }
    }
    const deleted = Math.floor(own / 4);
    return { writes, reads, bad, ownLive: own - deleted };
  },

  // For task.ms milliseconds: reads every pinned entry ('pinned', `p${i}` for i < task.pinned,
  // whose value is pinnedValue(i)) and counts the ones missing or not as written, and writes
  // small values of its own to 'c' (any refused counts). Announces once it has read them all.
  pinnedReader(store, task, announce) {
    const end = Date.now() + task.ms;
    let reads = 0;
    let missing = 0;
    let wrong = 0;
    let writes = 0;
    let refused = 0;
    for (let round = 0; round === 0 || Date.now() < end; round++) {
      for (let i = 0; i < task.pinned; i++) {
        const v = store.get('pinned', `p${i}`);
        reads++;
        if (v === undefined) missing++;
        else if (v !== pinnedValue(i)) wrong++;
      }
      for (let i = 0; i < 20; i++) {
        try {
          store.set('c', `w${task.id}-${round}-${i}`, 'w'.repeat(50 + ((round + i) % 200)));
          writes++;
        } catch (err) {
          if (err.code !== 'ERR_STORE_FULL') throw err;
          refused++;
        }
      }
      if (round === 0) announce({ started: true });
    }
    return { reads, missing, wrong, writes, refused };
  },

  // Writes forever (until killed or terminated), optionally announcing after the first round.
  loop(store, task, announce) {
    for (let n = 0; ; n++) {
      store.set('loop', `k${n % task.keys}`, valueFor(task.id, n));
      if (n % 97 === 0) store.delete('loop', `k${(n + 5) % task.keys}`);
      if (n === task.keys) announce({ looping: true });
    }
  },

  // Holds every lock for task.ms like a long repair or verify pass, with heartbeats, then sets
  // flag[0] = 1 just before releasing them (pure-JS engine).
  longPass(store, task, announce) {
    const repairs = require('../../../lib/store/js/repair');
    const e = store._e;
    const flag = new Int32Array(task.flag);
    repairs.lockAll(e);
    announce({ holding: true });
    const end = Date.now() + task.ms;
    while (Date.now() < end) {
      e.heartbeat.beat();
      Atomics.wait(sleeper, 0, 0, 10);
    }
    Atomics.store(flag, 0, 1);
    repairs.unlockAll(e);
    return { done: true };
  },

  // Sets task.key in namespace 'held' and reports how long that took, then reads it back,
  // verifies and reports the number of repair passes.
  timedSet(store, task) {
    const t0 = performance.now();
    store.set('held', task.key, task.value);
    const ms = performance.now() - t0;
    return { ms, value: store.get('held', task.key), verify: store.verify().ok, repairs: store.stats().repairs };
  },

  // Announces its thread id and waits forever with the store open (to be terminated).
  idle(store, task, announce) {
    announce({ threadId: require('worker_threads').threadId });
    for (;;) Atomics.wait(sleeper, 0, 0, 1000);
  },

  // Takes the lock of the key's bucket through the pure-JS engine and never lets go.
  hold(store, task, announce) {
    holdBucketOf(store, task.key);
    announce({ holding: true });
    for (;;) Atomics.wait(sleeper, 0, 0, 1000);
  },

  // As hold(), then lets go once word 0 of the segment task.flagName is 1 (another process may
  // set it: the word is polled).
  holdUntil(store, task, announce) {
    const { Segment } = require('../../../lib/segment/segment');
    const flag = new Int32Array(Segment.open({ name: task.flagName }).buffer, 0, 1);
    const lw = holdBucketOf(store, task.key);
    announce({ holding: true });
    while (Atomics.load(flag, 0) !== 1) Atomics.wait(sleeper, 0, 0, 2);
    store._e.locks.release(lw);
    return { released: true };
  },
};

function run(task, announce) {
  const store = open(task);
  try {
    return ops[task.op](store, task, announce);
  } finally {
    store.close();
  }
}

if (!isMainThread) {
  const announce = (m) => parentPort.postMessage(m);
  announce({ result: run(workerData, announce) });
} else {
  const task = JSON.parse(process.argv[2]);
  const announce = (m) => process.send(m);
  const result = run(task, announce);
  process.send({ result }, () => process.exit(0));
}
