'use strict';
// node cond-pingpong.js <rounds>: two workers take turns over one Mutex and one Condition of a
// SharedArrayBuffer with their async forms only (lockAsync(), waitAsync() without a timeout, so
// that nothing but the waits keeps a worker's event loop alive), each doing <rounds> rounds. Then
// each worker leaves a condition wait and a lockAsync() pending (this thread holds the mutex),
// this thread measures the CPU the process uses over about 1 s, and lets them go. Prints one JSON
// line: { addon, rounds, idleCpuMs, ended, exits }, where `ended` says per worker whether its
// pending waits ended once let go, and `exits` holds the exit codes of the workers in the order
// they exited. Run with and without the addon by
// test/60-sync/async-waits.test.js.
const { Worker, isMainThread, workerData, parentPort } = require('worker_threads');
const { Mutex, Condition } = require('../../../index');
const native = require('../../../lib/base/native');

// The mutex, the condition right after it (a region's size keeps the next one aligned), then the
// words of the ping-pong.
const MB = Mutex.BYTES;
const CB = Condition.BYTES;
const TURN = 0;
const COUNT = 1;
const RELEASED = 2;
// A worker that exits without its waits settled makes the others wait for nothing: the report
// is printed anyway after this long.
const GUARD_MS = 30000;
const IDLE_MS = 1000;

async function worker() {
  const { buffer, k, rounds } = workerData;
  const st = new Int32Array(buffer, MB + CB, 3);
  const m = Mutex.open({ buffer });
  const c = Condition.open({ buffer, byteOffset: MB });
  for (let i = 0; i < rounds; i++) {
    await m.lockAsync();
    while (Atomics.load(st, TURN) !== k) await c.waitAsync(m);
    Atomics.add(st, COUNT, 1);
    Atomics.store(st, TURN, 1 - k);
    c.notifyOne();
    m.unlock();
  }
  // Waits left pending until the main thread lets them go: on the condition (until the main
  // thread sets RELEASED), and (once the main thread holds the mutex) on the mutex through
  // another handle. The partner's last notifyOne may end the first condition wait: it waits again.
  await m.lockAsync();
  let waits = 0;
  const released = (async () => {
    while (Atomics.load(st, RELEASED) === 0) {
      const w = c.waitAsync(m);
      if (++waits === 1) parentPort.postMessage('waiting');
      await w;
    }
    m.unlock();
  })();
  await new Promise((resolve) => parentPort.once('message', resolve));
  const m2 = Mutex.open({ buffer });
  const locked = m2.lockAsync().then(() => m2.unlock());
  parentPort.postMessage('locking');
  await released;
  await locked;
  m.close();
  m2.close();
  c.close();
  parentPort.postMessage('ended');
}

function main() {
  const rounds = Number(process.argv[2]);
  const buffer = new SharedArrayBuffer(MB + CB + 3 * Int32Array.BYTES_PER_ELEMENT);
  const m = Mutex.create({ buffer });
  const c = Condition.create({ buffer, byteOffset: MB });
  const st = new Int32Array(buffer, MB + CB, 3);
  const report = { addon: native.addon !== null, rounds: 0, idleCpuMs: null, ended: [false, false], exits: [] };
  let printed = false;
  const print = () => {
    if (printed) return;
    printed = true;
    clearTimeout(guard);
    report.rounds = Atomics.load(st, COUNT);
    process.stdout.write(`${JSON.stringify(report)}\n`);
  };
  const guard = setTimeout(print, GUARD_MS);
  const ws = [0, 1].map((k) => new Worker(__filename, { workerData: { buffer, k, rounds } }));
  const said = (what) => Promise.all(ws.map((w) => new Promise((resolve) => {
    const on = (msg) => {
      if (msg === what) {
        w.off('message', on);
        resolve();
      }
    };
    w.on('message', on);
  })));
  ws.forEach((w, k) => {
    w.on('message', (msg) => {
      if (msg === 'ended') report.ended[k] = true;
    });
    w.on('error', (e) => process.stderr.write(`worker ${k}: ${e.stack}\n`));
    w.on('exit', (code) => {
      report.exits.push(code);
      if (report.exits.length === ws.length) print();
    });
  });
  (async () => {
    await said('waiting');
    m.lock();
    for (const w of ws) w.postMessage('lock');
    await said('locking');
    // Every wait is pending now and nothing will wake one: the process should be idle.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const before = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const used = process.cpuUsage(before);
    report.idleCpuMs = Math.round((used.user + used.system) / 1000);
    Atomics.store(st, RELEASED, 1);
    c.notifyAll();
    m.unlock();
    m.close();
    c.close();
  })().catch((e) => {
    process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  });
}

if (isMainThread) main();
else {
  worker().catch((e) => {
    process.stderr.write(`worker ${workerData.k}: ${e.stack}\n`);
    process.exitCode = 1;
  });
}
