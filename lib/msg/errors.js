'use strict';
// The errors of the msg room: ShmError with its stable `code` and the numeric `status` behind it
// (the same pair the native side reports).
const { STATUS } = require('../layout/layout');
const { ShmError } = require('../base/errors');

/** `extra`: { cause } of the error, if any. */
function msgError(code, message, extra = undefined) {
  return new ShmError(code, message, { status: STATUS[code], cause: extra?.cause });
}

/**
 * ERR_IN_USE: an enqueue on a handle of `what` made from code that a batch enqueue of the same
 * handle runs (a value's toJSON, a getter of the array), refused before it changes anything: the
 * batch holds the handle's producer side until it returns (what it wrote and has not published
 * yet, the scratch its values are prepared in). The way on differs: a queue has as many producers
 * as handles, so another handle of it may enqueue meanwhile; a ring has one producer, and a
 * second handle enqueuing beside the batch would be a second producer writing over its records,
 * so there the enqueue waits until the batch returns.
 */
function batchUnderWay(what) {
  const way = what === 'ring'
    ? 'enqueue after the batch returns (a second handle of a ring is a second producer, which the ring does not allow)'
    : 'enqueue through another handle, or after the batch returns';
  return msgError('ERR_IN_USE', `An enqueue on this ${what} handle was called from code that a batch enqueue of the same handle runs (a value's toJSON): a batch holds its handle's producer side until it returns; ${way}`);
}

module.exports = { msgError, batchUnderWay };
