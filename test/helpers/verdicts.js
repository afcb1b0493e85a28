'use strict';
// Races with a gone verdict, made deterministic: what a party does while another judges its owner
// record (docs/format.md §6, "Acting on a verdict").
const { OwnerTable } = require('../../lib/ownership/owners');

/**
 * Runs `fn` with OwnerTable#status interposed: the first verdict asked for is made after
 * `before()` (a party closing as its record is judged) and followed by `after()` (its thread
 * opening again at once), every later one as usual. Returns { result: what fn returned, judged:
 * how many verdicts were asked }. The original method is back when it returns or throws.
 */
function duringFirstVerdict(before, after, fn) {
  const status = OwnerTable.prototype.status;
  let judged = 0;
  OwnerTable.prototype.status = function (...args) {
    if (judged++ !== 0) return status.apply(this, args);
    before();
    const verdict = status.apply(this, args);
    after();
    return verdict;
  };
  try {
    const result = fn();
    return { result, judged };
  } finally {
    OwnerTable.prototype.status = status;
  }
}

/**
 * Runs `fn` with OwnerTable#read interposed: the first record read is made after `before()` (a
 * party handing on its block and closing just before its record is read), every later one as
 * usual. Returns what fn returned. The original method is back when it returns or throws.
 */
function beforeFirstRead(before, fn) {
  const read = OwnerTable.prototype.read;
  let reads = 0;
  OwnerTable.prototype.read = function (...args) {
    if (reads++ === 0) before();
    return read.apply(this, args);
  };
  try {
    return fn();
  } finally {
    OwnerTable.prototype.read = read;
  }
}

module.exports = { duringFirstVerdict, beforeFirstRead };
