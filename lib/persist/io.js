'use strict';
// The file operations of the log (wal.js), in one object, so that a test can record them: the
// power-loss test (test/55-persist/power-loss.test.js) replaces these members with recording
// wrappers (and sets `mapped` false, so that every record is written with a recordable pwrite
// instead of a store into a mapping of the file), then builds from the record the on-disk states
// a power loss could leave (what was synced, plus any subset of the later writes, some torn).
// Production code never changes them.
const fs = require('fs');
const native = require('../base/native');

const allocate = native.addon && typeof native.addon.allocateLogSpace === 'function' ? native.addon.allocateLogSpace : null;

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
};

module.exports = { io };
