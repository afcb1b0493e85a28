'use strict';
// SpscRing's variable-size records (docs/format.md §15, Records mode and Batches): writing and
// reading records one at a time and in batches, on the state of spsc-core.js. A string travels as
// one record whose bytes and tag codec.js chooses; a batch writes a run of short strings (and the
// JSON texts of its objects) with one UTF-8 write and reads a run of one-byte text records with
// one latin1 decode, because a native call per message costs more than its copy for short
// messages.
const { C } = require('../layout/layout');
const codec = require('./codec');
const { WORD, TAIL, HEAD, DATA, DATA_WORD, HEADER, align4, checkedUsed, ownIndex, publish, release } = require('./spsc-core');

const TAG_SHIFT = C.MSG_TAG_SHIFT;
const LENGTH_MASK = C.MSG_LENGTH_MASK;
const TAG_WRAP = C.MSG_TAG_WRAP;
const TAG_LATIN1 = C.MSG_TAG_LATIN1;
const TAG_JSON_LATIN1 = C.MSG_TAG_JSON_LATIN1;
const TAG_JSON = C.MSG_TAG_JSON;
// The last tag of a message (every reader knows tags 0 to this one; format.md §15, Records).
const TAG_LAST = C.MSG_TAG_NUMBER;
const TAG_NUMBER = C.MSG_TAG_NUMBER;
const NUMBER_BYTES = Float64Array.BYTES_PER_ELEMENT; // a number record's payload
// What r.texts holds for a value of a batch whose JSON text could not be made (runText()): the
// error that says why, thrown when the value's turn comes (prepareAt()), so that its toJSON runs
// once per batch call, as every other value's.
class NoText {
  constructor(error) {
    this.error = error;
  }
}
const MAX_UTF8_PER_UNIT = 3; // a UTF-16 unit becomes at most 3 UTF-8 bytes

// Records a batch dequeue reads between two stores of the head: few enough that a producer
// waiting for room sees the head move within its polling budget.
const RELEASE_EVERY = 32;
// Bytes a batch writes (reads) between two stores of the tail (head), at most a quarter of the
// ring: the other side gets something to do within a few hundred nanoseconds of long messages
// (two 1 KiB records), inside the shortest poll before it parks (park.js SPIN_MIN_MS, 0.5 us).
// At a quarter of a 64 KiB ring (16 KiB, some 2 us of writes), a consumer that had caught up
// polled in vain, its polling budget fell to nothing, and it parked at every hand-off: a futex
// wake for the producer and a wake-up for itself per 16 records.
const HANDOFF_BYTES = 2048;
// The most bytes one latin1 decode of a batch covers: a string cut out of it may keep the whole
// decode alive (V8 shares the characters of a substring), so a kept message holds at most this.
const RUN_BYTES = 2048;
// A run of strings a batch enqueue writes with one UTF-8 write (writeStrings).
const RUN_RECORDS = 32;
// The longest string a run takes: the write of a longer one costs mostly its bytes, not the call.
const RUN_STRING = 256;
// What goes between two payloads of a run: the padding of the first (0-3 bytes) and the header of
// the next (4 bytes), as NULs.
const SEPARATORS = [0, 1, 2, 3].map((pad) => '\0'.repeat(pad + HEADER));

/**
 * Checks and prepares a value: { tag, payload, length } (length -1: a string within its bound),
 * in `into` when given (a caller that writes it before anything else can prepare: no object per
 * message), else in a new object.
 */
function prepare(r, value, into = undefined) {
  const { tag, payload } = codec.prepare(value, 'value', r.maxMessage);
  let length = codec.encodedLength(payload, r.maxMessage);
  if (length > r.maxMessage) throw codec.tooLarge(length, r.maxMessage);
  if (length < 0) length = -1;
  if (into === undefined) return { tag, payload, length };
  into.tag = tag;
  into.payload = payload;
  into.length = length;
  return into;
}

// ---- producer ----------------------------------------------------------------------------

// Writes a prepared record at `tail` if there is room, without publishing it (the consumer reads
// nothing past the published tail). Returns the tail after it, or -1 when full.
function write(r, p, tail) {
  // A string's exact length is known only once written: reserve its bound (3 bytes a unit, at
  // most maxMessage) and count what was written.
  const reserve = p.length < 0 ? Math.min(p.payload.length * MAX_UTF8_PER_UNIT, r.maxMessage) : p.length;
  const record = HEADER + align4(reserve);
  let at = tail & r.mask;
  const contiguous = r.capacity - at;
  const need = record <= contiguous ? record : contiguous + record;
  if (r.capacity - ((tail - r.cachedHead) >>> 0) < need) {
    r.cachedHead = Atomics.load(r.u32, HEAD);
    if (r.capacity - checkedUsed(r, (tail - r.cachedHead) >>> 0) < need) return -1;
  }
  let next = tail;
  if (record > contiguous) {
    r.u32[DATA_WORD + at / WORD] = TAG_WRAP << TAG_SHIFT; // the rest of the ring is unused
    next = (next + contiguous) >>> 0;
    at = 0;
  }
  const header = codec.writeRecord(r.buf, DATA + at + HEADER, p.tag, p.payload, r.u32);
  r.u32[DATA_WORD + at / WORD] = header;
  return (next + HEADER + align4(header & LENGTH_MASK)) >>> 0;
}

// Writes a run of strings from values[from] (at least two, at most RUN_RECORDS, RUN_BYTES of
// records) at `tail` with one UTF-8 write: the strings joined with the bytes that go between
// their payloads (a header and the padding, written as NULs), so that each payload lands where
// its record puts it; then the headers over the NULs. Strict about when: the write returns as
// many bytes as the joined text has units only when every unit is ASCII, and only then are the
// records tagged LATIN1 and kept. The run is as long as the room there is for the write's worst
// case of 3 bytes a unit, contiguous and free: a ring that is nearly full (the consumer is the
// slower side, or it releases what it read a few records at a time) or nearly at its end takes
// a shorter run, not each string with a write of its own (some 60 ns more per string). Returns
// the tail after the run (r.runCount: how many), or -1 when the strings must go one by one
// (r.runCount of them: fewer than two fit a run, or not ASCII; the bytes written past the tail
// are not published and are written over).
function writeStrings(r, handle, values, from, tail) {
  const at = tail & r.mask;
  let room = Math.min(r.capacity - at, r.capacity - ((tail - r.cachedHead) >>> 0));
  if (room < r.capacity - at && room < HEADER + RUN_BYTES * MAX_UTF8_PER_UNIT) {
    r.cachedHead = Atomics.load(r.u32, HEAD);
    room = Math.min(r.capacity - at, r.capacity - checkedUsed(r, (tail - r.cachedHead) >>> 0));
  }
  const units = Math.floor((room - HEADER) / MAX_UTF8_PER_UNIT); // the most the joined text may have
  // Joined with +=, not pushed to an array and joined: the rope it makes is flattened once by the
  // write, about a quarter cheaper than Array.prototype.join over the 2k - 1 parts.
  let text = '';
  let bytes = 0;
  let j = from;
  let last = '';
  for (; j < values.length && j - from < RUN_RECORDS; j++) {
    const value = runText(r, values, j);
    if (value === undefined) break;
    const length = value.length;
    if (length > RUN_STRING || length * MAX_UTF8_PER_UNIT > r.maxMessage || bytes + HEADER + align4(length) > RUN_BYTES) break;
    const separator = j > from ? SEPARATORS[align4(last.length) - last.length] : '';
    if (text.length + separator.length + length > units) break;
    if (j > from) text += separator;
    text += value;
    last = value;
    bytes += HEADER + align4(length);
  }
  r.runCount = Math.max(1, j - from);
  // A toJSON, or a getter of the array, may have closed the handle: then nothing is written
  // (usable_() throws ERR_CLOSED), so that a closed handle never writes, nor publishes at the next
  // hand-off, what it would have delivered.
  handle.usable_();
  if (j - from < 2) return -1;
  // HEADER + 3 bytes a unit of the text fit in `room`, contiguous and free: the write cannot pass
  // the end of the data or the head.
  if (r.buf.utf8Write(text, DATA + at + HEADER) !== text.length) return -1;
  let w = DATA_WORD + at / WORD;
  for (let k = from; k < j; k++) {
    const string = typeof values[k] === 'string';
    const length = string ? values[k].length : r.texts[k - r.textFrom].length;
    r.u32[w] = (((string ? TAG_LATIN1 : TAG_JSON_LATIN1) << TAG_SHIFT) | length) >>> 0;
    w += (HEADER + align4(length)) / WORD;
  }
  return (tail + bytes) >>> 0;
}

// The text a run carries for values[j]: a string itself; any other JSON value (an object, not
// bytes) its JSON text, made once per batch call and kept in r.texts[j - r.textFrom] (for a value
// of a run that must then go alone too, so that a toJSON runs once per value), or the error that
// making it threw (a NoText, thrown by prepareAt() in the value's turn, after the values before
// it); undefined when the value must go alone (bytes, a primitive, no JSON text: the single path
// throws what it must).
function runText(r, values, j) {
  const value = values[j];
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null || codec.bytesOf(value) !== null) return undefined;
  const k = j - r.textFrom;
  let text = r.texts[k];
  if (text === undefined) {
    try {
      text = codec.jsonText(value, 'value');
    } catch (e) {
      text = new NoText(e);
    }
    r.texts[k] = text;
    if (k >= r.textCount) r.textCount = k + 1;
  }
  return typeof text === 'string' ? text : undefined;
}

// values[i] prepared as prepare() would, its JSON text taken from the run's if it has one (or the
// error making it threw, thrown again: its toJSON is not run twice).
function prepareAt(r, values, i) {
  const text = r.texts[i - r.textFrom];
  if (text instanceof NoText) throw text.error;
  if (typeof text !== 'string' || typeof values[i] === 'string') return prepare(r, values[i]);
  const length = codec.encodedLength(text, r.maxMessage);
  if (length > r.maxMessage) throw codec.tooLarge(length, r.maxMessage);
  return { tag: TAG_JSON, payload: text, length: length < 0 ? -1 : length };
}

// Writes values[from..] while they fit and publishes them with one store of the tail (one
// wake-up check for the lot). Returns the index of the first value not written. A value that
// cannot be sent throws after the ones before it were published, as a loop of enqueue()s would.
// A batch of more than HANDOFF_BYTES (or a quarter of the ring) is published that much at a
// time: the consumer reads the first records while the rest are written, instead of waiting for
// all of them (and then the producer for all of their room). `handle` is checked before each
// value is written (a toJSON may close it: ERR_CLOSED, nothing more written or published). That
// ERR_CLOSED carries `enqueued`: how many values of the batch were published (a prefix of
// `values`, those before `from` included: an earlier call of the same batch published them); the
// values written since the last publication are not published, and not counted.
function pushMany(r, handle, values, from, keep = false) {
  // Texts left by an earlier call of the same batch (`keep`) are indexed from its textFrom.
  if (r.textCount === 0) r.textFrom = from;
  let tail = Atomics.load(r.u32, TAIL);
  let next = tail;
  let i = from;
  let published = from; // values[..published-1] are published: the tail was stored past them
  let single = from; // values before this one that a run of strings could not take go one by one
  const handoff = Math.min(HANDOFF_BYTES, r.capacity >>> 2);
  try {
    while (i < values.length) {
      handle.usable_();
      let t = -1;
      if (i >= single && (typeof values[i] === 'string' ? values[i].length <= RUN_STRING : typeof values[i] === 'object')) {
        t = writeStrings(r, handle, values, i, next);
        if (t >= 0) i += r.runCount;
        else single = i + r.runCount;
      }
      if (t < 0) {
        const p = prepareAt(r, values, i);
        handle.usable_(); // its toJSON may have closed the handle: nothing is written then
        t = write(r, p, next);
        if (t < 0) break;
        i++;
      }
      next = t;
      if (((next - tail) >>> 0) >= handoff) {
        publish(r, next);
        tail = next;
        published = i;
      }
    }
  } catch (e) {
    if (handle.closed && e?.code === 'ERR_CLOSED') e.enqueued = published;
    throw e;
  } finally {
    // Not through a handle a toJSON closed: its memory may no longer be the region's, and what it
    // wrote there unpublished is not enqueued (the call throws ERR_CLOSED).
    if (next !== tail && !handle.closed) publish(r, next);
    if (!keep) forgetTexts(r);
  }
  return i;
}

// Drops the JSON texts of a batch (pushMany with `keep`, which its caller ends with this): no
// text of the caller's values stays.
function forgetTexts(r) {
  r.texts.fill(undefined, 0, r.textCount);
  r.textCount = 0;
}

// ---- consumer ----------------------------------------------------------------------------
//
// Damage (docs/format.md §15, "Damage" of the ring): a header no producer writes (an unknown tag,
// a length above the largest message, a number record of another length than 8, a wrap marker
// whose length is not 0, a record or a wrap marker that runs past the tail, a record that runs
// past the end of the data), a JSON record whose text does not parse (a producer writes only text JSON.stringify made, so its
// payload or its length, which would then put the next record elsewhere, was damaged), or indices
// farther apart than the capacity. Where the next record starts is then unknown (a record is found
// only from the one before it, and nothing marks where one begins), so nothing is dropped and
// every read throws ERR_CORRUPT with needsDiscard true until the consumer discards what was
// published (discard()).

// ERR_CORRUPT of a header the reader cannot read past.
function stuck(what, head) {
  const e = codec.corrupt(`${what} at position ${head}; the records after it cannot be found (discard() drops everything published up to now)`);
  e.needsDiscard = true;
  return e;
}

// The position of the record at `head` (past a wrap marker) with `used` bytes published after
// `head` (1 or more, up to the capacity), after checking its header is one a producer writes:
// throws stuck() when it is not. A tail the reader loaded is always a record boundary (a producer
// publishes whole records), so a sound record ends at or before it.
function sound(r, head, used) {
  const u32 = r.u32;
  let h = u32[DATA_WORD + (head & r.mask) / WORD];
  if (h >>> TAG_SHIFT === TAG_WRAP) {
    // A producer writes a wrap marker with length 0, and only together with the record after
    // it, at place 0: another length means the header (or what the record before it said of its
    // own length) was damaged, and skipping to place 0 would follow a guess.
    if ((h & LENGTH_MASK) !== 0) throw stuck(`a wrap marker of length ${h & LENGTH_MASK}`, head);
    const skip = r.capacity - (head & r.mask);
    if (skip >= used) throw stuck('a wrap marker that runs past the tail', head);
    head = (head + skip) >>> 0;
    used -= skip;
    h = u32[DATA_WORD];
    if (h >>> TAG_SHIFT === TAG_WRAP) throw stuck('a wrap marker at place 0', head);
  }
  const tag = h >>> TAG_SHIFT;
  const length = h & LENGTH_MASK;
  if (tag > TAG_LAST) throw stuck(`a record with the unknown tag ${tag}`, head);
  if (length > r.maxMessage) throw stuck(`a record of ${length} bytes (the largest is ${r.maxMessage})`, head);
  if (tag === TAG_NUMBER && length !== NUMBER_BYTES) throw stuck(`a number record of ${length} bytes`, head);
  if (HEADER + align4(length) > used) throw stuck(`a record of ${length} bytes that runs past the tail`, head);
  // A producer never splits a record at the end of the data (it writes a wrap marker instead): one
  // that would run past it is damage, and reading it would read outside the ring.
  if ((head & r.mask) + HEADER + align4(length) > r.capacity) throw stuck(`a record of ${length} bytes that runs past the end of the data`, head);
  return head;
}

// The position of the next record (past a wrap marker), or -1 when empty; throws stuck() on damage.
function front(r) {
  const head = ownIndex(r, HEAD);
  // The cached tail says nothing to read, or lies behind the head: this handle's copy is older
  // than what another handle of the consumer side read meanwhile (they take turns). Either way
  // the tail is loaded again, and only a distance from it can be damage.
  let used = (r.cachedTail - head) >>> 0;
  if (used === 0 || used > r.capacity) {
    r.cachedTail = Atomics.load(r.u32, TAIL);
    used = checkedUsed(r, (r.cachedTail - head) >>> 0);
    if (used === 0) return -1;
  }
  return sound(r, head, used);
}

// The message of the record at `head` (a position front() or sound() gave). A payload that does
// not decode throws ERR_CORRUPT with needsDiscard true (undecodable()).
function read(r, head) {
  const at = head & r.mask;
  const h = r.u32[DATA_WORD + at / WORD];
  try {
    return codec.decode(r.buf, DATA + at + HEADER, h & LENGTH_MASK, h >>> TAG_SHIFT);
  } catch (e) {
    throw undecodable(e);
  }
}

// A decode's ERR_CORRUPT (JSON text that does not parse) marked as damage the reader cannot read
// past: the length that says where the next record starts may be what was damaged.
function undecodable(e) {
  if (e.code === 'ERR_CORRUPT') e.needsDiscard = true;
  return e;
}

// The position after the record at `head`.
function after(r, head) {
  return (head + HEADER + align4(r.u32[DATA_WORD + (head & r.mask) / WORD] & LENGTH_MASK)) >>> 0;
}

/**
 * Dequeues the next message, or returns undefined when the ring is empty. Damage throws
 * ERR_CORRUPT (needsDiscard true) and drops nothing.
 */
function pop(r) {
  const head = front(r);
  if (head < 0) return undefined;
  const value = read(r, head);
  release(r, after(r, head));
  return value;
}

// Reads the run of one-byte text records that starts at `head` (a sound() position; at most
// `limit`, before `tail`, the end of the data or RUN_BYTES) with one latin1 decode of their bytes,
// headers included, and cuts each payload out of it: one native call for the run instead of one
// per record. Returns the position after the run; r.runCount says how many messages it added to
// `out`. A record whose payload does not decode ends the run there: r.runError is its error and the
// position returned its own (the records before it are taken, it stays).
function readRun(r, out, head, tail, limit) {
  const u32 = r.u32;
  const start = head & r.mask;
  let end = start;
  let k = 0;
  let pos = head;
  while (k < limit && pos !== tail && end < r.capacity && end - start < RUN_BYTES) {
    const h = u32[DATA_WORD + end / WORD];
    const used = HEADER + align4(h & LENGTH_MASK);
    // A header sound() would refuse ends the run: the next call of the batch's loop reports it.
    if (!codec.isLatin1(h >>> TAG_SHIFT) || (h & LENGTH_MASK) > r.maxMessage || used > ((tail - pos) >>> 0) || end + used > r.capacity) break;
    end += used;
    pos = (pos + used) >>> 0;
    k++;
  }
  r.runCount = 0;
  if (k <= 1) {
    out.push(read(r, head));
    r.runCount = 1;
    return after(r, head);
  }
  const text = r.buf.latin1Slice(DATA + start, DATA + end);
  for (let at = start; at < end;) {
    const h = u32[DATA_WORD + at / WORD];
    const from = at - start + HEADER;
    try {
      out.push(codec.decodeText(text, from, from + (h & LENGTH_MASK), h >>> TAG_SHIFT));
    } catch (e) {
      r.runError = undecodable(e);
      return (head + (at - start)) >>> 0;
    }
    at += HEADER + align4(h & LENGTH_MASK);
    r.runCount++;
  }
  return pos;
}

// Reads up to `max` records into `out` and releases them with one store of the head (one wake-up
// check for the lot). Returns how many it added. Damage throws ERR_CORRUPT (needsDiscard true)
// after the records before it were released, with `received` = `out` (what the call took, in
// order); the damaged record is left where it is.
function popMany(r, out, max) {
  const u32 = r.u32;
  let start = Atomics.load(u32, HEAD);
  let head = start;
  // The producer's index once per batch: everything published up to now.
  const tail = Atomics.load(u32, TAIL);
  r.cachedTail = tail;
  const handoff = Math.min(HANDOFF_BYTES, r.capacity >>> 2);
  let n = 0;
  try {
    while (n < max && head !== tail) {
      head = sound(r, head, checkedUsed(r, (tail - head) >>> 0));
      const h = u32[DATA_WORD + (head & r.mask) / WORD];
      if (codec.isLatin1(h >>> TAG_SHIFT)) {
        // A run ends at the next release, so that the release below happens where it would.
        head = readRun(r, out, head, tail, Math.min(max - n, RELEASE_EVERY - (n % RELEASE_EVERY)));
        n += r.runCount;
        if (r.runError !== null) {
          const e = r.runError;
          r.runError = null;
          throw e;
        }
      } else {
        out.push(read(r, head));
        n++;
        head = after(r, head);
      }
      // Released every RELEASE_EVERY records or HANDOFF_BYTES, whichever comes first: a producer
      // that waits for room sees the head move within its polling budget (park.js) and writes
      // into the room while the rest is read, instead of parking until the batch ends.
      if (n % RELEASE_EVERY === 0 || ((head - start) >>> 0) >= handoff) {
        release(r, head);
        start = head;
      }
    }
  } catch (e) {
    if (e.code === 'ERR_CORRUPT') e.received = out;
    throw e;
  } finally {
    if (head !== start) release(r, head);
  }
  return n;
}

module.exports = { prepare, write, pushMany, forgetTexts, front, read, pop, popMany };
