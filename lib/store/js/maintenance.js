'use strict';
// The stop-the-world passes of the pure-JS engine (docs/format.md §9): repair, verify, and the
// statistics walk. They hold every lock, so they see the store exactly as no writer is changing
// it; readers keep running and simply retry around them.
const { C, S, SIZE_CLASSES, STATUS, STATUS_CODE } = require('../../layout/layout');
const { xxh32 } = require('../../base/xxhash');
const { readGeometry } = require('./format');
const { NEED_REPAIR, LockError } = require('../../ownership/locks');
const { ALLOC_LOCK, HEADS, FREE_HEAD } = require('./alloc');

const H = S.HEADER;
const BUCKET_BASE = C.BUCKETS_OFFSET >> 2;
const NS_BASE = C.NAMESPACES_OFFSET >> 2;
const NS_LOCK = (C.NSSTATE_OFFSET + S.NS_STATE.LOCK) >> 2;
const NS_LIVE = (C.NSSTATE_OFFSET + S.NS_STATE.LIVE_COUNT) >> 2;
const REPAIR_LOCK = (C.REPAIR_OFFSET + S.REPAIR_STATE.LOCK) >> 2;
const REPAIRS = (C.REPAIR_OFFSET + S.REPAIR_STATE.REPAIRS) >> 2;
const ENTRY_COUNT = H.ENTRY_COUNT >> 2;
const GC_COUNTER = H.GC_COUNTER >> 2;
const CLASS_MASK = C.FLAG_CLASS_MASK;
const CLASS_COUNT = (C.ALLOC_OFFSET + S.ALLOC_STATE.CLASS_COUNT) >> 2;

// With the repair lock held: acquires every bucket lock in index order, then the allocator and
// namespace locks. With `takeOver` (repair) a lock whose holder is gone is taken over; without
// (verify) such a lock makes it release what it took, the repair lock included, and return
// false: the caller repairs first. On a lock timeout it releases the same and throws. (No list
// of the locks held: a store can have 2^26 buckets.)
function lockRest(e, takeOver = true) {
  const L = e.locks;
  const take = (idx) => {
    if (takeOver) L.acquireOrTakeOver(idx);
    else if (L.acquire(idx) === NEED_REPAIR) return false;
    return true;
  };
  let b = 0;
  let alloc = false;
  let ok = false;
  try {
    for (; b < e.bucketCount; b++) {
      if (!take(BUCKET_BASE + b * 8 + 2)) break;
      L.beat();
    }
    alloc = b === e.bucketCount && take(ALLOC_LOCK);
    ok = alloc && take(NS_LOCK);
  } finally {
    if (!ok) {
      if (alloc) L.release(ALLOC_LOCK);
      while (b-- > 0) L.release(BUCKET_BASE + b * 8 + 2);
      L.release(REPAIR_LOCK);
    }
  }
  return ok;
}

// Takes every lock for verify() (format.md §9): a lock left by a gone holder is not taken over
// but repaired first, as the native engine does, so that what verify() reports is the store as
// the repair pass leaves it (the dead writer's leaked block and counts already mended).
function lockAllForVerify(e) {
  for (let attempt = 0; ; attempt++) {
    if (e.locks.acquire(REPAIR_LOCK) !== NEED_REPAIR && lockRest(e, false)) return;
    if (attempt >= 8) throw new LockError('lock timeout');
    repair(e, false);
  }
}

function lockAll(e) {
  e.locks.acquireOrTakeOver(REPAIR_LOCK);
  lockRest(e);
}

// Releases in the order of format.md §9 step 7.
function unlockAll(e) {
  const L = e.locks;
  L.pulse(); // the last heartbeat: waiters that timed the pass restart before it ends
  L.release(NS_LOCK);
  L.release(ALLOC_LOCK);
  for (let b = 0; b < e.bucketCount; b++) L.release(BUCKET_BASE + b * 8 + 2);
  L.release(REPAIR_LOCK);
}

// Collects the problems verify() reports: at most C.MAX_VERIFY_ERRORS messages, `ok` false after
// any. A repair pass collects nothing (null).
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

// Per-unit state bits of a pass (a store of 2^26 units has no room for one object per block).
const START = 1; // a block start found by the pool walk
const LIVE = 2; // a valid entry, kept on its chain
const SEEN = 4; // met on a chain
const ON_FREE = 8; // met on a free list

// Walks the pool by block size. Returns the block starts and where the tiling ends (`top`: the
// first block that is not valid, else freeHead). A freeHead outside [firstUnit, totalUnits] is
// clamped, as native does: walking to a freeHead beyond the store would read past it, and one
// below the pool would let the allocator place blocks over the buckets.
function walkPool(e, report) {
  const u32 = e.u32;
  const raw = u32[FREE_HEAD];
  const badHead = raw < e.firstUnit || raw > e.totalUnits;
  if (badHead && report) report.add(`header: freeHead ${raw} outside [${e.firstUnit}, ${e.totalUnits}]`);
  const head = Math.min(Math.max(raw, e.firstUnit), e.totalUnits);
  const state = new Uint8Array(e.totalUnits - e.firstUnit);
  const starts = [];
  let u = e.firstUnit;
  while (u < head) {
    e.locks.beat();
    const cls = (u32[u * 16 + 6] >>> C.FLAG_CLASS_SHIFT) & CLASS_MASK;
    if (cls >= SIZE_CLASSES.length) {
      if (report) report.add(`pool: block ${u}: invalid size class ${cls}`);
      break;
    }
    if (u + SIZE_CLASSES[cls] > head) {
      if (report) report.add(`pool: block ${u}: crosses freeHead ${head}`);
      break;
    }
    state[u - e.firstUnit] = START;
    starts.push(u);
    u += SIZE_CLASSES[cls];
  }
  return { top: Math.min(u, head), moved: badHead || u < head, state, starts };
}

function nsLive(e, id) {
  return id > 0 && id < C.NAMESPACE_SLOTS && e.u32[NS_BASE + id * 16] === C.NS_STATE_LIVE;
}

function badNameLength(len) {
  return len === 0 || len > C.MAX_NAMESPACE_BYTES;
}

// Why the entry at block start `u` is not a valid entry of bucket `b`, or null (the order and the
// words of native's Store::EntryProblem).
function entryProblem(e, u, b) {
  const { u8, u16, u32 } = e;
  const w = u * 16;
  const flags = u32[w + 6];
  if (flags & C.FLAG_FREE) return 'has FREE set';
  const units = SIZE_CLASSES[(flags >>> C.FLAG_CLASS_SHIFT) & CLASS_MASK];
  const h = u32[w + 1];
  if ((h & e.mask) !== b) return 'sits in the wrong bucket';
  const ns = u32[w + 3];
  if (!nsLive(e, ns)) return 'names a namespace that is not live';
  const kl = u16[w * 2 + 4];
  const vl = u16[w * 2 + 5];
  if (kl > C.MAX_KEY_BYTES) return 'has a key longer than 1024 bytes';
  if (32 + kl + vl > units * 64) return 'does not fit its block';
  const off = w * 4 + 32;
  if (xxh32(u8, off, kl, ns) !== h) return 'has a keyHash that is not its key\'s';
  if (xxh32(u8, off, kl + vl, (h ^ (flags & C.FLAG_ENCODING_MASK)) >>> 0) !== u32[w + 7]) {
    return 'has a wrong checksum';
  }
  return null;
}

// Why a chain or free list must stop at unit `u` (not a block start of the tiling, or met
// before on that kind of walk, `twice` naming what that means), or null.
function stopAt(e, pool, u, bit, twice) {
  if (u < e.firstUnit || u >= pool.top) return 'unit out of range';
  const st = pool.state[u - e.firstUnit];
  if ((st & START) === 0) return 'not a block start';
  if (st & bit) return twice;
  return null;
}

// Walks every chain (format.md §9, repair step 4). Verify reports each problem; repair (no
// report) unlinks the bad entries, ends a chain at a unit it must stop at, and rewrites the
// bucket counts.
function walkChains(e, pool, report) {
  const { u8, u16, u32 } = e;
  const fix = !report;
  const nsCounts = new Uint32Array(C.NAMESPACE_SLOTS);
  const keys = new Set();
  let entries = 0;
  for (let b = 0; b < e.bucketCount; b++) {
    const lw = BUCKET_BASE + b * 8 + 2;
    let link = lw - 2;
    let u = u32[link];
    let n = 0;
    keys.clear();
    e.locks.beat();
    while (u !== 0) {
      e.locks.beat();
      const stop = stopAt(e, pool, u, SEEN, 'reached twice (a cycle or a shared chain)');
      if (stop) {
        // Its `next` cannot be trusted (not a block, or a cycle): the chain ends here.
        if (fix) Atomics.store(u32, link, 0);
        else report.add(`bucket ${b}, block ${u}: ${stop}`);
        break;
      }
      pool.state[u - e.firstUnit] |= SEEN;
      const w = u * 16;
      const next = u32[w];
      let why = entryProblem(e, u, b);
      let key;
      if (!why) {
        const off = w * 4 + 32;
        key = `${u32[w + 3]}:${Buffer.from(u8.buffer, off, u16[w * 2 + 4]).toString('latin1')}`;
        if (keys.has(key)) why = 'repeats a key already on the chain';
      }
      if (why) {
        if (fix) Atomics.store(u32, link, next); // unlinked; the block is freed by the caller
        else report.add(`bucket ${b}, block ${u}: ${why}`);
        u = next;
        continue;
      }
      keys.add(key);
      pool.state[u - e.firstUnit] |= LIVE;
      n++;
      nsCounts[u32[w + 3]]++;
      link = w;
      u = next;
    }
    entries += n;
    if (u32[lw - 1] !== n) {
      if (fix) u32[lw - 1] = n;
      else report.add(`bucket ${b}: count ${u32[lw - 1]}, found ${n}`);
    }
  }
  return { entries, nsCounts };
}

// The counters and the namespace records against what the chains hold.
function checkCounts(e, found, report) {
  const u32 = e.u32;
  if (u32[ENTRY_COUNT] !== found.entries) {
    if (report) report.add(`header: entryCount ${u32[ENTRY_COUNT]}, found ${found.entries}`);
    else Atomics.store(u32, ENTRY_COUNT, found.entries);
  }
  let live = 0;
  for (let i = 1; i < C.NAMESPACE_SLOTS; i++) {
    if (!nsLive(e, i)) continue;
    live++;
    if (report && badNameLength(u32[NS_BASE + i * 16 + 2])) {
      report.add(`namespace ${i}: name length ${u32[NS_BASE + i * 16 + 2]}`);
    }
    const have = u32[NS_BASE + i * 16 + 1];
    if (have === found.nsCounts[i]) continue;
    if (report) report.add(`namespace ${i}: count ${have}, found ${found.nsCounts[i]}`);
    else Atomics.store(u32, NS_BASE + i * 16 + 1, found.nsCounts[i]);
  }
  if (u32[NS_LIVE] !== live) {
    if (report) report.add(`namespaces: liveCount ${u32[NS_LIVE]}, found ${live}`);
    else Atomics.store(u32, NS_LIVE, live);
  }
}

// A repair pass. `force` false is for a caller that met a lock whose holder is gone: if another
// pass completed while this one waited for the repair lock, that pass took the lock over already
// and this one is skipped (N threads meeting one dead lock run one pass, not N in a row).
function repair(e, force = true) {
  const u32 = e.u32;
  const gc0 = Atomics.load(u32, GC_COUNTER);
  e.locks.acquireOrTakeOver(REPAIR_LOCK);
  if (!force && Atomics.load(u32, GC_COUNTER) !== gc0) {
    e.locks.release(REPAIR_LOCK);
    return;
  }
  lockRest(e);
  try {
    const pool = walkPool(e, null);
    if (pool.moved) Atomics.store(u32, FREE_HEAD, pool.top);
    // A live namespace record whose nameLength is impossible names no namespace anybody can
    // find: it is freed, and its entries are unlinked as entries of a namespace that is not live.
    for (let i = 1; i < C.NAMESPACE_SLOTS; i++) {
      if (nsLive(e, i) && badNameLength(u32[NS_BASE + i * 16 + 2])) {
        Atomics.store(u32, NS_BASE + i * 16, C.NS_STATE_FREE);
        Atomics.store(u32, NS_BASE + i * 16 + 1, 0);
      }
    }
    const found = walkChains(e, pool, null);
    checkCounts(e, found, null);
    for (let c = 0; c < SIZE_CLASSES.length; c++) u32[HEADS + c] = 0;
    for (let i = pool.starts.length - 1; i >= 0; i--) {
      e.locks.beat();
      const u = pool.starts[i];
      if (pool.state[u - e.firstUnit] & LIVE) continue;
      const cls = (u32[u * 16 + 6] >>> C.FLAG_CLASS_SHIFT) & CLASS_MASK;
      Atomics.store(u32, u * 16 + 6, (C.FLAG_FREE | (cls << C.FLAG_CLASS_SHIFT)) >>> 0);
      Atomics.store(u32, u * 16, u32[HEADS + cls]);
      u32[HEADS + cls] = u;
    }
    u32[CLASS_COUNT] = C.SIZE_CLASS_COUNT;
    e.locks.reclaimDeadSlots();
    Atomics.add(u32, GC_COUNTER, 1);
    Atomics.add(u32, REPAIRS, 1);
  } finally {
    unlockAll(e);
  }
}

// verify(): the checks and the messages of native's Store::VerifyLocked, in the same order
// (docs/api.md lists them), so that both engines report a damaged store identically.
function verify(e) {
  lockAllForVerify(e);
  const report = problems();
  let result;
  try {
    const u32 = e.u32;
    const { status } = readGeometry(e.buf);
    if (status !== STATUS.OK) report.add(`header: ${STATUS_CODE[status]}`);
    const pool = walkPool(e, report);
    const found = walkChains(e, pool, report);
    for (let c = 0; c < SIZE_CLASSES.length; c++) {
      for (let u = u32[HEADS + c]; u !== 0; u = u32[u * 16]) {
        e.locks.beat();
        const stop = stopAt(e, pool, u, ON_FREE, 'reached twice (a cycle, or on another list)');
        if (stop) {
          report.add(`free list ${c}, block ${u}: ${stop}`);
          break;
        }
        pool.state[u - e.firstUnit] |= ON_FREE;
        const flags = u32[u * 16 + 6];
        if (!(flags & C.FLAG_FREE)) report.add(`free list ${c}, block ${u}: FREE not set`);
        if (((flags >>> C.FLAG_CLASS_SHIFT) & CLASS_MASK) !== c) {
          report.add(`free list ${c}, block ${u}: size class differs from the list's`);
        }
        if (pool.state[u - e.firstUnit] & LIVE) report.add(`free list ${c}, block ${u}: both live and free`);
      }
    }
    let liveUnits = 0;
    let freeUnits = 0;
    let leakedUnits = 0;
    let firstLeak = 0;
    for (const u of pool.starts) {
      e.locks.beat();
      const size = SIZE_CLASSES[(u32[u * 16 + 6] >>> C.FLAG_CLASS_SHIFT) & CLASS_MASK];
      const st = pool.state[u - e.firstUnit];
      if (st & LIVE) liveUnits += size;
      else if (st & ON_FREE) freeUnits += size;
      else {
        if (leakedUnits === 0) firstLeak = u;
        leakedUnits += size;
      }
    }
    if (leakedUnits) {
      report.add(`pool: ${leakedUnits} units neither live nor free (leaked), the first at block ${firstLeak}`);
    }
    checkCounts(e, found, report);
    result = { ok: report.ok, errors: report.list, entries: found.entries, liveUnits, freeUnits,
      leakedUnits };
  } finally {
    unlockAll(e);
  }
  return result;
}

function flushCounters(e) {
  if (!e.reads && !e.writes) return;
  const c64 = new BigUint64Array(e.buf, H.WRITE_COUNTER, 2);
  if (e.writes) Atomics.add(c64, 0, BigInt(e.writes));
  if (e.reads) Atomics.add(c64, 1, BigInt(e.reads));
  e.reads = 0;
  e.writes = 0;
}

function stats(e) {
  flushCounters(e);
  const u32 = e.u32;
  while (e.locks.acquire(ALLOC_LOCK) === NEED_REPAIR) repair(e, false);
  let freeListUnits = 0;
  for (let c = 0; c < SIZE_CLASSES.length; c++) {
    let u = u32[HEADS + c];
    for (let steps = 0; u !== 0 && u < e.totalUnits && steps < e.totalUnits; steps++) {
      freeListUnits += SIZE_CLASSES[c];
      u = u32[u * 16];
    }
  }
  const top = u32[FREE_HEAD];
  e.locks.release(ALLOC_LOCK);
  const c64 = new BigUint64Array(e.buf, H.WRITE_COUNTER, 2);
  const bytesFreeLists = freeListUnits * C.UNIT;
  const bytesTail = (e.totalUnits - top) * C.UNIT;
  const bytesFree = bytesFreeLists + bytesTail;
  return {
    entries: Atomics.load(u32, ENTRY_COUNT),
    maxEntries: e.maxEntries,
    buckets: e.bucketCount,
    namespaces: Atomics.load(u32, NS_LIVE),
    bytesTotal: e.totalSize,
    bytesLive: (top - e.firstUnit) * C.UNIT - bytesFreeLists,
    bytesFree,
    bytesFreeLists,
    bytesTail,
    fragmentation: bytesFree ? bytesFreeLists / bytesFree : 0,
    repairs: Atomics.load(u32, GC_COUNTER),
    reads: Number(Atomics.load(c64, 1)),
    writes: Number(Atomics.load(c64, 0)),
  };
}

// lockAll/unlockAll are exported for tests that simulate a long pass.
module.exports = { repair, verify, stats, flushCounters, lockAll, unlockAll };
