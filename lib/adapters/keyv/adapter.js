'use strict';
// Keyv storage adapter over a shmstore Store: a Keyv namespace is a store namespace, Keyv's
// expiry is the store's expiry, so every process that opens the same store sees the same
// entries and the same deadlines.
//
// Keyv 5 and Keyv 6 drive a storage adapter differently, and one class serves both:
// - keyv 5 hands the adapter keys prefixed with `<namespace>:` and a relative TTL in ms;
// - keyv 6 reads `capabilities` once when the adapter is given to it (keyv 5 never reads it);
//   when it sees `expires: true` it hands bare keys, sets `namespace`, and gives an absolute
//   expiry (ms since the epoch) to set/setMany.
// The adapter therefore starts in the keyv 5 contract and switches to the keyv 6 contract the
// first time `capabilities` is read, unless the `keyv` option fixes the contract.
//
// Neither major can be told from the other by what it does to the adapter alone: keyv 5 sets
// `namespace` and reads `opts`, which user code and keyv 6 (namespace) do too, and both hand a
// string encoding `{ value, expires }`. What holds is one direction: keyv 6 hands an absolute
// expiry only to an adapter whose `capabilities` it read (it uses a store directly only when
// `capabilities.expires` is true, and wraps any other in its bridge, which hands a relative TTL).
// An adapter in the other contract than its driver's would store a 1 s TTL as an expiry 57 years
// away, or delete every write with a TTL, so the expiry argument itself is checked: a value that
// can only belong to the other major is refused (see KEYV6_FLOOR) instead of being misread.
const { EventEmitter } = require('events');
const { Store: StoreFacade } = require('../../store/store'); // a persisted Store is one too
const { openStore } = require('../open-store');
const v = require('../../base/validate');
const { ShmError } = require('../../base/errors');
const { C } = require('../../layout/layout');
const { ownBytes } = require('../bytes');
const { encodeValue, EncodedValue } = require('../../store/codec');

const DEFAULT_NAMESPACE = 'keyv';
const OPTION_KEYS = ['namespace', 'keyv'];
const STORE_METHODS = ['get', 'getMany', 'has', 'hasMany', 'set', 'setMany', 'delete', 'deleteMany', 'clear',
  'disconnect', 'iterator'];
// An expiry already reached: the key is deleted instead of written (what Keyv expects).
const GONE = Symbol('gone');
// The latest expiry the store takes (store.set refuses a later one with a RangeError); it keeps
// an entry's expiry in 48 bits and stores anything later as its own maximum anyway.
const MAX_EXPIRY = Number.MAX_SAFE_INTEGER;
// 2^40 ms: as a duration about 34.8 years, as an instant 2004-11-03. Every expiry keyv 6 computes
// is now + ttl, far above it; below it lie all practical TTLs. So an absolute `expires` below it
// (and above 0) is a keyv 5 TTL, and a relative `ttl` at or above it (and below what reaches the
// store's latest expiry anyway) is a keyv 6 instant, once keyv 6 may be the driver.
const KEYV6_FLOOR = 2 ** 40;
// The values an iterator reads per getMany.
const ITERATOR_BATCH = 100;

/**
 * Opens the store named by `options`, creating it when it does not exist yet and `size` is given
 * (race-safe: Store.openOrCreate); every handle takes the handle options (engine, lockTimeoutMs,
 * latency, readCache) and a persisted store's directory (lib/adapters/open-store.js).
 */
function openOrCreate(options) {
  if (options.buffer !== undefined) {
    throw v.typeError('KeyvShmstore: pass an open Store (Store.attach(buffer)) instead of "buffer"');
  }
  return openStore(options, 'store').store;
}

// `list` when it is an array, else a TypeError (ERR_INVALID_ARG) naming it.
function listOf(list, name) {
  if (!Array.isArray(list)) throw v.invalidType(name, 'an array', list);
  return list;
}

class KeyvShmstore extends EventEmitter {
  /**
   * @param {Store|object} store an open Store (left open by disconnect()), or the options of
   *   Store.open / Store.create (with `size`, created when missing; closed by disconnect()).
   * @param {{ namespace?: string, keyv?: 5|6 }} [options]
   */
  constructor(store, options = {}) {
    super();
    if (store === null || typeof store !== 'object') {
      throw v.typeError('KeyvShmstore: the first argument must be a Store or the options of Store.open/create');
    }
    if (options === null || typeof options !== 'object') throw v.typeError('KeyvShmstore: "options" must be an object');
    // A misspelt option is an error, not a default taken silently (a `namepsace` would write the
    // entries to 'keyv'), as with the options of the store itself and of the other adapters. One
    // given as undefined is one not given, as with the store options (open-store.js).
    v.validateGivenKeys(options, 'options', OPTION_KEYS);
    if (options.keyv !== undefined && options.keyv !== 5 && options.keyv !== 6) {
      throw v.rangeError(`KeyvShmstore: "options.keyv" must be 5 or 6. Received ${String(options.keyv)}`);
    }
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    if (typeof namespace !== 'string') throw v.invalidType('options.namespace', 'a string', namespace);
    const nsBytes = Buffer.byteLength(namespace);
    if (nsBytes < 1 || nsBytes > C.MAX_NAMESPACE_BYTES) {
      throw v.rangeError(`The "options.namespace" argument must be 1 to ${C.MAX_NAMESPACE_BYTES} UTF-8 bytes. Received ${nsBytes} bytes`);
    }
    const owned = !(store instanceof StoreFacade);
    this.store = owned ? openOrCreate(store) : store;
    this._owned = owned;
    this._v6 = options.keyv === 6;
    this._fixed = options.keyv !== undefined;
    // Whether `capabilities` was ever read: until then keyv 6 cannot be handing absolute expiries.
    this._capabilitiesRead = false;
    this._defaultNamespace = namespace;
    this._namespace = undefined;
    // Namespaces that a Keyv 5 instance set on this adapter: a key prefixed with one of them
    // belongs to it even when another Keyv sharing the adapter set its own namespace since.
    this._seen = new Set();
    const where = owned ? store.name ?? store.path : 'store';
    // `opts` is read by keyv 5 (dialect, url) and written by some Keyv tooling.
    this.opts = { dialect: 'shmstore', url: `shmstore:${where}` };
  }

  /** The Keyv namespace (set by Keyv); entries live in the store namespace of the same name. */
  get namespace() {
    return this._namespace;
  }

  set namespace(value) {
    this._namespace = value;
    if (typeof value === 'string' && value !== '') this._seen.add(value);
  }

  /** What keyv 6 reads to use this adapter directly: every method, and absolute `expires`. */
  get capabilities() {
    this._capabilitiesRead = true;
    if (!this._fixed) this._v6 = true;
    const methods = {};
    for (const name of STORE_METHODS) methods[name] = { exists: true, methodType: 'async' };
    return { compatible: true, store: 'keyvStorage', methods, expires: true };
  }

  _ns() {
    return this._namespace || this._defaultNamespace;
  }

  // [store namespace, store key] of a key handed by Keyv.
  _locate(key) {
    if (typeof key !== 'string') throw v.typeError(`KeyvShmstore: keys must be strings. Received ${typeof key}`);
    if (!this._v6) {
      // The adapter's own namespace first: with one adapter per Keyv (the usual case) this is
      // always the right one, even when names nest ('a' and 'a:b').
      const own = this._namespace;
      if (own && key.length > own.length && key[own.length] === ':' && key.startsWith(own)) {
        return [own, key.slice(own.length + 1)];
      }
      let best = '';
      for (const ns of this._seen) {
        if (ns.length > best.length && key.length > ns.length && key[ns.length] === ':' && key.startsWith(ns)) best = ns;
      }
      if (best !== '') return [best, key.slice(best.length + 1)];
    }
    return [this._ns(), key];
  }

  // The store's set options for Keyv's third argument (keyv 5: relative ms; keyv 6: absolute ms).
  // A TTL of 0 is no expiry, as Keyv and @keyv/redis read it; a negative one has already passed.
  _expiry(arg) {
    if (arg === undefined || arg === null) return undefined;
    // A string or a bigint would otherwise be dropped, and the entry never expire.
    if (typeof arg !== 'number') throw v.invalidType(this._v6 ? 'expires' : 'ttl', 'a number of milliseconds', arg);
    if (Number.isNaN(arg) || arg === Infinity) return undefined;
    // A finite expiry beyond what the store takes (Keyv's `Number.MAX_SAFE_INTEGER` as "a very
    // long time", or keyv 6's `Date.now() + ttl` of such a TTL) is the latest one it takes, as the
    // store itself does with an expiry beyond its 48 bits: Keyv's own stores and @keyv/redis
    // accept it, and refusing it would lose the write.
    const now = Date.now();
    if (this._v6) {
      // keyv 5 hands no TTL of 0 (it hands none instead), and a negative one, already past, is
      // deleted here as keyv 5 would; a positive one would be read as an instant before 2004.
      // Only while the clock is past the bound itself: under a clock set back (fake timers in a
      // test, a device booted without the time) keyv 6's `Date.now() + ttl` is below it too.
      if (arg > 0 && arg < KEYV6_FLOOR && now >= KEYV6_FLOOR) throw this._tooSmall(arg);
      return arg <= now ? GONE : { expiresAt: Math.min(Math.ceil(arg), MAX_EXPIRY) };
    }
    if (arg === 0) return undefined;
    if (arg < 0) return GONE;
    if (arg > MAX_EXPIRY - now) return { expiresAt: MAX_EXPIRY };
    // Only an adapter fixed to keyv 5 stays in this contract once `capabilities` was read. A value
    // past what reaches the latest expiry means "the latest" in either contract, so it passes.
    // As above, only while the clock is past the bound (an absolute expiry is below it before).
    if (this._capabilitiesRead && arg >= KEYV6_FLOOR && arg < MAX_EXPIRY - now && now >= KEYV6_FLOOR) throw this._tooLarge(arg);
    return { ttl: arg };
  }

  // The refusal of what only the other Keyv major hands (`evidence` says what it was): this
  // adapter's contract, what set it, and how to make the adapter for the major that drives it.
  _mismatch(evidence) {
    const [made, driver, why] = this._v6
      ? [6, 5, this._fixed ? 'created with { keyv: 6 }' : 'its capabilities were read, which keyv 6 does when given an adapter']
      : [5, 6, this._fixed ? 'created with { keyv: 5 }' : 'its capabilities, which keyv 6 reads before it uses an adapter, were never read'];
    let fix = 'For keyv 5 create it with { keyv: 5 } or without the keyv option, and give each Keyv an adapter of its own';
    if (driver === 6) fix = `For keyv 6 create it with { keyv: 6 }${this._fixed ? ' or without the keyv option' : ''}`;
    return new ShmError('ERR_INVALID_ARG',
      `KeyvShmstore: ${evidence}: the adapter was made for keyv ${made} (${why}) but is driven by keyv ${driver}. ${fix}`);
  }

  _tooSmall(arg) {
    return this._mismatch(`an expiry of ${arg} ms since the epoch (before 2^40 ms, ${new Date(KEYV6_FLOOR).toISOString()}) ` +
      'can only be a relative TTL, which keyv 5 hands');
  }

  _tooLarge(arg) {
    return this._mismatch(`a TTL of ${arg} ms (2^40 ms, about 34.8 years, or more, short of the store's latest expiry, ` +
      'which Number.MAX_SAFE_INTEGER reaches) is taken for an absolute expiry, which keyv 6 hands to an adapter whose ' +
      'capabilities it read (a keyv 5 TTL that long is refused once they were read: give Number.MAX_SAFE_INTEGER, or no TTL, ' +
      'for an entry that never expires)');
  }

  // A write whose key was located and expiry checked (opts: set options, or GONE).
  _apply(ns, k, opts, value) {
    if (opts === GONE) this.store.delete(ns, k);
    else this.store.set(ns, k, value, opts);
    return true;
  }

  // Bytes come back owning their ArrayBuffer whole (lib/adapters/bytes.js): the 'js' engine
  // returns a short binary value in a slice of Node's shared allocation pool.
  async get(key) {
    const [ns, k] = this._locate(key);
    return ownBytes(this.store.get(ns, k));
  }

  async getMany(keys) {
    return listOf(keys, 'keys').map((key) => {
      const [ns, k] = this._locate(key);
      return ownBytes(this.store.get(ns, k));
    });
  }

  async has(key) {
    const [ns, k] = this._locate(key);
    return this.store.has(ns, k);
  }

  async hasMany(keys) {
    return listOf(keys, 'keys').map((key) => {
      const [ns, k] = this._locate(key);
      return this.store.has(ns, k);
    });
  }

  /** keyv 5: `ttl` in ms from now; keyv 6: `expires` in ms since the epoch. */
  async set(key, value, ttlOrExpires) {
    const [ns, k] = this._locate(key);
    return this._apply(ns, k, this._expiry(ttlOrExpires), value);
  }

  /**
   * Entries `{ key, value, ttl }` (keyv 5) or `{ key, value, expires }` (keyv 6). Every entry's
   * shape, key, expiry and value are checked before the first is written: a bad one refuses the
   * call with nothing of it written. Then each entry is written on its own, as Keyv's own set() of
   * each would: one the store refuses (ERR_STORE_FULL, an oversize value) is `false` in the
   * result and the others are still written. Each refusal is emitted as 'error' (Keyv listens
   * and passes it on); with no listener the call rejects with the first refusal once every entry
   * was tried, its `results` saying which were written.
   */
  async setMany(entries) {
    const plans = listOf(entries, 'entries').map((e, i) => {
      if (e === null || typeof e !== 'object') throw v.invalidType('entries[]', 'an object { key, value }', e);
      const [ns, k] = this._locate(e.key);
      // keyv 5 hands `{ key, value, ttl }` and keyv 6 `{ key, value, expires }`: an expiry under
      // the other major's name would otherwise be dropped, and the entry never expire.
      const [own, other, otherName] = this._v6 ? [e.expires, e.ttl, 'ttl'] : [e.ttl, e.expires, 'expires'];
      if ((own === undefined || own === null) && other !== undefined && other !== null) {
        throw this._mismatch(`an entry with "${otherName}" (${String(other)}) and no "${this._v6 ? 'expires' : 'ttl'}" ` +
          `is keyv ${this._v6 ? 5 : 6}'s form`);
      }
      const opts = this._expiry(own);
      // A value no store takes (undefined, a function, a bigint, a cycle, NaN) is a bad argument
      // like a bad key, not a refusal of the store (a full store, an oversize value): checked
      // here, by the store's own encoder, so that it leaves the store as it was. The encoded form
      // is what is written below (the store takes it as it is, codec.js): the value is encoded
      // once, its toJSON called once, and what is written is what was checked.
      let encoded;
      try {
        encoded = new EncodedValue(encodeValue(e.value));
      } catch (err) {
        if (typeof err.message === 'string') err.message = err.message.replace('"value"', `"entries[${i}].value"`);
        throw err;
      }
      return [ns, k, opts, encoded];
    });
    const errors = [];
    const results = plans.map(([ns, k, opts, encoded]) => {
      try {
        return this._apply(ns, k, opts, encoded);
      } catch (err) {
        errors.push(err);
        return false;
      }
    });
    if (errors.length === 0) return results;
    if (this.listenerCount('error') === 0) {
      errors[0].results = results;
      throw errors[0];
    }
    for (const err of errors) this.emit('error', err);
    return results;
  }

  async delete(key) {
    const [ns, k] = this._locate(key);
    return this.store.delete(ns, k);
  }

  /** keyv 6: one boolean per key; keyv 5: whether every key existed (as Keyv 5 does itself). */
  async deleteMany(keys) {
    // Every key is checked before the first is deleted: a bad one refuses the call, deleting none.
    const located = listOf(keys, 'keys').map((key) => this._locate(key));
    const results = located.map(([ns, k]) => this.store.delete(ns, k));
    return this._v6 ? results : results.every(Boolean);
  }

  /** Removes every entry of this adapter's namespace only. */
  async clear() {
    // store.clear of a namespace that does not exist removes nothing and creates nothing. No
    // check against store.namespaces() first: it lists names as the store keeps them (a lone
    // surrogate as U+FFFD), so such a namespace would never be found, and another process could
    // drop the namespace between the check and the clear.
    this.store.clear(this._ns());
  }

  /**
   * Yields [key, raw value] of a namespace (keyv 5 passes it and wants `<namespace>:` prefixed
   * keys back; keyv 6 passes none and wants bare keys). Expired entries are never yielded.
   */
  async* iterator(namespace) {
    // store.keys of a namespace that does not exist is [] (see clear() for why no check first).
    const ns = namespace || this._ns();
    const prefix = !this._v6 && namespace ? `${namespace}:` : '';
    // The keys first, then the values ITERATOR_BATCH at a time as the loop asks for them: a
    // namespace of a million entries is not read into memory at once, and an entry deleted or
    // expired before the loop reaches it is not handed out.
    const keys = this.store.keys(ns);
    for (let i = 0; i < keys.length; i += ITERATOR_BATCH) {
      const batch = keys.slice(i, i + ITERATOR_BATCH);
      const values = this.store.getMany(ns, batch);
      for (let j = 0; j < batch.length; j++) if (values[j] !== undefined) yield [prefix + batch[j], ownBytes(values[j])];
    }
  }

  /** Closes the store if this adapter opened it; a Store passed in is left open. */
  async disconnect() {
    if (this._owned && !this.store.closed) this.store.close();
  }

  /**
   * keyv 5 gives `Keyv#iterator` only to stores whose `opts.dialect` is one of its own adapters;
   * this gives it to a Keyv 5 instance over a KeyvShmstore, through keyv 5's own iterator logic.
   */
  static enableKeyv5Iterator(keyv) {
    const adapter = keyv?.opts?.store;
    if (!(adapter instanceof KeyvShmstore)) throw v.typeError('enableKeyv5Iterator: the Keyv does not use a KeyvShmstore');
    if (typeof keyv.iterator !== 'function' && typeof keyv.generateIterator === 'function') {
      keyv.iterator = keyv.generateIterator(adapter.iterator.bind(adapter));
    }
    return keyv;
  }
}

module.exports = { KeyvShmstore };
