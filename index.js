'use strict';
// Public entry point of shmstore.
const { Segment } = require('./lib/segment');
const futex = require('./lib/futex');
const { ShmError } = require('./lib/errors');
const layout = require('./lib/layout');
const { Store } = require('./lib/store');
const { NamespaceView } = require('./lib/namespace-view');

module.exports = { Store, NamespaceView, Segment, futex, ShmError, layout };
