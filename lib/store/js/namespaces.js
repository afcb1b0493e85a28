'use strict';
// Namespaces of the pure-JS engine (docs/format.md §5): lookup by name through the name index
// without a lock (a live record never changes until a drop starts, which changes its generation
// first), creation and the two steps of a drop under NsState.lock.
const { C, W, AT, STATUS } = require('../../layout/layout');
const { NEED_REPAIR } = require('./locks');
const repairs = require('./repair');
const { utf8Into } = require('./read');
const { failure } = require('./failure');
const { NSC_WORDS, nsCurrent, resolved } = require('./counts');
const remove = require('./remove');
const { flushCounters } = require('./stats');
const index = require('./ns-index');
const cells = require('./cells');

const NS = W.NAMESPACE;
const POL = W.NS_POLICY;
const MARKING = AT.EVICT_STATE.MARKING;
// Record `i` of the namespace policy table: its first word, and its u64 fields as indices of
// the handle's BigUint64Array over that table (e.big).
const policyWord = (e, i) => e.polBase + i * POL.WORDS;
const policyBig = (i, field) => (i * POL.WORDS + field) / 2;
const U64_FIELDS = [POL.TTL_MS, POL.HITS, POL.MISSES, POL.EVICTIONS, POL.EXPIRATIONS, POL.BYTES];
const NS_LOCK = AT.NS_STATE.LOCK;
const NS_LIVE = AT.NS_STATE.LIVE_COUNT;
const FREE_HINT = AT.NS_STATE.FREE_HINT;
const recordWord = (e, i) => e.nsBase + i * NS.WORDS;

function lockNamespaces(e) {
  while (e.locks.acquire(NS_LOCK) === NEED_REPAIR) repairs.repair(e, false);
}

// Returns the id of namespace `name`, or 0 when absent (and create is false). Records the
// generation it saw in e.nsGen (format.md §5, "Dropping").
function resolve(e, name, create) {
  const kl = utf8Into(name, e.kb, C.MAX_NAMESPACE_BYTES);
  if (kl <= 0) throw new RangeError(`The "name" argument must be 1 to ${C.MAX_NAMESPACE_BYTES} UTF-8 bytes`);
  const hash = index.nameHash(e.kb, 0, kl);
  const probe = { sure: false };
  let id = index.find(e, kl, hash, probe);
  if (id || (!create && probe.sure)) return id;
  for (let repaired = false; ;) {
    lockNamespaces(e);
    // Under the lock the index is stable: what the probe finds is the answer.
    id = index.find(e, kl, hash, probe);
    if (id || !create) break;
    id = createLocked(e, kl, hash);
    if (id > 0 || repaired || !anyDropping(e)) break;
    // No free record, but a drop's record is not free yet: a repair pass finishes a drop whose
    // dropper died (and waits for none), then the creation is tried once more.
    e.locks.release(NS_LOCK);
    repairs.repair(e);
    repaired = true;
  }
  e.locks.release(NS_LOCK);
  if (id < 0) throw failure(-id, 'namespace');
  return id;
}

function anyDropping(e) {
  for (let i = 1; i <= e.maxNs; i++) {
    if (Atomics.load(e.u32, recordWord(e, i) + NS.STATE) === C.NS_STATE_DROPPING) return true;
  }
  return false;
}

// Under NsState.lock: takes the lowest record that is neither live nor being dropped for the
// name in e.kb[0..kl). Returns its id, or -ERR_TOO_MANY_NAMESPACES. No record below
// NsState.freeHint is free (format.md §5); the second round runs only when the hint was damaged.
function createLocked(e, kl, hash) {
  let hint = e.u32[FREE_HINT];
  if (hint === 0 || hint > e.maxNs) hint = 1;
  for (let round = 0; round < 2; round++) {
    const to = round === 0 ? e.maxNs : hint - 1;
    for (let i = round === 0 ? hint : 1; i <= to; i++) {
      const r = recordWord(e, i);
      // Any state but live or dropping is reusable (format.md §5), and the record starts afresh:
      // a count left by a creator that died, or by damage, must not become the new namespace's.
      // The generation stays: it is what tells the handles of a dropped namespace apart.
      const state = Atomics.load(e.u32, r + NS.STATE);
      if (state === C.NS_STATE_LIVE || state === C.NS_STATE_DROPPING) continue;
      e.u32[r + NS.NAME_LENGTH] = kl;
      e.u32[r + NS.NAME_HASH] = hash;
      resolved(e, i, Atomics.load(e.u32, r + NS.GENERATION));
      const off = index.nameOffset(e, i);
      e.u8.fill(0, off, off + e.nameSize);
      e.u8.set(e.kb.subarray(0, kl), off);
      // The policy record starts afresh too: no policy, TTL or count of an earlier namespace.
      resetPolicy(e, i);
      // And so do this handle's counts, which resolved() keeps when the generation is unchanged:
      // a read through an id this handle never resolved (generation 0 here, as in a record never
      // used) counts in the id's slot.
      e.nsc.fill(0, i * NSC_WORDS, (i + 1) * NSC_WORDS);
      cells.clearNs(e, i);
      Atomics.store(e.u32, r + NS.STATE, C.NS_STATE_LIVE);
      index.insert(e, i, hash);
      Atomics.add(e.u32, NS_LIVE, 1);
      Atomics.store(e.u32, FREE_HINT, i + 1);
      return i;
    }
  }
  return -STATUS.ERR_TOO_MANY_NAMESPACES;
}

// Drops namespace `id` (format.md §5, "Dropping"): returns how many entries it removed. Throws
// ERR_NAMESPACE_DROPPED when the id is not the namespace this handle resolved.
function drop(e, id) {
  lockNamespaces(e);
  if (!nsCurrent(e, id)) {
    e.locks.release(NS_LOCK);
    throw failure(STATUS.ERR_NAMESPACE_DROPPED, 'dropNamespace');
  }
  const r = recordWord(e, id);
  // The state first: from here every write that takes a bucket lock refuses the id; then the
  // generation, so that a lookup that saw the record live before this drop cached the old one.
  const gen = (Atomics.load(e.u32, r + NS.GENERATION) + 1) >>> 0;
  Atomics.store(e.u32, r + NS.STATE, C.NS_STATE_DROPPING);
  Atomics.store(e.u32, r + NS.GENERATION, gen);
  Atomics.sub(e.u32, NS_LIVE, 1);
  // Out of the index: a lookup of the name misses from here on.
  index.remove(e, id);
  e.locks.release(NS_LOCK);
  const dropping = () => Atomics.load(e.u32, r + NS.STATE) === C.NS_STATE_DROPPING &&
    Atomics.load(e.u32, r + NS.GENERATION) === gen;
  let removed = remove.clearDropping(e, id, dropping);
  // Negative: a repair pass finished the drop (and freed the record) while this one ran.
  if (removed < 0) removed = -1 - removed;
  lockNamespaces(e);
  if (dropping()) freeRecord(e, id);
  e.locks.release(NS_LOCK);
  e.nsc.fill(0, id * NSC_WORDS, (id + 1) * NSC_WORDS);
  return removed;
}

// Under NsState.lock, or by a repair pass: a dropping record (its entries gone) becomes free,
// its policy record and count reset.
function freeRecord(e, id) {
  resetPolicy(e, id);
  cells.clearNs(e, id);
  Atomics.store(e.u32, recordWord(e, id) + NS.STATE, C.NS_STATE_FREE);
  if (e.u32[FREE_HINT] > id) Atomics.store(e.u32, FREE_HINT, id);
}

function resetPolicy(e, id) {
  Atomics.store(e.u32, policyWord(e, id) + POL.POLICY, C.POLICY_INHERIT);
  for (const f of U64_FIELDS) Atomics.store(e.big, policyBig(id, f), 0n);
}

// Sets namespace `id`'s eviction policy and default TTL in ms (0: none); -1 leaves a setting as
// it is. Under NsState.lock, as a drop's first and last steps and a creation are: a drop that
// starts after the check makes it fail, one that started before resets the record after these
// stores, and no store lands in a record a drop freed and a new namespace took meanwhile
// (format.md §5, "Namespace policy records").
function configure(e, id, policy, ttlMs) {
  if (!Number.isInteger(policy) || policy < -1 || policy > C.POLICY_CLOCK ||
      !Number.isSafeInteger(ttlMs) || ttlMs < -1) {
    throw new RangeError('The "policy" or "ttlMs" argument is out of range');
  }
  lockNamespaces(e);
  try {
    if (!nsCurrent(e, id)) throw failure(STATUS.ERR_NAMESPACE_DROPPED, 'namespace');
    if (ttlMs >= 0) Atomics.store(e.big, policyBig(id, POL.TTL_MS), BigInt(ttlMs));
    if (policy >= 0) {
      // Readers mark hits, and full stores evict, once any namespace may be evicted.
      if (policy === C.POLICY_CLOCK) Atomics.store(e.u32, MARKING, 1);
      Atomics.store(e.u32, policyWord(e, id) + POL.POLICY, policy);
    }
  } finally {
    e.locks.release(NS_LOCK);
  }
}

// [name, id, count, policy, ttlMs, hits, misses, evictions, expirations, bytes] of every live
// namespace; flushes this handle's counts first.
// Reads of one namespace record by list() while drops keep changing its generation: each retry
// follows a drop and a creation that both completed meanwhile.
const ROW_ATTEMPTS = 16;

// [name, id, count, policy, ttlMs, hits, misses, evictions, expirations, bytes, generation] of
// every live namespace. The generation is loaded before the state and again after every field,
// as a lookup does (format.md §5): a drop stores state 1 and then the next generation before it
// zeroes the counters or a creation reuses the record, so equal loads make the row one life of
// the namespace, (id, generation), never the counters of one life under the generation of the
// next. A record dropped in between is read again; one no longer live, or still changing after
// ROW_ATTEMPTS reads, is left out, as a dropping one is.
function list(e) {
  flushCounters(e);
  const out = [];
  for (let i = 1; i <= e.maxNs; i++) {
    const r = recordWord(e, i);
    for (let attempt = 0; attempt < ROW_ATTEMPTS; attempt++) {
      const gen = Atomics.load(e.u32, r + NS.GENERATION);
      if (Atomics.load(e.u32, r + NS.STATE) !== C.NS_STATE_LIVE) break;
      const off = index.nameOffset(e, i);
      const len = Math.min(e.u32[r + NS.NAME_LENGTH], C.MAX_NAMESPACE_BYTES);
      const name = e.sbuf.toString('utf8', off, off + len);
      const row = [name, i, cells.nsCount(e, i), Atomics.load(e.u32, policyWord(e, i) + POL.POLICY)];
      for (const f of U64_FIELDS) row.push(Number(Atomics.load(e.big, policyBig(i, f))));
      // bytes is a gauge built from flushed changes (may be off until a repair pass): never below 0.
      if (row[9] >= 2 ** 63) row[9] = 0;
      row.push(gen);
      if (Atomics.load(e.u32, r + NS.GENERATION) !== gen) continue;
      out.push(row);
      break;
    }
  }
  return out;
}

module.exports = { resolve, list, configure, drop };
