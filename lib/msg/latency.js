'use strict';
// Opt-in latency histograms of a queue handle (docs/api.md, "Queue latency"): the store's
// mechanism (lib/store/latency.js) over the queue's own operations. Enabling puts timed copies of
// the methods on the instance; a handle without latency runs its class's methods untouched, and
// recording writes only this thread's heap, never the shared region. Promise forms are timed
// until they settle, so their figures include the wait for a message or for room.
const { latencyFor, installLatency } = require('../store/latency');

/**
 * Gives `Class` enableLatency(), disableLatency(), latencyEnabled, latency({ reset }), the static
 * mergeLatency(snapshots) and LATENCY_OPS, timing the synchronous methods `kinds` and the
 * Promise-returning methods `asyncKinds`.
 */
function addLatency(Class, kinds, asyncKinds) {
  const family = latencyFor(kinds, asyncKinds, `${Class.name.charAt(0).toLowerCase()}${Class.name.slice(1)}.latency()`);
  installLatency(Class, family, (handle) => handle.usable_());
  Object.defineProperty(Class, 'LATENCY_OPS', { value: family.KINDS, configurable: true });
}

module.exports = { addLatency };
