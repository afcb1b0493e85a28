'use strict';
// The kinds of structure a registry hosts (docs/format.md §14, "Kinds"; docs/api.md, Registry).
// A kind is ONE entry of KINDS below: adding a kind is adding a line. An entry is an object:
//
//   version         u32 recorded in the table entry at creation; open() refuses an entry whose
//                   version differs (ERR_BAD_VERSION), so bytes are never read with another layout.
//   deletableVersions  optional: the versions delete() accepts (default [version]): an earlier
//                   version whose in-use check (the owner table's place) and discard are the same,
//                   so that an entry made by an older shmstore can be deleted after an upgrade.
//   createOptions   the option names registry.create(kind, name, options) accepts for creation;
//   openOptions     and those accepted for the handle (by create, open and openOrCreate).
//   check(options)  validates the option values (before the table lock is taken).
//   bytes(options, ctx)     the size of the structure's block in the registry (at least 1; the
//                   registry rounds it up to whole 64-byte units). May throw when the structure
//                   cannot live in this registry (before anything is written).
//   params(options) up to C.REGISTRY_PARAMS u32 creation parameters, recorded in the entry.
//   init(at, options, ctx)  makes the block, which the registry has zero-filled, a fresh
//                   structure and returns an open handle on it.
//   open(at, info, options) returns an open handle on the structure.
//   describe(at, info)      the creation options, as registry.list() shows them.
//   inUse(at, info, self)   optional: whether a live handle (of any process) has it open, in
//                   which case delete() refuses (ERR_IN_USE); `self` is the caller's identity.
//   discard(at, info)       optional: releases what the structure holds outside its block. It
//                   must be idempotent: the repair pass runs it again for a create or delete
//                   that died halfway.
//   release(handle), released(handle)   optional (both or neither): how registry.close()
//                   releases a handle of the kind, and whether it was released already, for a
//                   handle whose close() does something else (a channel's closes the channel
//                   for every party). Else close() and the handle's `closed`.
//
// `at` is { buffer, byteOffset, byteLength } (the block: byteOffset is a multiple of 64); `info`
// the table entry (table.read(): params, version, ...); `ctx` { name, path, buffer, nonce, slot,
// generation }: the registry's segment name or path (or its buffer) and the entry's place. A
// handle with a close() method is closed by registry.close().
//
// Kinds whose structure is a region of a buffer at a 64-byte aligned byteOffset, with a class
// that has static create/open({ buffer, byteOffset, ...options }) and BYTES (or bytes(options)),
// take one line with regionKind(); the sync primitives with syncKind(). A region whose size its
// own header records (a queue's capacity, a pool's blocks) gives regionKind() an extent(at): what
// that header says it takes, checked against the block before the region is opened. For example:
//   semaphore: syncKind(Semaphore, { createOptions: ['initial', 'max'] }),
//   queue: regionKind(Queue, { version: C.QUEUE_FORMAT_VERSION, createOptions: ['capacity', 'slotBytes'] }),
const { C, W } = require('../layout/layout');
const { ShmError } = require('../base/errors');
const v = require('../base/validate');
const { OwnerTable } = require('../ownership/owners');
const { ownersOpen } = require('./in-use');
const { Mutex } = require('../sync/mutex');
const { RwLock } = require('../sync/rwlock');
const { Condition } = require('../sync/condition');
const { Semaphore } = require('../sync/semaphore');
const { Barrier } = require('../sync/barrier');
const { WaitGroup } = require('../sync/waitgroup');
const { SpscRing } = require('../msg/spsc');
const { MpmcQueue } = require('../msg/mpmc');
const { Channel } = require('../msg/channel');
const { Stack } = require('../msg/stack');
const { PriorityQueue } = require('../msg/priority-queue');
const { Broadcast } = require('../msg/broadcast');
const { readHeader } = require('../msg/region');
const { BufferPool } = require('../pool/buffer-pool');
const { ObjectPool } = require('../pool/object-pool');
const { MemoryPool, readClasses } = require('../pool/memory-pool');
const { checkHeader: checkPoolHeader } = require('../pool/core');
const { storeKind } = require('./store-kind');

const WORD = Uint32Array.BYTES_PER_ELEMENT;

/**
 * Whether the owner table at `owners.offset` (bytes, in the region at `at`) of `owners.slots`
 * records names an open handle (in-use.js).
 */
function ownersInUse(at, owners, self) {
  const words = owners.offset / WORD + owners.slots * W.OWNER.WORDS;
  // A block too short for the owner table is damage (the entry's units or unit): its open
  // refuses it (ERR_CORRUPT, the structure does not fit its block), so no handle is open on it
  // through the registry. Its records would be read from the next block, or past the buffer.
  if (words * WORD > at.byteLength) return false;
  const u32 = new Uint32Array(at.buffer, at.byteOffset, words);
  return ownersOpen(new OwnerTable(u32, owners.offset / WORD, owners.slots), self);
}

/**
 * Refuses (ERR_CORRUPT) the region at `at` when it takes more bytes than its block has: by its
 * own header, or by its class (a sync object's fixed size, when the entry's units are damaged).
 * The block is what the registry gave it; a header damaged into another shape that its class
 * allows (another power-of-two capacity, another block count) would make the handle reach over
 * the next block, or past the registry's end. `extent(at)` may throw, or give 0, for
 * bytes that are not such a region at all: the class's open refuses those and says why.
 */
function checkExtent(at, extent) {
  let bytes;
  try {
    bytes = extent(at);
  } catch {
    return;
  }
  if (bytes > at.byteLength) {
    throw new ShmError('ERR_CORRUPT', `The structure takes ${bytes} bytes; its block in the registry has ${at.byteLength} (damaged)`);
  }
}

// A u32 option value as a creation parameter; 0 for anything else (an option not given).
function asParam(x) {
  return Number.isInteger(x) && x >= 0 && x <= 0xffffffff ? x : 0;
}

/**
 * A kind for `Class`, a structure that lives in a region of a buffer: `Class.create({ buffer,
 * byteOffset, ...options })` makes it, `Class.open({ buffer, byteOffset, ...openOptions })` opens
 * it, `spec.bytes(options)`, `Class.bytes(options)` or `Class.BYTES` is its size. `spec` gives `version` (required),
 * `createOptions`, `openOptions`, `check`, `params`, `describe`, `extent(at)` when the region's
 * header records its size (checkExtent() above), and `owners: { offset, slots }` when the region
 * has an owner table of §6 records (one per open handle), for inUse(). By default
 * the first C.REGISTRY_PARAMS creation options are recorded as params (u32 values; 0 when not
 * given) and list() shows them under their names; Class.create() validates them.
 */
function regionKind(Class, spec) {
  const bytes = spec.bytes || (typeof Class.bytes === 'function' ? (o) => Class.bytes(o) : () => Class.BYTES);
  const pick = (options, keys) => Object.fromEntries(keys.filter((k) => options[k] !== undefined).map((k) => [k, options[k]]));
  const createOptions = spec.createOptions || [];
  const openOptions = spec.openOptions || [];
  const recorded = createOptions.slice(0, C.REGISTRY_PARAMS);
  // What open() checks the block against: the extent the region's header records, or the size
  // of a class whose structures all take Class.BYTES (a sync object). The entry's units, damaged
  // smaller, would otherwise give a handle that reaches over the next block, which the registry
  // hands out as free space, or past the registry's end.
  const fixed = !spec.bytes && typeof Class.bytes !== 'function' && Number.isInteger(Class.BYTES) ? Class.BYTES : 0;
  const extent = spec.extent || (fixed > 0 ? () => fixed : null);
  return {
    version: spec.version,
    deletableVersions: spec.deletableVersions,
    createOptions,
    openOptions,
    check: spec.check || (() => {}),
    bytes,
    params: spec.params || ((options) => recorded.map((k) => asParam(options[k]))),
    init: (at, options) => Class.create({ buffer: at.buffer, byteOffset: at.byteOffset,
      ...pick(options, [...createOptions, ...openOptions]) }),
    open: (at, info, options) => {
      if (extent) checkExtent(at, extent);
      return Class.open({ buffer: at.buffer, byteOffset: at.byteOffset, ...pick(options, openOptions) });
    },
    describe: spec.describe || ((at, info) => Object.fromEntries(recorded.map((k, i) => [k, info.params[i]]))),
    inUse: spec.owners ? (at, info, self) => ownersInUse(at, spec.owners, self) : undefined,
  };
}

// The owner table of a sync region (format.md §13): one record per open handle.
const SYNC_OWNERS = Object.freeze({ offset: C.SYNC_OWNERS_OFFSET, slots: C.SYNC_OWNER_SLOTS });

// The versions delete() accepts for a sync kind whose version moved past the first (see KINDS).
const syncDeletable = (version) => Object.freeze([C.SYNC_FORMAT_VERSION, version]);

/** A kind for a primitive of the sync room whose bytes are a sync region (format.md §13). */
function syncKind(Class, spec = {}) {
  return regionKind(Class, { version: C.SYNC_FORMAT_VERSION, owners: SYNC_OWNERS, ...spec });
}

// 'bytes': a zero-filled block of `size` bytes for the caller's own data; the handle is a
// Uint8Array over it. No handle records itself, so delete() cannot tell whether it is in use.
const bytesKind = {
  version: 1,
  createOptions: ['size'],
  openOptions: [],
  check(options) {
    if (options.size === undefined) throw v.typeError('The "options.size" argument is required');
    v.validateInteger(options.size, 'options.size', 1, 0xffffffff);
  },
  bytes: (options) => options.size,
  params: (options) => [options.size],
  init: (at, options) => new Uint8Array(at.buffer, at.byteOffset, options.size),
  open: (at, info) => new Uint8Array(at.buffer, at.byteOffset, Math.min(info.params[0], at.byteLength)),
  describe: (at, info) => ({ size: info.params[0] }),
};

// The bytes of the queue at `at` by the shape its header records (0 for bytes that are not a
// message region: its open refuses them).
function queueExtent(Class, sizeOption) {
  return (at) => {
    const h = readHeader(at.buffer, at.byteOffset);
    return h.magic === C.MSG_MAGIC ? Class.bytesFor(h.capacity, { [sizeOption]: h.elementSize }) : 0;
  };
}

// A kind for a queue of the msg room (format.md §15): sized by `capacity` and its per-message
// option, made once by create() (zero bytes are not a queue), and, for the MPMC queue and the
// channel, open while any of its owner records is not gone. list() shows the shape the region's
// header records (its defaults applied), not the options as given.
function queueKind(Class, sizeOption, owners, version = C.MSG_FORMAT_VERSION, deletableVersions = undefined) {
  return regionKind(Class, {
    version,
    deletableVersions,
    createOptions: ['capacity', sizeOption],
    bytes: (o) => Class.bytesForOptions_(o),
    describe: (at) => {
      const h = readHeader(at.buffer, at.byteOffset);
      return { capacity: h.capacity, [sizeOption]: h.elementSize };
    },
    extent: queueExtent(Class, sizeOption),
    owners,
  });
}

// The bytes of the pool of `kind` (C.POOL_KIND_BUFFER or C.POOL_KIND_OBJECT) at `at` by the
// shape its header records (its check throws for bytes that are no such pool).
function poolExtent(Class, kind) {
  return (at) => {
    const { blockSize, blockCount } = checkPoolHeader(at.buffer, at.byteOffset, kind);
    return Class.bytesFor(blockCount, blockSize);
  };
}

const MPMC_OWNERS = Object.freeze({ offset: C.MPMC_OWNERS_OFFSET, slots: C.MPMC_OWNER_SLOTS });
// A priority queue's handles are recorded in the owner table of its mutex (format.md §15).
const PQ_OWNERS = Object.freeze({ offset: C.PQ_MUTEX_OFFSET + C.SYNC_OWNERS_OFFSET, slots: C.SYNC_OWNER_SLOTS });
const PQ_ORDERS = ['min', 'max'];
const POOL_OWNERS = Object.freeze({ offset: C.POOL_OWNERS_OFFSET, slots: C.POOL_OWNER_SLOTS });

const KINDS = {
  mutex: syncKind(Mutex),
  rwlock: syncKind(RwLock),
  semaphore: syncKind(Semaphore, { createOptions: ['permits'] }),
  // The sync kinds whose version moved keep the sync region's owner table (or none) where version
  // 1 had it, and hold nothing outside their block: their version 1 is deletable.
  barrier: syncKind(Barrier, { createOptions: ['parties'], version: C.SYNC_BARRIER_VERSION, deletableVersions: syncDeletable(C.SYNC_BARRIER_VERSION) }),
  // A condition and a waitgroup keep no owner table (format.md §13.2, §13.5): nothing records
  // who has them open, so delete() cannot tell whether they are in use (as 'bytes').
  condition: syncKind(Condition, { owners: undefined, version: C.SYNC_CONDITION_VERSION, deletableVersions: syncDeletable(C.SYNC_CONDITION_VERSION) }),
  waitgroup: syncKind(WaitGroup, { owners: undefined, version: C.SYNC_WAITGROUP_VERSION, deletableVersions: syncDeletable(C.SYNC_WAITGROUP_VERSION) }),
  // Version 1 (sleeping flags of 1 and 0) keeps no owner table either and holds nothing outside
  // its block: deletable.
  spsc: queueKind(SpscRing, 'elementSize', undefined, C.MSG_SPSC_VERSION, [C.MSG_FORMAT_VERSION, C.MSG_SPSC_VERSION]),
  mpmc: queueKind(MpmcQueue, 'messageBytes', MPMC_OWNERS),
  // A channel's close() closes the channel for every party (docs/api.md): its handle is
  // released by dispose(), after which its methods throw ERR_CLOSED.
  channel: {
    ...queueKind(Channel, 'messageBytes', MPMC_OWNERS),
    release: (h) => h.dispose(),
    released: (h) => {
      try {
        h.usable_();
        return false;
      } catch {
        return true;
      }
    },
  },
  // Version 1 (before node depths) has its owner table at the same place: deletable.
  stack: queueKind(Stack, 'messageBytes', { offset: C.STACK_OWNERS_OFFSET, slots: C.STACK_OWNER_SLOTS }, C.MSG_STACK_VERSION,
    [C.MSG_FORMAT_VERSION, C.MSG_STACK_VERSION]),
  // The order is recorded as its number (C.PQ_ORDER_MIN or C.PQ_ORDER_MAX; 'max' when not given).
  'priority-queue': regionKind(PriorityQueue, {
    version: C.MSG_FORMAT_VERSION,
    createOptions: ['capacity', 'messageBytes', 'order'],
    bytes: (o) => PriorityQueue.bytesForOptions_(o),
    params: (o) => [asParam(o.capacity), asParam(o.messageBytes), o.order === 'min' ? C.PQ_ORDER_MIN : C.PQ_ORDER_MAX],
    describe: (at, info) => {
      const h = readHeader(at.buffer, at.byteOffset);
      return { capacity: h.capacity, messageBytes: h.elementSize, order: PQ_ORDERS[info.params[2]] };
    },
    extent: queueExtent(PriorityQueue, 'messageBytes'),
    owners: PQ_OWNERS,
  }),
  // A broadcast channel: open while any handle or subscriber record is not gone.
  broadcast: queueKind(Broadcast, 'messageBytes', Object.freeze({ offset: C.BCAST_OWNERS_OFFSET, slots: C.BCAST_OWNER_SLOTS })),
  // A buffer pool (format.md §17): open while any of its owner records is not gone.
  'buffer-pool': regionKind(BufferPool, {
    version: C.POOL_FORMAT_VERSION,
    createOptions: ['blockSize', 'blockCount'],
    bytes: (o) => BufferPool.bytesForOptions_(o),
    extent: poolExtent(BufferPool, C.POOL_KIND_BUFFER),
    owners: POOL_OWNERS,
  }),
  // An object pool: the buffer pool's format under kind 2 (format.md §17).
  'object-pool': regionKind(ObjectPool, {
    version: C.POOL_FORMAT_VERSION,
    createOptions: ['recordSize', 'capacity'],
    bytes: (o) => ObjectPool.bytesForOptions_(o),
    extent: poolExtent(ObjectPool, C.POOL_KIND_OBJECT),
    owners: POOL_OWNERS,
  }),
  // A memory pool: its classes do not fit in the entry's params, so list() reads them from the
  // pool's own class table (format.md §17, kind 3).
  'memory-pool': regionKind(MemoryPool, {
    version: C.POOL_FORMAT_VERSION,
    createOptions: ['classes'],
    check(o) {
      if (o.classes === undefined) throw v.typeError('The "options.classes" argument is required');
      MemoryPool.bytesForOptions_(o);
    },
    bytes: (o) => MemoryPool.bytesForOptions_(o),
    params: () => [],
    describe: (at) => ({ classes: readClasses(at.buffer, at.byteOffset) }),
    // Here the block bounds the sizes of the classes below the largest, which only the shape
    // checksum covers, and a pool made before the checksum has none (format.md §17).
    extent: (at) => MemoryPool.bytesFor(readClasses(at.buffer, at.byteOffset)),
    owners: POOL_OWNERS,
  }),
  store: storeKind,
  bytes: bytesKind,
};

/** The kind named `name` (TypeError/RangeError ERR_INVALID_ARG for anything else). */
function kindOf(name) {
  if (typeof name !== 'string') throw v.invalidType('kind', 'of type string', name);
  if (!Object.hasOwn(KINDS, name)) {
    throw v.rangeError(`Unknown kind ${v.describe(name)}. Known kinds: ${Object.keys(KINDS).join(', ')}`);
  }
  // The entry holds the kind's name in 16 ASCII bytes (format.md §14): a longer one is a bug of
  // the kind table, refused before anything is written.
  if (!/^[\x21-\x7e]+$/.test(name) || name.length > C.REGISTRY_MAX_KIND_BYTES) {
    throw new Error(`The kind name ${JSON.stringify(name)} is not 1 to ${C.REGISTRY_MAX_KIND_BYTES} printable ASCII characters`);
  }
  return KINDS[name];
}

module.exports = { KINDS, kindOf, regionKind, syncKind, SYNC_OWNERS };
