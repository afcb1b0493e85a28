'use strict';
// One writer of bench/durable.js: opens its system, writes 100-byte values to random keys of
// 100,000 from a common start time for task.ms, and returns how many writes were acknowledged
// ({ n, cpuUs, syncs }: with the CPU time the process used meanwhile and, for a persisted store,
// how many fdatasync calls of its log it made meanwhile).
// A write counts only once the system's acknowledgement promises what the case says: for the
// durable cases, that the record is on stable storage (shmstore 'always' set() / setDurable(),
// SQLite synchronous=FULL, lmdb's `flushed` promise, Redis appendfsync always). With task.batch
// = W the writer keeps W writes in flight and counts them when all W are acknowledged (async
// batches: group commit within the writer; SQLite: one transaction of W writes); with 0, one
// write at a time.
// Runs in a child process (fork of bench/durable.js) or in a worker thread of one.
const KEYS = 100000;
const VALUE = 'v'.repeat(100);

function keyOf(i) {
  return `key:${String(i).padStart(10, '0')}`;
}

// Counts the log's fdatasync calls made through this thread's io (lib/persist/io.js), blocking
// and asynchronous; returns the count so far.
function countSyncs() {
  const { io } = require('../../lib/persist/io');
  let n = 0;
  const sync = io.fdatasyncSync;
  const async = io.fdatasync;
  io.fdatasyncSync = (fd) => {
    n += 1;
    return sync(fd);
  };
  io.fdatasync = (fd, cb) => {
    n += 1;
    async(fd, cb);
  };
  return () => n;
}

// { put(key) -> undefined | Promise, settle() -> Promise | undefined, close() }
async function openSystem(task) {
  if (task.system === 'shmstore') {
    // Before the store opens: its log then never prefaults (a case of bench/durable.js).
    if (task.noPrefault) require('../../lib/persist/io').io.prefault = null;
    const { Store } = require('../..');
    const engine = task.engine ? { engine: task.engine } : {};
    const s = task.persist ? Store.open({ name: task.name, ...engine, persist: { dir: task.dir } }) : Store.open({ name: task.name, ...engine });
    return {
      put: task.batch ? (k) => s.setDurable('bench', k, VALUE) : (k) => { s.set('bench', k, VALUE); },
      settle: null,
      // The fdatasync calls of this writer's log so far (its thread's io, counted as they start):
      // null without persistence. The case sums them over its writers.
      syncs: task.persist ? countSyncs() : null,
      close: () => s.close(),
    };
  }
  if (task.system === 'sqlite') {
    const Database = require('better-sqlite3');
    const db = new Database(task.file);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${task.synchronous}`);
    db.pragma('busy_timeout = 10000');
    const stmt = db.prepare('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)');
    // A batch is one transaction (one commit, one sync of the WAL): SQLite's own way to make W
    // writes durable together, as lmdb's and Redis's batches are theirs.
    const many = db.transaction((keys) => {
      for (const k of keys) stmt.run(k, VALUE);
    });
    return { put: (k) => { stmt.run(k, VALUE); }, putMany: (keys) => many(keys), settle: null, close: () => db.close() };
  }
  if (task.system === 'lmdb') {
    const { open } = require('lmdb');
    const db = open({ path: task.dir, encoding: 'string' });
    // put() resolves once its transaction is committed; `flushed` once the commits before it
    // are synced to the disk (overlappingSync, the default on Linux).
    return { put: (k) => db.put(k, VALUE), settle: () => db.flushed, close: () => db.close() };
  }
  if (task.system === 'redis') {
    const Redis = require('ioredis');
    // A batch's commands, issued in one tick, go out in one write with ioredis's auto-pipelining
    // (its documented way to batch): the server then reads them together and one fsync of its AOF
    // covers them all. Without it each command is a write of its own, and the server may read the
    // batch in pieces, each with its own fsync (measured: up to 1.7x fewer writes per second).
    const r = new Redis({ port: task.port, host: '127.0.0.1', enableOfflineQueue: true, enableAutoPipelining: task.batch > 0 });
    await r.ping();
    // With appendfsync always the server answers a write only after the fsync of its AOF.
    return { put: (k) => r.set(k, VALUE), settle: null, close: () => r.disconnect() };
  }
  throw new Error(`unknown system ${task.system}`);
}

// One-at-a-time writes until `until` (epoch ms), in batches between clock reads.
async function writeFor(sys, next, until) {
  while (Date.now() < until) {
    for (let i = 0; i < 64; i++) {
      const r = sys.put(next());
      if (r) await r;
    }
  }
}

async function runWriter(task) {
  const sys = await openSystem(task);
  let seed = task.seed >>> 0;
  const next = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return keyOf(seed % KEYS);
  };
  // task.warm: the time until the start is spent writing, uncounted (bench/durable.js, the
  // latency cases), so that the measured interval runs compiled code; else waited.
  if (task.warm) {
    while (Date.now() < task.startAt) await writeFor(sys, next, task.startAt);
  }
  while (Date.now() < task.startAt) await new Promise((r) => setTimeout(r, Math.max(0, Math.min(5, task.startAt - Date.now()))));
  const end = task.startAt + task.ms;
  // The CPU time of the writing (user and system, of the whole process: meaningful for a writer
  // that is a process of its own), which other load on the machine does not inflate as it does
  // the elapsed time.
  const cpu = process.cpuUsage();
  const syncs0 = sys.syncs ? sys.syncs() : 0;
  let n = 0;
  const window = task.batch || 1;
  const pending = new Array(window);
  const isAsync = task.batch > 0 || task.system === 'lmdb' || task.system === 'redis';
  const keys = new Array(window);
  while (Date.now() < end) {
    if (sys.putMany && task.batch > 0) {
      for (let i = 0; i < window; i++) keys[i] = next();
      sys.putMany(keys);
      n += window;
      continue;
    }
    if (!isAsync) {
      sys.put(next());
      n += 1;
      continue;
    }
    for (let i = 0; i < window; i++) pending[i] = sys.put(next());
    await Promise.all(pending);
    if (sys.settle) await sys.settle();
    n += window;
  }
  const used = process.cpuUsage(cpu);
  const syncs = sys.syncs ? sys.syncs() - syncs0 : null;
  await sys.close();
  return { n, cpuUs: used.user + used.system, syncs };
}

module.exports = { runWriter, keyOf, KEYS, VALUE };

// In a worker thread of a writer host: write, report the count.
const wt = require('worker_threads');
if (!wt.isMainThread && wt.workerData && wt.workerData.durableWriter) {
  runWriter(wt.workerData.task).then((r) => wt.parentPort.postMessage(r), (err) => { throw err; });
}
