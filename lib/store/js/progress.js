'use strict';
// The progress words of a verify() given an Int32Array (docs/api.md, store.verify()): [0] the work
// done, [1] the work in all, kept up to date with Atomics.store for another thread to show. The
// work: the pool walked twice by units (its tiling, then the leak count) and every bucket once;
// both numbers shifted right as far as needed to fit 31 bits. Mirrors Store::VerifyProgress in
// src/store/verify.cpp. e.progress is null outside such a verify().

/** Starts the progress of a verify() of `poolUnits` units and `buckets` buckets. */
function start(e, words, poolUnits, buckets) {
  const total = 2 * poolUnits + buckets;
  let scale = 1;
  while (total / scale > 0x7fffffff) scale *= 2;
  e.progress = { words, total, pool: poolUnits, scale };
  Atomics.store(words, 0, 0);
  Atomics.store(words, 1, Math.floor(total / scale));
}

/** Stores `done` (at most the total) into the progress words, if there are any. */
function at(e, done) {
  const p = e.progress;
  if (p === null) return;
  Atomics.store(p.words, 0, Math.floor(Math.min(done, p.total) / p.scale));
}

function end(e) {
  if (e.progress !== null) at(e, e.progress.total);
  e.progress = null;
}

module.exports = { start, at, end };
