'use strict';
// Backups of a persisted store (docs/format.md §16, "Backups"): a directory holding copies of the
// newest snapshot and of the log after it, up to the durable position, plus a checksummed
// manifest. Snapshots never change once written and a log file never changes below its durable
// position, so a later backup into the same directory copies only what is new: a new snapshot,
// and the bytes each log file gained since the previous backup (their CRC32C continues from the
// one the manifest recorded). Restoring checks every file against the manifest and the formats
// before it creates anything, then rebuilds the store from the copies as a recovery does.
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');
const { ShmError } = require('../base/errors');
const v = require('../base/validate');
const native = require('../base/native');
const { readProcessStat, ownStartTime, bootId, sleepMs } = require('../base/process');
const { crc32c } = require('./crc32c');
const { walFileName, snapFileName, listFiles, syncDir, openRegular, makeDirs, writeAll } = require('./files');
const { readSnapshot } = require('./snapshot');
const { scanLog } = require('./record');
const { C } = require('../layout/layout');
const { POLICY_NAMES } = require('../store/cache-options');
const { DEFAULT_MODE } = require('../segment/segment');

const MANIFEST = 'manifest.json';
const FORMAT = 'shmstore-backup-1';
const CHUNK = 4 << 20;
// The name a store's creator and a restore take exclusively in a persistence directory (its
// control file). A backup takes it too, in its own directory, for as long as it writes there,
// holding a marker (docs/format.md §16, "Backups"): a store created there meanwhile loses that
// exclusive create and is refused, and a store created there before is found by it.
const CONTROL = 'control';
const MARKER = /^shmstore-backup-running (\d+) (\d+) (\d+)\n$/;
// The files a backup makes next to `control` while it takes the name (docs/format.md §16,
// "Backups"): its own marker file before the link, `control.backup-<pid>-<ms>-<random>`; and,
// left by an earlier version, a stale marker renamed away before its removal,
// `control.stale-<pid>-<ms>-<random>`. <pid> is the process of the backup that made the file.
const MARKER_FILE = /^control\.(backup|stale)-(\d+)-/;
// How much longer than the store handle's lockTimeoutMs a takeover waits for the directory's flock
// (removeIfStill), as for any lock a live other process holds (docs/api.md, lockTimeoutMs).
const FOREIGN_LOCK_FACTOR = 10;
// The longest sleep between two tries of that flock, in ms.
const LOCK_POLL_MS = 10;
const { EWOULDBLOCK } = os.constants.errno;

// Whether the process a marker names (pid, start time, boot id as MARKER's groups) is gone:
// another boot, ended, or its pid taken by a later process (an unknown value, 0, is never
// compared).
function markerGone(m) {
  const pid = Number(m[1]);
  const start = BigInt(m[2]);
  const boot = BigInt(m[3]);
  if (boot !== 0n && bootId() !== 0n && boot !== bootId()) return true;
  const now = readProcessStat(pid);
  return now.gone || (start !== 0n && now.startTime !== 0n && now.startTime !== start);
}

// A name of a file of this process next to `file`, for `kind` (MARKER_FILE): unique in the
// process too (two threads backing up into one directory in the same millisecond).
function ownName(file, kind) {
  return `${file}.${kind}-${process.pid}-${Date.now()}-${crypto.randomBytes(4).toString('hex')}`;
}

// Whether the marker file `name` in `dir` (MARKER_FILE) was left by a process that is gone: a
// backup killed between writing its marker file and linking it, or between renaming a stale
// marker and removing it. A live process's file is another backup's, taking the name now: its
// link needs the file. A whole marker is judged by the identity it holds, as a marker in
// `control` is; any other file (killed part way through writing it) by the pid of its name.
function markerFileGone(dir, name) {
  const f = MARKER_FILE.exec(name);
  if (f === null) return false;
  if (f[1] === 'backup') {
    const m = MARKER.exec(readText(path.join(dir, name)) || '');
    if (m !== null && m[1] === f[2]) return markerGone(m);
  }
  return readProcessStat(Number(f[2])).gone;
}

/**
 * Removes from backup directory `dir` the marker files (MARKER_FILE) of processes that are gone,
 * as a later backup there does with every file it does not list, and keeps those of live
 * processes: another backup's own marker file, removed before that backup links it, made its
 * link fail with ENOENT. `bestEffort` (a restore, which only reads the directory otherwise)
 * ignores a failure to list or remove.
 */
function removeStaleMarkerFiles(dir, bestEffort = false) {
  try {
    for (const name of fs.readdirSync(dir)) {
      if (MARKER_FILE.test(name) && markerFileGone(dir, name)) fs.rmSync(path.join(dir, name), { force: true });
    }
  } catch (err) {
    if (!bestEffort) throw err;
  }
}

function readText(file) {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Takes the directory `dir` for a backup: creates its marker `control` exclusively, as a creator
 * creates its control file, and whole: the marker is written to a file of this process first and
 * then linked to the name (link fails when the name exists, as an exclusive create does), so no
 * backup stopped at any point leaves a `control` that is empty or cut short, which would read as
 * a persistence directory and refuse every later backup there. A control file there that is not
 * a marker (a store's, or a creator's not sized yet) is a persistence directory: TypeError, with
 * nothing written. A marker of a live process is a backup running there: ERR_IN_USE. A marker of
 * a process that is gone (a backup killed part way) is taken over: removed under a lock of the
 * directory if it is still the marker read (removeIfStill, waiting for that lock up to
 * `lockWaitMs`: ERR_LOCK_TIMEOUT after), and the name taken again. Returns the marker's path.
 */
function claimDir(dir, lockWaitMs) {
  const file = path.join(dir, CONTROL);
  const text = `shmstore-backup-running ${process.pid} ${ownStartTime()} ${bootId()}\n`;
  const own = ownName(file, 'backup');
  const fd = fs.openSync(own, 'wx', 0o600);
  try {
    writeAll(fd, Buffer.from(text, 'latin1'), 0, `writing ${own}`);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(own, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  try {
    return linkMarker(dir, file, own, lockWaitMs);
  } finally {
    fs.rmSync(own, { force: true });
  }
}

// claimDir()'s attempts to link the marker `own` (a file of this process) to `file`.
function linkMarker(dir, file, own, lockWaitMs) {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.linkSync(own, file);
      return file;
    } catch (err) {
      // The marker file of this backup was removed by another party (a backup of an earlier
      // version removed every file its manifest did not list): a backup ran there meanwhile.
      if (err.code === 'ENOENT' && !fs.existsSync(own) && fs.existsSync(dir)) {
        throw new ShmError('ERR_IN_USE', `persist: another backup into ${dir} ran meanwhile and removed this backup's marker ${own}`);
      }
      if (err.code !== 'EEXIST') throw err;
      const found = readText(file);
      if (found === null) continue; // removed meanwhile: try again
      const m = MARKER.exec(found);
      if (m === null) throw v.typeError('The "dir" argument must not be a persistence directory (this store\'s, or another store\'s)');
      if (!markerGone(m)) throw new ShmError('ERR_IN_USE', `persist: another backup into ${dir} is running (process ${m[1]}, its marker ${file})`);
      removeIfStill(dir, file, found, lockWaitMs);
    }
  }
  throw new ShmError('ERR_IN_USE', `persist: another backup into ${dir} is running (its marker ${file} keeps changing)`);
}

// Removes the marker `file` of a process that is gone if it still holds `found`, the text read
// from it, all under an exclusive flock of the directory `dir`. The compare and the removal are
// one step for every party that takes a marker over: the name is freed only by its owner (gone
// here) or by a taker under this lock, so the marker read under the lock stays in place until
// this taker removes it. Two takers of one dead marker both find it and one removes it; the other
// finds the name free, or taken by the backup that linked its marker there since (live: refused),
// and never removes a marker it did not judge. A marker was formerly renamed aside, read, and put
// back if it was not the one judged: between the rename and the put-back the name was free, so a
// third backup could take it while a live one ran, and a live owner that ended meanwhile had its
// marker put back after it removed it (every later backup of that process refused).
// A taker holds the lock only for the read and the removal; any other process that can open the
// directory may flock it too, for as long as it likes. The lock is therefore tried without
// waiting, again and again up to `waitMs`, and then refused with ERR_LOCK_TIMEOUT: a blocking
// flock would block the calling thread, and with it the event loop, for as long as that holder
// keeps it (for ever).
function removeIfStill(dir, file, found, waitMs) {
  const tryLock = native.addon && native.addon.tryLockFileExclusive;
  if (typeof tryLock !== 'function') throw new ShmError('ERR_NO_NATIVE', 'persist: taking over a backup marker needs the native addon');
  const fd = fs.openSync(dir, 'r');
  try {
    const deadline = performance.now() + waitMs;
    for (let pause = 1; ; pause = Math.min(pause * 2, LOCK_POLL_MS)) {
      const err = tryLock(fd);
      if (err === 0) break;
      if (err !== EWOULDBLOCK) throw new ShmError('ERR_PERSIST_IO', `persist: cannot lock ${dir} to take over the marker of a backup that is gone (errno ${err})`);
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new ShmError('ERR_LOCK_TIMEOUT', `persist: the lock (flock) of ${dir}, under which a backup takes over the marker ${file} of a backup that is gone, ` +
          `was held by another open of ${dir} for ${waitMs} ms (another process flocks the directory and does not release it); nothing was backed up`);
      }
      sleepMs(Math.min(pause, left));
    }
    if (readText(file) === found) fs.rmSync(file, { force: true });
  } finally {
    fs.closeSync(fd); // releases the lock
  }
}

function corrupt(dir, what) {
  return new ShmError('ERR_PERSIST_CORRUPT', `persist: the backup in ${dir} is damaged or incomplete: ${what}; nothing was restored`);
}

// The manifest's checksum: CRC32C of its JSON text without the `checksum` member.
function manifestText(m) {
  const { checksum, ...body } = m; // eslint-disable-line no-unused-vars
  return JSON.stringify(body);
}

function readManifest(dir) {
  const file = path.join(dir, MANIFEST);
  if (!fs.existsSync(file)) return null;
  let m;
  try {
    const fd = openRegular(file);
    try {
      m = JSON.parse(fs.readFileSync(fd, 'utf8'));
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw corrupt(dir, `${MANIFEST} is not JSON (${err.message})`);
  }
  if (m === null || typeof m !== 'object' || m.format !== FORMAT) throw corrupt(dir, `${MANIFEST} is not a shmstore backup manifest`);
  if (m.checksum !== crc32c(Buffer.from(manifestText(m)))) throw corrupt(dir, `${MANIFEST} checksum mismatch`);
  return m;
}

function writeManifest(dir, m) {
  m.checksum = crc32c(Buffer.from(manifestText(m)));
  const tmp = path.join(dir, `${MANIFEST}.tmp`);
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    writeAll(fd, Buffer.from(JSON.stringify(m, null, 1)), 0, `writing ${tmp}`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path.join(dir, MANIFEST));
  syncDir(dir);
}

// Copies bytes [from, to) of `src` to the same offsets of `dst`, CRC32C continuing from `crc`.
function copyRange(src, dst, from, to, crc) {
  const inFd = openRegular(src);
  const outFd = fs.openSync(dst, from === 0 ? 'w' : 'r+', 0o600);
  try {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, to - from)));
    for (let pos = from; pos < to;) {
      const n = fs.readSync(inFd, buf, 0, Math.min(buf.length, to - pos), pos);
      if (n <= 0) throw new ShmError('ERR_PERSIST_IO', `persist: ${src} is shorter than expected`);
      writeAll(outFd, buf.subarray(0, n), pos, `writing ${dst}`);
      crc = crc32c(buf.subarray(0, n), crc);
      pos += n;
    }
    fs.ftruncateSync(outFd, to);
    fs.fsyncSync(outFd);
  } finally {
    fs.closeSync(inFd);
    fs.closeSync(outFd);
  }
  return crc;
}

/**
 * Backs up the persisted store of `p` (its persistence state) into `dir`. Holds the checkpoint
 * lock (no file it copies is removed meanwhile). Returns { files, bytesCopied, bytesTotal, ms }.
 * The flock of a takeover of a dead backup's marker is waited for up to 10 x the handle's
 * lockTimeoutMs, as a lock a live other process holds (ERR_LOCK_TIMEOUT after).
 */
function backup(p, dir, sync) {
  const started = Date.now();
  makeDirs(dir, 0o700);
  const marker = claimDir(dir, FOREIGN_LOCK_FACTOR * p.control.lockTimeoutMs);
  try {
    return backupInto(p, dir, sync, started);
  } finally {
    // The directory is a backup's again (the marker goes last, after its files are in place).
    fs.rmSync(marker, { force: true });
    syncDir(dir);
  }
}

function backupInto(p, dir, sync, started) {
  const c = p.control;
  // The store's default eviction policy, which a restore records in its control segment (absent
  // in a manifest written before: 'none'). Read before anything is copied: a damaged record is
  // ERR_PERSIST_CORRUPT, and no manifest is written without it.
  const policy = c.storePolicy;
  // Likewise the store segment's permission bits (absent in a manifest written before: 0o600).
  const mode = c.segmentMode;
  const old = readManifest(dir);
  c.lockCheckpoint();
  let m;
  let bytesCopied = 0;
  try {
    // Everything below the durable position is on stable storage and never rewritten.
    sync();
    const durable = c.durable;
    const { logs, snaps } = listFiles(p.dir);
    const from = snaps.length ? snaps[snaps.length - 1] : 0;
    // Files past the one the control segment names, and header-only files before it, are
    // leftovers of checkpoints that died before switching to them (they hold no record).
    const current = c.startLsn;
    const chain = logs.filter((l) => l >= from && (l === current || (l < current && fs.statSync(path.join(p.dir, walFileName(l))).size > C.WAL_FILE_HEADER_SIZE)));
    const files = [];
    // Files of a backup of this same store are extended; of another store, replaced. One store
    // id is one history: a restore gives the restored store a new id (restore.js).
    const same = old && old.storeId === c.storeId;
    const had = new Map(same ? old.files.map((f) => [f.name, f]) : []);
    if (snaps.length) {
      const name = snapFileName(from);
      const src = path.join(p.dir, name);
      const size = fs.statSync(src).size;
      const prev = had.get(name);
      let crc;
      if (prev && prev.bytes === size && fs.existsSync(path.join(dir, name))) crc = prev.crc;
      else {
        crc = copyRange(src, path.join(dir, name), 0, size, 0);
        bytesCopied += size;
      }
      files.push({ name, kind: 'snapshot', lsn: from, bytes: size, crc });
    }
    for (let i = 0; i < chain.length; i++) {
      const name = walFileName(chain[i]);
      // A file's records end where the next file starts; the current one's at `durable`.
      const end = C.WAL_FILE_HEADER_SIZE + (i + 1 < chain.length ? chain[i + 1] : durable) - chain[i];
      const prev = had.get(name);
      const keep = prev && prev.bytes <= end && fs.existsSync(path.join(dir, name)) ? prev.bytes : 0;
      const crc = copyRange(path.join(p.dir, name), path.join(dir, name), keep, end, keep ? prev.crc : 0);
      bytesCopied += end - keep;
      files.push({ name, kind: 'log', lsn: chain[i], bytes: end, crc });
    }
    const g = c.geometry;
    m = {
      format: FORMAT,
      storeId: c.storeId,
      createdMs: Date.now(),
      geometry: g,
      sync: c.syncMode,
      intervalMs: c.intervalMs,
      checkpointBytes: c.checkpointBytes,
      checkpointMs: c.checkpointMs,
      eviction: POLICY_NAMES[policy === null ? C.POLICY_NONE : policy],
      segmentMode: mode === null ? DEFAULT_MODE : mode,
      end: durable,
      files,
    };
    writeManifest(dir, m);
  } finally {
    c.unlockCheckpoint();
  }
  // Files of earlier backups that this one no longer needs, and the marker files of backups that
  // are gone. The marker file of a live backup stays: that backup is taking the name, and finds
  // this backup's marker there (ERR_IN_USE), or the name free once this one is done.
  const keep = new Set([MANIFEST, CONTROL, ...m.files.map((f) => f.name)]);
  for (const f of fs.readdirSync(dir)) {
    if (keep.has(f) || (MARKER_FILE.test(f) && !markerFileGone(dir, f))) continue;
    fs.rmSync(path.join(dir, f), { force: true });
  }
  syncDir(dir);
  return {
    files: m.files.length,
    bytesCopied,
    bytesTotal: m.files.reduce((a, f) => a + f.bytes, 0),
    end: m.end,
    ms: Date.now() - started,
  };
}

// Whether `dir` is a directory holding a file named as a backup's snapshot or log copies.
function holdsBackupFiles(dir) {
  if (!fs.statSync(dir).isDirectory()) return false;
  const { logs, snaps } = listFiles(dir);
  return logs.length > 0 || snaps.length > 0;
}

/**
 * Checks the backup in `dir` completely: the manifest, every file's length and CRC32C, the
 * snapshot's own checks, and that each log file's valid records fill exactly the bytes the
 * manifest lists (the chain has no gap). Returns the manifest; throws ERR_PERSIST_CORRUPT, or
 * ERR_SHM_NOT_FOUND when `dir` holds no backup at all.
 */
function checkBackup(dir) {
  if (!fs.existsSync(dir)) throw new ShmError('ERR_SHM_NOT_FOUND', `persist: no backup in ${dir}`);
  const m = readManifest(dir);
  if (m === null) {
    // Without a manifest, a directory that holds no copy of a snapshot or log file (an empty
    // one, the wrong one, a file) has no backup to be damaged; one that holds copies is a first
    // backup stopped before it wrote its manifest: incomplete.
    if (!holdsBackupFiles(dir)) throw new ShmError('ERR_SHM_NOT_FOUND', `persist: no backup in ${dir} (no ${MANIFEST} and no snapshot or log file)`);
    throw corrupt(dir, `${MANIFEST} is missing`);
  }
  if (m.eviction !== undefined && policyOfManifest(m) === undefined) throw corrupt(dir, `${MANIFEST} names an unknown eviction policy ${JSON.stringify(m.eviction)}`);
  if (modeOfManifest(m) === undefined) throw corrupt(dir, `${MANIFEST} names a segment mode that is not an integer 0..0o777 (${JSON.stringify(m.segmentMode)})`);
  let next = null; // where the next log file must start: the end of the file before it
  let first = true;
  for (const f of m.files) {
    const file = path.join(dir, f.name);
    if (!fs.existsSync(file)) throw corrupt(dir, `${f.name} is missing`);
    const size = fs.statSync(file).size;
    if (size !== f.bytes) throw corrupt(dir, `${f.name} holds ${size} bytes, the manifest says ${f.bytes}`);
    const crc = copyCheck(file);
    if (crc !== f.crc) throw corrupt(dir, `${f.name} checksum mismatch`);
    try {
      if (f.kind === 'snapshot') {
        // A snapshot comes first, and the log continues from its LSN.
        if (!first) throw new Error('a snapshot listed after a log file');
        readSnapshot(file, () => {});
        next = f.lsn;
      } else {
        // Without a snapshot the log must reach back to the store's first record (LSN 0).
        if (first && f.lsn !== 0) throw new Error(`the first log file starts at LSN ${f.lsn} with no snapshot before it`);
        if (next !== null && f.lsn !== next) throw new Error(`it starts at LSN ${f.lsn}, the previous file ends at ${next}`);
        const scan = scanLog(file, () => {});
        if (scan.headerError) throw new Error(scan.headerError);
        if (scan.startLsn !== f.lsn) throw new Error(`its header says LSN ${scan.startLsn}, the manifest ${f.lsn}`);
        if (C.WAL_FILE_HEADER_SIZE + scan.end - scan.startLsn !== f.bytes) throw new Error(`its records end at byte ${C.WAL_FILE_HEADER_SIZE + scan.end - scan.startLsn} of ${f.bytes} (${scan.reason})`);
        next = scan.end;
      }
    } catch (err) {
      if (err instanceof ShmError) throw corrupt(dir, err.message);
      throw corrupt(dir, `${f.name}: ${err.message}`);
    }
    first = false;
  }
  if (!m.files.some((f) => f.kind === 'log')) throw corrupt(dir, 'no log file');
  return m;
}

// The store policy a manifest records (C.POLICY_*): 'none' or 'clock'; a manifest written before
// the field has none and reads as 'none'. Undefined for any other value.
function policyOfManifest(m) {
  if (m.eviction === undefined) return C.POLICY_NONE;
  return Object.keys(POLICY_NAMES).map(Number).find((p) => POLICY_NAMES[p] === m.eviction);
}

// The store segment's permission bits a manifest records (0..0o777); a manifest written before
// the field has none and reads as 0o600, the mode every restore gave before. Undefined for any
// other value.
function modeOfManifest(m) {
  if (m.segmentMode === undefined) return DEFAULT_MODE;
  return Number.isInteger(m.segmentMode) && m.segmentMode >= 0 && m.segmentMode <= 0o777 ? m.segmentMode : undefined;
}

function copyCheck(file) {
  const fd = openRegular(file);
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let crc = 0;
    for (let pos = 0; ;) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) return crc;
      crc = crc32c(buf.subarray(0, n), crc);
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

module.exports = { backup, checkBackup, policyOfManifest, modeOfManifest, removeStaleMarkerFiles, MANIFEST, writeManifest };
