'use strict';
// Opt-in latency histograms of a queue handle (docs/api.md, "Queue latency"): the store's
// mechanism (lib/store/latency.js) over the queue's own operations. Enabling puts timed copies of
// the methods on the instance; a handle without latency runs its class's methods untouched, and
// recording writes only this thread's heap, never the shared region. Promise forms are timed
// until they settle, so their figures include the wait for a message or for room.
const v = require('../base/validate');
const { latencyFor } = require('../store/latency');

/**
 * Gives `Class` enableLatency(), disableLatency(), latencyEnabled, latency({ reset }) and the
 * static mergeLatency(snapshots), timing the synchronous methods `kinds` and the Promise-returning
 * methods `asyncKinds`.
 */
function addLatency(Class, kinds, asyncKinds) {
  const family = latencyFor(kinds, asyncKinds, `${Class.name.charAt(0).toLowerCase()}${Class.name.slice(1)}.latency()`);
  Object.defineProperties(Class.prototype, {
    enableLatency: {
      value: function enableLatency() {
        family.enable(this);
        return this;
      },
      writable: true,
      configurable: true,
    },
    disableLatency: {
      value: function disableLatency() {
        family.disable(this);
        return this;
      },
      writable: true,
      configurable: true,
    },
    latencyEnabled: {
      get() {
        return Boolean(this._latency);
      },
      configurable: true,
    },
    latency: {
      value: function latency(options) {
        if (options !== undefined) {
          v.validateObject(options, 'options');
          v.validateKeys(options, 'options', ['reset']);
          if (options.reset !== undefined) v.validateBoolean(options.reset, 'options.reset');
        }
        return family.snapshot(this, Boolean(options && options.reset));
      },
      writable: true,
      configurable: true,
    },
  });
  Object.defineProperty(Class, 'mergeLatency', { value: family.mergeLatency, writable: true, configurable: true });
  Object.defineProperty(Class, 'LATENCY_OPS', { value: family.KINDS, configurable: true });
}

module.exports = { addLatency };
