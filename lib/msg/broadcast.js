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
const v = require('../base/validate');
const { OwnerTable, identityOf, GONE } = require('../ownership/owners');
const region = require('./region');
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
const OPEN_KEYS = ['name', 'path', 'buffer', 'byteOffset'];
const kInternal = Symbol('shmstore.Broadcast.internal');

const strideOf = (messageBytes) => Math.ceil((R.HEADER_BYTES + messageBytes) / C.BCAST_RECORD_ALIGN) * C.BCAST_RECORD_ALIGN;
const bytesFor = (capacity, messageBytes) => C.BCAST_RECORDS_OFFSET + capacity * strideOf(messageBytes);

function validateShape(capacity, messageBytes) {
  region.validateCapacity(capacity, 'options.capacity', C.BCAST_MIN_CAPACITY);
  if (capacity > C.BCAST_MAX_CAPACITY) throw v.rangeError(`The "options.capacity" argument must be <= ${C.BCAST_MAX_CAPACITY}. Received ${capacity}`);
  v.validateInteger(messageBytes, 'options.messageBytes', 1, C.BCAST_MAX_MESSAGE_BYTES);
  if (bytesFor(capacity, messageBytes) > MAX_BYTES) {
    throw v.rangeError(`A broadcast of ${capacity} records of ${messageBytes} bytes exceeds ${MAX_BYTES} bytes`);
  }
}

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
// done (its party record names it; nothing could once the record is reused). Returns how many
// gone subscribers it dropped.
function dropGone(state) {
  const { owners, self, u32 } = state;
  let dropped = 0;
  for (let o = 1; o < owners.slots; o++) {
    if (Atomics.load(u32, owners.pidWord(o)) === 0 || owners.status(o, self) !== GONE) continue;
    const roles = Atomics.load(u32, R.partyWord(o, R.ROLES));
    if (roles & R.PUBLISH) R.giveUp(state, owners, self, Atomics.load(u32, R.partyWord(o, R.PUBLISH_POS)));
    if (owners.freeGone(o, self) && (roles & R.SUBSCRIBE)) dropped++;
  }
  return dropped;
}

class Broadcast {
  #segment;
  #buffer;
  #byteOffset;
  #state;
  #slot = 0;
  #token = 0;
  #closed = false;
  #subscribers = new Set();
  capacity;

  /** @private Use Broadcast.create() or Broadcast.open(). */
  constructor(token, where, shape) {
    if (token !== kInternal) throw new TypeError('Broadcast cannot be constructed directly: use Broadcast.create() or Broadcast.open()');
    this.#segment = where.segment;
    this.#buffer = where.segment ? where.segment.buffer : where.buffer;
    this.#byteOffset = where.byteOffset;
    try {
      if (shape) region.stamp(this.#buffer, where.byteOffset, C.MSG_KIND_BROADCAST, shape.capacity, shape.messageBytes);
      const h = region.checkHeader(this.#buffer, where.byteOffset, C.MSG_KIND_BROADCAST);
      if (h.capacity > C.BCAST_MAX_CAPACITY || h.capacity < C.BCAST_MIN_CAPACITY || h.elementSize < 1 ||
          h.elementSize > C.BCAST_MAX_MESSAGE_BYTES || bytesFor(h.capacity, h.elementSize) > MAX_BYTES) {
        throw msgError('ERR_CORRUPT', `Broadcast header: capacity ${h.capacity}, message bytes ${h.elementSize}`);
      }
      const bytes = bytesFor(h.capacity, h.elementSize);
      if (where.byteOffset + bytes > this.#buffer.byteLength) {
        throw msgError('ERR_BAD_SIZE', `The broadcast needs ${bytes} bytes at ${where.byteOffset}; the memory holds ${this.#buffer.byteLength}`);
      }
      this.capacity = h.capacity;
      const u32 = new Uint32Array(this.#buffer, where.byteOffset, bytes / WORD);
      const i32 = new Int32Array(this.#buffer, where.byteOffset, bytes / WORD);
      this.#state = {
        u32,
        buf: Buffer.from(this.#buffer, where.byteOffset, bytes),
        mask: h.capacity - 1,
        capacity: h.capacity,
        messageBytes: h.elementSize,
        strideWords: strideOf(h.elementSize) / WORD,
        owners: new OwnerTable(u32, OWNERS, C.BCAST_OWNER_SLOTS),
        self: identityOf(process.pid, threadId),
        i32,
        wakeAll: (index) => wakeAll(i32, index),
      };
      this.#slot = this.#attach(0);
      this.#token = this.#state.owners.watch(this.#slot, this.#state.self);
    } catch (e) {
      if (this.#segment) this.#segment.close();
      throw e;
    }
  }

  // Claims an owner record and writes its party record: `roles` and, for a subscriber, its cursor.
  #attach(roles) {
    const s = this.#state;
    const slot = claimOwner(s);
    Atomics.store(s.u32, R.partyWord(slot, R.CURSOR), Atomics.load(s.u32, R.TAIL));
    Atomics.store(s.u32, R.partyWord(slot, R.ROLES), roles);
    return slot;
  }

  /** Creates a broadcast channel: a new segment (exclusive), or one in a SharedArrayBuffer. */
  static create(options) {
    v.validateObject(options, 'options');
    if (options.capacity === undefined) throw v.typeError('The "options.capacity" argument is required');
    const messageBytes = options.messageBytes ?? DEFAULT_MESSAGE_BYTES;
    validateShape(options.capacity, messageBytes);
    const start = region.startPositionOf(options);
    const bytes = bytesFor(options.capacity, messageBytes);
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
    return new Broadcast(kInternal, where, { capacity: options.capacity, messageBytes });
  }

  /** Opens an existing broadcast channel (its header gives the capacity and record size). */
  static open(options) {
    v.validateObject(options, 'options');
    return new Broadcast(kInternal, region.place(options, { create: false, keys: OPEN_KEYS, bytes: null }));
  }

  /** The bytes a broadcast of `capacity` records of `options.messageBytes` (248) needs. */
  static bytesFor(capacity, options) {
    const messageBytes = region.messageBytesOption(options, DEFAULT_MESSAGE_BYTES);
    validateShape(capacity, messageBytes);
    return bytesFor(capacity, messageBytes);
  }

  get buffer() {
    this.#usable();
    return this.#buffer;
  }

  get byteOffset() {
    return this.#byteOffset;
  }

  get messageBytes() {
    return this.#state.messageBytes;
  }

  get closed() {
    return this.#closed;
  }

  /** Publications given up because their publisher died while writing them. */
  get skipped() {
    this.#usable();
    return Atomics.load(this.#state.u32, R.SKIPPED);
  }

  /** The live subscribers of every process; subscribers that are gone are dropped first. */
  get subscribers() {
    this.#usable();
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
   * what a publisher that wants no subscriber to miss anything keeps below `capacity`. A
   * subscriber a lap or more behind is checked by the gone rule and dropped if it is gone.
   */
  get maxLag() {
    this.#usable();
    const s = this.#state;
    const tail = Atomics.load(s.u32, R.TAIL);
    let max = 0;
    for (let o = 1; o < s.owners.slots; o++) {
      if (Atomics.load(s.u32, s.owners.pidWord(o)) === 0 || !(Atomics.load(s.u32, R.partyWord(o, R.ROLES)) & R.SUBSCRIBE)) continue;
      const lag = R.diff(tail, Atomics.load(s.u32, R.partyWord(o, R.CURSOR)));
      if (lag >= s.capacity && s.owners.status(o, s.self) === GONE) {
        dropGone(s);
        continue;
      }
      max = Math.max(max, lag);
    }
    return max;
  }

  #usable() {
    if (this.#closed) throw region.closedError('broadcast');
  }

  // At most once per RECHECK_MS per handle: whether to look for a gone publisher's record.
  #repair = oncePer(RECHECK_MS);

  /**
   * Publishes `value` to every subscriber. Never waits for subscribers: the oldest record is
   * overwritten. Spins only while another publisher finishes the record one lap earlier.
   */
  publish(value) {
    this.#usable();
    const { tag, payload } = codec.prepare(value, 'value');
    const length = codec.encodedLength(payload, this.#state.messageBytes);
    if (length > this.#state.messageBytes) throw codec.tooLarge(length, this.#state.messageBytes);
    while (!R.publish(this.#state, this.#slot, tag, payload, this.#repair));
  }

  /** A new subscriber: it receives every message published from now on. */
  subscribe() {
    this.#usable();
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
    if (this.#closed) return;
    for (const sub of [...this.#subscribers]) sub.close();
    this.#closed = true;
    const s = this.#state;
    Atomics.store(s.u32, R.partyWord(this.#slot, R.ROLES), 0);
    s.owners.unwatch(this.#token);
    s.owners.release(this.#slot);
    if (this.#segment) this.#segment.close();
  }
}

if (typeof Symbol.dispose === 'symbol') Broadcast.prototype[Symbol.dispose] = Broadcast.prototype.close;

module.exports = { Broadcast, Subscriber };
