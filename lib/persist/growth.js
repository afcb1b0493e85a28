'use strict';
// How a log file grows ahead of its records (docs/format.md §16, "Appending"), and the prefault
// of the new space's mapping in sync mode 'none'. Every record stored through the mapping lands
// in space grown here first (wal.js), so a store into the mapping cannot fault for lack of space.
const { C } = require('../layout/layout');
const { io } = require('./io');

const EINVAL = require('os').constants.errno.EINVAL;
let zeros = null;

/**
 * How the log of a handle with sync mode `syncMode` grows: by `growth` bytes at a time, written
 * `zeroWrite` bytes per write, or allocated (`allocates`), and whether its new space is
 * prefaulted (`prefaults`, cleared once the kernel refuses it: prefaultFrom).
 */
function growthOf(syncMode) {
  // With a sync mode that syncs, 1 MiB one page per write, so that the page cache holds the new
  // part in page-sized folios: a record stored into the mapping then dirties one page, and a
  // sync writes back the pages records went to, not a whole large folio around them.
  // With 'none' only a checkpoint syncs the log, and it writes back the whole file anyway:
  // larger growths (fewer mappings anew) in 1 MiB writes (WAL_PREALLOC_NONE_BYTES).
  // With 'none' the growth is allocated with fallocate where the file system can (io.allocate):
  // its blocks are reserved as the zeros' would be, but nothing is copied into the page cache,
  // whose pages are then allocated as records are first stored into them. Copying the zeros
  // took most of a 'none' set's system time (bench/durable.js); a sync of allocated but unwritten
  // space has to record its conversion to written space, which is why the modes that sync per
  // write keep writing zeros.
  const none = syncMode === 'none';
  return {
    growth: none ? C.WAL_PREALLOC_NONE_BYTES : C.WAL_PREALLOC_BYTES,
    zeroWrite: none ? C.WAL_PREALLOC_BYTES : C.WAL_ZERO_WRITE_BYTES,
    allocates: none,
    prefaults: none,
  };
}

/**
 * Grows the log file `fd` to at least `need` bytes, rounded up to how.growth but not past `max`
 * (the most a log file holds, at least `need`; the caller holds the append lock): allocated with io.allocate where `how` says and the file system can, else
 * with written zeros. Returns the file's size after it. Best effort: a file that cannot grow
 * (disk full, a size limit) is left as it is, and the record's own write then reports the
 * failure.
 */
function growFile(fd, need, how, max) {
  let size = io.fstatSync(fd).size;
  if (size >= need) return size;
  const target = Math.min(Math.ceil(need / how.growth) * how.growth, max);
  // Refused (no fallocate on this file system, no space): the zeros below from the size it left
  // (a refused allocation may have grown the file part way), which report a lack of space as
  // before.
  if (how.allocates && io.allocate !== null) size = io.allocate(fd, size, target - size) === 0 ? target : io.fstatSync(fd).size;
  const step = how.zeroWrite;
  if (zeros === null || zeros.length < step) zeros = Buffer.alloc(step);
  try {
    while (size < target) {
      const n = io.writeSync(fd, zeros, 0, Math.min(step - (size % step), target - size), size);
      if (n <= 0) break;
      size += n;
    }
  } catch {
    size = io.fstatSync(fd).size;
  }
  return size;
}

/**
 * Prefaults `map` (a mapping of the log file just made) from byte `at` to its end, when
 * how.prefaults. The pages are made present and writable on the thread pool, beside the writer,
 * so that the sets storing records there take no page fault each (one per page otherwise, a few
 * microseconds apiece: the page-cache page and the file system's preparation of the allocated
 * space for writing). The work is the same, done once per growth off the set path; it runs
 * ahead of the writer (a page takes less time to prefault than a page of records to write), and
 * a page the writer reaches first simply faults as before. It changes no byte, so it needs no
 * lock. Only 'none' (growthOf): a prefaulted page is dirtied ahead of the records, which a mode
 * that syncs would then write back with every sync. A page prefaulted long before records reach
 * it may be written back as zeros meanwhile: the records' stores then fault it again, as
 * without the prefault. A refusal (a kernel before Linux 5.14) clears how.prefaults: the pages
 * then fault one at a time, as they do without the addon. Returns a promise of its end, or null
 * when nothing was started.
 */
function prefaultFrom(map, at, how) {
  if (io.prefault === null || !how.prefaults || at >= map.length) return null;
  return io.prefault(map, at, map.length - at).then((err) => {
    if (err === EINVAL) how.prefaults = false;
  });
}

module.exports = { growthOf, growFile, prefaultFrom };
