'use strict';
// Appending to the write-ahead log and the group commit (docs/format.md §16). Records are
// appended under the control segment's append lock at the log's tail, which advances only once
// a record is completely written: every byte below the tail is a written record. A record is
// copied into a shared mapping of the log file when it falls inside the part of the file that
// was grown with written zeros or allocated with fallocate (its blocks are allocated, so a store
// through the mapping cannot fault for lack of space); anywhere else it is written with pwrite.
// Both go to the same page cache: a kill -9 loses neither, and fdatasync writes back both. A
// flush reads
// the tail, runs one fdatasync, and raises the shared durable position to what it read, which
// covers the records of every thread and process written before it; writers waiting for their
// record wake on the durable position's futex. Any process may flush (the flush lock only keeps
// two from syncing at once, and a flusher that is gone is taken over).
const fs = require('fs');
const path = require('path');
const { C } = require('../layout/layout');
const { sealRecord, setExpiry, encodeFileHeader, decodeFileHeader } = require('./record');
const { walFileName, syncDir, writeAll } = require('./files');
const { io } = require('./io');
const { growthOf, growFile, prefaultFrom } = require('./growth');
const { ShmError } = require('../base/errors');
const { Segment } = require('../segment/segment');
const { ioError, failedEarlier, advanceSynced } = require('./durable');
const { flushAsync, startQueued } = require('./flush-async');

const FILE_HEADER = C.WAL_FILE_HEADER_SIZE;
const RECORD_HEADER = C.WAL_RECORD_HEADER_SIZE;
const WORD = Int32Array.BYTES_PER_ELEMENT;

/** Creates a log file (exclusive) starting at `startLsn` and syncs it and its directory. */
function createLogFile(dir, startLsn, mode = 0o600) {
  const file = path.join(dir, walFileName(startLsn));
  const fd = io.openSync(file, 'wx', mode);
  try {
    writeAll(fd, encodeFileHeader(startLsn), 0, 'writing a log file header', io.writeSync);
    io.fdatasyncSync(fd);
  } finally {
    io.closeSync(fd);
  }
  syncDir(dir);
  return file;
}

class Wal {
  constructor(dir, control) {
    this.dir = dir;
    this.control = control;
    this.fd = -1;
    this.fileStart = -1;
    this.inflight = null; // { target, promise } of this handle's async flush
    this.queued = null; // { promise, resolve, reject } of the sync that starts after it
    this.closing = false;
    this.waiting = false; // the queued sync waits for another handle's sync (flush-async.js)
    this.onClosed = null; // called once the file is closed (close())
    // Waits for another handle's sync begun, and those given up (stalled): they sync themselves.
    this.joins = 0;
    this.stalls = 0;
    // Sleeps of a blocking wait for the durable position (waitDurable) that ran out: nothing moved
    // `tick` for a whole recheck (a holder of the flush lock that is gone, or that slow).
    this.sleptOut = 0;
    this.retired = [];
    this.map = null; // Uint8Array over a mapping of the whole file as it was when mapped
    this.map32 = null; // Int32Array over the same (records are word-aligned in it)
    this.mapSegment = null;
    this.prefaulting = null; // the promise of the prefault of the mapping, while it runs
    // The native set of this handle (createLogWriter), told of every mapping and unmapping.
    this.writer = null;
    // The native sealing of the thread's set record (createRecordSealer), told of them too.
    this.sealer = null;
    // How the file grows and whether its new space is prefaulted (growth.js).
    this.how = growthOf(control.syncMode);
    this.#reopen();
  }

  #unmap() {
    if (this.writer !== null) this.writer.map(null);
    if (this.sealer !== null) this.sealer.map(null);
    // A mapping still being prefaulted is closed once the prefault ends: closed now, its range
    // would become private zeros (segment.js) that the prefault then makes present, 8 MiB of
    // memory a handle closed soon after it grew its log would hold until some garbage collection.
    const seg = this.mapSegment;
    if (seg !== null && this.prefaulting !== null) this.prefaulting.then(() => seg.close());
    else if (seg !== null) seg.close();
    this.prefaulting = null;
    this.mapSegment = null;
    this.map = null;
    this.map32 = null;
  }

  // Maps the current file anew (it grew past the old mapping). A failure leaves no mapping (the
  // native writer and sealer then have none either), so that the next append maps again.
  #remap() {
    try {
      this.#mapNow();
    } catch (err) {
      this.#unmap();
      throw err;
    }
  }

  #mapNow() {
    this.#unmap();
    this.mapSegment = Segment.open({ path: path.join(this.dir, walFileName(this.fileStart)) });
    this.map = new Uint8Array(this.mapSegment.buffer);
    this.map32 = new Int32Array(this.mapSegment.buffer, 0, Math.floor(this.map.length / WORD));
    // Sync mode 'none': from the tail's place (held: the append lock) to the mapping's end.
    if (this.how.allocates) {
      const p = prefaultFrom(this.map, FILE_HEADER + (this.control.heldTail - this.fileStart), this.how);
      this.prefaulting = p;
      p?.then(() => {
        if (this.prefaulting === p) this.prefaulting = null;
      });
    }
    if (this.writer !== null) this.writer.map(this.map, this.fileStart);
    if (this.sealer !== null) this.sealer.map(this.map, this.fileStart);
  }

  /**
   * Gives the native sealing of the set record putSet is given (createRecordSealer over that
   * record's scratch, this log's control segment, this handle's owner slot and its engine's out
   * words) the mapping of the log file and its first LSN, now and whenever they change.
   */
  attachSealer(sealer) {
    this.sealer = sealer;
    if (this.map !== null) sealer.map(this.map, this.fileStart);
  }

  /** Gives the native set of this handle the mapping of the log file, now and whenever it changes. */
  attachWriter(writer) {
    this.writer = writer;
    if (this.map !== null) writer.map(this.map, this.fileStart);
  }

  // Opens the log file the control segment names (a checkpoint may have started a new one).
  #reopen() {
    const start = this.control.startLsn;
    if (start === this.fileStart && this.fd >= 0) return;
    const fd = io.openSync(path.join(this.dir, walFileName(start)), 'r+');
    // An fd that an async fdatasync still uses is closed after it (its number must not be
    // reused by another file meanwhile).
    if (this.fd >= 0) {
      if (this.inflight) this.retired.push(this.fd);
      else io.closeSync(this.fd);
    }
    this.#unmap();
    this.fd = fd;
    this.fileStart = start;
  }

  /**
   * Appends the encoded record `buf` (record.encodeRecordInto). Returns the LSN after it. Throws
   * ShmError ERR_PERSIST_IO when it could not be written (nothing of it counts as logged).
   */
  append(buf) {
    const c = this.control;
    c.lockAppend();
    try {
      const lsn = this.#place(buf.length);
      const need = FILE_HEADER + (lsn - this.fileStart) + buf.length;
      sealRecord(buf, lsn);
      const at = FILE_HEADER + (lsn - this.fileStart);
      if (io.mapped && need <= c.heldFileBytes) {
        if (this.map === null || this.map.length < need) this.#remap();
        this.map.set(buf, at);
      } else {
        let n;
        try {
          n = io.writeSync(this.fd, buf, 0, buf.length, at);
        } catch (err) {
          throw ioError(err, 'writing the log');
        }
        if (n !== buf.length) throw new ShmError('ERR_PERSIST_IO', `persist: writing the log: ${n} of ${buf.length} bytes written (file size limit or disk full)`);
      }
      c.heldTail = lsn + buf.length;
      return lsn + buf.length;
    } finally {
      c.unlockAppend();
    }
  }

  /**
   * Appends the encoded record `buf` with `apply()` run first, both under the append lock, when
   * the record's place in the log is allocated zero-filled space of the mapped file: a copy into
   * the mapping cannot fail, so a write needs no undo (format.md §16, "A mutation"). `apply()`
   * changes the store and returns the record's expiresAt (it may throw: nothing is logged).
   * Returns the LSN after the record, or 0 with nothing done when the place is not such space
   * (the caller then applies and appends the other way, able to put the old value back).
   */
  appendApplied(buf, apply) {
    const lsn = this.lockMapped(buf.length);
    if (lsn < 0) return 0;
    try {
      setExpiry(buf, apply());
      sealRecord(buf, lsn);
      this.map.set(buf, FILE_HEADER + (lsn - this.fileStart));
      this.control.heldTail = lsn + buf.length;
      return lsn + buf.length;
    } finally {
      this.control.unlockAppend();
    }
  }

  /**
   * Takes the append lock and returns the LSN of a record of `size` bytes when its place is
   * allocated zero-filled space of the mapped file (mapped now), the lock then held until
   * unlockAppend(); -1 with the lock released otherwise (and always without io.mapped).
   */
  lockMapped(size) {
    const c = this.control;
    if (!io.mapped) return -1;
    c.lockAppend();
    let lsn = -1;
    let placed = false;
    try {
      lsn = this.#place(size);
      const need = FILE_HEADER + (lsn - this.fileStart) + size;
      if (need > c.heldFileBytes) lsn = -1;
      else if (this.map === null || this.map.length < need) this.#remap();
      placed = true;
    } finally {
      // Released on a throw too (a refused record, a failed mapping): the caller holds the lock
      // only when an LSN is returned.
      if (!placed || lsn < 0) c.unlockAppend();
    }
    return lsn;
  }

  /**
   * Ends the append of the set record `rec` (set-record.js) at `lsn` (from lockMapped, the lock
   * still held): seals it with `expiresAt`, copies it into the mapping, moves the tail past it and
   * releases the append lock. Returns the LSN after it. The attached sealer, if any, is the one
   * over `rec`'s scratch: one native call for all of it (the same bytes) instead of the checksum,
   * the copy, the tail's store and the release in JavaScript. When it throws (the record does not
   * fit: a caller's bug), nothing is written and the lock is still held.
   */
  putSet(rec, lsn, expiresAt) {
    const at = FILE_HEADER + (lsn - this.fileStart);
    const end = lsn + rec.size;
    if (this.sealer !== null) {
      this.sealer.seal(lsn, expiresAt, at);
    } else {
      rec.seal(lsn, expiresAt, this.map32, at / WORD);
      this.control.heldTail = end;
      this.control.unlockAppend();
    }
    return end;
  }

  unlockAppend() {
    this.control.unlockAppend();
  }

  // Under the append lock: the LSN a record of `length` bytes gets, the file extended to hold its
  // end where it can be (a refused extension leaves it shorter: the caller checks). Throws when an
  // earlier sync failed, and ERR_LOG_FULL when the record would take the file past
  // io.maxFileBytes (nothing written; the caller has changed nothing yet, or puts it back). Every
  // record comes here, in JavaScript or after the native writer or sealer declined it (they store
  // only into the mapping, never past the file's size, which #extend keeps within the limit), so
  // no file passes the limit. Returns a number, not an object: every logged write comes here.
  #place(length) {
    const c = this.control;
    if (c.heldFailed) throw failedEarlier();
    if (c.heldStartLsn !== this.fileStart) this.#reopen();
    const lsn = c.heldTail;
    const need = FILE_HEADER + (lsn - this.fileStart) + length;
    if (need > io.maxFileBytes) throw this.#full(need);
    if (need > c.heldFileBytes) this.#extend(need);
    return lsn;
  }

  #full(need) {
    const file = path.join(this.dir, walFileName(this.fileStart));
    return new ShmError(
      'ERR_LOG_FULL',
      `persist: the log file ${file} is full: this write's record would end at byte ${need}, past the ${io.maxFileBytes} bytes a log file holds; nothing was written. ` +
        'Call store.checkpoint() to start a new log file, or create the store with a checkpointBytes (a checkpoint runs by itself after the task that passed it)',
    );
  }

  // The tail of the log file this handle has open, read so that a checkpoint switching files
  // in between cannot make it name records of the next file (a switch happens only once the
  // previous file is durable, see checkpoint.js).
  syncTarget_() {
    const c = this.control;
    for (;;) {
      const start = c.startLsn;
      if (start !== this.fileStart) this.#reopen();
      const target = c.tail;
      if (c.startLsn === start) return target;
    }
  }

  // Grows the log file to hold `need` bytes where it can (held: the append lock; growth.js).
  #extend(need) {
    this.control.fileBytes = growFile(this.fd, need, this.how, io.maxFileBytes);
  }

  // One group flush by this thread: everything below the tail read now is durable after it.
  #flushOnce() {
    const c = this.control;
    // After a failed sync no later one proves anything durable (advanceSynced): none is issued.
    if (c.failed) throw failedEarlier();
    const target = this.syncTarget_();
    c.claimSync(target);
    try {
      io.fdatasyncSync(this.fd);
    } catch (err) {
      // After a failed fdatasync the kernel may have dropped the dirty pages: nothing written
      // since the last good sync can be promised, so the store refuses further writes.
      c.fail();
      throw ioError(err, 'fdatasync of the log');
    }
    if (!advanceSynced(c, target)) throw failedEarlier();
  }

  /**
   * Starts a new log file at the tail (a checkpoint): the current file is synced first, so that
   * a file is always durable before records go to the next one. Returns the new file's first
   * LSN (the current one's when it holds no record yet).
   */
  switchFile() {
    const c = this.control;
    c.lockAppend();
    try {
      if (c.startLsn !== this.fileStart) this.#reopen();
      const tail = c.tail;
      if (tail === this.fileStart) return tail;
      return this.#switchTo(tail);
    } finally {
      c.unlockAppend();
    }
  }

  /**
   * Makes the current log file one of this format version (format.md §16, "Versions"): a file
   * of an older version is never appended to, so that a reader of that version never meets a
   * record type it does not know in a file it accepts. One that holds records is followed by a
   * new file at the tail (as a checkpoint switches); one that holds none gets the current header.
   */
  upgradeFile() {
    const c = this.control;
    c.lockAppend();
    try {
      if (c.startLsn !== this.fileStart) this.#reopen();
      const head = Buffer.alloc(FILE_HEADER);
      fs.readSync(this.fd, head, 0, FILE_HEADER, 0);
      const h = decodeFileHeader(head);
      if (h.error || h.version === C.WAL_FORMAT_VERSION) return;
      const tail = c.tail;
      if (tail !== this.fileStart) {
        this.#switchTo(tail);
        return;
      }
      try {
        writeAll(this.fd, encodeFileHeader(this.fileStart), 0, 'rewriting the log file header', io.writeSync);
        io.fdatasyncSync(this.fd);
      } catch (err) {
        throw err instanceof ShmError ? err : ioError(err, 'rewriting the log file header');
      }
    } finally {
      c.unlockAppend();
    }
  }

  // Starts the file wal-<tail>.log (held: the append lock; the current file holds records).
  #switchTo(tail) {
    const c = this.control;
    this.#endAtTail(tail);
    try {
      io.fdatasyncSync(this.fd);
    } catch (err) {
      c.fail();
      throw ioError(err, 'fdatasync of the log');
    }
    if (!advanceSynced(c, tail)) throw failedEarlier();
    // A file of this name is the leftover of a checkpoint that died before switching to it.
    fs.rmSync(path.join(this.dir, walFileName(tail)), { force: true });
    try {
      createLogFile(this.dir, tail);
    } catch (err) {
      throw ioError(err, 'creating a log file');
    }
    c.fileBytes = 0;
    c.startLsn = tail;
    this.#reopen();
    return tail;
  }

  // Makes the current file's valid records end at `tail` (held: the append lock) before a switch
  // starts the next file there: an appender that died after writing its record and before storing
  // the tail left a complete record at `tail`, which the next append would have overwritten, but
  // no append goes to this file after the switch. Left in place, it would make this file's valid
  // records end past the next file's first LSN, which recovery refuses as overlapping files. Its
  // header is zeroed (a record of length 0 is not valid), synced with the file by the caller;
  // zeros already there are not written again.
  #endAtTail(tail) {
    const at = FILE_HEADER + (tail - this.fileStart);
    const head = Buffer.alloc(RECORD_HEADER);
    try {
      const n = fs.readSync(this.fd, head, 0, RECORD_HEADER, at);
      if (head.subarray(0, n).every((b) => b === 0)) return;
      writeAll(this.fd, Buffer.alloc(n), at, 'zeroing the log after its tail', io.writeSync);
    } catch (err) {
      throw err instanceof ShmError ? err : ioError(err, 'zeroing the log after its tail');
    }
  }

  /** Blocks until every record below `lsn` is on stable storage (this thread may flush). */
  waitDurable(lsn) {
    const c = this.control;
    for (;;) {
      if (c.durable >= lsn) return;
      // `tick` before the flush lock is tried: a holder moves it after it releases the lock
      // (unlockFlush), so a writer that found the lock held and sleeps on this value is woken
      // when it is free, whatever the holder did with `durable` meanwhile.
      const seen = c.tick;
      if (c.tryFlushLock()) {
        try {
          if (c.durable < lsn) this.#flushOnce();
        } finally {
          c.unlockFlush();
        }
        continue;
      }
      if (c.durable >= lsn) return;
      // A failed sync (fail() moves the tick after the flag) ends the wait: nothing more can
      // become durable. Read after the flag, `durable` shows every raise made before it.
      if (c.failed) {
        if (c.durable >= lsn) return;
        throw failedEarlier();
      }
      c.waitTick(seen);
      if (c.tick === seen) this.sleptOut += 1;
    }
  }

  /** Flushes if the last sync is older than `ms` and nobody is flushing now (interval mode). */
  flushIfOlder(ms) {
    const c = this.control;
    if (Date.now() - c.lastSyncMs < ms || c.durable >= c.tail) return;
    if (!c.tryFlushLock()) return;
    try {
      this.#flushOnce();
    } finally {
      c.unlockFlush();
    }
  }

  /**
   * Resolves once every record below `lsn` (default: the tail now) is on stable storage,
   * without blocking the event loop (flush-async.js).
   */
  flushAsync(lsn, result) {
    return flushAsync(this, lsn, result);
  }

  // Closes the file, after the async flushes in flight, queued or waiting for another's sync
  // (their fdatasync uses it), then calls `done()` (the handle closes the control segment
  // there, so that those flushes still raise the shared durable position). A queued sync is
  // started now, or once the sync in flight ends; either way it takes its target from
  // syncTarget_() when it starts, like any other: a checkpoint may have switched files since
  // close(), and only a sync of the file that holds the records may raise `durable` past them.
  close(done) {
    this.closing = true;
    this.onClosed = done;
    if (this.queued !== null && this.inflight === null && !this.waiting) startQueued(this);
    if (!this.inflight && !this.queued) this.closeFd_();
  }

  // Unmaps and closes the file, then calls the close's `done` (flush-async.js calls it too).
  closeFd_() {
    this.#unmap();
    if (this.fd >= 0) io.closeSync(this.fd);
    this.fd = -1;
    const done = this.onClosed;
    this.onClosed = null;
    if (done) done();
  }
}

module.exports = { Wal, createLogFile };
