'use strict';
// The messaging benchmark's case runner (bench/lib/msg-case.js): the sender decides when the
// warm-up and the counting end and tells the other end through a shared control word; both ends
// must agree on the number of runs (else one waits forever), and the result is the sustained rate
// of the counted runs. Threads and processes, a queue and postMessage.
const assert = require('assert');
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { addon } = require('../../lib/base/native');

const CASE = path.join(__dirname, '..', '..', 'bench', 'lib', 'msg-case.js');

function runCase(over) {
  const c = {
    id: `t-${process.pid}`, pattern: 'oneway', transport: 'spsc-batch', topology: 'threads', kind: 'str', size: 32,
    n: 2000, runs: 3, warmups: 1, warmMs: 0, countMs: 0, ...over,
  };
  const out = execFileSync(process.execPath, [CASE, JSON.stringify(c)], { encoding: 'utf8', timeout: 60000 });
  return JSON.parse(out.trim().split('\n').pop());
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('bench:msg case runner', function () {
  this.timeout(120000);

  for (const [transport, topology] of [['spsc-batch', 'threads'], ['mpmc', 'processes'], ['postMessage', 'threads']]) {
    // Between processes the queue is in a segment, which needs the addon.
    (topology === 'processes' && !addon ? it.skip : it)(`${transport} between ${topology}: exactly the counted runs, their mean rate`, () => {
      const r = runCase({ transport, topology, runs: 4 });
      assert.strictEqual(r.samples.length, 4);
      assert.strictEqual(r.cpu.length, 4);
      assert.ok(r.samples.every((x) => x > 0 && Number.isFinite(x)));
      assert.ok(Math.abs(r.ns - mean(r.samples)) < 1e-9 * r.ns);
      assert.ok(Math.abs(r.cpuNs - mean(r.cpu)) < 1e-9 * r.cpuNs + 1e-12);
    });
  }

  // The request/reply cases (bench/lib/msg-rpc.js) run every run they are asked for.
  for (const topology of ['threads', 'processes']) {
    (topology === 'processes' && !addon ? it.skip : it)(`channel request/reply between ${topology}: every run${topology === 'processes' ? ', the CPU of both ends, no segment left' : ''}`, () => {
      const shm = () => (fs.existsSync('/dev/shm') ? fs.readdirSync('/dev/shm').filter((f) => f.includes('bench-rpc')) : []);
      const before = shm();
      const r = runCase({ pattern: 'pingpong', transport: 'channel', topology, n: 300, runs: 3 });
      assert.strictEqual(r.samples.length, 3);
      assert.strictEqual(r.cpu.length, 3);
      assert.ok(r.samples.every((x) => x > 0 && Number.isFinite(x)));
      assert.ok(r.cpu.every((x) => x > 0 && Number.isFinite(x)));
      if (topology !== 'processes') return;
      // The replier's own CPU, counted into each run's.
      assert.strictEqual(r.peerCpu.length, 3);
      assert.ok(r.peerCpu.every((x, k) => x > 0 && x < r.cpu[k]));
      assert.deepStrictEqual(shm(), before);
    });
  }

  it('counts every run that starts within countMs, and warms up for warmMs', () => {
    // A run of 2,000 messages takes well under 100 ms: 300 ms of counting is several runs more
    // than the 2 asked for.
    const r = runCase({ runs: 2, warmMs: 100, countMs: 300 });
    assert.ok(r.samples.length > 2, `${r.samples.length} counted runs`);
    if (!addon) return; // the process case needs a segment
    const q = runCase({ transport: 'mpmc', topology: 'processes', runs: 2, countMs: 300 });
    assert.ok(q.samples.length > 2, `${q.samples.length} counted runs`);
  });
});
