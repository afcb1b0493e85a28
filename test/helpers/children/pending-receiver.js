'use strict';
// A worker of test/70-msg/pending-terminate.test.js: it opens the message structure of `kind` on
// `buffer` and takes `count` messages, each with the Promise form called before the message is
// there: it posts 'waiting' after each call and { value } once the call settled. With count
// Infinity it waits until it is terminated.
//   workerData: { kind: 'spsc' | 'mpmc' | 'channel' | 'stack' | 'pq' | 'broadcast', buffer, count }
// A subscriber of a broadcast posts { subscribed } first (its id), then as above ({ value } is the
// message; `missed` must be 0).
const { parentPort, workerData } = require('worker_threads');
const { SpscRing, MpmcQueue, Channel, Stack, PriorityQueue, Broadcast } = require('../../../index');

const { kind, buffer, count } = workerData;
const where = { buffer };

function receiver() {
  switch (kind) {
    case 'spsc': {
      const r = SpscRing.open(where);
      return () => r.dequeueAsync();
    }
    case 'mpmc': {
      const q = MpmcQueue.open(where);
      return () => q.dequeueAsync();
    }
    case 'channel': {
      const ch = Channel.open(where);
      return () => ch.receive();
    }
    case 'stack': {
      const s = Stack.open(where);
      return () => s.popAsync();
    }
    case 'pq': {
      const q = PriorityQueue.open(where);
      return () => q.dequeueAsync();
    }
    case 'broadcast': {
      const sub = Broadcast.open(where).subscribe();
      parentPort.postMessage({ subscribed: sub.id });
      return () => sub.receive().then(({ value, missed }) => {
        if (missed !== 0) throw new Error(`missed ${missed}`);
        return value;
      });
    }
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

(async () => {
  const take = receiver();
  for (let i = 0; i < count; i++) {
    const p = take();
    parentPort.postMessage('waiting');
    parentPort.postMessage({ value: await p });
  }
})().catch((e) => {
  parentPort.postMessage({ error: e.stack });
});
