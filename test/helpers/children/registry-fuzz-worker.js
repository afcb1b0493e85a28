'use strict';
// The seeds [from, to) of test/80-registry/damage-fuzz.test.js, in a worker thread so that a
// call that spins for ever is ended by terminate(). Per seed: a registry at the start of a
// SharedArrayBuffer whose bytes past the registry's end (its header's endUnit) are a guard of a
// known byte pattern, a few structures made in it; 1 to 3 flipped bits anywhere from its header's
// allocator words on (the free list's head and the tail, the table lock, the entry table, the
// free records and the structures' own bytes); then 200 calls of its methods drawn at random,
// each handle they return used (every byte it hands out written) and closed. Posts { seed,
// errors, outside, overlaps } after each seed: the codes (or names) of what the calls threw,
// counted by method (and by kind, what the use of a handle threw), how many guard bytes changed
// (a write outside the registry) and how many creates got a block that overlaps a live
// structure's (whose bytes the create's zero-fill overwrote). Required from the main thread, it
// exports runSeed() to replay one seed.
const { workerData, parentPort } = require('worker_threads');
const { Registry, layout } = require('../../../index');
const { prng } = require('../prng');

const { C, S } = layout;
const WORD = Uint32Array.BYTES_PER_ELEMENT;
const MAX_ENTRIES = 8;
// The registry's bytes (a whole number of units: all of them are its own), with room for about
// two of the larger structures below: the data area fills up, and the last structure made ends
// near the registry's end, where a write past its block lands in the guard.
const BYTES = C.REGISTRY_ENTRIES_OFFSET + MAX_ENTRIES * S.REGISTRY_ENTRY.SIZE + 320 * C.UNIT;
const GUARD = 4 * C.UNIT;
const CANARY = 0xa5;
// A registry operation waits this long for a table lock that damage shows as held.
const LOCK_MS = 20;
const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'];
// The kinds made, with their creation options, and what is done with a handle of each: every
// byte it hands out written (a pool's blocks taken until none is left, a ring filled), so that a
// handle whose structure reaches past its block writes there.
const KINDS = [
  ['bytes', { size: 100 }, (h, pick) => h.fill(pick(256))],
  ['mutex', {}, (h) => h.tryLock() && h.unlock()],
  ['buffer-pool', { blockSize: 64, blockCount: 2 }, (h, pick) => {
    for (let got = h.tryAcquire(); got !== null; got = h.tryAcquire()) got.view.fill(pick(256));
  }],
  ['memory-pool', { classes: [{ size: 32, count: 2 }, { size: 100, count: 1 }] }, (h, pick) => {
    for (const { size } of h.classes) {
      for (let got = h.tryAllocate(size); got !== null; got = h.tryAllocate(size)) got.view.fill(pick(256));
    }
  }],
  ['spsc', { capacity: 64 }, (h, pick) => {
    // A message of the ring's kind (its header may say elements), as many as fit, then a few out.
    const message = () => (h.elementSize === 0 ? 'x'.repeat(pick(9)) : new Uint8Array(h.elementSize).fill(pick(256)));
    for (let i = 0; i <= h.capacity && h.tryEnqueue(message()); i++);
    for (let i = pick(h.capacity); i > 0 && h.tryDequeue() !== null; i--);
  }],
  ['waitgroup', {}, () => {}],
];

// Runs seed `seed`: { errors, outside, overlaps }. `onError(e)` sees each error thrown.
function runSeed(seed, onError = () => {}) {
  const rand = prng(seed);
  const pick = (n) => Math.floor(rand() * n);
  // Made in a buffer of its own size, then opened in a longer one holding the same bytes: the
  // registry's endUnit stays that of its own size, and the rest is the guard.
  const made = new SharedArrayBuffer(BYTES);
  Registry.create({ buffer: made, maxEntries: MAX_ENTRIES }).close();
  const buffer = new SharedArrayBuffer(BYTES + GUARD);
  const u8 = new Uint8Array(buffer);
  u8.set(new Uint8Array(made));
  u8.fill(CANARY, BYTES);
  const registry = Registry.open({ buffer, timeoutMs: LOCK_MS });
  // What each call threw, counted as '<registry method> <code or name>', and what the use of a
  // handle threw as '<kind> <code or name>'.
  const errors = {};
  const count = (where, e) => {
    const what = `${where} ${e.code || e.name}`;
    errors[what] = (errors[what] || 0) + 1;
    onError(e);
  };
  const use = (h, kind) => {
    try {
      KINDS.find(([k]) => k === kind)[2](h, pick);
    } catch (e) {
      count(kind, e);
    } finally {
      if (typeof h.close === 'function') h.close();
    }
  };
  const spec = () => KINDS[pick(KINDS.length)];
  const name = () => NAMES[pick(NAMES.length)];
  let overlaps = 0;
  // Whether the block of the structure just created as `made` overlaps another live one's.
  const overlapping = (made) => {
    const all = registry.list();
    const me = all.find((e) => e.name === made);
    return all.some((e) => e !== me && e.byteOffset < me.byteOffset + me.byteLength && me.byteOffset < e.byteOffset + e.byteLength);
  };
  const calls = [
    ['create', () => {
      const [kind, options] = spec();
      const made = name();
      use(registry.create(kind, made, options), kind);
      if (overlapping(made)) overlaps++;
    }],
    ['openOrCreate', () => {
      const [kind, options] = spec();
      use(registry.openOrCreate(kind, name(), options), kind);
    }],
    ['open', () => {
      const [kind] = spec();
      use(registry.open(kind, name()), kind);
    }],
    ['delete', () => registry.delete(name())],
    ['list', () => registry.list()],
    ['stats', () => registry.stats()],
  ];
  const call = () => {
    const [method, fn] = calls[pick(calls.length)];
    try {
      fn();
    } catch (e) {
      count(method, e);
    }
  };
  for (let i = 0; i < 8; i++) call();
  const u32 = new Uint32Array(buffer, 0, BYTES / WORD);
  // From the header's allocator words on: past the geometry and nonce, which only an open reads
  // (and checks against the checksum); the free list's head and the tail are used by every call.
  const first = (C.REGISTRY_HEADER_OFFSET + S.REGISTRY_HEADER.FREE_HEAD) / WORD;
  for (let f = 1 + pick(3); f > 0; f--) u32[first + pick(u32.length - first)] ^= 1 << pick(32);
  for (let i = 0; i < 200; i++) call();
  registry.close();
  let outside = 0;
  for (let i = BYTES; i < u8.length; i++) if (u8[i] !== CANARY) outside++;
  return { errors, outside, overlaps };
}

if (parentPort !== null && workerData !== null) {
  const { from, to } = workerData;
  for (let seed = from; seed < to; seed++) parentPort.postMessage({ seed, ...runSeed(seed) });
}

module.exports = { runSeed };
