'use strict';
// The mutations of a persisted store (docs/format.md §16, "A mutation"): every set, delete,
// clear, drop and namespace configuration of a handle with `persist` takes the stripe lock of its
// key (or all of them) in the control segment, applies to the store, appends its record to the
// write-ahead log and releases the stripe, so that the log order of two writes of one key is
// their store order in every process; the JavaScript engine's set of a small value may instead
// apply and append under the append lock alone, with the stripe seen free (_fastSet), and the
// native engine's set does both in one addon call. Without `persist` (this._p null) each method is
// the store facade's. store.js extends this class with opening, recovery and the lifecycle.
const { C } = require('../layout/layout');
const { ShmError } = require('../base/errors');
const { Store: BaseStore, checkNsName, checkKey, checkValueLength, pairsOf, engineError } = require('../store/store');
const { encodeValue, EncodedValue } = require('../store/codec');
const cache = require('../store/cache-options');
const { OUT_EXPIRY } = require('../store/contract');
const { Control, RECOVERIES, staleError } = require('./control');
const { encodeRecordInto, setExpiry, SMALL_RECORD, scratchFor } = require('./record');
const { maybeCheckpoint } = require('./checkpoint');
const { io } = require('./io');
const { SetRecord } = require('./set-record');

// The record of a mutation is encoded here and appended at once, in one synchronous stretch: one
// buffer serves every handle of the thread (a record of a large value gets its own, scratchFor).
const scratch = Buffer.allocUnsafe(SMALL_RECORD);
const setRecord = new SetRecord();
const U32 = 0x100000000;
// _fastSet's stripe argument when the caller holds the key's stripe.
const HELD = -1;
// An expiry as the engine reports it (epoch ms, 0 = never) as the engine's set takes it.
function engineExpiry(at) {
  return at > 0 ? at : cache.EXPIRY_NEVER;
}

function encodeRecord(type, ns, key, value, encoding, expiresAt) {
  return encodeRecordInto(scratchFor(scratch, ns, key, value), type, ns, key, value, encoding, expiresAt);
}

// The store's write of the set whose record is in the thread's SetRecord: its key and value
// bytes are taken from the record, not encoded a second time.
function storeRecord(engine, id, enc, expiry) {
  const r = setRecord;
  engine.setEncoded(id, r.u8, r.keyAt, r.keyLength, r.valueLength, enc, expiry);
}

/**
 * The ShmError of a call that only a store opened with `persist` can serve (`method`: its name),
 * on one opened without: ERR_NOT_PERSISTED, a state of the handle.
 */
function notPersisted(method) {
  return new ShmError('ERR_NOT_PERSISTED', `${method}() needs a store opened with "persist"`);
}

/**
 * The checks of a set's arguments that _loggedSet makes before it touches the store (the
 * namespace, the key, the options, the value's type and length), for a call refused for another
 * reason once its arguments are found good.
 */
function checkSetArgs(ns, key, value, opts) {
  checkNsName(ns);
  checkKey(key);
  cache.expiryOf(opts);
  checkValueLength(typeof value === 'string' ? value : encodeValue(value)[0]);
}

class LoggedStore extends BaseStore {
  constructor(...args) {
    super(...args);
    this._p = null; // { control, wal, dir, mode, intervalMs, timer, recovery } when persisted
    // The fence check of _live(): the control segment's words, and PersistRecovery.recoveries
    // as it was when this handle's store was attached (store.js, _persist); null without persist.
    this._fence = null;
    this._fenceSeen = 0;
  }

  // Every operation of a handle starts here (the store facade's and this class's). With
  // persistence it also refuses, with ERR_PERSIST_STALE, once another opener has started to
  // rebuild the store from its log (the fence, format.md §16 "Recovery"): this handle's segment
  // was removed while it had it mapped, and whatever it read there would lack every write made
  // to the rebuilt store. Writes are refused again under the append lock (Control.lockAppend),
  // which is what keeps them out of the log; this check is what keeps reads from answering.
  //
  // The count is read with a plain load, not Atomics.load: on a persisted get of some 70 ns
  // (V8 11), this check cost some 4 ns, one with Atomics.load some 10 to 20. A plain load is
  // enough:
  // - PersistRecovery's 64-byte line is written by opens, rebuilds, checkpoints, backups and
  //   failures alone (its words, format.md §16 "Control segment": the recovery and checkpoint
  //   locks, the counts, `failed`; appends only read `failed` and `recoveries`), so the load
  //   hits a line that stays valid in this core's cache.
  // - A read whose check races with a rebuild and still sees the old count reads the removed
  //   segment as the fence left it (its handles' appends refuse from the fence on, so nothing
  //   reaches it after, but a write already in flight, which is put back when its append
  //   refuses): the read answers as one made before the rebuild would.
  // - Once the increment is visible to this thread, every later check refuses: the count only
  //   grows, so it never equals the remembered one again (short of 2^32 rebuilds), and each
  //   check loads it anew: every operation between two checks calls its engine or (a read
  //   cache hit) does an Atomics operation on the store, and compiled code does not carry a
  //   typed array's element over such a call or operation. An aligned element of an integer
  //   typed array is read whole (never torn), by the ECMAScript memory model too.
  _live() {
    const e = super._live();
    const fence = this._fence;
    if (fence !== null && fence[RECOVERIES] !== this._fenceSeen) throw staleError();
    return e;
  }

  // [raw, encoding, expiry] of the stored value (expiry as the engine takes it: epoch ms, or
  // EXPIRY_NEVER), undefined when absent (held: the key's stripe). A namespace this handle
  // resolved and another dropped since is resolved again (format.md §5, "Dropping").
  _raw(ns, key) {
    return this._nsCall(ns, undefined, (id) => {
      const raw = this._e.get(id, key);
      if (raw === undefined) return undefined;
      const enc = this._out[0];
      return [raw, enc, engineExpiry(this._e.expiresAt(id, key))];
    }, 'get');
  }

  // Puts back what a mutation whose record could not be logged changed (held: its stripe).
  _restore(ns, key, old) {
    if (old === undefined) BaseStore.prototype.delete.call(this, ns, key);
    else this._e.set(this._id(ns, true), key, old[0], old[1], old[2]);
  }

  // After a mutation whose record could not be appended (`err`, the cause the caller must see):
  // puts back what it changed with `putBack()` (held: its stripes), so that the store again holds
  // what the log says, and throws `err`. The put-back can fail in its turn: another writer took
  // the room the mutation freed (ERR_STORE_FULL). The store then holds a state its log does not,
  // which no later write can mend: the control's `failed` is set, as after a failed sync, so that
  // every handle refuses writes until a recovery rebuilds the store from its log (format.md §16,
  // "A mutation"), and `err` says so (the put-back's error is its `undoError`).
  _undo(err, putBack) {
    try {
      putBack();
    } catch (thrown) {
      this._p.control.fail();
      const undoErr = engineError(thrown, 'putting the store back');
      err.message += `; putting the store back failed too (${undoErr.code || undoErr.message}), so the store no longer matches its log and refuses writes until it is recovered`;
      err.undoError = undoErr;
    }
    throw err;
  }

  // The expiry to log for a set just done with the engine's `expiry` argument (held: its stripe):
  // the entry's own absolute expiry (its option, or its namespace's default TTL resolved by the
  // store), 0 when it never expires, 1 (long past) when the set left no entry (an expiry already
  // past deletes the key).
  _loggedExpiry(expiry) {
    return cache.alreadyExpired(expiry) ? 1 : this._storedExpiry();
  }

  // The durability a write of this handle's sync mode promises, once its record ends at `end`.
  _settle(end) {
    const p = this._p;
    if (p.mode === 'always') p.wal.waitDurable(end);
    else if (p.mode === 'interval') p.wal.flushIfOlder(p.intervalMs);
    maybeCheckpoint(this, p, end);
  }

  // Applies and logs a set under the key's stripe; returns the LSN after its record.
  _loggedSet(ns, key, value, opts) {
    const p = this._p;
    this._live();
    // The id this handle resolved for the name (a name resolved before is valid).
    const id = ns === this._lastNs ? this._lastId : this._ns.get(ns);
    if (id === undefined) checkNsName(ns);
    checkKey(key);
    const expiry = cache.expiryOf(opts); // validates the options before the stripe is taken
    // A string is its own payload (codec.js); other values are encoded (an array per call).
    let payload = value;
    let enc = C.ENC_UTF8;
    if (typeof value !== 'string') [payload, enc] = encodeValue(value);
    checkValueLength(payload);
    const live = id !== undefined && !cache.alreadyExpired(expiry);
    // The JavaScript engine's set of a small value into a namespace this handle resolved: the
    // record is built first, once, in the thread's SetRecord (which also finds the key's stripe),
    // and _fastSet writes the store and the record under the append lock alone, the stripe seen
    // free (set-record.js; format.md §16, "A mutation").
    const fast = live && p.writer === null && SetRecord.fits(ns, key, payload);
    if (fast) {
      setRecord.encode(ns, key, payload, enc);
      const end = this._fastSet(p.wal, id, enc, expiry, setRecord.stripe);
      if (end !== 0) return end;
    }
    // The native set and log in one call, when nothing needs waiting for or doing to the file
    // (0: nothing was done; the general path below then does it, and reports a refusal). The
    // writer keeps the namespace name of its last call that gave one (p.writerNs): a name it
    // has is not given again (log_writer.cc). It finds the key's stripe itself.
    if (live && p.writer !== null && io.mapped) {
      const end = p.writer.set(id, ns === p.writerNs ? undefined : ns, key, payload, enc, expiry);
      p.writerNs = ns;
      if (end !== 0) return end;
    }
    const stripe = fast ? setRecord.stripe : Control.stripeOf(ns, key);
    p.control.lockStripe(stripe);
    try {
      if (fast) {
        const end = this._fastSet(p.wal, id, enc, expiry, HELD);
        if (end !== 0) return end;
      }
      // Usually the record's place is allocated space: the set and its record under the append
      // lock, and no undo to prepare. Otherwise the old value is read first, to be put back if
      // the record cannot be written.
      const rec = encodeRecord(C.WAL_REC_SET, ns, key, payload, enc, 0);
      const end = p.wal.appendApplied(rec, () => {
        if (opts === undefined) super.set(ns, key, value);
        else super.set(ns, key, value, opts);
        return this._loggedExpiry(expiry);
      });
      if (end !== 0) return end;
      // The store write below is outside the append lock.
      p.control.passAppend();
      const old = this._raw(ns, key);
      if (opts === undefined) super.set(ns, key, value);
      else super.set(ns, key, value, opts);
      try {
        setExpiry(rec, this._loggedExpiry(expiry));
        return p.wal.append(rec);
      } catch (err) {
        this._undo(err, () => this._restore(ns, key, old));
      }
    } finally {
      p.control.unlockStripe(stripe);
    }
  }

  // The expiry the engine's last set gave its entry (lib/store/contract.js, `out`).
  _storedExpiry() {
    const out = this._out;
    return (out[OUT_EXPIRY] >>> 0) + out[OUT_EXPIRY + 1] * U32;
  }

  // _loggedSet's path for a set the engine takes as it is, with the record encoded in setRecord,
  // under the append lock: 0 with nothing changed when the
  // record's place is not allocated mapped space, the key's `stripe` is held (by anyone; HELD:
  // by the caller, which then holds it) or the engine refused the write (the general path then
  // does it again, and reports the refusal as the store does). A stripe seen free under the
  // append lock guards nothing that could interleave: every mutation that applies outside the
  // append lock passes through it after taking its stripe (Control.passAppend). The engine takes
  // the key and value bytes from the record (storeRecord): encoding the strings again cost a
  // 100-byte set some 100 ns, copying the record's bytes some 35.
  _fastSet(wal, id, enc, expiry, stripe) {
    // With the addon: the append lock and the record's place taken, and the stripe seen free, in
    // one call (sealer.begin), and the record sealed and appended with the expiry the engine gave
    // the entry, the tail moved and the lock released in another (sealer.put). false: not taken
    // (a lock held, the file to grow or to map): the way below, which waits, grows and maps.
    const sealer = wal.sealer;
    if (sealer !== null && stripe !== HELD && sealer.begin(stripe)) {
      try {
        storeRecord(this._e, id, enc, expiry);
      } catch {
        wal.unlockAppend();
        return 0;
      }
      return sealer.put();
    }
    const lsn = wal.lockMapped(setRecord.size);
    if (lsn < 0) return 0;
    let end = 0;
    try {
      if (stripe !== HELD && this._p.control.stripeHeld(stripe)) return 0;
      try {
        storeRecord(this._e, id, enc, expiry);
      } catch {
        return 0;
      }
      // putSet ends the append: the tail passes the record and the append lock is released.
      end = wal.putSet(setRecord, lsn, this._storedExpiry());
      return end;
    } finally {
      if (end === 0) wal.unlockAppend();
    }
  }

  set(ns, key, value, opts) {
    if (this._p === null) return opts === undefined ? super.set(ns, key, value) : super.set(ns, key, value, opts);
    this._settle(this._loggedSet(ns, key, value, opts));
    return this;
  }

  /**
   * Like set(), and resolves once the write is on stable storage (in every sync mode), without
   * blocking the event loop.
   */
  setDurable(ns, key, value, opts) {
    try {
      this._live(); // first: close() forgets the persistence (ERR_CLOSED, not "needs persist")
    } catch (err) {
      return Promise.reject(err);
    }
    let end;
    try {
      if (this._p === null) {
        // The arguments first, as a set checks them: a bad one is the caller's TypeError or
        // RangeError whether or not the store is persisted; only then the state.
        checkSetArgs(ns, key, value, opts);
        throw notPersisted('setDurable');
      }
      end = this._loggedSet(ns, key, value, opts);
    } catch (err) {
      return Promise.reject(err);
    }
    // The sync's own promise, resolving to this handle: shared by every call that joins it.
    return this._p.wal.flushAsync(end, this);
  }

  delete(ns, key) {
    const p = this._p;
    if (p === null) return super.delete(ns, key);
    this._live();
    checkNsName(ns);
    checkKey(key);
    const stripe = Control.stripeOf(ns, key);
    let end;
    p.control.lockStripe(stripe);
    try {
      p.control.passAppend();
      // No record unless a live entry was removed. An expired one (which this read, or the
      // engine's delete, removes and counts as an expiration) stays removed after a replay
      // without one: the set record that wrote it, and a snapshot's copy of it, hold its expiry,
      // past at the replaying clock, so they replay as a delete (format.md §16).
      const old = this._raw(ns, key);
      if (old === undefined || !super.delete(ns, key)) return false;
      try {
        end = p.wal.append(encodeRecord(C.WAL_REC_DELETE, ns, key, null, 0, 0));
      } catch (err) {
        this._undo(err, () => this._restore(ns, key, old));
      }
    } finally {
      p.control.unlockStripe(stripe);
    }
    this._settle(end);
    return true;
  }

  clear(ns) {
    if (this._p === null) return super.clear(ns);
    return this._loggedWhole(ns, 'clear', C.WAL_REC_CLEAR, 0, () => super.clear(ns));
  }

  // Logged as one WAL_REC_NS_DROP record (format.md §16), which replays as a drop. A log that
  // cannot be written puts the entries back (in a namespace created anew, with its policy and
  // default TTL, not its counters) and throws.
  dropNamespace(ns) {
    if (this._p === null) return super.dropNamespace(ns);
    return this._loggedWhole(ns, 'dropNamespace', C.WAL_REC_NS_DROP, false, () => super.dropNamespace(ns));
  }

  // A mutation of a whole namespace (clear, drop) under every stripe: `apply()` changes the
  // store and returns its result, `none` (what an absent or empty namespace gives) is returned
  // without a record; otherwise one record of `type` is logged, and a log that cannot be written
  // puts the entries back, each with its own expiry, and throws.
  _loggedWhole(ns, what, type, none, apply) {
    const p = this._p;
    this._live();
    checkNsName(ns);
    let end;
    let n;
    p.control.lockAllStripes();
    try {
      const before = this._nsCall(ns, null, (id) => this._wholeState(id), what);
      if (before === null) return none;
      n = apply();
      if (n === none) return none;
      try {
        end = p.wal.append(encodeRecord(type, ns, null, null, 0, 0));
      } catch (err) {
        this._undo(err, () => this._putBack(ns, before));
      }
    } finally {
      p.control.unlockAllStripes();
    }
    this._settle(end);
    return n;
  }

  // What a failed clear or drop puts back (held: every stripe): the namespace's policy and
  // default TTL, and each entry with its own expiry as the engine's set takes it (an entry that
  // expired since it was listed is put back expired, which leaves it absent).
  _wholeState(id) {
    const [policy, ttlMs] = this._settingsOf(id);
    const entries = this._e.entries(id).map(([k, raw, enc]) => {
      const at = this._e.expiresAt(id, k);
      return [k, raw, enc, at < 0 ? 1 : engineExpiry(at)];
    });
    return { policy, ttlMs, entries };
  }

  _putBack(ns, before) {
    const id = this._id(ns, true);
    this._e.configureNamespace(id, before.policy, before.ttlMs);
    for (const [k, raw, enc, at] of before.entries) this._e.set(id, k, raw, enc, at);
  }

  // With settings (eviction, ttl), logged as one WAL_REC_NS_SETTINGS record (format.md §16)
  // holding the namespace's resulting policy and default TTL, under every stripe (so that the log
  // order of two configurations, and of a configuration and a drop, is their store order); no
  // record when nothing changed. A log that cannot be written puts the old settings back and
  // throws.
  namespace(name, opts) {
    const p = this._p;
    if (p === null || cache.namespaceConfigOf(opts) === null) return super.namespace(name, opts);
    this._live();
    checkNsName(name);
    let end;
    let view;
    p.control.lockAllStripes();
    try {
      const before = this._nsCall(name, null, (id) => this._settingsOf(id), 'namespace');
      view = super.namespace(name, opts);
      const after = this._nsCall(name, null, (id) => this._settingsOf(id), 'namespace');
      if (before !== null && before[0] === after[0] && before[1] === after[1]) return view;
      try {
        end = p.wal.append(encodeRecord(C.WAL_REC_NS_SETTINGS, name, null, null, after[0], after[1]));
      } catch (err) {
        const old = before || [C.POLICY_INHERIT, 0];
        this._undo(err, () => this._e.configureNamespace(this._id(name, true), old[0], old[1]));
      }
    } finally {
      p.control.unlockAllStripes();
    }
    this._settle(end);
    return view;
  }

  // [policy, ttlMs] of namespace `id` as the policy table holds them (format.md §5).
  _settingsOf(id) {
    const row = this._e.namespaces().find((r) => r[1] === id);
    return row ? [row[3], row[4]] : [C.POLICY_INHERIT, 0];
  }

  // Every pair is validated before any is written; each pair is one logged set.
  setMany(ns, entries, opts) {
    if (this._p === null) return opts === undefined ? super.setMany(ns, entries) : super.setMany(ns, entries, opts);
    this._live();
    checkNsName(ns);
    // One expiry for every pair, fixed once (a ttl counts from this call), as the store does.
    const expiry = cache.expiryOf(opts);
    const each = expiry === cache.EXPIRY_DEFAULT ? undefined : { expiresAt: expiry === cache.EXPIRY_NEVER ? Infinity : expiry };
    const pairs = pairsOf(entries);
    // Each value is encoded once, here, and written as encoded: a toJSON runs once, and what is
    // written is what was checked (a string is its own payload).
    const values = new Array(pairs.length);
    for (let i = 0; i < pairs.length; i++) {
      const [k, value] = pairs[i];
      checkKey(k);
      const encoded = encodeValue(value);
      checkValueLength(encoded[0]);
      values[i] = typeof value === 'string' ? value : new EncodedValue(encoded);
    }
    let end = 0;
    for (let i = 0; i < pairs.length; i++) {
      try {
        end = this._loggedSet(ns, pairs[i][0], values[i], each);
      } catch (err) {
        if (end !== 0) this._settle(end);
        throw Object.assign(err, { written: i });
      }
    }
    if (end !== 0) this._settle(end);
    return pairs.length;
  }
}

module.exports = { LoggedStore, setRecord, notPersisted };
