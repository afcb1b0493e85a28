'use strict';
// A sensor pipeline between worker threads, with no postMessage on the data path:
// - a sampler thread streams readings (8-byte floats) through an SpscRing in element mode, and
//   the main thread reads them in batches straight into one reused Float64Array;
// - the main thread sends render jobs on a Channel and closes it; renderer threads take jobs
//   with `for await` (it ends when the channel is closed and drained), render each frame into a
//   BufferPool block in place, and return only the block's handle on an MpmcQueue;
// - the main thread reads every frame where it was rendered and releases its block.
//
//   node examples/sensor-pipeline.js [samples] [jobs] [renderers]
//
// In your project: require('shmstore') instead of require('..').
const { Worker, isMainThread, workerData } = require('worker_threads');
const { SpscRing, Channel, MpmcQueue, BufferPool } = require('..');

const FRAME = 64 * 1024;
// The byte `j` of frame `id`, so that the reader can check every byte it did not copy.
const pixel = (id, j) => (id * 131 + j) & 0xff;

if (isMainThread) {
  const samples = Number(process.argv[2] || 100000);
  const jobs = Number(process.argv[3] || 30);
  const renderers = Number(process.argv[4] || 2);
  const sab = (n) => new SharedArrayBuffer(n);
  const ring = SpscRing.create({ buffer: sab(SpscRing.bytesFor(4096, { elementSize: 8 })), capacity: 4096, elementSize: 8 });
  const work = Channel.create({ buffer: sab(Channel.bytesFor(16, { messageBytes: 64 })), capacity: 16, messageBytes: 64 });
  const done = MpmcQueue.create({ buffer: sab(MpmcQueue.bytesFor(16, { messageBytes: 64 })), capacity: 16, messageBytes: 64 });
  const frames = BufferPool.create({ buffer: sab(BufferPool.bytesFor(8, FRAME)), blockSize: FRAME, blockCount: 8 });
  // Frames taken by this thread so far: a renderer keeps its pool handle open until every frame is
  // taken, since closing a handle frees the blocks it still holds (docs/api.md, BufferPool).
  const taken = new Int32Array(sab(4));
  const shared = { ring: ring.buffer, work: work.buffer, done: done.buffer, frames: frames.buffer, samples, jobs, taken };
  const threads = [new Worker(__filename, { workerData: { ...shared, role: 'sampler' } })];
  for (let r = 0; r < renderers; r++) threads.push(new Worker(__filename, { workerData: { ...shared, role: 'renderer' } }));
  for (const t of threads) {
    t.on('error', (err) => {
      console.error(err);
      process.exitCode = 1;
    });
  }
  (async () => {
    // The readings: batches of up to 256 into the same array, summed as they come.
    const batch = new Float64Array(256);
    let got = 0;
    let sum = 0;
    const readings = (async () => {
      while (got < samples) {
        const n = await ring.dequeueIntoAsync(batch, { timeoutMs: 30000 });
        for (let i = 0; i < n; i++) sum += batch[i];
        got += n;
      }
    })();
    // The jobs, then the end of them, sent while the frames come back (a renderer waits for a
    // block that only this thread releases, so sending everything first could wait forever).
    const sending = (async () => {
      for (let id = 0; id < jobs; id++) await work.send({ id, bytes: 1000 + id * 997 });
      work.close();
    })();
    let framesOk = 0;
    for (let k = 0; k < jobs; k++) {
      const { id, handle, bytes } = await done.dequeueAsync({ timeoutMs: 30000 });
      const view = frames.take(handle).subarray(0, bytes); // the renderer's bytes, in place
      Atomics.add(taken, 0, 1);
      Atomics.notify(taken, 0);
      let ok = bytes === 1000 + id * 997;
      for (let j = 0; ok && j < bytes; j++) ok = view[j] === pixel(id, j);
      if (ok) framesOk += 1;
      frames.release(handle);
    }
    await sending;
    await readings;
    console.log(JSON.stringify({ samples: got, sumOk: sum === (samples * (samples - 1)) / 2, jobs, framesOk,
      blocksFree: frames.stats().free, blockCount: frames.blockCount }));
  })().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
} else if (workerData.role === 'sampler') {
  const ring = SpscRing.open({ buffer: workerData.ring });
  const out = new Float64Array(64);
  for (let i = 0; i < workerData.samples; i += out.length) {
    const n = Math.min(out.length, workerData.samples - i);
    for (let k = 0; k < n; k++) out[k] = i + k;
    ring.enqueue(out.subarray(0, n), 30000); // all n readings or none; waits while the ring is full
  }
  ring.close();
} else {
  const work = Channel.open({ buffer: workerData.work });
  const done = MpmcQueue.open({ buffer: workerData.done });
  const frames = BufferPool.open({ buffer: workerData.frames });
  (async () => {
    for await (const job of work) {
      const { handle, view } = frames.acquire(30000); // waits for a block the main thread released
      for (let j = 0; j < job.bytes; j++) view[j] = pixel(job.id, j);
      done.enqueue({ id: job.id, handle, bytes: job.bytes }, 30000);
    }
    work.dispose();
    done.close();
    for (let t; (t = Atomics.load(workerData.taken, 0)) < workerData.jobs;) Atomics.wait(workerData.taken, 0, t, 1000);
    frames.close();
  })();
}
