'use strict';
// One case of `npm run bench:sync` in its own process (forked by bench/sync.js): measures, then
// sends { samples } (ns per operation, one per measured run) over IPC. Also the hand-off partner,
// as a worker thread (workerData) or a child process (argv: partner <kind> <segment name>).
//
// Hand-off latency (the protocol of bench/cpp/sync.cc): the time from a holder's release to the
// moment a waiter blocked in lock() holds the mutex. The waiter announces itself (asked) and
// locks; the holder waits for that, holds HOLD_NS more (the waiter is asleep by then), stamps the
// time, releases, and waits until the waiter holds it (got) before doing anything else, so no
// party barges back in. Each measured run is the mean latency of the main party's acquisitions.
const { fork } = require('child_process');
const { Worker, isMainThread, workerData } = require('worker_threads');
const { Mutex, Segment } = require('../..');
const { timeSync, timeAsync } = require('./timing');
const { BYTES, WORD, STAMP, openLock } = require('./sync-locks');

const HOLD_NS = 30000n;
const now = process.hrtime.bigint;

class Party {
  constructor(kind, buffer, me) {
    this.i32 = new Int32Array(buffer);
    this.i64 = new BigInt64Array(buffer);
    this.me = me;
    this.other = 1 - me;
    this.seen = 0;
    this.lock = openLock(kind, buffer);
  }

  stopped() {
    return Atomics.load(this.i32, WORD.stop) !== 0;
  }

  release() {
    const { i32, other } = this;
    while (Atomics.load(i32, WORD.asked[other]) === this.seen) {
      if (this.stopped()) {
        this.lock.unlock();
        return false;
      }
    }
    this.seen++;
    const until = now() + HOLD_NS;
    while (now() < until);
    Atomics.store(this.i64, STAMP, now());
    this.lock.unlock();
    while (Atomics.load(i32, WORD.got[other]) !== this.seen) if (this.stopped()) return false;
    return true;
  }

  acquire() {
    Atomics.add(this.i32, WORD.asked[this.me], 1);
    this.lock.lock();
    const ns = Number(now() - Atomics.load(this.i64, STAMP));
    Atomics.add(this.i32, WORD.got[this.me], 1);
    return ns;
  }
}

function partner(kind, buffer) {
  const p = new Party(kind, buffer, 1);
  for (;;) {
    p.acquire();
    if (p.stopped()) {
      p.lock.unlock();
      return;
    }
    if (!p.release()) return;
  }
}

async function handoff(cfg, kind, where) {
  let buffer;
  let seg = null;
  let started;
  if (where === 'threads') {
    buffer = new SharedArrayBuffer(BYTES);
  } else {
    const name = `shmstore-bench-sync-${process.pid}`;
    seg = Segment.create({ name, size: BYTES });
    buffer = seg.buffer;
    started = name;
  }
  const p = new Party(kind, buffer, 0);
  p.lock.lock();
  let done;
  if (where === 'threads') {
    const w = new Worker(__filename, { workerData: { kind, buffer } });
    done = new Promise((resolve, reject) => { w.once('exit', resolve); w.once('error', reject); });
  } else {
    const child = fork(__filename, ['partner', kind, started], { stdio: 'inherit' });
    done = new Promise((resolve) => child.once('exit', resolve));
  }
  const samples = [];
  for (let run = 0; run <= cfg.runs; run++) {
    let sum = 0;
    for (let i = 0; i < cfg.handoffs; i++) {
      p.release();
      sum += p.acquire();
    }
    if (run) samples.push(sum / cfg.handoffs); // run 0 warms up
  }
  Atomics.store(p.i32, WORD.stop, 1);
  p.lock.unlock();
  await done;
  if (seg) {
    seg.close();
    seg.unlink();
  }
  return samples;
}

async function uncontended(cfg, kind, async) {
  const buffer = new SharedArrayBuffer(BYTES);
  let body;
  if (kind === 'async-mutex') {
    const m = new (require('async-mutex').Mutex)();
    body = async (a, b) => {
      for (let i = a; i < b; i++) {
        const release = await m.acquire();
        release();
      }
    };
  } else if (async) {
    const m = Mutex.open({ buffer });
    body = async (a, b) => {
      for (let i = a; i < b; i++) {
        await m.lockAsync();
        m.unlock();
      }
    };
  } else {
    const m = openLock(kind, buffer);
    body = (a, b) => {
      for (let i = a; i < b; i++) {
        m.lock();
        m.unlock();
      }
    };
  }
  const time = async ? timeAsync : timeSync;
  const calls = async ? 2e5 : 5e6;
  const samples = [];
  for (let run = 0; run <= cfg.runs; run++) {
    const r = await time(calls, 1, body, cfg.budgetMs * 1e6);
    if (run) samples.push(r.ns / r.ops); // run 0 warms up
  }
  return samples;
}

// The declared cases: id -> how to measure it.
const CASES = {
  'js-lock': (cfg) => uncontended(cfg, 'js', false),
  'native-lock': (cfg) => uncontended(cfg, 'native', false),
  'atomics-lock': (cfg) => uncontended(cfg, 'atomics', false),
  'js-lock-async': (cfg) => uncontended(cfg, 'js', true),
  'async-mutex': (cfg) => uncontended(cfg, 'async-mutex', true),
  'js-handoff-threads': (cfg) => handoff(cfg, 'js', 'threads'),
  'native-handoff-threads': (cfg) => handoff(cfg, 'native', 'threads'),
  'atomics-handoff-threads': (cfg) => handoff(cfg, 'atomics', 'threads'),
  'js-handoff-processes': (cfg) => handoff(cfg, 'js', 'processes'),
  'native-handoff-processes': (cfg) => handoff(cfg, 'native', 'processes'),
};

if (!isMainThread) {
  partner(workerData.kind, workerData.buffer);
} else if (process.argv[2] === 'partner') {
  const seg = Segment.open({ name: process.argv[4] });
  partner(process.argv[3], seg.buffer);
  seg.close();
} else if (require.main === module) {
  const [id, json] = process.argv.slice(2);
  CASES[id](JSON.parse(json)).then(
    (samples) => process.send({ samples }, () => process.exit(0)),
    (e) => process.send({ error: e.stack || String(e) }, () => process.exit(1)),
  );
}

module.exports = { CASES: Object.keys(CASES) };
