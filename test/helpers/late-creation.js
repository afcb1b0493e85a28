'use strict';
// An open by name or path that comes while its creator is part way (the message structures',
// the pools', a mutex's, a barrier's and a registry's tests). A creator makes its segment with 0 bytes, sizes
// it next and stamps the header, the magic last; a worker (children/late-creator.js) plays such a
// creator one step at a time, slowly: the opener finds the segment empty, then sized but without
// its magic, then made. With `firstBytes` the creator sizes the segment in two steps, as one that
// grows it in steps does (posix_fallocate on ext4 for a large size, glibc's fallback on file
// systems without fallocate, a creator of another tool): first to `firstBytes`, which the opener
// finds, then, just before it stamps, to the full size.
//   KINDS[kind]          for each kind, by class name: its bytes, how the creator makes it on a
//                        mapping and puts a message (a held block, in a pool; a held lock; an
//                        entry, in a registry; its arrival, in a barrier) in it, how an opener
//                        checks that it sees that message and the creator's shape, and, for a
//                        kind whose message is still pending on the creator's side (a barrier's
//                        arrival), how the creator settles it (settle(handle), a Promise that
//                        rejects when what it sees is wrong) before it closes its handle
//   openWhileCreated(kind, target, { firstBytes }?)  starts a late creator of `kind` at `target`
//                        ({ name } or { path }, which must exist with 0 bytes) and calls
//                        Class.open(target) at once; resolves { error } (what open threw) or
//                        { seen } (whether the handle saw the creator's shape and message:
//                        KINDS[kind].sees), once the creator has put its message and ended
//   fileOf(target)       the file of a target: its path, or the shared memory object's
//   end(handle)          closes a handle (a channel's for this party only: dispose())
const path = require('path');
const { Worker } = require('worker_threads');
const shm = require('../../index');

const CHILD = path.join(__dirname, 'children', 'late-creator.js');
const TEXT = 'from the creator';
// Shapes other than the defaults, so that an opener that has them read the creator's header.
const QUEUE = { capacity: 64, messageBytes: 40 };
const POOL_FILL = 0x5a;

// A pool: its creator acquires a block, fills it and posts its handle; the opener finds it held
// with those bytes.
function poolKind(Class, shape, bytes, sameShape) {
  return {
    bytes,
    create: (buffer) => Class.create({ buffer, ...shape }),
    put: (pool) => {
      const got = Class === shm.MemoryPool ? pool.allocate(8, 0) : pool.acquire(0);
      got.view.fill(POOL_FILL);
      return got.handle;
    },
    sees: (pool, handle) => sameShape(pool) && pool.stats().held === 1 && pool.view(handle).every((b) => b === POOL_FILL),
  };
}

// A queue-like structure: the creator puts TEXT with `put`, the opener takes it with `take` from
// its reader (the handle, or a broadcast's subscriber).
function queueKind(Class, shape, put, take) {
  return {
    bytes: () => Class.bytesFor(shape.capacity, shape.messageBytes === undefined ? undefined : { messageBytes: shape.messageBytes }),
    create: (buffer) => Class.create({ buffer, ...shape }),
    put: (q) => {
      put(q, TEXT);
      return null;
    },
    sees: (q, message, reader) => q.capacity === shape.capacity &&
      (shape.messageBytes === undefined || q.messageBytes === shape.messageBytes) && take(reader) === TEXT,
  };
}

const MEMORY_CLASSES = [{ size: 16, count: 2 }, { size: 64, count: 3 }];
// A barrier of two parties, the creator and the opener: the creator arrives (waitAsync) as its
// message, the opener's wait ends the round as its leader; the creator's arrival, by handle.
const BARRIER_PARTIES = 2;
const ROUND_MS = 30000;
const rounds = new WeakMap();
const REGISTRY_ENTRIES = 16;
const REGISTRY_BYTES = 1 << 16;
const ENTRY_NAME = 'from-the-creator';
const KINDS = {
  SpscRing: queueKind(shm.SpscRing, { capacity: 1024 }, (q, m) => q.enqueue(m, 0), (q) => q.tryDequeue()),
  MpmcQueue: queueKind(shm.MpmcQueue, QUEUE, (q, m) => q.enqueue(m, 0), (q) => q.tryDequeue()),
  Channel: queueKind(shm.Channel, QUEUE, (c, m) => c.sendSync(m, 0), (c) => c.tryReceive()),
  Stack: queueKind(shm.Stack, QUEUE, (s, m) => s.push(m, 0), (s) => s.tryPop()),
  PriorityQueue: queueKind(shm.PriorityQueue, QUEUE, (q, m) => q.enqueue(m, 1, 0), (q) => q.tryDequeue()),
  Broadcast: queueKind(shm.Broadcast, QUEUE, (b, m) => b.publish(m), (sub) => sub.tryReceive()?.value),
  BufferPool: poolKind(shm.BufferPool, { blockSize: 64, blockCount: 4 }, () => shm.BufferPool.bytesFor(4, 64),
    (p) => p.blockSize === 64 && p.blockCount === 4),
  ObjectPool: poolKind(shm.ObjectPool, { recordSize: 48, capacity: 3 }, () => shm.ObjectPool.bytesFor(3, 48),
    (p) => p.recordSize === 48 && p.capacity === 3),
  MemoryPool: poolKind(shm.MemoryPool, { classes: MEMORY_CLASSES }, () => shm.MemoryPool.bytesFor(MEMORY_CLASSES),
    (p) => p.stats().classes.map((k) => k.size).join() === '16,64' && p.stats().blockCount === 5),
  // The creator holds the lock: the opener's tryLock fails on the creator's mutex only.
  Mutex: {
    bytes: () => shm.Mutex.BYTES,
    create: (buffer) => shm.Mutex.create({ buffer }),
    put: (m) => {
      m.lock();
      return null;
    },
    sees: (m) => m.tryLock() === false,
  },
  Barrier: {
    bytes: () => shm.Barrier.BYTES,
    create: (buffer) => shm.Barrier.create({ buffer, parties: BARRIER_PARTIES }),
    put: (b) => {
      rounds.set(b, b.waitAsync(ROUND_MS));
      return null;
    },
    sees: (b) => b.parties === BARRIER_PARTIES && b.wait(ROUND_MS).leader === true && b.generation === 1,
    // The creator's arrival passed with the opener's, which led the round. An opener that never
    // arrived (its open failed) left the creator's generation where it was: the creator gives up
    // its arrival by closing (which breaks the barrier; nobody else is on it), and the opener's
    // result tells what went wrong.
    settle: async (b) => {
      const round = rounds.get(b);
      if (b.generation === 0) {
        b.close();
        await round.catch(() => {});
        return;
      }
      const { leader } = await round;
      if (leader) throw new Error('the creator was told it led the round that the opener ended');
    },
  },
  Registry: {
    bytes: () => REGISTRY_BYTES,
    create: (buffer) => shm.Registry.create({ buffer, maxEntries: REGISTRY_ENTRIES }),
    put: (r) => {
      r.create('bytes', ENTRY_NAME, { size: 64 });
      return null;
    },
    sees: (r) => r.maxEntries === REGISTRY_ENTRIES && r.list().map((e) => e.name).join() === ENTRY_NAME,
  },
};

function fileOf(target) {
  return target.path !== undefined ? target.path : path.join('/dev/shm', target.name);
}

function end(handle) {
  if (handle instanceof shm.Channel) handle.dispose();
  else handle.close();
}

/** See the top of this file. A broadcast's opener subscribes before the creator publishes. */
async function openWhileCreated(kind, target, { firstBytes } = {}) {
  // go[0]: the creator is running (it sets it); go[1]: the opener is done with open() (it sets
  // it; the creator then puts its message); go[2]: the opener has checked the message (the
  // creator then closes its handle and ends).
  const go = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  const w = new Worker(CHILD, { workerData: { kind, file: fileOf(target), target, go, firstBytes } });
  const exited = new Promise((resolve, reject) => {
    w.once('exit', resolve);
    w.once('error', reject);
  });
  const put = new Promise((resolve) => w.once('message', resolve));
  const signal = (i) => {
    Atomics.store(go, i, 1);
    Atomics.notify(go, i);
  };
  if (Atomics.wait(go, 0, 0, 30000) === 'timed-out') throw new Error('the creator did not start');
  let handle = null;
  let reader = null;
  let error = null;
  try {
    handle = shm[kind].open(target);
    reader = kind === 'Broadcast' ? handle.subscribe() : handle;
  } catch (e) {
    error = e;
  }
  signal(1);
  const message = await Promise.race([put, exited]);
  const seen = handle !== null && KINDS[kind].sees(handle, message, reader);
  signal(2);
  const code = await exited;
  if (code !== 0) throw new Error(`the creator ended with exit code ${code}`);
  if (reader !== handle) reader.close();
  if (handle !== null) end(handle);
  return error !== null ? { error } : { seen };
}

module.exports = { KINDS, openWhileCreated, fileOf, end };
