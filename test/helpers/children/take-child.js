'use strict';
// A worker of the call-order tests (test/70-msg/async-order.test.js): opens the structure of
// workerData { kind: 'spsc' | 'stack' | 'pq', buffer, n } and takes n messages with its blocking
// form (dequeue() or pop()), then posts them in the order taken.
const { parentPort, workerData } = require('worker_threads');
const { SpscRing, Stack, PriorityQueue } = require('../../../index');

const TIMEOUT_MS = 60000;
const { kind, buffer, n } = workerData;
const got = [];
if (kind === 'stack') {
  const s = Stack.open({ buffer });
  for (let i = 0; i < n; i++) got.push(s.pop(TIMEOUT_MS));
  s.close();
} else {
  const q = kind === 'spsc' ? SpscRing.open({ buffer }) : PriorityQueue.open({ buffer });
  for (let i = 0; i < n; i++) got.push(q.dequeue(TIMEOUT_MS));
  q.close();
}
parentPort.postMessage(got);
