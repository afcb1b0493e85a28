'use strict';
// Child process and worker thread of the registry tests (test/80-registry/). Usage:
//   node registry-child.js race <registry> <k> [open-or-create]
//       opens the registry (a segment name), waits for the 'go' word, then gets the mutex 'lock'
//       and the store 'counter' by name (create, or open after ERR_EXISTS; or openOrCreate) and
//       adds 1 to the store's key 'n' k times holding the mutex. Prints one JSON line:
//       { created: [names it created], lockAt: the mutex's byteOffset }.
//   node registry-child.js churn <registry> <seed>
//       creates and deletes structures of every kind under a few names, forever (to be killed).
//   node registry-child.js hold <registry> <kind> <name>
//       opens the structure (and locks it, a mutex), prints "held" and waits to be killed.
//   node registry-child.js create-stall <registry> segment-made|holding-lock
//       creates the registry (a segment name) and stops, printing "stalled", where a creator is
//       killed before its header exists: once the segment is made (before it takes the table
//       lock), or holding the lock before it writes the header. Waits there to be killed.
//   node registry-child.js stall <registry> create|delete
//       creates, or deletes, the structure 'stalled' of the test kind 'stall', whose init and
//       discard print "stalled" and never return: the process is killed in the middle.
// As a worker, workerData is { mode, name | buffer, k, openOrCreate, seed, kinds } and the JSON line is
// posted; 'go' lives in the registry as a 'bytes' structure made by the parent.
const { isMainThread, parentPort, workerData } = require('worker_threads');
const { Registry } = require('../../../index');
const { KINDS } = require('../../../lib/registry/kinds');
const { sleepMs } = require('../../../lib/base/process');
const { Mutex } = require('../../../lib/sync/mutex');
const { Segment } = require('../../../lib/segment/segment');

const STORE_BYTES = 1 << 19;

function getOrMake(registry, kind, name, options, openOrCreate, created) {
  if (openOrCreate) return registry.openOrCreate(kind, name, options);
  try {
    const h = registry.create(kind, name, options);
    created.push(name);
    return h;
  } catch (e) {
    if (e.code !== 'ERR_EXISTS') throw e;
    return registry.open(kind, name);
  }
}

function race(registry, k, openOrCreate) {
  const words = registry.open('bytes', 'go');
  const go = new Int32Array(words.buffer, words.byteOffset, 2);
  Atomics.add(go, 1, 1); // ready
  const deadline = Date.now() + 60000;
  while (Atomics.load(go, 0) === 0) {
    if (Date.now() > deadline) throw new Error('never told to go');
  }
  const created = [];
  const lock = getOrMake(registry, 'mutex', 'lock', undefined, openOrCreate, created);
  const store = getOrMake(registry, 'store', 'counter', { size: STORE_BYTES }, openOrCreate, created);
  for (let i = 0; i < k; i++) {
    lock.lock(60000);
    const n = store.get('c', 'n') || 0; // a read then a write: only the mutex keeps them apart
    store.set('c', 'n', n + 1);
    lock.unlock();
  }
  return { created, lockAt: lock.byteOffset };
}

// Random creates and deletes under 6 names; the errors that other churners cause are expected.
// `kinds` lists the kinds created (a store needs a registry on a segment).
function churn(registry, seed, kinds) {
  let x = seed >>> 0 || 1;
  const rand = (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
  const make = {
    mutex: (name) => registry.create('mutex', name).close(),
    bytes: (name) => registry.create('bytes', name, { size: 1 + rand(2000) }),
    store: (name) => registry.create('store', name, { size: STORE_BYTES }).close(),
  };
  const expected = new Set(['ERR_EXISTS', 'ERR_NOT_FOUND', 'ERR_IN_USE', 'ERR_REGISTRY_FULL', 'ERR_KIND_MISMATCH']);
  for (;;) {
    const name = `n${rand(6)}`;
    const op = rand(kinds.length + 1);
    try {
      if (op < kinds.length) make[kinds[op]](name);
      else registry.delete(name);
    } catch (e) {
      if (!expected.has(e.code)) throw e;
    }
  }
}

// A kind whose init and discard never return: the test kills the process while it waits there.
function stallKind(say) {
  const stall = () => {
    say('stalled');
    for (;;) sleepMs(1000);
  };
  return { ...KINDS.bytes, createOptions: [], check() {}, bytes: () => 1, params: () => [], init: stall, discard: stall };
}

// Registry.create() of the segment `name`, stopped at `point` for ever (interposed: the creation
// of the segment, once made, or the table lock's lock, once taken).
function createStall(name, point, say) {
  const stall = () => {
    say('stalled');
    for (;;) sleepMs(1000);
  };
  if (point === 'segment-made') {
    const { create } = Segment;
    Segment.create = (...args) => {
      create.apply(Segment, args);
      stall();
    };
  } else {
    const { lock } = Mutex.prototype;
    Mutex.prototype.lock = function (...args) {
      lock.apply(this, args);
      stall();
    };
  }
  Registry.create({ name, size: 1 << 16, maxEntries: 8 });
}

function run(data, say) {
  if (data.mode === 'create-stall') return createStall(data.name, data.op, say);
  const target = data.name !== undefined ? { name: data.name } : { buffer: data.buffer };
  const registry = Registry.open(target);
  if (data.mode === 'race') {
    say(JSON.stringify(race(registry, data.k, data.openOrCreate)));
    registry.close();
  } else if (data.mode === 'churn') {
    say('ready');
    churn(registry, data.seed, data.kinds || ['mutex', 'bytes', 'store']);
  } else if (data.mode === 'hold') {
    const handle = registry.open(data.kind, data.structure);
    if (data.kind === 'mutex') handle.lock();
    say('held');
    setInterval(() => {}, 1000);
  } else if (data.mode === 'stall') {
    KINDS.stall = stallKind(say);
    if (data.op === 'create') registry.create('stall', 'stalled');
    else registry.delete('stalled');
  } else {
    throw new Error(`unknown mode ${data.mode}`);
  }
  return undefined;
}

if (isMainThread) {
  const [mode, name, arg, extra] = process.argv.slice(2);
  run({ mode, name, k: Number(arg), seed: Number(arg), op: arg, openOrCreate: extra === 'open-or-create', kind: arg,
    structure: extra },
    (line) => process.stdout.write(`${line}\n`));
} else {
  run(workerData, (line) => parentPort.postMessage(line));
}
