'use strict';
// verify() of the pure-JS engine: the checks and the messages of native's Store::VerifyLocked,
// in the same order (docs/api.md lists them), so that both engines report a damaged store
// identically. It holds every lock like a repair pass, but changes nothing. Mirrors
// src/store/verify.cpp.
const { C, W, STATUS, STATUS_CODE, UNIT_WORDS, SIZE_CLASSES, CLASS_UNITS } = require('../../layout/layout');
const { GONE } = require('../../ownership/owners');
const { NEED_REPAIR, LockError } = require('./locks');
const { readGeometry } = require('./format');
const { HEADS, LARGE_HEAD, LISTED_UNITS, PREV } = require('./alloc');
const chain = require('./chain');
const large = require('./large');
const repairs = require('./repair');
const progress = require('./progress');

const { REPAIR_LOCK, LIVE, ON_FREE } = repairs;
const FLAGS = W.ENTRY.FLAGS;
const NEXT = W.ENTRY.NEXT;
const HEADER_FREE_HEAD = W.HEADER.FREE_HEAD;
// How many times verify() repairs a lock left by a gone holder before giving up.
const LOCK_ATTEMPTS = 8;

// Takes every lock for verify() (format.md §9): a lock left by a gone holder is not taken over
// but repaired first, as the native engine does, so that what verify() reports is the store as
// the repair pass leaves it (the dead writer's leaked block and counts already mended).
function lockAllForVerify(e) {
  for (let attempt = 0; ; attempt++) {
    if (e.locks.acquire(REPAIR_LOCK) !== NEED_REPAIR && repairs.lockRest(e, false)) return;
    if (attempt >= LOCK_ATTEMPTS) throw new LockError('lock timeout');
    repairs.repair(e, false);
  }
}

// Collects the problems verify() reports: at most C.MAX_VERIFY_ERRORS messages, `ok` false after
// any.
function problems() {
  return {
    ok: true,
    list: [],
    add(message) {
      this.ok = false;
      if (this.list.length < C.MAX_VERIFY_ERRORS) this.list.push(message);
    },
  };
}

// Every free list: each block a block start met once, marked FREE, of the list's class, not live;
// and, when every list could be followed to its end, AllocState.listedUnits the units of their
// blocks.
function checkFreeLists(e, pool, report) {
  const u32 = e.u32;
  // The units of the blocks met, and whether every list was followed to its end.
  let listed = 0;
  let whole = true;
  for (let c = 0; c < SIZE_CLASSES.length; c++) {
    let prev = 0;
    for (let u = u32[HEADS + c]; u !== 0; prev = u, u = u32[chain.entryWord(u) + NEXT]) {
      e.heartbeat.work();
      const stop = repairs.stopAt(e, pool, u, ON_FREE, 'reached twice (a cycle, or on another list)');
      if (stop) {
        report.add(`free list ${c}, block ${u}: ${stop}`);
        whole = false;
        break;
      }
      listed += CLASS_UNITS[c];
      pool.state[u - e.firstUnit] |= ON_FREE;
      const flags = u32[chain.entryWord(u) + FLAGS];
      if (!(flags & C.FLAG_FREE)) report.add(`free list ${c}, block ${u}: FREE not set`);
      if (chain.classOf(flags) !== c) report.add(`free list ${c}, block ${u}: size class differs from the list's`);
      if (pool.state[u - e.firstUnit] & LIVE) report.add(`free list ${c}, block ${u}: both live and free`);
      if (u32[chain.entryWord(u) + PREV] !== prev) report.add(`free list ${c}, block ${u}: prev does not name the block before it`);
    }
  }
  // The large list, with the same checks and native's words.
  for (let u = u32[LARGE_HEAD], prev = 0; u !== 0; prev = u, u = u32[chain.entryWord(u) + NEXT]) {
    e.heartbeat.work();
    const where = `free list large, block ${u}`;
    if (u < e.firstUnit || u >= pool.top || (pool.state[u - e.firstUnit] & repairs.START) === 0) {
      report.add(`${where}: not a block start of the pool`);
      whole = false;
      break;
    }
    if (pool.state[u - e.firstUnit] & ON_FREE) {
      report.add(`${where}: reached twice (a cycle, or on another list)`);
      whole = false;
      break;
    }
    pool.state[u - e.firstUnit] |= ON_FREE;
    const flags = u32[chain.entryWord(u) + FLAGS];
    // A block start of the tiling: its size is valid.
    listed += large.blockUnits(e, u, flags);
    if (!(flags & C.FLAG_FREE)) report.add(`${where}: FREE not set`);
    if (chain.classOf(flags) !== large.LARGE_CLASS) report.add(`${where}: size class differs from the list's`);
    if (pool.state[u - e.firstUnit] & LIVE) report.add(`${where}: both live and free`);
    if (u32[chain.entryWord(u) + PREV] !== prev) report.add(`${where}: prev does not name the block before it`);
  }
  const count = u32[LISTED_UNITS];
  if (whole && listed !== count) report.add(`allocator: listedUnits ${count}, the free lists hold ${listed}`);
}

// Units of live, free and leaked (neither) blocks; reports the leak.
function countUnits(e, pool, report) {
  let liveUnits = 0;
  let freeUnits = 0;
  let leakedUnits = 0;
  let parkedUnits = 0;
  const verdicts = new Uint8Array(C.OWNER_SLOTS);
  let firstLeak = 0;
  let goneWriter = false;
  const p = e.progress;
  for (const u of pool.starts) {
    e.heartbeat.work();
    const flags = e.u32[chain.entryWord(u) + FLAGS];
    const size = large.blockUnits(e, u, flags);
    if (p !== null) progress.at(e, p.total - p.pool + (u + size - e.firstUnit));
    const st = pool.state[u - e.firstUnit];
    // A large block no entry refers to yet, whose writer is still there: a set in flight (it
    // fills the block before taking its bucket lock). A gone writer's block is left for the
    // repair pass verify() runs first.
    const writer = (st & LIVE) === 0 && chain.classOf(flags) === large.LARGE_CLASS && (flags & C.FLAG_FREE) === 0
      ? e.u32[u * UNIT_WORDS + W.LARGE_BLOCK.WRITER] : 0;
    const inFlight = writer !== 0 && writer < C.OWNER_SLOTS && e.owners.status(writer, e.identity) !== GONE;
    if (writer !== 0 && !inFlight) goneWriter = true;
    // A block parked by a live writer (this handle included) is that writer's; one parked by a
    // gone owner is left for the repair pass verify() runs first (format.md §8, "Parked blocks").
    const parked = (st & (LIVE | ON_FREE)) === 0 && (flags & C.FLAG_PARKED) !== 0 && chain.classOf(flags) < SIZE_CLASSES.length;
    const parker = parked ? e.u32[chain.entryWord(u) + NEXT] : 0;
    const parkedLive = parked && (parker === e.locks.slot || repairs.parkedByLive(e, u, flags, verdicts));
    if (parked && !parkedLive) goneWriter = true;
    if ((st & LIVE) || inFlight) liveUnits += size;
    else if (parkedLive) parkedUnits += size;
    else if (st & ON_FREE) freeUnits += size;
    else {
      if (leakedUnits === 0) firstLeak = u;
      leakedUnits += size;
    }
  }
  if (leakedUnits) {
    report.add(`pool: ${leakedUnits} units neither live nor free (leaked), the first at block ${firstLeak}`);
  }
  return { liveUnits, freeUnits, leakedUnits, parkedUnits, goneWriter };
}

// words: null, or the Int32Array of the progress words (./progress.js).
function verify(e, words) {
  for (let attempt = 0; ; attempt++) {
    lockAllForVerify(e);
    const report = problems();
    let result;
    try {
      if (words) {
        const head = e.u32[HEADER_FREE_HEAD];
        progress.start(e, words, head > e.firstUnit ? Math.min(head, e.totalUnits) - e.firstUnit : 0, e.bucketCount);
      }
      const { status } = readGeometry(e.buf);
      if (status !== STATUS.OK) report.add(`header: ${STATUS_CODE[status]}`);
      const pool = repairs.walkPool(e, report);
      const found = repairs.walkChains(e, pool, report);
      checkFreeLists(e, pool, report);
      const { goneWriter, ...units } = countUnits(e, pool, report);
      repairs.checkCounts(e, found, report);
      result = { ok: report.ok, errors: report.list, entries: found.entries, ...units };
      progress.end(e);
      // A large block left by a writer that is gone (killed before linking it): repair first, as
      // for a lock left by a gone holder, then verify again (as the native engine does).
      if (goneWriter && attempt < LOCK_ATTEMPTS) result = null;
    } finally {
      e.progress = null;
      repairs.unlockAll(e);
    }
    if (result) return result;
    repairs.repair(e, true);
  }
}

module.exports = { verify };
