'use strict';
// The transports of the messaging benchmark (bench/msg.js): each gives a sender and a receiver
// for one-way throughput and a pinger and a ponger for round trips, over shmstore's SpscRing and
// MpmcQueue and the peers users would pick instead. Every peer runs as it is meant to be used:
// postMessage on a MessageChannel, ringbuf.js with a length prefix and spinning ends (it has no
// wait), child_process IPC, Redis LPUSH/BRPOP through ioredis. The ringbuf.js ends encode and
// decode each message with Buffer's utf8Write and utf8Slice (it carries bytes only; SpscRing's
// string encoding, Latin-1 records and runs in batches, is part of what is measured for it).
// The batched transports ('spsc-batch', 'mpmc-batch', 'ringbuf-batch') send BATCH messages per call (the
// sender collects them; its flush() sends a partial batch at the end of a run) and the
// receiver takes whatever has arrived per call: the same batching for both rings.
// An "end" is created from a description that a worker (workerData) or a child (argv) receives.
// layout-ok-file: the length prefix of ringbuf.js messages and the bare ring's words are this benchmark's framing, not the layout.
const { SpscRing, MpmcQueue, Stack, PriorityQueue, futex } = require('../..');

const BATCH = 32;

// Payloads: 'str' messages are strings, 'json' plain objects; both about `size` bytes encoded.
function makeMessage(kind, size, i) {
  if (kind === 'str') return `${String(i).padStart(8, '0')}${'x'.repeat(size - 8)}`;
  return { i, s: 'y'.repeat(Math.max(1, size - 16 - String(i).length)) };
}

// ---- shmstore ----------------------------------------------------------------------------

function spscEnds(where) {
  const ring = () => SpscRing.open(where);
  return {
    sender: () => { const r = ring(); return (m) => r.enqueue(m); },
    receiver: () => { const r = ring(); return () => r.dequeue(); },
  };
}

function mpmcEnds(where) {
  const q = () => MpmcQueue.open(where);
  return {
    sender: () => { const r = q(); return (m) => r.enqueue(m); },
    receiver: () => { const r = q(); return () => r.dequeue(); },
  };
}

// The stack and the priority queue carry the same one-way stream (the order they hand messages
// out in differs, the work per message is what is measured); the priority queue's sender gives
// the messages 8 priorities in turn.
function stackEnds(where) {
  const s = () => Stack.open(where);
  return {
    sender: () => { const r = s(); return (m) => r.push(m); },
    receiver: () => { const r = s(); return () => r.pop(); },
  };
}

function pqEnds(where) {
  const q = () => PriorityQueue.open(where);
  return {
    sender: () => { const r = q(); let i = 0; return (m) => r.enqueue(m, i++ & 7); },
    receiver: () => { const r = q(); return () => r.dequeue(); },
  };
}

// Batches: the sender collects BATCH messages and sends them in one call; recv() hands out one
// message of the last batch received at a time.
function batched(sendMany, receiveMany) {
  return {
    sender: () => {
      const send = sendMany();
      const pending = [];
      const f = (m) => {
        pending.push(m);
        if (pending.length === BATCH) {
          send(pending);
          pending.length = 0;
        }
      };
      f.flush = () => {
        if (pending.length) send(pending);
        pending.length = 0;
      };
      return f;
    },
    receiver: (kind) => {
      const receive = receiveMany(kind);
      let got = [];
      let next = 0;
      return () => {
        if (next === got.length) {
          got = receive();
          next = 0;
        }
        return got[next++];
      };
    },
  };
}

function spscBatchEnds(where) {
  return batched(
    () => { const r = SpscRing.open(where); return (ms) => r.enqueueBatch(ms); },
    () => { const r = SpscRing.open(where); return () => r.dequeueBatch(); });
}

function mpmcBatchEnds(where) {
  return batched(
    () => { const r = MpmcQueue.open(where); return (ms) => r.enqueueBatch(ms); },
    () => { const r = MpmcQueue.open(where); return () => r.dequeueBatch(); });
}

// The ends of a queue transport by name ('ringbuf' takes the buffer of `where`).
function queueEnds(transport, where) {
  if (transport === 'ringbuf') return ringbufEnds(where.buffer);
  if (transport === 'ringbuf-batch') return ringbufBatchEnds(where.buffer);
  if (transport === 'bare-ring') return bareRingEnds(where.buffer);
  if (transport === 'bare-batch') return bareBatchEnds(where.buffer, where.size);
  return { spsc: spscEnds, 'spsc-batch': spscBatchEnds, mpmc: mpmcEnds, 'mpmc-batch': mpmcBatchEnds, stack: stackEnds, pq: pqEnds }[transport](where);
}

// ---- ringbuf.js: bytes with a 4-byte length prefix; both ends spin -----------------------

function ringbufEnds(sab) {
  const { RingBuffer } = require('ringbuf.js');
  const open = () => new RingBuffer(sab, Uint8Array);
  return {
    sender: () => {
      const rb = open();
      const scratch = Buffer.alloc(1 << 16);
      const head = new Uint8Array(4);
      const hv = new DataView(head.buffer);
      return (m) => {
        const n = scratch.utf8Write(typeof m === 'string' ? m : JSON.stringify(m), 0);
        hv.setUint32(0, n, true);
        while (rb.available_write() < n + 4) { /* spin: ringbuf.js has no wait */ }
        rb.push(head, 4);
        rb.push(scratch, n);
      };
    },
    receiver: (kind) => {
      const rb = open();
      const scratch = Buffer.alloc(1 << 16);
      const head = new Uint8Array(4);
      const hv = new DataView(head.buffer);
      return () => {
        while (rb.available_read() < 4) { /* spin */ }
        rb.pop(head, 4);
        const n = hv.getUint32(0, true);
        while (rb.available_read() < n) { /* spin */ }
        rb.pop(scratch, n);
        const text = scratch.utf8Slice(0, n);
        return kind === 'str' ? text : JSON.parse(text);
      };
    },
  };
}

// ringbuf.js batched: a batch of length-prefixed messages in one push; the receiver pops what has
// arrived (up to its scratch) and decodes every whole message in it.
function ringbufBatchEnds(sab) {
  const { RingBuffer } = require('ringbuf.js');
  const open = () => new RingBuffer(sab, Uint8Array);
  return batched(() => {
    const rb = open();
    const scratch = Buffer.alloc(1 << 16);
    return (ms) => {
      let at = 0;
      for (const m of ms) {
        const n = scratch.utf8Write(typeof m === 'string' ? m : JSON.stringify(m), at + 4);
        scratch.writeUInt32LE(n, at);
        at += 4 + n;
      }
      while (rb.available_write() < at) { /* spin: ringbuf.js has no wait */ }
      rb.push(scratch, at);
    };
  }, (kind) => {
    const rb = open();
    const scratch = Buffer.alloc(1 << 16);
    let start = 0;
    let end = 0;
    return () => {
      const out = [];
      for (;;) {
        while (end - start >= 4 && end - start >= 4 + scratch.readUInt32LE(start)) {
          const n = scratch.readUInt32LE(start);
          const text = scratch.utf8Slice(start + 4, start + 4 + n);
          out.push(kind === 'str' ? text : JSON.parse(text));
          start += 4 + n;
        }
        if (out.length) return out;
        scratch.copyWithin(0, start, end);
        end -= start;
        start = 0;
        while (rb.available_read() === 0) { /* spin */ }
        end += rb.pop(scratch, scratch.length - end, end);
      }
    };
  });
}

ringbufEnds.storage = (bytes) => require('ringbuf.js').RingBuffer.getStorageForCapacity(bytes, Uint8Array);

// ---- a bare Atomics ring: the same encoding, no wait, no checks --------------------------

// The least a ring of these messages does a message at a time: records of a u32 length and
// the UTF-8 bytes (4-byte aligned, never split: a length of 0xFFFFFFFF sends the reader to the
// start), each side's index on a cache line of its own, the other's index cached and reloaded only
// when the ring looks full or empty, both ends spinning. Not a queue anyone should use (it has
// none of SpscRing's checks, waits or crash rules): it shows what the hardware and the string
// copies alone cost, measured in the same run, while the two threads have a core each. It is not
// a lower bound between threads: its ends never give up the CPU, so when the threads share a
// core (other work on the machine) the one that waits spins out its time slice.
const BARE_TAIL = 16; // u32 indices: tail at byte 64 and head at byte 128, each on its line
const BARE_HEAD = 32;
const BARE_DATA = 192; // bytes: the data after the head's line
const BARE_SKIP = 0xFFFFFFFF;

function bareRingEnds(sab) {
  const cap = sab.byteLength - BARE_DATA;
  const u32 = new Uint32Array(sab);
  const buf = Buffer.from(sab);
  const maxBytes = (m) => 4 + ((m.length * 3 + 3) & ~3);
  return {
    sender: () => {
      let head = 0;
      return (m) => {
        const text = typeof m === 'string' ? m : JSON.stringify(m);
        const tail = Atomics.load(u32, BARE_TAIL);
        const at = tail % cap;
        const need = maxBytes(text);
        const room = need <= cap - at ? need : cap - at + need;
        while (cap - ((tail - head) >>> 0) < room) head = Atomics.load(u32, BARE_HEAD);
        let next = tail;
        let w = at;
        if (need > cap - at) {
          u32[(BARE_DATA + at) / 4] = BARE_SKIP;
          next += cap - at;
          w = 0;
        }
        const n = buf.utf8Write(text, BARE_DATA + w + 4);
        u32[(BARE_DATA + w) / 4] = n;
        Atomics.store(u32, BARE_TAIL, next + 4 + ((n + 3) & ~3));
      };
    },
    receiver: (kind) => {
      let tail = 0;
      return () => {
        let head = Atomics.load(u32, BARE_HEAD);
        while (head === tail) tail = Atomics.load(u32, BARE_TAIL);
        let at = head % cap;
        if (u32[(BARE_DATA + at) / 4] === BARE_SKIP) {
          head += cap - at;
          at = 0;
        }
        const n = u32[(BARE_DATA + at) / 4];
        const text = buf.utf8Slice(BARE_DATA + at + 4, BARE_DATA + at + 4 + n);
        Atomics.store(u32, BARE_HEAD, head + 4 + ((n + 3) & ~3));
        return kind === 'str' ? text : JSON.parse(text);
      };
    },
  };
}

bareRingEnds.storage = (bytes) => new SharedArrayBuffer(BARE_DATA + bytes);

// ---- raw fixed-size payloads, indices published once per batch ---------------------------

// What a JS ring costs without any encoding: every message is `size` raw bytes (no
// string conversion at all: the sender copies the same bytes whatever the message is, the
// receiver copies them out into its own array), fixed-size records (no header), the tail
// published once per BATCH messages and the head once per BATCH or when the receiver caught up, each side
// reading the other's index only when its cached copy says full or empty (rigtorp's cached
// indices), both ends spinning. Like the bare ring, a reference and not a bound: spinning ends
// lose whole time slices when the two threads share a core, where SpscRing's give the core up
// (a measured run had SpscRing's batches at 108 ns a 32-byte message and this at 144).
function bareBatchEnds(sab, size) {
  const words = size / 4;
  const slots = Math.floor((sab.byteLength - BARE_DATA) / size);
  const u32 = new Uint32Array(sab);
  const data = BARE_DATA / 4;
  return {
    sender: () => {
      const payload = new Uint32Array(words).fill(0x78787878); // 'xxxx'
      let tail = 0;
      let published = 0;
      let head = 0;
      const f = () => {
        while (slots - (tail - head) < 1) head = Atomics.load(u32, BARE_HEAD);
        const at = data + (tail % slots) * words;
        if (words <= 16) for (let w = 0; w < words; w++) u32[at + w] = payload[w];
        else u32.set(payload, at); // one native copy beats a loop for larger payloads
        tail++;
        if (tail - published === BATCH) f.flush();
      };
      f.flush = () => {
        Atomics.store(u32, BARE_TAIL, tail);
        published = tail;
      };
      return f;
    },
    receiver: () => {
      const out = new Uint32Array(words);
      const outBuf = Buffer.from(out.buffer);
      const buf = Buffer.from(sab);
      let head = 0;
      let tail = 0;
      return () => {
        if (head === tail) {
          if (head !== 0) Atomics.store(u32, BARE_HEAD, head); // release what was read
          while (head === tail) tail = Atomics.load(u32, BARE_TAIL);
        }
        const at = data + (head % slots) * words;
        if (words <= 16) for (let w = 0; w < words; w++) out[w] = u32[at + w];
        else buf.copy(outBuf, 0, at * 4, at * 4 + size);
        head++;
        if (head % BATCH === 0) Atomics.store(u32, BARE_HEAD, head);
        return out;
      };
    },
  };
}

bareBatchEnds.storage = (bytes) => new SharedArrayBuffer(BARE_DATA + bytes);

// ---- futex: the bare wake-up round trip (no payload) --------------------------------------

// Word 0 counts hand-offs: even is the pinger's turn, odd the ponger's.
function futexTurn(i32, me) {
  let v;
  while ((v = Atomics.load(i32, 0)) % 2 !== me) futex.wait(i32, 0, v);
  Atomics.add(i32, 0, 1);
  futex.wake(i32, 0, 1);
}

// ---- spin: the bare round trip of two threads that never sleep (no payload) -----------------

function spinTurn(i32, me) {
  while (Atomics.load(i32, 0) % 2 !== me) { /* spin */ }
  Atomics.add(i32, 0, 1);
}

module.exports = {
  makeMessage, spscEnds, spscBatchEnds, mpmcEnds, mpmcBatchEnds, stackEnds, pqEnds, ringbufEnds, ringbufBatchEnds, bareRingEnds, bareBatchEnds, queueEnds, futexTurn, spinTurn,
  QUEUES: ['spsc', 'spsc-batch', 'mpmc', 'mpmc-batch', 'stack', 'pq', 'ringbuf', 'ringbuf-batch', 'bare-ring', 'bare-batch'],
  BATCH,
};
