'use strict';
// One reader of the read-scaling op (see scaling.js).
const { workerData, parentPort } = require('worker_threads');
const { shuffled, flatKeys } = require('./workload');
const { timeSync, timeAsync } = require('./timing');

function baselineStore() {
  return {
    get: (k) => {
      let h = k.length;
      for (let i = 0; i < 64; i++) h = (Math.imul(h ^ (h >>> 13), 0x5bd1e995) + i) | 0;
      return h === 0 ? 1 : h;
    },
    close() {},
  };
}

async function main() {
  const { casePath, share, N, seed, warmMs, measureMs, gate } = workerData;
  // The CPU baseline: the same loop shape around pure arithmetic (no memory traffic, nothing
  // shared), i.e. how well two threads can scale at all on this machine right now.
  const c = casePath ? require(casePath) : { async: false, attach: () => baselineStore() };
  const ad = await c.attach(share);
  const keys = flatKeys(shuffled(N, seed));
  let bad = 0;
  const body = c.async
    ? async (a, b) => {
      for (let i = a; i < b; i++) if ((await ad.get(keys[i % N])) == null) bad++;
    }
    : (a, b) => {
      for (let i = a; i < b; i++) if (ad.get(keys[i % N]) == null) bad++;
    };
  const time = c.async ? timeAsync : timeSync;
  const FOREVER = 2 ** 40; // calls: the time budget ends the loop
  await time(FOREVER, 1, body, warmMs * 1e6);
  bad = 0;
  parentPort.postMessage({ ready: true });
  Atomics.wait(gate, 0, 0);
  const r = await time(FOREVER, 1, body, measureMs * 1e6);
  await ad.close();
  parentPort.postMessage({ ops: r.ops, ns: r.ns, bad });
}

main().catch((e) => parentPort.postMessage({ error: e.stack || String(e) }));
