'use strict';
// The one error class of shmstore. `code` is a stable string from lib/layout/layout.js STATUS_CODE
// (generated from scripts/layout-spec.js, shared with the C++ core), so callers branch on
// err.code, never on the message. Errors coming from a system call also carry `errno` (the
// positive POSIX errno value) and `syscall` ('shm_open', 'mmap', ...).

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

module.exports = { ShmError };
