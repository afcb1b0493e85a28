'use strict';
// The recovery measurements of bench/durable.js, each run in a child process of its own:
// - replay: a log of about --replay-mb MB of sets (100-byte values over 100,000 keys) written in
//   sync 'none', the segment removed, and the time of Store.open rebuilding it from the log;
// - snapshot: a store holding about --snapshot-mb MB of entries (1,000-byte values), the time
//   and size of a checkpoint, the rebuild from that snapshot, a full backup, then 1% of the
//   entries changed and the time and bytes of the next (incremental) backup.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { median } = require('./report');
const { keyOf, KEYS, VALUE } = require('./durable-writer');

const BIG = 'w'.repeat(1000);
const MB = 1e6;

function ms(t0) {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function replayCase(task, dir, name) {
  const { Store, Segment } = require('../..');
  // The segment holds the 100,000 live keys; the log holds every set.
  const s = Store.create({ name, size: 256 << 20, persist: { dir, sync: 'none', checkpointBytes: 0 } });
  for (let i = 0; s.persistence.tail < task.mb * MB; i++) s.set('bench', keyOf(i % KEYS), VALUE);
  const logBytes = s.persistence.tail;
  s.close();
  Segment.unlink({ name });
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const r = Store.open({ name, persist: { dir } });
  const replayMs = ms(t0);
  // CPU time too: on a machine shared with other work, the wall time also counts the waits for a
  // core, which the CPU time leaves out.
  const cpu = process.cpuUsage(cpu0);
  const replayCpuMs = (cpu.user + cpu.system) / 1000;
  const { records } = r.persistence.recovery;
  r.close();
  Segment.unlink({ name });
  return { logBytes, replayMs, replayCpuMs, records };
}

function snapshotCase(task, dir, name) {
  const { Store, Segment } = require('../..');
  const entries = Math.ceil((task.mb * MB) / BIG.length);
  const s = Store.create({
    name, size: Math.ceil(entries * 1.4 * 1100) + (64 << 20), maxEntries: Math.ceil(entries * 1.1),
    persist: { dir, sync: 'none', checkpointBytes: 0 },
  });
  try {
    for (let i = 0; i < entries; i++) s.set('big', keyOf(i), BIG);
    let t0 = process.hrtime.bigint();
    const ck = s.checkpoint();
    const checkpointMs = ms(t0);
    const backupDir = `${dir}-backup`;
    t0 = process.hrtime.bigint();
    const full = s.backup(backupDir);
    const fullBackupMs = ms(t0);
    const changed = Math.ceil(entries / 100);
    for (let i = 0; i < changed; i++) s.set('big', keyOf((i * 97) % entries), BIG.toUpperCase());
    t0 = process.hrtime.bigint();
    const inc = s.backup(backupDir);
    const incBackupMs = ms(t0);
    s.close();
    Segment.unlink({ name });
    t0 = process.hrtime.bigint();
    const r = Store.open({ name, persist: { dir } });
    const snapshotLoadMs = ms(t0);
    const ok = r.count('big') === entries;
    r.close();
    fs.rmSync(backupDir, { recursive: true, force: true });
    if (!ok) throw new Error('the rebuilt store lacks entries');
    return {
      entries, dataBytes: entries * (BIG.length + keyOf(0).length), checkpointMs, snapshotBytes: ck.bytes, snapshotLoadMs,
      fullBackupMs, fullBackupBytes: full.bytesCopied, changed, incBackupMs, incBackupBytes: inc.bytesCopied,
    };
  } finally {
    if (!s.closed) s.close();
    try {
      Segment.unlink({ name });
    } catch {
      // already gone
    }
  }
}

async function recoveryChild(task) {
  const name = `shmstore-bench-recovery-${process.pid}`;
  const dir = fs.mkdtempSync(path.join(task.baseDir, 'shmstore-bench-recovery-'));
  try {
    return task.kind === 'replay' ? replayCase(task, dir, name) : snapshotCase(task, dir, name);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function recoveryMain({ forkChild, baseDir, runs, replayMb, snapshotMb }) {
  const rep = [];
  for (let r = 0; r < runs; r++) rep.push(await forkChild(['--recovery', JSON.stringify({ kind: 'replay', baseDir, mb: replayMb })]));
  const m = (xs, k) => median(xs.map((x) => x[k]));
  const logMb = rep[0].logBytes / MB;
  process.stdout.write(`recovery (median of ${runs}): rebuild from ${logMb.toFixed(0)} MB of log in ${baseDir} (${rep[0].records} records): ` +
    `${m(rep, 'replayMs').toFixed(0)} ms = ${(logMb / (m(rep, 'replayMs') / 1000)).toFixed(0)} MB/s ` +
    `(1 GB in ${((1000 / logMb) * m(rep, 'replayMs') / 1000).toFixed(1)} s; goal < 5 s); CPU time ${m(rep, 'replayCpuMs').toFixed(0)} ms ` +
    `(1 GB in ${((1000 / logMb) * m(rep, 'replayCpuMs') / 1000).toFixed(1)} s of CPU), load average ${os.loadavg()[0].toFixed(1)}\n`);
  const snaps = [];
  for (let r = 0; r < runs; r++) snaps.push(await forkChild(['--recovery', JSON.stringify({ kind: 'snapshot', baseDir, mb: snapshotMb })]));
  const x = snaps[0];
  process.stdout.write(`snapshot (median of ${runs}) of a store of ${x.entries} entries, ${(x.dataBytes / MB).toFixed(0)} MB of keys and values: ` +
    `checkpoint ${m(snaps, 'checkpointMs').toFixed(0)} ms, ${(x.snapshotBytes / MB).toFixed(0)} MB; rebuild from it ${m(snaps, 'snapshotLoadMs').toFixed(0)} ms\n`);
  process.stdout.write(`backup (median of ${runs}): full ${m(snaps, 'fullBackupMs').toFixed(0)} ms, ${(x.fullBackupBytes / MB).toFixed(0)} MB copied; ` +
    `after ${x.changed} entries (1%) changed: ${m(snaps, 'incBackupMs').toFixed(0)} ms, ${(m(snaps, 'incBackupBytes') / MB).toFixed(1)} MB copied\n`);
}

module.exports = { recoveryChild, recoveryMain };
