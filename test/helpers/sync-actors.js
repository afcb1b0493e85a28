'use strict';
// Workers and child processes running test/helpers/children/sync-child.js (not a test file).
const path = require('path');
const { spawn } = require('child_process');
const { Worker } = require('worker_threads');

const CHILD = path.join(__dirname, 'children', 'sync-child.js');
// Every actor is killed after this long: a test that would hang fails instead.
const ACTOR_LIMIT_MS = 60000;

/**
 * Starts one actor: a worker ({ buffer }) or a child process ({ name }) running `mode` with
 * `args`. Returns { kill(), lines: async iterator of what it says, next(): the next line,
 * exited: Promise of the exit code or signal }.
 */
function actor(mode, where, args = {}) {
  const queue = [];
  const takers = [];
  const push = (line) => {
    if (takers.length) takers.shift()(line);
    else queue.push(line);
  };
  let kill;
  let exited;
  if (where.buffer) {
    const w = new Worker(CHILD, { workerData: { mode, buffer: where.buffer, args } });
    w.on('message', push);
    w.on('error', (e) => push(`error: ${e.stack || e.message}`));
    exited = new Promise((resolve) => w.once('exit', resolve));
    kill = () => w.terminate();
  } else {
    const child = spawn(process.execPath, [CHILD, mode, where.name, JSON.stringify(args)],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      let i;
      while ((i = out.indexOf('\n')) >= 0) {
        push(out.slice(0, i));
        out = out.slice(i + 1);
      }
    });
    child.stderr.on('data', (d) => { err += d; });
    exited = new Promise((resolve) => child.once('close', (code, signal) => {
      if (code) push(`error: exit ${code}: ${err}`);
      resolve(signal || code);
    }));
    kill = () => child.kill('SIGKILL');
  }
  const limit = setTimeout(kill, ACTOR_LIMIT_MS);
  exited.then((how) => {
    clearTimeout(limit);
    push(`exited: ${how}`); // after every line it said: a waiter on next() never hangs
  });
  const next = () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => takers.push(r)));
  return { kill, next, exited };
}

/** Waits for every actor to say `line`; throws with what one said instead. */
async function allSay(actors, line) {
  for (const a of actors) {
    const said = await a.next();
    if (said !== line) throw new Error(`an actor said ${JSON.stringify(said)} instead of ${JSON.stringify(line)}`);
  }
}

module.exports = { actor, allSay };
