'use strict';
// The errors of the msg room: ShmError with its stable `code` and the numeric `status` behind it
// (the same pair the native side reports).
const { STATUS } = require('../layout/layout');
const { ShmError } = require('../base/errors');

function msgError(code, message) {
  return new ShmError(code, message, { status: STATUS[code] });
}

module.exports = { msgError };
