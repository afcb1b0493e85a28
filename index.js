'use strict';
// Public entry point of shmstore. `Store` is the persist room's class: the store facade plus
// the optional write-ahead log (docs/architecture.md, "persist").
const { Segment } = require('./lib/segment/segment');
const futex = require('./lib/segment/futex');
const { ShmError } = require('./lib/base/errors');
// The layout for tools, without CLASS_UNITS: the engine's typed copy of SIZE_CLASSES, which a
// caller could write into.
const layout = Object.fromEntries(Object.entries(require('./lib/layout/layout')).filter(([k]) => k !== 'CLASS_UNITS'));
const { Store } = require('./lib/persist/store');
const { inspect } = require('./lib/persist/inspect');
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
const { Stack } = require('./lib/msg/stack');
const { PriorityQueue } = require('./lib/msg/priority-queue');
const { Broadcast } = require('./lib/msg/broadcast');
const { Subscriber } = require('./lib/msg/subscriber');
const { BufferPool } = require('./lib/pool/buffer-pool');
const { ObjectPool } = require('./lib/pool/object-pool');
const { MemoryPool } = require('./lib/pool/memory-pool');
const { Registry } = require('./lib/registry/registry');

// `persist.inspect` reads a persistence directory or file without opening the store.
const persist = Object.freeze({ inspect });

module.exports = {
  Store, NamespaceView, Segment, futex, ShmError, layout, Mutex, RwLock, Condition, Semaphore, Barrier, WaitGroup,
  SpscRing, MpmcQueue, Channel, Stack, PriorityQueue, Broadcast, Subscriber, BufferPool, ObjectPool, MemoryPool, Registry, persist,
};
