'use strict';
// Broadcast: a broadcast channel (docs/format.md §15, "Broadcast") in a segment or a
// SharedArrayBuffer. Publishers (any handle, any number) append records to a ring of `capacity`
// records and never wait for subscribers; every subscriber reads every record published after it
// joined, in order, at its own pace. One that falls a lap behind loses the oldest records and is
// told how many (`missed`); a record being overwritten while it is read is never returned torn
// (broadcast-records.js; subscribers are subscriber.js). Each handle and each subscriber holds an
// owner record of §6, so a subscriber that is gone (SIGKILL, a terminated worker) is dropped and
// its record reused, and a publisher that dies in the middle of a record has that record given
// up for the others.
const { threadId } = require('worker_threads');
const { C } = require('../layout/layout');
const { OwnerTable, identityOf, GONE } = require('../ownership/owners');
const region = require('./region');
const { RegionHandle, make } = require('./handle');
const codec = require('./codec');
const { msgError } = require('./errors');
const { wakeAll, oncePer } = require('./park');
const { Subscriber, kCreate } = require('./subscriber');
const R = require('./broadcast-records');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const OWNERS = C.BCAST_OWNERS_OFFSET / WORD;
const RECHECK_MS = C.BCAST_RECHECK_MS;
const MAX_BYTES = 2 ** 31;
const DEFAULT_MESSAGE_BYTES = 248; // a 256-byte record
const CREATE_KEYS = ['name', 'path', 'buffer', 'byteOffset', 'size', 'capacity', 'messageBytes', 'startPosition'];

const strideOf = (messageBytes) => Math.ceil((R.HEADER_BYTES + messageBytes) / C.BCAST_RECORD_ALIGN) * C.BCAST_RECORD_ALIGN;
const bytesFor = (capacity, messageBytes) => C.BCAST_RECORDS_OFFSET + capacity * strideOf(messageBytes);

const LIMITS = Object.freeze({
  minCapacity: C.BCAST_MIN_CAPACITY, maxCapacity: C.BCAST_MAX_CAPACITY, maxMessageBytes: C.BCAST_MAX_MESSAGE_BYTES,
  maxBytes: MAX_BYTES, bytesFor, what: 'broadcast', noun: 'broadcast', unit: 'records',
});

// Claims an owner record for `self`; when the table is full, drops the gone owners first.
function claimOwner(state) {
  let slot = state.owners.claim(state.self);
  if (slot === 0) {
    dropGone(state);
    slot = state.owners.claim(state.self);
  }
  if (slot === 0) throw msgError('ERR_TOO_MANY_HANDLES', `All ${C.BCAST_OWNER_SLOTS - 1} owner slots of the broadcast are in use`);
  return slot;
}

// Frees the owner records of gone parties after finishing a publication each may have left half
// done (its party record names it; nothing could once the record is reused). A record whose
// position is still being written after that is kept for a later pass: a live publisher names it
// too (one that lost the claim to it, for the moment), which holds back giving it up, and once
// the gone owner's record were freed nobody gone would name it, so readers would wait for it
// until publishers came round a lap later (broadcast-records.js, giveUpUnclaimed). Returns how
// many gone subscribers it dropped.
function dropGone(state) {
  const { owners, self, u32 } = state;
  let dropped = 0;
  for (let o = 1; o < owners.slots; o++) {
    if (Atomics.load(u32, owners.pidWord(o)) === 0 || owners.status(o, self) !== GONE) continue;
    // A gone owner's party record no longer changes.
    const roles = Atomics.load(u32, R.partyWord(o, R.ROLES));
    if (roles & R.PUBLISH) {
      const pos = Atomics.load(u32, R.partyWord(o, R.PUBLISH_POS));
      if (!R.giveUp(state, owners, self, pos) && R.beingWritten(state, pos)) continue;
    }
    if (owners.freeGone(o, self) && (roles & R.SUBSCRIBE)) dropped++;
  }
  return dropped;
}

class Broadcast extends RegionHandle {
  #state;
  #slot = 0;
  #token = 0;
  #subscribers = new Set();
  #capacity;

  /** @private Use Broadcast.create() or Broadcast.open(). */
  constructor(token, where, shape) {
    super(token, where, 'broadcast');
    const buffer = this.buffer;
    const at = where.byteOffset;
    const h = region.checkShape(buffer, at, C.MSG_KIND_BROADCAST, LIMITS, shape);
    const { bytes } = h;
    this.#capacity = h.capacity;
    const u32 = new Uint32Array(buffer, at, bytes / WORD);
    const i32 = new Int32Array(buffer, at, bytes / WORD);
    this.#state = {
      u32,
      buf: Buffer.from(buffer, at, bytes),
      mask: h.capacity - 1,
      capacity: h.capacity,
      messageBytes: h.messageBytes,
      strideWords: strideOf(h.messageBytes) / WORD,
      owners: new OwnerTable(u32, OWNERS, C.BCAST_OWNER_SLOTS),
      self: identityOf(process.pid, threadId),
      i32,
      wakeAll: (index) => wakeAll(i32, index),
    };
    this.#slot = this.#attach(0);
    this.#token = this.#state.owners.watch(this.#slot, this.#state.self);
  }

  // Claims an owner record and writes its party record: `roles` and, for a subscriber, its cursor.
  #attach(roles) {
    const s = this.#state;
    const slot = claimOwner(s);
    Atomics.store(s.u32, R.partyWord(slot, R.CURSOR), Atomics.load(s.u32, R.TAIL));
    Atomics.store(s.u32, R.partyWord(slot, R.ROLES), roles);
    // A publisher counts a subscriber in maxLag only once its roles say so: records published
    // between the first read of the tail and then may already have lapped that cursor. Read again,
    // now that publishers keeping below capacity see it: it starts at no older a record.
    if (roles & R.SUBSCRIBE) Atomics.store(s.u32, R.partyWord(slot, R.CURSOR), Atomics.load(s.u32, R.TAIL));
    return slot;
  }

  /** Creates a broadcast channel: a new segment (exclusive), or one in a SharedArrayBuffer. */
  static create(options) {
    region.validateCreateOptions(options);
    const { messageBytes, bytes } = region.createShape(options, LIMITS, DEFAULT_MESSAGE_BYTES);
    const start = region.startPositionOf(options);
    const where = region.place(options, { create: true, keys: CREATE_KEYS, bytes });
    const buffer = where.segment ? where.segment.buffer : where.buffer;
    // Everything but the header, then the header (magic last) in the constructor. The record of
    // position start + k holds "given up, one lap earlier": no reader is ever at that position.
    const u32 = new Uint32Array(buffer, where.byteOffset, bytes / WORD);
    u32.fill(0, C.BCAST_CONTROL_OFFSET / WORD, R.RECORDS);
    Atomics.store(u32, R.TAIL, start);
    const stride = strideOf(messageBytes) / WORD;
    for (let k = 0; k < options.capacity; k++) {
      const p = (start + k) >>> 0;
      Atomics.store(u32, R.RECORDS + (p & (options.capacity - 1)) * stride, R.seqOf(p - options.capacity, C.BCAST_SEQ_SKIPPED));
    }
    return make(Broadcast, where, { capacity: options.capacity, messageBytes });
  }

  /** The bytes a broadcast of `capacity` records of `options.messageBytes` (248) needs. */
  static bytesFor(capacity, options) {
    const messageBytes = region.messageBytesOption(options, DEFAULT_MESSAGE_BYTES);
    region.validateShape(capacity, messageBytes, LIMITS, 'capacity');
    return bytesFor(capacity, messageBytes);
  }

  /** @private The bytes of the shape create() `options` ask for (their names in messages: the registry's create). */
  static bytesForOptions_(options) {
    return region.createShape(options, LIMITS, DEFAULT_MESSAGE_BYTES).bytes;
  }

  /** The number of records the region was created with (read-only: the region fixes it). */
  get capacity() {
    return this.#capacity;
  }

  get messageBytes() {
    return this.#state.messageBytes;
  }

  /** Publications given up because their publisher died while writing them. */
  get skipped() {
    this.usable_();
    return Atomics.load(this.#state.u32, R.SKIPPED);
  }

  /** The live subscribers of every process; subscribers that are gone are dropped first. */
  get subscribers() {
    this.usable_();
    const s = this.#state;
    dropGone(s);
    let n = 0;
    for (let o = 1; o < s.owners.slots; o++) {
      if (Atomics.load(s.u32, s.owners.pidWord(o)) !== 0 && (Atomics.load(s.u32, R.partyWord(o, R.ROLES)) & R.SUBSCRIBE)) n++;
    }
    return n;
  }

  /**
   * How far the slowest live subscriber is behind the publish position (0 without subscribers):
   * what a publisher that wants no subscriber to miss anything keeps below `capacity`. Gone
   * subscribers are dropped first, at most once per recheck period per handle (the gone rule
   * reads /proc, and a back-pressure loop reads maxLag often); a subscriber a lap or more behind
   * is checked at every call. Without the periodic drop, a subscriber that died less than a lap
   * behind would hold maxLag where it died for ever, and a publisher waiting for it to fall would
   * wait for ever: its lag grows only with publications, which that publisher holds back.
   */
  get maxLag() {
    this.usable_();
    const s = this.#state;
    if (this.#dropDue()) dropGone(s);
    const tail = Atomics.load(s.u32, R.TAIL);
    let max = 0;
    for (let o = 1; o < s.owners.slots; o++) {
      if (Atomics.load(s.u32, s.owners.pidWord(o)) === 0 || !(Atomics.load(s.u32, R.partyWord(o, R.ROLES)) & R.SUBSCRIBE)) continue;
      const lag = R.behind(tail, Atomics.load(s.u32, R.partyWord(o, R.CURSOR)));
      if (lag >= s.capacity && s.owners.status(o, s.self) === GONE) {
        dropGone(s);
        continue;
      }
      max = Math.max(max, lag);
    }
    return max;
  }

  // At most once per RECHECK_MS per handle: whether to look for a gone publisher's record.
  #repair = oncePer(RECHECK_MS);
  // At most once per RECHECK_MS per handle: whether maxLag drops the gone subscribers first.
  #dropDue = oncePer(RECHECK_MS);

  /**
   * Publishes `value` to every subscriber. Never waits for subscribers: the oldest record is
   * overwritten. Spins only while another publisher finishes the record one lap earlier.
   */
  publish(value) {
    this.usable_();
    const { tag, payload } = codec.prepare(value, 'value', this.#state.messageBytes);
    const length = codec.encodedLength(payload, this.#state.messageBytes);
    if (length > this.#state.messageBytes) throw codec.tooLarge(length, this.#state.messageBytes);
    // The value's toJSON may have closed the handle: nothing is written through a closed handle.
    this.usable_();
    while (!R.publish(this.#state, this.#slot, tag, payload, this.#repair));
  }

  /** A new subscriber: it receives every message published from now on. */
  subscribe() {
    this.usable_();
    const slot = this.#attach(R.SUBSCRIBE);
    let sub;
    try {
      sub = new Subscriber(kCreate, this.#state, slot, () => this.#subscribers.delete(sub));
    } catch (e) {
      this.#state.owners.release(slot);
      throw e;
    }
    this.#subscribers.add(sub);
    return sub;
  }

  /** Closes this handle and its subscribers (their owner records are released); the channel stays. */
  close() {
    if (this.closed) return;
    for (const sub of [...this.#subscribers]) sub.close();
    const s = this.#state;
    Atomics.store(s.u32, R.partyWord(this.#slot, R.ROLES), 0);
    s.owners.leave(this.#slot, this.#token);
    super.close();
  }
}

module.exports = { Broadcast, Subscriber };
