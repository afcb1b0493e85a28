'use strict';
// The stop-the-world passes of the pure-JS engine (docs/format.md §9): repair, verify, and the
// statistics walk. They hold every lock, so they see the store exactly as no writer is changing
// it; readers keep running and simply retry around them.
const { C, S, SIZE_CLASSES } = require('../layout');
const { xxh32 } = require('../xxhash');
const { NEED_REPAIR, LockError } = require('./locks');
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
const START = 1;
const LIVE = 2;
const FREE = 3;

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

// Walks the pool by block size. Returns the block starts, where the tiling broke (or -1), and
// whether freeHead itself was outside [firstUnit, totalUnits] (it is then clamped, as native does:
// walking to a freeHead beyond the store would read past it, and one below the pool would let the
// allocator place blocks over the buckets).
function walkPool(e) {
  const u32 = e.u32;
  const raw = u32[FREE_HEAD];
  const badHead = raw < e.firstUnit || raw > e.totalUnits;
  const top = Math.min(Math.max(raw, e.firstUnit), e.totalUnits);
  const state = new Uint8Array(e.totalUnits - e.firstUnit);
  const starts = [];
  let cut = -1;
  for (let u = e.firstUnit; u < top;) {
    e.locks.beat();
    const cls = (u32[u * 16 + 6] >>> C.FLAG_CLASS_SHIFT) & CLASS_MASK;
    if (cls >= SIZE_CLASSES.length || u + SIZE_CLASSES[cls] > top) {
      cut = u;
      break;
    }
    state[u - e.firstUnit] = START;
    starts.push(u);
    u += SIZE_CLASSES[cls];
  }
  return { top: cut >= 0 ? cut : top, cut, badHead, state, starts };
}

function nsLive(e, id) {
  return id > 0 && id < C.NAMESPACE_SLOTS && e.u32[NS_BASE + id * 16] === C.NS_STATE_LIVE;
}

// Why the entry at unit `u` in bucket `b` is not valid, or null.
function entryProblem(e, pool, u, b, seenKeys) {
  const { u8, u16, u32 } = e;
  if (u < e.firstUnit || u >= pool.top) return 'unit out of range';
  const st = pool.state[u - e.firstUnit];
  if (st === 0) return 'not a block start';
  const w = u * 16;
  const flags = u32[w + 6];
  if (flags & C.FLAG_FREE) return 'marked free';
  const h = u32[w + 1];
  if ((h & e.mask) !== b) return 'in the wrong bucket';
  const ns = u32[w + 3];
  if (!nsLive(e, ns)) return `unknown namespace ${ns}`;
  const kl = u16[w * 2 + 4];
  const vl = u16[w * 2 + 5];
  const cls = (flags >>> C.FLAG_CLASS_SHIFT) & CLASS_MASK;
  if (32 + kl + vl > SIZE_CLASSES[cls] * 64) return 'does not fit its block';
  const off = w * 4 + 32;
  if (kl > C.MAX_KEY_BYTES) return 'key too long';
  if (xxh32(u8, off, kl, ns) !== h) return 'key hash mismatch';
  if (xxh32(u8, off, kl + vl, (h ^ (flags & C.FLAG_ENCODING_MASK)) >>> 0) !== u32[w + 7]) {
    return 'checksum mismatch';
  }
  const id = `${ns}:${Buffer.from(u8.buffer, off, kl).toString('latin1')}`;
  if (seenKeys.has(id)) return 'duplicate key';
  seenKeys.add(id);
  return null;
}

// Walks every chain. With `fix`, unlinks bad entries and rewrites the counts.
function walkChains(e, pool, fix, errors) {
  const u32 = e.u32;
  const nsCounts = new Uint32Array(C.NAMESPACE_SLOTS);
  const visited = new Uint8Array(e.totalUnits - e.firstUnit);
  const seen = new Set();
  let entries = 0;
  for (let b = 0; b < e.bucketCount; b++) {
    const lw = BUCKET_BASE + b * 8 + 2;
    let link = lw - 2;
    let u = u32[link];
    let n = 0;
    seen.clear();
    e.locks.beat();
    while (u !== 0) {
      e.locks.beat();
      // A unit met twice (a cycle, or two chains sharing a block) ends the chain there, valid
      // or not: unlinking and continuing could go round forever.
      const inPool = u >= e.firstUnit && u < pool.top;
      if (inPool && visited[u - e.firstUnit]) {
        errors.push(`bucket ${b}: entry at unit ${u}: linked twice (cycle or shared block)`);
        if (fix) Atomics.store(u32, link, 0);
        break;
      }
      if (inPool) visited[u - e.firstUnit] = 1;
      const why = entryProblem(e, pool, u, b, seen);
      if (why) {
        errors.push(`bucket ${b}: entry at unit ${u}: ${why}`);
        if (!fix) break;
        const inRange = u >= e.firstUnit && u < pool.top && pool.state[u - e.firstUnit] === START;
        const next = inRange ? u32[u * 16] : 0;
        Atomics.store(u32, link, next);
        u = next;
        continue;
      }
      pool.state[u - e.firstUnit] = LIVE;
      n++;
      nsCounts[u32[u * 16 + 3]]++;
      link = u * 16;
      u = u32[link];
    }
    entries += n;
    if (u32[lw - 1] !== n) {
      if (fix) u32[lw - 1] = n;
      else errors.push(`bucket ${b}: count ${u32[lw - 1]}, found ${n}`);
    }
  }
  return { entries, nsCounts };
}

function checkCounts(e, found, fix, errors) {
  const u32 = e.u32;
  let live = 0;
  for (let i = 1; i < C.NAMESPACE_SLOTS; i++) {
    if (!nsLive(e, i)) continue;
    live++;
    const have = u32[NS_BASE + i * 16 + 1];
    if (have === found.nsCounts[i]) continue;
    if (fix) Atomics.store(u32, NS_BASE + i * 16 + 1, found.nsCounts[i]);
    else errors.push(`namespace ${i}: count ${have}, found ${found.nsCounts[i]}`);
  }
  if (u32[ENTRY_COUNT] !== found.entries) {
    if (fix) Atomics.store(u32, ENTRY_COUNT, found.entries);
    else errors.push(`header: entryCount ${u32[ENTRY_COUNT]}, found ${found.entries}`);
  }
  if (u32[NS_LIVE] !== live) {
    if (fix) Atomics.store(u32, NS_LIVE, live);
    else errors.push(`namespaces: liveCount ${u32[NS_LIVE]}, found ${live}`);
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
    const pool = walkPool(e);
    if (pool.cut >= 0 || pool.badHead) Atomics.store(u32, FREE_HEAD, pool.top);
    const found = walkChains(e, pool, true, []);
    checkCounts(e, found, true, []);
    for (let c = 0; c < SIZE_CLASSES.length; c++) u32[HEADS + c] = 0;
    for (let i = pool.starts.length - 1; i >= 0; i--) {
      e.locks.beat();
      const u = pool.starts[i];
      if (pool.state[u - e.firstUnit] === LIVE) continue;
      const cls = (u32[u * 16 + 6] >>> C.FLAG_CLASS_SHIFT) & CLASS_MASK;
      Atomics.store(u32, u * 16 + 6, (C.FLAG_FREE | (cls << C.FLAG_CLASS_SHIFT)) >>> 0);
      Atomics.store(u32, u * 16, u32[HEADS + cls]);
      u32[HEADS + cls] = u;
    }
    e.locks.reclaimDeadSlots();
    Atomics.add(u32, GC_COUNTER, 1);
    Atomics.add(u32, REPAIRS, 1);
  } finally {
    unlockAll(e);
  }
}

function verify(e) {
  lockAllForVerify(e);
  const errors = [];
  let result;
  try {
    const u32 = e.u32;
    const pool = walkPool(e);
    if (pool.badHead) errors.push(`header: freeHead ${u32[FREE_HEAD]} outside [${e.firstUnit}, ${e.totalUnits}]`);
    if (pool.cut >= 0) errors.push(`pool: block at unit ${pool.cut} breaks the tiling`);
    const found = walkChains(e, pool, false, errors);
    checkCounts(e, found, false, errors);
    let freeUnits = 0;
    for (let c = 0; c < SIZE_CLASSES.length; c++) {
      let u = u32[HEADS + c];
      while (u !== 0) {
        e.locks.beat();
        const st = u >= e.firstUnit && u < pool.top ? pool.state[u - e.firstUnit] : 0;
        const flags = st ? u32[u * 16 + 6] : 0;
        let why = null;
        if (st === 0) why = 'not a block start';
        else if (st === LIVE) why = 'is also a live entry';
        else if (st === FREE) why = 'listed twice (cycle)';
        else if (!(flags & C.FLAG_FREE)) why = 'not marked free';
        else if (((flags >>> C.FLAG_CLASS_SHIFT) & CLASS_MASK) !== c) why = 'wrong class';
        if (why) {
          errors.push(`free list ${c}: unit ${u}: ${why}`);
          break;
        }
        pool.state[u - e.firstUnit] = FREE;
        freeUnits += SIZE_CLASSES[c];
        u = u32[u * 16];
      }
    }
    let liveUnits = 0;
    let leakedUnits = 0;
    for (const u of pool.starts) {
      const size = SIZE_CLASSES[(u32[u * 16 + 6] >>> C.FLAG_CLASS_SHIFT) & CLASS_MASK];
      const st = pool.state[u - e.firstUnit];
      if (st === LIVE) liveUnits += size;
      else if (st === START) leakedUnits += size;
    }
    if (leakedUnits) errors.push(`pool: ${leakedUnits} units neither live nor free (leaked)`);
    result = { ok: errors.length === 0, errors, entries: found.entries, liveUnits, freeUnits,
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
