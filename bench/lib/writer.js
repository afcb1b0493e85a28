'use strict';
// One writer of the write-scaling op (see write-scaling.js), run as a worker_thread or as a child
// process: attaches to the case's shared store, warms up, says it is ready, waits for "go", then
// writes for `measureMs` and reports { ops, ns }.
// - kind 'update': overwrites its own keys (key number n with n % writers === index) with
//   alternating value sets.
// - kind 'insert': sets keys no writer ever set before, `perWriter` of its own (numbers from
//   `firstKey + index * perWriter`), each once, built before the clock starts. A writer that has
//   set them all stops early and reports `ranOut` (its rate is then of a shorter run).
const { isMainThread, workerData, parentPort } = require('worker_threads');
const { flatKeys, values } = require('./workload');
const { timeSync, timeAsync } = require('./timing');

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

function insertBody(c, ad, task) {
  const { index, perWriter, firstKey } = task;
  const first = firstKey + index * perWriter;
  const keys = flatKeys(Uint32Array.from({ length: perWriter }, (_, i) => first + i));
  const vals = values(Uint32Array.from({ length: INSERT_VALUES }, (_, i) => first + i), 0);
  const mask = INSERT_VALUES - 1;
  // Calls continue where the last timed loop stopped: every call sets a key not set before.
  let base = 0;
  const body = c.async
    ? async (a, b) => {
      for (let i = a; i < b; i++) await ad.set(keys[base + i], vals[i & mask]);
    }
    : (a, b) => {
      for (let i = a; i < b; i++) ad.set(keys[base + i], vals[i & mask]);
    };
  return {
    body,
    get limit() {
      return perWriter - base;
    },
    advance(calls) {
      base += calls;
    },
  };
}

async function main(task, send, onGo) {
  const { casePath, share, warmMs, measureMs } = task;
  const c = require(casePath);
  const ad = await c.attach(share);
  const w = task.kind === 'insert' ? insertBody(c, ad, task) : updateBody(c, ad, task);
  const time = c.async ? timeAsync : timeSync;
  const warm = await time(w.limit, 1, w.body, warmMs * 1e6);
  if (w.advance) w.advance(warm.calls);
  await new Promise((resolve) => {
    onGo(resolve);
    send({ ready: true });
  });
  const limit = w.limit;
  const r = await time(limit, 1, w.body, measureMs * 1e6);
  await ad.close();
  send({ ops: r.ops, ns: r.ns, ...(r.calls === limit ? { ranOut: true } : {}) });
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
