'use strict';
// Child process of the owner identity tests (test/40-ownership/owners.test.js), run under Node's
// permission model without read access to /proc (noProcNodeArgs). Prints one JSON line, BigInts
// as decimal strings. Usage:
//   node identity-child.js records
//     { procDenied, addon, records }: whether the JS code was denied /proc/self/stat, whether
//     the addon is loaded, and the owner records of this process that a JS mutex handle and a
//     native one (one region) wrote, as { startTime, bootId }.
//   node identity-child.js judge <pid> <startTime> <bootId> <endedPid>
//     { procDenied, verdicts }: for each holder record below, whether a JS mutex handle and a
//     native one take over (tryLock) a lock that record holds: { js, native }, true when taken.
//     The records name process <pid>, which lives and has that start time and boot id: as it
//     is ("live"), with another start time ("reused": its pid taken by a later process), with
//     another boot id ("rebooted"); and process <endedPid>, which has exited ("ended"). (The
//     permission model denies this process child processes: the parent gives these.)
const { procDenied } = require('../process');
const { threadId } = require('worker_threads');
const { Mutex } = require('../../../index');
const { addon } = require('../../../lib/base/native');
const { C, W } = require('../../../lib/layout/layout');
const { OwnerTable } = require('../../../lib/ownership/owners');
const { acquiredWord } = require('../../../lib/ownership/lockword');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const LOCK = C.SYNC_MUTEX_OFFSET / WORD + W.MUTEX_STATE.LOCK;

const ownersOf = (buffer) => new OwnerTable(new Uint32Array(buffer), C.SYNC_OWNERS_OFFSET / WORD, C.SYNC_OWNER_SLOTS);

function records() {
  const m = Mutex.create({ buffer: new SharedArrayBuffer(Mutex.BYTES) });
  const n = addon ? new addon.NativeMutex(m.buffer, 0, process.pid, threadId) : null;
  const table = ownersOf(m.buffer);
  const out = [];
  for (let o = 1; o < table.slots; o++) {
    const r = table.read(o);
    if (r.pid === process.pid) out.push({ startTime: String(r.startTime), bootId: String(r.bootId) });
  }
  if (n !== null) n.close();
  m.close();
  return { procDenied: procDenied(), addon: addon !== null, records: out };
}

// A mutex region whose lock is held by a record of `holder`, another process's.
function heldBy(holder) {
  const buffer = new SharedArrayBuffer(Mutex.BYTES);
  const slot = ownersOf(buffer).claim(holder);
  Atomics.store(new Uint32Array(buffer), LOCK, acquiredWord(0, slot));
  return buffer;
}

function judge(pid, startTime, bootId, ended) {
  const holders = {
    live: { pid, tid: 1, startTime, bootId },
    reused: { pid, tid: 1, startTime: startTime + 1n, bootId },
    rebooted: { pid, tid: 1, startTime, bootId: bootId ^ 1n },
    ended: { pid: ended, tid: 1, startTime, bootId },
  };
  const verdicts = {};
  for (const [what, holder] of Object.entries(holders)) {
    const m = Mutex.open({ buffer: heldBy(holder) });
    const js = m.tryLock() !== false;
    m.close();
    const n = new addon.NativeMutex(heldBy(holder), 0, process.pid, threadId);
    const native = n.tryLock() !== 0;
    n.close();
    verdicts[what] = { js, native };
  }
  return { procDenied: procDenied(), verdicts };
}

const [mode, ...args] = process.argv.slice(2);
let result;
if (mode === 'records') result = records();
else if (mode === 'judge') result = judge(Number(args[0]), BigInt(args[1]), BigInt(args[2]), Number(args[3]));
else throw new Error(`unknown mode ${mode}`);
process.stdout.write(`${JSON.stringify(result)}\n`);
