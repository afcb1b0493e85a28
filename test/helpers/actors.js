'use strict';
// Runs test/helpers/children/store-actor.js as a worker thread or a child process.
const path = require('path');
const { Worker } = require('worker_threads');
const { fork } = require('child_process');

const ACTOR = path.join(__dirname, 'children', 'store-actor.js');

// Resolves with the actor's result; onMessage sees every intermediate announcement.
function inWorker(task, onMessage = () => {}) {
  const worker = new Worker(ACTOR, { workerData: task });
  const done = new Promise((resolve, reject) => {
    worker.on('message', (m) => (m.result ? resolve(m.result) : onMessage(m, worker)));
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`worker exited with ${code} before reporting`)));
  });
  return { worker, done };
}

function inProcess(task, onMessage = () => {}) {
  const child = fork(ACTOR, [JSON.stringify(task)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const done = new Promise((resolve, reject) => {
    let result;
    child.on('message', (m) => (m.result ? (result = m.result) : onMessage(m, child)));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
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

module.exports = { inWorker, inProcess, announced };
