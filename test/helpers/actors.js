'use strict';
// Runs test/helpers/children/store-actor.js as a worker thread or a child process, or one store
// method in a worker with a deadline.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Worker } = require('worker_threads');
const { fork } = require('child_process');

const ACTOR = path.join(__dirname, 'children', 'store-actor.js');

// Resolves with the actor's result; onMessage sees every intermediate announcement. `script`:
// another actor of test/helpers/children/ with the same protocol (serveActor below).
function inWorker(task, onMessage = () => {}, script = ACTOR) {
  const worker = new Worker(script, { workerData: task });
  const done = new Promise((resolve, reject) => {
    worker.on('message', (m) => (m.result ? resolve(m.result) : onMessage(m, worker)));
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`worker exited with ${code} before reporting`)));
  });
  return { worker, done };
}

// `script`: another actor of test/helpers/children/ with the same protocol (evict-actor.js).
function inProcess(task, onMessage = () => {}, script = ACTOR) {
  const child = fork(script, [JSON.stringify(task)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const done = new Promise((resolve, reject) => {
    let result;
    child.on('message', (m) => (m.result ? (result = m.result) : onMessage(m, child)));
    child.on('error', reject);
    // 'close', not 'exit': 'exit' may come before the last messages of the channel are read,
    // and a child that sent its result then exited would be taken for one that sent none.
    child.on('close', (code, signal) => {
      if (code === 0 && result) resolve(result);
      else reject(new Error(`child exited with ${code ?? signal}`));
    });
  });
  return { child, done };
}

// Resolves when the actor announces a message for which pred(m) is true.
function announced() {
  let resolveIt;
  const p = new Promise((r) => (resolveIt = r));
  return { promise: p, onMessage: (m, who) => resolveIt({ m, who }) };
}

// Runs store[method](...args) in a worker attached to `buffer` with `engine`, and resolves with
// { value } or { error: { code, message } }; rejects when it does not return within `ms` (a loop
// that never ends), after terminating the worker.
function inWorkerWithin(ms, engine, buffer, method, args) {
  const code = `
    const { workerData, parentPort } = require('worker_threads');
    const { Store } = require(workerData.lib);
    const s = Store.attach(workerData.buffer, { engine: workerData.engine });
    let r;
    try { r = { value: s[workerData.method](...workerData.args) }; }
    catch (e) { r = { error: { code: e.code, message: e.message } }; }
    s.close();
    parentPort.postMessage(r);`;
  const w = new Worker(code, {
    eval: true,
    workerData: { lib: path.join(__dirname, '..', '..', 'lib', 'store', 'store.js'), engine, buffer, method, args },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      w.terminate();
      reject(new Error(`${method} did not return within ${ms} ms`));
    }, ms);
    w.once('message', (m) => {
      clearTimeout(timer);
      resolve(m);
    });
    w.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

// The body of an actor script run by inWorker or inProcess: takes the task (argv[2] in a child
// process, workerData in a worker), opens the store it names (task.name) or attaches to its
// buffer (task.buffer), runs ops[task.op](store, task, announce) and reports the result.
function serveActor(ops) {
  const { isMainThread, workerData, parentPort } = require('worker_threads');
  const { Store } = require('../../lib/store/store');
  const run = (task, announce) => {
    const store = task.buffer
      ? Store.attach(task.buffer, { engine: task.engine, lockTimeoutMs: task.lockTimeoutMs })
      : Store.open({ name: task.name, engine: task.engine, lockTimeoutMs: task.lockTimeoutMs });
    try {
      return ops[task.op](store, task, announce);
    } finally {
      store.close();
    }
  };
  if (isMainThread) {
    const task = JSON.parse(process.argv[2]);
    const result = run(task, (m) => process.send(m));
    process.send({ result }, () => process.exit(0));
  } else {
    parentPort.postMessage({ result: run(workerData, (m) => parentPort.postMessage(m)) });
  }
}

/**
 * Rounds of kill -9 of an actor process that acknowledges keys in a record file as it goes (the
 * expected-values record): each round runs `task` (with `record` set) in a child process of
 * `script`, waits for its announcement, lets it run 10 ms plus up to `maxDelayMs` more, kills it
 * with SIGKILL, then calls `check(acked)` with the keys the record holds (at least one).
 */
async function killRounds(task, script, dir, { rounds = 3, maxDelayMs, check }) {
  for (let round = 0; round < rounds; round++) {
    const record = path.join(dir, `acked-${round}`);
    const a = announced();
    const { child, done } = inProcess({ ...task, record }, a.onMessage, script);
    await a.promise;
    await new Promise((r) => setTimeout(r, 10 + Math.floor(Math.random() * maxDelayMs)));
    child.kill('SIGKILL');
    await assert.rejects(done, /SIGKILL/);
    const acked = fs.readFileSync(record, 'utf8').split('\n').filter(Boolean);
    assert.ok(acked.length > 0);
    await check(acked);
  }
}

module.exports = { inWorker, inProcess, announced, inWorkerWithin, serveActor, killRounds };
