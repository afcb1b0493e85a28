'use strict';
// One case of the buffer pool benchmark (bench/pool.js), run in a child process of its own:
//   node bench/lib/pool-case.js '<case JSON>'   prints one JSON line { samples } (ns per hand-off)
// The main thread hands `n` payloads of `size` bytes per run to a consumer in a worker thread or
// a child process (this file again, as the peer), which checks each payload's stamp (its number,
// in its first 4 bytes) and reports the end of each run (after one uncounted warm-up run). Transports:
//   pool         a BufferPool block is stamped in place, its handle sent through an MpmcQueue; the
//                consumer reads the block in place and releases it (16 blocks: at most 16 in flight)
//   postMessage  the same 1 MiB Buffer, stamped, posted (structured clone: a copy per message)
//   transfer     a new ArrayBuffer per message, stamped, posted with its ownership transferred
//   ipc          child_process IPC with the 'advanced' serialization (a copy per message)
// The copying transports keep at most 16 messages in flight too (the consumer acknowledges each).
// layout-ok-file: the 4-byte stamp is the benchmark's own, not the binary layout.
const { fork } = require('child_process');
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const { BufferPool, MpmcQueue, Segment } = require('../..');

const WINDOW = 16;
const stampOf = (u8) => (u8[0] | (u8[1] << 8) | (u8[2] << 16) | (u8[3] << 24)) >>> 0;
function stamp(u8, i) {
  u8[0] = i & 0xff;
  u8[1] = (i >>> 8) & 0xff;
  u8[2] = (i >>> 16) & 0xff;
  u8[3] = (i >>> 24) & 0xff;
}
const check = (u8, i) => {
  if (stampOf(u8) !== i) throw new Error(`payload ${i} arrived as ${stampOf(u8)}`);
};

// ---- the consumer ------------------------------------------------------------------------

function poolPeer(c, where, send) {
  const pool = BufferPool.open(where.pool);
  const q = MpmcQueue.open(where.queue);
  send('ready');
  for (let r = 0; r <= c.runs; r++) {
    for (let i = 0; i < c.n; i++) {
      const handle = q.dequeue(60000);
      check(pool.view(handle), i);
      pool.release(handle);
    }
    send('done');
  }
  q.close();
  pool.close();
}

function copyPeer(c, port, send) {
  let i = 0;
  send('ready');
  port.on('message', (m) => {
    check(m instanceof ArrayBuffer ? new Uint8Array(m) : m, i);
    send('ack');
    i++;
    if (i === c.n) {
      i = 0;
      send('done');
    }
  });
}

// ---- the producer ------------------------------------------------------------------------

async function producer(c) {
  const messages = [];
  let wake = null;
  const onMessage = (m) => {
    messages.push(m);
    if (wake) wake();
  };
  const next = async () => {
    while (messages.length === 0) await new Promise((resolve) => { wake = resolve; });
    wake = null;
    return messages.shift();
  };
  let peer;
  let pool;
  let q;
  let post;
  if (c.transport === 'pool') {
    const names = { pool: `${c.id}-pool`, queue: `${c.id}-q` };
    let where;
    if (c.topology === 'threads') {
      const pb = new SharedArrayBuffer(BufferPool.bytesFor(WINDOW, c.size));
      const qb = new SharedArrayBuffer(MpmcQueue.bytesFor(16, { messageBytes: 16 }));
      pool = BufferPool.create({ buffer: pb, blockCount: WINDOW, blockSize: c.size });
      q = MpmcQueue.create({ buffer: qb, capacity: 16, messageBytes: 16 });
      where = { pool: { buffer: pb }, queue: { buffer: qb } };
    } else {
      pool = BufferPool.create({ name: names.pool, blockCount: WINDOW, blockSize: c.size });
      q = MpmcQueue.create({ name: names.queue, capacity: 16, messageBytes: 16 });
      where = { pool: { name: names.pool }, queue: { name: names.queue } };
    }
    peer = startPeer(c, where, onMessage);
    if ((await next()) !== 'ready') throw new Error('the peer did not start');
    if (c.topology === 'processes') {
      for (const name of Object.values(names)) Segment.unlink({ name }); // the mappings stay
    }
  } else {
    peer = startPeer(c, {}, onMessage);
    if ((await next()) !== 'ready') throw new Error('the peer did not start');
    post = c.topology === 'threads' ? (m, t) => peer.postMessage(m, t) : (m) => peer.send(m);
  }
  const samples = [];
  const payload = Buffer.alloc(c.size, 0x5a);
  // Run 0 warms up (the JIT, the first touch of every block) and is not counted.
  for (let r = 0; r <= c.runs; r++) {
    const t0 = process.hrtime.bigint();
    if (c.transport === 'pool') {
      for (let i = 0; i < c.n; i++) {
        // Every block in flight: wait for the consumer to release one, as an application would.
        const got = pool.acquire(60000);
        stamp(got.view, i);
        q.enqueue(got.handle, 60000);
      }
      while ((await next()) !== 'done');
    } else {
      let acked = 0;
      for (let i = 0; i < c.n; i++) {
        while (i - acked >= WINDOW) if ((await next()) === 'ack') acked++;
        if (c.transport === 'transfer') {
          const ab = new ArrayBuffer(c.size);
          stamp(new Uint8Array(ab), i);
          post(ab, [ab]);
        } else {
          stamp(payload, i);
          post(payload);
        }
      }
      for (;;) if ((await next()) === 'done') break;
      messages.length = 0;
    }
    if (r > 0) samples.push(Number(process.hrtime.bigint() - t0) / c.n);
  }
  if (c.topology === 'threads') await peer.terminate();
  else peer.kill();
  if (q) q.close();
  if (pool) pool.close();
  return samples;
}

function startPeer(c, where, onMessage) {
  if (c.topology === 'threads') {
    const w = new Worker(__filename, { workerData: { c, where } });
    w.on('message', onMessage);
    w.on('error', (e) => { console.error(e); process.exit(1); });
    return w;
  }
  const child = fork(__filename, ['peer', JSON.stringify({ c, where })], { serialization: 'advanced' });
  child.on('message', onMessage);
  child.on('exit', (code) => { if (code) { console.error(`peer exited with ${code}`); process.exit(1); } });
  return child;
}

if (!isMainThread) {
  const { c, where } = workerData;
  const send = (m) => parentPort.postMessage(m);
  if (c.transport === 'pool') poolPeer(c, where, send);
  else copyPeer(c, parentPort, send);
} else if (process.argv[2] === 'peer') {
  const { c, where } = JSON.parse(process.argv[3]);
  const send = (m) => process.send(m);
  if (c.transport === 'pool') {
    poolPeer(c, where, send);
    process.disconnect();
  } else {
    copyPeer(c, process, send);
  }
} else {
  producer(JSON.parse(process.argv[2])).then((samples) => {
    console.log(JSON.stringify({ samples }));
    process.exit(0);
  }, (e) => {
    console.error(e);
    process.exit(1);
  });
}
