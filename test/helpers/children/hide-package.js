'use strict';
// Preloaded with `node -r`: makes the packages named in SHMSTORE_TEST_HIDE (comma-separated)
// unresolvable, as on an install where they are absent.
const Module = require('module');

const hidden = new Set((process.env.SHMSTORE_TEST_HIDE || '').split(',').filter(Boolean));
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (hidden.has(request)) {
    const err = new Error(`Cannot find module '${request}'`);
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  }
  return resolve.call(this, request, ...rest);
};
