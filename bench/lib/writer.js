'use strict';
// One writer of the write-scaling op (see write-scaling.js), run as a worker_thread or as a child
// process: attaches to the case's shared store, overwrites its own keys (key number n with
// n % writers === index) with alternating value sets, warms up, says it is ready, waits for "go",
// then writes for `measureMs` and reports { ops, ns }.
const { isMainThread, workerData, parentPort } = require('worker_threads');
const { flatKeys, values } = require('./workload');
const { timeSync, timeAsync } = require('./timing');

async function main(task, send, onGo) {
  const { casePath, share, N, writers, index, warmMs, measureMs } = task;
  const c = require(casePath);
  const ad = await c.attach(share);
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
  const time = c.async ? timeAsync : timeSync;
  const FOREVER = 2 ** 40; // calls: the time budget ends the loop
  await time(FOREVER, 1, body, warmMs * 1e6);
  await new Promise((resolve) => {
    onGo(resolve);
    send({ ready: true });
  });
  const r = await time(FOREVER, 1, body, measureMs * 1e6);
  await ad.close();
  send({ ops: r.ops, ns: r.ns });
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
