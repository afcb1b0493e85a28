'use strict';
// The declared list of cases, in table order. Each runs in its own child process
// (bench/lib/child.js); `name` is what --only takes.
module.exports = [
  'shmstore-native',
  'shmstore-js',
  'map',
  'lru-cache',
  'lmdb',
  'lmdb-nosync',
  'redis',
  // The two engines again with latency histograms on (their cost: the ratio to the cases above).
  'shmstore-native-latency',
  'shmstore-js-latency',
  // Only with --only: the two engines with the read cache off (readCache: false).
  'shmstore-native-nocache',
  'shmstore-js-nocache',
  // Only with --only: the same two engines from the checkout named by SHMSTORE_BASELINE.
  'baseline-native',
  'baseline-js',
];
