'use strict';
// Public entry point of shmstore.
const { Segment } = require('./lib/segment');
const futex = require('./lib/futex');
const { ShmError } = require('./lib/errors');
const layout = require('./lib/layout');

module.exports = { Segment, futex, ShmError, layout };
