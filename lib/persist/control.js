'use strict';
// The control segment of a persisted store (docs/format.md §16): a small file `control` in the
// persistence directory, mapped by every process that writes the store. It holds the log's tail
// and the durable position (the group commit), the robust locks of the persist room (append,
// flush, recovery and 256 key stripes: lock words of §1 naming owner records of §6 in its own
// owner table) and the store's geometry, default eviction policy and segment mode, needed to
// rebuild the store after a reboot.
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { threadId } = require('worker_threads');
const { C, W } = require('../layout/layout');
const { ShmError } = require('../base/errors');
const native = require('../base/native');
const { Segment } = require('../segment/segment');
const futex = require('../segment/futex');
const { OwnerTable, identityOf, GONE } = require('../ownership/owners');
const { LockWaiter, LockError } = require('../ownership/waiter');
const { takeoverWord, isHeld, ownerOf, unlock } = require('../ownership/lockword');
const { sealHeader, checkHeaderSum } = require('./control-header');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const U64 = BigUint64Array.BYTES_PER_ELEMENT / WORD;
const U32 = 0x100000000;
// The word of a u64's high half (little-endian, as every u64 of the format).
const HIGH = 1;
const HDR = C.PERSIST_HEADER_OFFSET / WORD;
const LOG = C.PERSIST_LOG_OFFSET / WORD;
const DUR = C.PERSIST_DURABLE_OFFSET / WORD;
const REC = C.PERSIST_RECOVERY_OFFSET / WORD;
const STRIPES = C.PERSIST_STRIPES_OFFSET / WORD;
const STRIPE_WORDS = C.PERSIST_STRIPE_SIZE / WORD;
const H = W.PERSIST_HEADER;
const L = W.PERSIST_LOG;
const D = W.PERSIST_DURABLE;
const Q = W.PERSIST_RECOVERY;

const APPEND_LOCK = LOG + L.APPEND_LOCK;
const FLUSH_LOCK = DUR + D.FLUSH_LOCK;
const RECOVERY_LOCK = REC + Q.LOCK;
const CHECKPOINT_LOCK = REC + Q.CHECKPOINT_LOCK;
// PersistRecovery.recoveries, as a word index of `u32`: read by the fence check of every
// operation of a persisted store's handle (LoggedStore._live), as well as by appends.
const RECOVERIES = REC + Q.RECOVERIES;
// PersistRecovery.storePolicy: the store's default eviction policy plus PERSIST_POLICY_MARK, or 0
// in a file written before the field (format.md §16, "The store's policy").
const STORE_POLICY = REC + Q.STORE_POLICY;
const POLICIES = [C.POLICY_NONE, C.POLICY_CLOCK];

// The policy a storePolicy word records (null: none, a file written before the field), or
// ERR_PERSIST_CORRUPT for a word that is neither 0 nor a whole record (damage: one atomic store
// makes it, so it is never anything between).
function policyOfWord(word, file) {
  if (word === 0) return null;
  const policy = word - C.PERSIST_POLICY_MARK;
  if (POLICIES.includes(policy)) return policy;
  throw new ShmError('ERR_PERSIST_CORRUPT', `persist: ${file} records a damaged store eviction policy (0x${word.toString(16).padStart(8, '0')}): a recovery cannot tell which policy to rebuild the store with; restore the store from a backup (Store.restore), or, while its segment still exists, copy its data out (npx shmstore dump) and create the store again`);
}
// PersistRecovery.segmentMode: the store segment's permission bits with PERSIST_MODE_MARK and
// their complement, or 0 in a file written before the field (format.md §16, "The segment's mode").
const SEGMENT_MODE = REC + Q.SEGMENT_MODE;
const MODE_BITS = 0o777;
// Where the complement of the mode bits sits in the word: the upper half, as the mode the lower.
const COMPLEMENT_SHIFT = 16;

// The segmentMode word that records `mode` (0..0o777).
function modeWord(mode) {
  return (C.PERSIST_MODE_MARK | ((~mode & MODE_BITS) << COMPLEMENT_SHIFT) | mode) >>> 0;
}

// The mode a segmentMode word records (null: none, a file written before the field), or
// ERR_PERSIST_CORRUPT for a word that is neither 0 nor a whole record: one atomic store makes it,
// so anything else is damage, and any one bit flipped in a record gives such a word.
function modeOfWord(word, file) {
  if (word === 0) return null;
  const mode = word & MODE_BITS;
  if (word === modeWord(mode)) return mode;
  throw new ShmError('ERR_PERSIST_CORRUPT', `persist: ${file} records a damaged store segment mode (0x${word.toString(16).padStart(8, '0')}): a recovery cannot tell which permissions to rebuild the store's segment with; restore the store from a backup (Store.restore), or, while its segment still exists, copy its data out (npx shmstore dump) and create the store again`);
}
const TICK = DUR + D.TICK;
// u64 indices of a BigUint64Array over the whole segment.
const TAIL64 = (LOG + L.TAIL) / U64;
const START64 = (LOG + L.START_LSN) / U64;
const FILE_BYTES64 = (LOG + L.FILE_BYTES) / U64;
const DURABLE64 = (DUR + D.DURABLE) / U64;
const LAST_SYNC64 = (DUR + D.LAST_SYNC_MS) / U64;
const SYNCING64 = (DUR + D.SYNCING) / U64;
const LAST_CHECKPOINT64 = (REC + Q.LAST_CHECKPOINT_MS) / U64;
const TOTAL64 = (HDR + H.TOTAL_SIZE) / U64;
const CHECKPOINT_BYTES64 = (HDR + H.CHECKPOINT_BYTES) / U64;
const STORE_ID64 = (HDR + H.STORE_ID) / U64;
const CONTROL_INO64 = (REC + Q.CONTROL_INO) / U64;
const COPY_STORE_ID64 = (REC + Q.COPY_STORE_ID) / U64;

// The inode number of the file `file` (a u64), which a copy of the file does not keep.
function inodeOf(file) {
  return fs.statSync(file, { bigint: true }).ino;
}

const SYNC_NAMES = ['none', 'interval', 'always'];
// FNV-1a (32-bit) of the key stripes: offset basis and prime.
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const REPLACEMENT = 0xfffd;

// The stripe hash `h` with unit `i` of string `s` folded in. A lone surrogate (one not part of a
// pair) is folded in as U+FFFD: the store keeps it so in the key's UTF-8 form, so every spelling
// of one key or name (docs/api.md, "Store") has the one stripe, which orders its writes in the log.
function foldUnit(h, s, i) {
  let c = s.charCodeAt(i);
  if ((c & 0xf800) === 0xd800) {
    const pairs = c < 0xdc00
      ? (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00
      : i > 0 && (s.charCodeAt(i - 1) & 0xfc00) === 0xd800;
    if (!pairs) c = REPLACEMENT;
  }
  return Math.imul(h ^ c, FNV_PRIME);
}
// How long a waiter for the durable position sleeps before it looks again (a flusher that died
// wakes nobody): the bound on how late a waiter notices it, against one wake-up per period.
const RECHECK_MS = C.SYNC_RECHECK_MS;
const STUCK_MS = C.PERSIST_TAKEOVER_MS;

// The refusal of every operation of a handle attached before a rebuild of its store (format.md
// §16, "Recovery"), reads and appends alike.
function staleError() {
  return new ShmError('ERR_PERSIST_STALE', 'persist: the store was rebuilt from its log by another opener (its segment was removed while this handle had it mapped): ' +
    'the segment this handle has is no longer the store, and reading or writing it through this handle is refused; close the handle and open the store again');
}

function lockTimeout(err) {
  if (err instanceof LockError) {
    return new ShmError('ERR_LOCK_TIMEOUT', 'persist: a lock of the control segment is held by a live process that does not release it');
  }
  return err;
}

/** A new random store id (never 0). */
function newStoreId() {
  return crypto.getRandomValues(new BigUint64Array(1))[0] | 1n;
}

class Control {
  // The hold of each lock tryOrTakeOver last found held: { word, since } by word index.
  #holds = new Map();
  // PersistRecovery.recoveries when this handle's store was attached (attached()); null before.
  // An append finds it changed when another opener started rebuilding the store from the log:
  // this handle's segment is not the store any more (format.md §16, "Recovery"). The handle's
  // store keeps a copy, which every operation compares first (LoggedStore._live).
  #seenRecoveries = null;
  // The new store id of a copy and the control file's inode, chosen by adoptCopy and not stored
  // yet (0n: none pending).
  #copyId = 0n;
  #copyIno = 0n;
  // Whether keepCopyId stored a copy's new id on this handle.
  #copyKept = false;
  #inodeFirstRecorded = false;

  // Maps `dir`/control: created (exclusive) with the geometry and sync mode given, or opened.
  // A creator holds the recovery lock when this returns (it releases it once the store is ready,
  // or removed): it takes the lock before it stamps the magic, and an opener, which finds the
  // magic first, takes the lock before it looks at `ready`, so that no opener takes a store
  // still being created for one to recover. An opener that finds the file empty or without its
  // magic (a creator between its exclusive create and its stamp) gets an error marked
  // `unfinished`, which Store.open waits out.
  constructor(dir, create, lockTimeoutMs) {
    const file = path.join(dir, 'control');
    try {
      this.segment = create
        ? Segment.create({ path: file, size: C.PERSIST_CONTROL_BYTES, exclusive: true, mode: create.mode })
        : Segment.open({ path: file });
    } catch (err) {
      // Segment.open refuses only an empty file with ERR_BAD_SIZE: one its creator has not sized.
      if (!create && err.code === 'ERR_BAD_SIZE') err.unfinished = true;
      throw err;
    }
    try {
      if (this.segment.size < C.PERSIST_CONTROL_BYTES) {
        throw new ShmError('ERR_PERSIST_CORRUPT', `persist: ${file} is ${this.segment.size} bytes, shorter than a control segment`);
      }
      const buf = this.segment.buffer;
      this.u32 = new Uint32Array(buf, 0, C.PERSIST_CONTROL_BYTES / WORD);
      this.i32 = new Int32Array(buf, 0, C.PERSIST_CONTROL_BYTES / WORD);
      this.u64 = new BigUint64Array(buf, 0, C.PERSIST_CONTROL_BYTES / BigUint64Array.BYTES_PER_ELEMENT);
      this.owners = new OwnerTable(this.u32, C.PERSIST_OWNERS_OFFSET / WORD, C.OWNER_SLOTS);
      this.self = identityOf(process.pid, threadId);
      if (create) {
        this.#claim(file, lockTimeoutMs);
        this.#take(RECOVERY_LOCK);
        // What must exist before the stamp (the first log file), made only by the creator that
        // won the exclusive create of this file.
        if (create.beforeStamp) create.beforeStamp();
        this.#stamp(create, file);
      }
      const older = this.#check(file);
      if (!create) {
        if (older) this.#upgrade(file);
        this.#claim(file, lockTimeoutMs);
      }
    } catch (err) {
      if (this.slot) this.owners.leave(this.slot, this.token);
      this.segment.close();
      throw err;
    }
  }

  #claim(file, lockTimeoutMs) {
    let adopted = false;
    this.slot = this.owners.claim(this.self);
    if (this.slot === 0) {
      this.slot = this.owners.adopt(this.self);
      adopted = this.slot !== 0;
    }
    if (this.slot === 0) throw new ShmError('ERR_TOO_MANY_HANDLES', `persist: all ${C.OWNER_SLOTS - 1} owner slots of ${file} are in use`);
    if (adopted) this.#releaseAdopted();
    this.token = this.owners.watch(this.slot, this.self);
    this.waiter = new LockWaiter(this.u32, this.owners, -1, this.self, lockTimeoutMs);
    this.waiter.setSlot(this.slot);
  }

  // After adopting a gone owner's slot (every slot in use, §6 "A full table"): releases every
  // lock word of this segment that still names the slot, which its gone owner left held. Held by
  // a slot that is live again, such a hold would be waited for by every other party until
  // lockTimeoutMs × 10 (ERR_LOCK_TIMEOUT), and a try of the flush lock takes one naming its own
  // slot for its own (#tryOrTakeOver), so the adopter's durable writes would wait for it forever.
  // None of these locks is repaired when taken over from a gone holder (each guards what its
  // next holder finds and checks anyway: the tail, `ready`, a checkpoint's files), so a release
  // here is what a takeover by the next party would have done. This handle holds no lock yet.
  #releaseAdopted() {
    const locks = [APPEND_LOCK, FLUSH_LOCK, RECOVERY_LOCK, CHECKPOINT_LOCK];
    for (let s = 0; s < C.PERSIST_STRIPES; s++) locks.push(STRIPES + s * STRIPE_WORDS);
    for (const idx of locks) {
      const w = Atomics.load(this.u32, idx);
      if (isHeld(w) && ownerOf(w) === this.slot) unlock(this.u32, idx, this.slot);
    }
  }

  #stamp(g, file) {
    const u32 = this.u32;
    // The file's own inode, before the magic: an opener of a copy of this file finds another.
    Atomics.store(this.u64, CONTROL_INO64, inodeOf(file));
    Atomics.store(this.u64, TOTAL64, BigInt(g.totalSize));
    Atomics.store(u32, HDR + H.BUCKET_COUNT, g.bucketCount);
    Atomics.store(u32, HDR + H.MAX_ENTRIES, g.maxEntries);
    Atomics.store(u32, HDR + H.MAX_NAMESPACES, g.maxNamespaces);
    Atomics.store(u32, HDR + H.SYNC_MODE, g.syncMode);
    Atomics.store(u32, HDR + H.INTERVAL_MS, g.intervalMs);
    Atomics.store(this.u64, CHECKPOINT_BYTES64, BigInt(g.checkpointBytes));
    Atomics.store(u32, HDR + H.CHECKPOINT_MS, g.checkpointMs || 0);
    Atomics.store(this.u64, LAST_CHECKPOINT64, BigInt(Date.now()));
    Atomics.store(this.u64, STORE_ID64, g.storeId);
    if (!POLICIES.includes(g.storePolicy)) throw new ShmError('ERR_INVALID_ARG', `persist: no store eviction policy ${g.storePolicy}`);
    Atomics.store(u32, STORE_POLICY, C.PERSIST_POLICY_MARK + g.storePolicy);
    if (!Number.isInteger(g.segmentMode) || g.segmentMode < 0 || g.segmentMode > MODE_BITS) {
      throw new ShmError('ERR_INVALID_ARG', `persist: no segment mode ${g.segmentMode}`);
    }
    Atomics.store(u32, SEGMENT_MODE, modeWord(g.segmentMode));
    Atomics.store(u32, HDR + H.VERSION, C.PERSIST_FORMAT_VERSION);
    // The checksum and the seal that says it is set, then the magic: an opener reads neither
    // before it has seen the magic.
    sealHeader(u32);
    Atomics.store(u32, HDR + H.MAGIC, C.PERSIST_MAGIC);
  }

  #check(file) {
    const magic = Atomics.load(this.u32, HDR + H.MAGIC);
    if (magic !== C.PERSIST_MAGIC) {
      const err = new ShmError('ERR_PERSIST_CORRUPT', `persist: ${file} is not a shmstore control segment (bad magic)`);
      err.unfinished = magic === 0; // the magic is stamped last
      throw err;
    }
    const version = Atomics.load(this.u32, HDR + H.VERSION);
    const older = version === C.PERSIST_FORMAT_VERSION_PREVIOUS;
    if (version !== C.PERSIST_FORMAT_VERSION && !older) {
      throw new ShmError('ERR_PERSIST_CORRUPT', `persist: ${file} has control format version ${version}, expected ${C.PERSIST_FORMAT_VERSION}`);
    }
    checkHeaderSum(this.u32, file);
    const mode = Atomics.load(this.u32, HDR + H.SYNC_MODE);
    if (mode >= SYNC_NAMES.length) throw new ShmError('ERR_PERSIST_CORRUPT', `persist: ${file} names an unknown sync mode ${mode}`);
    // The policy word is checked here, before the recovery lock, like the header: it is 0 or a
    // whole record at every instant (one atomic store makes it), never anything between.
    policyOfWord(Atomics.load(this.u32, STORE_POLICY), file);
    // Likewise the segment's mode.
    modeOfWord(Atomics.load(this.u32, SEGMENT_MODE), file);
    return older;
  }

  // A control segment of the previous version (format.md §16, "Control segment"), before this
  // handle claims an owner slot: its version becomes the current one when no owner of it is live.
  // A process of the previous version writes the store outside the append lock without first
  // passing through it, which a JavaScript-engine set that skips its stripe relies on, so a live
  // owner refuses this handle while the version is still the previous one (the processes of the
  // older build must close first). Every opener of the current version upgrades before it claims
  // a slot, so a live owner seen here is of the older build unless another opener has upgraded
  // meanwhile, which the second look at the version tells.
  #upgrade(file) {
    const live = (o) => this.owners.status(o, this.self) !== GONE;
    let busy = false;
    for (let o = 1; o < C.OWNER_SLOTS && !busy; o++) busy = live(o);
    if (Atomics.compareExchange(this.u32, HDR + H.VERSION, C.PERSIST_FORMAT_VERSION_PREVIOUS,
      busy ? C.PERSIST_FORMAT_VERSION_PREVIOUS : C.PERSIST_FORMAT_VERSION) === C.PERSIST_FORMAT_VERSION_PREVIOUS && busy) {
      throw new ShmError('ERR_BAD_VERSION', `persist: ${file} is in use by a process that opened it with control format version ${C.PERSIST_FORMAT_VERSION_PREVIOUS} (an older shmstore); close those processes, then open again`);
    }
  }

  get geometry() {
    return {
      totalSize: Number(Atomics.load(this.u64, TOTAL64)),
      bucketCount: Atomics.load(this.u32, HDR + H.BUCKET_COUNT),
      maxEntries: Atomics.load(this.u32, HDR + H.MAX_ENTRIES),
      // 0: a directory written before the field existed, whose stores had the default.
      maxNamespaces: Atomics.load(this.u32, HDR + H.MAX_NAMESPACES) || C.DEFAULT_MAX_NAMESPACES,
    };
  }

  // The store's default eviction policy as recorded (C.POLICY_NONE or C.POLICY_CLOCK), or null in
  // a file written before the field. A word damaged since the file was opened is ERR_PERSIST_CORRUPT
  // here too: a backup must not write a manifest without the policy, which restores as 'none'.
  get storePolicy() {
    return policyOfWord(Atomics.load(this.u32, STORE_POLICY), this.segment.path);
  }

  // Records `policy` (C.POLICY_NONE or C.POLICY_CLOCK), the policy of the store segment this
  // handle attached to or rebuilt (held: the recovery lock), in a file written before the field;
  // a file that records one keeps it. The segment's policy is the store's own, set by its creator
  // and never changed: it is what the store does, not a value read back from the file.
  recordPolicy(policy) {
    Atomics.compareExchange(this.u32, STORE_POLICY, 0, C.PERSIST_POLICY_MARK + policy);
  }

  // The store segment's permission bits as recorded (0..0o777), or null in a file written before
  // the field. A word damaged since the file was opened is ERR_PERSIST_CORRUPT here too: a backup
  // must not write a manifest without the mode, which restores as 0o600.
  get segmentMode() {
    return modeOfWord(Atomics.load(this.u32, SEGMENT_MODE), this.segment.path);
  }

  // Records `mode` (0..0o777), the permission bits of the store segment this handle attached to
  // or rebuilt (held: the recovery lock), in a file written before the field; a file that records
  // one keeps it. The bits are read from the segment itself (Segment#mode), not from the file.
  recordMode(mode) {
    Atomics.compareExchange(this.u32, SEGMENT_MODE, 0, modeWord(mode));
  }

  // The lockTimeoutMs this handle was opened with.
  get lockTimeoutMs() { return this.waiter.timeout; }

  get syncMode() { return SYNC_NAMES[Atomics.load(this.u32, HDR + H.SYNC_MODE)]; }
  get intervalMs() { return Atomics.load(this.u32, HDR + H.INTERVAL_MS); }
  get checkpointBytes() { return Number(Atomics.load(this.u64, CHECKPOINT_BYTES64)); }
  get checkpointMs() { return Atomics.load(this.u32, HDR + H.CHECKPOINT_MS); }
  // A random id given at creation (kept by recovery and restore; a copy of the directory gets one
  // of its own at its first open that is not refused, adoptCopy), so a backup directory can tell
  // a later backup of the same store from one of another store.
  get storeId() { return this.storeIdValue.toString(16).padStart(16, '0'); }
  // The same id as a u64, as a store segment records it (tag.js). During an open of a copy, the
  // new id adoptCopy chose, before keepCopyId stores it.
  get storeIdValue() {
    if (this.#copyId !== 0n) return this.#copyId;
    const copy = Atomics.load(this.u64, COPY_STORE_ID64);
    return copy !== 0n ? copy : Atomics.load(this.u64, STORE_ID64);
  }

  /**
   * Tells whether the control file is a copy of a persistence directory's (held: the recovery
   * lock, before the id is used): a control file whose inode is not the one recorded in it was
   * copied (cp -r, a file-level backup, a move to another file system), and its id would be the
   * original's, so the copy would attach to the original's store segment (its writes logged in the
   * copy, the original's in the original) and a backup of either would extend the other's files.
   * A copy is given a new id here, held by this handle only (storeIdValue) until keepCopyId
   * stores it: the open checks the segment it finds with it and stores it only once it goes on,
   * so an open refused before (another store's segment under the name) leaves the file as it
   * found it, as its message says. A file written before the field (0) records its inode now.
   * Returns whether the file is a copy given a new id.
   */
  adoptCopy() {
    const ino = inodeOf(this.segment.path);
    const recorded = Atomics.load(this.u64, CONTROL_INO64);
    if (recorded === ino) return false;
    if (recorded === 0n) {
      // A control file of an earlier version: its first open here records the inode, and cannot
      // tell a copy made before from the original.
      this.#inodeFirstRecorded = Atomics.compareExchange(this.u64, CONTROL_INO64, 0n, ino) === 0n;
      return false;
    }
    let id;
    do id = newStoreId(); while (id === this.storeIdValue);
    this.#copyId = id;
    this.#copyIno = ino;
    return true;
  }

  // Whether this handle's open is of a copy whose new id is not stored yet (adoptCopy).
  get copyIdPending() { return this.#copyId !== 0n; }
  // Whether this handle's open recorded the control file's inode for the first time (a file of an
  // earlier version, adoptCopy): it may be a copy that cannot be told from its original.
  get inodeFirstRecorded() { return this.#inodeFirstRecorded; }
  // Whether this handle stored a copy's new id (keepCopyId).
  get copyIdKept() { return this.#copyKept; }

  /**
   * Stores the new id adoptCopy gave a copy (held: the recovery lock), before anything records
   * it elsewhere (a segment's tag): the id first, then the inode, so an open killed between the
   * two gives the copy yet another id at the next open, never the original's. Returns whether it
   * stored one (nothing to do otherwise).
   */
  keepCopyId() {
    if (this.#copyId === 0n) return false;
    Atomics.store(this.u64, COPY_STORE_ID64, this.#copyId);
    Atomics.store(this.u64, CONTROL_INO64, this.#copyIno);
    this.#copyId = 0n;
    this.#copyKept = true;
    return true;
  }
  countCheckpoint(nowMs) {
    Atomics.store(this.u64, LAST_CHECKPOINT64, BigInt(nowMs));
    Atomics.add(this.u32, REC + Q.CHECKPOINTS, 1);
  }

  get lastCheckpointMs() { return Number(Atomics.load(this.u64, LAST_CHECKPOINT64)); }
  get checkpoints() { return Atomics.load(this.u32, REC + Q.CHECKPOINTS); }
  get ready() { return Atomics.load(this.u32, HDR + H.STATE) === C.PERSIST_STATE_READY; }
  set ready(on) { Atomics.store(this.u32, HDR + H.STATE, on ? C.PERSIST_STATE_READY : C.PERSIST_STATE_EMPTY); }
  get failed() { return Atomics.load(this.u32, REC + Q.FAILED) !== 0; }
  // Marks the log failed, and wakes the waiters for the durable position (waitTick()): nothing
  // more can become durable, and they learn it now, not at their recheck.
  fail() {
    Atomics.store(this.u32, REC + Q.FAILED, 1);
    Atomics.add(this.u32, TICK, 1);
    if (Atomics.load(this.u32, DUR + D.WAITERS) !== 0) this.#wakeAll();
  }
  clearFailed() { Atomics.store(this.u32, REC + Q.FAILED, 0); }
  get recoveries() { return Atomics.load(this.u32, RECOVERIES); }
  // What `recoveries` was when this handle's store was attached (null before attached()).
  get seenRecoveries() { return this.#seenRecoveries; }

  // Before a rebuild from the log (held: the recovery lock): counts the recovery under the append
  // lock, so that every append after it, of a handle still attached to the segment the rebuild
  // replaces (removed while it was mapped), refuses with ERR_PERSIST_STALE, and every append
  // before it is in the log the rebuild then reads; every other operation of such a handle, a
  // read too, refuses once it sees the new count.
  fenceStale() {
    this.lockAppend();
    Atomics.add(this.u32, RECOVERIES, 1);
    this.unlockAppend();
  }

  // The handle's store is attached (held: the recovery lock): appends check the recovery count
  // from here on.
  attached() { this.#seenRecoveries = this.recoveries; }

  // LSNs are below 2^53 (8 PiB of log): Numbers are exact. The tail, the start LSN, the durable
  // position and `syncing` only grow while handles are open (recovery, which resets them, runs
  // with every writer excluded), so each is read as two u32 halves, without a BigInt per read:
  // the high half, the low half, the high half again; when the two high reads agree, the low
  // half belongs to a value the word held between them (a growing value whose high half is the
  // same before and after has that high half in between), else the read is repeated. Every
  // setDurable reads the durable position, and a set the tail: a BigInt each was measurable.
  #grow64(idx64) {
    const u32 = this.u32;
    const i = idx64 * U64;
    for (;;) {
      const hi = Atomics.load(u32, i + HIGH);
      const lo = Atomics.load(u32, i);
      if (Atomics.load(u32, i + HIGH) === hi) return lo + hi * U32;
    }
  }

  get tail() { return this.#grow64(TAIL64); }
  set tail(lsn) { Atomics.store(this.u64, TAIL64, BigInt(lsn)); }
  get startLsn() { return this.#grow64(START64); }
  set startLsn(lsn) { Atomics.store(this.u64, START64, BigInt(lsn)); }
  get durable() { return this.#grow64(DURABLE64); }
  // The size of the current log file as last seen by an appender (0: unknown, look).
  get fileBytes() { return Number(Atomics.load(this.u64, FILE_BYTES64)); }
  set fileBytes(n) { Atomics.store(this.u64, FILE_BYTES64, BigInt(n)); }
  get lastSyncMs() { return Number(Atomics.load(this.u64, LAST_SYNC64)); }

  // ---- the log's positions as the holder of the append lock reads and moves them ----
  // Only a holder of the append lock (or recovery, with every writer excluded) writes the tail,
  // the start LSN and the file size, so their holder reads each as two plain u32 halves (no
  // BigInt), and moves the tail with one atomic store of its low half when the high half stays
  // (a reader outside the lock, with an atomic 64-bit load, sees the old or the new tail).

  #held64(idx64) {
    const i = idx64 * U64;
    return this.u32[i] + this.u32[i + HIGH] * U32;
  }

  get heldTail() { return this.#held64(TAIL64); }
  get heldStartLsn() { return this.#held64(START64); }
  get heldFileBytes() { return this.#held64(FILE_BYTES64); }

  // The failed-sync flag as an appender reads it before each record (held: the append lock): a
  // plain load. An Atomics.load would order nothing more: the flag is set by a failing sync in
  // any process without a lock an appender takes, so an append racing with it is logged either
  // way, and no sync after the failure raises the durable position over it (advanceSynced
  // reads the flag atomically). The load follows the append lock's compare-and-swap, a full
  // barrier, so it sees a flag set before the lock was taken.
  get heldFailed() { return this.u32[REC + Q.FAILED] !== 0; }

  set heldTail(lsn) {
    const i = TAIL64 * U64;
    const lo = lsn >>> 0;
    if (this.u32[i + HIGH] === (lsn - lo) / U32) Atomics.store(this.u32, i, lo);
    else Atomics.store(this.u64, TAIL64, BigInt(lsn));
  }

  // Raises the durable position to `lsn` (never lowers it) and wakes its waiters.
  advanceDurable(lsn, nowMs) {
    const target = BigInt(lsn);
    for (;;) {
      const cur = Atomics.load(this.u64, DURABLE64);
      if (cur >= target) break;
      if (Atomics.compareExchange(this.u64, DURABLE64, cur, target) === cur) break;
    }
    Atomics.store(this.u64, LAST_SYNC64, BigInt(nowMs));
    Atomics.add(this.u32, TICK, 1);
    if (Atomics.load(this.u32, DUR + D.WAITERS) !== 0) this.#wakeAll();
  }

  // Sets tail and durable position outright (recovery, with every writer excluded).
  resetPositions(lsn, startLsn) {
    Atomics.store(this.u64, FILE_BYTES64, 0n);
    Atomics.store(this.u64, START64, BigInt(startLsn));
    Atomics.store(this.u64, TAIL64, BigInt(lsn));
    Atomics.store(this.u64, DURABLE64, BigInt(lsn));
    Atomics.store(this.u64, SYNCING64, BigInt(lsn));
  }

  // The greatest target of an fdatasync started by anyone (format.md §16, "Group commit"): a
  // hint that a sync covering every record below it is in flight or done, unless its syncer died.
  get syncing() { return this.#grow64(SYNCING64); }

  // Raises `syncing` to `lsn` (never lowers it), just before an fdatasync whose target it is.
  claimSync(lsn) {
    const target = BigInt(lsn);
    for (;;) {
      const cur = Atomics.load(this.u64, SYNCING64);
      if (cur >= target || Atomics.compareExchange(this.u64, SYNCING64, cur, target) === cur) return;
    }
  }

  #wakeAll() {
    if (native.addon) futex.wake(this.i32, TICK);
    else Atomics.notify(this.i32, TICK);
  }

  // Sleeps until the durable position may have moved (a flush finished) or RECHECK_MS passed.
  waitTick(seen) {
    Atomics.add(this.u32, DUR + D.WAITERS, 1);
    try {
      if (native.addon) futex.wait(this.i32, TICK, seen, RECHECK_MS);
      else Atomics.wait(this.i32, TICK, seen | 0, RECHECK_MS);
    } finally {
      Atomics.sub(this.u32, DUR + D.WAITERS, 1);
    }
  }

  // Resolves once the durable position may have moved (a flush finished) or RECHECK_MS passed,
  // without blocking the event loop.
  async waitTickAsync(seen) {
    Atomics.add(this.u32, DUR + D.WAITERS, 1);
    try {
      if (native.addon) await futex.waitAsync(this.i32, TICK, seen, RECHECK_MS);
      else await Atomics.waitAsync(this.i32, TICK, seen | 0, RECHECK_MS).value;
    } finally {
      Atomics.sub(this.u32, DUR + D.WAITERS, 1);
    }
  }

  get tick() { return Atomics.load(this.u32, TICK); }
  // Threads about to sleep or sleeping on `tick` (waitTick).
  get tickWaiters() { return Atomics.load(this.u32, DUR + D.WAITERS); }

  // ---- locks (lock words of §1; a holder that is gone is taken over in place) ----

  #take(idx) {
    try {
      this.waiter.acquireOrTakeOver(idx);
    } catch (err) {
      throw lockTimeout(err);
    }
  }

  lockAppend() {
    this.#take(APPEND_LOCK);
    if (this.#seenRecoveries !== null && this.recoveries !== this.#seenRecoveries) {
      this.waiter.release(APPEND_LOCK);
      throw staleError();
    }
  }
  unlockAppend() { this.waiter.release(APPEND_LOCK); }
  lockRecovery() { this.#take(RECOVERY_LOCK); }
  unlockRecovery() { this.waiter.release(RECOVERY_LOCK); }
  lockCheckpoint() { this.#take(CHECKPOINT_LOCK); }
  tryCheckpointLock() { return this.#tryOrTakeOver(CHECKPOINT_LOCK); }
  unlockCheckpoint() { this.waiter.release(CHECKPOINT_LOCK); }

  // The flush lock is only ever tried: a writer that does not get it waits for the durable
  // position instead (tryFlushLock takes it over when its holder is gone).
  tryFlushLock() { return this.#tryOrTakeOver(FLUSH_LOCK); }

  // Takes the lock at `idx` if it is free or its holder is gone; never waits. Whether the holder
  // is gone is asked only of a hold seen unchanged (the same word) for STUCK_MS: asking reads
  // /proc for a holder in another process, which cost a waiting writer more CPU than its write
  // when every durable write tried the flush lock while another process synced (a sync takes
  // far less than STUCK_MS), and then once per STUCK_MS of the same hold.
  #tryOrTakeOver(idx) {
    if (this.waiter.tryAcquire(idx)) return true;
    const w = Atomics.load(this.u32, idx);
    if ((w & 1) === 0) return false;
    const o = w >>> C.LOCK_OWNER_SHIFT;
    // Our own slot: held by this handle (a lock is never taken twice by one handle).
    if (o === this.slot) return false;
    const now = performance.now();
    const seen = this.#holds.get(idx);
    if (seen === undefined || seen.word !== w) {
      this.#holds.set(idx, { word: w, since: now });
      return false;
    }
    if (now - seen.since < STUCK_MS) return false;
    seen.since = now;
    if (o !== 0 && o < C.OWNER_SLOTS && this.owners.status(o, this.self) !== GONE) return false;
    return Atomics.compareExchange(this.u32, idx, w, takeoverWord(w, this.slot)) === w;
  }

  // Releases the flush lock, then moves `tick` and wakes its waiters (format.md §16, "Group
  // commit"): a writer that found the lock held sleeps on the `tick` it read before trying it,
  // and the release is what tells it the lock is free, whether or not this holder raised
  // `durable` (its sync failed to start, or it raised it before that writer read `tick`). Without
  // it, such a writer slept out its whole recheck while nobody flushed.
  unlockFlush() {
    this.waiter.release(FLUSH_LOCK);
    Atomics.add(this.u32, TICK, 1);
    if (Atomics.load(this.u32, DUR + D.WAITERS) !== 0) this.#wakeAll();
  }

  // The stripe of a key (format.md §16): FNV-1a over the UTF-16 code units of the namespace
  // name, one unit 0, and the key, each unit folded in as one 32-bit value, a lone surrogate as
  // U+FFFD (foldUnit); the low 8 bits.
  static stripeOf(ns, key) {
    let h = FNV_OFFSET;
    for (let i = 0; i < ns.length; i++) h = foldUnit(h, ns, i);
    h = Math.imul(h, FNV_PRIME);
    for (let i = 0; i < key.length; i++) h = foldUnit(h, key, i);
    return h & (C.PERSIST_STRIPES - 1);
  }

  lockStripe(s) { this.#take(STRIPES + s * STRIPE_WORDS); }
  unlockStripe(s) { this.waiter.release(STRIPES + s * STRIPE_WORDS); }

  // Whether stripe `s` is held by anyone (a holder that is gone included), read by a set that
  // holds the append lock instead (format.md §16, "A mutation"). An atomic load: it must not be
  // ordered before the append lock's compare-and-swap that precedes it.
  stripeHeld(s) { return (Atomics.load(this.u32, STRIPES + s * STRIPE_WORDS) & 1) !== 0; }

  // Takes and releases the append lock (held: a stripe, or all of them): a set that saw the stripe
  // free while holding the append lock and is applying under it is done after this, so a
  // mutation that applies outside the append lock passes here between its stripe and its store
  // write (format.md §16, "A mutation").
  passAppend() {
    this.lockAppend();
    this.unlockAppend();
  }

  // Every stripe in index order (a clear, a drop, a namespace's settings: nothing else holds
  // two), then through the append lock: each holder writes the store outside the append lock.
  lockAllStripes() {
    let s = 0;
    try {
      for (; s < C.PERSIST_STRIPES; s++) this.lockStripe(s);
      this.passAppend();
    } catch (err) {
      while (s-- > 0) this.unlockStripe(s);
      throw err;
    }
  }

  unlockAllStripes() {
    for (let s = C.PERSIST_STRIPES - 1; s >= 0; s--) this.unlockStripe(s);
  }

  close() {
    this.owners.leave(this.slot, this.token);
    this.segment.close();
  }
}

module.exports = { Control, SYNC_NAMES, newStoreId, FNV_OFFSET, FNV_PRIME, foldUnit, RECOVERIES, staleError };
