'use strict';
// The errors of the msg room: ShmError with its stable `code` and the numeric `status` behind it
// (the same pair the native side reports).
const { STATUS } = require('../layout/layout');
const { ShmError } = require('../base/errors');

/** `extra`: { cause } of the error, if any. */
function msgError(code, message, extra = undefined) {
  return new ShmError(code, message, { status: STATUS[code], cause: extra?.cause });
}

module.exports = { msgError };
