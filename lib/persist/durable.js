'use strict';
// The errors of the log's I/O and the one rule for raising the shared durable position after a
// sync (docs/format.md §16), shared by the synchronous flush (wal.js) and the async one
// (flush-async.js).
const { ShmError } = require('../base/errors');

function ioError(err, what) {
  return new ShmError('ERR_PERSIST_IO', `persist: ${what}: ${err.message}`, { cause: err, errno: err.errno, syscall: err.syscall });
}

function failedEarlier() {
  return new ShmError('ERR_PERSIST_IO', 'persist: the log failed to sync earlier; the store refuses writes until it is reopened');
}

// Raises the durable position to `lsn` after a successful fdatasync, unless a sync of any handle
// failed meanwhile: the kernel may have dropped pages that sync could not write, and a later
// fdatasync can succeed without writing them again, so no sync after a failure proves anything
// below it durable. Returns whether it raised it.
function advanceSynced(c, lsn) {
  if (c.failed) return false;
  c.advanceDurable(lsn, Date.now());
  return true;
}

module.exports = { ioError, failedEarlier, advanceSynced };
