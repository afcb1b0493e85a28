'use strict';
// The two sides of the threads hand-off test (test/75-pool/batch-wake.test.js), as worker threads
// on a BufferPool and an MpmcQueue in SharedArrayBuffers:
//   workerData { role: 'produce', pool, queue, n }: n times acquire(60000) a block, write its
//     number in the block's first word and the number's square modulo 2^32 in its last word,
//     enqueue its handle; then waits (at most 60 s) until the consumer released every block, since
//     closing frees the blocks its handle still holds; posts 'done'
//   workerData { role: 'consume', pool, queue, n }: n times dequeue(60000) a handle, check the
//     block's two words (the numbers must come in order), release it; posts { count, sum, bad }
// layout-ok-file: the two words are the test's own payload, not the binary layout.
const { parentPort, workerData } = require('worker_threads');
const { BufferPool, MpmcQueue } = require('../../../index');

const { role, n } = workerData;
const pool = BufferPool.open({ buffer: workerData.pool });
const q = MpmcQueue.open({ buffer: workerData.queue });
const wordsOf = (view) => new Uint32Array(view.buffer, view.byteOffset, view.byteLength / 4);
const square = (i) => Number((BigInt(i) * BigInt(i)) % 4294967296n);

if (role === 'produce') {
  for (let i = 0; i < n; i++) {
    const got = pool.acquire(60000);
    const words = wordsOf(got.view);
    words[0] = i;
    words[words.length - 1] = square(i);
    q.enqueue(got.handle, 60000);
  }
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (let t = 0; pool.stats().mine > 0 && t < 60000; t++) Atomics.wait(nap, 0, 0, 1);
  parentPort.postMessage('done');
} else {
  let count = 0;
  let sum = 0;
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const handle = q.dequeue(60000);
    const words = wordsOf(pool.view(handle));
    if (words[0] !== i || words[words.length - 1] !== square(i)) bad++;
    count++;
    sum += words[0];
    pool.release(handle);
  }
  parentPort.postMessage({ count, sum, bad });
}
q.close();
pool.close();
