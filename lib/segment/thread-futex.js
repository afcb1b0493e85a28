'use strict';
// The futex of one process's threads: Atomics.waitAsync, what the async waits use when the addon
// is absent (only threads of this process can wake it then, and a segment cannot be mapped without
// the addon anyway). Node does not count a pending Atomics.waitAsync as work of the event loop (its
// timeout is a platform task on an unreferenced timer): a thread whose only pending work is such
// a wait ends its event loop, a worker exits with the wait never settled and its registration left
// in the shared words, and the main thread's process exits. So each pending wait holds a
// referenced timer until it settles, as the addon's futex.waitAsync holds its watcher's handle.

// The longest delay setTimeout() takes: the timer is cleared when the wait settles, never fires.
const HOLD_MS = 2 ** 31 - 1;
const noop = () => {};

/**
 * Resolves 'ok', 'not-equal' or 'timed-out' as Atomics.waitAsync(i32, index, expected, ms) does
 * (expected compared as the same 32 bits), and keeps the event loop alive while it is pending.
 */
function waitAsync(i32, index, expected, ms) {
  const w = Atomics.waitAsync(i32, index, expected | 0, ms);
  if (!w.async) return Promise.resolve(w.value);
  const hold = setTimeout(noop, HOLD_MS);
  return w.value.then((r) => {
    clearTimeout(hold);
    return r;
  });
}

module.exports = { waitAsync };
