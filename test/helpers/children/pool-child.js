'use strict';
// Producer and consumer processes (and workers) of the buffer pool hand-off tests
// (test/75-pool/handoff.test.js). The pool is in segment <pool>, the queue (an MpmcQueue) in
// segment <queue>. A message is the JSON array [handle, i, length, checksum]: block `handle`
// holds payload i, `length` bytes whose FNV-1a checksum is `checksum` (helpers/payloads.js).
//   node pool-child.js produce <pool> <queue> <n> <graceMs> [blocking]
//       sends payloads 0..n-1, waiting for a free block when none is (polling tryAcquire(), or
//       with `blocking` in acquire(60000), as a streaming producer does); then, once the queue is
//       empty, waits up to graceMs until the receivers have taken every block it handed off (a
//       message lost with a killed receiver leaves its block with this handle), closes (which
//       frees what it still holds) and prints "done"
//   node pool-child.js consume <pool> <queue> <n>
//       takes, checks and releases n payloads; prints "count <n> sum <sum of i> bad <mismatches>"
//   node pool-child.js hold <pool> <queue> <k>
//       takes k payloads and keeps them; prints "holding <k>" and waits to be killed
//   node pool-child.js churn <pool> <id>
//       prints "ready", then forever: acquires up to 3 blocks, fills each with byte <id>, checks
//       them, releases them (the test kills it at a random moment)
// As a worker: workerData { mode: 'hold', buffer, k } acquires k blocks of the pool in `buffer`,
// posts 'holding' and waits until terminated; { mode: 'churn', buffer, id, rounds } runs
// `rounds` rounds of churn (more while it has acquired no block, for at most 60 s) and posts
// { acquired, clobbered } (blocks found overwritten by another party while this one held them:
// must be 0).
const { isMainThread, parentPort, workerData } = require('worker_threads');
const { BufferPool, MpmcQueue } = require('../../../index');
const { fill, checksum } = require('../payloads');

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function produce(pool, q, n, graceMs, blocking) {
  for (let i = 0; i < n; i++) {
    let got = blocking ? pool.acquire(60000) : pool.tryAcquire();
    const deadline = Date.now() + 60000;
    while (got === null) {
      if (Date.now() > deadline) throw new Error('no free block for 60 s');
      sleep(1);
      got = pool.tryAcquire();
    }
    const length = fill(got.view, i);
    q.enqueue([got.handle, i, length, checksum(got.view, length)], 60000);
  }
  // A block this handle still holds is freed by close(): wait until every one was taken.
  let deadline = Date.now() + 60000;
  while (q.size > 0) {
    if (Date.now() > deadline) throw new Error('messages not received for 60 s');
    sleep(1);
  }
  deadline = Date.now() + graceMs;
  while (pool.stats().mine > 0 && Date.now() < deadline) sleep(1);
}

// One round: takes up to 3 blocks, fills each with `id`, checks every byte, releases them.
// Returns [blocks acquired, blocks found changed].
function churnRound(pool, id) {
  const held = [];
  for (let k = 0; k < 3; k++) {
    const got = pool.tryAcquire();
    if (got === null) break;
    got.view.fill(id);
    held.push(got);
  }
  let clobbered = 0;
  for (const g of held) {
    if (!g.view.every((b) => b === id)) clobbered++;
    pool.release(g.handle);
  }
  return [held.length, clobbered];
}

function consume(pool, q, n, hold) {
  let sum = 0;
  let bad = 0;
  for (let k = 0; k < n; k++) {
    const [handle, i, length, sent] = q.dequeue(60000);
    const view = pool.take(handle);
    if (checksum(view, length) !== sent) bad++;
    sum += i;
    if (!hold) pool.release(handle);
  }
  return { sum, bad };
}

if (isMainThread) {
  const [mode, poolName, queueName, count, grace, how] = process.argv.slice(2);
  const pool = BufferPool.open({ name: poolName });
  if (mode === 'churn') {
    const id = Number(queueName); // churn <pool> <id>
    console.log('ready');
    for (;;) churnRound(pool, id);
  }
  const q = MpmcQueue.open({ name: queueName });
  const n = Number(count);
  if (mode === 'produce') {
    produce(pool, q, n, Number(grace), how === 'blocking');
    pool.close();
    console.log('done');
  } else if (mode === 'consume') {
    const r = consume(pool, q, n, false);
    pool.close();
    console.log(`count ${n} sum ${r.sum} bad ${r.bad}`);
  } else if (mode === 'hold') {
    const r = consume(pool, q, n, true);
    console.log(`holding ${n} bad ${r.bad}`);
    setInterval(() => {}, 1000);
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} else if (workerData.mode === 'hold') {
  const pool = BufferPool.open({ buffer: workerData.buffer });
  for (let k = 0; k < workerData.k; k++) pool.acquire();
  parentPort.postMessage('holding');
  setInterval(() => {}, 1000);
} else if (workerData.mode === 'churn') {
  const pool = BufferPool.open({ buffer: workerData.buffer });
  let acquired = 0;
  let clobbered = 0;
  // On a loaded machine a worker may run all its rounds while the others, descheduled, hold
  // every block: it goes on (at most 60 s) until it has had one, which is what the test asserts.
  const deadline = Date.now() + 60000;
  for (let r = 0; r < workerData.rounds || (acquired === 0 && Date.now() < deadline); r++) {
    const [a, c] = churnRound(pool, workerData.id);
    acquired += a;
    clobbered += c;
  }
  pool.close();
  parentPort.postMessage({ acquired, clobbered });
}
