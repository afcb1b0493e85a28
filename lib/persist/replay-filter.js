'use strict';
// The replay filter of a recovery from a snapshot (docs/format.md §16, "Recovery"). A checkpoint's
// snapshot reads each key when it comes to it, so it may hold a write made after its start S
// while missing an earlier one that the log from S also holds (set Y, delete Y, set X: X caught,
// Y not). Replaying the log over such a snapshot gives the right final state, but a state on the
// way can hold more than the store ever did (X and Y at once) and a store that was full refuses
// it. A key the log from S touches has its final state from the log alone, and so has every key
// of a namespace the log clears or drops: the recovery loads none of those from the snapshot.
// Only the records written while the snapshot was read can make it fuzzy: those from S to the
// tail its trailer records (endLsn); a key first touched after that had its value as of S in the
// snapshot, and its records apply over it in order.
// Every state of the replay is then the store's own state at that point of the log, less what
// eviction or expiry removed since.
const { C } = require('../layout/layout');
const { xxh32 } = require('../base/xxhash');
const { scanLog } = require('./record');

const KEY_SEED = C.REPLAY_FILTER_KEY_SEED;
const NS_SEED = C.REPLAY_FILTER_NS_SEED;
// The most filter bytes: the addon takes up to 2^28.
const MAX_BYTES = 1 << 24;
const BITS_PER_BYTE = 8;

class ReplayFilter {
  constructor() {
    this.keys = new Map(); // namespace -> Set of keys the log sets or deletes
    this.whole = new Set(); // namespaces the log clears or drops
    this.hashes = []; // their XXH32s (the bits of the filter)
    this.bits = null; // Uint8Array, made by seal()
  }

  /** Takes note of a log record (parseRecord()'s object). */
  note(r) {
    if (r.type === C.WAL_REC_SET || r.type === C.WAL_REC_DELETE) {
      let set = this.keys.get(r.ns);
      if (set === undefined) this.keys.set(r.ns, (set = new Set()));
      if (set.has(r.key)) return;
      set.add(r.key);
      // The namespace's bytes and the key's, one after the other, as a record holds them.
      const b = Buffer.from(r.ns + r.key, 'utf8');
      this.hashes.push(xxh32(b, 0, b.length, KEY_SEED));
    } else if (r.type === C.WAL_REC_CLEAR || r.type === C.WAL_REC_NS_DROP) {
      if (this.whole.has(r.ns)) return;
      this.whole.add(r.ns);
      const b = Buffer.from(r.ns, 'utf8');
      this.hashes.push(xxh32(b, 0, b.length, NS_SEED));
    }
  }

  /** Makes the bits (REPLAY_FILTER_BITS_PER_NAME a name or more, a power of two bytes). */
  seal() {
    let bytes = 8;
    while (bytes < MAX_BYTES && bytes * BITS_PER_BYTE < this.hashes.length * C.REPLAY_FILTER_BITS_PER_NAME) bytes *= 2;
    const bits = new Uint8Array(bytes);
    const mask = bytes * BITS_PER_BYTE - 1;
    for (const h of this.hashes) {
      const b = h & mask;
      bits[b >>> 3] |= 1 << (b & 7);
    }
    this.hashes = [];
    this.bits = bits;
    return this;
  }

  /** Whether the log from S decides the final state of `key` of namespace `ns`. */
  skips(ns, key) {
    if (this.whole.has(ns)) return true;
    const set = this.keys.get(ns);
    return set !== undefined && set.has(key);
  }

  get empty() {
    return this.keys.size === 0 && this.whole.size === 0;
  }
}

/**
 * The filter of the records before LSN `endLsn` (the snapshot's trailer says where its reads
 * ended: no record after it has an effect in the snapshot; Infinity when it does not say) in the
 * log files `files` (start LSN and path of each, in order): each one's valid prefix, as a
 * recovery replays it (a damaged file is left to the replay to report).
 */
function touchedBy(files, endLsn) {
  const filter = new ReplayFilter();
  for (const [start, file] of files) {
    if (start >= endLsn) break;
    scanLog(file, (r) => filter.note(r), null, endLsn);
  }
  return filter.seal();
}

module.exports = { touchedBy };
