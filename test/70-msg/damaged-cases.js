'use strict';
// The damaged-bytes cases of damaged.test.js: each makes a structure, overwrites one of its
// shared words with a value no sound run leaves there, and makes one call, which must end with
// ERR_CORRUPT (not spin forever, not hand out junk); a batch read that meets a damaged record
// throws it with the other messages it took (`received`: batchReceived).
const { SpscRing, MpmcQueue, Channel, Broadcast, Stack, PriorityQueue, layout } = require('../../index');
const { seqOf } = require('../../lib/msg/mpmc-slots');

const { C, W } = layout;
const WORD = Uint32Array.BYTES_PER_ELEMENT;
// A sequence word no position near the start uses: far ahead of position 0.
const AHEAD = 999;

// A structure of `Class` and `capacity` in a SharedArrayBuffer: { q, u32 } (u32 views its bytes).
function made(Class, capacity) {
  const buffer = new SharedArrayBuffer(Class.bytesFor(capacity));
  return { q: Class.create({ buffer, capacity }), u32: new Uint32Array(buffer) };
}

function mpmc(Class = MpmcQueue) {
  return { ...made(Class, 16), firstSeq: C.MPMC_SLOTS_OFFSET / WORD };
}

function ring(options = {}) {
  const buffer = new SharedArrayBuffer(SpscRing.bytesFor(1024, options.elementSize ? { elementSize: options.elementSize } : undefined));
  const r = SpscRing.create({ buffer, capacity: 1024, ...options });
  return { r, u32: new Uint32Array(buffer), head: C.SPSC_CONTROL_OFFSET / WORD + W.SPSC_CONTROL.HEAD, tail: C.SPSC_CONTROL_OFFSET / WORD + W.SPSC_CONTROL.TAIL };
}

// A queue (or channel) of capacity 128 holding MESSAGES, sent as one batch, whose JSON records at
// the positions `damaged` no longer parse (their first byte made ']'), and whose positions
// `givenUp` were given up by their producer (format.md §15). 70 messages: a batch read takes them
// with two claims (64, then 6).
const MESSAGES = Array.from({ length: 70 }, (_, i) => (i % 3 === 1 ? { n: i } : `m${i}`));
function damagedRun(Class, damaged, givenUp = []) {
  const { q, u32 } = made(Class, 128);
  if (Class === Channel) {
    for (const m of MESSAGES) q.trySend(m);
  } else {
    q.tryEnqueueBatch(MESSAGES);
  }
  const stride = Math.ceil((C.MPMC_SLOT_HEADER_BYTES + q.messageBytes) / C.MPMC_SLOT_ALIGN) * C.MPMC_SLOT_ALIGN;
  const seqWord = (pos) => (C.MPMC_SLOTS_OFFSET + pos * stride) / WORD;
  const u8 = new Uint8Array(u32.buffer);
  for (const pos of damaged) u8[seqWord(pos) * WORD + C.MPMC_SLOT_HEADER_BYTES] = 0x5d;
  for (const pos of givenUp) u32[seqWord(pos)] = seqOf(pos, C.MPMC_SEQ_SKIPPED);
  return q;
}

function broadcast() {
  const { q, u32 } = made(Broadcast, 16);
  return { b: q, u32, firstSeq: C.BCAST_RECORDS_OFFSET / WORD };
}

const cases = {
  'MpmcQueue tryEnqueue': () => {
    const { q, u32, firstSeq } = mpmc();
    u32[firstSeq] = AHEAD;
    return q.tryEnqueue('x');
  },
  'MpmcQueue enqueue with a timeout': () => {
    const { q, u32, firstSeq } = mpmc();
    u32[firstSeq] = AHEAD;
    return q.enqueue('x', 50);
  },
  'MpmcQueue tryEnqueueBatch': () => {
    const { q, u32, firstSeq } = mpmc();
    u32[firstSeq] = AHEAD;
    return q.tryEnqueueBatch(['x', 'y']);
  },
  'MpmcQueue tryDequeue': () => {
    const { q, u32, firstSeq } = mpmc();
    q.tryEnqueue('x');
    u32[firstSeq] = AHEAD;
    return q.tryDequeue();
  },
  'MpmcQueue tryDequeueBatch': () => {
    const { q, u32, firstSeq } = mpmc();
    q.tryEnqueue('x');
    u32[firstSeq] = AHEAD;
    return q.tryDequeueBatch();
  },
  // A record in the middle of a batch read that does not parse: the other messages the call took
  // come with the error (`received`, damaged.test.js checks them).
  'MpmcQueue tryDequeueBatch of a claim holding a JSON record that does not parse': () => damagedRun(MpmcQueue, [7]).tryDequeueBatch(),
  'MpmcQueue dequeueBatch of a second claim holding JSON records that do not parse': () => damagedRun(MpmcQueue, [64, 67]).dequeueBatch(100, 50),
  'MpmcQueue tryDequeueBatch of a claim holding a given-up slot and a JSON record that does not parse': () => damagedRun(MpmcQueue, [7], [3]).tryDequeueBatch(),
  'Channel receiveBatch of a claim holding a JSON record that does not parse': () => damagedRun(Channel, [7]).receiveBatch(100),
  'Channel receiveBatch of a second claim holding a JSON record that does not parse': () => damagedRun(Channel, [67]).receiveBatch(100),
  'Channel trySend': () => {
    const { q, u32, firstSeq } = mpmc(Channel);
    u32[firstSeq] = AHEAD;
    return q.trySend('x');
  },
  'SpscRing tryDequeue with the head moved': () => {
    const { r, u32, head } = ring();
    r.tryEnqueue('x');
    u32[head] = 5000;
    return r.tryDequeue();
  },
  'SpscRing tryDequeueBatch with the head moved': () => {
    const { r, u32, head } = ring();
    u32[head] = 5000;
    return r.tryDequeueBatch();
  },
  'SpscRing size with the head moved': () => {
    const { r, u32, head } = ring();
    u32[head] = 5000;
    return r.size;
  },
  'SpscRing tryEnqueue with the head moved': () => {
    const { r, u32, head, tail } = ring();
    u32[tail] = 900;
    u32[head] = 1000; // ahead of the tail: more than the capacity apart
    return r.tryEnqueue('x'.repeat(200));
  },
  'SpscRing tryDequeueInto with the tail moved (elements)': () => {
    const { r, u32, tail } = ring({ elementSize: 8 });
    u32[tail] = 5000;
    return r.tryDequeueInto(new Float64Array(4));
  },
  'SpscRing tryDequeueBatch with a wrap marker that moves the head past the tail': () => {
    const { r, u32 } = ring();
    r.tryEnqueue('a');
    r.tryEnqueue('b');
    u32[C.SPSC_DATA_OFFSET / WORD] = C.MSG_TAG_WRAP << C.MSG_TAG_SHIFT; // the first record's header
    return r.tryDequeueBatch();
  },
  'SpscRing tryDequeue of a JSON record that does not parse': () => {
    const { r } = ring();
    r.tryEnqueue({ a: 1 });
    new Uint8Array(r.buffer)[C.SPSC_DATA_OFFSET + WORD] = 0x5d; // its first byte: ']'
    return r.tryDequeue();
  },
  'SpscRing tryDequeueBatch of JSON records that do not parse': () => {
    const { r } = ring();
    r.tryEnqueueBatch([{ a: 1 }, { b: 2 }]);
    new Uint8Array(r.buffer)[C.SPSC_DATA_OFFSET + WORD] = 0x5d;
    return r.tryDequeueBatch();
  },
  'Broadcast publish': () => {
    const { b, u32, firstSeq } = broadcast();
    u32[firstSeq] = AHEAD;
    return b.publish('x');
  },
  'Broadcast subscriber tryReceive of a record claimed for a lap past the tail': () => {
    const { b, u32, firstSeq } = broadcast();
    const sub = b.subscribe();
    for (let i = 0; i < 16; i++) b.publish(i); // the tail a lap ahead of the subscriber
    u32[firstSeq] = 5 * 16 * 4; // position 0's record "being written" for position 80
    return JSON.stringify(sub.tryReceive());
  },
  'Stack peek with a top that names no node': () => {
    const { q: s, u32 } = made(Stack, 8);
    s.tryPush('x');
    u32[(C.STACK_CONTROL_OFFSET + layout.S.STACK_CONTROL.TOP) / WORD] = 200; // its index bits
    return s.peek();
  },
  'Broadcast subscriber tryReceive': () => {
    const { b, u32, firstSeq } = broadcast();
    const sub = b.subscribe();
    b.publish('x');
    u32[firstSeq] = AHEAD * 4;
    return JSON.stringify(sub.tryReceive());
  },
};

// Damaged words a structure recovers from by itself: each call must return (not spin forever),
// with the value given.
const healed = {
  // A record "being written" that no publisher's intent names: given up, and the publish goes on.
  'Broadcast publish over a record being written by no publisher': () => {
    const { b, u32, firstSeq } = broadcast();
    for (let i = 0; i < 16; i++) b.publish(i);
    u32[firstSeq] = 0; // position 0's record "being written" still, by nobody
    b.publish('x');
    return `skipped ${b.skipped}`;
  },
  // A priority queue's counts that no sound queue has: rebuilt from the nodes' states.
  'PriorityQueue enqueue and dequeue with a damaged free count': () => {
    const { q, u32 } = made(PriorityQueue, 8);
    q.tryEnqueue('a', 1);
    q.tryEnqueue('b', 2);
    u32[(C.PQ_CONTROL_OFFSET + layout.S.PQ_CONTROL.FREE_COUNT) / WORD] = 1000;
    const got = [q.tryEnqueue('c', 3), q.tryDequeue(), q.tryDequeue(), q.tryDequeue(), q.tryDequeue()];
    return `${JSON.stringify(got)} rebuilds ${q.rebuilds}`;
  },
};

// The messages each batch case above gets with its error (`received`): those of the claims up to
// the one that held the damage (64 or all 70), but the damaged and given-up ones, in order. The
// call claims no more after that one: the rest stays queued.
const batchReceived = {
  'MpmcQueue tryDequeueBatch of a claim holding a JSON record that does not parse': damagedRunReceived(64, [7]),
  'MpmcQueue dequeueBatch of a second claim holding JSON records that do not parse': damagedRunReceived(70, [64, 67]),
  'MpmcQueue tryDequeueBatch of a claim holding a given-up slot and a JSON record that does not parse': damagedRunReceived(64, [7], [3]),
  'Channel receiveBatch of a claim holding a JSON record that does not parse': damagedRunReceived(64, [7]),
  'Channel receiveBatch of a second claim holding a JSON record that does not parse': damagedRunReceived(70, [67]),
};
function damagedRunReceived(upTo, damaged, givenUp = []) {
  return MESSAGES.slice(0, upTo).filter((_, i) => !damaged.includes(i) && !givenUp.includes(i));
}

module.exports = { cases, healed, batchReceived, damagedRun, MESSAGES };
