'use strict';
// The kinds of test/60-sync/damage-fuzz.test.js (run by sync-fuzz-worker.js): for each, the bytes
// of its region and make(where, pick), which creates the object at `where` with two handles and
// returns { calls, close, check }: the calls drawn at random (timeouts of 0 or 1 ms), the close
// of every handle, and check(where), which opens handles afresh once the damaged ones are closed
// and returns how many checks of what the kind promises failed. Fields are addressed through the
// layout (C, W), never by literal offsets.
const { Mutex, RwLock, Condition, Semaphore, Barrier, WaitGroup, layout } = require('../../../index');
const { addon } = require('../../../lib/base/native');

const { C, W } = layout;
const WORD = Uint32Array.BYTES_PER_ELEMENT;
// Word indices of a region's record fields and per-slot tables.
const field = (f) => C.SYNC_STATE_OFFSET / WORD + f;
const slotWord = (t, o) => (C.SYNC_SLOT_TABLE_OFFSET + t * C.SYNC_SLOT_TABLE_BYTES) / WORD + o;
const wordsOf = ({ buffer, byteOffset }, bytes) => new Uint32Array(buffer, byteOffset, bytes / WORD);

// A blocking call's timeout: 0 (one look) most often, sometimes 1 ms (one short sleep).
const timeout = (pick) => (pick(4) === 0 ? 1 : 0);
const either = (pick, handles) => handles[pick(handles.length)];

// Closes every handle, the later ones even if an earlier close throws (rethrown after).
function closeAll(handles) {
  let failure = null;
  for (const h of handles) {
    try {
      h.close();
    } catch (e) {
      failure = failure || e;
    }
  }
  if (failure) throw failure;
}

// Counts the checks in `list` that are false.
function failed(list) {
  return list.filter((ok) => !ok).length;
}

// A third handle opened after the damage, used once and closed.
function third(Class, where, use) {
  return () => {
    const h = Class.open(where);
    try {
      use(h);
    } finally {
      h.close();
    }
  };
}

function mutex(where, pick) {
  const a = Mutex.create(where);
  const b = Mutex.open(where);
  const handles = [a, b];
  const calls = [
    () => either(pick, handles).tryLock(),
    () => either(pick, handles).lock(timeout(pick)),
    () => either(pick, handles).unlock(),
    () => either(pick, handles).recoveries,
    third(Mutex, where, (h) => h.tryLock()),
  ];
  // The addon's implementation on the same bytes, where it is built.
  if (addon) {
    const n = new addon.NativeMutex(where.buffer, where.byteOffset, process.pid, 0);
    handles.push(n);
    calls.push(() => n.tryLock(), () => n.lock(timeout(pick)), () => n.unlock(), () => n.recoveries(),
      third({ open: (w) => new addon.NativeMutex(w.buffer, w.byteOffset, process.pid, 0) }, where,
        (h) => h.tryLock()));
  }
  return { calls, close: () => closeAll(handles), check: checkMutex };
}

// Every handle that saw the damage is closed (its slot released): a fresh handle takes the
// mutex, and while it holds it no other handle, JS or native, does.
function checkMutex(where) {
  const a = Mutex.open(where);
  const b = Mutex.open(where);
  const n = addon ? new addon.NativeMutex(where.buffer, where.byteOffset, process.pid, 0) : null;
  try {
    const took = a.tryLock() !== false;
    const list = [took, b.tryLock() === false, !n || n.tryLock() === 0];
    if (took) a.unlock();
    list.push(b.tryLock() !== false);
    return failed(list);
  } finally {
    closeAll(n ? [a, b, n] : [a, b]);
  }
}

function rwlock(where, pick) {
  const a = RwLock.create(where);
  const b = RwLock.open(where);
  const handles = [a, b];
  const calls = [
    () => either(pick, handles).tryReadLock(),
    () => either(pick, handles).readLock(timeout(pick)),
    () => either(pick, handles).readUnlock(),
    () => either(pick, handles).tryWriteLock(),
    () => either(pick, handles).writeLock(timeout(pick)),
    () => either(pick, handles).writeUnlock(),
    () => either(pick, handles).reading + either(pick, handles).recoveries,
    third(RwLock, where, (h) => h.tryReadLock()),
    third(RwLock, where, (h) => h.tryWriteLock()),
  ];
  return { calls, close: () => closeAll(handles), check: checkRwLock };
}

// A fresh handle takes the write lock, which excludes readers and writers; released, two
// handles take read locks, which exclude a writer.
function checkRwLock(where) {
  const a = RwLock.open(where);
  const b = RwLock.open(where);
  try {
    const list = [a.reading === 0, b.reading === 0];
    const wrote = a.tryWriteLock() !== false;
    list.push(wrote, b.tryReadLock() === false, b.tryWriteLock() === false);
    if (wrote) a.writeUnlock();
    const read = [a.tryReadLock() !== false, b.tryReadLock() !== false];
    list.push(...read, a.tryWriteLock() === false);
    return failed(list);
  } finally {
    closeAll([a, b]);
  }
}

function semaphore(where, pick) {
  const a = Semaphore.create({ ...where, permits: pick(4) });
  const b = Semaphore.open(where);
  const handles = [a, b];
  const n = () => 1 + pick(3);
  const calls = [
    () => either(pick, handles).tryAcquire(n()),
    () => either(pick, handles).acquire(n(), timeout(pick)),
    () => either(pick, handles).release(n()),
    () => either(pick, handles).permits + either(pick, handles).held + either(pick, handles).recoveries,
    third(Semaphore, where, (h) => h.tryAcquire()),
  ];
  return { calls, close: () => closeAll(handles), check: checkSemaphore };
}

// Once a look has checked (a tryAcquire that finds too few permits gives back those of gone
// holders), the free permits and the total are counts of at most 2^31 - 1, and free plus held
// is the total (format.md §13.3); a fresh handle holds nothing and takes every free permit.
function checkSemaphore(where) {
  const a = Semaphore.open(where);
  try {
    const u32 = wordsOf(where, Semaphore.BYTES);
    a.tryAcquire(C.SYNC_MAX_COUNT);
    const permits = a.permits;
    const total = Atomics.load(u32, field(W.SEMAPHORE_STATE.TOTAL));
    let held = 0;
    for (let o = 1; o < C.SYNC_OWNER_SLOTS; o++) held += Atomics.load(u32, slotWord(0, o));
    const list = [a.held === 0, permits <= C.SYNC_MAX_COUNT, total <= C.SYNC_MAX_COUNT, permits + held === total];
    if (permits > 0 && permits <= C.SYNC_MAX_COUNT) list.push(a.tryAcquire(permits) !== false && a.held === permits);
    return failed(list);
  } finally {
    a.close();
  }
}

function condition(where, pick) {
  const a = Condition.create(where);
  const b = Condition.open(where);
  const handles = [a, b];
  // The mutex the waits use lies outside the damaged region.
  const m = Mutex.create({ buffer: new SharedArrayBuffer(Mutex.BYTES) });
  const wait = () => {
    m.lock(0);
    try {
      either(pick, handles).wait(m, timeout(pick));
    } finally {
      m.unlock();
    }
  };
  const calls = [
    wait,
    () => either(pick, handles).notifyOne(),
    () => either(pick, handles).notifyAll(),
    () => either(pick, handles).waiting,
    third(Condition, where, (h) => h.notifyOne()),
  ];
  return { calls, close: () => closeAll([...handles, m]), check: checkCondition };
}

// A condition holds nothing: a fresh handle notifies, and a wait with a timeout of 0 ends.
function checkCondition(where) {
  const a = Condition.open(where);
  const m = Mutex.create({ buffer: new SharedArrayBuffer(Mutex.BYTES) });
  try {
    a.notifyAll();
    m.lock(0);
    const r = a.wait(m, 0);
    m.unlock();
    return failed([typeof r.notified === 'boolean', r.recovered === false]);
  } finally {
    closeAll([a, m]);
  }
}

function barrier(where, pick) {
  const a = Barrier.create({ ...where, parties: 1 + pick(3) });
  const b = Barrier.open(where);
  const handles = [a, b];
  const calls = [
    () => either(pick, handles).wait(timeout(pick)),
    () => either(pick, handles).reset(pick(2) === 0 ? undefined : 1 + pick(3)),
    () => {
      const h = either(pick, handles);
      return h.parties + h.arrived + h.generation + h.breaks + Number(h.broken);
    },
    third(Barrier, where, (h) => h.wait(0)),
  ];
  return { calls, close: () => closeAll(handles), check: checkBarrier };
}

// reset() mends any state: a barrier of one party then lets its party through as the leader.
function checkBarrier(where) {
  const a = Barrier.open(where);
  try {
    a.reset(1);
    const list = [!a.broken, a.arrived === 0, a.parties === 1];
    list.push(a.wait(0).leader === true, a.wait(0).leader === true, !a.broken);
    return failed(list);
  } finally {
    a.close();
  }
}

function waitgroup(where, pick) {
  const a = WaitGroup.create(where);
  const b = WaitGroup.open(where);
  const handles = [a, b];
  const calls = [
    () => either(pick, handles).add(pick(5) - 2),
    () => either(pick, handles).done(),
    () => either(pick, handles).wait(timeout(pick)),
    () => either(pick, handles).count,
    third(WaitGroup, where, (h) => h.add(0)),
  ];
  return { calls, close: () => closeAll(handles), check: checkWaitGroup };
}

// The count is a count of at most 2^31 - 1; taken down to 0, a wait ends at once.
function checkWaitGroup(where) {
  const a = WaitGroup.open(where);
  try {
    const count = a.count;
    const list = [count >= 0 && count <= C.SYNC_MAX_COUNT];
    if (list[0]) {
      list.push(a.add(-count) === 0);
      a.wait(0);
    }
    return failed(list);
  } finally {
    a.close();
  }
}

const KINDS = {
  mutex: { bytes: Mutex.BYTES, make: mutex },
  rwlock: { bytes: RwLock.BYTES, make: rwlock },
  condition: { bytes: Condition.BYTES, make: condition },
  semaphore: { bytes: Semaphore.BYTES, make: semaphore },
  barrier: { bytes: Barrier.BYTES, make: barrier },
  waitgroup: { bytes: WaitGroup.BYTES, make: waitgroup },
};

module.exports = { KINDS };
