'use strict';
// The seeds [from, to) of test/60-sync/damage-fuzz.test.js for one kind of sync object, in a
// worker thread so that a call that spins for ever is ended by terminate(). Per seed: the object
// at an offset of a SharedArrayBuffer, between two guard regions of a known byte pattern, with two
// handles (and, for the mutex, a native handle of the addon's when it is built) driven into a
// random state (locks held, permits taken, parties arrived, tasks added); 1 to 3 flipped bits
// anywhere in its region (header, record, owner table, per-slot tables), half of them in the
// header and record; then 200 calls drawn at
// random of its non-blocking methods, its blocking ones with a timeout of 0 or 1 ms, its getters,
// and an open and close of a third handle. Then every handle is closed and the kind's invariant
// is checked on handles opened afresh (kinds.js). Posts { seed, errors, outside, slow, broken }
// after each seed: the codes (or names) of what the calls threw, counted; how many guard bytes
// changed (a write outside the region); how many calls took longer than SLOW_MS; how many checks
// of the invariant failed. Required from the main thread, it exports runSeed() to replay a seed.
const { workerData, parentPort } = require('worker_threads');
const { layout } = require('../../../index');
const { prng } = require('../prng');
const { countError, guardedRegion } = require('../fuzz');
const { KINDS } = require('./sync-fuzz-kinds');

const { C, S } = layout;
const WORD = Uint32Array.BYTES_PER_ELEMENT;
// The guard regions before and after the object (its byteOffset is GUARD: a multiple of 64).
const GUARD = 4 * C.UNIT;
// A call bounded by a timeout of at most 1 ms (or none) that takes this long has waited on
// something it should not have (a guard's 10 s limit, a recheck that never ends).
const SLOW_MS = 1000;
const CALLS = 200;

// Runs seed `seed` of `kind`: { errors, outside, slow, broken }. `onError(e)` sees each error.
function runSeed(kind, seed, onError = () => {}) {
  const rand = prng(seed);
  const pick = (n) => Math.floor(rand() * n);
  const { bytes, make } = KINDS[kind];
  const { buffer, where, outside } = guardedRegion(bytes, GUARD);
  const errors = {};
  let slow = 0;
  const attempt = (fn) => {
    const start = performance.now();
    try {
      fn();
    } catch (e) {
      countError(errors, e);
      onError(e);
    }
    if (performance.now() - start > SLOW_MS) slow++;
  };
  const object = make(where, pick);
  const call = () => attempt(object.calls[pick(object.calls.length)]);
  for (let i = 0; i < 5; i++) call();
  const u32 = new Uint32Array(buffer, GUARD, bytes / WORD);
  // Half the flips land in the header and the record, the words every call reads; the others
  // anywhere (mostly the owner table and the per-slot tables).
  const record = (C.SYNC_STATE_OFFSET + S.MUTEX_STATE.SIZE) / WORD; // every kind's record has its size
  for (let f = 1 + pick(3); f > 0; f--) u32[pick(pick(2) === 0 ? record : u32.length)] ^= 1 << pick(32);
  for (let i = 0; i < CALLS; i++) call();
  attempt(() => object.close());
  // What must hold once the handles that saw the damage are gone: `check` returns how many of
  // its checks failed (errors it throws are counted like the calls').
  let broken = 0;
  attempt(() => {
    broken = object.check(where);
  });
  return { errors, outside: outside(), slow, broken };
}

if (parentPort !== null && workerData !== null) {
  const { kind, from, to } = workerData;
  for (let seed = from; seed < to; seed++) parentPort.postMessage({ seed, ...runSeed(kind, seed) });
}

module.exports = { runSeed, GUARD };
