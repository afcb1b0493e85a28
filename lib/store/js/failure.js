'use strict';
// How the pure-JS engine fails (lib/store/contract.js): it throws an Error whose numeric `status`
// is a code of lib/base/status.js, exactly like the native engine's ShmError. The facade turns
// the status into the public error; nothing is signalled through return values.
const { STATUS } = require('../../base/status');

function failure(status, message) {
  const err = new Error(message);
  err.status = status;
  return err;
}

// A chain that is still invalid after a repair pass.
function corruptError(bucket) {
  return failure(STATUS.ERR_CORRUPT, `bucket ${bucket} is corrupt`);
}

module.exports = { failure, corruptError };
