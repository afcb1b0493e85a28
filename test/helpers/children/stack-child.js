'use strict';
// Pushers and poppers of the stack and priority queue tests (test/70-msg/stack.test.js,
// priority-queue.test.js), as processes and worker threads. The structure is a Stack or a
// PriorityQueue (`kind`); the scoreboard is helpers/scoreboard.js. Message ids: pusher p sends
// p * perProducer + i for i in 0..perProducer-1 as numbered(p, i) (helpers/messages.js), with
// priority i % LEVELS in a priority queue.
//   node stack-child.js <kind> <name> <board> threads <perProducer> <first p>
//       starts a pusher worker (p = first p) and a popper worker; prints "done" when both ended
//   node stack-child.js <kind> <name> <board> push <p> <perProducer> [bytes]   prints "done"
//       with `bytes`, the messages are paddedText(p, i, bytes) (helpers/messages.js): large, so
//       that writing one into its node is most of what the pusher does
//   node stack-child.js <kind> <name> <board> pop <perProducer>           prints "count <n>"
// A popper pops until the stop word is set and marks each id received; in a priority queue it
// also checks that the messages of one pusher with one priority arrive in the order sent.
const { isMainThread, parentPort, workerData, Worker } = require('worker_threads');
const { Stack, PriorityQueue, Segment } = require('../../../index');
const { numbered, paddedText, producerOf, seqOf } = require('../messages');
const { Scoreboard } = require('../scoreboard');

const LEVELS = 8;

function openOf(kind, where) {
  return kind === 'stack' ? Stack.open(where) : PriorityQueue.open(where);
}

function push(kind, s, board, p, perProducer, bytes = 0) {
  for (let i = 0; i < perProducer; i++) {
    const m = bytes > 0 ? paddedText(p, i, bytes) : numbered(p, i);
    if (kind === 'stack') s.push(m, 60000);
    else s.enqueue(m, i % LEVELS, 60000);
    board.markProduced(p * perProducer + i);
  }
}

function pop(kind, s, board, perProducer) {
  const last = new Map();
  let count = 0;
  while (!board.stopped()) {
    let m;
    try {
      m = kind === 'stack' ? s.pop(20) : s.dequeue(20);
    } catch (e) {
      if (e.code === 'ERR_QUEUE_TIMEOUT') continue;
      throw e;
    }
    const p = producerOf(m);
    const i = seqOf(m);
    if (kind !== 'stack') {
      const key = p * LEVELS + (i % LEVELS);
      if (last.has(key) && last.get(key) >= i) throw new Error(`pusher ${p}, priority ${i % LEVELS}: ${i} after ${last.get(key)}`);
      last.set(key, i);
    }
    board.markReceived(p * perProducer + i);
    count++;
  }
  return count;
}

function run(kind, where, boardBuffer, mode, args) {
  const s = openOf(kind, where);
  const board = new Scoreboard(boardBuffer);
  let out = 'done';
  if (mode === 'push') push(kind, s, board, args[0], args[1], args[2] || 0);
  else if (mode === 'pop') out = `count ${pop(kind, s, board, args[0])}`;
  else if (mode === 'block') {
    parentPort.postMessage('waiting');
    if (kind === 'stack') s.pop();
    else s.dequeue();
  } else throw new Error(`unknown mode ${mode}`);
  s.close();
  return out;
}

if (isMainThread) {
  const [kind, name, boardName, mode, ...rest] = process.argv.slice(2);
  const args = rest.map(Number);
  if (mode === 'threads') {
    // Workers of this process on the same segments (each maps them again by name).
    const [perProducer, p] = args;
    const start = (data) => new Promise((resolve, reject) => {
      const w = new Worker(__filename, { workerData: { kind, name, boardName, ...data } });
      w.once('message', resolve);
      w.once('error', reject);
    });
    Promise.all([start({ mode: 'push', args: [p, perProducer] }), start({ mode: 'pop', args: [perProducer] })])
      .then(() => process.stdout.write('done\n'));
  } else {
    const seg = Segment.open({ name: boardName });
    process.stdout.write(`${run(kind, { name }, seg.buffer, mode, args)}\n`);
    seg.close();
  }
} else {
  const { kind, name, boardName, buffer, board, mode, args } = workerData;
  if (name !== undefined) {
    const seg = Segment.open({ name: boardName });
    parentPort.postMessage(run(kind, { name }, seg.buffer, mode, args));
    seg.close();
  } else {
    parentPort.postMessage(run(kind, { buffer }, board, mode, args));
  }
}
