'use strict';
// The tables of docs/api.md's examples test (test/00-repo/api-examples.test.js) that say which
// blocks do not run and how a result comment that is not a plain value is checked. The tables of
// what the test does around particular blocks are in adjust.js, the sections' preludes in
// preludes.js.
//
// The tables name blocks by one of their lines, which must be in exactly one block: an entry that
// names none fails (blocks.js), so they follow the document.
const assert = require('assert');

// Blocks that do not run, with why. Kept short: everything else runs.
const SKIP = [
  {
    line: 'has: { ... }, ttl, set, delete, clear, keys, entries, count, getMany, setMany,',
    why: 'a sketch of a latency snapshot\'s fields, with `...` for what is left out: not code',
  },
];

// `name:` string literals that are not segment names (every other one gets the section's prefix).
const NOT_SEGMENT_NAMES = new Set([
  'Ada', // a field of a value the store example stores
]);

// Result comments that are not values, or values the section's store differs from (the document
// shows one moment of one store), and the checks made instead.
const CLAIMS = [
  {
    line: 'store.ttl(\'sessions\', \'u42\'); // → 1799993',
    check: (v) => assert.ok(Number.isInteger(v) && v > 0 && v <= 30 * 60e3, String(v)), // a TTL of 30 min, counting down
  },
  {
    line: 'store.namespaces(); // → [\'agent-7\', \'shared\']',
    // The section's store holds the namespaces of all its examples, not just these two.
    check: (v) => assert.ok(Array.isArray(v) && v.every((n) => typeof n === 'string') && v.includes('agent-7'), String(v)),
  },
  {
    line: 'store.stats().namespaceStats.cache; // → { count, hits, misses, evictions, expirations, bytes, eviction: \'clock\', ttl: Infinity, id, generation }',
    check: (v) => {
      assert.deepStrictEqual(Object.keys(v).sort(),
        ['bytes', 'count', 'eviction', 'evictions', 'expirations', 'generation', 'hits', 'id', 'misses', 'ttl']);
      assert.strictEqual(v.eviction, 'clock');
      assert.strictEqual(v.ttl, Infinity);
    },
  },
  {
    line: 'store.disableLatency(); // store.latencyEnabled === false, store.latency() === null',
    check: (v) => {
      assert.strictEqual(v.latencyEnabled, false);
      assert.strictEqual(v.latency(), null);
      assert.strictEqual(Object.hasOwn(v, 'get'), false); // the class's own methods again
    },
  },
  {
    line: 'const ready = ring.tryDequeueBatch(); // everything published up to now, or []',
    check: (v) => assert.deepStrictEqual(v, []), // the batch before took every message
  },
  {
    line: 'const queued = q.tryDequeueBatch(64); // at most 64, [] when empty',
    check: (v) => assert.deepStrictEqual(v, []), // the batch before took every message
  },
  {
    line: 'const maybe = s.tryPop(); // undefined when empty',
    check: (v) => assert.strictEqual(v, undefined),
  },
  {
    line: 'const latest = sub.tryReceive(); // undefined when nothing new is published',
    check: (v) => assert.strictEqual(v, undefined),
  },
  {
    line: 'q.disableLatency(); // the class\'s own methods again; q.latencyEnabled === false, q.latency() === null',
    check: (v) => {
      assert.strictEqual(v.latencyEnabled, false);
      assert.strictEqual(v.latency(), null);
      assert.strictEqual(Object.hasOwn(v, 'tryDequeue'), false);
    },
  },
  {
    line: 'const n = ring.tryDequeueInto(out); // 2: out[0] = 0.5, out[1] = 0.25',
    check: (v) => assert.strictEqual(v, 2),
  },
  {
    line: 'const bytes = BufferPool.bytesFor(16, 1 << 20); // 16 MiB and 9280 bytes of records',
    check: (v) => assert.strictEqual(v, 16 * (1 << 20) + 9280),
  },
  {
    line: 'const { handle, view } = heap.allocate(1500); // a 2048-byte block; view.length === 1500',
    check: (v) => assert.strictEqual(v.view.length, 1500),
  },
  {
    line: 'const got = heap2.view(handle); // the same 1500 bytes',
    check: (v, scope) => assert.deepStrictEqual(Buffer.from(v), Buffer.from(scope.bytes)),
  },
  {
    line: 'MemoryPool.powersOfTwo(64, 1024, 8); // sizes 64, 128, 256, 512, 1024',
    check: (v) => assert.deepStrictEqual(v, [64, 128, 256, 512, 1024].map((size) => ({ size, count: 8 }))),
  },
  {
    line: 'console.log(Atomics.load(u32, layout.AT.HEADER.MAX_ENTRIES)); // as stats().maxEntries',
    check: (v, scope) => assert.strictEqual(v, scope.store.stats().maxEntries),
  },
  {
    line: 'await adapter.getMany([\'u1\', \'u2\']); // → [\'{"value":…}\', undefined]',
    // `…` stands for the rest of what Keyv serialised.
    check: (v) => {
      assert.strictEqual(v.length, 2);
      assert.match(v[0], /^\{"value":/);
      assert.strictEqual(v[1], undefined);
    },
  },
];

module.exports = { SKIP, NOT_SEGMENT_NAMES, CLAIMS };
