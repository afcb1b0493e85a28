'use strict';
// The declared cases of bench/memory.js (npm run bench:memory). A workload gives each inserted
// key number its value size; keys are the reference workload's (`key:` + 10 digits, 14 bytes).
const { prng, VALUE_BYTES } = require('./workload');

const WORKLOADS = {
  // Value sizes uniform over 10 B – 4 KB, drawn from a seeded PRNG (same sizes in every case).
  mixed: { label: 'mixed 10 B – 4 KB values', sizes: (seed) => {
    const r = prng(seed);
    return () => 10 + Math.floor(r() * (4096 - 10 + 1));
  } },
  // The reference workload of bench/README.md: 100-byte values.
  reference: { label: 'reference: 14 B keys, 100 B values', sizes: () => () => VALUE_BYTES },
  // Large values (format.md §8, "Large values": held in large blocks), uniform over 64 KiB – 1 MiB.
  large: { label: 'large 64 KiB – 1 MiB values', sizes: (seed) => {
    const r = prng(seed);
    return () => 65536 + Math.floor(r() * (1048576 - 65536 + 1));
  } },
};

const ENGINES = ['native', 'js'];

// Every case: [workload, engine, eviction, compaction]. 'none': fill until the first refused
// insert, then five rounds of "delete half at random, refill until refused". 'auto': a long
// stream of new keys. compaction 'set': only the steps a set that finds no room runs by itself;
// 'sweep': also store.compact() (a whole sweep in bounded steps) after each round's deletes and
// before an insert that was refused is tried once more (format.md §8, "Compaction").
const CASES = [];
for (const eviction of ['none', 'auto']) {
  for (const workload of Object.keys(WORKLOADS)) {
    for (const engine of ENGINES) CASES.push({ workload, engine, eviction, compaction: 'set' });
  }
}
for (const workload of ['mixed', 'reference']) {
  for (const engine of ENGINES) CASES.push({ workload, engine, eviction: 'none', compaction: 'sweep' });
}

// The goals, judged on the 'none' cases at the first refused insert and after churn (the
// large workload has none: it is measured to show what large blocks do).
const GOALS = { mixed: 0.9, reference: 0.75 };

const CHURN_ROUNDS = 5;
// A fill goes on past refused inserts (another size may fit) and ends after this many refused in
// a row: what is then still free is stranded for this workload.
const REFUSALS_TO_STOP = 100;
// The 'auto' stream inserts this many times the entries the store held when it first evicted.
const STREAM_FILLS = 10;

module.exports = { WORKLOADS, ENGINES, CASES, GOALS, CHURN_ROUNDS, STREAM_FILLS, REFUSALS_TO_STOP };
