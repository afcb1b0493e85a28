'use strict';
// What the tests of handles' pending Promise-form calls (sync objects, pools) observe: the
// process's thread count while thousands of calls are pending, which calls have settled after a
// turn of the event loop, and promises kept from counting as unhandled rejections meanwhile.
const fs = require('fs');

const threads = () => fs.readdirSync('/proc/self/task').length;
const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The most threads this process had over a few looks while its calls are pending (a handle's
// waiting loop sleeps within a recheck period of its first call).
async function mostThreads() {
  let most = threads();
  for (let i = 0; i < 4; i++) {
    await sleep(30);
    most = Math.max(most, threads());
  }
  return most;
}

// Which of `promises` have settled after the microtasks and one turn of the event loop (the
// waiting loop's sleep lasts up to a recheck period: a call it settles is not settled by then).
async function settledNow(...promises) {
  const settled = promises.map(() => false);
  promises.forEach((p, i) => p.then(() => { settled[i] = true; }, () => { settled[i] = true; }));
  await tick();
  return settled;
}

// Settles like `p` without counting as an unhandled rejection meanwhile.
const handled = (p) => { p.catch(() => {}); return p; };

module.exports = { threads, tick, sleep, mostThreads, settledNow, handled };
