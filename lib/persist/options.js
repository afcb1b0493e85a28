'use strict';
// The options of the persist room's Store: `persist` of create and open, a set's expiry, and
// what a store's header says of its geometry.
const path = require('path');
const { C, S, AT, entriesOffset } = require('../layout/layout');
const v = require('../base/validate');
const { SYNC_NAMES } = require('./control');
const { DEFAULT_CHECKPOINT_BYTES } = require('./checkpoint');

const CREATE_PERSIST_KEYS = ['dir', 'sync', 'intervalMs', 'checkpointBytes', 'checkpointMs'];
const MAX_CHECKPOINT_MS = 0xffffffff;
const OPEN_PERSIST_KEYS = ['dir'];
const DEFAULT_INTERVAL_MS = 1000;
const MAX_INTERVAL_MS = 3600000;

function checkPersist(p, create) {
  v.validateObject(p, 'options.persist');
  v.validateKeys(p, 'options.persist', create ? CREATE_PERSIST_KEYS : OPEN_PERSIST_KEYS);
  v.validateString(p.dir, 'options.persist.dir', { minLength: 1 });
  if (!create) return { dir: path.resolve(p.dir) };
  const sync = p.sync === undefined ? 'always' : p.sync;
  if (!SYNC_NAMES.includes(sync)) {
    throw v.rangeError(`The "options.persist.sync" argument must be 'none', 'interval' or 'always'. Received ${v.describe(p.sync)}`);
  }
  let intervalMs = 0;
  if (sync === 'interval') {
    intervalMs = DEFAULT_INTERVAL_MS;
    if (p.intervalMs !== undefined) {
      v.validateInteger(p.intervalMs, 'options.persist.intervalMs', 1, MAX_INTERVAL_MS);
      intervalMs = p.intervalMs;
    }
  } else if (p.intervalMs !== undefined) {
    throw v.typeError('"options.persist.intervalMs" applies only to sync: \'interval\'');
  }
  let checkpointBytes = DEFAULT_CHECKPOINT_BYTES;
  if (p.checkpointBytes !== undefined) {
    // At most the bytes a log file holds (C.WAL_MAX_FILE_BYTES): a larger one could never start
    // a checkpoint before the file is full and its writes are refused with ERR_LOG_FULL.
    v.validateInteger(p.checkpointBytes, 'options.persist.checkpointBytes', 0, C.WAL_MAX_FILE_BYTES);
    checkpointBytes = p.checkpointBytes;
  }
  let checkpointMs = 0;
  if (p.checkpointMs !== undefined) {
    v.validateInteger(p.checkpointMs, 'options.persist.checkpointMs', 0, MAX_CHECKPOINT_MS);
    checkpointMs = p.checkpointMs;
  }
  return { dir: path.resolve(p.dir), syncMode: SYNC_NAMES.indexOf(sync), intervalMs, checkpointBytes, checkpointMs };
}

// The geometry a store's header records (so that recovery rebuilds the same store).
function geometryOf(buffer) {
  const dv = new DataView(buffer);
  return {
    totalSize: Number(dv.getBigUint64(S.HEADER.TOTAL_SIZE, true)),
    bucketCount: dv.getUint32(S.HEADER.BUCKET_COUNT, true),
    maxEntries: dv.getUint32(S.HEADER.MAX_ENTRIES, true),
    maxNamespaces: dv.getUint32(S.HEADER.MAX_NAMESPACES, true),
  };
}

// The store's default eviction policy, as its creator set it in the store's EvictState (never
// changed after): what the control segment records so that a rebuild creates the store with it.
// C.POLICY_CLOCK or C.POLICY_NONE: the engines evict by the store's policy only when it is clock
// (format.md §4: 0 reads as none).
function storePolicyOf(buffer) {
  const policy = Atomics.load(new Uint32Array(buffer, 0, AT.EVICT_STATE.POLICY + 1), AT.EVICT_STATE.POLICY);
  return policy === C.POLICY_CLOCK ? C.POLICY_CLOCK : C.POLICY_NONE;
}

// What makes geometry `geo` (a control segment's) one no store can have, or null when a store can
// have it: the rules of Store.create, whose own errors would name options the caller never gave.
function geometryFault({ totalSize, bucketCount, maxEntries, maxNamespaces }) {
  const within = (x, lo, hi) => Number.isSafeInteger(x) && x >= lo && x <= hi;
  if (!within(bucketCount, C.MIN_BUCKETS, C.MAX_BUCKETS) || (bucketCount & (bucketCount - 1)) !== 0) return `bucketCount ${bucketCount}`;
  if (maxEntries < 1) return `maxEntries ${maxEntries}`;
  if (!within(maxNamespaces, 1, C.MAX_NAMESPACES)) return `maxNamespaces ${maxNamespaces}`;
  if (!within(totalSize, entriesOffset(bucketCount, maxNamespaces) + C.UNIT, C.MAX_SEGMENT_UNITS * C.BLOCK_UNIT)) {
    return `totalSize ${totalSize} with ${bucketCount} buckets and ${maxNamespaces} namespaces`;
  }
  return null;
}

function targetOf(opts) {
  return opts.name !== undefined ? { name: opts.name } : { path: opts.path };
}

module.exports = { checkPersist, geometryOf, storePolicyOf, geometryFault, targetOf };
