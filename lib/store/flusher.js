'use strict';
// Periodic flush of the handles' private counters. A handle counts its reads, writes, hits,
// misses, evictions and expirations privately (a shared counter written by every get would bounce
// its cache line between cores, format.md §3) and adds them to the store's shared counters when
// it reports statistics or closes. A handle that does neither for a long time (a server that
// only serves) would hide its activity from every other process (`shmstore top`, a metrics
// exporter): so every open handle also flushes once per FLUSH_EVERY_MS, from one timer per
// thread that does not keep the event loop alive. The hot path is not touched: the timer
// callback does the flush, between operations, on the thread that owns the handle.

const FLUSH_EVERY_MS = 1000;

// Key -> [WeakRef of a handle, its flush function]. Weak: a handle its user dropped without closing is still
// collected (and its finalizer gives its owner slot back), as it would be without this timer.
const handles = new Map();
// Key -> [handle, its flush function]: the handles watched since the last tick, held strongly
// until it makes their WeakRefs. A WeakRef keeps its target alive until the end of the job that
// made it, so one made at watch() kept every handle created in one synchronous run (a loop of
// stores over SharedArrayBuffers, closed or not) with its buffer until the run ended. Held here,
// a closed handle is let go at once (unwatch), and a dropped one at most a period later.
const young = new Map();
let timer = null;

function tick() {
  for (const [key, [handle, flush]] of young) handles.set(key, [new WeakRef(handle), flush]);
  young.clear();
  for (const [key, [ref, flush]] of handles) {
    const h = ref.deref();
    if (h === undefined) {
      handles.delete(key);
      continue;
    }
    try {
      flush(h);
    } catch {
      // A handle closed or a store damaged meanwhile: its own next call reports that.
    }
  }
  if (handles.size === 0) stop();
}

function stop() {
  if (timer !== null) clearInterval(timer);
  timer = null;
}

// Registers a handle until unwatch or until it is collected; flush(handle) flushes it (by default
// its flushCounters()). Returns the key to unwatch it with.
function watch(handle, flush = (h) => h.flushCounters()) {
  const key = Symbol('handle');
  young.set(key, [handle, flush]);
  if (timer === null) {
    timer = setInterval(tick, FLUSH_EVERY_MS);
    timer.unref();
  }
  return key;
}

function unwatch(key) {
  young.delete(key);
  handles.delete(key);
  if (handles.size === 0 && young.size === 0) stop();
}

module.exports = { watch, unwatch, FLUSH_EVERY_MS };
