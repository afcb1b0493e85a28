'use strict';
// `shmstore verify <store>`: store.verify(); exit 2 when the store is damaged.
const { EXIT, printJson, fields } = require('./output');
const { targetOf, describe, withStore } = require('./target');
const { Progress } = require('./progress');

// store.verify() in a worker thread while this thread draws its progress on stderr: the worker's
// verify() keeps two shared words at [work done, work in all] (docs/api.md, store.verify()), from
// which the line shows a bar, the percentage and an ETA once the check has started.
function verifyWithProgress(target) {
  const { Worker } = require('worker_threads');
  const words = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  const progress = new Progress(`verify ${describe(target)}`, null);
  const timer = setInterval(() => {
    const total = Atomics.load(words, 1);
    if (total > 0) {
      progress.total = total;
      progress.done = Atomics.load(words, 0);
    }
    progress.add(0);
  }, 100);
  return new Promise((resolve, reject) => {
    const worker = new Worker(require.resolve('./verify-worker'), { workerData: { target, words } });
    worker.once('message', ({ report, error }) => {
      if (report) resolve(report);
      else reject(Object.assign(new Error(error.message), { code: error.code }));
    });
    worker.once('error', reject);
    worker.once('exit', () => reject(new Error('verify: the verifying thread ended without a report')));
  }).finally(() => {
    clearInterval(timer);
    progress.end();
  });
}

/** Prints a verify() report; returns the exit code it means. */
function report(r, flags) {
  if (flags.json) printJson(r);
  else {
    for (const e of r.errors) process.stdout.write(`error: ${e}\n`);
    process.stdout.write(fields([['status', r.ok ? 'ok' : `damaged (${r.errors.length} problem(s))`],
      ['entries', r.entries], ['liveUnits', r.liveUnits], ['freeUnits', r.freeUnits], ['leakedUnits', r.leakedUnits],
      ['parkedUnits', r.parkedUnits]]));
  }
  return r.ok ? EXIT.OK : EXIT.DAMAGED;
}

module.exports = {
  usage: 'verify <store> [--path] [--json]',
  summary: 'check the whole structure; exit 2 and list the problems when damaged',
  help: 'When stderr is a terminal, a progress line (bar, percentage, ETA) is shown on it while the\n' +
    'check runs.',
  report,
  run({ positional, flags }) {
    const target = targetOf(positional[0], flags);
    if (process.stderr.isTTY === true) return verifyWithProgress(target).then((r) => report(r, flags));
    return withStore(target, {}, (store) => report(store.verify(), flags));
  },
};
