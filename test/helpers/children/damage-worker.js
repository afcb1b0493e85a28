'use strict';
// Runs one damaged-bytes case of test/70-msg/damaged.test.js (of its `set`: cases, healed) in a worker thread, so that a call
// that spins forever is ended by terminate() instead of hanging the test run. Posts
// { code, message } of what the call threw (or its Promise rejected with), with `received` when
// the error carries it, or { returned } when it returned.
const { workerData, parentPort } = require('worker_threads');
const sets = require('../../70-msg/damaged-cases');

const run = sets[workerData.set || 'cases'][workerData.name];
(async () => {
  try {
    const returned = await run();
    parentPort.postMessage({ returned: String(returned) });
  } catch (e) {
    parentPort.postMessage({ code: e.code, name: e.name, message: e.message, ...(e.received === undefined ? {} : { received: e.received }) });
  }
})();
