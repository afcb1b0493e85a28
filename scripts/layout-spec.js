'use strict';
// The single declaration of the shmstore binary format (version FORMAT_VERSION below) and of
// the status codes shared by the native and the pure-JS engines. `node scripts/gen-layout.js`
// turns it into src/layout/layout_gen.h and lib/layout/layout.js; `node scripts/gen-layout.js
// --check` fails when either is stale.
// docs/format.md explains every value declared here.
// layout-ok-file: the one place the layout's numbers are written (scripts/check-layout-literals.js).

const UNIT = 64;

// Allocation size classes, in 64-byte units: exact up to 8 units, then four steps per doubling
// (at most 25% rounding waste) up to 2048 units, enough for the largest entry.
function sizeClasses() {
  const out = [1, 2, 3, 4, 5, 6, 7, 8];
  for (let p = 8; p < 2048; p *= 2) {
    for (let k = 1; k <= 4; k++) out.push(p + (p / 4) * k);
  }
  return out;
}

const constants = {
  MAGIC: 0x464c4f57, // 'FLOW'
  // 2: owner records of 32 bytes (identity: start time, boot id, state); buckets at 151552.
  FORMAT_VERSION: 2,
  UNIT,
  UNIT_SHIFT: 6,
  HEADER_OFFSET: 0,
  HEADER_SIZE: 64,
  METADATA_OFFSET: 64,
  METADATA_END: 4096,
  ALLOC_OFFSET: 64,
  NSSTATE_OFFSET: 320,
  REPAIR_OFFSET: 384,
  NAMESPACES_OFFSET: 4096,
  NAMESPACE_SLOTS: 256,
  OWNERS_OFFSET: 20480,
  OWNER_SLOTS: 4096,
  BUCKETS_OFFSET: 151552,
  BUCKET_SIZE: 32,
  ENTRY_HEADER_SIZE: 32,
  MIN_BUCKETS: 1,
  MAX_BUCKETS: 1 << 26,
  MAX_KEY_BYTES: 1024,
  MAX_VALUE_BYTES: 65535,
  MAX_NAMESPACE_BYTES: 48,
  // Lock words: bits 0..19 are a version whose low bit is set while the lock is held; bits
  // 20..31 name the holder's owner slot (0 while free).
  LOCK_VERSION_MASK: 0xfffff,
  LOCK_OWNER_SHIFT: 20,
  // Entry flags word: bits 0..3 value encoding, bits 8..15 size class, bit 16 block is free.
  FLAG_ENCODING_MASK: 0xf,
  ENC_BINARY: 0,
  ENC_UTF8: 1,
  ENC_JSON: 2,
  FLAG_CLASS_SHIFT: 8,
  FLAG_CLASS_MASK: 0xff,
  FLAG_FREE: 0x10000,
  NS_STATE_FREE: 0,
  NS_STATE_LIVE: 2,
  // Owner record state: the owner is live, or its thread ended without releasing the slot.
  OWNER_STATE_LIVE: 0,
  OWNER_STATE_DEAD: 1,
  SIZE_CLASS_COUNT: sizeClasses().length,
  MAX_SEGMENT_UNITS: 0xffffffff,
  // A reader whose walk or checksum fails while the bucket's version did not move runs one repair
  // pass after this many such failures in a row, and reports ERR_CORRUPT after as many again
  // (format.md §9, Readers), in both engines. Such a failure is a race only when a writer's
  // stores were seen out of order around the version check (a JS reader has no fence; a JS
  // writer's plain stores may become visible before its lock word): that takes a concurrent
  // write landing in a window of nanoseconds, and does not happen three times in a row. Anything
  // else is damage, and each further attempt walks the damaged chain again (a cycle costs a whole
  // walk bound per attempt), so waiting 64 attempts, as the JS engine did, only delays the repair.
  CORRUPT_READ_RETRIES: 3,
  // verify() lists at most this many problems (its `ok` reflects all of them), in both engines.
  MAX_VERIFY_ERRORS: 1000,
  // Segments (not the store format; declared once here for src/segment.h and lib/segment.js).
  // 2^47 bytes is the whole user address space of x86-64 with 4-level paging: nothing larger can
  // be mapped. Shared memory names are 1..200 characters of [A-Za-z0-9._-]; file paths at most
  // 4095 bytes (PATH_MAX includes the terminating NUL).
  MAX_SEGMENT_BYTES: 2 ** 47,
  MAX_SEGMENT_NAME_BYTES: 200,
  MAX_SEGMENT_PATH_BYTES: 4095,
  // Sync region (docs/format.md §13), the bytes of one synchronization object (a Mutex, the
  // first kind) in a segment or a SharedArrayBuffer of its own, independent of the store format.
  // Why these numbers: the magic reads 'SYNC' in memory order; a region of all zero bytes is a
  // valid free mutex (magic 0 means "not yet stamped": the first opener stamps it), so a fresh
  // segment or `new SharedArrayBuffer(n)` needs no initialization. The header takes one cache line;
  // the mutex record takes two, because waiters register (an atomic add on `waiters`) while the
  // holder works: on the lock word's line they would steal it from the holder at every
  // registration. The owner table reuses the Owner record of §6 with 256 slots (8 KiB): one per
  // open Mutex handle (a thread of a process), far more than the threads that contend for one
  // mutex, while the lock word's 12 owner bits would allow 4095; slot 0 stays unused as in §6.
  // The whole region is 8384 bytes, a multiple of 64. A waiter rechecks whether the holder is gone
  // at least every SYNC_RECHECK_MS ms (a killed process wakes nobody): the bound on how late a
  // waiter notices a dead holder, against one /proc read per waiter per period.
  SYNC_MAGIC: 0x434e5953, // 'SYNC'
  SYNC_FORMAT_VERSION: 1,
  SYNC_KIND_MUTEX: 1,
  SYNC_HEADER_OFFSET: 0,
  SYNC_MUTEX_OFFSET: 64,
  SYNC_OWNERS_OFFSET: 192,
  SYNC_OWNER_SLOTS: 256,
  SYNC_REGION_BYTES: 8384,
  SYNC_RECHECK_MS: 50,
  // Persistence (docs/format.md §16): the write-ahead log, its records and the control segment
  // that the processes writing one persisted store share. Why these numbers: the magics read
  // 'SWAL' and 'SPCT' in memory order. A log file starts with a 64-byte header; a record has a
  // 32-byte header (checksum, length, LSN, expiresAt, type, encoding, name and key lengths) and
  // starts at a multiple of 8 so that its u64 fields are aligned in a mapped copy. The control
  // segment keeps each word that different writers update on its own 64-byte line (the log tail
  // and append lock, the durable position and flush lock, recovery), then 256 stripe locks one
  // line each (a mutation holds the stripe of its key while it applies to the store and appends
  // its record, so the log order of two writes of one key is their store order; 256 stripes make
  // unrelated writers collide rarely, and clear() takes them all in microseconds), then an owner
  // table of the Owner records of §6 with the store's 4096 slots (the lock words' 12 owner bits).
  WAL_MAGIC: 0x4c415753, // 'SWAL'
  WAL_FORMAT_VERSION: 1,
  WAL_FILE_HEADER_SIZE: 64,
  WAL_RECORD_HEADER_SIZE: 32,
  WAL_RECORD_ALIGN: 8,
  WAL_REC_SET: 1,
  WAL_REC_DELETE: 2,
  WAL_REC_CLEAR: 3,
  WAL_REC_NS_CREATE: 4,
  WAL_REC_NS_DROP: 5,
  PERSIST_MAGIC: 0x54435053, // 'SPCT'
  PERSIST_FORMAT_VERSION: 1,
  PERSIST_SYNC_NONE: 0,
  PERSIST_SYNC_INTERVAL: 1,
  PERSIST_SYNC_ALWAYS: 2,
  PERSIST_STATE_EMPTY: 0,
  PERSIST_STATE_READY: 1,
  PERSIST_HEADER_OFFSET: 0,
  PERSIST_LOG_OFFSET: 64,
  PERSIST_DURABLE_OFFSET: 128,
  PERSIST_RECOVERY_OFFSET: 192,
  PERSIST_STRIPES_OFFSET: 256,
  PERSIST_STRIPES: 256,
  PERSIST_STRIPE_SIZE: 64,
  PERSIST_OWNERS_OFFSET: 16640,
  PERSIST_CONTROL_BYTES: 147712,
  // Snapshots: a 64-byte header ('SSNP'), set records in the log's record format, a 64-byte
  // trailer ('SEND') whose CRC32C of the whole body makes a truncated or damaged file detectable
  // before anything of it is trusted. The default size of log after which a checkpoint starts by
  // itself: 64 MiB replays in well under a second, and a snapshot per 64 MiB of writes costs
  // little against them.
  SNAP_MAGIC: 0x504e5353, // 'SSNP'
  SNAP_END_MAGIC: 0x444e4553, // 'SEND'
  SNAP_FORMAT_VERSION: 1,
  SNAP_HEADER_SIZE: 64,
  SNAP_TRAILER_SIZE: 64,
  PERSIST_CHECKPOINT_BYTES: 64 * 1024 * 1024,
  // A log file grows by this many zero bytes at a time, ahead of its records: an append then
  // overwrites allocated blocks and does not change the file's size, so the fdatasync of a group
  // commit writes the data alone, without a journal commit for the size (one per 1 MiB of log).
  WAL_PREALLOC_BYTES: 1024 * 1024,
};

// Every struct is little-endian, packed exactly as listed, naturally aligned.
// Field: [name, type, offset] with type u8|u16|u32|u64, or [name, 'u8', offset, count] for bytes.
const structs = {
  Header: {
    size: 64,
    fields: [
      ['magic', 'u32', 0],
      ['version', 'u32', 4],
      ['totalSize', 'u64', 8],
      ['bucketCount', 'u32', 16],
      ['entryCount', 'u32', 20],
      ['maxEntries', 'u32', 24],
      ['freeHead', 'u32', 28],
      ['gcCounter', 'u32', 32],
      ['headerChecksum', 'u32', 36],
      ['writeCounter', 'u64', 40],
      ['readCounter', 'u64', 48],
      ['reserved', 'u8', 56, 8],
    ],
  },
  AllocState: {
    size: 256,
    fields: [
      ['lock', 'u32', 0],
      ['classCount', 'u32', 4],
      ['reserved', 'u8', 8, 56],
      ['freeHeads', 'u32', 64, 40],
      ['reserved2', 'u8', 224, 32],
    ],
  },
  NsState: {
    size: 64,
    fields: [
      ['lock', 'u32', 0],
      ['liveCount', 'u32', 4],
      ['reserved', 'u8', 8, 56],
    ],
  },
  RepairState: {
    size: 64,
    fields: [
      ['lock', 'u32', 0],
      ['repairs', 'u32', 4],
      ['reserved', 'u8', 8, 56],
    ],
  },
  Namespace: {
    size: 64,
    fields: [
      ['state', 'u32', 0],
      ['count', 'u32', 4],
      ['nameLength', 'u32', 8],
      ['reserved', 'u32', 12],
      ['name', 'u8', 16, 48],
    ],
  },
  Owner: {
    size: 32,
    fields: [
      ['pid', 'u32', 0],
      ['tid', 'u32', 4],
      ['startTime', 'u64', 8],
      ['bootId', 'u64', 16],
      ['state', 'u32', 24],
      ['reserved', 'u32', 28],
    ],
  },
  SyncHeader: {
    size: 64,
    fields: [
      ['magic', 'u32', 0],
      ['kind', 'u32', 4],
      ['version', 'u32', 8],
      ['reserved', 'u8', 12, 52],
    ],
  },
  MutexState: {
    size: 128,
    fields: [
      ['lock', 'u32', 0],
      ['generation', 'u32', 4],
      ['recovering', 'u32', 8],
      ['reserved', 'u8', 12, 52],
      ['waiters', 'u32', 64],
      ['reserved2', 'u8', 68, 60],
    ],
  },
  WalFileHeader: {
    size: 64,
    fields: [
      ['magic', 'u32', 0],
      ['version', 'u32', 4],
      ['startLsn', 'u64', 8],
      ['createdMs', 'u64', 16],
      ['reserved', 'u8', 24, 36],
      ['checksum', 'u32', 60],
    ],
  },
  WalRecord: {
    size: 32,
    fields: [
      ['checksum', 'u32', 0],
      ['length', 'u32', 4],
      ['lsn', 'u64', 8],
      ['expiresAt', 'u64', 16],
      ['type', 'u8', 24],
      ['encoding', 'u8', 25],
      ['nsLength', 'u8', 26],
      ['reserved', 'u8', 27],
      ['keyLength', 'u16', 28],
      ['reserved2', 'u16', 30],
    ],
  },
  PersistHeader: {
    size: 64,
    fields: [
      ['magic', 'u32', 0],
      ['version', 'u32', 4],
      ['totalSize', 'u64', 8],
      ['bucketCount', 'u32', 16],
      ['maxEntries', 'u32', 20],
      ['syncMode', 'u32', 24],
      ['intervalMs', 'u32', 28],
      ['state', 'u32', 32],
      ['checkpointMs', 'u32', 36],
      ['checkpointBytes', 'u64', 40],
      ['storeId', 'u64', 48],
      ['reserved2', 'u8', 56, 8],
    ],
  },
  PersistLog: {
    size: 64,
    fields: [
      ['tail', 'u64', 0],
      ['appendLock', 'u32', 8],
      ['reserved', 'u32', 12],
      ['startLsn', 'u64', 16],
      ['fileBytes', 'u64', 24],
      ['reserved2', 'u8', 32, 32],
    ],
  },
  PersistDurable: {
    size: 64,
    fields: [
      ['durable', 'u64', 0],
      ['tick', 'u32', 8],
      ['flushLock', 'u32', 12],
      ['lastSyncMs', 'u64', 16],
      ['waiters', 'u32', 24],
      ['reserved', 'u8', 28, 36],
    ],
  },
  PersistRecovery: {
    size: 64,
    fields: [
      ['lock', 'u32', 0],
      ['failed', 'u32', 4],
      ['recoveries', 'u32', 8],
      ['checkpointLock', 'u32', 12],
      ['checkpoints', 'u32', 16],
      ['reserved', 'u32', 20],
      ['lastCheckpointMs', 'u64', 24],
      ['reserved2', 'u8', 32, 32],
    ],
  },
  SnapHeader: {
    size: 64,
    fields: [
      ['magic', 'u32', 0],
      ['version', 'u32', 4],
      ['startLsn', 'u64', 8],
      ['createdMs', 'u64', 16],
      ['totalSize', 'u64', 24],
      ['bucketCount', 'u32', 32],
      ['maxEntries', 'u32', 36],
      ['reserved', 'u8', 40, 20],
      ['checksum', 'u32', 60],
    ],
  },
  SnapTrailer: {
    size: 64,
    fields: [
      ['magic', 'u32', 0],
      ['reserved', 'u32', 4],
      ['records', 'u64', 8],
      ['bodyBytes', 'u64', 16],
      ['bodyChecksum', 'u32', 24],
      ['reserved2', 'u8', 28, 32],
      ['checksum', 'u32', 60],
    ],
  },
  Bucket: {
    size: 32,
    fields: [
      ['head', 'u32', 0],
      ['count', 'u32', 4],
      ['lock', 'u32', 8],
      ['reserved', 'u8', 12, 20],
    ],
  },
  Entry: {
    size: 32,
    fields: [
      ['next', 'u32', 0],
      ['keyHash', 'u32', 4],
      ['keyLength', 'u16', 8],
      ['valueLength', 'u16', 10],
      ['namespaceId', 'u32', 12],
      ['timestamp', 'u64', 16],
      ['flags', 'u32', 24],
      ['checksum', 'u32', 28],
    ],
  },
};

// Where each struct lives in the segment: `at` names the constant holding the byte offset of its
// first (or only) record, `count` how many records the table holds (a constant, or the header
// field that sets it). Entry is not placed here: an entry starts a block of the pool, and the one
// at unit u is at byte u * UNIT.
const placement = {
  Header: { at: 'HEADER_OFFSET', count: 1 },
  AllocState: { at: 'ALLOC_OFFSET', count: 1 },
  NsState: { at: 'NSSTATE_OFFSET', count: 1 },
  RepairState: { at: 'REPAIR_OFFSET', count: 1 },
  Namespace: { at: 'NAMESPACES_OFFSET', count: 'NAMESPACE_SLOTS' },
  Owner: { at: 'OWNERS_OFFSET', count: 'OWNER_SLOTS' },
  Bucket: { at: 'BUCKETS_OFFSET', count: 'Header.bucketCount' },
};

// Status codes: 0 is success; the C++ core returns these, the binding and the JS engine map them
// to ShmError codes (the string is the stable `code`).
const statuses = [
  [0, 'OK'],
  [1, 'ERR_INVALID_ARG'],
  [2, 'ERR_SHM_NOT_FOUND'],
  [3, 'ERR_SHM_EXISTS'],
  [4, 'ERR_SHM_ACCESS'],
  [5, 'ERR_SHM_NO_SPACE'],
  [6, 'ERR_SHM_TOO_LARGE'],
  [7, 'ERR_SHM_IO'],
  [8, 'ERR_CLOSED'],
  [9, 'ERR_BAD_MAGIC'],
  [10, 'ERR_BAD_VERSION'],
  [11, 'ERR_BAD_SIZE'],
  [12, 'ERR_BAD_CHECKSUM'],
  [13, 'ERR_STORE_FULL'],
  [14, 'ERR_TOO_MANY_NAMESPACES'],
  [15, 'ERR_TOO_MANY_HANDLES'],
  [16, 'ERR_LOCK_TIMEOUT'],
  [17, 'ERR_CORRUPT'],
  [18, 'ERR_ADDON_ABI'],
  [19, 'ERR_ADDON_MISSING'],
  [20, 'ERR_KEY_TOO_LONG'],
  [21, 'ERR_VALUE_TOO_LONG'],
  [22, 'ERR_NO_MEMORY'],
  [23, 'ERR_NOT_OWNER'],
  [45, 'ERR_PERSIST_IO'],
  [46, 'ERR_PERSIST_CORRUPT'],
];

module.exports = { constants, structs, placement, statuses, sizeClasses: sizeClasses() };
