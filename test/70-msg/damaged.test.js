'use strict';
// Damaged bytes (docs/api.md, Errors: ERR_CORRUPT): a queue whose shared index or sequence word
// was overwritten with a value no sound run leaves there refuses with ERR_CORRUPT, in bounded
// time, instead of spinning forever on a state it takes for a race in progress, or handing out
// junk as messages. Each case runs in a worker thread that is terminated if it does not answer.
const assert = require('assert');
const path = require('path');
const { Worker } = require('worker_threads');
const { cases, healed, batchReceived, damagedRun, MESSAGES } = require('./damaged-cases');
const { MpmcQueue, Channel } = require('../../index');

const WORKER = path.join(__dirname, '..', 'helpers', 'children', 'damage-worker.js');
const ANSWER_MS = 5000;

function runCase(name, set = 'cases') {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { workerData: { name, set } });
    const timer = setTimeout(() => {
      w.terminate();
      resolve({ hung: true });
    }, ANSWER_MS);
    w.once('message', (m) => {
      clearTimeout(timer);
      w.terminate().then(() => resolve(m));
    });
    w.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

describe('Messaging: damaged bytes end with ERR_CORRUPT', function () {
  this.timeout(ANSWER_MS * 3);
  for (const name of Object.keys(cases)) {
    it(name, async () => {
      const r = await runCase(name);
      assert.ok(!r.hung, `${name} did not return within ${ANSWER_MS} ms`);
      assert.strictEqual(r.code, 'ERR_CORRUPT', `${name}: ${JSON.stringify(r)}`);
      // A batch read that met a damaged record: every other message it took, in order, comes
      // with the error (they are off the queue), and only the damaged records are lost.
      if (name in batchReceived) assert.deepStrictEqual(r.received, batchReceived[name], name);
    });
  }
});

describe('Messaging: a batch read that meets a damaged record loses that record only', () => {
  const reads = {
    'MpmcQueue tryDequeueBatch': { Class: MpmcQueue, read: (q) => q.tryDequeueBatch() },
    'Channel receiveBatch': { Class: Channel, read: (q) => q.receiveBatch(100, { timeoutMs: 0 }) },
  };
  for (const [what, { Class, read }] of Object.entries(reads)) {
    it(`${what}: the messages of the damaged call come with its error, the next calls get the rest`, async () => {
      const damaged = [7, 40, 67];
      const q = damagedRun(Class, damaged);
      const got = [];
      let errors = 0;
      for (;;) {
        let batch;
        try {
          batch = await read(q);
        } catch (e) {
          if (e.code === 'ERR_QUEUE_TIMEOUT') break; // the channel is empty
          assert.strictEqual(e.code, 'ERR_CORRUPT');
          errors++;
          batch = e.received;
        }
        if (batch.length === 0) break;
        got.push(...batch);
      }
      assert.strictEqual(errors, 2); // 7 and 40 in the first claim, 67 in the second
      assert.deepStrictEqual(got, MESSAGES.filter((_, i) => !damaged.includes(i)));
      q.close();
    });
  }
});

describe('Messaging: damaged words a structure recovers from by itself', function () {
  this.timeout(ANSWER_MS * 3);
  const want = {
    'Broadcast publish over a record being written by no publisher': 'skipped 1',
    'PriorityQueue enqueue and dequeue with a damaged free count': '[true,"c","b","a",null] rebuilds 1',
  };
  for (const name of Object.keys(healed)) {
    it(name, async () => {
      const r = await runCase(name, 'healed');
      assert.ok(!r.hung, `${name} did not return within ${ANSWER_MS} ms`);
      assert.deepStrictEqual(r, { returned: want[name] });
    });
  }
});
