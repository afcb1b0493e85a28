'use strict';
// The seed runners of the damage fuzz tests, and their counting of what calls throw.
const { fork } = require('child_process');
const { Worker } = require('worker_threads');

// Collects the messages of `party` (a Worker, or a child process forked with IPC) running seeds
// [from, to): ends it when one seed takes longer than `seedMs`; a message with `failure` rejects
// with that text; an exit by a signal or with a failing code rejects too, naming the seed it ran.
function collect(party, end, { from, to }, seedMs) {
  return new Promise((resolve, reject) => {
    const errors = {};
    const seeds = {};
    let last = from - 1;
    let failure = null;
    let timer;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        end();
        resolve({ errors, hung: last + 1, seeds });
      }, seedMs);
    };
    arm();
    party.on('message', (m) => {
      if (m.failure !== undefined) {
        failure = m.failure;
        return;
      }
      last = m.seed;
      for (const [what, n] of Object.entries(m.errors)) errors[what] = (errors[what] || 0) + n;
      for (const [what, n] of Object.entries(m)) {
        if (what === 'seed' || what === 'errors') continue;
        seeds[what] = seeds[what] || [];
        if (n !== 0) seeds[what].push(m.seed);
      }
      arm();
    });
    party.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    party.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (failure !== null) reject(new Error(failure));
      else if (signal || code) reject(new Error(`seed ${last + 1} ended its process (${signal || `exit code ${code}`})`));
      else resolve({ errors, hung: last === to - 1 ? 0 : last + 1, seeds });
    });
  });
}

// Runs the seeds of a damage fuzz (test/70-msg/damage-fuzz.test.js, test/75-pool/damage-fuzz.test.js,
// test/80-registry/damage-fuzz.test.js) in a worker thread that posts { seed, errors, ...counts } after each seed
// and is terminated when one seed takes longer than `seedMs`. Resolves { errors, hung, seeds }:
// the errors counted over every seed, the seed that did not finish (0: none), and for each other
// count the seeds where it was not 0, as { name: [seed, ...] }.
function runSeeds(file, workerData, seedMs) {
  const w = new Worker(file, { workerData });
  return collect(w, () => w.terminate(), workerData, seedMs);
}

// As runSeeds, in a child process given `args` as JSON (its first argument), which sends the
// same messages through process.send(): a crash of native code ends the child and fails the run
// naming the seed, instead of ending the test run. `env` is added to this process's environment.
function runSeedsInChild(file, args, seedMs, env = {}) {
  const child = fork(file, [JSON.stringify(args)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } });
  return collect(child, () => child.kill('SIGKILL'), args, seedMs);
}

// The guard regions of a structure under damage: GUARD bytes of CANARY before and after the
// structure's `bytes` (its byteOffset GUARD, a multiple of 64). { buffer, where, outside() }:
// outside() counts the guard bytes that changed (a write outside the structure's region).
const CANARY = 0xa5;
function guardedRegion(bytes, GUARD) {
  const buffer = new SharedArrayBuffer(GUARD + bytes + GUARD);
  const u8 = new Uint8Array(buffer);
  u8.fill(CANARY, 0, GUARD);
  u8.fill(CANARY, GUARD + bytes);
  const outside = () => {
    let n = 0;
    for (let i = 0; i < GUARD; i++) if (u8[i] !== CANARY) n++;
    for (let i = GUARD + bytes; i < u8.length; i++) if (u8[i] !== CANARY) n++;
    return n;
  };
  return { buffer, where: { buffer, byteOffset: GUARD }, outside };
}

// Counts error `e` in `errors` by its code (or, without one, its name).
function countError(errors, e) {
  const what = e.code || e.name;
  errors[what] = (errors[what] || 0) + 1;
}

// A function that calls one of `calls`, chosen by `pick(n)`, and counts what it throws in
// `errors` (countError), passing it to `onError` too.
function randomCaller(calls, pick, errors, onError = () => {}) {
  return () => {
    try {
      calls[pick(calls.length)]();
    } catch (e) {
      countError(errors, e);
      onError(e);
    }
  };
}

module.exports = { runSeeds, runSeedsInChild, countError, randomCaller, guardedRegion };
