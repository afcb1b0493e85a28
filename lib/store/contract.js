'use strict';
// The store engine contract: the one interface that lib/store/store.js drives and that both
// engines implement, the native one (binding/store/, the addon's NativeStore) and the pure-JS
// one (lib/store/js/store.js, JsEngine). test/50-store/contract.test.js checks that each engine
// has exactly these methods, no more, and that both give the same results and the same errors.
//
// Conventions (the same for every method of both engines):
// - Arguments are already validated by the facade: namespace ids are ids this handle resolved
//   (or 0 where the method says so): a method given an id whose namespace was dropped since
//   throws with status ERR_NAMESPACE_DROPPED, and the facade resolves the name again, keys are strings of at most MAX_KEY_BYTES UTF-8 bytes, payloads are
//   strings or Uint8Arrays. An engine still refuses bad arguments with a TypeError or a
//   RangeError (code ERR_INVALID_ARG) and never crashes or corrupts the store on them.
// - Success returns the documented result. Every failure is thrown, as an Error whose numeric
//   `status` is a code of lib/base/status.js (STATUS.ERR_STORE_FULL, STATUS.ERR_LOCK_TIMEOUT,
//   ...). Nothing is signalled through a return value: no status returns, no negative ids, no
//   sentinel values. The facade turns `status` into the public error (statusError in
//   lib/store/store.js).
// - `out` is an Int32Array of W.GET_OUT.WORDS (10) on a SharedArrayBuffer, given to the
//   constructor: a get() that finds its entry leaves the GetOut words there (scripts/layout-spec.js):
//   the value's encoding (C.ENC_*) at W.GET_OUT.ENCODING, so that the hot path allocates nothing
//   for it, and the entry's unit, key hash, flags, checksum, key and value lengths and expiry as
//   the validated read saw them, for the facade's read cache (docs/format.md §9, "Cached reads").
//   A set() leaves the expiry the entry got (epoch ms, 0: never; the namespace's default TTL
//   resolved) in the same expiry words, W.GET_OUT.EXPIRES_AT (low 32 bits) and EXPIRES_AT_HI,
//   so that a logged set needs no second lookup for it.
const { W } = require('../layout/layout');

const OUT_EXPIRY = W.GET_OUT.EXPIRES_AT;
const OUT_WORDS = W.GET_OUT.WORDS;

const STATICS = Object.freeze({
  // Formats `buffer` as an empty store. Throws with `status` if the geometry does not fit.
  // policy: the store's default eviction policy (C.POLICY_NONE, the default, or C.POLICY_CLOCK).
  create: { args: ['buffer', 'bucketCount', 'maxEntries', 'policy'], returns: 'undefined' },
});

const METHODS = Object.freeze({
  get: { args: ['nsId', 'key'], returns: 'string | Uint8Array | undefined (GetOut words in out)' },
  has: { args: ['nsId', 'key'], returns: 'boolean' },
  // expiresAt: 0 takes the namespace's default TTL, -1 stores no expiry, else epoch ms.
  set: { args: ['nsId', 'key', 'payload', 'encoding', 'expiresAt'], returns: 'undefined' },
  // set() with the key and payload already encoded: the key's UTF-8 bytes at bytes[keyAt] (a
  // Uint8Array), the payload's right after them (a logged set's record holds both), taken as
  // they are.
  setEncoded: {
    args: ['nsId', 'bytes', 'keyAt', 'keyLength', 'valueLength', 'encoding', 'expiresAt'], returns: 'undefined',
  },
  expiresAt: { args: ['nsId', 'key'], returns: 'number (-1: absent or expired; 0: no expiry; else epoch ms)' },
  // policy: C.POLICY_* or -1 (unchanged); ttlMs: the default TTL (0: none) or -1 (unchanged).
  configureNamespace: { args: ['nsId', 'policy', 'ttlMs'], returns: 'undefined' },
  // An expired entry (as a read judges it; for clear, at the instant it starts) is removed too,
  // counted as an expiration, not in the result (docs/api.md).
  delete: { args: ['nsId', 'key'], returns: 'boolean (a live entry was removed)' },
  clear: { args: ['nsId'], returns: 'number (live entries removed)' },
  // Drops the namespace (docs/format.md §5, "Dropping"); its id may then be reused.
  dropNamespace: { args: ['nsId'], returns: 'number (entries removed)' },
  count: { args: ['nsId (0: the whole store)'], returns: 'number' },
  keys: { args: ['nsId'], returns: 'string[]' },
  entries: { args: ['nsId'], returns: '[key, payload, encoding][]' },
  resolveNamespace: { args: ['name', 'create'], returns: 'number (id; 0: absent and create false)' },
  namespaces: { args: [], returns: '[name, id, count, policy, ttlMs, hits, misses, evictions, expirations, bytes][]' },
  stats: { args: [], returns: 'object (the fields of docs/api.md store.stats())' },
  // Adds the handle's private read/write and namespace counts to the shared counters (§3, §5).
  flushCounters: { args: [], returns: 'undefined' },
  // Counts `hits` gets the facade's read cache answered as the handle's reads and namespace hits,
  // exactly as get() counts its own (flushed with them).
  addHits: { args: ['nsId', 'hits'], returns: 'undefined' },
  // progress: undefined, or an Int32Array of length >= 2 kept at [work done, work in all].
  verify: { args: ['progress'], returns: '{ ok, errors, entries, liveUnits, freeUnits, leakedUnits, parkedUnits }' },
  repair: { args: [], returns: 'undefined' },
  // One step of the incremental compaction (format.md §8, "Compaction"), a window of at most
  // maxUnits (1..COMPACT_STEP_UNITS) units.
  compactStep: { args: ['maxUnits'], returns: '[moved, movedUnits, merged, obstacles, start, end, cursor, done]' },
  close: { args: [], returns: 'undefined' },
});

// The constructor: (buffer, pid, tid, lockTimeoutMs, out). It attaches to the store in
// `buffer` (claiming an owner slot) or throws with `status` (ERR_BAD_MAGIC, ...).
const CONSTRUCTOR_ARGS = Object.freeze(['buffer', 'pid', 'tid', 'lockTimeoutMs', 'out']);

// The names an engine exposes: the static functions of its class, and the public methods of an
// instance, its own properties (the native engine binds its methods to each handle) and its
// prototype chain alike. Names starting with '_' are private to the engine.
function surfaceOf(Engine, instance) {
  const statics = Object.getOwnPropertyNames(Engine)
    .filter((n) => typeof Engine[n] === 'function' && !n.startsWith('_'));
  const methods = new Set();
  for (let p = instance; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const n of Object.getOwnPropertyNames(p)) {
      if (n === 'constructor' || n.startsWith('_')) continue;
      const d = Object.getOwnPropertyDescriptor(p, n);
      if (typeof d.value === 'function') methods.add(n);
    }
  }
  return { statics: statics.sort(), methods: [...methods].sort() };
}

module.exports = { STATICS, METHODS, CONSTRUCTOR_ARGS, surfaceOf, OUT_EXPIRY, OUT_WORDS };
