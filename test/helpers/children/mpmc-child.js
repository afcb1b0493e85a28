'use strict';
// Producer and consumer processes (and workers) of the MPMC queue tests (test/70-msg/mpmc.test.js).
// The queue is in segment <queue>; segment <board> is the test's scoreboard (helpers/scoreboard.js):
// a stop word, a received counter and one byte per message id in a `received` and a `produced`
// table. Message ids: producer p sends p * perProducer + i for i in 0..perProducer-1, as
// numbered(p, i) (helpers/messages.js).
//   node mpmc-child.js produce <queue> <board> <p> <perProducer> [bytes [buffer]]
//       marks each id produced after its enqueue returned; prints "done". With `bytes`, the
//       messages are large, so that the copy into the slot is most of what the producer does:
//       paddedText(p, i, bytes) (helpers/messages.js), or with `buffer` numbered(p, i) followed by
//       zeros up to `bytes` (one Buffer, rewritten: the enqueue copies it before it returns)
//   node mpmc-child.js produce-batch <queue> <board> <p> <perProducer>
//       the same with enqueueBatch() of 1 to 32 messages, marked after the batch returned
//   node mpmc-child.js produce-batch-text <queue> <board> <p> <perProducer>
//       the same with numberedText(p, i) strings (helpers/messages.js; needs 64-byte slots)
//   node mpmc-child.js channel-send <channel> <n>
//       sends numbered(0, i) for i in 0..n-1 on a Channel, then closes it; prints "closed"
//   node mpmc-child.js channel-send-batch <channel> <board> <p> <perProducer>
//       sendBatch() of 1 to 32 numbered messages at a time, each id marked produced after the
//       batch resolved; prints "sent"
//   node mpmc-child.js channel-receive-batch <channel> <board> <perProducer>
//       receiveBatch(32) until the channel is closed and drained; checks per-producer order;
//       marks each id received; prints "count <n> sum <s>"
//   node mpmc-child.js consume <queue> <board> <perProducer>
//       dequeues until the stop word is set; checks per-producer order; marks each id received;
//       prints "count <n> sum <s>"
//   node mpmc-child.js consume-batch <queue> <board> <perProducer>
//       the same with dequeueBatch(32)
// As a worker: workerData { mode, queue: { buffer } , board: SharedArrayBuffer, p, perProducer },
// or { mode: 'channel-receive', queue } (receiveSync until the end; posts { count, sum }) or
// { mode: 'channel-block', queue } (receiveSync on an empty channel: waits until terminated), or
// { mode: 'collect', channel: boolean, queue, n } (n receiveSync() / dequeue() calls; posts the
// messages in the order received).
const { isMainThread, parentPort, workerData } = require('worker_threads');
const { MpmcQueue, Channel, Segment } = require('../../../index');
const { numbered, numberedText, paddedText, producerOf, seqOf } = require('../messages');
const { Scoreboard } = require('../scoreboard');

function produce(q, board, p, perProducer, bytes = 0, asBuffer = false) {
  const padded = asBuffer ? Buffer.alloc(bytes) : null;
  const message = (i) => {
    if (bytes === 0) return numbered(p, i);
    if (padded === null) return paddedText(p, i, bytes);
    numbered(p, i).copy(padded);
    return padded;
  };
  for (let i = 0; i < perProducer; i++) {
    q.enqueue(message(i), 60000);
    board.markProduced(p * perProducer + i);
  }
}

// Batches of 1 to BATCH messages (their sizes vary); each id is marked produced once the
// enqueueBatch() that carried it returned.
const BATCH = 32;
function produceBatches(q, board, p, perProducer, text = false) {
  for (const { batch, ids } of batchesOf(p, perProducer, text)) {
    q.enqueueBatch(batch, 60000);
    for (const id of ids) board.markProduced(id);
  }
}

async function sendBatches(ch, board, p, perProducer) {
  for (const { batch, ids } of batchesOf(p, perProducer)) {
    await ch.sendBatch(batch, { timeoutMs: 60000 });
    for (const id of ids) board.markProduced(id);
  }
}

// The batches of producer p: 1 to BATCH numbered messages each, with their ids.
function* batchesOf(p, perProducer, text = false) {
  for (let i = 0, b = 0; i < perProducer; b++) {
    const size = Math.min(1 + ((b * 7) % BATCH), perProducer - i);
    const batch = [];
    const ids = [];
    for (let k = 0; k < size; k++) {
      batch.push(text ? numberedText(p, i + k) : numbered(p, i + k));
      ids.push(p * perProducer + i + k);
    }
    yield { batch, ids };
    i += size;
  }
}

// A consumer's record: per-producer order checked, each id marked received, count and sum.
function tally(board, perProducer) {
  const last = new Map();
  const r = { count: 0, sum: 0 };
  r.take = (got) => {
    for (const m of got) {
      const p = producerOf(m);
      const i = seqOf(m);
      if (last.has(p) && last.get(p) >= i) throw new Error(`producer ${p}: ${i} after ${last.get(p)}`);
      last.set(p, i);
      board.markReceived(p * perProducer + i);
      r.count++;
      r.sum += i;
    }
  };
  return r;
}

function consume(q, board, perProducer, inBatches = false) {
  const t = tally(board, perProducer);
  while (!board.stopped()) {
    let got;
    try {
      got = inBatches ? q.dequeueBatch(BATCH, 20) : [q.dequeue(20)];
    } catch (e) {
      if (e.code === 'ERR_QUEUE_TIMEOUT') continue;
      throw e;
    }
    t.take(got);
  }
  return { count: t.count, sum: t.sum };
}

async function receiveBatches(ch, board, perProducer) {
  const t = tally(board, perProducer);
  for (;;) {
    try {
      t.take(await ch.receiveBatch(BATCH, { timeoutMs: 60000 }));
    } catch (e) {
      if (e.code === 'ERR_CHANNEL_CLOSED') return { count: t.count, sum: t.sum };
      throw e;
    }
  }
}

function receiveAll(ch) {
  let count = 0;
  let sum = 0;
  for (;;) {
    let m;
    try {
      m = ch.receiveSync(60000);
    } catch (e) {
      if (e.code === 'ERR_CHANNEL_CLOSED') return { count, sum };
      throw e;
    }
    count++;
    sum += seqOf(m);
  }
}

if (isMainThread && process.argv[2] === 'channel-send') {
  const ch = Channel.open({ name: process.argv[3] });
  const n = Number(process.argv[4]);
  for (let i = 0; i < n; i++) ch.sendSync(numbered(0, i), 60000);
  ch.close();
  ch.dispose();
  process.stdout.write('closed\n');
} else if (isMainThread && process.argv[2].startsWith('channel-')) {
  const [mode, name, boardName, ...rest] = process.argv.slice(2);
  const ch = Channel.open({ name });
  const seg = Segment.open({ name: boardName });
  const board = new Scoreboard(seg.buffer);
  const done = mode === 'channel-send-batch'
    ? sendBatches(ch, board, Number(rest[0]), Number(rest[1])).then(() => 'sent')
    : receiveBatches(ch, board, Number(rest[0])).then((r) => `count ${r.count} sum ${r.sum}`);
  done.then((line) => {
    process.stdout.write(`${line}\n`);
    ch.dispose();
    seg.close();
  });
} else if (isMainThread) {
  const [mode, queue, boardName, ...rest] = process.argv.slice(2);
  const q = MpmcQueue.open({ name: queue });
  const seg = Segment.open({ name: boardName });
  const board = new Scoreboard(seg.buffer);
  if (mode === 'produce' || mode === 'produce-batch' || mode === 'produce-batch-text') {
    if (mode === 'produce') produce(q, board, Number(rest[0]), Number(rest[1]), Number(rest[2] || 0), rest[3] === 'buffer');
    else produceBatches(q, board, Number(rest[0]), Number(rest[1]), mode === 'produce-batch-text');
    process.stdout.write('done\n');
  } else if (mode === 'consume' || mode === 'consume-batch') {
    const r = consume(q, board, Number(rest[0]), mode === 'consume-batch');
    process.stdout.write(`count ${r.count} sum ${r.sum}\n`);
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  q.close();
  seg.close();
} else if (workerData.mode === 'collect') {
  const { channel, queue, n } = workerData;
  const q = channel ? Channel.open(queue) : MpmcQueue.open(queue);
  const got = [];
  for (let i = 0; i < n; i++) got.push(channel ? q.receiveSync(60000) : q.dequeue(60000));
  parentPort.postMessage(got);
  if (channel) q.dispose();
  else q.close();
} else if (workerData.mode.startsWith('channel-')) {
  const ch = Channel.open(workerData.queue);
  if (workerData.mode === 'channel-block') parentPort.postMessage('waiting');
  parentPort.postMessage(receiveAll(ch));
  ch.dispose();
} else {
  const { mode, queue, board: boardBuffer, p, perProducer } = workerData;
  const q = MpmcQueue.open(queue);
  const board = new Scoreboard(boardBuffer);
  if (mode === 'produce' || mode === 'produce-batch') {
    (mode === 'produce' ? produce : produceBatches)(q, board, p, perProducer);
    parentPort.postMessage('done');
  } else if (mode === 'consume' || mode === 'consume-batch') {
    parentPort.postMessage(consume(q, board, perProducer, mode === 'consume-batch'));
  } else if (mode === 'block') {
    parentPort.postMessage('waiting');
    q.dequeue();
  }
  q.close();
}
