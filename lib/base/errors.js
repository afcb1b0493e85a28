'use strict';
// The one error class of shmstore. `code` is a stable string from lib/layout/layout.js STATUS_CODE
// (generated from scripts/layout-spec.js, shared with the C++ core), so callers branch on
// err.code, never on the message. Errors coming from a system call also carry `errno` (the
// positive POSIX errno value) and `syscall` ('shm_open', 'mmap', ...).
const { STATUS, STATUS_CODE } = require('./status');

class ShmError extends Error {
  /**
   * @param {string} code  stable code, e.g. 'ERR_SHM_NOT_FOUND'
   * @param {string} message
   * @param {{ errno?: number, syscall?: string, status?: number, cause?: unknown }} [extra]
   */
  constructor(code, message, extra) {
    super(message, extra && extra.cause !== undefined ? { cause: extra.cause } : undefined);
    this.code = String(code);
    if (extra && typeof extra.errno === 'number') this.errno = extra.errno;
    if (extra && typeof extra.syscall === 'string') this.syscall = extra.syscall;
    // The numeric status behind `code`, set by the native engine (lib/store/contract.js).
    if (extra && typeof extra.status === 'number') this.status = extra.status;
  }
}
Object.defineProperty(ShmError.prototype, 'name', {
  value: 'ShmError', writable: true, enumerable: false, configurable: true,
});

/** The stable code string of a numeric status (see lib/layout/layout.js STATUS). */
function codeOf(status) {
  return (Number.isInteger(status) && STATUS_CODE[status]) || 'ERR_UNKNOWN';
}

/** A ShmError for a numeric status from the core. */
function errorFromStatus(status, message, extra) {
  return new ShmError(codeOf(status), message, extra);
}

/** Throws errorFromStatus(...) unless status is OK (0). Returns nothing. */
function throwIfError(status, message, extra) {
  if (status !== STATUS.OK) throw errorFromStatus(status, message, extra);
}

module.exports = { ShmError, codeOf, errorFromStatus, throwIfError };
