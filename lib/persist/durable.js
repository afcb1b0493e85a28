'use strict';
// The errors of the log's I/O and the one rule for raising the shared durable position after a
// sync (docs/format.md §16), shared by the synchronous flush (wal.js) and the async one
// (flush-async.js).
const { ShmError } = require('../base/errors');

function ioError(err, what) {
  return new ShmError('ERR_PERSIST_IO', `persist: ${what}: ${err.message}`, { cause: err, errno: typeof err.errno === 'number' ? Math.abs(err.errno) : undefined, syscall: err.syscall });
}

// The codes of docs/api.md (Errors) for a file system error on a persistence path.
const PATH_CODES = {
  EACCES: 'ERR_SHM_ACCESS', EPERM: 'ERR_SHM_ACCESS', EROFS: 'ERR_SHM_ACCESS',
  ENOSPC: 'ERR_SHM_NO_SPACE', EDQUOT: 'ERR_SHM_NO_SPACE',
  ENAMETOOLONG: 'ERR_INVALID_ARG', ENOTDIR: 'ERR_INVALID_ARG', EEXIST: 'ERR_INVALID_ARG', EISDIR: 'ERR_INVALID_ARG', ELOOP: 'ERR_INVALID_ARG',
  ENOENT: 'ERR_SHM_NOT_FOUND',
};

/**
 * Runs `fn` (file system calls on the persistence path `where`) and turns a system error it
 * throws into a ShmError with the code of docs/api.md (ERR_SHM_ACCESS, ERR_SHM_NO_SPACE,
 * ERR_INVALID_ARG for a path the OS refuses, ERR_SHM_NOT_FOUND, else ERR_PERSIST_IO) and the
 * errno; any other error passes unchanged.
 */
function onPath(where, fn) {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ShmError || typeof err?.errno !== 'number' || typeof err.code !== 'string') throw err;
    throw new ShmError(PATH_CODES[err.code] || 'ERR_PERSIST_IO', `persist: ${where}: ${err.message}`, { cause: err, errno: Math.abs(err.errno), syscall: err.syscall });
  }
}

function failedEarlier() {
  return new ShmError('ERR_PERSIST_IO', 'persist: the log failed to sync earlier (or a write it could not take could not be undone in the store); the store refuses writes until it is recovered (every handle closed, the segment removed, the store opened again)');
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

module.exports = { onPath, ioError, failedEarlier, advanceSynced };
