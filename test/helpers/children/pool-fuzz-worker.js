'use strict';
// The seeds [from, to) of test/75-pool/damage-fuzz.test.js for one kind of pool, in a worker
// thread so that a call that spins for ever is ended by terminate(). Per seed: a pool at an
// offset of a SharedArrayBuffer, between two guard regions of a known byte pattern, with a second
// handle on it and a few blocks taken; 1 to 3 flipped bits anywhere past its header (and in a
// quarter of a memory pool's seeds one more in its class table); then 200
// calls of the non-blocking methods of both handles (and of a handle opened after the damage)
// drawn at random, every view handed out filled to its last byte. Posts { seed, errors, outside }
// after each seed: the codes (or names) of what the calls threw, counted, and how many guard
// bytes changed (a write outside the pool's region). Required from the main thread, it exports
// runSeed() to replay one seed.
const { workerData, parentPort } = require('worker_threads');
const { BufferPool, ObjectPool, MemoryPool, layout } = require('../../../index');
const { prng } = require('../prng');
const { randomCaller, countError, guardedRegion } = require('../fuzz');

const { C, S } = layout;
const WORD = Uint32Array.BYTES_PER_ELEMENT;
// The guard regions before and after the pool (the pool's byteOffset is GUARD: a multiple of 64).
const GUARD = 4 * C.UNIT;
const BLOCKS = 6;
const CLASSES = [{ size: 40, count: 3 }, { size: 200, count: 2 }, { size: 1000, count: 2 }];
// The words of a memory pool's class table (its used slots and some of the unused ones).
const TABLE = C.POOL_CLASSES_OFFSET / WORD;
const TABLE_WORDS = (CLASSES.length + 1) * S.POOL_CLASS.SIZE / WORD;

// The pool of `kind`: its class, the options of its shape and the bytes it takes.
function shapeOf(kind) {
  if (kind === 'buffer-pool') return { Class: BufferPool, shape: { blockSize: 100, blockCount: BLOCKS }, bytes: BufferPool.bytesFor(BLOCKS, 100) };
  if (kind === 'object-pool') return { Class: ObjectPool, shape: { recordSize: 24, capacity: BLOCKS }, bytes: ObjectPool.bytesFor(BLOCKS, 24) };
  return { Class: MemoryPool, shape: { classes: CLASSES }, bytes: MemoryPool.bytesFor(CLASSES) };
}

// The pool of `kind` in `buffer` and the calls drawn on it.
function make(kind, buffer, pick) {
  const { Class, shape } = shapeOf(kind);
  const where = { buffer, byteOffset: GUARD };
  const pool = Class.create({ ...where, ...shape });
  const other = Class.open(where);
  const handles = [];
  const memory = kind === 'memory-pool';
  const fill = (view) => view.fill(pick(256));
  // A word at any offset of an object pool's record (the user's bytes), through its DataView.
  const poke = (data) => {
    const at = pick(data.byteLength - WORD + 1);
    data.setUint32(at, pick(0xffffffff), true);
  };
  const either = () => (pick(2) ? pool : other);
  // A handle taken before (most often), or any number.
  const handle = () => (handles.length > 0 && pick(8) !== 0 ? handles[pick(handles.length)] : 1 + pick(0xffffffff));
  const got = (g) => {
    if (g === null) return;
    handles.push(g.handle);
    fill(g.view);
    if (g.data) poke(g.data);
  };
  const take = (p) => (memory ? p.tryAllocate(1 + pick(p.maxSize)) : p.tryAcquire());
  const acquire = (p) => (memory ? p.allocate(1 + pick(p.maxSize), 0) : p.acquire(0));
  const release = (p, h) => (memory ? p.free(h) : p.release(h));
  const calls = [
    () => got(take(either())),
    () => got(acquire(either())),
    () => {
      const h = handle();
      release(either(), h);
      if (handles.includes(h)) handles.splice(handles.indexOf(h), 1);
    },
    () => fill(either().view(handle())),
    () => fill(either().take(handle())),
    () => either().reclaim(),
    () => either().stats(),
    () => {
      // A handle opened after the damage, whose blocks are written to their last byte too. A
      // memory pool's opener lays the blocks out from the class table: the shape checksum
      // (format.md §17) refuses a damaged one (ERR_CORRUPT), which would put them elsewhere,
      // outside the region too.
      const third = Class.open(where);
      try {
        got(take(third));
      } finally {
        third.close();
      }
    },
  ];
  if (kind === 'object-pool') calls.push(() => poke(either().data(handle())));
  return { calls, close: () => [pool, other].forEach((p) => p.close()) };
}

// Runs seed `seed` of `kind`: { errors, outside }. `onError(e)` sees each error thrown.
function runSeed(kind, seed, onError = () => {}) {
  const rand = prng(seed);
  const pick = (n) => Math.floor(rand() * n);
  const { bytes } = shapeOf(kind);
  const { buffer, outside } = guardedRegion(bytes, GUARD);
  const { calls, close } = make(kind, buffer, pick);
  const errors = {};
  const call = randomCaller(calls, pick, errors, onError);
  for (let i = 0; i < 5; i++) call();
  const u32 = new Uint32Array(buffer, GUARD, bytes / WORD);
  const first = (C.POOL_HEADER_OFFSET + S.POOL_HEADER.SIZE) / WORD; // past the header: its magic and shape
  for (let f = 1 + pick(3); f > 0; f--) u32[first + pick(u32.length - first)] ^= 1 << pick(32);
  // A memory pool's class table is a sliver of its region: in a quarter of its seeds one more bit
  // is flipped there, where damage once made a later open lay its blocks out past the region.
  if (kind === 'memory-pool' && pick(4) === 0) u32[TABLE + pick(TABLE_WORDS)] ^= 1 << pick(32);
  for (let i = 0; i < 200; i++) call();
  // Closing frees the handles' blocks and owner records (and ends the addon's watch of them).
  try {
    close();
  } catch (e) {
    countError(errors, e);
    onError(e);
  }
  return { errors, outside: outside() };
}

if (parentPort !== null && workerData !== null) {
  const { kind, from, to } = workerData;
  for (let seed = from; seed < to; seed++) parentPort.postMessage({ seed, ...runSeed(kind, seed) });
}

module.exports = { runSeed };
