'use strict';
// One case in one child process (forked by bench/run.js with --expose-gc): loads the reference
// workload into the case's store, runs every op (one warm-up run, then `runs` measured runs,
// each after a GC), then the read-scaling op, and reports over IPC:
//   { type: 'progress', text } ... { type: 'result', ... } or { type: 'unavailable', reason }.
const path = require('path');
const { OPS, prepare } = require('./ops');
const { shuffled, flatKeys, values } = require('./workload');
const { timeSync, timeAsync } = require('./timing');
const { measureReads } = require('./scaling');
const { measureWrites } = require('./write-scaling');

const cfg = JSON.parse(process.argv[2]);
const send = (m) => new Promise((resolve) => process.send(m, resolve));
const gc = typeof global.gc === 'function' ? global.gc : () => {};

async function main() {
  const casePath = path.join(__dirname, '..', 'cases', `${cfg.case}.js`);
  const c = require(casePath);
  const why = c.unavailable(cfg.env);
  if (why) {
    await send({ type: 'unavailable', reason: why });
    return;
  }
  const { N, seed } = cfg;
  await send({ type: 'progress', text: 'loading' });
  // Key number n -> the flat string inserted for it; values for every key in two variants.
  const all = Uint32Array.from({ length: N }, (_, i) => i);
  const stored = flatKeys(all);
  const vals = [values(all, 0), values(all, 1)];
  const { ad, share, info } = await c.open({ ...cfg.env, maxKeys: 3 * N });
  const loadOrder = shuffled(N, seed);
  await ad.load(Array.from(loadOrder, (n) => stored[n]), Array.from(loadOrder, (n) => vals[0][n]));
  const ctx = { ad, async: c.async, N, stored, vals, seed, variant: { v: 0 }, passes: cfg.passes || 1 };
  const time = c.async ? timeAsync : timeSync;
  // A first warm-up of plain gets (JIT, caches, and for Redis the connection), untimed.
  await send({ type: 'progress', text: 'warm-up' });
  {
    const p = prepare('get-hit-reused', ctx, 99);
    const until = Date.now() + cfg.preWarmMs;
    while (Date.now() < until) await time(N, 1, p.body, (until - Date.now()) * 1e6);
  }

  const results = {};
  for (const op of OPS) {
    if (cfg.ops && !cfg.ops.includes(op.id)) continue;
    const samples = [];
    let error = null;
    for (let run = 0; run <= cfg.runs && !error; run++) {
      await send({ type: 'progress', text: `${op.id}${run ? ` run ${run}/${cfg.runs}` : ' warm-up'}` });
      const p = prepare(op.id, ctx, cfg.round * 100 + run);
      gc();
      let r;
      try {
        r = await time(p.calls, p.perCall, p.body, (run ? cfg.budgetMs : cfg.warmMs) * 1e6, cfg.cpu === true);
        error = p.check(r.calls * p.perCall);
        await p.after(r.calls);
      } catch (e) {
        error = `${e.code || e.name}: ${e.message}`;
        break;
      }
      if (run) samples.push({ nsPerOp: r.ns / r.ops, ops: r.ops });
    }
    results[op.id] = error ? { error, samples } : { samples };
  }

  let scaling = null;
  if (!cfg.ops || cfg.ops.includes('read-scaling')) {
    if (!c.shared) {
      scaling = { na: c.sharing };
    } else {
      scaling = {};
      for (const workers of [1, 2]) {
        await send({ type: 'progress', text: `read scaling, ${workers} worker${workers > 1 ? 's' : ''}` });
        try {
          const r = await measureReads({
            casePath, share, workers, N, seed: cfg.seed + cfg.round, warmMs: cfg.warmMs, measureMs: cfg.scaleMs,
          });
          scaling[workers] = r;
          if (r.bad) scaling.error = `${r.bad} worker gets missed`;
        } catch (e) {
          scaling.error = `${e.code || e.name}: ${e.message}`;
          break;
        }
      }
    }
  }
  let writeScaling = null;
  if (c.openNamed && (!cfg.ops || cfg.ops.includes('write-scaling'))) {
    writeScaling = await writeScalingOf(c, casePath, stored, vals);
  }
  const after = c.check ? c.check(ad) : null;
  await ad.close();
  await send({ type: 'result', info, results, scaling, writeScaling, after, sharing: c.sharing, label: c.label });
}

// Write scaling (write-scaling.js) on a store of the case opened by name, so that writer
// processes can attach it too, loaded with the same keys: { threads: { 1, 2 }, processes: { 1, 2 } }
// of measureWrites results, or { error }.
// No writer of the scaling runs dies, so no lock is ever left: a repair pass (a waiter that took a
// live holder for gone) is a fault of the store, and its cost would be measured as lost scaling.
function repairError(store, what) {
  const { repairs } = store.stats();
  return repairs ? `${what}: ${repairs} repair pass(es) ran, though no writer died` : undefined;
}

async function writeScalingOf(c, casePath, stored, vals) {
  const { N } = cfg;
  const named = await c.openNamed({ maxKeys: 3 * N });
  const out = {};
  try {
    const order = shuffled(N, cfg.seed);
    await named.ad.load(Array.from(order, (n) => stored[n]), Array.from(order, (n) => vals[0][n]));
    for (const mode of ['threads', 'processes']) {
      out[mode] = {};
      for (const writers of [1, 2]) {
        await send({ type: 'progress', text: `write scaling, ${writers} writer(s) as ${mode}` });
        out[mode][writers] = await measureWrites({ casePath, share: named.share, mode, writers, N, warmMs: cfg.warmMs, measureMs: cfg.scaleMs, settleMs: cfg.settleMs });
      }
    }
    const v = named.ad.store.verify();
    if (!v.ok) out.error = `verify() after write scaling: ${v.errors.slice(0, 3).join('; ')}`;
    else if (repairError(named.ad.store, 'write scaling')) out.error = repairError(named.ad.store, 'write scaling');
  } catch (e) {
    out.error = `${e.code || e.name}: ${e.message}`;
  } finally {
    named.close();
  }
  if (!out.error) {
    const ins = await insertScalingOf(c, casePath);
    if (ins.error) out.error = ins.error;
    else out.insert = ins;
  }
  return out;
}

// Insert scaling: for each mode and writer count a new store opened by name, empty, with room for
// twice the keys of a run (the same size for 1 and 2 writers); the writers insert cfg.insertKeys
// keys between them (after a tenth as many untimed), keys that no run set before
// (write-scaling.js). { threads: { 1, 2 }, processes: { 1, 2 } } of measureWrites results, or
// { error }.
async function insertScalingOf(c, casePath) {
  const { N } = cfg;
  const insertKeys = cfg.insertKeys;
  const warmKeys = Math.ceil(insertKeys / 10);
  const out = {};
  for (const mode of ['threads', 'processes']) {
    out[mode] = {};
    for (const writers of [1, 2]) {
      await send({ type: 'progress', text: `insert scaling, ${writers} writer(s) as ${mode}` });
      const named = await c.openNamed({ maxKeys: 2 * (insertKeys + warmKeys) });
      try {
        const r = await measureWrites({
          casePath, share: named.share, mode, writers, N, warmMs: cfg.warmMs, measureMs: cfg.scaleMs, settleMs: cfg.settleMs,
          kind: 'insert', insertKeys, warmKeys, firstKey: 10 * N,
        });
        const count = named.ad.store.stats().entries;
        if (count !== insertKeys + warmKeys) return { error: `insert scaling: ${count} entries after ${insertKeys + warmKeys} inserts` };
        out[mode][writers] = r;
        const v = named.ad.store.verify();
        if (!v.ok) return { error: `verify() after insert scaling: ${v.errors.slice(0, 3).join('; ')}` };
        const repaired = repairError(named.ad.store, 'insert scaling');
        if (repaired) return { error: repaired };
      } catch (e) {
        return { error: `${e.code || e.name}: ${e.message}` };
      } finally {
        named.close();
      }
    }
  }
  return out;
}

main().then(
  () => process.exit(0),
  async (e) => {
    await send({ type: 'error', error: e.stack || String(e) });
    process.exit(1);
  },
);
