'use strict';
// A task scheduler for worker threads: tasks wait in a shared PriorityQueue ordered by deadline
// (the earliest first), worker threads take them with a blocking dequeue, and every result is
// published on a Broadcast that the main thread (and any other subscriber, in any thread or
// process) reads in order. No message passes through postMessage.
//
//   node examples/task-scheduler.js [workers] [tasks]
//
// In your project: require('shmstore') instead of require('..').
const { Worker, isMainThread, workerData } = require('worker_threads');
const { PriorityQueue, Broadcast } = require('..');

const STOP = Number.MAX_SAFE_INTEGER; // the latest deadline: taken only when every task is gone

if (isMainThread) {
  const workers = Number(process.argv[2] || 3);
  const tasks = Number(process.argv[3] || 40);
  const queue = PriorityQueue.create({ buffer: new SharedArrayBuffer(PriorityQueue.bytesFor(64, { order: 'min' })), capacity: 64, order: 'min' });
  const results = Broadcast.create({ buffer: new SharedArrayBuffer(Broadcast.bytesFor(256)), capacity: 256 });
  const sub = results.subscribe(); // before any result is published: it misses none
  for (let w = 0; w < workers; w++) {
    new Worker(__filename, { workerData: { queue: queue.buffer, results: results.buffer, id: w } })
      .on('error', (err) => {
        console.error(err);
        process.exitCode = 1;
      });
  }
  (async () => {
    // Deadlines in a scrambled order; the queue hands them out earliest first.
    for (let i = 0; i < tasks; i++) await queue.enqueueAsync({ task: i, n: 20 + (i % 7) }, ((i * 7919) % tasks) + 1);
    for (let w = 0; w < workers; w++) await queue.enqueueAsync({ stop: true }, STOP);
    const done = new Map();
    let missed = 0;
    const seen = new Set();
    while (done.size < tasks) {
      const { value, missed: m } = await sub.receive({ timeoutMs: 30000 });
      missed += m;
      if (done.has(value.task)) throw new Error(`task ${value.task} done twice`);
      done.set(value.task, value.result);
      seen.add(value.worker);
    }
    // Every task's result is the Fibonacci number it asked for.
    const fib = (n) => (n < 2 ? n : fib(n - 1) + fib(n - 2));
    const correct = [...done].every(([task, result]) => result === fib(20 + (task % 7)));
    sub.close();
    console.log(JSON.stringify({ tasks, done: done.size, missed, correct, workersThatWorked: seen.size }));
  })().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
} else {
  const queue = PriorityQueue.open({ buffer: workerData.queue });
  const results = Broadcast.open({ buffer: workerData.results });
  const fib = (n) => (n < 2 ? n : fib(n - 1) + fib(n - 2));
  for (;;) {
    const job = queue.dequeue(30000); // blocks this worker, not the main thread
    if (job.stop) break;
    results.publish({ task: job.task, worker: workerData.id, result: fib(job.n) });
  }
  queue.close();
  results.close();
}
