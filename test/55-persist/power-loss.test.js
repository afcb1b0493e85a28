'use strict';
// Simulated power loss (the ALICE / LazyFS persistence model): the log's writes and syncs are
// recorded through the persist room's I/O layer (lib/persist/io.js) while three handles write
// and flush; then, for many cut points of the run, the on-disk state a power loss at that point
// could leave is built (every write before the last completed sync, plus a random subset of the
// writes after it, some of them torn) and recovered. Every state must recover without crashing,
// keep every write acknowledged as durable (a flush() that resolved before the cut), and keep
// each writer's order (the writes of a writer that survive are a prefix of what it wrote). Some
// of the writes are namespace settings (format.md §16, type 6): a writer's namespace gets a
// default TTL that grows with its sequence number, so a durable one must survive too.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Store } = require('../../index');
const native = require('../../lib/base/native');
const { io } = require('../../lib/persist/io');
const { persistTarget, copyDir, logFile, recover } = require('../helpers/persist');
const { readLog } = require('../helpers/independent-wal-reader');

const WRITERS = 3;
const KEYS = 4;

// A small deterministic generator, so that a failure can be reproduced from its seed.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

// Replaces the members of `io` with wrappers that record every write and completed sync of the
// log files; returns { ops, restore }.
function recordIo() {
  const saved = { ...io };
  const known = new Map(); // fd -> whether it is a log file (from /proc, for fds opened earlier)
  const logs = {
    has(fd) {
      if (!known.has(fd)) known.set(fd, /wal-[0-9a-f]{16}\.log$/.test(fs.readlinkSync(`/proc/self/fd/${fd}`)));
      return known.get(fd);
    },
  };
  const ops = [];
  // Every record through a recordable pwrite (a store into a mapping would not be seen).
  io.mapped = false;
  io.closeSync = (fd) => {
    known.delete(fd);
    saved.closeSync(fd);
  };
  io.writeSync = (fd, buf, off, len, pos) => {
    const n = saved.writeSync(fd, buf, off, len, pos);
    if (!logs.has(fd)) return n;
    const data = buf.subarray(off, off + n);
    // The zeros that grow the file may come one page per write (wal.js): a run of them is kept as one
    // write (its bytes made once, when a state first needs them), as one write of the whole
    // growth was recorded before, so that the states built from the record stay as many (a
    // growth kept, lost or torn as a whole; zeros past the tail are preallocated space whatever
    // part of them survives).
    const last = ops[ops.length - 1];
    if (!isZeros(data)) ops.push({ type: 'write', pos, data: Buffer.from(data) });
    else if (last && last.type === 'write' && last.zeros > 0 && last.pos + last.zeros === pos) last.zeros += n;
    else ops.push({ type: 'write', pos, data: null, zeros: n });
    return n;
  };
  // An allocation that grows the file ('none' mode) is a growth by zeros as far as a reader of
  // the file is concerned: kept or lost as a whole (fallocate is one journalled change), and a
  // torn part of it reads as zeros too.
  if (saved.allocate !== null) {
    io.allocate = (fd, pos, len) => {
      const err = saved.allocate(fd, pos, len);
      if (err === 0 && logs.has(fd)) ops.push({ type: 'write', pos, data: null, zeros: len });
      return err;
    };
  }
  io.fdatasyncSync = (fd) => {
    saved.fdatasyncSync(fd);
    if (logs.has(fd)) ops.push({ type: 'sync' });
  };
  io.fdatasync = (fd, cb) => saved.fdatasync(fd, (err) => {
    if (!err && logs.has(fd)) ops.push({ type: 'sync' });
    cb(err);
  });
  return { ops, restore: () => Object.assign(io, saved) };
}

function isZeros(data) {
  return data.length > 0 && data.every((b) => b === 0);
}

// The file a power loss after the first `k` operations could leave, from `base` (its bytes when
// recording started): everything before the last sync among them, then each later write kept or
// lost at random, a kept one sometimes torn (only a prefix of it reached the disk).
function crashImage(base, ops, k, random) {
  let lastSync = -1;
  for (let i = 0; i < k; i++) if (ops[i].type === 'sync') lastSync = i;
  let img = Buffer.from(base);
  const apply = (pos, data) => {
    if (pos + data.length > img.length) {
      const grown = Buffer.alloc(pos + data.length);
      img.copy(grown);
      img = grown;
    }
    data.copy(img, pos);
  };
  for (let i = 0; i < k; i++) {
    const op = ops[i];
    if (op.type !== 'write') continue;
    if (op.data === null) op.data = Buffer.alloc(op.zeros);
    if (i < lastSync) apply(op.pos, op.data);
    else if (random() < 0.5) {
      const torn = random() < 0.25;
      apply(op.pos, torn ? op.data.subarray(0, Math.floor(random() * op.data.length)) : op.data);
    }
  }
  return { img, lastSync };
}

(native.addon ? describe : describe.skip)('Persistence: simulated power loss', function () {
  this.timeout(300000);
  let t;
  beforeEach(() => { t = persistTarget('power'); });
  afterEach(() => t.cleanup());

  it('every constructed crash state recovers with every durable write and each writer in order', async () => {
    const random = rng(20261203);
    const first = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'none', checkpointBytes: 0 } });
    const handles = [first];
    for (let w = 1; w < WRITERS; w++) handles.push(Store.open({ name: t.name, persist: { dir: t.dir } }));
    const file = logFile(t.dir);
    const base = fs.readFileSync(file);
    const rec = recordIo();
    // acks[i] = { at, seqs }: after the first `at` operations, writer w's writes up to seqs[w]
    // were acknowledged as durable (a flush() issued after them resolved).
    const acks = [];
    const next = new Array(WRITERS).fill(0);
    const settingsSeqs = Array.from({ length: WRITERS }, () => []);
    const setSeqs = Array.from({ length: WRITERS }, () => []);
    try {
      for (let step = 0; step < 400; step++) {
        const w = Math.floor(random() * WRITERS);
        const seq = next[w]++;
        // Settings: TTL (seq + 1) s, so the TTL names the write.
        if (random() < 0.1) {
          handles[w].namespace(`c${w}`, { ttl: (seq + 1) * 1000 });
          settingsSeqs[w].push(seq);
        } else {
          handles[w].set('p', `w${w}-k${seq % KEYS}`, seq);
          setSeqs[w].push(seq);
        }
        if (random() < 0.08) {
          const issued = next.map((n) => n - 1);
          await handles[Math.floor(random() * WRITERS)].flush();
          acks.push({ at: rec.ops.length, seqs: issued });
        }
      }
    } finally {
      rec.restore();
      for (const h of handles) h.close();
    }
    const { ops } = rec;
    assert.ok(ops.filter((o) => o.type === 'sync').length >= 10);
    // Cut points: right after every sync, and many at random.
    const cuts = new Set([0, ops.length]);
    ops.forEach((o, i) => { if (o.type === 'sync') cuts.add(i + 1); });
    while (cuts.size < 160) cuts.add(Math.floor(random() * (ops.length + 1)));
    let states = 0;
    let settingsChecked = 0;
    for (const k of [...cuts].sort((a, b) => a - b)) {
      const { img } = crashImage(base, ops, k, random);
      const dir = copyDir(t.dir);
      try {
        fs.writeFileSync(path.join(dir, path.basename(file)), img);
        const durable = new Array(WRITERS).fill(-1);
        for (const a of acks) if (a.at <= k) a.seqs.forEach((s, w) => { durable[w] = Math.max(durable[w], s); });
        const s = recover(t.name, dir);
        try {
          for (let w = 0; w < WRITERS; w++) {
            for (let j = 0; j < KEYS; j++) {
              const lastDurable = setSeqs[w].filter((q) => q <= durable[w] && q % KEYS === j).pop();
              const got = s.get('p', `w${w}-k${j}`);
              if (lastDurable === undefined) continue;
              assert.ok(got !== undefined && got >= lastDurable, `cut ${k}: w${w}-k${j} = ${got}, durable up to seq ${durable[w]}`);
            }
          }
          for (let w = 0; w < WRITERS; w++) {
            const last = settingsSeqs[w].filter((q) => q <= durable[w]).pop();
            if (last === undefined) continue;
            const got = (s.stats().namespaceStats[`c${w}`] || {}).ttl;
            // At least the durable one, and one the writer set (a later one may have survived).
            assert.ok(settingsSeqs[w].some((q) => q >= last && got === (q + 1) * 1000), `cut ${k}: c${w} ttl ${got}, durable settings of seq ${last}`);
            settingsChecked += 1;
          }
          assert.strictEqual(s.verify().ok, true);
        } finally {
          s.close();
        }
        // Each writer's surviving records are a prefix of its writes.
        const seen = new Array(WRITERS).fill(-1);
        for (const r of readLog(logFile(dir)).records) {
          const settings = r.type === 'nsSettings';
          const w = settings ? Number(r.ns.slice(1)) : Number(r.key.slice(1, r.key.indexOf('-')));
          const seq = settings ? r.expiresAt / 1000 - 1 : JSON.parse(r.value.toString());
          assert.strictEqual(seq, seen[w] + 1, `cut ${k}: writer ${w} wrote ${seq} after ${seen[w]}`);
          seen[w] = seq;
        }
        for (let w = 0; w < WRITERS; w++) assert.ok(seen[w] >= durable[w], `cut ${k}: writer ${w} kept ${seen[w]} < durable ${durable[w]}`);
        states += 1;
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    assert.strictEqual(states, cuts.size);
    assert.ok(settingsChecked > 50, `${settingsChecked} durable settings checked`);
  });
});
