'use strict';
// Public entry point of shmstore.
const { Segment } = require('./lib/segment/segment');
const futex = require('./lib/segment/futex');
const { ShmError } = require('./lib/base/errors');
const layout = require('./lib/layout/layout');
const { Store } = require('./lib/store/store');
const { NamespaceView } = require('./lib/store/namespace-view');
const { Mutex } = require('./lib/sync/mutex');
const { RwLock } = require('./lib/sync/rwlock');
const { Condition } = require('./lib/sync/condition');
const { Semaphore } = require('./lib/sync/semaphore');
const { Barrier } = require('./lib/sync/barrier');
const { WaitGroup } = require('./lib/sync/waitgroup');
const { SpscRing } = require('./lib/msg/spsc');
const { MpmcQueue } = require('./lib/msg/mpmc');
const { Channel } = require('./lib/msg/channel');
const { Registry } = require('./lib/registry/registry');

module.exports = {
  Store, NamespaceView, Segment, futex, ShmError, layout, Mutex, RwLock, Condition, Semaphore, Barrier, WaitGroup,
  SpscRing, MpmcQueue, Channel, Registry,
};
