'use strict';
// One case of the messaging benchmark's single-thread cases (bench/msg.js, "ops/..."), run in a
// child process of its own:
//   node bench/lib/msg-ops-case.js '<case JSON>'   prints one JSON line { samples } (ns per message)
// One thread sends WINDOW 32-byte strings and receives them back, `n` messages per run (after
// `warmups` uncounted runs): the cost of both ends of a queue without another thread, so no
// cache line moves between cores and nothing waits. What a message costs between two threads
// beyond this is the traffic between the cores (bench/msg.js's one-way cases).
//   spsc         SpscRing tryEnqueue + tryDequeue
//   spsc-batch   SpscRing tryEnqueueBatch of WINDOW messages + tryDequeueBatch
//   mpmc         MpmcQueue tryEnqueue + tryDequeue
//   mpmc-batch   MpmcQueue tryEnqueueBatch of WINDOW messages + tryDequeueBatch (one claim each)
//   stack        Stack tryPush + tryPop (WINDOW pushed, then popped)
//   pq           PriorityQueue tryEnqueue (priority 1) + tryDequeue
//   broadcast    Broadcast publish + one subscriber's tryReceive
//   bare-ring    the bare Atomics ring of bench/lib/msg-transports.js (a reference: a ring with no checks, waits or crash rules)
//   buffer-calls Buffer#utf8Write into a SharedArrayBuffer + Buffer#utf8Slice back: the two copies
//                every ring above makes, alone
const { SpscRing, MpmcQueue, Stack, PriorityQueue, Broadcast } = require('../..');
const T = require('./msg-transports');

const WINDOW = 16;
const CAPACITY = 1 << 16;
const SIZE = 32; // bytes of a message (ASCII: as many characters)
const SPACING = 128; // buffer-calls: where message k is written

function setup(op, messages) {
  if (op === 'spsc' || op === 'spsc-batch') {
    const ring = SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(CAPACITY)), capacity: CAPACITY });
    if (op === 'spsc') {
      return (i) => {
        let s = 0;
        for (let k = 0; k < WINDOW; k++) ring.tryEnqueue(messages[(i + k) & 63]);
        for (let k = 0; k < WINDOW; k++) s += ring.tryDequeue().length;
        return s;
      };
    }
    const batches = Array.from({ length: 64 / WINDOW }, (_, b) => messages.slice(b * WINDOW, (b + 1) * WINDOW));
    return (i) => {
      let s = 0;
      ring.tryEnqueueBatch(batches[(i / WINDOW) & (batches.length - 1)]);
      for (const m of ring.tryDequeueBatch()) s += m.length;
      return s;
    };
  }
  if (op === 'mpmc' || op === 'mpmc-batch') {
    const q = MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(256, { messageBytes: 64 })), capacity: 256, messageBytes: 64 });
    if (op === 'mpmc-batch') {
      const batches = Array.from({ length: 64 / WINDOW }, (_, b) => messages.slice(b * WINDOW, (b + 1) * WINDOW));
      return (i) => {
        let s = 0;
        q.tryEnqueueBatch(batches[(i / WINDOW) & (batches.length - 1)]);
        for (const m of q.tryDequeueBatch()) s += m.length;
        return s;
      };
    }
    return (i) => {
      let s = 0;
      for (let k = 0; k < WINDOW; k++) q.tryEnqueue(messages[(i + k) & 63]);
      for (let k = 0; k < WINDOW; k++) s += q.tryDequeue().length;
      return s;
    };
  }
  if (op === 'stack' || op === 'pq') {
    const [make, cap] = op === 'stack' ? [Stack, 256] : [PriorityQueue, 256];
    const q = make.create({ buffer: new SharedArrayBuffer(make.bytesFor(cap, { messageBytes: 64 })), capacity: cap, messageBytes: 64 });
    const put = op === 'stack' ? (m) => q.tryPush(m) : (m) => q.tryEnqueue(m, 1);
    const take = op === 'stack' ? () => q.tryPop() : () => q.tryDequeue();
    return (i) => {
      let s = 0;
      for (let k = 0; k < WINDOW; k++) put(messages[(i + k) & 63]);
      for (let k = 0; k < WINDOW; k++) s += take().length;
      return s;
    };
  }
  if (op === 'broadcast') {
    const b = Broadcast.create({ buffer: new SharedArrayBuffer(Broadcast.bytesFor(256, { messageBytes: 64 })), capacity: 256, messageBytes: 64 });
    const sub = b.subscribe();
    return (i) => {
      let s = 0;
      for (let k = 0; k < WINDOW; k++) b.publish(messages[(i + k) & 63]);
      for (let k = 0; k < WINDOW; k++) s += sub.tryReceive().value.length;
      return s;
    };
  }
  if (op === 'bare-ring') {
    const ends = T.bareRingEnds(T.bareRingEnds.storage(CAPACITY));
    const send = ends.sender();
    const receive = ends.receiver('str');
    return (i) => {
      let s = 0;
      for (let k = 0; k < WINDOW; k++) send(messages[(i + k) & 63]);
      for (let k = 0; k < WINDOW; k++) s += receive().length;
      return s;
    };
  }
  if (op === 'buffer-calls') {
    const buf = Buffer.from(new SharedArrayBuffer(WINDOW * SPACING));
    return (i) => {
      let s = 0;
      for (let k = 0; k < WINDOW; k++) s += buf.utf8Write(messages[(i + k) & 63], k * SPACING);
      for (let k = 0; k < WINDOW; k++) s += buf.utf8Slice(k * SPACING, k * SPACING + SIZE).length;
      return s;
    };
  }
  throw new Error(`unknown op ${op}`);
}

const c = JSON.parse(process.argv[2]);
const messages = Array.from({ length: 64 }, (_, i) => T.makeMessage('str', SIZE, i));
const run = setup(c.op, messages);
const samples = [];
let sink = 0;
for (let r = 0; r < c.warmups + c.runs; r++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < c.n; i += WINDOW) sink += run(i);
  // Every run records its sample (the warm-up's are dropped below): a line that first runs after
  // the warm-up would deoptimize this loop, the calls of run() inlined in it included.
  samples.push(Number(process.hrtime.bigint() - t0) / c.n);
}
console.log(JSON.stringify({ samples: samples.slice(c.warmups), sink: sink > 0 }));
