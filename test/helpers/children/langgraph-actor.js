'use strict';
// Runs LangGraph adapter work on a shared store, as a child process (argv[2]: JSON job) or as a
// worker thread (workerData: job, with `buffer` instead of a store name). Jobs:
//   items:       puts `count` items { actor, i, text } under ['agents', actor] (text: `bytes` long,
//                so that large ones take chunks), prints { done } at the end;
//   checkpoints: puts `count` checkpoints of thread `actor` (each the child of the previous one,
//                with a channel value of `bytes` bytes, or of 10 bytes but every `every`-th, and
//                one pending write), printing one line `ok <i>` as soon as checkpoint i and its
//                write are stored; count 0: until killed (a full store stops the writes);
//   churn:       replaces the items ['churn', <j>] (j < keys) with values of alternating sizes
//                (small, one chunk, several chunks), `count` times (0: until killed), printing
//                `ok <n>` as it goes; values carry `actor` when given.
const fs = require('fs');
const { isMainThread, workerData, parentPort } = require('worker_threads');
const { ShmstoreStore, ShmstoreSaver } = require('../../../lib/adapters/langgraph');

const job = isMainThread ? JSON.parse(process.argv[2]) : workerData;
const target = job.buffer ? { buffer: job.buffer, engine: job.engine } : { name: job.name, size: job.size, engine: job.engine };

function say(line) {
  if (isMainThread) fs.writeSync(1, `${line}\n`);
  else parentPort.postMessage(line);
}

async function items() {
  const store = new ShmstoreStore(target);
  for (let i = 0; i < job.count; i++) {
    await store.put(['agents', String(job.actor)], `k${i}`, { actor: job.actor, i, text: 'x'.repeat(job.bytes) });
  }
  store.close();
  say(JSON.stringify({ done: job.count }));
}

const sizeOf = (i) => (!job.every || i % job.every === 0 ? job.bytes : 10);

async function checkpoints() {
  const saver = new ShmstoreSaver(target);
  let config = { configurable: { thread_id: `t${job.actor}`, checkpoint_ns: '' } };
  for (let i = 0; job.count === 0 || i < job.count; i++) {
    const id = `cp-${String(i).padStart(8, '0')}`;
    const checkpoint = {
      v: 4, id, ts: new Date(0).toISOString(),
      channel_values: { log: `${i}:`.padEnd(sizeOf(i), '#') }, channel_versions: { log: i + 1 }, versions_seen: {},
    };
    try {
      config = await saver.put(config, checkpoint, { source: 'loop', step: i, parents: {} }, { log: i + 1 });
      await saver.putWrites(config, [['log', `w${i}`]], `task-${i}`);
    } catch (err) {
      if (err.code !== 'ERR_STORE_FULL' || job.count !== 0) throw err;
      // Until killed: a full store ends the writing, not the process.
      say('full');
      setInterval(() => {}, 1000);
      return;
    }
    say(`ok ${i}`);
  }
  saver.close();
}

async function churn() {
  const store = new ShmstoreStore(target);
  const sizes = [10, 70000, 200000];
  for (let n = 0; !job.count || n < job.count; n++) {
    const size = sizes[n % sizes.length];
    await store.put(['churn'], String(n % job.keys), { n, actor: job.actor, text: String(n % 10).repeat(size) });
    if (n % 10 === 0 && !job.count) say(`ok ${n}`);
  }
  store.close();
}

({ items, checkpoints, churn })[job.mode]().catch((err) => {
  console.error(err);
  process.exit(1);
});
