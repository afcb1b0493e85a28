'use strict';
// store.compact(options) (docs/api.md; format.md §8, "Compaction"): compaction steps of the
// engine, in a loop bounded by the caller's maxBytes and maxMs, writers and readers running in
// between. Without a bound the loop runs until it has swept the whole pool once.
const v = require('../base/validate');
const { C } = require('../layout/layout');

function checkCompactOptions(opts) {
  if (opts === undefined) return {};
  v.validateObject(opts, 'options');
  v.validateKeys(opts, 'options', ['maxBytes', 'maxMs']);
  if (opts.maxBytes !== undefined) v.validateInteger(opts.maxBytes, 'options.maxBytes', 1);
  if (opts.maxMs !== undefined) v.validateNumber(opts.maxMs, 'options.maxMs', { min: 0, allowInfinity: true });
  return opts;
}

// Runs steps on engine `e` (its compactStep(maxUnits) returns [moved, movedUnits, merged,
// obstacles, start, end, cursor, done]); `stats` is the store's stats() before them (the pool's
// first unit and size follow from it). Returns what they did.
function runSteps(e, opts, stats, now) {
  const totalUnits = stats.bytesTotal / C.BLOCK_UNIT;
  const firstUnit = (stats.bytesTotal - stats.bytesLive - stats.bytesFree) / C.BLOCK_UNIT;
  const bounded = opts.maxBytes !== undefined || opts.maxMs !== undefined;
  let budget = opts.maxBytes === undefined ? Infinity : Math.ceil(opts.maxBytes / C.BLOCK_UNIT);
  const deadline = opts.maxMs === undefined ? Infinity : now() + opts.maxMs;
  const out = { steps: 0, movedEntries: 0, movedBytes: 0, mergedRuns: 0, obstacles: 0, cursor: 0, done: false };
  // An unbounded call covers the pool from firstUnit to freeHead: from the cursor to the end,
  // and, unless it started at firstUnit, once more from there. Each window covers at least
  // COMPACT_STEP_UNITS new units or ends the sweep, so this bound is never reached by a sweep
  // (it only cuts a loop that other compactors keep restarting).
  let wholeFrom = -1;
  const maxSteps = 2 * Math.ceil(totalUnits / C.COMPACT_STEP_UNITS) + 16;
  while (out.steps < maxSteps) {
    const r = e.compactStep(Math.min(budget, C.COMPACT_STEP_UNITS));
    out.steps++;
    out.movedEntries += r[0];
    out.movedBytes += r[1] * C.BLOCK_UNIT;
    out.mergedRuns += r[2];
    out.obstacles += r[3];
    out.cursor = r[6];
    out.done = r[7] === 1;
    if (r[5] === r[4]) break; // an empty pool (or a step a repair pass replaced)
    if (wholeFrom < 0) wholeFrom = r[4];
    budget -= r[5] - r[4];
    if (bounded && (out.done || budget <= 0 || now() >= deadline)) break;
    if (!bounded && out.done) {
      if (wholeFrom === firstUnit) break;
      wholeFrom = firstUnit; // the next window starts there: one more sweep to the end
    }
  }
  return out;
}

module.exports = { checkCompactOptions, runSteps };
