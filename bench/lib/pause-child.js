'use strict';
// One case of bench/compact-pause.js in its own process: a store churned into holes, a writer in
// a worker thread timing each of its sets, and in the main thread one of
//   'none':   nothing (the writer's own latencies, for reference),
//   'repair': store.repair(), the stop-the-world coalescing pass compact() ran before incremental
//             compaction (every lock held while it walks the store),
//   'steps':  store.compact(), a whole sweep in bounded steps (format.md §8, "Compaction").
// Reports over IPC how long the main thread's call took and the writer's longest set while it ran.
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const { performance } = require('perf_hooks');
const { Store } = require('../..');

const KEYS = 2000;

if (!isMainThread) {
  // The writer: overwrites its own keys until told to stop; [longest set, sets] while flag[0] is 1.
  const { buffer, engine, flag } = workerData;
  const f = new Int32Array(flag);
  const s = Store.attach(buffer, { engine });
  const value = 'w'.repeat(100);
  let max = 0;
  let sets = 0;
  let all = 0;
  const lat = []; // every set's ms while flag[0] is 1
  Atomics.store(f, 1, 1); // ready
  for (let i = 0; Atomics.load(f, 2) === 0; i++) {
    const during = Atomics.load(f, 0) === 1;
    const t0 = performance.now();
    s.set('w', `k${i % KEYS}`, value);
    const dt = performance.now() - t0;
    all++;
    if (during) {
      sets++;
      lat.push(dt);
      if (dt > max) max = dt;
    }
  }
  s.close();
  lat.sort((a, b) => a - b);
  parentPort.postMessage({ max, sets, all, p999: lat.length ? lat[Math.floor(lat.length * 0.999)] : 0 });
} else {
  const task = JSON.parse(process.argv[2]);
  const s = Store.create({ buffer: new SharedArrayBuffer(task.size), engine: task.engine, maxEntries: task.entries * 2 });
  // Mixed small values, then every other one deleted: holes everywhere, nothing adjacent free.
  for (let i = 0; i < task.entries; i++) s.set('m', `m${i}`, 'x'.repeat(10 + ((i * 7919) % 300)));
  for (let i = 0; i < task.entries; i += 2) s.delete('m', `m${i}`);
  const flag = new SharedArrayBuffer(12);
  const f = new Int32Array(flag);
  const w = new Worker(__filename, { workerData: { buffer: s.buffer, engine: task.engine, flag } });
  const done = new Promise((resolve, reject) => {
    w.on('message', resolve);
    w.on('error', reject);
  });
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  (async () => {
    while (Atomics.load(f, 1) === 0) await wait(5);
    await wait(100); // the writer is warm
    Atomics.store(f, 0, 1);
    const t0 = performance.now();
    let moved = 0;
    let steps = 0;
    if (task.mode === 'repair') s.repair();
    else if (task.mode === 'steps') {
      const r = s.compact();
      moved = r.movedEntries;
      steps = r.steps;
    } else await wait(task.noneMs);
    const ms = performance.now() - t0;
    // The writer's set that overlapped the end is counted: let it finish inside the window.
    await wait(20);
    Atomics.store(f, 0, 0);
    Atomics.store(f, 2, 1);
    const wr = await done;
    const v = s.verify();
    s.close();
    if (!v.ok) throw new Error(v.errors.join('\n'));
    process.send({ ...task, ms, moved, steps, writerMaxMs: wr.max, writerP999Ms: wr.p999, writerSets: wr.sets }, () => process.exit(0));
  })().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
