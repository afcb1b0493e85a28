'use strict';
// Runs the seeds of a damage fuzz (test/70-msg/damage-fuzz.test.js, test/75-pool/damage-fuzz.test.js,
// test/80-registry/damage-fuzz.test.js) in a worker thread that posts { seed, errors, ...counts } after each seed
// and is terminated when one seed takes longer than `seedMs`. Resolves { errors, hung, seeds }:
// the errors counted over every seed, the seed that did not finish (0: none), and for each other
// count the seeds where it was not 0, as { name: [seed, ...] }.
const { Worker } = require('worker_threads');

function runSeeds(file, workerData, seedMs) {
  const { from, to } = workerData;
  return new Promise((resolve, reject) => {
    const w = new Worker(file, { workerData });
    const errors = {};
    const seeds = {};
    let last = from - 1;
    let timer;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        w.terminate();
        resolve({ errors, hung: last + 1, seeds });
      }, seedMs);
    };
    arm();
    w.on('message', (m) => {
      last = m.seed;
      for (const [what, n] of Object.entries(m.errors)) errors[what] = (errors[what] || 0) + n;
      for (const [what, n] of Object.entries(m)) {
        if (what === 'seed' || what === 'errors') continue;
        seeds[what] = seeds[what] || [];
        if (n !== 0) seeds[what].push(m.seed);
      }
      arm();
    });
    w.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    w.once('exit', () => {
      clearTimeout(timer);
      resolve({ errors, hung: last === to - 1 ? 0 : last + 1, seeds });
    });
  });
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

module.exports = { runSeeds, countError, randomCaller };
