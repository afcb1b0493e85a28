'use strict';
// SpscRing: a wait-free single-producer single-consumer ring (docs/format.md §15) in a segment or
// a SharedArrayBuffer. Two modes over the same control block: variable-size records (strings,
// bytes, JSON values: codec.js) in a byte ring, or fixed-size elements copied straight between
// the ring and the caller's typed arrays. The same bytes as src/msg/spsc.h.
//
// The producer owns `tail` and the consumer `head` (each on a cache line of its own); each side
// caches the other's index and reloads it only when the cached one says full or empty. A side
// that finds nothing to do spins briefly, then raises its sleeping flag and parks on the other
// side's index; the other side wakes it only when it sees that flag (format.md §15, Waking), so a
// busy ring makes no system call at all.
const { C, W } = require('../layout/layout');
const { addLatency } = require('./latency');
const { msgError } = require('./errors');
const v = require('../base/validate');
const region = require('./region');
const { RegionHandle, make } = require('./handle');
const codec = require('./codec');
const { Spinner, spinWhileEqual, park, parkAsync, wakeAll, timeoutOf, asyncOptions, abortable, timedOut } = require('./park');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const CTL = C.SPSC_CONTROL_OFFSET / WORD;
const TAIL = CTL + W.SPSC_CONTROL.TAIL;
const HEAD = CTL + W.SPSC_CONTROL.HEAD;
const CONSUMER_SLEEPING = CTL + W.SPSC_CONTROL.CONSUMER_SLEEPING;
const PRODUCER_SLEEPING = CTL + W.SPSC_CONTROL.PRODUCER_SLEEPING;
const DATA = C.SPSC_DATA_OFFSET;
const DATA_WORD = DATA / WORD;
const TAG_SHIFT = C.MSG_TAG_SHIFT;
const LENGTH_MASK = C.MSG_LENGTH_MASK;
const TAG_WRAP = C.MSG_TAG_WRAP;
const HEADER = WORD; // the record header
// A parked side re-checks at least this often (a wake-up can only be missed by a party that died
// between its store and its wake).
const PARK_MS = 200;
const CREATE_KEYS = ['name', 'path', 'buffer', 'byteOffset', 'size', 'capacity', 'elementSize', 'startPosition'];

const align4 = (n) => (n + 3) & ~3;

/** Bytes a ring of `capacity` needs (bytes, or elements of `elementSize` bytes). */
function bytesFor(capacity, elementSize = 0) {
  return DATA + capacity * (elementSize || 1);
}

function validateShape(capacity, elementSize) {
  if (elementSize === 0) {
    region.validateCapacity(capacity, 'options.capacity', C.SPSC_MIN_BYTES);
    return;
  }
  v.validateInteger(elementSize, 'options.elementSize', 1, C.SPSC_MAX_ELEMENT_BYTES);
  region.validateCapacity(capacity, 'options.capacity', 2);
  if (capacity * elementSize > C.MSG_MAX_CAPACITY) {
    throw v.rangeError(`A ring of ${capacity} elements of ${elementSize} bytes exceeds ${C.MSG_MAX_CAPACITY} bytes of data`);
  }
}

// Records a batch dequeue reads between two stores of the head: few enough that a producer
// waiting for room sees the head move within its polling budget.
const RELEASE_EVERY = 32;
// The most bytes one latin1 decode of a batch covers: a string cut out of it may keep the whole
// decode alive (V8 shares the characters of a substring), so a kept message holds at most this.
const RUN_BYTES = 2048;
// A run of strings a batch enqueue writes with one UTF-8 write (#writeStrings).
const RUN_RECORDS = 32;
// The longest string a run takes: the write of a longer one costs mostly its bytes, not the call.
const RUN_STRING = 256;
const MAX_UTF8_PER_UNIT = 3;
const TAG_LATIN1 = C.MSG_TAG_LATIN1;
// What goes between two payloads of a run: the padding of the first (0-3 bytes) and the header of
// the next (4 bytes), as NULs.
const SEPARATORS = [0, 1, 2, 3].map((pad) => '\0'.repeat(pad + HEADER));

class SpscRing extends RegionHandle {
  #u32;
  #i32;
  #u8;
  #buf;
  #capacity;
  #mask;
  #elementSize;
  #maxMessage;
  #cachedHead = 0; // the producer's copy of head
  #cachedTail = 0; // the consumer's copy of tail
  #intoTarget = null; // the last target of dequeueInto and its views (no allocation on reuse)
  #intoU8 = null;
  #intoU32 = null;
  #spinner = new Spinner(); // how long this handle polls before it parks (park.js)
  #runCount = 0; // records the last #readRun() read, or #writeStrings() wrote or handed back
  #parts = []; // #writeStrings()'s scratch: the strings of a run and what goes between them

  /** @private Use SpscRing.create() or SpscRing.open(). */
  constructor(token, where, shape) {
    super(token, where, 'ring');
    const buffer = this.buffer;
    const at = where.byteOffset;
    if (shape) region.stamp(buffer, at, C.MSG_KIND_SPSC, shape.capacity, shape.elementSize);
    const h = region.checkHeader(buffer, at, C.MSG_KIND_SPSC);
    const bytes = bytesFor(h.capacity, h.elementSize);
    if (h.elementSize > C.SPSC_MAX_ELEMENT_BYTES || (h.elementSize === 0 && h.capacity < C.SPSC_MIN_BYTES) ||
        bytes - DATA > C.MSG_MAX_CAPACITY) {
      throw msgError('ERR_CORRUPT', `SPSC ring header: capacity ${h.capacity}, element size ${h.elementSize}`);
    }
    if (at + bytes > buffer.byteLength) {
      throw msgError('ERR_BAD_SIZE', `The ring needs ${bytes} bytes at ${at}; the memory holds ${buffer.byteLength}`);
    }
    this.#capacity = h.capacity;
    this.#mask = h.capacity - 1;
    this.#elementSize = h.elementSize;
    this.#maxMessage = h.elementSize ? 0 : h.capacity / 2 - HEADER;
    this.#u32 = new Uint32Array(buffer, at, bytes / WORD);
    this.#i32 = new Int32Array(buffer, at, bytes / WORD);
    this.#u8 = new Uint8Array(buffer, at, bytes);
    this.#buf = Buffer.from(buffer, at, bytes);
    this.#cachedHead = Atomics.load(this.#u32, HEAD);
    this.#cachedTail = Atomics.load(this.#u32, TAIL);
  }

  /**
   * Creates a ring: a new segment (exclusive), or a ring in a SharedArrayBuffer. `capacity` is
   * the data bytes (variable-size messages) or the number of elements (with `elementSize`).
   */
  static create(options) {
    v.validateObject(options, 'options');
    const elementSize = options.elementSize ?? 0;
    if (options.capacity === undefined) throw v.typeError('The "options.capacity" argument is required');
    validateShape(options.capacity, elementSize);
    let start = 0;
    if (options.startPosition !== undefined) {
      v.validateInteger(options.startPosition, 'options.startPosition', 0, 2 ** 32 - 1);
      start = elementSize ? options.startPosition : options.startPosition & ~3;
    }
    const where = region.place(options, { create: true, keys: CREATE_KEYS, bytes: bytesFor(options.capacity, elementSize) });
    const buffer = where.segment ? where.segment.buffer : where.buffer;
    // The indices first, the header (magic last) in the constructor: an opener sees a whole ring.
    const u32 = new Uint32Array(buffer, where.byteOffset, DATA_WORD);
    Atomics.store(u32, TAIL, start);
    Atomics.store(u32, HEAD, start);
    Atomics.store(u32, CONSUMER_SLEEPING, 0);
    Atomics.store(u32, PRODUCER_SLEEPING, 0);
    return make(SpscRing, where, { capacity: options.capacity, elementSize });
  }

  static bytesFor(capacity, options) {
    let elementSize = 0;
    if (options !== undefined) {
      v.validateObject(options, 'options');
      v.validateKeys(options, 'options', ['elementSize']);
      elementSize = options.elementSize ?? 0;
    }
    validateShape(capacity, elementSize);
    return bytesFor(capacity, elementSize);
  }

  get capacity() {
    return this.#capacity;
  }

  get elementSize() {
    return this.#elementSize;
  }

  /** The largest message in bytes (variable-size mode); 0 in element mode. */
  get maxMessageBytes() {
    return this.#maxMessage;
  }

  /** Elements queued (element mode), or bytes in use (variable-size mode). */
  get size() {
    this.usable_();
    return (Atomics.load(this.#u32, TAIL) - Atomics.load(this.#u32, HEAD)) >>> 0;
  }


  // ---- producer ----------------------------------------------------------------------------

  // Checks and prepares a value: { tag, payload, length } for a record, or a Uint8Array of whole
  // elements. Throws before anything is written.
  #prepare(value) {
    this.usable_();
    if (this.#elementSize) {
      const bytes = codec.bytesOf(value);
      if (bytes === null) throw v.invalidType('value', 'a typed array, a DataView or an ArrayBuffer', value);
      if (bytes.byteLength === 0 || bytes.byteLength % this.#elementSize !== 0) {
        throw v.rangeError(`The "value" argument must hold a whole, nonzero number of ${this.#elementSize}-byte elements. Received ${bytes.byteLength} bytes`);
      }
      if (bytes.byteLength / this.#elementSize > this.#capacity) {
        throw codec.tooLarge(bytes.byteLength, this.#capacity * this.#elementSize);
      }
      return bytes;
    }
    const { tag, payload } = codec.prepare(value, 'value');
    let length = codec.encodedLength(payload, this.#maxMessage);
    if (length > this.#maxMessage) throw codec.tooLarge(length, this.#maxMessage);
    if (length < 0) length = -1;
    return { tag, payload, length };
  }

  // One attempt: writes the prepared message if there is room. Returns whether it did.
  #push(p) {
    const u32 = this.#u32;
    const tail = Atomics.load(u32, TAIL);
    if (this.#elementSize) {
      const n = p.byteLength / this.#elementSize;
      if (this.#capacity - ((tail - this.#cachedHead) >>> 0) < n) {
        this.#cachedHead = Atomics.load(u32, HEAD);
        if (this.#capacity - ((tail - this.#cachedHead) >>> 0) < n) return false;
      }
      const at = (tail & this.#mask) * this.#elementSize;
      const first = Math.min(p.byteLength, this.#capacity * this.#elementSize - at);
      this.#u8.set(first === p.byteLength ? p : p.subarray(0, first), DATA + at);
      if (first < p.byteLength) this.#u8.set(p.subarray(first), DATA);
      this.#publish((tail + n) >>> 0);
      return true;
    }
    const next = this.#write(p, tail);
    if (next < 0) return false;
    this.#publish(next);
    return true;
  }

  // Writes a prepared record at `tail` if there is room, without publishing it (the consumer
  // reads nothing past the published tail). Returns the tail after it, or -1 when full.
  #write(p, tail) {
    // A string's exact length is known only once written: reserve its bound (3 bytes a unit,
    // at most maxMessage) and count what was written.
    const reserve = p.length < 0 ? Math.min(p.payload.length * 3, this.#maxMessage) : p.length;
    const record = HEADER + align4(reserve);
    let at = tail & this.#mask;
    const contiguous = this.#capacity - at;
    const need = record <= contiguous ? record : contiguous + record;
    if (this.#capacity - ((tail - this.#cachedHead) >>> 0) < need) {
      this.#cachedHead = Atomics.load(this.#u32, HEAD);
      if (this.#capacity - ((tail - this.#cachedHead) >>> 0) < need) return -1;
    }
    let next = tail;
    if (record > contiguous) {
      this.#u32[DATA_WORD + at / WORD] = TAG_WRAP << TAG_SHIFT; // the rest of the ring is unused
      next = (next + contiguous) >>> 0;
      at = 0;
    }
    const header = codec.writeRecord(this.#buf, DATA + at + HEADER, p.tag, p.payload);
    this.#u32[DATA_WORD + at / WORD] = header;
    return (next + HEADER + align4(header & LENGTH_MASK)) >>> 0;
  }

  // Writes values[from..] while they fit and publishes them with one store of the tail (one
  // wake-up check for the lot). Returns the index of the first value not written. A value that
  // cannot be sent throws after the ones before it were published, as a loop of enqueue()s would.
  // A batch of more than a quarter of the ring is published a quarter at a time: the consumer
  // reads the first records while the rest are written, instead of waiting for all of them (and
  // then the producer for all of their room).
  #pushMany(values, from) {
    let tail = Atomics.load(this.#u32, TAIL);
    let next = tail;
    let i = from;
    let single = from; // values before this one that a run of strings could not take go one by one
    try {
      while (i < values.length) {
        let t = -1;
        if (i >= single && typeof values[i] === 'string' && values[i].length <= RUN_STRING) {
          t = this.#writeStrings(values, i, next);
          if (t >= 0) i += this.#runCount;
          else single = i + this.#runCount;
        }
        if (t < 0) {
          t = this.#write(this.#prepare(values[i]), next);
          if (t < 0) break;
          i++;
        }
        next = t;
        if (((next - tail) >>> 0) >= this.#capacity >>> 2) {
          this.#publish(next);
          tail = next;
        }
      }
    } finally {
      if (next !== tail) this.#publish(next);
    }
    return i;
  }

  // Writes a run of strings from values[from] (at least two, at most RUN_RECORDS, RUN_BYTES of
  // records) at `tail` with one UTF-8 write: the strings joined with the bytes that go between
  // their payloads (a header and the padding, written as NULs), so that each payload lands where
  // its record puts it; then the headers over the NULs. Strict about when: the write returns as
  // many bytes as the joined text has units only when every unit is ASCII, and only then are the
  // records tagged LATIN1 and kept. Returns the tail after the run (#runCount: how many), or -1
  // when the strings must go one by one (#runCount of them: fewer than two, no contiguous room
  // for the write's worst case of 3 bytes a unit, or not ASCII; the bytes written past the tail
  // are not published and are written over).
  #writeStrings(values, from, tail) {
    const parts = this.#parts;
    let bytes = 0;
    let j = from;
    for (; j < values.length && j - from < RUN_RECORDS && typeof values[j] === 'string'; j++) {
      const length = values[j].length;
      if (length > RUN_STRING || length * MAX_UTF8_PER_UNIT > this.#maxMessage || bytes + HEADER + align4(length) > RUN_BYTES) break;
      if (j > from) parts.push(SEPARATORS[align4(values[j - 1].length) - values[j - 1].length]);
      parts.push(values[j]);
      bytes += HEADER + align4(length);
    }
    this.#runCount = Math.max(1, j - from);
    if (j - from < 2) {
      parts.length = 0;
      return -1;
    }
    const text = parts.join('');
    parts.length = 0;
    const at = tail & this.#mask;
    const bound = HEADER + text.length * MAX_UTF8_PER_UNIT;
    if (this.#capacity - at < bound) return -1;
    if (this.#capacity - ((tail - this.#cachedHead) >>> 0) < bound) {
      this.#cachedHead = Atomics.load(this.#u32, HEAD);
      if (this.#capacity - ((tail - this.#cachedHead) >>> 0) < bound) return -1;
    }
    if (this.#buf.utf8Write(text, DATA + at + HEADER) !== text.length) return -1;
    let w = DATA_WORD + at / WORD;
    for (let k = from; k < j; k++) {
      const length = values[k].length;
      this.#u32[w] = ((TAG_LATIN1 << TAG_SHIFT) | length) >>> 0;
      w += (HEADER + align4(length)) / WORD;
    }
    return (tail + bytes) >>> 0;
  }

  // Stores the index, and wakes the other side if it says it sleeps: once per sleep (the flag is
  // taken back with a CAS), not at every message published while it is waking up.
  #publish(tail) {
    Atomics.store(this.#u32, TAIL, tail);
    if (Atomics.load(this.#u32, CONSUMER_SLEEPING) !== 0 &&
        Atomics.compareExchange(this.#u32, CONSUMER_SLEEPING, 1, 0) === 1) {
      wakeAll(this.#i32, TAIL);
    }
  }

  /** Enqueues `value` if there is room now. Returns whether it did. */
  tryEnqueue(value) {
    return this.#push(this.#prepare(value));
  }

  #checkBatch(values, what) {
    this.usable_();
    if (!Array.isArray(values)) throw v.invalidType('values', 'an Array', values);
    if (this.#elementSize) throw msgError('ERR_INVALID_ARG', `${what} needs a ring of variable-size messages (enqueue() takes many elements at once)`);
  }

  /**
   * Enqueues the values of an array in order, as many as fit now, published together. Returns
   * how many (a prefix of `values`).
   */
  tryEnqueueBatch(values) {
    this.#checkBatch(values, 'tryEnqueueBatch()');
    return this.#pushMany(values, 0);
  }

  /**
   * Enqueues every value of an array in order, blocking while the ring is full; the values that
   * fit are published together. ERR_QUEUE_TIMEOUT after timeoutMs (the values before the one it
   * waited for stay enqueued; the error's `enqueued` says how many).
   */
  enqueueBatch(values, timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    this.#checkBatch(values, 'enqueueBatch()');
    let i = this.#pushMany(values, 0);
    if (i === values.length) return;
    const deadline = performance.now() + timeout;
    for (;;) {
      const head = Atomics.load(this.#u32, HEAD);
      i = this.#pushMany(values, i);
      if (i === values.length) return;
      if (!this.#block(PRODUCER_SLEEPING, HEAD, head, deadline)) {
        const e = timedOut('enqueueBatch()', timeout);
        e.enqueued = i;
        throw e;
      }
      this.usable_();
    }
  }

  /** Enqueues `value`, blocking the thread while the ring is full. ERR_QUEUE_TIMEOUT after timeoutMs. */
  enqueue(value, timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    const p = this.#prepare(value);
    if (this.#push(p)) return;
    const deadline = performance.now() + timeout;
    for (;;) {
      const head = Atomics.load(this.#u32, HEAD);
      if (this.#push(p)) return;
      if (!this.#block(PRODUCER_SLEEPING, HEAD, head, deadline)) throw timedOut('enqueue()', timeout);
      this.usable_();
    }
  }

  /** Like enqueue() without blocking the event loop; options { timeoutMs, signal }. */
  enqueueAsync(value, options) {
    const { timeout, signal } = asyncOptions(options);
    const p = this.#prepare(value);
    // Keep our own copy: the prepared object of the codec is reused by the next call.
    const own = p.tag === undefined ? p : { tag: p.tag, payload: p.payload, length: p.length };
    return this.#enqueueAsync(own, timeout, signal);
  }

  async #enqueueAsync(own, timeout, signal) {
    const deadline = performance.now() + timeout;
    for (;;) {
      signal?.throwIfAborted();
      this.usable_();
      const head = Atomics.load(this.#u32, HEAD);
      if (this.#push(own)) return;
      if (!(await this.#blockAsync(PRODUCER_SLEEPING, HEAD, head, deadline, signal))) throw timedOut('enqueueAsync()', timeout);
    }
  }

  // ---- consumer ----------------------------------------------------------------------------

  // The position of the next record (past a wrap marker) and its header, or -1 when empty.
  #front() {
    const u32 = this.#u32;
    let head = Atomics.load(u32, HEAD);
    if (head === this.#cachedTail) {
      this.#cachedTail = Atomics.load(u32, TAIL);
      if (head === this.#cachedTail) return -1;
    }
    if (u32[DATA_WORD + (head & this.#mask) / WORD] >>> TAG_SHIFT === TAG_WRAP) {
      head = (head + this.#capacity - (head & this.#mask)) >>> 0;
    }
    return head;
  }

  #read(head) {
    const at = head & this.#mask;
    const h = this.#u32[DATA_WORD + at / WORD];
    const length = h & LENGTH_MASK;
    if (length > this.#maxMessage) throw codec.corrupt(`a record of ${length} bytes at position ${head}`);
    return codec.decode(this.#buf, DATA + at + HEADER, length, h >>> TAG_SHIFT);
  }

  #pop() {
    if (this.#elementSize) {
      const out = Buffer.allocUnsafe(this.#elementSize);
      return this.#popInto(out) ? out : undefined;
    }
    const head = this.#front();
    if (head < 0) return undefined;
    const value = this.#read(head);
    const length = this.#u32[DATA_WORD + (head & this.#mask) / WORD] & LENGTH_MASK;
    this.#release((head + HEADER + align4(length)) >>> 0);
    return value;
  }

  // Reads up to `max` records into `out` and releases them with one store of the head (one
  // wake-up check for the lot). Returns how many it added. A corrupt record throws after the ones
  // before it were released.
  #popMany(out, max) {
    const u32 = this.#u32;
    let start = Atomics.load(u32, HEAD);
    let head = start;
    // The producer's index once per batch: everything published up to now.
    const tail = Atomics.load(u32, TAIL);
    this.#cachedTail = tail;
    let n = 0;
    try {
      while (n < max && head !== tail) {
        if (u32[DATA_WORD + (head & this.#mask) / WORD] >>> TAG_SHIFT === TAG_WRAP) {
          head = (head + this.#capacity - (head & this.#mask)) >>> 0;
          continue;
        }
        const h = u32[DATA_WORD + (head & this.#mask) / WORD];
        if (codec.isLatin1(h >>> TAG_SHIFT)) {
          const end = this.#readRun(out, head, tail, Math.min(max - n, RELEASE_EVERY - (n % RELEASE_EVERY)));
          n += this.#runCount;
          head = end;
        } else {
          out.push(this.#read(head));
          n++;
          head = (head + HEADER + align4(h & LENGTH_MASK)) >>> 0;
        }
        // Released every RELEASE_EVERY records, or a quarter of the ring, whichever comes first:
        // a producer that waits for room sees the head move within its polling budget (park.js)
        // and writes into the room while the rest is read, instead of parking until the batch ends.
        if (n % RELEASE_EVERY === 0 || ((head - start) >>> 0) >= this.#capacity >>> 2) {
          this.#release(head);
          start = head;
        }
      }
    } finally {
      if (head !== start) this.#release(head);
    }
    return n;
  }

  // Reads the run of one-byte text records that starts at `head` (at most `limit`, before
  // `tail`, the end of the data or RUN_BYTES) with one latin1 decode of their bytes, headers
  // included, and cuts each payload out of it: one native call for the run instead of one per
  // record. Returns the position after the run; #runCount says how many it read.
  #readRun(out, head, tail, limit) {
    const u32 = this.#u32;
    const start = head & this.#mask;
    let end = start;
    let k = 0;
    let pos = head;
    while (k < limit && pos !== tail && end < this.#capacity && end - start < RUN_BYTES) {
      const h = u32[DATA_WORD + end / WORD];
      if (!codec.isLatin1(h >>> TAG_SHIFT) || (h & LENGTH_MASK) > this.#maxMessage) break;
      const used = HEADER + align4(h & LENGTH_MASK);
      end += used;
      pos = (pos + used) >>> 0;
      k++;
    }
    if (k <= 1) {
      out.push(this.#read(head)); // (k is 0 only for a length #read() refuses)
      k = 1;
    } else {
      const text = this.#buf.latin1Slice(DATA + start, DATA + end);
      for (let at = start; at < end;) {
        const h = u32[DATA_WORD + at / WORD];
        const from = at - start + HEADER;
        out.push(codec.decodeText(text, from, from + (h & LENGTH_MASK), h >>> TAG_SHIFT));
        at += HEADER + align4(h & LENGTH_MASK);
      }
    }
    this.#runCount = k;
    return pos;
  }

  #release(head) {
    Atomics.store(this.#u32, HEAD, head);
    if (Atomics.load(this.#u32, PRODUCER_SLEEPING) !== 0 &&
        Atomics.compareExchange(this.#u32, PRODUCER_SLEEPING, 1, 0) === 1) {
      wakeAll(this.#i32, HEAD);
    }
  }

  /** Dequeues the next message, or returns undefined when the ring is empty. */
  tryDequeue() {
    this.usable_();
    return this.#pop();
  }

  #checkMax(max, what) {
    this.usable_();
    if (this.#elementSize) throw msgError('ERR_INVALID_ARG', `${what} needs a ring of variable-size messages (dequeueInto() takes many elements at once)`);
    if (max === undefined) return Infinity;
    v.validateInteger(max, 'max', 1, Number.MAX_SAFE_INTEGER);
    return max;
  }

  /**
   * Dequeues the messages there are now, at most `max` (default: all), released together.
   * Returns them in order in an array (empty when the ring is empty).
   */
  tryDequeueBatch(max) {
    const limit = this.#checkMax(max, 'tryDequeueBatch()');
    const out = [];
    this.#popMany(out, limit);
    return out;
  }

  /** Like tryDequeueBatch(), blocking the thread until at least one message arrives. ERR_QUEUE_TIMEOUT after timeoutMs. */
  dequeueBatch(max, timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    const limit = this.#checkMax(max, 'dequeueBatch()');
    const out = [];
    if (this.#popMany(out, limit) > 0) return out;
    const deadline = performance.now() + timeout;
    for (;;) {
      const tail = Atomics.load(this.#u32, TAIL);
      if (this.#popMany(out, limit) > 0) return out;
      if (!this.#block(CONSUMER_SLEEPING, TAIL, tail, deadline)) throw timedOut('dequeueBatch()', timeout);
      this.usable_();
    }
  }

  /** The next message without removing it, or undefined when the ring is empty. */
  peek() {
    this.usable_();
    if (this.#elementSize) {
      const head = Atomics.load(this.#u32, HEAD);
      if (head === Atomics.load(this.#u32, TAIL)) return undefined;
      const at = DATA + (head & this.#mask) * this.#elementSize;
      return Buffer.copyBytesFrom(this.#u8, at, this.#elementSize);
    }
    const head = this.#front();
    return head < 0 ? undefined : this.#read(head);
  }

  /** Dequeues, blocking the thread while the ring is empty. ERR_QUEUE_TIMEOUT after timeoutMs. */
  dequeue(timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    this.usable_();
    const first = this.#pop();
    if (first !== undefined) return first;
    const deadline = performance.now() + timeout;
    for (;;) {
      const tail = Atomics.load(this.#u32, TAIL);
      const value = this.#pop();
      if (value !== undefined) return value;
      if (!this.#block(CONSUMER_SLEEPING, TAIL, tail, deadline)) throw timedOut('dequeue()', timeout);
      this.usable_();
    }
  }

  /** Like dequeue() without blocking the event loop; options { timeoutMs, signal }. */
  dequeueAsync(options) {
    const { timeout, signal } = asyncOptions(options);
    this.usable_();
    return this.#dequeueAsync(timeout, signal);
  }

  async #dequeueAsync(timeout, signal) {
    const deadline = performance.now() + timeout;
    for (;;) {
      signal?.throwIfAborted();
      this.usable_();
      const tail = Atomics.load(this.#u32, TAIL);
      const value = this.#pop();
      if (value !== undefined) return value;
      if (!(await this.#blockAsync(CONSUMER_SLEEPING, TAIL, tail, deadline, signal))) throw timedOut('dequeueAsync()', timeout);
    }
  }

  // Element mode: copies up to target.byteLength / elementSize elements into `target`; returns
  // how many. Allocates nothing when called again with the same target.
  #popInto(target) {
    const u32 = this.#u32;
    const head = Atomics.load(u32, HEAD);
    const size = this.#elementSize;
    const room = Math.floor(target.byteLength / size);
    let avail = (this.#cachedTail - head) >>> 0;
    if (avail < room) {
      this.#cachedTail = Atomics.load(u32, TAIL);
      avail = (this.#cachedTail - head) >>> 0;
      if (avail === 0) return 0;
    }
    if (target !== this.#intoTarget) this.#viewsOf(target);
    const n = Math.min(avail, room);
    const at = (head & this.#mask) * size;
    const first = Math.min(n * size, this.#capacity * size - at);
    this.#copyOut(DATA + at, 0, first);
    if (first < n * size) this.#copyOut(DATA, first, n * size - first);
    this.#release((head + n) >>> 0);
    return n;
  }

  #viewsOf(target) {
    const bytes = codec.bytesOf(target);
    if (bytes === null) throw v.invalidType('target', 'a typed array, a DataView or an ArrayBuffer', target);
    this.#intoTarget = target;
    this.#intoU8 = bytes;
    this.#intoU32 = bytes.byteOffset % WORD === 0 && this.#elementSize % WORD === 0
      ? new Uint32Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / WORD)) : null;
  }

  // Copies `n` bytes from byte `from` of the region to byte `to` of the current target, a word
  // at a time when both are word aligned (element sizes that are multiples of 4).
  #copyOut(from, to, n) {
    if (this.#intoU32 !== null) {
      const src = this.#u32;
      const dst = this.#intoU32;
      const s = from / WORD;
      const d = to / WORD;
      for (let i = 0; i < n / WORD; i++) dst[d + i] = src[s + i];
      return;
    }
    const src = this.#u8;
    const dst = this.#intoU8;
    for (let i = 0; i < n; i++) dst[to + i] = src[from + i];
  }

  #checkTarget(target) {
    this.usable_();
    if (!this.#elementSize) throw msgError('ERR_INVALID_ARG', 'dequeueInto() needs a ring of fixed-size elements (options.elementSize)');
    if (target !== this.#intoTarget) {
      if (codec.bytesOf(target) === null) throw v.invalidType('target', 'a typed array, a DataView or an ArrayBuffer', target);
      if (target.byteLength < this.#elementSize) {
        throw v.rangeError(`The "target" argument must hold at least one ${this.#elementSize}-byte element. Received ${target.byteLength} bytes`);
      }
    }
  }

  /** Element mode: dequeues up to as many elements as `target` holds; returns how many (0: empty). */
  tryDequeueInto(target) {
    this.#checkTarget(target);
    return this.#popInto(target);
  }

  /** Element mode: like tryDequeueInto(), blocking until at least one element arrives. */
  dequeueInto(target, timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    this.#checkTarget(target);
    const deadline = performance.now() + timeout;
    for (;;) {
      const tail = Atomics.load(this.#u32, TAIL);
      const n = this.#popInto(target);
      if (n > 0) return n;
      if (!this.#block(CONSUMER_SLEEPING, TAIL, tail, deadline)) throw timedOut('dequeueInto()', timeout);
      this.usable_();
    }
  }

  /** Element mode: like dequeueInto() without blocking the event loop. */
  dequeueIntoAsync(target, options) {
    const { timeout, signal } = asyncOptions(options);
    this.#checkTarget(target);
    return this.#dequeueIntoAsync(target, timeout, signal);
  }

  async #dequeueIntoAsync(target, timeout, signal) {
    const deadline = performance.now() + timeout;
    for (;;) {
      signal?.throwIfAborted();
      this.usable_();
      const tail = Atomics.load(this.#u32, TAIL);
      const n = this.#popInto(target);
      if (n > 0) return n;
      if (!(await this.#blockAsync(CONSUMER_SLEEPING, TAIL, tail, deadline, signal))) throw timedOut('dequeueIntoAsync()', timeout);
    }
  }

  // ---- waiting -----------------------------------------------------------------------------

  // Waits until u32[watch] !== seen: spins, then raises the sleeping flag `flag`, re-checks and
  // parks. Returns false when the deadline passed first.
  #block(flag, watch, seen, deadline) {
    const u32 = this.#u32;
    // A party that answers within a few microseconds is met without a system call (park.js).
    if (spinWhileEqual(u32, watch, seen, this.#spinner)) return true;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.store(u32, flag, 1);
      if (Atomics.load(u32, watch) === seen) park(this.#i32, watch, seen, Math.min(left, PARK_MS));
      Atomics.store(u32, flag, 0);
      if (Atomics.load(u32, watch) !== seen) return true;
    }
  }

  async #blockAsync(flag, watch, seen, deadline, signal) {
    const u32 = this.#u32;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.store(u32, flag, 1);
      try {
        if (Atomics.load(u32, watch) === seen) {
          await abortable(parkAsync(this.#i32, watch, seen, Math.min(left, PARK_MS)), signal);
        }
      } finally {
        Atomics.store(u32, flag, 0);
      }
      if (Atomics.load(u32, watch) !== seen) return true;
      signal?.throwIfAborted();
      this.usable_();
    }
  }

}
Object.defineProperty(SpscRing, 'DATA_OFFSET', { value: DATA, enumerable: true });

// Opt-in latency histograms (lib/msg/latency.js).
addLatency(SpscRing, ['tryEnqueue', 'enqueue', 'tryDequeue', 'dequeue', 'peek', 'tryDequeueInto', 'dequeueInto'],
  ['enqueueAsync', 'dequeueAsync', 'dequeueIntoAsync']);

module.exports = { SpscRing };
