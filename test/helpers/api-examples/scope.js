'use strict';
// What a block of docs/api.md has in scope when its examples test
// (test/00-repo/api-examples.test.js) runs it, before the section's prelude and the earlier
// blocks add their names: the package's exports, the helpers the examples call and leave to the
// reader (recorded in ctx.calls), a console whose lines go to ctx.logs, and a require() that
// gives the examples' worker_threads and http in a form the test can follow. withStop() gives a
// block that loops for ever a helper that ends it.
const assert = require('assert');
const http = require('http');
const workerThreads = require('worker_threads');
const shmstore = require('../../..');

// What a helper withStop() made throws at its last call; the block it ends counts as returned.
class StopLoop extends Error {}

// A helper that records its calls in ctx.calls[name] (for a check after the block), then does impl.
const recorder = (ctx, name, impl = () => undefined) => {
  ctx.calls[name] = [];
  return (...args) => {
    ctx.calls[name].push(args);
    return impl(...args);
  };
};

/** The names every block of a section has in scope before its prelude and the blocks add theirs. */
function baseScope(ctx) {
  // A worker the examples start gets the SharedArrayBuffer it shares: this thread plays the
  // worker (worker_threads.workerData is what was posted last).
  class Worker {
    constructor(file, options = {}) {
      const data = options.workerData;
      const shared = (x) => x instanceof SharedArrayBuffer || (x !== null && typeof x === 'object' && Object.values(x).some(shared));
      assert.ok(shared(data), `new Worker(${file}): the worker is given no SharedArrayBuffer`);
      ctx.posted.push(data);
    }

    on() { return this; }

    terminate() { return Promise.resolve(0); }
  }
  const fakeWorkerThreads = { ...workerThreads, Worker, get workerData() { return ctx.posted.at(-1); } };
  const trackedHttp = { ...http, createServer: (...a) => ctx.servers[ctx.servers.push(http.createServer(...a)) - 1] };
  const docRequire = (id) => {
    if (id === 'worker_threads') return fakeWorkerThreads;
    if (id === 'http') return trackedHttp;
    return require(id);
  };
  const log = (...args) => { ctx.logs.push(args); };
  const helpers = {};
  // The helpers the examples call and leave to the reader.
  for (const name of ['repair', 'work', 'read', 'write', 'writeAll', 'handle', 'handleFrame', 'runOnGpu', 'simulate',
    'publish', 'retryLater']) {
    helpers[name] = recorder(ctx, name);
  }
  helpers.load = recorder(ctx, 'load', () => 'loaded');
  return {
    ...shmstore,
    ...helpers,
    require: docRequire,
    Worker,
    console: { log, info: log, warn: log, error: log },
    // An interval an example starts is cleared when the block ends, then its callback runs once.
    setInterval: (fn, ms, ...args) => {
      const t = setInterval(fn, ms, ...args);
      ctx.intervals.push({ t, fn, args });
      return t;
    },
  };
}

/** The scope with its helper `name` (console.log: a member) throwing StopLoop at its nth call. */
function withStop(scope, [name, n], ctx) {
  const [top, member] = name.split('.');
  const inner = member ? scope[top][member] : scope[top];
  let calls = 0;
  const stopping = (...args) => {
    inner(...args);
    calls += 1;
    if (calls === n) {
      ctx.stopped = true;
      throw new StopLoop(`${name} call ${n}`);
    }
  };
  return { ...scope, [top]: member ? { ...scope[top], [member]: stopping } : stopping };
}

module.exports = { baseScope, withStop, StopLoop };
