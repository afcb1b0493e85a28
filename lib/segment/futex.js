'use strict';
// Cross-process futex on one 32-bit word of a SharedArrayBuffer (a Segment's buffer, usually).
// Atomics.wait/notify are emulated per process by V8: they neither block across processes nor
// see these waiters. These use the shared (non-FUTEX_PRIVATE) Linux futex, so any process that
// maps the same segment can wake a waiter.
//
// As with any futex, a wait can return 'ok' without a matching wake (rarely): always re-check
// the word in a loop.
const { requireAddon } = require('../base/native');
const v = require('../base/validate');

function checkWord(int32Array, index) {
  v.validateSharedInt32Array(int32Array, 'int32Array');
  v.validateIndex(index, 'index', int32Array.length);
}

function checkWait(int32Array, index, expected, timeoutMs) {
  checkWord(int32Array, index);
  // Compared as the same 32 bits: -1 and 0xffffffff are the same expected value.
  v.validateInteger(expected, 'expected', -(2 ** 31), 2 ** 32 - 1);
  if (timeoutMs !== undefined) v.validateNumber(timeoutMs, 'timeoutMs', { min: 0, allowInfinity: true });
}

/**
 * Blocks the calling thread while int32Array[index] === expected, until woken by wake() from
 * any thread or process, or until timeoutMs (default: forever) passes.
 * @returns {'ok'|'not-equal'|'timed-out'}
 */
function wait(int32Array, index, expected, timeoutMs) {
  checkWait(int32Array, index, expected, timeoutMs);
  return requireAddon().futexWait(int32Array, index, expected, timeoutMs);
}

/**
 * Like wait() without blocking: a few watcher threads (futex_waitv, up to 127 waits each; a
 * thread per wait on kernels without it) wait for every pending wait. 'not-equal' only when the
 * word differed at the call; a word changed later settles as 'ok'. The promise keeps the event
 * loop alive while pending. A worker that is terminated (or a process that exits) while waits
 * are pending does not hang: they are cancelled and their promises never settle. A Segment
 * closed in this thread that releases its pages (segment.close()) rejects the waits pending on
 * them with ShmError ERR_CLOSED.
 * @returns {Promise<'ok'|'not-equal'|'timed-out'>}
 */
function waitAsync(int32Array, index, expected, timeoutMs) {
  checkWait(int32Array, index, expected, timeoutMs);
  return requireAddon().futexWaitAsync(int32Array, index, expected, timeoutMs);
}

/**
 * Wakes up to `count` (default: all) waiters on int32Array[index], in any process.
 * @returns {number} how many were woken
 */
function wake(int32Array, index, count) {
  checkWord(int32Array, index);
  if (count !== undefined && count !== Infinity) v.validateInteger(count, 'count', 0);
  return requireAddon().futexWake(int32Array, index, count);
}

module.exports = { wait, waitAsync, wake };
