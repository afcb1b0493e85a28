'use strict';
// Waiting for an idle machine before a measurement (`--wait-idle` of the benchmarks that time two
// threads or processes against each other): on a shared machine another program's burst of work
// takes a core from one end of a two-core case and measures that program, not the case. Reads the
// CPU counters of /proc/stat (Linux; elsewhere it returns at once).
const fs = require('fs');

function cpuTimes() {
  try {
    const f = fs.readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] || 0); // idle + iowait
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  } catch {
    return null;
  }
}

/**
 * Resolves once the machine's CPUs were at least `minIdle` idle (0..1) over a window of
 * `windowMs`, or after `maxMs` whatever the load. Returns { idle, waitedMs } (idle: of the last
 * window; null where /proc/stat is not there).
 */
async function waitIdle({ minIdle = 0.9, windowMs = 500, maxMs = 60000 } = {}) {
  const t0 = Date.now();
  let a = cpuTimes();
  if (!a) return { idle: null, waitedMs: 0 };
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const b = cpuTimes();
    const idle = b.total > a.total ? (b.idle - a.idle) / (b.total - a.total) : 1;
    if (idle >= minIdle || Date.now() - t0 >= maxMs) return { idle, waitedMs: Date.now() - t0 - windowMs };
    a = b;
  }
}

module.exports = { waitIdle };
