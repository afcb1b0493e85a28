'use strict';
// Child process and worker thread of the sync tests (test/60-sync/*.test.js) other than the
// mutex's. As a process: node sync-child.js <mode> <name> <json args>; as a worker: workerData
// is { mode, buffer, args }. It reports with say(): a line on stdout, or a message to the parent.
// Modes (the region layouts each mode expects are set by the test that starts it):
//   wg-rounds      rounds of two gate waitgroups and a finish waitgroup (waitgroup.test.js)
//   wg-wait        one wait() on the waitgroup at args.wg (args.timeout ms); says "returned" or
//                  the error's code
//   sem-stress     acquire/release in a loop, counting how many are inside at once
//   sem-hold       acquire args.n permits, say "held", wait to be killed
//   rw-count       plain increments under the write lock, checked reads under the read lock
//   rw-hold        take the write (args.write) or read lock, say "held", wait to be killed
//   rw-self        take the write (args.write) or read lock, then the other one blocking without
//                  a timeout: says the error's code, or "acquired"
//   cond-queue     a producer or consumer of a bounded queue under a mutex and two conditions
//   bar-lockstep   args.rounds generations of a barrier, checking the lockstep of a shared array
//   bar-hold       arrive at the barrier (args.arrive) or not, say "ready", wait to be killed
//   cond-wait-hold lock the mutex, say "waiting", wait on the condition, wait to be killed
//   cond-rounds    wait for each round of a word set by notifyAll; say "lost" at a wait that
//                  timed out although its round had come, else "done"
//   cond-churn     wait on the same condition with a timeout of 0, again and again, until told
//   bar-busy       generations of a barrier until it breaks, then say the error's code
//   pending-all    start an async wait on every kind, say "waiting", then exit (a process:
//                  process.exit()) or block in a sync wait (a worker, to be terminated)
//   no-addon       (a process without the addon) what each kind does with a segment and
//                  whether threads still coordinate: says a JSON report
//   mx-async-count args.n pending withLock(async) calls on one handle of the mutex at 0, each a
//                  plain read, an await and a write of word 0 at args.words: says "queued" once
//                  they are all called, then "done <calls completed> <most calls completed at
//                  once>" once they completed
const { isMainThread, parentPort, workerData } = require('worker_threads');
const { Mutex, RwLock, Condition, Semaphore, Barrier, WaitGroup } = require('../../../index');

const TIMEOUT = 30000;
let mode;
let target;
let args;
if (isMainThread) {
  mode = process.argv[2];
  target = { name: process.argv[3] };
  args = JSON.parse(process.argv[4] || '{}');
} else {
  ({ mode, args } = workerData);
  target = { buffer: workerData.buffer };
}

function say(msg) {
  if (isMainThread) process.stdout.write(`${msg}\n`);
  else parentPort.postMessage(msg);
}

// Keeps a killed-to-end holder alive: a process on a timer, a worker busy (terminate() ends it).
function stay() {
  if (isMainThread) {
    setInterval(() => {}, 1000);
  } else {
    for (;;) {
      // until terminated
    }
  }
}

function at(offset) {
  return { ...target, byteOffset: offset };
}

// The shared words a test places after its regions: an Int32Array at args.words.
function words(buffer) {
  return new Int32Array(buffer, args.words, args.wordCount || 16);
}

const modes = {
  'wg-rounds'() {
    const gates = [WaitGroup.open(at(args.gates[0])), WaitGroup.open(at(args.gates[1]))];
    const finish = WaitGroup.open(at(args.finish));
    const w = words(finish.buffer);
    for (let r = 0; r < args.rounds; r++) {
      gates[r % 2].wait(TIMEOUT);
      Atomics.add(w, 0, 1);
      finish.done();
    }
    say('done');
  },

  'wg-wait'() {
    const wg = WaitGroup.open(at(args.wg));
    try {
      wg.wait(args.timeout);
      say('returned');
    } catch (e) {
      say(e.code);
    }
    wg.close();
  },

  'sem-stress'() {
    const sem = Semaphore.open(at(args.sem));
    const w = words(sem.buffer);
    for (let i = 0; i < args.iterations; i++) {
      const n = 1 + (i % args.maxN);
      sem.acquire(n, TIMEOUT);
      const inside = Atomics.add(w, 0, n) + n;
      if (inside > args.permits) Atomics.add(w, 1, 1); // more permits out than the semaphore has
      for (let j = 0; j < 50; j++) Math.sqrt(j);
      Atomics.sub(w, 0, n);
      sem.release(n);
      Atomics.add(w, 2, 1);
    }
    sem.close();
    say('done');
  },

  'sem-hold'() {
    const sem = Semaphore.open(at(args.sem));
    sem.acquire(args.n, TIMEOUT);
    say('held');
    stay();
  },

  'rw-count'() {
    const rw = RwLock.open(at(args.rw));
    const w = words(rw.buffer);
    for (let i = 0; i < args.k; i++) {
      if (args.readEvery && i % args.readEvery === 0) {
        const { recovered } = rw.readLock(TIMEOUT);
        // Under the read lock nobody writes: the two halves of the pair agree, unless a writer
        // died between them (and then the reader is told).
        if (!recovered && w[1] !== w[2]) Atomics.add(w, 3, 1);
        rw.readUnlock();
      }
      rw.writeLock(TIMEOUT);
      const seen = w[0]; // plain read and write: only the write lock keeps increments apart
      w[1] = seen + 1;
      for (let j = 0; j < 10; j++) Math.sqrt(j);
      w[0] = seen + 1;
      w[2] = seen + 1;
      rw.writeUnlock();
    }
    rw.close();
    say('done');
  },

  'rw-hold'() {
    const rw = RwLock.open(at(args.rw));
    if (args.write) rw.writeLock(TIMEOUT);
    else rw.readLock(TIMEOUT);
    say('held');
    stay();
  },

  'rw-self'() {
    const rw = RwLock.open(at(args.rw));
    if (args.write) rw.writeLock(TIMEOUT);
    else rw.readLock(TIMEOUT);
    try {
      if (args.write) rw.readLock();
      else rw.writeLock();
      say('acquired');
    } catch (e) {
      say(e.code);
    }
  },

  'cond-queue'() {
    // A bounded queue of args.capacity slots: w[0] = items in it, w[1] = total produced,
    // w[2] = total consumed, w[3] = violations (an item count out of 0..capacity).
    const m = Mutex.open(at(args.mutex));
    const notEmpty = Condition.open(at(args.notEmpty));
    const notFull = Condition.open(at(args.notFull));
    const w = words(m.buffer);
    for (let i = 0; i < args.items; i++) {
      m.lock(TIMEOUT);
      if (args.producer) {
        while (w[0] >= args.capacity) {
          if (!notFull.wait(m, TIMEOUT).notified) throw new Error('producer: no wake-up within the timeout');
        }
        w[0] += 1;
        w[1] += 1;
        notEmpty.notifyOne();
      } else {
        while (w[0] <= 0) {
          if (!notEmpty.wait(m, TIMEOUT).notified) throw new Error('consumer: no wake-up within the timeout');
        }
        w[0] -= 1;
        w[2] += 1;
        notFull.notifyOne();
      }
      if (w[0] < 0 || w[0] > args.capacity) w[3] += 1;
      m.unlock();
    }
    say('done');
  },

  'bar-lockstep'() {
    // gens[p] is party p's generation; between the two barriers of generation g every party
    // must read g for every party: none is behind (the first barrier let it go too early) and
    // none ahead (the second barrier let it go before everyone had checked).
    const b = Barrier.open(at(args.barrier));
    const w = words(b.buffer);
    const gens = w.subarray(1);
    for (let g = 1; g <= args.rounds; g++) {
      Atomics.store(gens, args.party, g);
      b.wait(TIMEOUT);
      for (let p = 0; p < args.parties; p++) {
        const seen = Atomics.load(gens, p);
        if (seen !== g) Atomics.add(w, 0, 1);
      }
      b.wait(TIMEOUT); // nobody moves on to g + 1 before everyone has checked g
    }
    say('done');
  },

  'bar-hold'() {
    const b = Barrier.open(at(args.barrier));
    say('ready');
    if (args.arrive) {
      try {
        b.wait(TIMEOUT);
      } catch (e) {
        say(e.code);
      }
    }
    stay();
  },
};

modes['cond-wait-hold'] = () => {
  const m = Mutex.open(at(args.mutex));
  const c = Condition.open(at(args.notEmpty));
  m.lock(TIMEOUT);
  say('waiting');
  c.wait(m, TIMEOUT);
  say('woken');
  stay();
};

// words: [0] the round, [1] stop (cond-churn), [2] the round this waiter is registered for.
modes['cond-rounds'] = () => {
  const m = Mutex.open(at(args.mutex));
  const c = Condition.open(at(args.notEmpty));
  const w = words(m.buffer);
  for (let r = 1; r <= args.rounds; r++) {
    m.lock(TIMEOUT);
    Atomics.store(w, 2, r); // under the mutex: once the notifier holds it, this wait is registered
    while (Atomics.load(w, 0) < r) {
      // Registered before the notifyAll of round r: only a lost wake-up ends it by the timeout.
      if (!c.wait(m, args.waitMs).notified && Atomics.load(w, 0) >= r) {
        m.unlock();
        say('lost');
        return;
      }
    }
    m.unlock();
  }
  say('done');
};

modes['cond-churn'] = () => {
  const m = Mutex.open(at(args.mutex));
  const c = Condition.open(at(args.notEmpty));
  const w = words(m.buffer);
  while (Atomics.load(w, 1) === 0) {
    m.lock(TIMEOUT);
    c.wait(m, 0); // registers and looks at once: it would take any wake-up it may take
    m.unlock();
  }
  say('done');
};

modes['bar-busy'] = () => {
  const b = Barrier.open(at(args.barrier));
  say('ready');
  try {
    for (;;) b.wait(TIMEOUT);
  } catch (e) {
    say(e.code);
  }
};

// Async waits of every kind that cannot end: the test holds the mutex, the write lock, no
// permits, the barrier short of a party, the waitgroup above 0 and never notifies.
modes['pending-all'] = () => {
  const o = args.offsets;
  const m = Mutex.open(at(o.mutex));
  const rw = RwLock.open(at(o.rwlock));
  const sem = Semaphore.open(at(o.semaphore));
  const bar = Barrier.open(at(o.barrier));
  const wg = WaitGroup.open(at(o.waitgroup));
  const cond = Condition.open(at(o.condition));
  const own = Mutex.open(at(o.condMutex));
  own.lock();
  const pending = [m.lockAsync(), rw.readLockAsync(), sem.acquireAsync(), bar.waitAsync(), wg.waitAsync(),
    cond.waitAsync(own)];
  for (const p of pending) p.then(() => say('a wait ended'), (e) => say(`a wait failed: ${e.code}`));
  say('waiting');
  if (isMainThread) setTimeout(() => process.exit(0), 50);
  else wg.wait(TIMEOUT);
};

modes['no-addon'] = () => {
  const report = { addon: !!require('../../../lib/base/native').addon, segment: {} };
  for (const K of [Mutex, RwLock, Condition, Semaphore, Barrier, WaitGroup]) {
    try {
      const name = `${args.name}-${K.name}`;
      K.create(K === Barrier ? { name, parties: 2 } : { name });
      report.segment[K.name] = 'created';
    } catch (e) {
      report.segment[K.name] = e.code;
    }
  }
  say(JSON.stringify(report));
};

modes['mx-async-count'] = () => {
  const m = Mutex.open(target);
  const w = words(m.buffer);
  let completed = 0;
  let inside = 0;
  let most = 0;
  const calls = [];
  for (let i = 0; i < args.n; i++) {
    calls.push(m.withLock(async () => {
      inside++;
      most = Math.max(most, inside);
      const seen = Atomics.load(w, 0);
      await new Promise((r) => setImmediate(r));
      Atomics.store(w, 0, seen + 1);
      inside--;
      completed++;
    }));
  }
  say('queued');
  Promise.all(calls).then(() => {
    m.close();
    say(`done ${completed} ${most}`);
  }, (e) => say(`error: ${e.stack}`));
};

modes[mode]();
