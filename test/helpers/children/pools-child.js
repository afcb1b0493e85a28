'use strict';
// Parties of the pool tests (test/75-pool/blocking.test.js, object-pool.test.js,
// memory-pool.test.js). Pools are opened by segment name.
//   node pools-child.js stamp <object pool> <rounds> <workers>
//       prints "ready" once every worker has opened the pool; runs <workers> worker threads, each <rounds> rounds of: acquire(60000) a record, stamp
//       it with its own id by a CAS of its first word from 0 (failing means another party holds
//       the record now), check and clear the stamp by a CAS back to 0, release; prints
//       "acquired <sum> violations <sum>"
//   node pools-child.js stamp-memory <memory pool> <rounds> <workers>
//       the same with a memory pool: each round allocate(size, 60000) with sizes cycling through
//       MEMORY_SIZES (every class competes), and the block's second word counts the allocations it
//       served (Atomics.add); free instead of release
//   node pools-child.js wait <buffer pool>
//       prints "waiting", then acquire(60000); prints "got <handle>" and exits
//   node pools-child.js wait-many <buffer pool> <k>
//       prints "waiting", then k times: acquire(60000), prints "got <i> <handle>" (i from 1);
//       keeps what it got until it exits
//   node pools-child.js wait-memory <memory pool> <size>
//       prints "waiting", then allocate(size, 60000); prints "got <handle>" and exits
//   node pools-child.js hold-memory <memory pool> <size> <k>
//       allocates k blocks of <size> bytes, fills each with 0xa5, prints "holding <handles>" and
//       waits to be killed
//   node pools-child.js hold-object <object pool> <k>
//       acquires k records; prints "holding" and waits to be killed
// As a worker: workerData { mode: 'stamp', kind ('object', the default, or 'memory'), name |
// buffer, id, rounds } (posts 'ready', then the rounds above, then { acquired, violations });
// { mode: 'wait', buffer | name, kind, size } waits in acquire() (kind 'memory': allocate(size))
// on a pool whose every fitting block is held, posts 'got' and 'got <handle>' when it gets one
// and waits to be terminated.
const path = require('path');
const { isMainThread, parentPort, workerData, Worker } = require('worker_threads');
const { ObjectPool, BufferPool, MemoryPool } = require('../../../index');

// The sizes the memory pool parties allocate, for the pools of memory-blocking.test.js (at least
// 8 bytes: the stamp and the counter).
const MEMORY_SIZES = [8, 200, 16, 4000, 100, 9, 256, 1000];

// The parties' acquire and release, by pool kind.
const OPS = {
  object: { Class: ObjectPool, take: (pool) => pool.acquire(60000), give: (pool, h) => pool.release(h) },
  memory: {
    Class: MemoryPool,
    take: (pool, r, id) => pool.allocate(MEMORY_SIZES[(r + id) % MEMORY_SIZES.length], 60000),
    give: (pool, h) => pool.free(h),
  },
};

function stampRounds(pool, kind, id, rounds) {
  const { take, give } = OPS[kind];
  let acquired = 0;
  let violations = 0;
  for (let r = 0; r < rounds; r++) {
    const { handle, view } = take(pool, r, id);
    acquired++;
    const words = new Int32Array(view.buffer, view.byteOffset, kind === 'memory' ? 2 : 1);
    if (kind === 'memory') Atomics.add(words, 1, 1);
    if (Atomics.compareExchange(words, 0, 0, id) !== 0) violations++;
    else if (Atomics.compareExchange(words, 0, id, 0) !== id) violations++;
    give(pool, handle);
  }
  return { acquired, violations };
}

if (isMainThread) {
  const [mode, name, a, b] = process.argv.slice(2);
  if (mode === 'stamp' || mode === 'stamp-memory') {
    const kind = mode === 'stamp' ? 'object' : 'memory';
    const rounds = Number(a);
    const workers = Number(b);
    // A stamp unique among every party: the pid and the worker's number.
    const ids = Array.from({ length: workers }, (_, i) => `${process.pid}${i + 1}` | 0);
    let started = 0;
    Promise.all(ids.map((id) => new Promise((resolve, reject) => {
      const w = new Worker(__filename, { workerData: { mode: 'stamp', kind, name, id, rounds } });
      w.on('message', (m) => {
        if (m !== 'ready') resolve(m);
        else if (++started === workers) console.log('ready');
      });
      w.once('error', reject);
    }))).then((rs) => {
      const sum = (f) => rs.reduce((n, r) => n + r[f], 0);
      console.log(`acquired ${sum('acquired')} violations ${sum('violations')}`);
    });
  } else if (mode === 'wait') {
    const pool = BufferPool.open({ name });
    console.log('waiting');
    const { handle } = pool.acquire(60000);
    console.log(`got ${handle}`);
    pool.close();
  } else if (mode === 'wait-many') {
    const pool = BufferPool.open({ name });
    console.log('waiting');
    for (let i = 1; i <= Number(a); i++) console.log(`got ${i} ${pool.acquire(60000).handle}`);
    pool.close();
  } else if (mode === 'wait-memory') {
    const pool = MemoryPool.open({ name });
    console.log('waiting');
    const { handle } = pool.allocate(Number(a), 60000);
    console.log(`got ${handle}`);
    pool.close();
  } else if (mode === 'hold-memory') {
    const pool = MemoryPool.open({ name });
    const handles = [];
    for (let k = 0; k < Number(b); k++) {
      const { handle, view } = pool.allocate(Number(a));
      view.fill(0xa5);
      handles.push(handle);
    }
    console.log(`holding ${handles.join(',')}`);
    setInterval(() => {}, 1000);
  } else if (mode === 'hold-object') {
    const pool = ObjectPool.open({ name });
    for (let k = 0; k < Number(a); k++) pool.acquire(0);
    console.log('holding');
    setInterval(() => {}, 1000);
  } else {
    throw new Error(`unknown mode ${mode} (${path.basename(__filename)})`);
  }
} else if (workerData.mode === 'stamp') {
  const where = workerData.name !== undefined ? { name: workerData.name } : { buffer: workerData.buffer };
  const kind = workerData.kind ?? 'object';
  const pool = OPS[kind].Class.open(where);
  parentPort.postMessage('ready');
  const r = stampRounds(pool, kind, workerData.id, workerData.rounds);
  pool.close();
  parentPort.postMessage(r);
} else if (workerData.mode === 'wait') {
  const Class = { buffer: BufferPool, object: ObjectPool, memory: MemoryPool }[workerData.kind];
  const pool = Class.open(workerData.name !== undefined ? { name: workerData.name } : { buffer: workerData.buffer });
  parentPort.postMessage('waiting');
  const { handle } = workerData.kind === 'memory' ? pool.allocate(workerData.size) : pool.acquire();
  parentPort.postMessage('got');
  parentPort.postMessage(`got ${handle}`);
}
