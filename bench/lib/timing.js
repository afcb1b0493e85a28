'use strict';
// Timed loops. `body(a, b)` performs calls a..b-1 of a prepared batch; the loop runs chunks of
// growing size (8 .. 1024 calls) and stops when the batch is done or the time budget is spent,
// so that a 20 ns operation runs the whole batch and a 2 ms one stops after ~budget. The clock
// is read once per chunk, not per operation.

const now = process.hrtime.bigint;

// The CPU time (user + system, all threads) the process used since `since` (a process.cpuUsage()
// result), in ns.
function cpuNsSince(since) {
  const c = process.cpuUsage(since);
  return (c.user + c.system) * 1000;
}

// With `cpu`, the result is the CPU time the process used meanwhile instead of the wall-clock
// time (bench/run.js --cpu); the budget is wall-clock time either way.
function timeSync(calls, perCall, body, budgetNs, cpu = false) {
  const budget = BigInt(Math.round(budgetNs));
  let done = 0;
  let chunk = 8;
  const c0 = cpu ? process.cpuUsage() : null;
  const t0 = now();
  let t = t0;
  while (done < calls) {
    const e = Math.min(calls, done + chunk);
    body(done, e);
    done = e;
    t = now();
    if (t - t0 >= budget) break;
    if (chunk < 1024) chunk *= 2;
  }
  return { ns: cpu ? cpuNsSince(c0) : Number(t - t0), ops: done * perCall, calls: done };
}

async function timeAsync(calls, perCall, body, budgetNs, cpu = false) {
  const budget = BigInt(Math.round(budgetNs));
  let done = 0;
  let chunk = 8;
  const c0 = cpu ? process.cpuUsage() : null;
  const t0 = now();
  let t = t0;
  while (done < calls) {
    const e = Math.min(calls, done + chunk);
    await body(done, e);
    done = e;
    t = now();
    if (t - t0 >= budget) break;
    if (chunk < 1024) chunk *= 2;
  }
  return { ns: cpu ? cpuNsSince(c0) : Number(t - t0), ops: done * perCall, calls: done };
}

module.exports = { timeSync, timeAsync, now };
