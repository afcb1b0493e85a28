'use strict';
// The persist tag of a store segment (docs/format.md §4, and §16 "Files"): the storeId of the
// persistence directory whose store the segment holds. Two directories opened with one segment
// name (a configuration mistake, a copy of a directory given a store of its own by a restore,
// a restored backup opened under the original's name) would otherwise share a segment: an open
// of one directory attached to the other's live segment, logging its writes into its own log
// and checkpointing the other's contents over it, or (when its store had to be rebuilt) removed
// the other's live segment and rebuilt its own under the name, under the other's handles. An
// open of a directory takes only a segment that records its own storeId (or records none, below).
const { C, AT } = require('../layout/layout');
const { ShmError } = require('../base/errors');
const { Segment } = require('../segment/segment');
const { OwnerTable, GONE } = require('../ownership/owners');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const U64 = BigUint64Array.BYTES_PER_ELEMENT / WORD;
const MAGIC = AT.HEADER.MAGIC;
// The u64 index of PersistTag.storeId in a BigUint64Array over the segment from offset 0.
const ID64 = AT.PERSIST_TAG.STORE_ID / U64;

const hex = (id) => id.toString(16).padStart(16, '0');

function ids(buffer) { return new BigUint64Array(buffer, 0, ID64 + 1); }

/** The storeId the store segment in `buffer` records (0n: none). */
function readTag(buffer) { return Atomics.load(ids(buffer), ID64); }

/**
 * Records `id` in a store segment that records none yet (compare-and-swap from 0). Returns the
 * id the segment records afterwards: `id`, or the id another party recorded first.
 */
function claimTag(buffer, id) {
  const was = Atomics.compareExchange(ids(buffer), ID64, 0n, id);
  return was === 0n ? id : was;
}

// The refusal of an open of `dir` that found under its segment name a store that is not its own.
function inUse(label, dir, ownId, tag) {
  const whose = tag === 0n
    ? 'a store in use by a live process that records no persisted store (a store without persistence, or one created by an earlier version)'
    : `the store of another persistence directory (store id ${hex(tag)}; the store of ${dir} has id ${hex(ownId)})`;
  return new ShmError('ERR_SHM_EXISTS', `persist: the segment ${label} holds ${whose}: two stores were opened with one segment name. ` +
    `Nothing was changed. Give each persistence directory a segment name of its own; if the store in ${label} is not wanted any more, close its handles, remove the segment (Segment.unlink) and open again`);
}

// The segment `target` names, as its label in messages.
function labelOf(target) { return target.name !== undefined ? target.name : target.path; }

/**
 * Refuses (ERR_SHM_EXISTS) an attached store segment (`buffer`) that records another store's id
 * than `ownId`. Returns whether it records none (then the caller, once it has checked the rest,
 * takes it with takeTag).
 */
function checkAttached(buffer, target, dir, ownId) {
  const tag = readTag(buffer);
  if (tag !== 0n && tag !== ownId) throw inUse(labelOf(target), dir, ownId, tag);
  return tag === 0n;
}

/**
 * Records `ownId` in the store segment `buffer` (which `target` names) if it records no id yet:
 * a segment this directory's create or rebuild just made, or an attached one written before the
 * tag existed, taken by the first open of the directory that finds it ready and its own by the
 * `segment` file and the geometry. Refuses (ERR_SHM_EXISTS) when another directory's open took
 * it first.
 */
function takeTag(buffer, target, dir, ownId) {
  const tag = claimTag(buffer, ownId);
  if (tag !== ownId) throw inUse(labelOf(target), dir, ownId, tag);
}

// The refusal of a rebuild that found under its segment name a segment that holds no store.
function notAStore(label, dir) {
  return new ShmError('ERR_SHM_EXISTS', `persist: the segment ${label} holds no store (another kind of structure, or other data), so the store of ${dir} cannot be rebuilt there. ` +
    `Nothing was changed. Give each persistence directory a segment name of its own; if what ${label} holds is not wanted any more, close its handles, remove the segment (Segment.unlink) and open again`);
}

/**
 * Before a rebuild removes the segment `target` names (held: the recovery lock): refuses
 * (ERR_SHM_EXISTS, with nothing removed) when it is a store that records another storeId, or
 * that records none while a process other than one gone has it open (an owner record of §6 not
 * gone for `self`), and when it holds no store at all: its first word is neither a store's magic
 * nor 0 (a registry, a sync object, a message structure or a pool has a magic of its own there;
 * other data anything), or it is 0 in a segment of another size than `totalSize`, the size of
 * the store the rebuild makes. The store's own stale segment (its id), a store nobody holds that
 * records no id, a segment of `totalSize` bytes without a magic yet, and an empty one (a creator
 * or rebuilder of this directory killed before it recorded its id, stamped the magic or sized
 * the segment), and no segment at all are left for the rebuild to remove.
 */
function checkReplaceable(target, dir, ownId, self, totalSize) {
  let seg;
  try {
    seg = Segment.open(target);
  } catch {
    return; // nothing there, an empty segment, or none this process may open: the unlink decides
  }
  try {
    const first = seg.size >= (MAGIC + 1) * WORD ? Atomics.load(new Uint32Array(seg.buffer, 0, MAGIC + 1), MAGIC) : 0;
    if (first !== C.MAGIC) {
      if (first === 0 && seg.size === totalSize) return;
      throw notAStore(labelOf(target), dir);
    }
    // A store too short for its own tables is damage, as before: the rebuild replaces it.
    if (seg.size < C.BUCKETS_OFFSET) return;
    const u32 = new Uint32Array(seg.buffer, 0, C.BUCKETS_OFFSET / WORD);
    const tag = readTag(seg.buffer);
    if (tag === ownId) return;
    if (tag === 0n) {
      const owners = new OwnerTable(u32, C.OWNERS_OFFSET / WORD, C.OWNER_SLOTS);
      let live = false;
      for (let o = 1; o < C.OWNER_SLOTS && !live; o++) live = owners.status(o, self) !== GONE;
      if (!live) return;
    }
    throw inUse(labelOf(target), dir, ownId, tag);
  } finally {
    seg.close();
  }
}

/**
 * Refuses (ERR_INVALID_ARG) a rebuild of `dir`'s store under the segment `given` while the segment
 * `recorded` (the one `dir`'s segment file names, another) still holds this directory's store:
 * a store that records `ownId`. The rebuild would fence off every handle of that store (their
 * operations refused with ERR_PERSIST_STALE) and leave the directory logging the new segment, so
 * that the store could no longer be opened under its own name: what a mistyped name given with
 * the right directory did. A segment that is gone, holds no store, or records another id (the
 * name was reused after the store's segment was removed, or `dir` is a copy, which has an id of
 * its own) leaves the rebuild to go on: a store moved to a new name after its segment is gone.
 */
function checkNotElsewhere(recorded, given, dir, ownId) {
  let seg;
  try {
    seg = Segment.open(recorded);
  } catch {
    return; // nothing there, an empty segment, or none this process may open
  }
  try {
    if (seg.size < C.BUCKETS_OFFSET) return;
    if (Atomics.load(new Uint32Array(seg.buffer, 0, MAGIC + 1), MAGIC) !== C.MAGIC) return;
    if (readTag(seg.buffer) !== ownId) return;
  } finally {
    seg.close();
  }
  const label = labelOf(recorded);
  throw new ShmError('ERR_INVALID_ARG', `persist: ${dir} holds the log of ${label}, not of ${labelOf(given)}, and the segment ${label} still holds that store. ` +
    `Nothing was changed. Open the store under ${label}; to move it to ${labelOf(given)}, close every handle of it, remove the segment ${label} (Segment.unlink) and open again`);
}

module.exports = { readTag, checkAttached, takeTag, checkReplaceable, checkNotElsewhere };
