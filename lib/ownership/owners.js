'use strict';
// Owner slots (docs/format.md §6): a table of records in shared memory, one per open handle, that
// lock words name by index; the gone rule that tells whether a record's owner still exists; and
// the watch that marks a slot dead when the thread of its handle ends without releasing it,
// started by the claim itself. The same rules as src/ownership/owners.cpp.
const { C, W } = require('../layout/layout');
const { readProcessStat, ownStartTime, bootId } = require('../base/process');
const native = require('../base/native');

const O = W.OWNER;
const RECORD_WORDS = O.WORDS;
const PID = O.PID;
const TID = O.TID;
const STATE = O.STATE;
const ACTOR = O.ACTOR;
// The u64 fields, as indices of a BigUint64Array over the table (two u32 words per element).
const WORDS_PER_U64 = BigUint64Array.BYTES_PER_ELEMENT / Uint32Array.BYTES_PER_ELEMENT;
const RECORD_U64 = O.WORDS / WORDS_PER_U64;
const START_TIME = O.START_TIME / WORDS_PER_U64;
const BOOT_ID = O.BOOT_ID / WORDS_PER_U64;
const LIVE = C.OWNER_STATE_LIVE;
const DEAD = C.OWNER_STATE_DEAD;
// The start time a record holds when its writer could not read its own (format.md §6).
const START_UNKNOWN = BigInt(C.OWNER_START_UNKNOWN);

// What a record's owner is to the caller (OwnerStatus in owners.h).
const GONE = 0; // released, marked dead, another boot, or a process that ended (pid reused)
const THIS_PROCESS = 1; // a thread of the caller's process: only the timeout rule can tell more
const OTHER_PROCESS = 2; // a live process other than the caller's

// Who an owner record names: a thread of one process of one boot. startTime and bootId are
// BigInts; a start time that cannot be read is START_UNKNOWN, never 0n: the record of a live owner
// must not read as one without identity (rule 6) to parties that know theirs. bootId is 0n when
// it cannot be read.
function identityOf(pid, tid) {
  const startTime = pid === process.pid ? ownStartTime() : readProcessStat(pid).startTime;
  return { pid, tid, startTime: startTime === 0n ? START_UNKNOWN : startTime, bootId: bootId() };
}

// The watches that claims of this thread started and that no watch() has handed over yet, by
// SharedArrayBuffer, then by the byte offset of the record in it (claimAt()).
const pendingWatches = new WeakMap();

function pendingOf(buffer) {
  let m = pendingWatches.get(buffer);
  if (m === undefined) {
    m = new Map();
    pendingWatches.set(buffer, m);
  }
  return m;
}

// Whether a start time or boot id is known: neither 0n (not written, or not read) nor the start
// time of a writer that could not read its own (START_UNKNOWN).
function known(v) {
  return v !== 0n && v !== START_UNKNOWN;
}

// Two values of a field that may be unknown name different things only when both are known.
function differ(recorded, current) {
  return known(recorded) && known(current) && recorded !== current;
}

// Whether `record`, a reading of a claimed slot of another process than self's, holds no
// identity (startTime and bootId both 0; format.md §6, "A record without identity"): a claim not
// finished, a freeing or an adoption stopped between its stores, or damage. Its owner holds
// nothing. A complete record never reads so: an owner that could not read its start time writes
// START_UNKNOWN there (identityOf). A record of self's own pid is left to rules 1 to 5, under which
// it is this process's (THIS_PROCESS), for the same-process rules of §9: a thread of this process
// may be its claimer, and they never take a lock a live handle holds.
function withoutIdentity(record, self) {
  return record.startTime === 0n && record.bootId === 0n && record.pid !== self.pid;
}

// Rules 1 to 5 of the gone rule (format.md §6): the verdict on the process, by pid, start time,
// boot id and state. What frees or adopts a slot judges by these alone: a record without identity
// may be a claimer's between its claim and its identity, whose slot must stay its own.
function statusByPid(record, self) {
  const { pid, startTime } = record;
  if (pid === 0) return GONE;
  if (record.state === DEAD) return GONE;
  if (differ(record.bootId, self.bootId)) return GONE;
  if (pid === self.pid) return differ(startTime, self.startTime) ? GONE : THIS_PROCESS;
  const now = readProcessStat(pid);
  if (now.gone || differ(startTime, now.startTime)) return GONE;
  return OTHER_PROCESS;
}

// Whether two readings of a record (OwnerTable.read) are the same, field by field.
function sameRecord(a, b) {
  return a.pid === b.pid && a.tid === b.tid && a.startTime === b.startTime && a.bootId === b.bootId &&
    a.state === b.state;
}

class OwnerTable {
  // `u32` is the region; `base` the word index of record 0; `slots` how many records the table
  // holds (C.OWNER_SLOTS in a store, C.SYNC_OWNER_SLOTS in a sync region; at most C.OWNER_SLOTS,
  // what a lock word's owner bits can name).
  constructor(u32, base, slots = C.OWNER_SLOTS) {
    this.u32 = u32;
    this.base = base;
    this.slots = slots;
    this.u64 = new BigUint64Array(u32.buffer, u32.byteOffset + base * Uint32Array.BYTES_PER_ELEMENT,
      slots * RECORD_U64);
  }

  pidWord(o) {
    return this.base + o * RECORD_WORDS + PID;
  }

  // The byte offset of record `o` in the buffer.
  #recordByte(o) {
    return this.u32.byteOffset + (this.base + o * RECORD_WORDS) * Uint32Array.BYTES_PER_ELEMENT;
  }

  // Claims slot `o` for `id` if its pid word reads `expected` (0: free; an adopter's judged gone
  // pid, which it holds the actor word of): for an adoption the gone owner's identity is cleared
  // first (until the identity is ours the record must not read as a gone owner's), then the CAS
  // of the pid word, then the identity. Returns whether it did. With the addon the record is
  // watched from the claim on (format.md §6, "Dead owners"): one native call clears, claims and
  // watches it, and worker.terminate() cannot stop a thread between them, as it could between a
  // claim and a later watch(); that left a record claimed by a thread that is gone, read as a live
  // owner for as long as the process lived. The watch is handed over by watch(o, id), or ended by
  // release(o) when no watch() took it.
  #claimAt(o, expected, id) {
    const addon = native.addon;
    if (!addon || typeof addon.claimWatchedOwnerSlot !== 'function') {
      if (expected !== 0) this.clearIdentity(o);
      if (Atomics.compareExchange(this.u32, this.pidWord(o), expected, id.pid) !== expected) return false;
      this.writeIdentity(o, id);
      return true;
    }
    const token = addon.claimWatchedOwnerSlot(this.u32.buffer, this.#tableByte(),
      o, expected, id.pid, id.tid, Number(id.startTime), id.bootId);
    if (token === 0) return false;
    const pending = pendingOf(this.u32.buffer);
    const at = this.#recordByte(o);
    // A watch left from an earlier claim of the record by this thread (the record was freed by
    // another party since): the new one replaces it.
    if (pending.has(at)) addon.unwatchOwnerSlot(pending.get(at));
    pending.set(at, token);
    return true;
  }

  // Takes the watch a claim of slot `o` started, or 0.
  #takePending(o) {
    const pending = pendingWatches.get(this.u32.buffer);
    if (pending === undefined) return 0;
    const at = this.#recordByte(o);
    const token = pending.get(at);
    if (token === undefined) return 0;
    pending.delete(at);
    return token;
  }

  // The byte offset of the table in the buffer, as the addon's functions take it.
  #tableByte() {
    return this.u32.byteOffset + this.base * Uint32Array.BYTES_PER_ELEMENT;
  }

  // Takes slot `o`'s actor word for `self` (§6, "Acting on a verdict"): from 0, or from a process
  // that no longer exists, which held it when it ended. Returns whether it did; false when a live
  // process (this one included: another of its threads) acts on the slot. With the addon the
  // word is taken, and given back by dropActor(o), through it: a thread terminated while it holds
  // the word (between the two) has it given back at its teardown. Held by this live process, it
  // would otherwise be taken by no party for as long as the process lived, and the slot never
  // freed or adopted again (nor claimed, in a table whose claimers yield to an actor).
  takeActor(o, self) {
    const addon = native.addon;
    if (addon && typeof addon.takeOwnerActor === 'function') {
      return addon.takeOwnerActor(this.u32.buffer, this.#tableByte(), o, self.pid);
    }
    const w = this.base + o * RECORD_WORDS + ACTOR;
    const held = Atomics.load(this.u32, w);
    if (held === 0) return Atomics.compareExchange(this.u32, w, 0, self.pid) === 0;
    if (held === self.pid || !readProcessStat(held).gone) return false;
    return Atomics.compareExchange(this.u32, w, held, self.pid) === held;
  }

  // Gives back slot `o`'s actor word, which the calling thread took (takeActor()).
  dropActor(o) {
    const addon = native.addon;
    if (addon && typeof addon.dropOwnerActor === 'function') {
      addon.dropOwnerActor(this.u32.buffer, this.#tableByte(), o);
      return;
    }
    Atomics.store(this.u32, this.base + o * RECORD_WORDS + ACTOR, 0);
  }

  // The record of slot `o`, read field by field ({ pid, tid, startTime, bootId, state }).
  read(o) {
    const w = this.base + o * RECORD_WORDS;
    return {
      pid: Atomics.load(this.u32, w + PID),
      tid: Atomics.load(this.u32, w + TID),
      startTime: Atomics.load(this.u64, o * RECORD_U64 + START_TIME),
      bootId: Atomics.load(this.u64, o * RECORD_U64 + BOOT_ID),
      state: Atomics.load(this.u32, w + STATE),
    };
  }

  // The gone rule of §6 for the owner of slot `o`, as seen by `self`, judged on `record`: one
  // reading of the slot (read(o), taken now when not given). A caller that acts on what it read
  // passes that reading: a verdict that read the slot again would be about whoever holds it by
  // then, and a slot its owner released in order meanwhile reads as gone (the owner closed, and
  // its thread may have claimed the slot again). Reads /proc for a record of another process
  // (slow path only). A record without identity is gone here (rule 6): whether its owner holds a
  // lock, a handle or work in progress, it holds none, as a free slot holds none; judged by its
  // pid it would hold a lock it names for as long as a process has that pid. A record whose
  // writer could not read its identity holds START_UNKNOWN, not 0n: it is judged by its pid.
  status(o, self, record = this.read(o)) {
    return withoutIdentity(record, self) ? GONE : statusByPid(record, self);
  }

  // The record of slot `o` if it names an owner that is gone for `self`, else null: judged on one
  // reading, which the slot must still hold after the verdict. A free slot is null, and so is a
  // record that changed while it was judged (its owner released it in order, and perhaps a new
  // owner, even the same thread, claimed it): what frees or adopts a slot, or gives up on a party,
  // acts only on a record that was judged and is still there. Rule 6 alone does not make a
  // record gone here: a record without identity may be a claimer's that has not written its
  // identity yet, and a slot freed or adopted under it would then hold that claimer's identity
  // with no claim, or two owners. Such a record is judged by rules 1 to 5 (statusByPid), by its
  // pid, and keeps its slot until that process ends.
  goneRecord(o, self) {
    const r = this.read(o);
    if (r.pid === 0 || this.status(o, self, r) !== GONE) return null;
    if (withoutIdentity(r, self) && statusByPid(r, self) !== GONE) return null;
    return sameRecord(this.read(o), r) ? r : null;
  }

  // Clears every field but pid: a slot is all zero once its pid is 0, and a claimer's record
  // reads, until it is complete, as a pid without identity (§6, rule 6): it holds no lock, and
  // rules 1 to 5 judge by its pid whether its slot may be freed or adopted.
  clearIdentity(o) {
    const w = this.base + o * RECORD_WORDS;
    Atomics.store(this.u32, w + TID, 0);
    Atomics.store(this.u64, o * RECORD_U64 + START_TIME, 0n);
    Atomics.store(this.u64, o * RECORD_U64 + BOOT_ID, 0n);
    Atomics.store(this.u32, w + STATE, LIVE);
  }

  // Writes the identity of a slot whose pid word the caller has just set to id.pid.
  writeIdentity(o, id) {
    const w = this.base + o * RECORD_WORDS;
    Atomics.store(this.u32, w + TID, id.tid);
    Atomics.store(this.u64, o * RECORD_U64 + START_TIME, id.startTime);
    Atomics.store(this.u64, o * RECORD_U64 + BOOT_ID, id.bootId);
    Atomics.store(this.u32, w + STATE, LIVE);
  }

  // Claims the lowest free slot for `id`, watched from the claim on (#claimAt()). Returns the
  // slot, 0 when every slot is taken. With
  // `spread` k > 1 the slots are tried as 1, 1 + k, 1 + 2k, ..., then 2, 2 + k, ..., and so on:
  // slots k apart first, for per-owner records smaller than a cache line that owners write often
  // (the MPMC queue's intents, MPMC_INTENT_SPREAD). `yieldToActor`: see #claimed().
  claim(id, { spread = 1, yieldToActor = false } = {}) {
    for (let first = 1; first <= spread; first++) {
      for (let o = first; o < this.slots; o += spread) {
        const w = this.pidWord(o);
        if (Atomics.load(this.u32, w) === 0 && this.#claimAt(o, 0, id) && this.#claimed(o, id, yieldToActor)) {
          return o;
        }
      }
    }
    return 0;
  }

  // Completes the claim of free slot `o`, which the caller has just claimed (#claimAt()), and
  // returns true. A table whose claimers yield to an actor (a pool's, §17: a party
  // that acts on a verdict about a slot's former owner holds the actor word, and a new owner
  // could make what it judged read as before) then gives the slot back instead while the actor
  // word is held by a live process, and returns false. The word is read after the pid CAS, and
  // an actor takes it before it reads the record: either this claimer sees the actor, or the
  // actor sees this claim. A hold of a process that no longer exists is cleared.
  #claimed(o, id, yieldToActor) {
    if (yieldToActor) {
      const w = this.base + o * RECORD_WORDS + ACTOR;
      const held = Atomics.load(this.u32, w);
      if (held !== 0 && (held === id.pid || !readProcessStat(held).gone || Atomics.compareExchange(this.u32, w, held, 0) !== held)) {
        this.release(o);
        return false;
      }
    }
    return true;
  }

  // With every slot taken: adopts one whose owner is gone. The caller must then run a repair
  // pass, which takes over any lock still naming the slot (a waiter treats its own slot as gone)
  // and frees the other gone owners' slots. A slot naming id.pid is adopted too when its owner is
  // gone (a thread of this process that ended without releasing it, which the addon marked dead,
  // or an earlier process of the same pid): the actor word, not the CAS of the pid word, keeps two
  // adopters of one process apart (a thread of a live process never takes over its hold), and
  // such slots would otherwise stay taken for as long as the process lives. The verdict is
  // goneRecord()'s, made and acted on holding the slot's actor word, as for freeGone(): a live
  // handle that closed and reopened meanwhile keeps its slot. A slot found free is claimed as by claim(), with
  // `yieldToActor` the same. `check(o)`, when given, is called holding the actor word once the
  // owner of slot `o` is judged gone (what it left no longer changes): a region whose per-owner
  // records name work in progress (the MPMC queue's intents, format.md §15) finishes that work
  // there, and returns false to leave the slot to a later adopter when it cannot be finished yet
  // (adopting would lose the record of it). Returns the slot or 0.
  adopt(id, { check = null, yieldToActor = false } = {}) {
    for (let o = 1; o < this.slots; o++) {
      const w = this.pidWord(o);
      const pid = Atomics.load(this.u32, w);
      if (pid === 0) {
        if (this.#claimAt(o, 0, id) && this.#claimed(o, id, yieldToActor)) return o;
        continue;
      }
      // Judged once before the actor word is taken, so that live owners' records are only read.
      if (this.goneRecord(o, id) === null || !this.takeActor(o, id)) continue;
      try {
        const r = this.goneRecord(o, id);
        if (r === null) continue;
        if (check !== null && !check(o)) continue;
        // With the addon one native call clears the gone owner's identity, takes the pid word and
        // watches the record: a thread terminated here has adopted the slot or left it as judged.
        if (!this.#claimAt(o, r.pid, id)) continue;
        return o;
      } finally {
        this.dropActor(o);
      }
    }
    return 0;
  }

  // Releases slot `o`, which the caller holds (on close), and ends its watch: `token` (watch()'s),
  // or the one its claim started that no watch() took. Every field but pid is cleared, then pid
  // is 0 (a claimer never finds a free slot whose identity is still being cleared). With the addon
  // the stores and the end of the watch are one native call (format.md §6, "Dead owners"): stopped
  // by worker.terminate() between the two stores, a thread left this process's pid with no
  // identity, which its watch no longer matched (so never marked dead), this process counts as its
  // own and other processes judge by the pid: taken for as long as the process lived. Without the
  // addon that window remains (nothing marks a terminated thread's record dead then either).
  release(o, token = 0) {
    if (o <= 0 || o >= this.slots) {
      this.unwatch(token);
      return;
    }
    // Taken from this thread's map before the call: a thread stopped here still holds a claimed
    // record that the addon watches, and marks dead at its teardown.
    const pending = this.#takePending(o);
    const addon = native.addon;
    if (addon && typeof addon.releaseOwnerSlot === 'function') {
      addon.releaseOwnerSlot(this.u32.buffer, this.#tableByte(), o, token || pending);
      // Both only if a watch() did not hand the claim's watch over: the other ends after the
      // release, as a watch must (never a claimed record that nobody watches).
      if (token !== 0 && pending !== 0 && pending !== token) addon.unwatchOwnerSlot(pending);
      return;
    }
    this.clearIdentity(o);
    Atomics.store(this.u32, this.pidWord(o), 0);
    if (pending !== 0) native.addon.unwatchOwnerSlot(pending);
    this.unwatch(token);
  }

  // Gives up slot `o`, which the caller holds and watches (`token`, watch()'s; none when it never
  // watched it): released, then no longer watched, in one native call with the addon (release()).
  // Never the other order: a thread terminated between the two left a claimed record nobody
  // watched (format.md §6, "Dead owners").
  leave(o, token) {
    this.release(o, token || 0);
  }

  // Frees slot `o` if its owner is gone for `self` (the repair pass, holding every lock: no lock
  // can name the slot). Returns whether it freed it. The verdict is goneRecord()'s: the final
  // compare-and-swap of the pid word alone would not do, since an owner that closed while it was
  // judged, and a thread of its process that claimed the slot again, leave the same pid. It is
  // made and acted on holding the slot's actor word: another party that judged the same record
  // (a second freer, an adopter) cannot free the slot, see it claimed again and then clear the
  // new owner's identity (or free its slot) on the strength of the old verdict.
  freeGone(o, self) {
    // Judged once before the actor word is taken, so that live owners' records are only read.
    if (this.goneRecord(o, self) === null || !this.takeActor(o, self)) return false;
    try {
      const r = this.goneRecord(o, self);
      if (r === null) return false;
      return this.#freeAt(o, r.pid);
    } finally {
      this.dropActor(o);
    }
  }

  // Frees slot `o`, whose owner of pid `judged` the caller (holding its actor word) judged gone:
  // every field but pid cleared, then CAS(pid, judged, 0). Returns whether the CAS succeeded.
  // With the addon both are one native call, which worker.terminate() cannot split: stopped
  // between them, a thread left the gone owner's pid with no identity: a record that holds no
  // lock (rule 6) but that no party frees or adopts while a process has that pid (rules 1 to 5
  // judge it by the pid).
  #freeAt(o, judged) {
    const addon = native.addon;
    if (addon && typeof addon.freeOwnerSlot === 'function') {
      return addon.freeOwnerSlot(this.u32.buffer, this.#tableByte(), o, judged);
    }
    this.clearIdentity(o);
    return Atomics.compareExchange(this.u32, this.pidWord(o), judged, 0) === judged;
  }

  // Marks slot `o` dead if it still names id's pid, tid and start time (what the addon does at
  // the teardown of a watched handle's environment). Returns whether it did.
  markDead(o, id) {
    const w = this.base + o * RECORD_WORDS;
    if (Atomics.load(this.u32, w + PID) !== id.pid || Atomics.load(this.u32, w + TID) !== id.tid ||
        Atomics.load(this.u64, o * RECORD_U64 + START_TIME) !== id.startTime) {
      return false;
    }
    return Atomics.compareExchange(this.u32, w + STATE, LIVE, DEAD) === LIVE;
  }

  // Asks the addon to mark slot `o` dead when the calling thread's environment is torn down
  // (the thread ended or was terminated without releasing it). Returns a token for unwatch(),
  // or 0 without the addon: then only the timeout rule of §9 recovers such a slot's locks. A
  // slot this thread claimed is watched already (#claimAt()): its watch is handed over.
  watch(o, id) {
    if (!native.addon) return 0;
    const pending = this.#takePending(o);
    if (pending !== 0) return pending;
    return native.addon.watchOwnerSlot(this.u32.buffer, this.#tableByte(), o, id.pid, id.tid, Number(id.startTime));
  }

  unwatch(token) {
    if (token && native.addon) native.addon.unwatchOwnerSlot(token);
  }
}

module.exports = { OwnerTable, identityOf, sameRecord, GONE, THIS_PROCESS, OTHER_PROCESS };
