'use strict';
// The order in which a handle watches and unwatches its owner record (docs/format.md §6, "Dead
// owners"): a record must be watched (the addon marks it dead if its thread ends) from its claim
// on, and released before it is unwatched, so that a worker terminated at any point leaves no
// claimed record that nobody watches.
const { OwnerTable } = require('../../lib/ownership/owners');

/**
 * Runs `fn(log)` with OwnerTable#watch, #unwatch and #leave interposed: each call is logged as {
 * what, slot, pid } (`pid`: the record's pid word at the call) plus { probe: probe() } when a probe
 * is given; `fn` may log events of its own. leave() releases the record and ends its watch in one
 * native call: it is logged as an 'unwatch' once it returned (its pid is the one it left). Returns
 * the log. The original methods are back when it returns or throws.
 */
function watchLog(fn, probe) {
  const { watch, unwatch, leave } = OwnerTable.prototype;
  const log = [];
  const entry = (table, what, slot) => ({ what, slot, pid: table.read(slot).pid, ...(probe ? { probe: probe() } : {}) });
  OwnerTable.prototype.watch = function (slot, id) {
    log.push(entry(this, 'watch', slot));
    return { token: watch.call(this, slot, id), slot };
  };
  OwnerTable.prototype.unwatch = function (w) {
    if (w === undefined) return undefined;
    log.push(entry(this, 'unwatch', w.slot));
    return unwatch.call(this, w.token);
  };
  OwnerTable.prototype.leave = function (slot, w) {
    leave.call(this, slot, w === undefined ? 0 : w.token);
    if (w !== undefined) log.push(entry(this, 'unwatch', w.slot));
  };
  try {
    fn(log);
    return log;
  } finally {
    Object.assign(OwnerTable.prototype, { watch, unwatch, leave });
  }
}

module.exports = { watchLog };
