'use strict';
// The declared cases of bench/eviction.js: request sequences (deterministic, seeded) and the
// policies that serve them. A sequence is a Uint32Array of key numbers plus, per request, a TTL
// in ms (0: none) for the TTL mix.

// Working set (distinct keys of the Zipf workloads) and requests per key.
const N = 100000;
const QUICK_N = 20000;
const REQUESTS_PER_KEY = 10;

const POLICIES = ['lru-cache', 'fifo', 'shmstore-native', 'shmstore-js'];

// xorshift32: the same sequence in every child.
function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

// n Zipf(alpha) draws over ranks 0..keys-1 (inverse CDF, binary search), ranks mapped to key
// numbers through a seeded permutation so that popularity is not key order.
function zipf(keys, alpha, n, seed) {
  const cdf = new Float64Array(keys);
  let sum = 0;
  for (let i = 0; i < keys; i++) cdf[i] = sum += 1 / Math.pow(i + 1, alpha);
  const rand = rng(seed);
  const perm = Uint32Array.from({ length: keys }, (_, i) => i);
  for (let i = keys - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const out = new Uint32Array(n);
  for (let r = 0; r < n; r++) {
    const u = rand() * sum;
    let lo = 0;
    let hi = keys - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    out[r] = perm[lo];
  }
  return out;
}

// Zipf(1.0) with a one-pass scan of `scanLen` never-seen keys after every `every` requests.
function zipfScans(keys, n, cache, seed) {
  const base = zipf(keys, 1.0, n, seed);
  const every = 10 * cache;
  const scanLen = cache;
  const out = [];
  let fresh = keys; // scan keys are numbered from `keys` up: each is requested once
  for (let i = 0; i < n; i++) {
    out.push(base[i]);
    if ((i + 1) % every === 0) for (let s = 0; s < scanLen; s++) out.push(fresh++);
  }
  return Uint32Array.from(out);
}

// 0, 1, ..., len-1, 0, 1, ... for n requests.
function loop(len, n) {
  return Uint32Array.from({ length: n }, (_, i) => i % len);
}

// The workloads: id, the cache size in entries, the goal against lru-cache ('le': not above it;
// 'lower': clearly below it; null: reported only), and the sequence.
function workload(id, quick) {
  const keys = quick ? QUICK_N : N;
  const n = keys * REQUESTS_PER_KEY;
  const spec = WORKLOADS.find((w) => w.id === id);
  const cache = Math.round(keys * spec.cacheFraction);
  let seq;
  let ttl = null;
  switch (spec.kind) {
    case 'zipf':
      seq = zipf(keys, spec.alpha, n, 42);
      break;
    case 'scan':
      seq = zipfScans(keys, n, cache, 43);
      break;
    case 'loop':
      seq = loop(Math.round(cache * 1.1), n);
      break;
    case 'ttl': {
      // Zipf(1.0); every other key number is set with a short TTL (its entries expire while
      // hot), the others without one.
      seq = zipf(keys, 1.0, n, 44);
      ttl = (k) => (k % 2 ? spec.ttlMs : 0);
      break;
    }
    default:
      throw new Error(`unknown workload kind ${spec.kind}`);
  }
  return { cache, seq, ttl, keys };
}

const WORKLOADS = [
  { id: 'zipf-0.8-1%', kind: 'zipf', alpha: 0.8, cacheFraction: 0.01, goal: 'le' },
  { id: 'zipf-0.8-10%', kind: 'zipf', alpha: 0.8, cacheFraction: 0.1, goal: 'le' },
  { id: 'zipf-1.0-1%', kind: 'zipf', alpha: 1.0, cacheFraction: 0.01, goal: 'le' },
  { id: 'zipf-1.0-10%', kind: 'zipf', alpha: 1.0, cacheFraction: 0.1, goal: 'le' },
  { id: 'zipf-1.2-1%', kind: 'zipf', alpha: 1.2, cacheFraction: 0.01, goal: 'le' },
  { id: 'zipf-1.2-10%', kind: 'zipf', alpha: 1.2, cacheFraction: 0.1, goal: 'le' },
  { id: 'zipf+scans-10%', kind: 'scan', cacheFraction: 0.1, goal: 'lower' },
  { id: 'loop-1.1x-10%', kind: 'loop', cacheFraction: 0.1, goal: 'lower' },
  { id: 'zipf+ttl-10%', kind: 'ttl', cacheFraction: 0.1, ttlMs: 20, goal: null },
];

// The get-hit latency case: a store of `entries` resident keys; between timed rounds of one get
// per key, `churn` inserts of new keys (evicting) or replacements (never evicting).
const LATENCY = { entries: 50000, churn: 5000, rounds: 15 };

// Making room for a large value: a full store of `mib` MiB of 100-byte entries (13-byte keys),
// every `pinEvery`-th entry in a pinned namespace (0: none), a share `read` of the others read
// (marked) before one `set` of a 1 MiB value; reported: the entries it evicted against the number
// whose space the value needs, the read entries among them, and its time. With `writers` 2, two
// worker threads each set a 1 MiB value (of a pinned namespace) at once: the room of both.
const ROOM = [
  { id: 'cold', mib: 8, pinEvery: 0, read: 0 },
  { id: 'read 10%', mib: 8, pinEvery: 0, read: 0.1 },
  { id: 'pinned 1/50', mib: 8, pinEvery: 50, read: 0 },
  { id: 'pinned 1/50, read 10%', mib: 8, pinEvery: 50, read: 0.1 },
  { id: 'pinned 1/10, read 10%', mib: 8, pinEvery: 10, read: 0.1 },
  { id: 'two writers at once', mib: 8, pinEvery: 0, read: 0, writers: 2 },
];

module.exports = { WORKLOADS, POLICIES, LATENCY, ROOM, workload };
