'use strict';
// Writes of the pure-JS engine (docs/format.md §9, "Writers"): set (delete and clear are
// remove.js), under the lock of one bucket at a time, the allocator lock taken inside it.
// Mirrors src/store/write.cpp.
// The module's own binding: the global `Buffer` is an accessor property of globalThis, which
// compiled code reads through a call on every set.
const { Buffer } = require('buffer');
const { C, W, H, AT, UNIT_WORDS, UNIT_HALFS, STATUS, CLASS_UNITS } = require('../../layout/layout');
const { xxh32Aligned, xxh32CopyWords } = require('../../base/xxhash');
const { NEED_REPAIR, CORRUPT, LockError } = require('./locks');
const { failure, corruptError } = require('./failure');
const { allocBlock, allocLarge, freeBlocks, freeUnlinkedLarge, largeHeld, classFor, FREED_UNITS, FREE_HEAD, LISTED_UNITS } =
  require('./alloc');
const large = require('./large');
const { encodeKey, keyHash, bucketOf, utf8Into, sameKey } = require('./read');
const chain = require('./chain');
const repairs = require('./repair');
const cache = require('./cache');
const cells = require('./cells');
const { countedStep, autoCompact, joinFreed, freeAfter, stampOf, moveOutOfRun } = require('./compact');

const GC_COUNTER = AT.HEADER.GC_COUNTER;
const LB = W.LARGE_BLOCK;
const FLAG_INDIRECT = C.FLAG_INDIRECT;
const UNIT = C.BLOCK_UNIT;
const HDR = C.ENTRY_HEADER_SIZE;
const LARGE_HDR = C.LARGE_HEADER_SIZE;
const MAX_EXPIRES_AT = C.MAX_EXPIRES_AT;
const B_HEAD = W.BUCKET.HEAD;
const B_COUNT = W.BUCKET.COUNT;
const B_LOCK = W.BUCKET.LOCK;
const E_NEXT = W.ENTRY.NEXT;
const E_HASH = W.ENTRY.KEY_HASH;
const E_NS = H.ENTRY.NAMESPACE_ID;
const E_EXP = W.ENTRY.EXPIRES_LO;
const E_EXP_HI = H.ENTRY.EXPIRES_HI;
const MARKING = AT.EVICT_STATE.MARKING;
const TTL_SEEN = AT.EVICT_STATE.TTL_SEEN;
// NsPolicy.ttlMs of namespace i: u32 words e.polBase + TTL + i * POL_WORDS (low) and TTL_HI + ...
const POL_WORDS = W.NS_POLICY.WORDS;
const POL_TTL = W.NS_POLICY.TTL_MS;
const POL_TTL_HI = W.NS_POLICY.TTL_MS_HI;
// Set's expiry argument (as the native engine's): 0 takes the namespace's default TTL, -1 stores
// no expiry, anything else is the expiry in epoch ms.
const EXPIRY_NEVER = -1;
const STEPS_PER_BATCH = C.COMPACT_STEPS_PER_BATCH;
// The bounds of the work one set does to make room, for a block of `need` units (format.md §8,
// "Making room"; as src/store/write.cpp): evictions, and batches of compaction steps. Both grow
// with the space the set needs, so that a set into a full evictable store succeeds at once
// whenever evicting cold entries can make room, and stay constant for the common small set.
// mayEvict: whether a set may run the hand once more: its first EVICT_BASE_PER_SET searches,
// then while the units its evictions freed are below EVICT_UNITS_PER_NEED * need. The bound is on
// units, not entries: entries far smaller than the block needed would otherwise let one set empty
// the store.
const mayEvict = (state) =>
  state.evictions < C.EVICT_BASE_PER_SET || state.evictedUnits < C.EVICT_UNITS_PER_NEED * state.need;
const maxBatches = (need) =>
  C.COMPACT_BATCHES_PER_SET + C.COMPACT_BATCHES_PER_NEED * Math.ceil(need / (STEPS_PER_BATCH * C.COMPACT_STEP_UNITS));
const { NSC_WORDS, NSC_BYTES, nsCurrent } = require('./counts');
const E_FLAGS = W.ENTRY.FLAGS;
const E_SUM = W.ENTRY.CHECKSUM;
const E_KEY_LENGTH = H.ENTRY.KEY_LENGTH;
const E_VALUE_LENGTH = H.ENTRY.VALUE_LENGTH;
const E_WORDS = W.ENTRY.WORDS;
// A string value of at most STAGE_CHARS UTF-16 units is encoded once, into e.kb right after the
// key (stageValue), and writeEntry copies key and value into the entry a word at a time while it
// hashes them: cheaper than measuring the string, writing it with a native call and hashing the
// entry's bytes again (about 80 ns of a 100-byte set). Strings of up to STAGE_ASCII units are
// copied by a loop, which beats the encoder's call while they are ASCII.
const STAGE_CHARS = 2048;
// The bytes of e.kb a handle needs: the longest key, then the longest staged value.
const SCRATCH_BYTES = C.MAX_KEY_BYTES + STAGE_CHARS * 3 + 4;
const STAGE_ASCII = 16;
const stageEncoder = new TextEncoder();
// Whether set() stages value `src` (and writeEntry copies it from e.kb): never a large value, as
// 2048 units are at most 6144 bytes.
const isStaged = (src) => typeof src === 'string' && src.length <= STAGE_CHARS;
// The payload setEncoded copied into e.kb after the key (never a large value: SCRATCH_BYTES is
// below MAX_INLINE_VALUE_BYTES).
const STAGED = null;
// The bytes after a staged payload that writeEntry's copy of its last word takes along (zeroed).
const STAGE_PAD = 3;
const WORD = Uint32Array.BYTES_PER_ELEMENT;
// Returned by a walk under the lock that met an invalid chain.
const INVALID = -2;

// Walks the chain of the bucket whose record starts at word `bw` (lock held) for the key in
// e.kb. Returns the index of the word that links to the entry (head or a predecessor's next),
// -1 when there is none, INVALID when the chain is invalid (under the lock that is corruption,
// not a race: an index out of range, a cycle, a block without a valid class or marked free, an
// entry that does not fit its block). Freeing such an entry could free a block twice. The
// cursor's bounds (chain.js inBounds, atEntry) with locals, as read.js walk() applies them.
function findLink(e, bw, nsId, kl, h) {
  const { u16, u32 } = e;
  const first = e.firstUnit;
  const total = e.totalUnits;
  const maxSteps = e.maxSteps;
  let link = bw + B_HEAD;
  let u = u32[link];
  for (let steps = 0; u !== 0; steps++) {
    if (u < first || u >= total || steps > maxSteps || !chain.isEntryBlock(e, u)) return INVALID;
    const w = u * UNIT_WORDS;
    if (u32[w + E_HASH] === h && u16[u * UNIT_HALFS + E_NS] === nsId && u16[u * UNIT_HALFS + E_KEY_LENGTH] === kl) {
      if (!chain.fitsBlock(u32[w + E_FLAGS], kl, u16[u * UNIT_HALFS + E_VALUE_LENGTH])) return INVALID;
      if (sameKey(e, u, kl)) return link;
    }
    link = w + E_NEXT;
    u = u32[link];
  }
  return -1;
}

// The expiry a set stores (epoch ms, 0: none) for its expiry argument (see EXPIRY_NEVER). The
// clock is read only for a namespace default TTL, the one case that needs it (as native's
// ExpiryFor), and before the lock is taken: it is not cheap and the lock is shared. An expiry
// past the 48 bits of Entry.expiresAt is stored as the last one (format.md §8).
function expiryFor(e, nsId, expiresAt) {
  if (expiresAt === EXPIRY_NEVER) return 0;
  if (expiresAt !== 0) return expiresAt < MAX_EXPIRES_AT ? expiresAt : MAX_EXPIRES_AT;
  const lo = e.u32[e.polBase + POL_TTL + nsId * POL_WORDS];
  const hi = e.u32[e.polBase + POL_TTL_HI + nsId * POL_WORDS];
  if (lo === 0 && hi === 0) return 0;
  const at = Date.now() + Number(Atomics.load(e.big, (POL_TTL + nsId * POL_WORDS) / 2));
  return at < MAX_EXPIRES_AT ? at : MAX_EXPIRES_AT;
}

// `key` is a string, or the length of a key setEncoded staged in e.kb (with the payload of
// `stagedLength` bytes after it when `value` is STAGED).
function set(e, nsId, key, value, enc, expiresAt = 0, stagedLength = 0) {
  let kl;
  let vl;
  if (typeof key === 'number') {
    kl = key;
    vl = value === STAGED ? stagedLength : value.byteLength;
  } else {
    kl = encodeKey(e, key);
    if (kl < 0) throw failure(STATUS.ERR_KEY_TOO_LONG, 'set');
    // Short strings are staged in e.kb after the key; longer ones measured here and encoded
    // straight into the entry by writeEntry.
    if (isStaged(value)) vl = stageValue(e, value, kl);
    else vl = typeof value === 'string' ? Buffer.byteLength(value) : value.byteLength;
  }
  if (vl > C.MAX_VALUE_BYTES) throw failure(STATUS.ERR_VALUE_TOO_LONG, 'set');
  // A large value is held by a large block; its entry holds the reference (format.md §8).
  const isLarge = vl > C.MAX_INLINE_VALUE_BYTES;
  // As native: an entry of a namespace that is not live would be corrupt, and one written through
  // an id dropped since would land in another namespace (format.md §5, "Dropping"). What counts
  // is the check under the bucket lock (setOnce), where a drop cannot pass it; before it only
  // the id's range is checked, and the whole check for a large value, whose block is written
  // first.
  if (!(nsId >= 1 && nsId <= e.maxNs) || (isLarge && !nsCurrent(e, nsId))) {
    throw failure(STATUS.ERR_NAMESPACE_DROPPED, 'set');
  }
  const h = keyHash(e, kl, nsId);
  const cls = classFor(HDR + kl + (isLarge ? C.INDIRECT_VALUE_BYTES : vl));
  e.expiry = expiryFor(e, nsId, expiresAt);
  if (e.expiry !== 0 && Atomics.load(e.u32, TTL_SEEN) === 0) Atomics.store(e.u32, TTL_SEEN, 1);
  // A small value needs no large block: no state of one to give back on the way out, and the
  // state object is reused (set is synchronous and never re-entered). The room lease, if the write
  // took it, is released on every way out (format.md §8, "The room lease").
  if (!isLarge) {
    try {
      return setLoop(e, nsId, kl, h, value, vl, enc, cls, false, setState(SMALL, CLASS_UNITS[cls], false));
    } finally {
      if (e.leaseHeld) evict.releaseRoomLease(e);
    }
  }
  const state = setState({ unit: 0, gc: 0, keyHash: 0, sum: 0 }, large.unitsForLarge(vl), true);
  try {
    setLoop(e, nsId, kl, h, value, vl, enc, cls, isLarge, state);
  } finally {
    // Every way out before the entry linked the large block gives the block back.
    if (state.unit !== 0) freeUnlinkedLarge(e, state.unit, state);
    if (e.leaseHeld) evict.releaseRoomLease(e);
  }
}

// set() of a key and payload already encoded: the key's kl UTF-8 bytes at bytes[at], the
// payload's vl bytes right after them (a logged set's record holds both: set-record.js). They
// are copied into e.kb a word at a time, and the entry is written from there as a staged
// string's; a payload too long for e.kb is written from a view of `bytes`.
function setEncoded(e, nsId, bytes, at, kl, vl, enc, expiresAt) {
  if (kl > C.MAX_KEY_BYTES) throw failure(STATUS.ERR_KEY_TOO_LONG, 'set');
  if (kl + vl + STAGE_PAD <= SCRATCH_BYTES) {
    stageBytes(e, bytes, at, kl + vl);
    set(e, nsId, kl, STAGED, enc, expiresAt, vl);
  } else {
    stageBytes(e, bytes, at, kl);
    set(e, nsId, kl, bytes.subarray(at + kl, at + kl + vl), enc, expiresAt);
  }
}

// Copies the n bytes at bytes[at] to e.kb, whole words read through a DataView of `bytes` kept
// for the next call (a logged set's source is its thread's one record buffer), and zeroes the 3
// bytes after them, as stageValue does.
function stageBytes(e, bytes, at, n) {
  let dv = e.stageSource;
  if (e.stageBytes !== bytes) {
    dv = e.stageSource = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    e.stageBytes = bytes;
  }
  const { kb, kb32 } = e;
  const words = n >>> 2;
  for (let i = 0, p = at; i < words; i++, p += WORD) kb32[i] = dv.getUint32(p, true);
  for (let j = words * WORD; j < n; j++) kb[j] = bytes[at + j];
  kb[n] = 0;
  kb[n + 1] = 0;
  kb[n + 2] = 0;
}

// Encodes string `s` into e.kb after the key's kl bytes and returns its UTF-8 length; zeroes the
// 3 bytes after it, which writeEntry's copy of the last word takes along into the block.
function stageValue(e, s, kl) {
  const kb = e.kb;
  let view = e.stageViews[kl];
  if (view === null) view = e.stageViews[kl] = kb.subarray(kl, kl + STAGE_CHARS * 3);
  const n = s.length <= STAGE_ASCII ? utf8Into(s, view, STAGE_ASCII * 3) : stageEncoder.encodeInto(s, view).written;
  const end = kl + n;
  kb[end] = 0;
  kb[end + 1] = 0;
  kb[end + 2] = 0;
  return n;
}

// A set's state, fresh for a block of `need` units: { unit, gc, keyHash, sum } (the large block
// being written and the claim on it: prepareLarge) and the state of making room. handRan: the set
// ran the eviction hand; anyClass: the hand found no entry of the set's class or a larger one
// (a large value: from the start), and evicts any cold entry since; drained: the hand found
// nothing left to evict (or the set made all the evictions it may); removed: the entries its hand
// removed; evictions: the searches it ran, evictedUnits: the units its removals freed (mayEvict);
// compacted: the batches of compaction steps it ran; nothingToEvict: a search for its class passed
// over no entry of a smaller class it could have removed, so no search for any class runs.
// runStart, runUnits: the run of free blocks its evictions of any class left, of which the first
// runJoined units are one block already; runStamp: stampOf() before it started or its last join
// (joinRemoved); swept: the units its last-resort batches covered (sweepFor); secondRound: it got
// its bounds once more (secondRound); leaseWaived: it waited lockTimeoutMs / ROOM_LEASE_WAIT_SHARE
// for the room lease and goes on without it (evict.js takeRoomLease).
function setState(state, need, anyClass) {
  resetBounds(state);
  state.leaseWaived = false;
  state.handRan = false;
  state.anyClass = anyClass;
  state.removed = 0;
  state.nothingToEvict = false;
  state.runStart = 0;
  state.runStamp = 0;
  state.secondRound = false;
  state.classCut = false;
  state.need = need;
  return state;
}

// The bounds of one round of making room, spent from 0 (a set's first round, and its second:
// secondRound), and the run its evictions grow.
function resetBounds(state) {
  state.evictions = 0;
  state.evictedUnits = 0;
  state.compacted = 0;
  state.drained = false;
  state.swept = 0;
  state.runUnits = 0;
  state.runJoined = 0;
  state.waiveMarks = true;
}

// set()'s state for a small value (no large block), reused: set is synchronous and never
// re-entered. Made as a large value's is, so that both have one shape.
const SMALL = setState({ unit: 0, gc: 0, keyHash: 0, sum: 0 }, 0, false);

// After an allocation of `units` failed for want of space: when the units freed and not merged
// since could hold it (or `always`), one batch of compaction steps, at most maxBatches(state.need)
// batches per set (format.md §8, "Making room"). Returns whether a batch ran and, with `always`,
// moved or merged anything: whether to retry (as native's CompactFor).
function compactFor(e, units, state, always = false) {
  if (state.compacted >= maxBatches(state.need) || (!always && e.u32[FREED_UNITS] < units)) return false;
  state.compacted++;
  let changed = 0;
  for (let i = 0; i < STEPS_PER_BATCH; i++) changed += countedStep(e, C.COMPACT_STEP_UNITS);
  return !always || changed !== 0;
}

// After an allocation of `units` (a block of class `cls`, or -1 for a large block) failed for
// want of space, this handle's parked blocks returned: makes room (format.md §8, "Making room";
// as native's MakeRoom). Returns whether to retry the allocation; false: the store is full for
// good. A small set first asks the hand for an entry of its class or a larger one, whose block is
// its room; once the hand has none, it evicts any cold entry and coalesces what it freed, as a
// large value does from the start (unless the search for its class passed over nothing it could
// remove of any class): a batch of compaction steps whenever the units freed and not merged
// could hold the block, else one more eviction (an eviction frees a block where the hand is, not
// where a run can grow). Once nothing is left to evict, or mayEvict says no more, a set that
// evicted nothing refuses; otherwise the batches left to it run whatever the hint says (what was
// freed may lie between entries that moves must take out first), until one moves and merges
// nothing, at most maxBatches more. All within mayEvict and twice maxBatches (and the one
// eviction of wholeSearch before a refusal); a block larger than the pool is refused before
// anything is evicted.
function makeRoom(e, cls, units, state) {
  e.allocMisses++;
  // A block larger than the pool never fits, whatever is evicted: refused before any eviction.
  if (state.need > e.totalUnits - e.firstUnit) return false;
  const evicting = !state.drained && !state.nothingToEvict && mayEvict(state) &&
    (Atomics.load(e.u32, MARKING) !== 0 || evict.mayExpire(e));
  if (!state.anyClass) {
    if (evicting) {
      state.evictions++;
      state.handRan = true;
      const freed = evict.evictOne(e, cls);
      if (freed > 0) return evicted(state, freed);
      // The hand passed over no entry it could remove of any class: a search for any class would
      // find none either (but for concurrent writes), and costs up to two more turns.
      state.nothingToEvict = freed === evict.NOTHING_TO_EVICT;
      state.classCut = freed === evict.SEARCH_CUT;
    }
    state.anyClass = true;
  }
  // An eviction of any class frees a block smaller than `units` more often than not: an
  // allocation retried after it fails again, and a failed allocation of a large block walks the
  // whole large list. Such evictions go on here, without a retry, until a batch may merge what
  // they freed (or one freed a block that could hold it); a set needing a large block would
  // otherwise walk the large list once per eviction, tens of thousands of times. As write.cpp.
  // One write at a time makes room by joined runs (format.md §8, "The room lease"): two at once
  // took each other's blocks into their runs and broke them, and each evicted up to its bounds.
  // Taken here, before the first batch or eviction of step 2 or 3, holding no lock and no parked
  // block (returned before makeRoom runs). A write that had to wait retries its allocation
  // first: the room may be there now.
  if (evicting && !state.nothingToEvict && evict.takeRoomLease(e, state)) return true;
  for (let more = evicting && !state.nothingToEvict; ;) {
    // No batch while the set's run grows past a join (its evictions are contiguous: the run is
    // the room, and a batch's merge there would end it, format.md §8 "Joined runs").
    if (!state.drained && state.runJoined === 0 && compactFor(e, units, state)) return true;
    if (!more) break;
    state.evictions++;
    state.handRan = true;
    e.removedUnit = 0;
    const stamp = stampOf(e);
    // The block at the end of the set's run is removed even when a read marked it: the run is the
    // set's room (format.md §8, "Joined runs"). Only while no run of this round broke: once one
    // did (a pinned entry that could not move, another party's allocation, a refused join), the
    // evictions may go on to the round's bound, and a read entry there keeps its second chance.
    // A pinned entry there stops the hand whatever the marks.
    const runEnd = state.runUnits !== 0 ? state.runStart + state.runUnits : 0;
    const freed = evict.evictOne(e, -1, false, runEnd, state.waiveMarks);
    if (freed === evict.KEPT_AT_RUN_END) {
      // A pinned entry ends the run unless it moves down, to the run's head or below the run
      // (format.md §8, "Joined runs"): then its block joins the run as an evicted one's would,
      // counted against the same bound.
      const moved = keepOutOfRun(e, state);
      if (moved !== 0) {
        state.evictedUnits += moved;
        if (joinRemoved(e, state, units, stamp)) return true;
      }
      more = mayEvict(state);
      continue;
    }
    if (freed <= 0) break;
    if (evicted(state, freed) && freed >= units) return true;
    if (joinRemoved(e, state, units, stamp)) return true;
    more = mayEvict(state);
  }
  // A write that evicted nothing has nothing of its own to bring together: it refuses (a store
  // where nothing may be evicted, or all of it is pinned), unless the free space could hold it.
  if (state.removed === 0) {
    state.drained = true; // no hand again after a retry of the sweep's
    return sweepFor(e, units, state);
  }
  if (!state.drained) {
    // The batches run once nothing is left to evict (or the set evicted all it may) have a bound
    // of their own.
    state.drained = true;
    state.compacted = 0;
  }
  return compactFor(e, units, state, true) || wholeSearch(e, cls, state) || sweepFor(e, units, state) ||
    secondRound(state);
}

// A write that evicted and still found no room gets its bounds once more (format.md §8, "Making
// room", step 6): its evictions, batches and sweeps ran out while entries it may evict are left
// (a later set, with bounds of its own, would get in), and a set refused there would make the
// caller's retry do the same work. At most twice the bounds of one round, never more.
function secondRound(state) {
  if (state.secondRound || state.nothingToEvict) return false;
  state.secondRound = true;
  resetBounds(state);
  return true;
}

// Before a write refuses for want of space, when the store's free space could hold its block
// (listedUnits and the room after freeHead: hints): batches of compaction steps from the cursor,
// up to two sweeps of the pool, until one moved or merged anything (then retry), as compact() does
// (format.md §8, "Making room", step 5). Its bounds ran out while what was freed lay apart
// (between pinned entries, or far from where its evictions freed space): a later set would find
// the space, or a call of compact(); this set does not refuse for want of it.
function sweepFor(e, units, state) {
  const u32 = e.u32;
  const pool = 2 * (e.totalUnits - e.firstUnit + C.COMPACT_STEP_UNITS);
  const top = Math.min(u32[FREE_HEAD], e.totalUnits);
  // freedUnits too: a handle whose steps covered the pool without moving or merging anything
  // zeroes it (countedStep), so that sets refused one after another in a store whose free space
  // no step can bring together do not each sweep the pool.
  if (state.swept >= pool || u32[FREED_UNITS] < units || u32[LISTED_UNITS] + (e.totalUnits - top) < units) {
    return false;
  }
  while (state.swept < pool) {
    let changed = 0;
    for (let i = 0; i < STEPS_PER_BATCH && state.swept < pool; i++) {
      changed += countedStep(e, C.COMPACT_STEP_UNITS);
      // Each window reaches COMPACT_STEP_UNITS past the run it starts with, or the pool's end.
      state.swept += C.COMPACT_STEP_UNITS;
    }
    if (changed !== 0) return true;
  }
  return false;
}

// Before a set that asked the hand for its class refuses, when that search stopped at its bound
// (EVICT_CLASS_STEPS): one search for the class over the whole pool, which may find an entry
// whose block is the room where the evictions of any class left no run that could hold it.
// Returns whether to retry the allocation.
function wholeSearch(e, cls, state) {
  if (!state.classCut) return false;
  state.classCut = false;
  state.evictions++;
  state.handRan = true;
  const freed = evict.evictOne(e, cls, true);
  return freed > 0 && evicted(state, freed);
}

// After an eviction of any class: the set's run, the free blocks its evictions left in a row (the
// hand walks the pool in address order, so they mostly lie side by side), grows by the block it
// freed and the free blocks after it (its value's large block, holes); once the run could hold `units` it
// becomes one free block (joinFreed, in steps for a long run), and the allocation is retried (format.md §8, "Making room",
// joined runs). Without joins, evicted blocks sit apart on their class's lists until a batch of
// compaction steps, which starts at the compaction cursor, not where the hand freed them, merges
// them: a large value took far more evictions than its size, or was refused. Nothing changes
// before the join: a run that breaks (the hand kept entries between, marked or pinned) leaves its
// blocks on their lists, for the batches' moves to fill. Returns whether to retry.
function joinRemoved(e, state, units, stamp) {
  const u = e.removedUnit;
  if (u === 0) return false;
  const runEnd = state.runStart + state.runUnits;
  if (state.runUnits === 0 || u < runEnd || freeAfter(e, runEnd) <= u) {
    if (state.runUnits !== 0) state.waiveMarks = false; // the run broke
    state.runStart = u;
    state.runJoined = 0;
    state.runStamp = stamp; // read before the eviction that freed u
  }
  state.runUnits = freeAfter(e, u) - state.runStart;
  // A join walks the run under the allocator lock: one at least every COMPACT_STEP_UNITS units
  // (what a compaction step's window walks), so that a run for a value of many MiB never holds
  // the lock for a walk of the whole run. The part joined is one block the next walk steps over.
  const enough = state.runUnits >= units;
  if (!enough && state.runUnits - state.runJoined < C.COMPACT_STEP_UNITS) return false;
  const joined = joinFreed(e, state.runStart, state.runStart + state.runUnits, state.runStamp);
  state.runJoined = enough || joined === 0 ? 0 : joined;
  if (joined === 0) state.waiveMarks = false; // a join refused: the run is given up
  state.runStamp = (state.runStamp + 1) >>> 0; // the join's own addition to merged
  if (state.runJoined === 0) state.runUnits = 0;
  return enough && joined >= units;
}

// The hand stopped at a pinned entry at the end of the set's run (e.keptUnit): the entry is moved
// as a compaction step moves an entry (compact.js moveOutOfRun), to the head of the run's first
// block when that can hold it, else below the run. At the run's head it sits at the run's bottom,
// against what lies below the run, and the run starts after it: the pinned entries a run meets
// gather there, and its free space stays in one piece. Nothing is joined for it (a join changes
// the stamp every other write's run was started with, and refuses their joins), and the run's
// blocks are never its destination but for that head (a block inside the run would break it).
// Returns the units of the block the move freed, which then joins the run (e.removedUnit); 0 when
// nothing moved (no destination): the run ends there. As native's KeepOutOfRun.
function keepOutOfRun(e, state) {
  const u = e.keptUnit;
  e.keptUnit = 0;
  if (state.runUnits === 0 || u !== state.runStart + state.runUnits) return 0;
  const [freed, to, toUnits] = moveOutOfRun(e, u, state.runStart, state.runStamp);
  if (freed === 0) {
    // The run ends at the entry: broken, as by an entry the hand kept.
    state.runUnits = state.runJoined = 0;
    state.waiveMarks = false;
    return 0;
  }
  e.removedUnit = u;
  if (to === state.runStart) {
    // The head of the run's first block: the run starts after it (a carve leaves every other
    // block start in place, and the stamp unchanged).
    if (toUnits >= state.runUnits) state.runUnits = state.runJoined = 0; // the run was that block: one starts at u
    else {
      state.runStart += toUnits;
      state.runUnits -= toUnits;
      state.runJoined = state.runJoined > toUnits ? state.runJoined - toUnits : 0;
    }
  }
  return freed;
}

// The hand removed an entry for the set, freeing `freed` units: retry its allocation.
function evicted(state, freed) {
  state.removed++;
  state.evictedUnits += freed;
  return true;
}

// set()'s attempts until one succeeds or fails for good. state: { evictions, unit, and the claim
// on it: gc, keyHash, sum } (the large block being written, prepareLarge), handRan.
function setLoop(e, nsId, kl, h, value, vl, enc, cls, isLarge, state) {
  for (let repaired = false; ;) {
    if (isLarge && state.unit === 0) repaired = prepareLarge(e, h, value, vl, state, repaired);
    // An evicting store (some namespace may evict, format.md §8) makes room instead of
    // refusing; so does one where entries may have expired (the hand then removes only those),
    // which the count cells say only when the entry count is full (mayExpire reads every cell).
    // `marking` is a hint that may change right after any read of it: a plain load, as an
    // Atomics.load (a call into a builtin) would order nothing that matters here.
    const marking = e.u32[MARKING] !== 0;
    const may = mayEvict(state);
    // A block of a larger class may hold the entry while the set may evict, and once it evicted:
    // the block its last eviction freed (wholeSearch's, past the eviction bound) is its room.
    const larger = marking && (may || state.removed > 0);
    const r = setOnce(e, nsId, kl, h, value, vl, enc, cls, larger, state);
    if (r === STATUS.OK || r === INSERTED) {
      state.unit = 0; // linked: the entry owns it now
      afterSet(e, r === INSERTED);
      return;
    }
    if (r === LARGE_LOST) continue;
    if (r === FULL_SPACE && e.cache.units !== 0) {
      // Before evicting or coalescing, the blocks this handle holds back go to the free lists.
      if (!cache.returnParked(e, repairs.repair)) throw failure(STATUS.ERR_LOCK_TIMEOUT, 'set');
      continue;
    }
    if (r === FULL_COUNT) {
      // Any entry removed makes room for one more.
      const evicting = may && (marking || evict.mayExpire(e));
      state.evictions++;
      state.handRan ||= evicting;
      if (evicting) {
        const freed = evict.evictOne(e, -1);
        if (freed > 0) {
          state.evictedUnits += freed;
          continue;
        }
      }
      throw failure(STATUS.ERR_STORE_FULL, 'set');
    }
    if (r === FULL_SPACE) {
      if (makeRoom(e, cls, CLASS_UNITS[cls], state)) continue;
      throw failure(STATUS.ERR_STORE_FULL, 'set');
    }
    if (r !== NEED_REPAIR && r !== CORRUPT) throw failure(r, 'set');
    repaired = recover(e, r, h, repaired);
  }
}

// After a set that succeeded (its value is linked, its bucket lock released): the expiry sweep of
// an insert and the automatic compaction step. Nobody waits for either: one that meets a lock a
// live holder keeps (a LockError) is left to a later set, and the set still succeeds, as native's
// Set (format.md §8, "Expiry" and "When steps run").
function afterSet(e, inserted) {
  try {
    if (inserted) evict.sweepExpired(e);
    autoCompact(e);
  } catch (err) {
    if (!(err instanceof LockError)) throw err;
  }
}

// Allocates a large block for a value of vl bytes (evicting, bounded, when the store may) and
// fills it outside any bucket lock: nobody can reach it until an entry refers to it. Sets
// state.unit and the claim on it (state.gc, state.keyHash, state.sum: allocLarge(), then the
// words written here); returns `repaired` for recover().
function prepareLarge(e, h, src, vl, state, repaired) {
  const units = large.unitsForLarge(vl);
  for (;;) {
    const u = allocLarge(e, units, state);
    if (u > 0) {
      // The room lease, if taken for the large block, is kept until the entry's block is
      // allocated too (setLoop): the entry's allocation may evict, and that eviction would fall
      // in the run of the write that took the lease next.
      state.unit = u;
      break;
    }
    if (u === 0 && e.cache.units !== 0) {
      // This handle's parked blocks go back first, where a coalescing pass can merge them.
      if (!cache.returnParked(e, repairs.repair)) throw failure(STATUS.ERR_LOCK_TIMEOUT, 'set');
      continue;
    }
    if (u === 0) {
      if (makeRoom(e, -1, units, state)) continue;
      throw failure(STATUS.ERR_STORE_FULL, 'set');
    }
    repaired = recover(e, u, h, repaired);
  }
  const u32 = e.u32;
  const w = state.unit * UNIT_WORDS;
  const off = state.unit * UNIT + LARGE_HDR;
  if (typeof src === 'string') e.sbuf.utf8Write(src, off, vl);
  else e.u8.set(src, off);
  u32[w + LB.NEXT] = 0;
  u32[w + LB.VALUE_LENGTH] = vl;
  const sum = xxh32Aligned(u32, e.u8, off, vl, h);
  u32[w + LB.VALUE_CHECKSUM] = sum;
  u32[w + LB.KEY_HASH] = h;
  state.sum = sum;
  state.keyHash = h;
  return repaired;
}

// setOnce's results besides a status: the store is full (the entry count, or no block of the
// class), or a new entry was inserted (the expiry sweep runs after the lock is released).
const FULL_COUNT = -10;
const FULL_SPACE = -11;
const INSERTED = -12;
// A repair pass ran since the large block was allocated (and freed it): allocate again.
const LARGE_LOST = -14;

// One attempt of set under the bucket's lock: a status, NEED_REPAIR, CORRUPT, FULL_COUNT,
// FULL_SPACE, INSERTED or LARGE_LOST. With `larger`, a block of a larger class may be used
// (allocBlock). A large value's block is state.unit (prepareLarge).
function setOnce(e, nsId, kl, h, src, vl, enc, cls, larger, state) {
  const u32 = e.u32;
  const bw = bucketOf(e, h);
  const lw = bw + B_LOCK;
  if (e.locks.acquire(lw) === NEED_REPAIR) return NEED_REPAIR;
  if (!nsCurrent(e, nsId)) {
    e.locks.release(lw);
    return STATUS.ERR_NAMESPACE_DROPPED;
  }
  if (state.unit !== 0 && Atomics.load(u32, GC_COUNTER) !== state.gc) {
    // A repair pass ran since the allocation. One run by another handle kept the block (its
    // writer is live); one that freed it lets another writer have it: allocate again.
    if (!largeHeld(e, state.unit, state)) {
      e.locks.release(lw);
      state.unit = 0;
      return LARGE_LOST;
    }
    state.gc = Atomics.load(u32, GC_COUNTER);
  }
  const link = findLink(e, bw, nsId, kl, h);
  if (link === INVALID) {
    e.locks.release(lw);
    return CORRUPT; // a chain that is invalid under its lock: only repair can mend it
  }
  const old = link >= 0 ? u32[link] : 0;
  // An insert takes one entry of the grant under maxEntries, counted in a count cell (cells.js).
  const cell = old ? -1 : cells.take(e);
  if (!old && cell < 0) {
    e.locks.release(lw);
    return FULL_COUNT;
  }
  // A block this handle parked comes first: no allocator lock (format.md §8, "Parked blocks").
  // Else an insert takes a batch under one hold of it, the rest parked for its next inserts of
  // the class (a replacing set parks the block it frees instead). A set that ran the hand takes
  // one block from the allocator: the one the hand just freed, where quick demotion expects its
  // entry (format.md §8, "Eviction", step 6).
  const hand = state.handRan;
  let nu = hand ? 0 : cache.takeParked(e, cls);
  try {
    if (nu === 0) nu = hand || old ? allocBlock(e, cls, larger) : cache.refill(e, cls, larger);
  } catch (err) {
    nu = err; // a lock timeout: the bucket lock must not stay held
  }
  if (typeof nu !== 'number' || nu <= 0) {
    if (!old) cells.untake(e, cell);
    e.locks.release(lw);
    if (typeof nu !== 'number') throw nu;
    return nu === 0 ? FULL_SPACE : nu;
  }
  if (e.leaseHeld) evict.releaseRoomLease(e); // the room is made: the next write's turn (as write.cpp)
  const next = old ? u32[old * UNIT_WORDS + E_NEXT] : u32[bw + B_HEAD];
  // The block may be of a larger class than cls (allocBlock's `larger`): its flags say which.
  const blockCls = (u32[nu * UNIT_WORDS + E_FLAGS] >>> C.FLAG_CLASS_SHIFT) & C.FLAG_CLASS_MASK;
  if (state.unit !== 0) u32[state.unit * UNIT_WORDS + LB.WRITER] = 0; // linked by the store below
  writeEntry(e, nu, nsId, kl, h, src, vl, enc, blockCls, next, state.unit);
  e.nsc[nsId * NSC_WORDS + NSC_BYTES] += kl + vl - (old ? large.payloadOf(e, old) : 0);
  // The count of entries with an expiry (format.md §5, "Count cells"): one more before the store
  // that links an entry with one, one fewer after the store that unlinks one, so that the hint
  // errs towards running the hand. A set that replaces an entry changes it only when one of the
  // two has an expiry and the other none.
  const oldExpiring = old !== 0 && chain.expiresAtOf(e, old) !== 0;
  if (e.expiry !== 0 && !oldExpiring) cells.expiryLinked(e);
  // The one store that publishes the new entry (and unlinks the old one).
  Atomics.store(u32, old ? link : bw + B_HEAD, nu);
  if (oldExpiring && e.expiry === 0) cells.expiryUnlinked(e, 1);
  let st = 0;
  if (old) {
    // The old block is parked for this handle's next write, or freed (with the old value's large
    // block, if any).
    if (!cache.park(e, old)) {
      e.freeList[0] = old;
      st = freeBlocks(e, e.freeList, 1);
    }
  } else {
    u32[bw + B_COUNT]++;
    cells.inserted(e, nsId);
  }
  e.locks.release(lw);
  e.writes++;
  if (st === NEED_REPAIR) repairs.repair(e); // reclaims the block not freed
  return old ? STATUS.OK : INSERTED;
}

// Fills the unpublished block at unit `u`: header, key (from e.kb), value, checksum, and last
// the flags and the link, so that the block is whole before the store that publishes it. With
// `lu` (not 0) the value of vl bytes is in the large block at `lu`: the entry's value bytes are
// the reference and its flags say FLAG_INDIRECT (format.md §8, "Large values").
function writeEntry(e, u, nsId, kl, h, src, vl, enc, cls, next, lu) {
  const { u8, u16, u32, kb } = e;
  const w = u * UNIT_WORDS;
  const hw = u * UNIT_HALFS;
  const koff = u * UNIT + HDR;
  const inEntry = lu === 0 ? vl : C.INDIRECT_VALUE_BYTES;
  u32[w + E_HASH] = h;
  u16[hw + E_KEY_LENGTH] = kl;
  u16[hw + E_VALUE_LENGTH] = inEntry;
  u16[hw + E_NS] = nsId;
  // The expiry is an integer below 2^48: `>>> 0` is its low word and the rest divides exactly,
  // with no floating-point remainder or floor (which compiled code calls out of line for).
  const exp = e.expiry;
  const expLo = exp >>> 0;
  u32[w + E_EXP] = expLo;
  u16[hw + E_EXP_HI] = (exp - expLo) / 0x100000000;
  // The checksum covers the encoding and FLAG_INDIRECT (format.md §8): its seed is keyHash XOR
  // those flag bits. As int32 bits (the hash takes its seed `| 0`): a uint32 of 2^31 or more
  // passed to a call that is not inlined is boxed in a heap number.
  const indirect = lu === 0 ? 0 : FLAG_INDIRECT;
  const seed = h ^ enc ^ indirect;
  if (src === STAGED || isStaged(src)) {
    // Key and value are in e.kb (stageValue, stageBytes): copied and hashed in one pass.
    u32[w + E_SUM] = xxh32CopyWords(e.kb32, 0, u32, w + E_WORDS, u8, kl + vl, seed, null);
  } else {
    for (let i = 0; i < kl; i++) u8[koff + i] = kb[i];
    const voff = koff + kl;
    if (lu !== 0) {
      large.writeRef(e, voff, lu, vl);
    } else if (typeof src === 'string') {
      // As many UTF-8 bytes as UTF-16 units: every unit is ASCII, whose UTF-8 bytes are its
      // Latin-1 bytes, and copying those needs no encoder.
      if (vl === src.length) e.sbuf.latin1Write(src, voff, vl);
      else e.sbuf.utf8Write(src, voff, vl);
    } else if (vl < 64) {
      for (let i = 0; i < vl; i++) u8[voff + i] = src[i];
    } else {
      u8.set(src, voff);
    }
    u32[w + E_SUM] = xxh32Aligned(u32, u8, koff, kl + inEntry, seed);
  }
  // Plain stores, as every other word of the block (native's UnpublishedStore): nobody reaches
  // the block before the sequentially consistent store that publishes it, which orders them.
  u32[w + E_FLAGS] = (enc | indirect | (cls << C.FLAG_CLASS_SHIFT)) >>> 0;
  u32[w + E_NEXT] = next;
}

// After a write attempt that could not finish: runs the repair pass it needs and returns
// whether a pass for corruption has now run (a second one means the chain cannot be mended).
function recover(e, r, h, repaired) {
  if (r === NEED_REPAIR) {
    repairs.repair(e, false);
    return repaired;
  }
  if (repaired) throw corruptError(h & e.mask);
  repairs.repair(e);
  return true;
}

module.exports = { set, setEncoded, findLink, recover, INVALID, EXPIRY_NEVER, SCRATCH_BYTES };
// evict.js uses findLink above.
const evict = require('./evict');
