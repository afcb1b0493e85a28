'use strict';
// The operations every case runs, on the reference workload. prepare() builds everything a run
// needs (key arrays, values, batches) *before* the clock starts; the returned body does only
// store calls. `perCall` > 1 means one call handles several keys (getMany/setMany): times are
// then reported per key.
const { shuffled, freshKeys, flatKeys, prng } = require('./workload');

const OPS = [
  { id: 'get-hit-fresh', label: 'get hit, fresh key strings' },
  { id: 'get-hit-reused', label: 'get hit, reused key strings' },
  { id: 'get-miss', label: 'get miss, fresh key strings' },
  { id: 'set-update', label: 'set (update existing key)' },
  { id: 'insert', label: 'insert (new key)' },
  { id: 'delete', label: 'delete (existing key)' },
  { id: 'getMany-100', label: 'getMany of 100, per key' },
  { id: 'setMany-100', label: 'setMany of 100 (updates), per key' },
  { id: 'mix-90-10', label: '90% get / 10% set mix' },
];
// Read scaling is measured separately (bench/lib/scaling.js) and reported in its own table.
const SCALING = { id: 'read-scaling', label: 'read throughput with 1 and 2 worker_threads (get hit, reused keys)' };
// So is write scaling (bench/lib/write-scaling.js): 1 and 2 writers of disjoint keys, as threads and
// as processes.
const WRITE_SCALING = { id: 'write-scaling', label: 'write throughput with 1 and 2 writers of disjoint keys (set: update, insert)' };

function runSeed(ctx, opIndex, run) {
  return (ctx.seed * 1000003 + opIndex * 7919 + run * 104729) >>> 0;
}

// The key order of one measured run of an op that may visit a key again (gets and updates):
// `passes` times the run's shuffle. With --passes (bench/run.js) a small, cache-resident key set
// is run as a tight loop of single calls, long enough for the compiler and the clock; inserts,
// deletes and the batched and mixed ops keep one pass.
function passesOf(order, passes) {
  if (!(passes > 1)) return order;
  const out = new Uint32Array(order.length * passes);
  for (let p = 0; p < passes; p++) out.set(order, p * order.length);
  return out;
}

function batches(list, size) {
  const out = [];
  for (let i = 0; i + size <= list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

// ctx: { ad, async, N, stored (key number -> inserted string), vals: [v0, v1] (key number ->
// value), seed, variant: { v } (which value set the store holds for updated keys), passes (see
// passesOf) }.
// Returns { calls, perCall, body, check(done) -> error string | null, after(done) }.
function prepare(id, ctx, run) {
  const { ad, N, stored, vals } = ctx;
  const idx = OPS.findIndex((o) => o.id === id);
  const order = shuffled(N, runSeed(ctx, idx, run));
  const A = ctx.async;
  let bad = 0;
  const nothing = () => null;
  switch (id) {
    case 'get-hit-fresh':
    case 'get-hit-reused':
    case 'get-miss': {
      const hit = id !== 'get-miss';
      const seq = passesOf(order, ctx.passes);
      let keys;
      if (id === 'get-hit-fresh') keys = freshKeys(seq);
      else if (id === 'get-miss') keys = freshKeys(seq.map((n) => n + N));
      else keys = Array.from(seq, (n) => stored[n]);
      const body = A
        ? async (a, b) => {
          for (let i = a; i < b; i++) if (((await ad.get(keys[i])) == null) === hit) bad++;
        }
        : (a, b) => {
          for (let i = a; i < b; i++) if ((ad.get(keys[i]) == null) === hit) bad++;
        };
      return {
        calls: seq.length, perCall: 1, body,
        check: (done) => (bad ? `${bad} of ${done} gets returned a wrong hit/miss` : null),
        after: nothing,
      };
    }
    case 'set-update': {
      ctx.variant.v ^= 1;
      const vs = vals[ctx.variant.v];
      const seq = passesOf(order, ctx.passes);
      const keys = Array.from(seq, (n) => stored[n]);
      const values = Array.from(seq, (n) => vs[n]);
      const body = A
        ? async (a, b) => {
          for (let i = a; i < b; i++) await ad.set(keys[i], values[i]);
        }
        : (a, b) => {
          for (let i = a; i < b; i++) ad.set(keys[i], values[i]);
        };
      return { calls: seq.length, perCall: 1, body, check: nothing, after: nothing };
    }
    case 'insert': {
      // New keys: numbers 2N.. (never present), flat strings built before timing.
      const keys = flatKeys(order.map((n) => n + 2 * N));
      const values = Array.from(order, (n) => vals[0][n]);
      const body = A
        ? async (a, b) => {
          for (let i = a; i < b; i++) await ad.set(keys[i], values[i]);
        }
        : (a, b) => {
          for (let i = a; i < b; i++) ad.set(keys[i], values[i]);
        };
      return {
        calls: N, perCall: 1, body, check: nothing,
        // Untimed: take them out again so that every run starts from the same N keys.
        after: async (done) => {
          for (let i = 0; i < done; i++) await ad.del(keys[i]);
        },
      };
    }
    case 'delete': {
      const keys = Array.from(order, (n) => stored[n]);
      const body = A
        ? async (a, b) => {
          for (let i = a; i < b; i++) if (!(await ad.del(keys[i]))) bad++;
        }
        : (a, b) => {
          for (let i = a; i < b; i++) if (!ad.del(keys[i])) bad++;
        };
      return {
        calls: N, perCall: 1, body,
        check: (done) => (bad ? `${bad} of ${done} deletes found no key` : null),
        // Untimed: put them back (batched).
        after: async (done) => {
          const vs = vals[ctx.variant.v];
          await ad.load(keys.slice(0, done), Array.from(order.subarray(0, done), (n) => vs[n]));
        },
      };
    }
    case 'getMany-100': {
      const groups = batches(Array.from(order, (n) => stored[n]), 100);
      const body = A
        ? async (a, b) => {
          for (let i = a; i < b; i++) {
            const r = await ad.getMany(groups[i]);
            if (r.length !== 100 || r[99] == null) bad++;
          }
        }
        : (a, b) => {
          for (let i = a; i < b; i++) {
            const r = ad.getMany(groups[i]);
            if (r.length !== 100 || r[99] == null) bad++;
          }
        };
      return {
        calls: groups.length, perCall: 100, body,
        check: (done) => (bad ? `${bad} of ${done} getMany calls returned wrong results` : null),
        after: nothing,
      };
    }
    case 'setMany-100': {
      ctx.variant.v ^= 1;
      const vs = vals[ctx.variant.v];
      const groups = batches(Array.from(order, (n) => [stored[n], vs[n]]), 100);
      const body = A
        ? async (a, b) => {
          for (let i = a; i < b; i++) await ad.setMany(groups[i]);
        }
        : (a, b) => {
          for (let i = a; i < b; i++) ad.setMany(groups[i]);
        };
      return { calls: groups.length, perCall: 100, body, check: nothing, after: nothing };
    }
    case 'mix-90-10': {
      ctx.variant.v ^= 1;
      const vs = vals[ctx.variant.v];
      const r = prng(runSeed(ctx, idx, run) ^ 0x5bd1e995);
      const write = new Uint8Array(N);
      for (let i = 0; i < N; i++) write[i] = r() < 0.1 ? 1 : 0;
      const keys = Array.from(order, (n) => stored[n]);
      const values = Array.from(order, (n) => vs[n]);
      const body = A
        ? async (a, b) => {
          for (let i = a; i < b; i++) {
            if (write[i]) await ad.set(keys[i], values[i]);
            else if ((await ad.get(keys[i])) == null) bad++;
          }
        }
        : (a, b) => {
          for (let i = a; i < b; i++) {
            if (write[i]) ad.set(keys[i], values[i]);
            else if (ad.get(keys[i]) == null) bad++;
          }
        };
      return {
        calls: N, perCall: 1, body,
        check: (done) => (bad ? `${bad} gets of ${done} ops missed` : null),
        after: nothing,
      };
    }
    default:
      throw new Error(`unknown op ${id}`);
  }
}

module.exports = { OPS, SCALING, WRITE_SCALING, prepare };
