'use strict';
// One writer of the write-scaling op (see write-scaling.js), run as a worker_thread or as a child
// process: attaches to the case's shared store, warms up, says it is ready, waits for "go", then
// writes and reports { ops, ns, cpuNs } (cpuNs: its CPU time meanwhile, null where unknown).
// - kind 'update': overwrites its own keys (key number n with n % writers === index) with
//   alternating value sets, for `measureMs`.
// - kind 'insert': sets keys no writer ever set before, each once, built before the clock starts:
//   its share of `warmKeys` untimed, then its share of `insertKeys` timed (writer `index` of W
//   takes numbers firstKey + [index * K / W, (index + 1) * K / W) of each range). The counts are
//   of all writers together, so that 1 and 2 writers insert the same keys into a store that goes
//   through the same fill; the clock does not stop them (see write-scaling.js).
const { isMainThread, workerData, parentPort } = require('worker_threads');
const { flatKeys, values } = require('./workload');
const fs = require('fs');
const { timeSync, timeAsync } = require('./timing');

// This thread's CPU time in ns (Linux: the first field of /proc/thread-self/schedstat), or null.
// Next to the wall-clock rate: a loaded machine stretches the 2-writer run's wall time when it does
// not give each writer a core, while the CPU time per write changes only with the work a write
// does, contention on shared lines included.
// The kernel adds a running thread's time to that field at scheduler events and ticks only, so a
// thread that has been running reads it up to a tick (4-10 ms) late: read at the start of a run
// of a few milliseconds, the run's CPU time came out larger than its wall time (1.6x). A
// millisecond's sleep first takes the thread off the CPU, which brings the field up to date.
const nap = new Int32Array(new SharedArrayBuffer(4));
function threadCpuNs() {
  Atomics.wait(nap, 0, 0, 1);
  try {
    return Number(fs.readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);
  } catch {
    return null;
  }
}

// When this thread (process) started, near enough: when this module was loaded. Not
// performance.now(), which counts from the start of the process in a worker thread too.
const BORN = Date.now();

// Distinct values an inserting writer cycles through (the value's bytes do not change its cost).
const INSERT_VALUES = 4096;

function updateBody(c, ad, task) {
  const { N, writers, index } = task;
  const mine = Uint32Array.from({ length: Math.ceil((N - index) / writers) }, (_, i) => index + i * writers);
  const keys = flatKeys(mine);
  const vals = [values(mine, 0), values(mine, 1)];
  const n = keys.length;
  // Call i writes key i % n with value set (i / n) & 1: every call replaces a value.
  const body = c.async
    ? async (a, b) => {
      for (let i = a; i < b; i++) await ad.set(keys[i % n], vals[Math.floor(i / n) & 1][i % n]);
    }
    : (a, b) => {
      for (let i = a; i < b; i++) ad.set(keys[i % n], vals[Math.floor(i / n) & 1][i % n]);
    };
  return { body, limit: 2 ** 40 }; // calls: the time budget ends the loop
}

// Writer `index` of `writers`: its share [lo, hi) of `count` keys numbered from `first`.
function shareOf(first, count, index, writers) {
  const lo = Math.floor((count * index) / writers);
  const hi = Math.floor((count * (index + 1)) / writers);
  return Uint32Array.from({ length: hi - lo }, (_, i) => first + lo + i);
}

function insertBody(c, ad, task) {
  const { index, writers, insertKeys, warmKeys, firstKey } = task;
  // The warm-up's keys come after every timed one: neither range meets the other.
  const warmKeysOf = flatKeys(shareOf(firstKey + insertKeys, warmKeys, index, writers));
  const keys = flatKeys(shareOf(firstKey, insertKeys, index, writers));
  const vals = values(Uint32Array.from({ length: INSERT_VALUES }, (_, i) => firstKey + index * INSERT_VALUES + i), 0);
  const mask = INSERT_VALUES - 1;
  let list = warmKeysOf;
  const body = c.async
    ? async (a, b) => {
      for (let i = a; i < b; i++) await ad.set(list[i], vals[i & mask]);
    }
    : (a, b) => {
      for (let i = a; i < b; i++) ad.set(list[i], vals[i & mask]);
    };
  return {
    body,
    get limit() {
      return list.length;
    },
    // Warm-up and timed run are counts, not times: the budget never ends them.
    warmNs: Number.MAX_SAFE_INTEGER,
    measureNs: Number.MAX_SAFE_INTEGER,
    advance() {
      list = keys;
    },
  };
}

async function main(task, send, onGo) {
  const { casePath, share, warmMs, measureMs } = task;
  const c = require(casePath);
  const ad = await c.attach(share);
  const w = task.kind === 'insert' ? insertBody(c, ad, task) : updateBody(c, ad, task);
  const time = c.async ? timeAsync : timeSync;
  await time(w.limit, 1, w.body, w.warmNs || warmMs * 1e6);
  if (w.advance) w.advance();
  // Idle until this thread (process) is settleMs old: for its first few hundred milliseconds V8's
  // background threads compile and collect, and with 2 writers on 2 cores they take CPU from the
  // writers (with 1 writer they have the other core), which measured as lost scaling.
  const settle = (task.settleMs || 0) - (Date.now() - BORN);
  if (settle > 0) await new Promise((resolve) => setTimeout(resolve, settle));
  await new Promise((resolve) => {
    onGo(resolve);
    send({ ready: true });
  });
  const c0 = threadCpuNs();
  const r = await time(w.limit, 1, w.body, w.measureNs || measureMs * 1e6);
  const c1 = threadCpuNs();
  await ad.close();
  send({ ops: r.ops, ns: r.ns, cpuNs: c0 === null || c1 === null ? null : c1 - c0 });
}

if (isMainThread) {
  const send = (m) => new Promise((resolve) => process.send(m, resolve));
  main(JSON.parse(process.argv[2]), send, (go) => process.once('message', go)).then(
    () => process.exit(0),
    async (e) => {
      await send({ error: e.stack || String(e) });
      process.exit(1);
    },
  );
} else {
  const send = (m) => parentPort.postMessage(m);
  main(workerData, send, (go) => parentPort.once('message', go)).catch((e) => send({ error: e.stack || String(e) }));
}
