'use strict';
// The native parties of binding/msg/msg.cc run on threads of their own; a worker terminated
// while they wait (a consumer on an empty ring, a producer on a full one) must still end: its
// teardown stops and joins them instead of waiting for jobs that never finish. Run in a child
// process, which a hung termination would keep alive until the kill below.
const assert = require('assert');
const path = require('path');
const { addon } = require('../../lib/base/native');
const { runNode } = require('../helpers/process');

const ROOT = path.join(__dirname, '..', '..');

(addon ? describe : describe.skip)('native message jobs in a worker that is terminated', function () {
  it('terminate() ends a worker whose native producers and consumers of every kind wait for ever', async function () {
    this.timeout(120000);
    const worker = `
      const { parentPort } = require('worker_threads');
      const root = ${JSON.stringify(ROOT)};
      const { SpscRing, MpmcQueue, Channel } = require(root);
      const { addon } = require(root + '/lib/base/native');
      const region = (Kind, capacity, options) => {
        const buffer = new SharedArrayBuffer(Kind.bytesFor(capacity, options));
        Kind.create({ buffer, capacity, ...options });
        return new Uint8Array(buffer);
      };
      const mpmc = { messageBytes: 16 };
      const jobs = [
        addon.msgSpscConsume(region(SpscRing, 64), 1), // empty: waits
        addon.msgSpscProduce(region(SpscRing, 64), 1000, 8), // fills the ring, then waits
        addon.msgMpmcProduce(region(MpmcQueue, 4, mpmc), 1000, 8, 0),
        addon.msgMpmcProduceBatch(region(MpmcQueue, 4, mpmc), 1000, 8, 0, 4),
        addon.msgMpmcConsumeBatch(region(MpmcQueue, 4, mpmc), 1, 4),
        addon.msgChannelSend(region(Channel, 4, mpmc), 1000, 8),
        addon.msgChannelReceive(region(Channel, 4, mpmc)),
      ];
      for (const job of jobs) job.then(() => parentPort.postMessage('settled'), () => parentPort.postMessage('failed'));
      // Some time for every thread to reach its sleep (termination is tested from there; any
      // earlier point must end as well).
      setTimeout(() => parentPort.postMessage('waiting'), 300);
    `;
    const parent = `
      const { Worker } = require('worker_threads');
      const w = new Worker(${JSON.stringify(worker)}, { eval: true });
      w.on('error', (e) => { console.log('error ' + e.message); });
      w.on('message', async (m) => {
        console.log(m);
        if (m !== 'waiting') return;
        await w.terminate();
        console.log('terminated');
      });
    `;
    const r = await runNode('-e', [parent], { timeoutMs: 60000 });
    assert.strictEqual(r.signal, null, `the child was killed: terminate() hung\n${r.stdout}${r.stderr.slice(0, 2000)}`);
    assert.strictEqual(r.code, 0, r.stderr.slice(0, 2000));
    assert.strictEqual(r.stdout, 'waiting\nterminated\n');
  });
});
