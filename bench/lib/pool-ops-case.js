'use strict';
// One case of the pool operations benchmark (bench/pool.js, "ops/..." cases), run in a child
// process of its own:
//   node bench/lib/pool-ops-case.js '<case JSON>'   prints one JSON line { samples } (ns per op)
// One thread repeats an operation pair `n` times per run (after one uncounted warm-up run):
//   buffer-pool    BufferPool acquire(0) + release of 64-byte blocks (64 blocks)
//   object-pool    ObjectPool acquire(0) + release of 64-byte records (64 records)
//   free-list      the in-process peer: pop a record (a Uint8Array over an ArrayBuffer) from an
//                  array used as a free list and push it back; no sharing, no ownership record
//   memory-pool    MemoryPool allocate(size, 0) + free of sizes cycling through SIZES (classes 64 B to 4 KiB)
//   alloc-unsafe   Buffer.allocUnsafe of the same sizes, left to the garbage collector (its cost
//                  is in the time: the run allocates enough for many young-generation collections)
// Each op writes one byte of what it got, so that nothing is optimised away.
// layout-ok-file: the 64-byte records of the free list are the benchmark's own, not the binary layout.
const { BufferPool, ObjectPool, MemoryPool } = require('../..');

const SIZES = [100, 1000, 4000, 64, 300, 2000, 32, 700];
const COUNT = 64;

function setup(op) {
  if (op === 'buffer-pool' || op === 'object-pool') {
    const Class = op === 'buffer-pool' ? BufferPool : ObjectPool;
    const shape = op === 'buffer-pool' ? { blockSize: 64, blockCount: COUNT } : { recordSize: 64, capacity: COUNT };
    const pool = Class.create({ buffer: new SharedArrayBuffer(Class.bytesFor(COUNT, 64)), ...shape });
    return (i) => {
      const got = pool.acquire(0);
      got.view[0] = i;
      pool.release(got.handle);
    };
  }
  if (op === 'free-list') {
    const backing = new ArrayBuffer(COUNT * 64);
    const free = Array.from({ length: COUNT }, (_, k) => new Uint8Array(backing, k * 64, 64));
    return (i) => {
      const r = free.pop();
      r[0] = i;
      free.push(r);
    };
  }
  if (op === 'memory-pool') {
    const classes = MemoryPool.powersOfTwo(64, 4096, COUNT);
    const pool = MemoryPool.create({ buffer: new SharedArrayBuffer(MemoryPool.bytesFor(classes)), classes });
    return (i) => {
      const got = pool.allocate(SIZES[i & 7], 0);
      got.view[0] = i;
      pool.free(got.handle);
    };
  }
  if (op === 'alloc-unsafe') {
    let sink = 0;
    return (i) => {
      const b = Buffer.allocUnsafe(SIZES[i & 7]);
      b[0] = i;
      sink ^= b[0];
      return sink;
    };
  }
  throw new Error(`unknown op ${op}`);
}

const c = JSON.parse(process.argv[2]);
const run = setup(c.op);
// Run 0 warms up. Every run, the warm-up too, takes its sample, so that no code runs for the
// first time between two counted runs (V8 may drop the loop's optimized code there); the warm-up's
// sample is dropped at the end.
const samples = [];
for (let r = 0; r <= c.runs; r++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < c.n; i++) run(i);
  samples.push(Number(process.hrtime.bigint() - t0) / c.n);
}
console.log(JSON.stringify({ samples: samples.slice(1) }));
