'use strict';
// The memory baseline of insert scaling: what 1 and 2 writers that touch memory the way inserts
// do, with no store code at all, get from this machine in the same run. An insert's memory work
// is a read-modify-write of a random line of the bucket array (shared by the writers) and a new
// entry written into fresh pages, taken in batches from a frontier shared by the writers. Here
// each `set` does exactly that on a named segment:
// - an Atomics.add on a word of a random 32-byte bucket of a table as large as the insert store's
//   bucket array (2,097,152 buckets of 32 bytes for the default 1,000,000 inserts);
// - 144 bytes (the entry of a 14-byte key and a 100-byte value) written at the writer's cursor,
//   which takes 64 entries at a time from a frontier word shared by the writers, as the store's
//   allocator hands out blocks; the pages are fresh, so first touches fault as the store's do.
// The ratio of 2 writers to 1 is the most that inserts of a store could scale at that moment on
// that machine, whatever the store did: the CPU baseline (arithmetic only) says whether two cores
// were free, this one whether the memory system serves two writers as it serves one.
//
// It is a case module for write-scaling.js/writer.js (`async`, `attach`), plus openNamed() for
// the side that runs the measurement (bench/run.js).
const { Segment } = require('../../lib/segment/segment');
const { defaultGeometry } = require('../../lib/store/js/format');
const { sizeFor } = require('./shmstore-case');

const WORD = 4;
const ENTRY_WORDS = 144 / WORD; // 32-byte header + 14-byte key + 100-byte value, in 16-byte units: 144
const BATCH_WORDS = 64 * ENTRY_WORDS; // entries a writer takes from the frontier at a time
const BUCKET_WORDS = 32 / WORD;
const FRONTIER = 0; // the shared frontier: the next free word of the entry area
const TABLE = 64 / WORD; // the table starts on the second cache line

// The bucket count of the insert store of `maxKeys` keys: the store's own default geometry for
// the size the shmstore cases give it.
function bucketsFor(maxKeys) {
  return defaultGeometry(sizeFor(maxKeys), undefined, maxKeys).bucketCount;
}

function geometry(buckets, entries) {
  const tableWords = buckets * BUCKET_WORDS;
  const entryFrom = TABLE + tableWords;
  // Room for every entry plus a batch per writer left unused at the end.
  const words = entryFrom + entries * ENTRY_WORDS + 4 * BATCH_WORDS;
  return { buckets, entryFrom, bytes: Math.ceil((words * WORD) / 4096) * 4096 };
}

/** Creates the baseline's segment for `entries` inserts (warm-up included) into a store of `maxKeys`. */
function openNamed({ maxKeys, entries }) {
  const g = geometry(bucketsFor(maxKeys), entries);
  const name = `shmstore-bench-membase-${process.pid}-${Date.now()}`;
  const seg = Segment.create({ name, size: g.bytes });
  const u32 = new Uint32Array(seg.buffer);
  Atomics.store(u32, FRONTIER, g.entryFrom);
  return {
    share: { name, buckets: g.buckets, entryFrom: g.entryFrom },
    /** Words of the entry area the writers took (whole batches). */
    taken: () => Atomics.load(u32, FRONTIER) - g.entryFrom,
    close() {
      seg.close();
      Segment.unlink({ name });
    },
  };
}

let seed = 0x9e3779b9;

function attach({ name, buckets }) {
  const seg = Segment.open({ name });
  const u32 = new Uint32Array(seg.buffer);
  const bucketMask = buckets - 1;
  let cursor = 0;
  let end = 0;
  // Its own random sequence (xorshift32), different in each writer.
  let x = (seed ^ (process.pid * 0x85ebca6b) ^ (Date.now() & 0xffff) ^ Math.floor(Math.random() * 2 ** 32)) >>> 0 || 1;
  seed = (seed + 0x6d2b79f5) >>> 0;
  return {
    set() {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      Atomics.add(u32, TABLE + (x & bucketMask) * BUCKET_WORDS, 1);
      if (cursor === end) {
        cursor = Atomics.add(u32, FRONTIER, BATCH_WORDS);
        end = cursor + BATCH_WORDS;
        if (end > u32.length) throw new RangeError('memory baseline: the entry area is used up');
      }
      for (let k = 0; k < ENTRY_WORDS; k++) u32[cursor + k] = x + k;
      cursor += ENTRY_WORDS;
    },
    close() {
      seg.close();
    },
  };
}

/**
 * Runs the baseline as insert scaling runs a case (child.js insertScalingOf): for each mode, 1
 * and then 2 writers insert `insertKeys` between them after a tenth as many untimed. Returns
 * { threads: { 1, 2 }, processes: { 1, 2 } } of measureWrites results.
 */
async function measure({ N, insertKeys, warmMs, measureMs, settleMs }) {
  const { measureWrites } = require('./write-scaling');
  const warmKeys = Math.ceil(insertKeys / 10);
  const out = {};
  for (const mode of ['threads', 'processes']) {
    out[mode] = {};
    for (const writers of [1, 2]) {
      const named = openNamed({ maxKeys: 2 * (insertKeys + warmKeys), entries: insertKeys + warmKeys });
      try {
        out[mode][writers] = await measureWrites({
          casePath: __filename, share: named.share, mode, writers, N, warmMs, measureMs, settleMs,
          kind: 'insert', insertKeys, warmKeys, firstKey: 10 * N,
        });
        // Every set took its entry: the batches taken cover them all.
        const words = named.taken();
        if (words < (insertKeys + warmKeys) * ENTRY_WORDS) throw new Error(`memory baseline: ${words} words taken for ${insertKeys + warmKeys} entries`);
      } finally {
        named.close();
      }
    }
  }
  return out;
}

module.exports = { async: false, attach, openNamed, measure, bucketsFor, ENTRY_WORDS, BATCH_WORDS, BUCKET_WORDS, TABLE_FROM: TABLE };
