'use strict';
// One fan-out case of the messaging benchmark (bench/msg.js), run in a child process of its own:
//   node bench/lib/bcast-case.js '<case JSON>'   prints one JSON line { samples, cpu, missed }
// The main thread publishes `n` messages per run to 2 subscriber worker threads: through a
// Broadcast (the workers block in receiveSync) or by postMessage to each worker's port. A run
// ends when both workers have received all `n`; ns and CPU ns (the whole process: every thread)
// are per message published. The broadcast publisher keeps every subscriber within the ring
// (it waits while maxLag is near the capacity), so nothing is missed and both transports deliver
// the same messages; `missed` reports what the subscribers were told they missed (0 expected).
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const { Broadcast } = require('../..');
const T = require('./msg-transports');

const SUBSCRIBERS = 2;
const CAPACITY = 1024;
const cpuNow = () => { const u = process.cpuUsage(); return (u.user + u.system) * 1000; };

function subscriber({ c, buffer, port }) {
  const done = (missed) => parentPort.postMessage({ missed });
  if (c.transport === 'broadcast') {
    const b = Broadcast.open({ buffer });
    const sub = b.subscribe();
    parentPort.postMessage('ready');
    for (let r = 0; r < c.runs; r++) {
      let missed = 0;
      for (let i = 0; i < c.n;) {
        const m = sub.receiveSync();
        missed += m.missed;
        i += 1 + m.missed;
      }
      done(missed);
    }
    b.close();
    return;
  }
  let count = 0;
  parentPort.postMessage('ready');
  port.on('message', () => {
    if (++count < c.n) return;
    count = 0;
    done(0);
  });
}

async function main(c) {
  const buffer = c.transport === 'broadcast' ? new SharedArrayBuffer(Broadcast.bytesFor(CAPACITY, { messageBytes: 64 })) : null;
  const b = buffer ? Broadcast.create({ buffer, capacity: CAPACITY, messageBytes: 64 }) : null;
  const reports = [];
  let wake = null;
  const ports = [];
  const workers = [];
  for (let k = 0; k < SUBSCRIBERS; k++) {
    const data = { c, buffer };
    let transfer = [];
    if (!buffer) {
      const { port1, port2 } = new MessageChannel();
      ports.push(port1);
      data.port = port2;
      transfer = [port2];
    }
    const w = new Worker(__filename, { workerData: data, transferList: transfer });
    w.on('error', (e) => { console.error(e); process.exit(1); });
    workers.push(w);
  }
  await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
  for (const w of workers) w.on('message', (m) => { reports.push(m); if (wake) wake(); });
  const messages = Array.from({ length: 64 }, (_, i) => T.makeMessage(c.kind, c.size, i));
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const samples = [];
  const cpu = [];
  let missed = 0;
  for (let r = 0; r < c.runs; r++) {
    const cpu0 = cpuNow();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < c.n; i++) {
      const m = c.kind === 'json' ? T.makeMessage('json', c.size, i) : messages[i & 63];
      if (b) {
        if ((i & 63) === 0) while (b.maxLag > CAPACITY - 128) Atomics.wait(pause, 0, 0, 0.05);
        b.publish(m);
      } else {
        for (const p of ports) p.postMessage(m);
      }
    }
    while (reports.length < SUBSCRIBERS) await new Promise((res) => { wake = res; });
    const t1 = process.hrtime.bigint();
    missed += reports.splice(0).reduce((a, x) => a + x.missed, 0);
    samples.push(Number(t1 - t0) / c.n);
    cpu.push((cpuNow() - cpu0) / c.n);
  }
  await Promise.all(workers.map((w) => w.terminate()));
  for (const p of ports) p.close();
  if (b) b.close();
  process.stdout.write(`${JSON.stringify(b ? { samples, cpu, missed } : { samples, cpu })}\n`);
}

if (!isMainThread) subscriber(workerData);
else {
  main(JSON.parse(process.argv[2])).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
