'use strict';
// The per-handle read cache of the store facade (docs/format.md §9, "Cached reads"): a get of an
// entry this handle read before is answered from the handle's own memory, without calling the
// engine, once the shared bytes prove on that very read that the entry is unchanged. Both engines
// share it: the native engine's store is a SharedArrayBuffer the facade reads as well.
//
// A record remembers, from a read the engine validated (its GetOut words, lib/store/contract.js):
// the entry's unit, its bucket, the header words (flags without ACCESSED, keyHash, namespaceId,
// lengths, expiresAt, checksum) and the decoded-ready value text. A hit re-reads those words
// between two loads of the bucket's lock word, after finding the unit on the bucket's chain, and
// answers only when everything is equal; the argument is in format.md. Anything else (a record
// that does not validate, a miss) goes to the engine, whose hit refreshes the record.
const v = require('../base/validate');
const { C, S, W, H, AT, BASE, UNIT_WORDS, UNIT_HALFS, storeRegions } = require('../layout/layout');

const DEFAULT_ENTRIES = 4096;
const DEFAULT_MAX_VALUE_BYTES = 4096;
// The largest `entries` option (maxValueBytes is bounded by the longest inline value).
const MAX_ENTRIES = 1 << 20;

// A bucket's chain longer than this is not walked by a hit (the engine's read is then as cheap as
// any): with the default sizing a chain holds about two entries.
const MAX_WALK = 16;
// The key hashes of recent reads that made no record, for admission on the second read: two
// tables indexed by different bits of the hash, so that two keys read in turn that share a slot
// in one still meet their own hash in the other.
const SEEN_SLOTS = 8192;
// Lookups are sampled, one get in SAMPLE_STRIDE, after a window of WINDOW lookups of which fewer
// than one in HIT_RATIO hit (get()); each further such window doubles the stride up to
// MAX_STRIDE. A sampled lookup hashes a key the engine's read does not need hashed as a string
// (measured: at one get in 16 a cache-resident miss cost 10% more than without the cache); at
// MAX_STRIDE a window is 65,536 gets, and one window with hits enough looks at every get again.
const WINDOW = 256;
const HIT_RATIO = 8;
const SAMPLE_STRIDE = 16;
const MAX_STRIDE = 256;

const GC = AT.HEADER.GC_COUNTER;
const MARKING = AT.EVICT_STATE.MARKING;
const BUCKET_WORDS = W.BUCKET.WORDS;
const B_HEAD = W.BUCKET.HEAD;
const B_LOCK = W.BUCKET.LOCK;
const E_NEXT = W.ENTRY.NEXT;
const E_HASH = W.ENTRY.KEY_HASH;
const E_NS = H.ENTRY.NAMESPACE_ID;
const E_FLAGS = W.ENTRY.FLAGS;
const E_SUM = W.ENTRY.CHECKSUM;
const E_EXP = W.ENTRY.EXPIRES_LO;
const E_EXP_HI = H.ENTRY.EXPIRES_HI;
const E_KEY_LENGTH = H.ENTRY.KEY_LENGTH;
const E_VALUE_LENGTH = H.ENTRY.VALUE_LENGTH;
const NS_STATE = W.NAMESPACE.STATE;
const NS_GEN = W.NAMESPACE.GENERATION;
const NS_WORDS = W.NAMESPACE.WORDS;
const O = W.GET_OUT;
const ACCESSED = C.FLAG_ACCESSED;
// Flags that a live, inline entry never has.
const NOT_CACHED = C.FLAG_FREE | C.FLAG_PARKED | C.FLAG_INDIRECT;
// By encoding: binary values (mutable Buffers) are not cached.
const TEXT = [false, true, true];
// CPUs whose loads are not reordered with loads (ReadCache.fits).
const ORDERED_LOADS = process.arch === 'x64' || process.arch === 'ia32';

// options.readCache: undefined or true (the defaults), false (no cache), or { entries,
// maxValueBytes }. Returns null for no cache, else the settings. Checked before anything is
// created or opened.
function readCacheOptions(opt) {
  if (opt === undefined || opt === true) return { entries: DEFAULT_ENTRIES, maxValueBytes: DEFAULT_MAX_VALUE_BYTES };
  if (opt === false) return null;
  if (opt === null || typeof opt !== 'object' || Array.isArray(opt)) {
    throw v.invalidType('options.readCache', 'a boolean or an object', opt);
  }
  v.validateKeys(opt, 'options.readCache', ['entries', 'maxValueBytes']);
  const entries = opt.entries === undefined ? DEFAULT_ENTRIES : opt.entries;
  const maxValueBytes = opt.maxValueBytes === undefined ? DEFAULT_MAX_VALUE_BYTES : opt.maxValueBytes;
  v.validateInteger(entries, 'options.readCache.entries', 0, MAX_ENTRIES);
  v.validateInteger(maxValueBytes, 'options.readCache.maxValueBytes', 0, C.MAX_INLINE_VALUE_BYTES);
  if (entries === 0) return null;
  return { entries, maxValueBytes };
}

// One namespace id as this handle's records know it: the generation the engine confirmed, and
// the hits answered from the cache since the last flush.
class NsRecord {
  constructor(id, gen, nsBase) {
    this.id = id;
    this.gen = gen;
    this.state = nsBase + id * NS_WORDS + NS_STATE;
    this.genWord = nsBase + id * NS_WORDS + NS_GEN;
    this.hits = 0;
  }
}

// What a hit compares, all read from one validated engine read.
class CachedEntry {
  constructor(ns, unit, bucket, out, value) {
    this.ns = ns; // NsRecord
    this.other = undefined; // the record of the same key in another namespace
    this.set(unit, bucket, out, value);
  }

  set(unit, bucket, out, value) {
    this.unit = unit;
    this.head = bucket + B_HEAD;
    this.lock = bucket + B_LOCK;
    // Header words as int32 (the `out` array and the store's i32 view): small integers for V8,
    // where a u32 above 2^31 would be a heap number.
    this.keyHash = out[O.KEY_HASH];
    this.flags = out[O.FLAGS] & ~ACCESSED;
    this.sum = out[O.CHECKSUM];
    this.keyLength = out[O.KEY_LENGTH];
    this.valueLength = out[O.VALUE_LENGTH];
    this.expLo = out[O.EXPIRES_AT];
    this.expHi = out[O.EXPIRES_AT_HI];
    this.expires = (this.expHi >>> 0) * 0x100000000 + (this.expLo >>> 0);
    this.json = out[O.ENCODING] === C.ENC_JSON;
    this.value = value;
  }
}

// The header words of the block at `unit` equal those of record `r` (flags compared without
// ACCESSED). The one place that reads entry fields for a hit: every index comes from the
// generated layout. Returns the flags read (0 when they differ: a live entry's are never 0,
// its class bits aside, since a cached entry has a text encoding).
function sameHeader(i32, u16, unit, r) {
  const w = unit * UNIT_WORDS;
  const h = unit * UNIT_HALFS;
  const f = i32[w + E_FLAGS];
  if ((f & ~ACCESSED) !== r.flags || i32[w + E_HASH] !== r.keyHash || u16[h + E_NS] !== r.ns.id ||
    i32[w + E_SUM] !== r.sum || u16[h + E_KEY_LENGTH] !== r.keyLength ||
    u16[h + E_VALUE_LENGTH] !== r.valueLength || i32[w + E_EXP] !== r.expLo ||
    u16[h + E_EXP_HI] !== r.expHi) {
    return 0;
  }
  return f;
}

class ReadCache {
  // `buffer`: the store's bytes (any engine's); `out`: the facade's GetOut array.
  constructor(buffer, out, settings) {
    const hdr = new Uint32Array(buffer, 0, C.HEADER_SIZE / 4);
    const bucketCount = hdr[S.HEADER.BUCKET_COUNT / 4];
    const maxNs = hdr[S.HEADER.MAX_NAMESPACES / 4];
    const totalSize = Number(new BigUint64Array(buffer, 0, C.HEADER_SIZE / 8)[S.HEADER.TOTAL_SIZE / 8]);
    this.u32 = new Uint32Array(buffer, 0, totalSize / 4);
    this.i32 = new Int32Array(buffer, 0, totalSize / 4);
    this.u16 = new Uint16Array(buffer, 0, totalSize / 2);
    this.totalUnits = totalSize / C.BLOCK_UNIT;
    this.mask = bucketCount - 1;
    this.nsBase = storeRegions(bucketCount, maxNs).namespaces / 4;
    this.out = out; // an Int32Array of W.GET_OUT.WORDS
    this.capacity = settings.entries;
    this.maxValueBytes = settings.maxValueBytes;
    this.map = new Map(); // key -> CachedEntry (then .other for the key in other namespaces)
    this.size = 0;
    this.nsRecords = new Map(); // namespace id -> NsRecord
    this.gc = Atomics.load(this.u32, GC);
    this.seen = new Int32Array(2 * SEEN_SLOTS);
    this.gen0 = 0; // before()
    this.stale = undefined; // the record the last get() found and could not answer from
    this.lastNs = undefined; // the NsRecord of the last fill
    this.pending = []; // [id, hits] of NsRecords forgotten before their hits were taken
    // Lookups and hits of the current window, and one get in `stride` looks (get()).
    this.lookups = 0;
    this.windowHits = 0;
    this.stride = 1;
    this.tick = 0;
    this.looked = false; // whether the last get() looked (then before() and fill() apply)
  }

  // Whether this handle may cache: on a CPU that keeps loads in order (x86, format.md §9 "Cached
  // reads": a hit does not re-hash the value, so it cannot catch a load satisfied out of order as
  // the engines' readers do), and a store of up to 4 GiB (as the JS engine), so that its u32 and
  // u16 views have lengths V8 allows everywhere. Otherwise the handle reads through its engine.
  static fits(buffer) {
    if (!ORDERED_LOADS) return false;
    const hdr = new BigUint64Array(buffer, 0, C.HEADER_SIZE / 8);
    return hdr[S.HEADER.TOTAL_SIZE / 8] <= 2n ** 32n;
  }

  // The value of `key` in namespace `id` from a record that validates, or undefined (the caller
  // then reads through the engine, calling before() and fill()).
  get(id, key) {
    // While few lookups hit (reads spread over more keys than the cache holds), only one get in
    // SAMPLE_STRIDE looks, and only its engine read may fill: a lookup hashes the key string and
    // admission touches a random line of the `seen` tables, which a read through the engine
    // would not pay for. The sampled lookups tell when hits are frequent again.
    this.looked = false;
    if (this.stride !== 1 && ++this.tick < this.stride) return undefined;
    this.tick = 0;
    this.looked = true;
    this.stale = undefined; // fill() reads it only after a get that looked
    if (++this.lookups === WINDOW) this.endWindow();
    let r = this.map.get(key);
    while (r !== undefined && r.ns.id !== id) r = r.other;
    if (r === undefined) return undefined;
    const { u32 } = this;
    // A plain load: this cache runs only where loads are not reordered with loads (fits()), and
    // the second look at the word, which decides, is an Atomics.load.
    const v1 = u32[r.lock];
    if ((v1 & 1) !== 0) return this.miss(r);
    // Records filled before a repair pass are dropped (they would fail the checks below anyway).
    if (u32[GC] !== this.gc) {
      this.clear();
      this.gc = u32[GC];
      return undefined;
    }
    // The unit must be on the bucket's chain (not just look like an entry: format.md §9).
    let u = u32[r.head];
    for (let n = 0; u !== r.unit; n++) {
      if (u === 0 || u >= this.totalUnits || n === MAX_WALK) return this.miss(r);
      u = u32[u * UNIT_WORDS + E_NEXT];
    }
    const f = sameHeader(this.i32, this.u16, u, r);
    if (f === 0 || Atomics.load(u32, r.lock) !== v1) return this.miss(r);
    // After the read, as the engines check it (format.md §5, "Dropping").
    const ns = r.ns;
    if (u32[ns.state] !== C.NS_STATE_LIVE || u32[ns.genWord] !== ns.gen) return this.miss(r);
    // Expired: the engine counts the miss and removes the entry.
    if (r.expires !== 0 && r.expires <= Date.now()) return this.miss(r);
    // The CLOCK mark exactly as an engine hit sets it (format.md §8, "Eviction").
    if ((f & ACCESSED) === 0 && u32[MARKING] !== 0) Atomics.compareExchange(this.i32, u * UNIT_WORDS + E_FLAGS, f, f | ACCESSED);
    ns.hits++;
    this.windowHits++;
    return r.json ? JSON.parse(r.value) : r.value;
  }

  // get() found record `r` and could not answer from it: fill() refreshes it after the engine's
  // read. Stored only then, as a hit stores no object (its write barrier costs a hit some ns).
  miss(r) {
    this.stale = r;
    return undefined;
  }

  // After WINDOW lookups: look on every get while at least one lookup in HIT_RATIO hit, else
  // sample, more sparsely after each window with few hits.
  endWindow() {
    if (this.windowHits * HIT_RATIO >= WINDOW) this.stride = 1;
    else this.stride = this.stride === 1 ? SAMPLE_STRIDE : Math.min(2 * this.stride, MAX_STRIDE);
    this.lookups = 0;
    this.windowHits = 0;
  }

  // Before an engine get of namespace `id`: the generation a record it fills will be checked
  // against. Read first: the engine confirms the namespace after its read, so a generation read
  // before it is the one the handle resolved (generations only grow).
  before(id) {
    this.gen0 = Atomics.load(this.u32, this.nsBase + id * NS_WORDS + NS_GEN);
  }

  // After an engine get of `key` in namespace `id` returned `raw` (a hit: the GetOut words are in
  // `out`). Refreshes the record get() found, or makes one when the key was read before
  // (admission on the second read keeps a stream of cold reads from paying for records and for
  // hashing their keys).
  fill(id, key, raw) {
    const o = this.out;
    if (typeof raw !== 'string' || (o[O.FLAGS] & NOT_CACHED) !== 0 || !TEXT[o[O.ENCODING]] ||
      o[O.VALUE_LENGTH] > this.maxValueBytes || o[O.UNIT] <= 0 || o[O.UNIT] >= this.totalUnits) {
      return;
    }
    let ns = this.lastNs;
    if (ns === undefined || ns.id !== id) ns = this.nsRecords.get(id);
    if (ns === undefined || ns.gen !== this.gen0) {
      if (ns !== undefined) this.forget(id);
      ns = new NsRecord(id, this.gen0, this.nsBase);
      this.nsRecords.set(id, ns);
    }
    this.lastNs = ns;
    const bucket = BASE.BUCKET + (o[O.KEY_HASH] & this.mask) * BUCKET_WORDS;
    const stale = this.stale;
    if (stale !== undefined && stale.ns === ns) {
      stale.set(o[O.UNIT], bucket, o, raw);
      return;
    }
    const h = o[O.KEY_HASH];
    const a = h & (SEEN_SLOTS - 1);
    const b = SEEN_SLOTS + ((h >>> 19) & (SEEN_SLOTS - 1)); // h is int32: >>> takes its bits
    const seen = this.seen;
    if (seen[a] !== h && seen[b] !== h) {
      seen[a] = h;
      seen[b] = h;
      return;
    }
    let r = this.map.get(key);
    while (r !== undefined && r.ns !== ns) r = r.other;
    if (r !== undefined) {
      r.set(o[O.UNIT], bucket, o, raw);
      return;
    }
    if (this.size >= this.capacity) this.evictOldest();
    r = new CachedEntry(ns, o[O.UNIT], bucket, o, raw);
    const head = this.map.get(key);
    if (head !== undefined) {
      r.other = head.other;
      head.other = r;
    } else {
      this.map.set(key, r);
    }
    this.size++;
  }

  // Drops the oldest key's records (insertion order): the cache keeps at most `capacity`.
  evictOldest() {
    const [key, r] = this.map.entries().next().value;
    this.map.delete(key);
    for (let x = r; x !== undefined; x = x.other) this.size--;
  }

  // The hits answered since the last call, per namespace id: [[id, hits]...]. Resets them.
  takeHits() {
    const out = this.pending;
    this.pending = [];
    for (const ns of this.nsRecords.values()) {
      if (ns.hits !== 0) out.push([ns.id, ns.hits]);
      ns.hits = 0;
    }
    return out;
  }

  // Drops every record of namespace `id` (hits not taken yet are kept for takeHits()).
  forget(id) {
    const ns = this.nsRecords.get(id);
    if (ns === undefined) return;
    this.nsRecords.delete(id);
    if (ns.hits !== 0) this.pending.push([id, ns.hits]);
    this.lastNs = undefined;
    this.stale = undefined;
    for (const [key, head] of this.map) {
      let first = head;
      while (first !== undefined && first.ns.id === id) {
        first = first.other;
        this.size--;
      }
      for (let x = first; x !== undefined && x.other !== undefined;) {
        if (x.other.ns.id === id) {
          x.other = x.other.other;
          this.size--;
        } else {
          x = x.other;
        }
      }
      if (first === undefined) this.map.delete(key);
      else if (first !== head) this.map.set(key, first);
    }
  }

  clear() {
    this.map.clear();
    this.size = 0;
    this.stale = undefined;
  }
}

module.exports = { ReadCache, readCacheOptions, DEFAULT_ENTRIES, DEFAULT_MAX_VALUE_BYTES };
