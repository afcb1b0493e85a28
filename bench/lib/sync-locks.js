'use strict';
// The locks of `npm run bench:sync` (bench/sync.js), each over one SharedArrayBuffer laid out as
// a sync region (docs/format.md §13) followed by a scratch area of cache lines for the peer's
// lock word and the hand-off protocol (bench/lib/sync-case.js):
//   line 0: the Atomics mutex's word   line 1: the release stamp (ns, BigInt64)
//   lines 2-3: asked[party]            lines 4-5: got[party]      line 6: stop
const { threadId } = require('worker_threads');
const { Mutex } = require('../..');
const { addon } = require('../../lib/base/native');

const LINE = 64;
const LINE_WORDS = LINE / Int32Array.BYTES_PER_ELEMENT;
const SCRATCH_LINES = 7;
const BYTES = Mutex.BYTES + SCRATCH_LINES * LINE;
const SCRATCH = Mutex.BYTES / Int32Array.BYTES_PER_ELEMENT; // word index of line 0

// Word indices of the scratch lines, in an Int32Array over the whole buffer.
const at = (line) => SCRATCH + line * LINE_WORDS;
const WORD = { atomics: at(0), asked: [at(2), at(3)], got: [at(4), at(5)], stop: at(6) };
// The stamp, as an index of a BigInt64Array over the whole buffer.
const STAMP = (Mutex.BYTES + LINE) / BigInt64Array.BYTES_PER_ELEMENT;

// The peer "plain Atomics spin/wait mutex" of one process: 0 free, 1 held, 2 held with sleepers
// (the classic three-state futex mutex with Atomics.wait/notify), spinning briefly before
// sleeping like ours.
class AtomicsMutex {
  constructor(buffer) {
    this.i32 = new Int32Array(buffer);
    this.w = WORD.atomics;
  }

  lock() {
    const { i32, w } = this;
    if (Atomics.compareExchange(i32, w, 0, 1) === 0) return;
    for (let i = 0; i < 100; i++) {
      if (Atomics.load(i32, w) === 0 && Atomics.compareExchange(i32, w, 0, 1) === 0) return;
    }
    while (Atomics.exchange(i32, w, 2) !== 0) Atomics.wait(i32, w, 2);
  }

  unlock() {
    const { i32, w } = this;
    if (Atomics.sub(i32, w, 1) !== 1) {
      Atomics.store(i32, w, 0);
      Atomics.notify(i32, w, 1);
    }
  }
}

// kind -> a lock object with lock() and unlock() over `buffer`, one per thread.
function openLock(kind, buffer) {
  if (kind === 'js') return Mutex.open({ buffer });
  if (kind === 'atomics') return new AtomicsMutex(buffer);
  if (kind === 'native') {
    if (!addon) throw new Error('the native addon is not built');
    return new addon.NativeMutex(buffer, 0, process.pid, threadId);
  }
  throw new Error(`unknown lock ${kind}`);
}

module.exports = { BYTES, WORD, STAMP, openLock };
