'use strict';
// Read scaling: W worker_threads share one store (the case's `share` handle, attached in each
// worker), warm up, wait on a common barrier, then each does get hits (reused key strings, its
// own shuffled order) for `measureMs`. Aggregate throughput = sum over workers of ops / elapsed.
const path = require('path');
const { Worker } = require('worker_threads');

const WORKER = path.join(__dirname, 'worker.js');

async function measureReads({ casePath, share, workers, N, seed, warmMs, measureMs }) {
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const ws = [];
  const ready = [];
  const done = [];
  for (let i = 0; i < workers; i++) {
    const w = new Worker(WORKER, {
      workerData: { casePath, share, N, seed: (seed + 7777 * (i + 1)) >>> 0, warmMs, measureMs, gate },
    });
    ws.push(w);
    let onReady;
    let onDone;
    ready.push(new Promise((r) => (onReady = r)));
    done.push(new Promise((resolve, reject) => {
      onDone = resolve;
      w.on('error', reject);
      w.on('exit', (code) => reject(new Error(`worker exited with code ${code} before reporting`)));
    }));
    w.on('message', (m) => (m.ready ? onReady() : onDone(m)));
  }
  try {
    await Promise.race([Promise.all(ready), Promise.all(done)]);
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    const results = await Promise.all(done);
    let opsPerSec = 0;
    let bad = 0;
    for (const r of results) {
      if (r.error) throw new Error(r.error);
      opsPerSec += (r.ops * 1e9) / r.ns;
      bad += r.bad;
    }
    return { workers, opsPerSec, perWorker: results.map((r) => (r.ops * 1e9) / r.ns), bad };
  } finally {
    await Promise.all(ws.map((w) => w.terminate()));
  }
}

// 1 and 2 workers of the CPU baseline (no store): the ceiling for any read-scaling ratio in this
// moment on this machine.
async function baseline({ N, seed, warmMs, measureMs }) {
  const one = await measureReads({ casePath: null, share: null, workers: 1, N, seed, warmMs, measureMs });
  const two = await measureReads({ casePath: null, share: null, workers: 2, N, seed, warmMs, measureMs });
  return { 1: one, 2: two };
}

module.exports = { measureReads, baseline };
