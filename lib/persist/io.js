'use strict';
// The file operations of the log (wal.js), in one object, so that a test can record them: the
// power-loss test (test/55-persist/power-loss.test.js) replaces these members with recording
// wrappers (and sets `mapped` false, so that every record is written with a recordable pwrite
// instead of a store into a mapping of the file), then builds from the record the on-disk states
// a power loss could leave (what was synced, plus any subset of the later writes, some torn).
// Production code never changes them (nor maxFileBytes, a limit rather than an operation, kept
// here for the same reason).
const fs = require('fs');
const native = require('../base/native');
const { C } = require('../layout/layout');

const addonFn = (name) => (native.addon && typeof native.addon[name] === 'function' ? native.addon[name] : null);
const allocate = addonFn('allocateLogSpace');
const prefault = addonFn('prefaultLogSpace');

const io = {
  openSync: fs.openSync,
  closeSync: fs.closeSync,
  writeSync: fs.writeSync,
  fstatSync: fs.fstatSync,
  fdatasyncSync: fs.fdatasyncSync,
  fdatasync: fs.fdatasync,
  // Whether records go through a shared mapping of the log file where it can (wal.js).
  mapped: true,
  // allocate(fd, pos, len): allocates [pos, pos + len) of the file with fallocate (it grows to
  // cover them; they read as zeros) and returns 0, or returns the errno of the refusal; null
  // without the addon. wal.js grows the log with it in sync mode 'none'.
  allocate,
  // prefault(view, offset, length): makes the pages of view[offset, offset + length) of a shared
  // mapping of the log file present and writable (madvise MADV_POPULATE_WRITE) on libuv's thread
  // pool, changing no byte; returns a promise of 0 or the errno (EINVAL: the kernel cannot); null
  // without the addon. wal.js prefaults the allocated space of a 'none' log as it maps it.
  prefault,
  // The most bytes a log file holds (C.WAL_MAX_FILE_BYTES; wal.js refuses a record past it with
  // ERR_LOG_FULL). A test lowers it to reach the limit without writing gigabytes.
  maxFileBytes: C.WAL_MAX_FILE_BYTES,
};

module.exports = { io };
