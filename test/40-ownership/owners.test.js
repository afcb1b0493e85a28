'use strict';
// Owner records on their own (docs/format.md §6): identities read from /proc, claiming, adopting
// and releasing slots, the gone rule for each of its causes, and dead marking by the addon when
// a watched thread's environment is torn down.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { Worker, threadId } = require('worker_threads');
const { C, S, W, BASE } = require('../../lib/layout/layout');
const proc = require('../../lib/base/process');
const { OwnerTable, identityOf, GONE, THIS_PROCESS, OTHER_PROCESS } = require('../../lib/ownership/owners');
const { addon, loadError } = require('../../lib/base/native');
const { statStartTime, bootIdOf } = require('../helpers/independent-reader');
const { exitedPid, tempDir, runNode, noProcNodeArgs } = require('../helpers/process');

const RECORD_BYTES = S.OWNER.SIZE;

// A region just large enough for the owner table at its place in a store.
function newTable() {
  const u32 = new Uint32Array(new SharedArrayBuffer(C.OWNERS_OFFSET + C.OWNER_SLOTS * RECORD_BYTES));
  return new OwnerTable(u32, BASE.OWNER);
}

// The bytes of record `o`.
function recordBytes(table, o) {
  return Buffer.from(table.u32.buffer, C.OWNERS_OFFSET + o * RECORD_BYTES, RECORD_BYTES);
}


const IDENTITY_CHILD = path.join(__dirname, '..', 'helpers', 'children', 'identity-child.js');

// A live process other than this one, that sleeps until killed.
function sleeper() {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  return child;
}

describe('ownership: process identity (/proc)', () => {
  it('parses starttime after the last ")" and the boot id as format.md §6 says', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3)); // field n holds "n"
    fields[0] = 'S';
    const stat = `123 (a) b (c)) ${fields.join(' ')}\n`;
    assert.deepStrictEqual(proc.parseStat(stat), { zombie: false, startTime: 22n });
    assert.strictEqual(proc.parseStat(stat.replace(') S ', ') Z ')).zombie, true);
    assert.strictEqual(proc.parseStat('garbage').startTime, 0n);
    assert.strictEqual(proc.parseStat('1 (x) S 1 2').startTime, 0n);
    assert.strictEqual(proc.parseBootId('97b4b383-d5d9-4d53-a0b6-c3acb7efe7aa\n'), 0x97b4b383d5d94d53n);
    assert.strictEqual(proc.parseBootId('97B4B383-D5D9-4D53-A0B6-C3ACB7EFE7AA'), 0x97b4b383d5d94d53n);
    assert.strictEqual(proc.parseBootId('97b4b383-d5d9'), 0n);
    assert.strictEqual(proc.parseBootId(''), 0n);
  });

  it('reads this process, another live process and a gone one', async () => {
    const self = proc.readProcessStat(process.pid);
    assert.strictEqual(self.gone, false);
    assert.strictEqual(self.startTime, statStartTime(fs.readFileSync('/proc/self/stat', 'latin1')));
    assert.strictEqual(proc.ownStartTime(), self.startTime);
    assert.strictEqual(proc.bootId(), bootIdOf(fs.readFileSync('/proc/sys/kernel/random/boot_id', 'latin1')));
    const child = sleeper();
    try {
      const st = proc.readProcessStat(child.pid);
      assert.strictEqual(st.gone, false);
      assert.ok(st.startTime >= self.startTime);
    } finally {
      child.kill('SIGKILL');
    }
    assert.strictEqual(proc.readProcessStat(exitedPid()).gone, true);
    assert.strictEqual(proc.processGone(0), true);
  });

  // With the addon loaded, these reads are the addon's (lib/base/process.js); without it, the
  // JS code reads /proc itself, to the same values.
  it('without the addon, reads /proc from JS: a JS handle records its start time and the boot id', async () => {
    const empty = tempDir();
    try {
      const r = await runNode(IDENTITY_CHILD, ['records'], { env: { SHMSTORE_ADDON_DIR: empty.dir } });
      assert.strictEqual(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.deepStrictEqual([out.procDenied, out.addon, out.records.length], [false, false, 1]);
      const [{ startTime, bootId }] = out.records;
      assert.ok(BigInt(startTime) >= proc.ownStartTime() && BigInt(startTime) < BigInt(C.OWNER_START_UNKNOWN),
        `the child's start time (${startTime})`);
      assert.strictEqual(bootId, String(proc.bootId()));
    } finally {
      empty.cleanup();
    }
  });

  it('identityOf names a thread of a process of this boot', () => {
    const id = identityOf(process.pid, threadId);
    assert.deepStrictEqual(id, { pid: process.pid, tid: threadId, startTime: proc.ownStartTime(), bootId: proc.bootId() });
    assert.ok(id.startTime > 0n && id.bootId > 0n);
  });
});

describe('ownership: owner slots', () => {
  let child;
  let other; // the identity of `child`, a live other process
  before(() => {
    child = sleeper();
    other = identityOf(child.pid, 1);
  });
  after(() => child.kill('SIGKILL'));
  const self = () => identityOf(process.pid, threadId);

  it('claims the lowest free slot, writes the identity, releases to all zero', () => {
    const t = newTable();
    const me = self();
    const a = t.claim(me);
    const b = t.claim({ ...me, tid: 77 });
    assert.deepStrictEqual([a, b], [1, 2]);
    assert.deepStrictEqual(t.read(b), { pid: me.pid, tid: 77, startTime: me.startTime, bootId: me.bootId, state: 0 });
    // The record's bytes as format.md §6 lays them out.
    const r = recordBytes(t, a);
    assert.strictEqual(r.readUInt32LE(S.OWNER.PID), me.pid);
    assert.strictEqual(r.readUInt32LE(S.OWNER.TID), me.tid);
    assert.strictEqual(r.readBigUInt64LE(S.OWNER.START_TIME), me.startTime);
    assert.strictEqual(r.readBigUInt64LE(S.OWNER.BOOT_ID), me.bootId);
    assert.strictEqual(r.readUInt32LE(S.OWNER.STATE), C.OWNER_STATE_LIVE);
    assert.strictEqual(r.readUInt32LE(S.OWNER.ACTOR), 0);
    t.release(a);
    assert.ok(recordBytes(t, a).equals(Buffer.alloc(RECORD_BYTES)), 'a released slot is all zero');
    assert.strictEqual(t.claim(me), a, 'the lowest free slot is reused');
  });

  it('claims slots `spread` apart first, then the ones between', () => {
    const t = newTable();
    const me = self();
    const got = [];
    for (let k = 0; k < t.slots; k++) got.push(t.claim({ ...me, tid: 100 + k }, { spread: 4 }));
    const expected = [];
    for (let first = 1; first <= 4; first++) for (let o = first; o < t.slots; o += 4) expected.push(o);
    expected.push(0); // every slot taken
    assert.deepStrictEqual(got, expected);
    t.release(9);
    assert.strictEqual(t.claim(me, { spread: 4 }), 9, 'a freed slot is found again');
  });

  it('the gone rule: each cause (format.md §6)', () => {
    const t = newTable();
    const me = self();
    const status = (id) => {
      const o = t.claim(id);
      const s = t.status(o, me);
      t.release(o);
      return s;
    };
    assert.strictEqual(t.status(5, me), GONE, 'a free slot');
    assert.strictEqual(status(me), THIS_PROCESS);
    assert.strictEqual(status({ ...me, tid: 9 }), THIS_PROCESS, 'another thread of this process');
    assert.strictEqual(status({ ...me, startTime: 0n }), THIS_PROCESS, 'unknown start time: pid alone');
    assert.strictEqual(status({ ...me, startTime: me.startTime + 1n }), GONE, 'an earlier process with this pid');
    assert.strictEqual(status({ ...me, bootId: me.bootId ^ 1n }), GONE, 'this pid in another boot');
    assert.strictEqual(status(other), OTHER_PROCESS);
    assert.strictEqual(status({ ...other, startTime: 0n, bootId: 0n }), GONE, 'no identity at all: holds nothing (rule 6)');
    assert.strictEqual(status({ ...other, startTime: other.startTime + 12345n }), GONE, 'the pid was reused');
    assert.strictEqual(status({ ...other, bootId: other.bootId + 1n }), GONE, 'another boot');
    assert.strictEqual(status({ ...other, pid: exitedPid() }), GONE, 'the process is gone');
    // A reader that does not know its boot id compares none.
    const o = t.claim({ ...other, bootId: other.bootId + 1n });
    assert.strictEqual(t.status(o, { ...me, bootId: 0n }), OTHER_PROCESS);
    // Dead, whatever else the record says.
    assert.ok(t.markDead(o, { ...other, bootId: 0n }));
    assert.strictEqual(t.status(o, { ...me, bootId: 0n }), GONE);
    const mine = t.claim(me);
    assert.ok(t.markDead(mine, me));
    assert.strictEqual(t.status(mine, me), GONE, 'a dead thread of this process');
  });

  // A record with a pid and no identity: a claim not finished, a freeing or adoption stopped
  // between its stores, or damage (a bit flipped in a free record's pid). Judged by its pid it
  // held any lock it named for as long as a process had that pid; only the registry's delete
  // ignored it. One of the reader's own pid is judged by the same-process rules (a thread of this
  // process may be its claimer). Its slot is still not freed nor adopted while the pid lives: a
  // claimer between its claim and its identity reads so too, and must keep the slot it claimed.
  it('a record with a pid and no identity is gone, but its slot is freed or adopted only once that pid is gone (format.md §6, rule 6)', () => {
    const t = newTable();
    const me = self();
    const bare = (pid) => t.claim({ pid, tid: 0, startTime: 0n, bootId: 0n });
    const live = bare(other.pid);
    const mine = bare(me.pid);
    const ended = bare(exitedPid());
    for (const o of [live, ended]) assert.strictEqual(t.status(o, me), GONE, `slot ${o}`);
    assert.strictEqual(t.status(mine, me), THIS_PROCESS, 'this pid: the same-process rules');
    // Half an identity is an identity: judged by the rest of the rule.
    const halfOther = t.claim({ ...other, startTime: 0n });
    const halfMine = t.claim({ ...me, tid: 6, bootId: 0n });
    assert.strictEqual(t.status(halfOther, me), OTHER_PROCESS);
    assert.strictEqual(t.status(halfMine, me), THIS_PROCESS);
    // A reader that knows no identity of its own writes the marker (identityOf), as every owner
    // that knows none does: a record without identity is still one, for it too.
    const blind = { ...me, startTime: BigInt(C.OWNER_START_UNKNOWN), bootId: 0n };
    assert.strictEqual(t.status(live, blind), GONE);
    assert.strictEqual(t.status(mine, blind), THIS_PROCESS);
    assert.strictEqual(t.status(ended, blind), GONE);
    // Freeing and adopting judge by the pid: only the ended process's record is freed.
    assert.strictEqual(t.goneRecord(live, me), null);
    assert.strictEqual(t.goneRecord(mine, me), null);
    assert.deepStrictEqual([live, mine, ended].filter((o) => t.freeGone(o, me)), [ended]);
    assert.strictEqual(t.read(live).pid, other.pid);
    assert.strictEqual(t.read(mine).pid, me.pid);
    const full = newTable();
    for (let o = 1; o < C.OWNER_SLOTS; o++) full.claim({ pid: other.pid, tid: 0, startTime: 0n, bootId: 0n });
    assert.strictEqual(full.adopt(me), 0, 'no slot of a live pid is adopted');
  });

  // An owner that could not read its identity (no /proc, a permission model that denies it, no
  // file descriptor left at its first read) writes OWNER_START_UNKNOWN as its start time, and its
  // record is judged by its pid (rules 1 to 5), never by rule 6. Written as 0, it read as a record
  // without identity, and every party that knows its own took its locks while it lived.
  it('a record whose writer could not read its identity is judged by its pid (format.md §6)', () => {
    const UNKNOWN = BigInt(C.OWNER_START_UNKNOWN);
    assert.strictEqual(identityOf(exitedPid(), 1).startTime, UNKNOWN, 'written as the marker, not 0');
    const t = newTable();
    const me = self();
    const status = (id, reader = me) => {
      const o = t.claim(id);
      const s = t.status(o, reader);
      t.release(o);
      return s;
    };
    const unknown = { ...other, startTime: UNKNOWN, bootId: 0n };
    const blind = { ...me, startTime: UNKNOWN, bootId: 0n };
    assert.strictEqual(status(unknown), OTHER_PROCESS, 'a live process');
    assert.strictEqual(status(unknown, blind), OTHER_PROCESS, 'for a reader without identity too');
    assert.strictEqual(status({ ...unknown, bootId: other.bootId }), OTHER_PROCESS, 'a boot id, no start time');
    assert.strictEqual(status({ ...unknown, bootId: other.bootId ^ 1n }), GONE, 'another boot still');
    assert.strictEqual(status({ ...me, tid: 3, startTime: UNKNOWN }), THIS_PROCESS,
      'a thread of this process that could not read what this one did');
    assert.strictEqual(status(me, blind), THIS_PROCESS, 'and the other way round');
    const ended = t.claim({ ...unknown, pid: exitedPid() });
    assert.strictEqual(t.status(ended, me), GONE, 'an ended process');
    assert.ok(t.freeGone(ended, me), 'and its slot is freed');
  });

  it('marks a slot dead only while it names the same pid, tid and start time', () => {
    const t = newTable();
    const me = self();
    const o = t.claim(me);
    assert.strictEqual(t.markDead(o, { ...me, tid: me.tid + 1 }), false);
    assert.strictEqual(t.markDead(o, { ...me, startTime: me.startTime + 1n }), false);
    assert.strictEqual(t.markDead(o, { ...me, pid: other.pid }), false);
    assert.strictEqual(t.read(o).state, C.OWNER_STATE_LIVE);
    assert.strictEqual(t.markDead(o, me), true);
    assert.strictEqual(t.read(o).state, C.OWNER_STATE_DEAD);
    assert.strictEqual(t.markDead(o, me), false, 'already dead');
    t.release(o);
    assert.strictEqual(t.markDead(o, me), false, 'a released slot');
  });

  it('frees the slots of gone owners only', () => {
    const t = newTable();
    const me = self();
    const live = t.claim(other);
    const mine = t.claim({ ...me, tid: 3 });
    const reused = t.claim({ ...other, startTime: other.startTime + 1n });
    const rebooted = t.claim({ ...other, bootId: other.bootId + 1n });
    const dead = t.claim({ ...me, tid: 4 });
    t.markDead(dead, { ...me, tid: 4 });
    const gone = t.claim({ ...other, pid: exitedPid() });
    const freed = [live, mine, reused, rebooted, dead, gone].filter((o) => t.freeGone(o, me));
    assert.deepStrictEqual(freed, [reused, rebooted, dead, gone]);
    for (const o of freed) assert.ok(recordBytes(t, o).equals(Buffer.alloc(RECORD_BYTES)), `slot ${o} is all zero`);
    assert.strictEqual(t.read(live).pid, other.pid);
    assert.strictEqual(t.read(mine).pid, me.pid);
  });

  // Wraps t.status so that `during(o)` runs once, around the first verdict on slot `o`: `before`
  // just before it (the record as the caller read it changes under the verdict), `after` just
  // after it (before the caller acts on it).
  function aroundVerdict(t, o, { before = () => {}, after = () => {} }) {
    const status = t.status.bind(t);
    const seen = { judged: 0 };
    t.status = (slot, who, ...rest) => {
      if (slot !== o || seen.judged++ !== 0) return status(slot, who, ...rest);
      before();
      const verdict = status(slot, who, ...rest);
      after();
      return verdict;
    };
    return seen;
  }

  it('frees no slot whose record changed while it was judged', () => {
    const me = self();
    // A handle closes just before the verdict and a new one claims the slot just after: a thread
    // of the same process (even the same thread: the record reads exactly as before), or another
    // process. Judged from the slot again, the released record read as gone, and the new owner's
    // slot was freed (the same pid) or had its identity wiped (another pid).
    for (const next of [{ ...me, tid: 3 }, { ...me, tid: 4 }, other]) {
      const t = newTable();
      const o = t.claim({ ...me, tid: 3 });
      const seen = aroundVerdict(t, o, { before: () => t.release(o), after: () => assert.strictEqual(t.claim(next), o) });
      assert.strictEqual(t.freeGone(o, me), false);
      assert.strictEqual(seen.judged, 1);
      assert.deepStrictEqual(t.read(o), { ...next, state: C.OWNER_STATE_LIVE });
    }
  });

  // Wraps t.goneRecord so that `during()` runs once, right after the verdict on slot `o` that the
  // caller acts on (its second that found the owner gone: the first is judged before the actor
  // word is taken), before it acts.
  function afterGoneVerdict(t, o, during) {
    const goneRecord = t.goneRecord.bind(t);
    let verdicts = 0;
    t.goneRecord = (slot, who) => {
      const r = goneRecord(slot, who);
      if (slot === o && r !== null && ++verdicts === 2) during();
      return r;
    };
  }

  it('acts on a verdict holding the slot\'s actor word: a second party cannot act on the same one', () => {
    const me = self();
    // A thread of this process that ended without releasing its slot (marked dead). Between one
    // freer's verdict and its stores, a second freer that judged the same record frees the slot
    // and a new thread of this process claims the lowest free slot. Acting on the old verdict,
    // the first freer would clear the new owner's identity and free its slot (the same pid).
    const t = newTable();
    const second = new OwnerTable(t.u32, BASE.OWNER);
    t.claim({ ...me, tid: 3 });
    const o = t.claim({ ...me, tid: 4 });
    assert.ok(t.markDead(o, { ...me, tid: 4 }));
    const next = { ...me, tid: 5 };
    let freedBySecond;
    let claimed;
    afterGoneVerdict(t, o, () => {
      freedBySecond = second.freeGone(o, me);
      claimed = second.claim(next);
    });
    assert.strictEqual(t.freeGone(o, me), true);
    assert.strictEqual(freedBySecond, false, 'the second freer waits its turn');
    assert.notStrictEqual(claimed, o);
    assert.deepStrictEqual(second.read(claimed), { ...next, state: C.OWNER_STATE_LIVE });
    assert.ok(recordBytes(t, o).equals(Buffer.alloc(RECORD_BYTES)), 'the gone slot is free, its actor word too');

    // An adopter (every slot taken) and a freer of the same gone slot, whose pid a new owner
    // claims again in between: the adopter would take the live owner's slot.
    const full = newTable();
    const other2 = new OwnerTable(full.u32, BASE.OWNER);
    for (let s = 1; s < C.OWNER_SLOTS; s++) full.claim(other);
    full.release(9);
    const gone = { ...other, pid: exitedPid() };
    assert.strictEqual(full.claim(gone), 9);
    const reused = { ...gone, startTime: gone.startTime + 1n, tid: 2 };
    afterGoneVerdict(full, 9, () => {
      freedBySecond = other2.freeGone(9, me);
      claimed = other2.claim(reused);
    });
    assert.strictEqual(full.adopt(me), 9);
    assert.strictEqual(freedBySecond, false);
    assert.strictEqual(claimed, 0, 'the table is still full');
    assert.deepStrictEqual(full.read(9), { ...me, state: C.OWNER_STATE_LIVE });
  });

  it('leaves a slot alone while a live process holds its actor word, and takes over a dead one\'s hold', () => {
    const t = newTable();
    const me = self();
    const o = t.claim({ ...other, pid: exitedPid() });
    const actor = (o2) => t.u32[BASE.OWNER + o2 * W.OWNER.WORDS + W.OWNER.ACTOR];
    for (const holder of [process.pid, child.pid]) {
      t.u32[BASE.OWNER + o * W.OWNER.WORDS + W.OWNER.ACTOR] = holder;
      assert.strictEqual(t.freeGone(o, me), false, `held by ${holder}`);
      assert.strictEqual(actor(o), holder);
      assert.notStrictEqual(t.read(o).pid, 0);
    }
    t.u32[BASE.OWNER + o * W.OWNER.WORDS + W.OWNER.ACTOR] = exitedPid();
    assert.strictEqual(t.freeGone(o, me), true);
    assert.strictEqual(actor(o), 0);
    assert.ok(recordBytes(t, o).equals(Buffer.alloc(RECORD_BYTES)));
  });

  it('threads claiming, leaving dead and freeing slots of one table at once never touch a live owner\'s record', async function () {
    this.timeout(60000);
    // Four threads of this process share a table of 16 slots. Each in turn claims a slot with an
    // identity of its own (tid unique per claim), checks its record, frees a few slots of gone
    // owners, checks its record again, and leaves the slot released or marked dead (a thread
    // that ended without releasing). A dead slot is freed by whichever thread judges it first:
    // several judge the same record while others claim the slots freed, the race the actor word
    // closes. Invariant: a live owner's record reads as written until its owner leaves it.
    const lib = path.join(__dirname, '..', '..', 'lib');
    const SLOTS = 16;
    const t = new OwnerTable(new Uint32Array(new SharedArrayBuffer(C.OWNERS_OFFSET + SLOTS * RECORD_BYTES)), BASE.OWNER, SLOTS);
    const workers = [0, 1, 2, 3].map((n) => new Worker(`
      const { workerData, parentPort } = require('worker_threads');
      const { OwnerTable, identityOf } = require(workerData.lib + '/ownership/owners');
      const t = new OwnerTable(new Uint32Array(workerData.buffer), workerData.base, workerData.slots);
      const base = identityOf(process.pid, 0);
      let seed = workerData.n + 1;
      const rand = (k) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % k; };
      const same = (r, id) => r.pid === id.pid && r.tid === id.tid && r.startTime === id.startTime &&
        r.bootId === id.bootId && r.state === 0;
      let claims = 0; let freed = 0; let broken = 0; let full = 0;
      for (let i = 0; i < workerData.rounds; i++) {
        const id = { ...base, tid: workerData.n * 1000000 + i + 1 };
        const o = t.claim(id);
        if (o === 0) { full++; } else {
          claims++;
          if (!same(t.read(o), id)) broken++;
        }
        for (let k = 0; k < 3; k++) if (t.freeGone(1 + rand(workerData.slots - 1), base)) freed++;
        if (o !== 0) {
          if (!same(t.read(o), id)) broken++;
          if (rand(2) === 0) t.release(o);
          else if (!t.markDead(o, id)) broken++;
        }
      }
      parentPort.postMessage({ claims, freed, broken, full });
    `, { eval: true, workerData: { lib, buffer: t.u32.buffer, base: BASE.OWNER, slots: SLOTS, n, rounds: 20000 } }));
    const results = await Promise.all(workers.map((w) => new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    })));
    for (const w of workers) await w.terminate();
    const sum = (k) => results.reduce((a, r) => a + r[k], 0);
    assert.strictEqual(sum('broken'), 0, JSON.stringify(results));
    assert.ok(sum('claims') > 40000 && sum('freed') > 10000, JSON.stringify(results));
    // Every slot left is free or dead; freeing the dead ones leaves the table all zero.
    const me = self();
    for (let o = 1; o < SLOTS; o++) t.freeGone(o, me);
    for (let o = 1; o < SLOTS; o++) assert.ok(recordBytes(t, o).equals(Buffer.alloc(RECORD_BYTES)), `slot ${o}`);
  });

  it('a full table: adopts no slot whose record changed while it was judged', () => {
    const t = newTable();
    const me = self();
    for (let o = 1; o < C.OWNER_SLOTS; o++) t.claim(other);
    // A handle of the other process closes as its slot is judged and another of its threads
    // claims the slot: the slot is that live handle's, never the adopter's.
    const next = { ...other, tid: 2 };
    aroundVerdict(t, 7, { before: () => t.release(7), after: () => assert.strictEqual(t.claim(next), 7) });
    assert.strictEqual(t.adopt(me), 0);
    assert.deepStrictEqual(t.read(7), { ...next, state: C.OWNER_STATE_LIVE });
  });

  it('a full table: adopts a gone owner\'s slot, never a live one, its own pid\'s when gone', () => {
    const t = newTable();
    const me = self();
    for (let o = 1; o < C.OWNER_SLOTS; o++) t.claim(other);
    assert.strictEqual(t.claim(me), 0);
    assert.strictEqual(t.adopt(me), 0, 'every owner is live');
    // Slot 100 names this pid in an earlier process: gone, and adopted by this pid (otherwise it
    // would stay taken for as long as this process lives).
    t.release(100);
    t.claim({ ...me, startTime: me.startTime + 1n });
    assert.strictEqual(t.adopt(me), 100);
    assert.deepStrictEqual(t.read(100), { ...me, state: 0 });
    assert.strictEqual(t.adopt(me), 0, 'the adopted slot is live again');
    // Slot 200 names a thread of this process that ended without releasing it (marked dead).
    t.release(200);
    const ended = { ...me, tid: me.tid + 1 };
    t.claim(ended);
    assert.ok(t.markDead(200, ended));
    assert.strictEqual(t.adopt(me), 200);
    assert.deepStrictEqual(t.read(200), { ...me, state: 0 });
    // Slot 4000 names the live child's pid with another start time: a reused pid, gone.
    t.release(4000);
    t.claim({ ...other, startTime: other.startTime + 1n });
    assert.strictEqual(t.adopt(me), 4000);
    assert.deepStrictEqual(t.read(4000), { ...me, state: 0 });
    assert.strictEqual(t.status(4000, me), THIS_PROCESS);
  });
});

describe('ownership: the addon marks a watched slot dead when its thread ends', function () {
  this.timeout(30000);
  before(function () {
    if (!addon) throw loadError; // the addon is part of what npm test checks: never skip
  });

  // Runs a worker that claims a slot in `table` with its own identity and watches it, then does
  // `then` ('return': its script ends; 'hang': waits to be terminated; 'unwatch': unwatches and
  // ends). Resolves with the slot once the worker has exited.
  async function watchedInWorker(table, then) {
    const lib = path.join(__dirname, '..', '..', 'lib');
    const w = new Worker(`
      const { workerData, parentPort, threadId } = require('worker_threads');
      const { OwnerTable, identityOf } = require(workerData.lib + '/ownership/owners');
      const t = new OwnerTable(new Uint32Array(workerData.buffer), workerData.base);
      const id = identityOf(process.pid, threadId);
      const slot = t.claim(id);
      const token = t.watch(slot, id);
      if (workerData.then === 'unwatch') t.unwatch(token);
      parentPort.postMessage({ slot, token });
      if (workerData.then === 'hang') for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    `, { eval: true, workerData: { lib, buffer: table.u32.buffer, base: BASE.OWNER, then } });
    const tid = w.threadId; // -1 once it has exited
    const exited = new Promise((resolve) => w.once('exit', resolve));
    const m = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    assert.ok(m.slot > 0 && m.token > 0, JSON.stringify(m));
    if (then === 'hang') await w.terminate();
    await exited;
    return { slot: m.slot, tid };
  }

  it('a worker stopped by terminate()', async () => {
    const t = newTable();
    const { slot, tid } = await watchedInWorker(t, 'hang');
    const r = t.read(slot);
    assert.strictEqual(r.tid, tid);
    assert.strictEqual(r.state, C.OWNER_STATE_DEAD);
    assert.strictEqual(t.status(slot, identityOf(process.pid, threadId)), GONE);
  });

  it('a worker that ended without releasing its slot', async () => {
    const t = newTable();
    const { slot } = await watchedInWorker(t, 'return');
    assert.strictEqual(t.read(slot).state, C.OWNER_STATE_DEAD);
  });

  // A claim is watched from the claim on (format.md §6, "Dead owners"): a thread terminated before
  // it calls watch() leaves a record the addon marks dead, never one that reads as a live owner
  // for as long as the process lives.
  it('a worker stopped by terminate() after its claim, before its watch()', async () => {
    const t = newTable();
    const lib = path.join(__dirname, '..', '..', 'lib');
    const w = new Worker(`
      const { workerData, parentPort, threadId } = require('worker_threads');
      const { OwnerTable, identityOf } = require(workerData.lib + '/ownership/owners');
      const t = new OwnerTable(new Uint32Array(workerData.buffer), workerData.base);
      parentPort.postMessage(t.claim(identityOf(process.pid, threadId)));
      for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    `, { eval: true, workerData: { lib, buffer: t.u32.buffer, base: BASE.OWNER } });
    const tid = w.threadId;
    const slot = await new Promise((resolve) => w.once('message', resolve));
    await w.terminate();
    assert.deepStrictEqual([t.read(slot).tid, t.read(slot).state], [tid, C.OWNER_STATE_DEAD]);
    assert.strictEqual(t.status(slot, identityOf(process.pid, threadId)), GONE);
  });

  it('a claim\'s watch is handed to watch(), and ended with a release that no watch() took', () => {
    const t = newTable();
    const me = identityOf(process.pid, threadId);
    const { claimWatchedOwnerSlot, unwatchOwnerSlot, releaseOwnerSlot } = addon;
    const log = [];
    addon.claimWatchedOwnerSlot = (...args) => {
      const token = claimWatchedOwnerSlot(...args);
      log.push({ what: 'claim', slot: args[2], token });
      return token;
    };
    addon.unwatchOwnerSlot = (token) => {
      log.push({ what: 'unwatch', token, pid: t.read(1).pid });
      return unwatchOwnerSlot(token);
    };
    // The release and the end of its watch are one call: the pid is read once it returned.
    addon.releaseOwnerSlot = (...args) => {
      const ended = releaseOwnerSlot(...args);
      log.push({ what: 'release', slot: args[2], token: args[3], ended, pid: t.read(1).pid });
      return ended;
    };
    try {
      assert.strictEqual(t.claim(me), 1);
      const token = t.watch(1, me);
      assert.strictEqual(token, log[0].token, 'no second watch');
      t.leave(1, token);
      assert.strictEqual(t.claim(me), 1);
      t.release(1);
      const [a, b] = [log[0].token, log[2].token];
      assert.deepStrictEqual(log, [
        { what: 'claim', slot: 1, token: a },
        { what: 'release', slot: 1, token: a, ended: true, pid: 0 },
        { what: 'claim', slot: 1, token: b },
        { what: 'release', slot: 1, token: b, ended: true, pid: 0 },
      ]);
      assert.strictEqual(unwatchOwnerSlot(b), false, 'the watch is gone');
    } finally {
      Object.assign(addon, { claimWatchedOwnerSlot, unwatchOwnerSlot, releaseOwnerSlot });
    }
  });

  it('releaseOwnerSlot ends only a watch of the record it releases', () => {
    const t = newTable();
    const me = identityOf(process.pid, threadId);
    const table = C.OWNERS_OFFSET;
    const a = addon.claimWatchedOwnerSlot(t.u32.buffer, table, 1, 0, me.pid, me.tid, Number(me.startTime), me.bootId);
    const b = addon.claimWatchedOwnerSlot(t.u32.buffer, table, 2, 0, me.pid, me.tid, Number(me.startTime), me.bootId);
    assert.strictEqual(addon.releaseOwnerSlot(t.u32.buffer, table, 1, b), false, 'b watches slot 2');
    assert.strictEqual(t.read(1).pid, 0, 'released all the same');
    assert.strictEqual(addon.releaseOwnerSlot(t.u32.buffer, table, 2, b), true);
    assert.strictEqual(addon.releaseOwnerSlot(t.u32.buffer, table, 2, 0), false, 'no watch named');
    assert.strictEqual(addon.unwatchOwnerSlot(b), false, 'b is gone');
    assert.strictEqual(addon.unwatchOwnerSlot(a), true, 'a was left');
  });

  it('not once unwatched (the handle was closed)', async () => {
    const t = newTable();
    const { slot } = await watchedInWorker(t, 'unwatch');
    assert.strictEqual(t.read(slot).state, C.OWNER_STATE_LIVE);
  });

  it('not a slot claimed again by another thread meanwhile', async () => {
    const t = newTable();
    const lib = path.join(__dirname, '..', '..', 'lib');
    // The worker watches slot 1 and stays; this thread then releases and reclaims it.
    const w = new Worker(`
      const { workerData, parentPort, threadId } = require('worker_threads');
      const { OwnerTable, identityOf } = require(workerData.lib + '/ownership/owners');
      const t = new OwnerTable(new Uint32Array(workerData.buffer), workerData.base);
      const id = identityOf(process.pid, threadId);
      const slot = t.claim(id);
      t.watch(slot, id);
      parentPort.postMessage(slot);
      for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    `, { eval: true, workerData: { lib, buffer: t.u32.buffer, base: BASE.OWNER } });
    const slot = await new Promise((resolve) => w.once('message', resolve));
    t.release(slot);
    const me = identityOf(process.pid, threadId);
    assert.strictEqual(t.claim(me), slot);
    await w.terminate();
    assert.strictEqual(t.read(slot).state, C.OWNER_STATE_LIVE);
    assert.strictEqual(t.status(slot, me), THIS_PROCESS);
  });

  // A thread of this process that is acting on a verdict holds the record's actor word, named by
  // this process's pid: no party takes over a live process's hold (format.md §6, "Acting on a
  // verdict"). A worker terminated while it held it left the slot to nobody (never freed nor
  // adopted again) for as long as the process lived; the addon gives the word back at the
  // worker's teardown.
  // Runs a worker that frees (`op` 'free') or adopts ('adopt') a slot of `table`, stopped where
  // `at` says: 'taken' just after it took the actor word, 'check' in adopt()'s check, 'clear'
  // when it clears the gone owner's identity, 'drop' once it acted, before it gives the word
  // back. Resolves with what the worker said first (`at` once it got there, or 'finished <what
  // it returned>') and `stop()`, which terminates it (or waits for its exit).
  async function actingInWorker(table, op, at, slot = 0) {
    const lib = path.join(__dirname, '..', '..', 'lib');
    const w = new Worker(`
      const { workerData, parentPort, threadId } = require('worker_threads');
      const { OwnerTable, identityOf } = require(workerData.lib + '/ownership/owners');
      const t = new OwnerTable(new Uint32Array(workerData.buffer), workerData.base);
      const me = identityOf(process.pid, threadId);
      const hang = () => {
        parentPort.postMessage(workerData.at);
        for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
      };
      const { takeActor } = OwnerTable.prototype;
      if (workerData.at === 'taken') t.takeActor = function (o, self) { if (takeActor.call(this, o, self)) hang(); return false; };
      if (workerData.at === 'drop') t.dropActor = hang;
      if (workerData.at === 'clear') t.clearIdentity = hang;
      const done = workerData.op === 'free' ? t.freeGone(workerData.slot, me)
        : t.adopt(me, workerData.at === 'check' ? { check: hang } : {});
      parentPort.postMessage('finished ' + done);
    `, { eval: true, workerData: { lib, buffer: table.u32.buffer, base: BASE.OWNER, op, at, slot } });
    const tid = w.threadId;
    const exited = new Promise((resolve) => w.once('exit', resolve));
    const said = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    return { said, tid, stop: () => w.terminate().then(() => exited) };
  }
  const actorOf = (t, o) => Atomics.load(t.u32, BASE.OWNER + o * W.OWNER.WORDS + W.OWNER.ACTOR);

  it('a worker terminated while it frees a slot, holding its actor word, leaves the slot to the next freer', async () => {
    const t = newTable();
    const me = identityOf(process.pid, threadId);
    const o = t.claim({ ...me, pid: exitedPid() });
    const gone = t.read(o);
    const { said, stop } = await actingInWorker(t, 'free', 'taken', o);
    assert.strictEqual(said, 'taken');
    assert.strictEqual(actorOf(t, o), process.pid);
    assert.strictEqual(t.freeGone(o, me), false, 'a live thread acts on it');
    await stop();
    assert.deepStrictEqual(t.read(o), gone, 'the record as judged');
    assert.strictEqual(actorOf(t, o), 0, 'the actor word given back');
    assert.strictEqual(t.freeGone(o, me), true);
    assert.ok(recordBytes(t, o).equals(Buffer.alloc(RECORD_BYTES)));
  });

  describe('a worker terminated while it adopts a slot, holding its actor word', () => {
    let child;
    let other;
    before(() => {
      child = sleeper();
      other = identityOf(child.pid, 1);
    });
    after(() => child.kill('SIGKILL'));

    // A full table: every slot names the live child but slot 9, whose owner is gone.
    function fullTable() {
      const t = newTable();
      for (let s = 1; s < C.OWNER_SLOTS; s++) t.claim(other);
      t.release(9);
      assert.strictEqual(t.claim({ ...other, pid: exitedPid() }), 9);
      return t;
    }

    it('before it acted (in its check): the slot is adopted by the next adopter', async () => {
      const t = fullTable();
      const gone = t.read(9);
      const me = identityOf(process.pid, threadId);
      const { said, stop } = await actingInWorker(t, 'adopt', 'check');
      assert.strictEqual(said, 'check');
      assert.strictEqual(actorOf(t, 9), process.pid);
      assert.strictEqual(t.adopt(me), 0, 'a live thread acts on it');
      await stop();
      assert.deepStrictEqual(t.read(9), gone, 'the record as judged');
      assert.strictEqual(t.adopt(me), 9);
      assert.deepStrictEqual([t.read(9), actorOf(t, 9)], [{ ...me, state: C.OWNER_STATE_LIVE }, 0]);
    });

    it('after it adopted the slot: the slot, marked dead, is freed by the next freer', async () => {
      const t = fullTable();
      const me = identityOf(process.pid, threadId);
      const { said, tid, stop } = await actingInWorker(t, 'adopt', 'drop');
      assert.strictEqual(said, 'drop');
      assert.deepStrictEqual([t.read(9).pid, t.read(9).tid, actorOf(t, 9)], [process.pid, tid, process.pid]);
      await stop();
      assert.deepStrictEqual([t.read(9).state, actorOf(t, 9)], [C.OWNER_STATE_DEAD, 0]);
      // (A repair pass frees it, as here; an adopter of this process, finding the table full,
      // could as well adopt it: format.md §6, "A full table".)
      assert.strictEqual(t.freeGone(9, me), true);
      assert.ok(recordBytes(t, 9).equals(Buffer.alloc(RECORD_BYTES)));
    });

    it('in its stores: never between clearing the gone owner\'s identity and taking its pid word', async () => {
      // Slot 9's owner is a thread of the live child that ended (marked dead). Stopped once it
      // cleared that identity, before its CAS of the pid word, an adopter would leave the child's
      // pid alone: a live owner, for as long as the child lives. The stores are one native call.
      const t = fullTable();
      t.release(9);
      assert.strictEqual(t.claim({ ...other, tid: 3 }), 9);
      assert.ok(t.markDead(9, { ...other, tid: 3 }));
      const me = identityOf(process.pid, threadId);
      const { said, stop } = await actingInWorker(t, 'adopt', 'clear');
      await stop();
      assert.strictEqual(said, 'finished 9', 'the worker adopted the slot, with no stop between');
      assert.deepStrictEqual([t.read(9).pid, t.read(9).state, actorOf(t, 9)], [process.pid, C.OWNER_STATE_DEAD, 0]);
      assert.strictEqual(t.freeGone(9, me), true);
    });
  });

  // A release clears the record's identity, then its pid; with the addon both, and the end of its
  // watch, are one native call (format.md §6, "Dead owners"). As JS steps, a worker terminated
  // between the two stores left this process's pid with no identity: its watch matched it no
  // more (never marked dead), this process counts it as its own and others judge it by the pid,
  // so the slot stayed taken for as long as the process lived. Terminated between the stores and
  // the end of its watch, its teardown marked dead whoever claimed the slot meanwhile with the
  // same (pid, tid, start time): a native thread whose kernel tid equals the worker's threadId.
  // Runs a worker that claims and watches a slot of `table`, then releases it (`how`: 'release'
  // or 'leave'), stopped for good at `at`: 'clear' once it cleared the identity, 'unwatch' when
  // it would end the watch after the release. Resolves once it said where it is, with its slot,
  // tid and `stop()`, which terminates it.
  async function releasingInWorker(table, how, at) {
    const lib = path.join(__dirname, '..', '..', 'lib');
    const w = new Worker(`
      const { workerData, parentPort, threadId } = require('worker_threads');
      const { OwnerTable, identityOf } = require(workerData.lib + '/ownership/owners');
      const native = require(workerData.lib + '/base/native');
      const t = new OwnerTable(new Uint32Array(workerData.buffer), workerData.base);
      const me = identityOf(process.pid, threadId);
      const slot = t.claim(me);
      const token = workerData.how === 'leave' ? t.watch(slot, me) : 0;
      const hang = () => {
        parentPort.postMessage({ slot, said: workerData.at });
        for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
      };
      const { clearIdentity } = OwnerTable.prototype;
      if (workerData.at === 'clear') t.clearIdentity = function (o) { clearIdentity.call(this, o); hang(); };
      if (workerData.at === 'unwatch') {
        t.unwatch = hang;
        native.addon.unwatchOwnerSlot = hang;
      }
      if (workerData.how === 'leave') t.leave(slot, token);
      else t.release(slot);
      parentPort.postMessage({ slot, said: 'released' });
      for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    `, { eval: true, workerData: { lib, buffer: table.u32.buffer, base: BASE.OWNER, how, at } });
    const tid = w.threadId;
    const exited = new Promise((resolve) => w.once('exit', resolve));
    const m = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    return { ...m, tid, stop: () => w.terminate().then(() => exited) };
  }

  for (const how of ['release', 'leave']) {
    it(`a worker terminated in ${how}() leaves its record free, never a pid without identity`, async () => {
      const t = newTable();
      const { slot, said, stop } = await releasingInWorker(t, how, 'clear');
      await stop();
      assert.deepStrictEqual(t.read(slot), { pid: 0, tid: 0, startTime: 0n, bootId: 0n, state: C.OWNER_STATE_LIVE });
      assert.ok(recordBytes(t, slot).equals(Buffer.alloc(RECORD_BYTES)));
      assert.strictEqual(said, 'released', 'the worker released the slot, with no stop between its stores');
      assert.strictEqual(t.claim(identityOf(process.pid, threadId)), slot, 'the slot is taken again');
    });

    it(`a worker terminated in ${how}() does not mark dead the next owner of the slot that reads as its thread`, async () => {
      const t = newTable();
      const { slot, said, tid, stop } = await releasingInWorker(t, how, 'unwatch');
      // The next owner reads as the worker's thread (a native thread whose kernel tid is the
      // worker's threadId), claimed before the worker's teardown.
      const next = identityOf(process.pid, tid);
      const claimed = t.claim(next);
      await stop();
      assert.strictEqual(claimed, slot);
      assert.deepStrictEqual(t.read(slot), { ...next, state: C.OWNER_STATE_LIVE });
      assert.strictEqual(said, 'released', 'the watch ended with the release');
    });
  }

  it('refuses bad arguments without crashing', () => {
    const sab = new SharedArrayBuffer(C.OWNERS_OFFSET + C.OWNER_SLOTS * RECORD_BYTES);
    assert.throws(() => addon.watchOwnerSlot({}, 0, 1, 1, 0, 0), TypeError);
    assert.throws(() => addon.watchOwnerSlot(sab, C.OWNERS_OFFSET, 0, 1, 0, 0), RangeError);
    assert.throws(() => addon.watchOwnerSlot(sab, C.OWNERS_OFFSET, C.OWNER_SLOTS, 1, 0, 0), RangeError);
    assert.throws(() => addon.watchOwnerSlot(sab, sab.byteLength, 1, 1, 0, 0), RangeError);
    assert.throws(() => addon.watchOwnerSlot(sab, C.OWNERS_OFFSET + 4, 1, 1, 0, 0), RangeError);
    assert.throws(() => addon.watchOwnerSlot(sab, C.OWNERS_OFFSET, 1, 0, 0, 0), RangeError);
    assert.throws(() => addon.unwatchOwnerSlot('x'), TypeError);
    // Token 0 is never handed out: any other number may be a live watch of this process (made by
    // the tests that ran before this one), which the call would end.
    assert.strictEqual(addon.unwatchOwnerSlot(0), false);
    assert.throws(() => addon.claimWatchedOwnerSlot(sab, C.OWNERS_OFFSET, 1, 0, process.pid, 0, 0, 1), TypeError);
    assert.throws(() => addon.claimWatchedOwnerSlot(sab, C.OWNERS_OFFSET, 1, 0, process.pid, 0, 0, -1n), RangeError);
    assert.throws(() => addon.claimWatchedOwnerSlot(sab, C.OWNERS_OFFSET, 0, 0, process.pid, 0, 0, 0n), RangeError);
    assert.throws(() => addon.claimWatchedOwnerSlot(sab, sab.byteLength, 1, 0, process.pid, 0, 0, 0n), RangeError);
    assert.strictEqual(addon.claimWatchedOwnerSlot(sab, C.OWNERS_OFFSET, 1, 7, process.pid, 0, 0, 0n), 0, 'the pid word is not 7');
    const claimed = addon.claimWatchedOwnerSlot(sab, C.OWNERS_OFFSET, 1, 0, process.pid, 0, 0, 0n);
    assert.ok(claimed > 0);
    assert.strictEqual(addon.unwatchOwnerSlot(claimed), true);
    const token = addon.watchOwnerSlot(sab, C.OWNERS_OFFSET, 1, process.pid, 0, 0);
    assert.strictEqual(addon.unwatchOwnerSlot(token), true);
    assert.strictEqual(addon.unwatchOwnerSlot(token), false, 'a token works once');
    assert.throws(() => addon.takeOwnerActor({}, C.OWNERS_OFFSET, 1, process.pid), TypeError);
    assert.throws(() => addon.takeOwnerActor(sab, C.OWNERS_OFFSET, 0, process.pid), RangeError);
    assert.throws(() => addon.takeOwnerActor(sab, C.OWNERS_OFFSET, 1, 0), RangeError);
    assert.throws(() => addon.dropOwnerActor(sab, sab.byteLength, 1), RangeError);
    assert.throws(() => addon.freeOwnerSlot(sab, C.OWNERS_OFFSET, 1, 0), RangeError);
    assert.throws(() => addon.releaseOwnerSlot(sab, C.OWNERS_OFFSET, 0, 0), RangeError);
    assert.throws(() => addon.releaseOwnerSlot(sab, C.OWNERS_OFFSET, 1, -1), RangeError);
    assert.throws(() => addon.releaseOwnerSlot({}, C.OWNERS_OFFSET, 1, 0), TypeError);
    assert.strictEqual(addon.dropOwnerActor(sab, C.OWNERS_OFFSET, 1), false, 'not held');
    assert.strictEqual(addon.takeOwnerActor(sab, C.OWNERS_OFFSET, 1, process.pid), true);
    assert.strictEqual(addon.takeOwnerActor(sab, C.OWNERS_OFFSET, 1, process.pid), false, 'held by this process');
    assert.strictEqual(addon.dropOwnerActor(sab, C.OWNERS_OFFSET, 1), true);
    assert.strictEqual(addon.dropOwnerActor(sab, C.OWNERS_OFFSET, 1), false, 'a hold is given back once');
    assert.strictEqual(addon.freeOwnerSlot(sab, C.OWNERS_OFFSET, 1, 7), false, 'the pid word is not 7');
    assert.strictEqual(addon.freeOwnerSlot(sab, C.OWNERS_OFFSET, 1, process.pid), true);
    assert.ok(Buffer.from(sab, C.OWNERS_OFFSET + RECORD_BYTES, RECORD_BYTES).equals(Buffer.alloc(RECORD_BYTES)));
    assert.throws(() => addon.processIdentity('1'), TypeError);
    assert.throws(() => addon.processIdentity(0), RangeError);
    assert.throws(() => addon.processIdentity(2 ** 32), RangeError);
    assert.deepStrictEqual(addon.processIdentity(exitedPid()), { gone: true, startTime: 0n, bootId: proc.bootId() });
  });
});

// Node's permission model (--permission) can deny a process's JS code /proc, never its addon's
// code. With the addon loaded, the JS code takes this process's start time and the boot id, and
// what it knows of other processes, from the addon (lib/base/process.js; format.md §6, "Identity
// unknown"). Before, such a process's JS records held OWNER_START_UNKNOWN and no boot id where
// its native records held its identity: other processes judged its JS handles by their pid
// alone (their locks held after the pid was reused, and after a reboot for a store on a file),
// and its JS handles took the records of a reused pid or an earlier boot for live, where its
// native handles took them for gone.
describe('ownership: a process whose JS code cannot read /proc (permission model)', function () {
  this.timeout(60000);
  const flags = noProcNodeArgs();
  const run = async (args, { env, nodeArgs = [] } = {}) => {
    const r = await runNode(IDENTITY_CHILD, args, { nodeArgs: [...flags, ...nodeArgs], env });
    assert.strictEqual(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.strictEqual(out.procDenied, true, 'the child\'s JS code is denied /proc');
    return { ...out, pid: r.child.pid };
  };
  beforeEach(function () {
    if (flags === null || !addon) this.skip();
  });

  it('with the addon, its JS handles record the identity its native handles record: its start time and the boot id', async () => {
    const out = await run(['records']);
    assert.strictEqual(out.addon, true);
    // One record of its JS mutex handle, then one of its native handle of the same region, whose
    // code read /proc itself: the child's start time (it started after this process) and the
    // boot id.
    assert.strictEqual(out.records.length, 2);
    const [js, native] = out.records;
    assert.ok(BigInt(native.startTime) >= proc.ownStartTime() && BigInt(native.startTime) < BigInt(C.OWNER_START_UNKNOWN),
      `the native record holds the child's start time (${native.startTime})`);
    assert.strictEqual(native.bootId, String(proc.bootId()));
    assert.deepStrictEqual(js, native);
  });

  it('with the addon, its JS handles judge another process\'s record as its native handles do', async () => {
    const live = sleeper();
    try {
      const { startTime } = proc.readProcessStat(live.pid);
      const out = await run(['judge', live.pid, startTime, proc.bootId(), exitedPid()]);
      // Whether a lock held by each record is taken over (tryLock), by a JS and a native handle.
      assert.deepStrictEqual(out.verdicts, {
        live: { js: false, native: false },
        reused: { js: true, native: true },
        rebooted: { js: true, native: true },
        ended: { js: true, native: true },
      });
    } finally {
      live.kill('SIGKILL');
    }
  });

  it('without the addon, its JS handles record the start time as unknown and no boot id, as before', async () => {
    const empty = tempDir();
    try {
      // An addon directory without the addon, which the child may read.
      const out = await run(['records'], { env: { SHMSTORE_ADDON_DIR: empty.dir }, nodeArgs: [`--allow-fs-read=${empty.dir}/*`] });
      assert.strictEqual(out.addon, false);
      assert.deepStrictEqual(out.records, [{ startTime: String(C.OWNER_START_UNKNOWN), bootId: '0' }]);
    } finally {
      empty.cleanup();
    }
  });
});
