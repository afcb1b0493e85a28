'use strict';
// Publishers and subscribers of the broadcast tests (test/70-msg/broadcast-parties.test.js), as
// processes and as worker threads. Message i is a Buffer of `bytes` bytes: i as a u32, then every
// other byte equal to i & 0xff (helpers/messages.js checks it), so that a torn record shows.
//   node bcast-child.js subscribe <name> <workers>
//       runs <workers> worker threads, each subscribing (mode 'subscribe' below); prints one line
//       "ready" once all subscribed, then one JSON line of their reports when they end
//   node bcast-child.js publish <name> <bytes>
//       publishes messages 0, 1, ... forever; prints "ready" after the first 100
//   node bcast-child.js hold <name>
//       subscribes and prints "subscribed <handle id> <subscriber id>", then waits to be killed
// As a worker: workerData { mode: 'subscribe', where, gate, counter } subscribes, posts 'ready',
// waits until the word gate[0] (an Int32Array's buffer, if given) is set, then receives until the
// message 'end'; posts a report { received, missed, first, last, sum, gaps, torn } (`missed` also
// counts what it missed just before 'end'). With `counter` (an Int32Array of the publisher's published count) the
// report also holds { before, after }: the count read just before and just after subscribe().
// { mode: 'churn', where, rounds, counter } subscribes and unsubscribes `rounds` times while
// messages flow, reading a few each time; posts the list of its subscriptions' reports.
// { mode: 'block', where } subscribes and blocks in receiveSync() until terminated.
const { isMainThread, parentPort, workerData, Worker } = require('worker_threads');
const { Broadcast } = require('../../../index');
const { checkStamped, stamped } = require('../messages');

function receiveUntilEnd(sub, { limit = Infinity } = {}) {
  const r = { received: 0, missed: 0, first: -1, last: -1, sum: 0, gaps: 0, torn: 0 };
  while (r.received < limit) {
    const { value, missed } = sub.receiveSync(60000);
    r.missed += missed;
    if (value === 'end') break;
    const i = checkStamped(value);
    if (i < 0) {
      r.torn++;
      continue;
    }
    if (r.last >= 0 && i !== r.last + 1 + missed) r.gaps++;
    if (r.first < 0) r.first = i;
    r.last = i;
    r.received++;
    r.sum += i;
  }
  return r;
}

function workerMain() {
  const { mode, where } = workerData;
  const b = Broadcast.open(where);
  const counter = workerData.counter ? new Int32Array(workerData.counter) : null;
  if (mode === 'subscribe') {
    const before = counter ? Atomics.load(counter, 0) : 0;
    const sub = b.subscribe();
    const after = counter ? Atomics.load(counter, 0) : 0;
    parentPort.postMessage('ready');
    if (workerData.gate) Atomics.wait(new Int32Array(workerData.gate), 0, 0, 60000);
    const r = receiveUntilEnd(sub, workerData);
    parentPort.postMessage({ ...r, before, after });
  } else if (mode === 'churn') {
    const reports = [];
    for (let k = 0; k < workerData.rounds; k++) {
      const before = Atomics.load(counter, 0);
      const sub = b.subscribe();
      const after = Atomics.load(counter, 0);
      reports.push({ ...receiveUntilEnd(sub, { limit: 20 + (k % 7) * 10 }), before, after });
      sub.close();
    }
    parentPort.postMessage(reports);
  } else if (mode === 'block') {
    const sub = b.subscribe();
    parentPort.postMessage({ id: sub.id });
    sub.receiveSync();
  }
  b.close();
}

async function processMain() {
  const [mode, name, arg] = process.argv.slice(2);
  const where = { name };
  if (mode === 'subscribe') {
    const workers = Array.from({ length: Number(arg) }, () => new Worker(__filename, { workerData: { mode: 'subscribe', where } }));
    const messages = workers.map((w) => new Promise((resolve, reject) => {
      const got = [];
      w.on('message', (m) => {
        got.push(m);
        if (got.length === 1) resolve(got);
      });
      w.on('error', reject);
    }));
    await Promise.all(messages);
    process.stdout.write('ready\n');
    const reports = await Promise.all(workers.map((w) => new Promise((resolve, reject) => {
      w.on('message', resolve);
      w.on('error', reject);
    })));
    process.stdout.write(`${JSON.stringify(reports)}\n`);
  } else if (mode === 'publish') {
    const b = Broadcast.open(where);
    for (let i = 0; ; i++) {
      b.publish(stamped(i, Number(arg)));
      if (i === 100) process.stdout.write('ready\n');
    }
  } else if (mode === 'hold') {
    const b = Broadcast.open(where);
    const sub = b.subscribe();
    process.stdout.write(`subscribed ${sub.id}\n`);
    setInterval(() => {}, 1000);
  }
}

if (isMainThread) {
  processMain().catch((e) => {
    process.stderr.write(`${e.stack}\n`);
    process.exit(1);
  });
} else {
  workerMain();
}
