'use strict';
// The kinds of a registry (docs/format.md §14 "Kinds"; lib/registry/kinds.js): a kind made by
// regionKind() from a class of the usual shape, and "in use" as the owner records of other
// processes tell it (the handle of a process that was killed does not count).
const assert = require('assert');
const path = require('path');
const { Registry, Store, Segment } = require('../../index');
const { addon } = require('../../lib/base/native');
const { C, S } = require('../../lib/layout/layout');
const { KINDS, regionKind } = require('../../lib/registry/kinds');
const { acquiredWord } = require('../../lib/ownership/lockword');
const { OwnerTable } = require('../../lib/ownership/owners');
const { readProcessStat, bootId } = require('../../lib/base/process');
const { uniqueName, removeShm, noProcNodeArgs, holderProcess } = require('../helpers/process');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'registry-child.js');
const withAddon = addon ? it : it.skip;

// A u32 cell in a region of a buffer, set from its creation option.
class Cell {
  static BYTES = 100;

  static create({ buffer, byteOffset, initial = 0 }) {
    const cell = new Cell(buffer, byteOffset, false);
    Atomics.store(cell.word, 0, initial);
    return cell;
  }

  static open({ buffer, byteOffset, readOnly = false }) {
    return new Cell(buffer, byteOffset, readOnly);
  }

  constructor(buffer, byteOffset, readOnly) {
    this.word = new Uint32Array(buffer, byteOffset, 1);
    this.readOnly = readOnly;
    this.closed = false;
  }

  close() {
    this.closed = true;
  }
}

// A child process that opens `kind` `name` of the registry (and locks it, a mutex) and waits.
function holder(registry, kind, name, nodeArgs = []) {
  const { child, held, exited } = holderProcess([...nodeArgs, CHILD, 'hold', registry, kind, name]);
  return { pid: child.pid, held, kill: () => { child.kill('SIGKILL'); return exited; } };
}

// The owner records naming process `pid` in the owner table of `slots` records at byte `at` of
// the segment `target`, as { startTime, bootId }.
function recordsOf(target, at, slots, pid) {
  const seg = Segment.open(target);
  try {
    const table = new OwnerTable(new Uint32Array(seg.buffer), at / Uint32Array.BYTES_PER_ELEMENT, slots);
    const out = [];
    for (let o = 1; o < slots; o++) {
      const { pid: p, startTime, bootId } = table.read(o);
      if (p === pid) out.push({ startTime, bootId });
    }
    return out;
  } finally {
    seg.close();
  }
}

describe('Registry kinds', () => {
  it('regionKind(): a class with BYTES, create() and open() is a kind in one line', () => {
    KINDS.cell = regionKind(Cell, { version: 3, createOptions: ['initial'], openOptions: ['readOnly'] });
    try {
      const buffer = new SharedArrayBuffer(C.REGISTRY_ENTRIES_OFFSET + 4 * S.REGISTRY_ENTRY.SIZE + 4096);
      const registry = Registry.create({ buffer, maxEntries: 4 });
      const a = registry.create('cell', 'c', { initial: 41 });
      assert.strictEqual(a.word[0], 41);
      assert.strictEqual(a.word.byteOffset % C.UNIT, 0);
      const b = registry.open('cell', 'c', { readOnly: true });
      assert.strictEqual(b.readOnly, true);
      Atomics.add(b.word, 0, 1);
      assert.strictEqual(a.word[0], 42);
      assert.deepStrictEqual(registry.list().map(({ name, kind, version, byteLength, options }) =>
        ({ name, kind, version, byteLength, options })),
      [{ name: 'c', kind: 'cell', version: 3, byteLength: 2 * C.UNIT, options: { initial: 41 } }]);
      assert.throws(() => registry.open('cell', 'c', { initial: 1 }), TypeError); // a creation option
      registry.delete('c'); // no owner records: never "in use"
      registry.close();
      assert.deepStrictEqual([a.closed, b.closed], [true, true]);
    } finally {
      delete KINDS.cell;
    }
  });

  it('a kind whose name does not fit the entry (16 ASCII bytes) is refused before anything is written', () => {
    KINDS['a-kind-name-too-long'] = KINDS.bytes;
    try {
      const registry = Registry.create({ buffer: new SharedArrayBuffer(C.REGISTRY_ENTRIES_OFFSET + 4 * S.REGISTRY_ENTRY.SIZE + 4096), maxEntries: 4 });
      assert.throws(() => registry.create('a-kind-name-too-long', 'x', { size: 1 }), /printable ASCII characters/);
      assert.deepStrictEqual([registry.list(), registry.stats().freeBytes], [[], 4096]);
      registry.close();
    } finally {
      delete KINDS['a-kind-name-too-long'];
    }
  });

  // Also when that process's JS code cannot read /proc (Node's permission model denies it): its
  // handles, JS (the mutex) and native (the store) alike, record its identity as the addon reads
  // it (format.md §6, "Identity unknown"), and count while it lives. (Its JS handles recorded the
  // start time as unknown before, and were judged by the pid alone; recorded as 0, they read as
  // records without identity, and the structures were deleted under it.)
  for (const noProc of [false, true]) {
    withAddon(`a mutex or a store open in another process is in use until that process is killed${noProc ? ' (a process that cannot read /proc)' : ''}`, async function () {
      const nodeArgs = noProc ? noProcNodeArgs() : [];
      if (nodeArgs === null) this.skip();
      await inUseUntilKilled(nodeArgs);
    });
  }

  async function inUseUntilKilled(nodeArgs) {
    const name = uniqueName('regkind');
    const registry = Registry.create({ name, size: 1 << 16, maxEntries: 4 });
    let holders = [];
    let segment = null;
    try {
      registry.create('mutex', 'm').close();
      const s = registry.create('store', 's', { size: 1 << 19 });
      segment = registry.list().find((e) => e.name === 's').options.segment;
      s.close();
      holders = [holder(name, 'mutex', 'm', nodeArgs), holder(name, 'store', 's', nodeArgs)];
      await Promise.all(holders.map((h) => h.held));
      const mutexAt = registry.list().find((e) => e.name === 'm').byteOffset;
      const found = [
        ...recordsOf({ name }, mutexAt + C.SYNC_OWNERS_OFFSET, C.SYNC_OWNER_SLOTS, holders[0].pid),
        ...recordsOf(segment, C.OWNERS_OFFSET, C.OWNER_SLOTS, holders[1].pid),
      ];
      assert.deepStrictEqual(found, holders.map((h) => ({ startTime: readProcessStat(h.pid).startTime, bootId: bootId() })),
        'each holder\'s record holds its start time and the boot id');
      assert.throws(() => registry.delete('m'), { code: 'ERR_IN_USE' });
      assert.throws(() => registry.delete('s'), { code: 'ERR_IN_USE' });
      assert.deepStrictEqual(await Promise.all(holders.map((h) => h.kill())), ['SIGKILL', 'SIGKILL']);
      registry.delete('m'); // its holder died holding the lock: deleting it is fine
      registry.delete('s');
      assert.throws(() => Store.open(segment), { code: 'ERR_SHM_NOT_FOUND' });
      assert.deepStrictEqual(registry.list(), []);
    } finally {
      await Promise.all(holders.map((h) => h.kill()));
      registry.close();
      removeShm(name);
      if (segment !== null) removeShm(segment.name);
    }
  }

  it('every sync kind is created and found by name, shares its state, and is deleted', () => {
    const buffer = new SharedArrayBuffer(256 << 10);
    const a = Registry.create({ buffer, maxEntries: 16 });
    const b = Registry.open({ buffer });
    try {
      const sem = a.create('semaphore', 'slots', { permits: 3 });
      assert.deepStrictEqual(sem.tryAcquire(2), { recovered: false });
      assert.strictEqual(b.open('semaphore', 'slots').permits, 1);
      const barrier = a.create('barrier', 'step', { parties: 2 });
      assert.strictEqual(b.open('barrier', 'step').parties, 2);
      const wg = a.create('waitgroup', 'jobs');
      wg.add(5);
      assert.strictEqual(b.open('waitgroup', 'jobs').count, 5);
      const rw = a.create('rwlock', 'table');
      assert.deepStrictEqual(rw.tryWriteLock(), { recovered: false });
      assert.strictEqual(b.open('rwlock', 'table').tryReadLock(), false);
      rw.writeUnlock();
      a.create('condition', 'ready');
      assert.strictEqual(typeof b.open('condition', 'ready').notifyAll, 'function');
      assert.deepStrictEqual(a.list().map((e) => [e.name, e.kind]).sort(),
        [['jobs', 'waitgroup'], ['ready', 'condition'], ['slots', 'semaphore'], ['step', 'barrier'], ['table', 'rwlock']]);
      assert.throws(() => b.open('mutex', 'table'), { code: 'ERR_KIND_MISMATCH' });
      for (const e of a.list()) if (e.kind === 'condition' || e.kind === 'waitgroup') a.delete(e.name);
      assert.strictEqual(a.list().length, 3);
      void barrier;
    } finally {
      b.close();
      a.close();
    }
  });
  it('the queue kinds are created and found by name, and carry messages between handles', () => {
    const buffer = new SharedArrayBuffer(1 << 20);
    const a = Registry.create({ buffer, maxEntries: 8 });
    const b = Registry.open({ buffer });
    try {
      const ring = a.create('spsc', 'events', { capacity: 1024 });
      const queue = a.create('mpmc', 'jobs', { capacity: 16, messageBytes: 64 });
      const channel = a.create('channel', 'replies', { capacity: 16 });
      assert.strictEqual(ring.tryEnqueue('hello'), true);
      assert.strictEqual(queue.tryEnqueue({ job: 7 }), true);
      assert.strictEqual(channel.trySend('done'), true);
      assert.strictEqual(b.open('spsc', 'events').tryDequeue(), 'hello');
      assert.deepStrictEqual(b.open('mpmc', 'jobs').tryDequeue(), { job: 7 });
      assert.strictEqual(b.open('channel', 'replies').tryReceive(), 'done');
      const listed = Object.fromEntries(a.list().map((e) => [e.name, e]));
      assert.deepStrictEqual(listed.jobs.options, { capacity: 16, messageBytes: 64 });
      // An option left to its default is listed as the structure has it, not as 0.
      assert.deepStrictEqual(listed.replies.options, { capacity: 16, messageBytes: channel.messageBytes });
      assert.ok(channel.messageBytes > 0);
      assert.deepStrictEqual(listed.events.options, { capacity: 1024, elementSize: 0 });
      const pq = a.create('priority-queue', 'urgent', { capacity: 8, order: 'min' });
      const stack = a.create('stack', 'undo', { capacity: 8 });
      const more = Object.fromEntries(a.list().map((e) => [e.name, e]));
      assert.deepStrictEqual(more.urgent.options, { capacity: 8, messageBytes: pq.messageBytes, order: 'min' });
      assert.deepStrictEqual(more.undo.options, { capacity: 8, messageBytes: stack.messageBytes });
      pq.close();
      stack.close();
      a.delete('urgent');
      a.delete('undo');
      assert.throws(() => a.create('mpmc', 'bad', { capacity: 3 }), { name: 'RangeError' });
      assert.throws(() => b.open('spsc', 'jobs'), { code: 'ERR_KIND_MISMATCH' });
      assert.strictEqual(a.list().length, 3, 'a refused create leaves the table unchanged');
    } finally {
      b.close();
      a.close();
    }
  });
});

// A live entry whose block lies outside the data area is damage (docs/format.md §14, "Repair"):
// the first call that meets it runs the repair pass, which clears it, instead of every later
// list(), open() and delete() failing with a RangeError; the other structures stay, and
// openOrCreate() then creates the name. An entry of another format version is not deleted with
// this version's code (ERR_BAD_VERSION). A structure whose own header says it is larger than its
// block is not opened (ERR_CORRUPT), and one whose header cannot give list() its options is
// listed without them.
describe('Registry: a damaged entry and an entry of another version', () => {
  const { layout: { C: LC, W: LW } } = require('../../index');
  const entryWord = (slot, field) => LC.REGISTRY_ENTRIES_OFFSET / 4 + slot * LW.REGISTRY_ENTRY.WORDS + LW.REGISTRY_ENTRY[field];
  const slotOf = (u32, maxEntries, unit) => {
    for (let s = 0; s < maxEntries; s++) {
      if (Atomics.load(u32, entryWord(s, 'STATE')) === LC.REGISTRY_ENTRY_LIVE && Atomics.load(u32, entryWord(s, 'UNIT')) === unit) return s;
    }
    return -1;
  };

  // A registry of two byte blocks, 'keep' (its first byte 7) and 'bad', whose entry names a
  // block past the data area; and the repair count before anything looked at it.
  const withBlockPastData = () => {
    const buffer = new SharedArrayBuffer(1 << 20);
    const r = Registry.create({ buffer, maxEntries: 8 });
    const keep = r.create('bytes', 'keep', { size: 8 });
    keep[0] = 7;
    const bad = r.create('bytes', 'bad', { size: 8 });
    const u32 = new Uint32Array(buffer);
    const slot = slotOf(u32, 8, bad.byteOffset / LC.UNIT);
    assert.ok(slot >= 0);
    Atomics.store(u32, entryWord(slot, 'UNIT'), 0x7fffffff);
    return { r, repairs: r.stats().repairs };
  };

  it('list(), open() and delete() clear a block past the data area by repair; the rest stays', () => {
    for (const call of ['list', 'open', 'delete']) {
      const { r, repairs } = withBlockPastData();
      if (call === 'list') assert.deepStrictEqual(r.list().map((e) => e.name), ['keep']);
      if (call === 'open') assert.throws(() => r.open('bytes', 'bad'), { code: 'ERR_NOT_FOUND' });
      if (call === 'delete') assert.throws(() => r.delete('bad'), { code: 'ERR_NOT_FOUND' });
      assert.strictEqual(r.stats().repairs, repairs + 1, call);
      assert.deepStrictEqual(r.list().map((e) => e.name), ['keep']);
      assert.strictEqual(r.open('bytes', 'keep')[0], 7);
      r.create('bytes', 'bad', { size: 8 }); // the name is free again
      r.close();
    }
  });

  // A header damaged into another shape its class allows (another power-of-two capacity, another
  // block count, a larger class below the largest) gives the structure more bytes than its block:
  // a handle on it would write over the next block, or past the registry's end.
  it('open() of a structure whose header gives it more bytes than its block is ERR_CORRUPT; the next block keeps its bytes', () => {
    const WORD = Uint32Array.BYTES_PER_ELEMENT;
    const capacity = LC.MSG_HEADER_OFFSET / WORD + LW.MSG_HEADER.CAPACITY;
    const blockCount = LC.POOL_HEADER_OFFSET / WORD + LW.POOL_HEADER.BLOCK_COUNT;
    const firstClassSize = LC.POOL_CLASSES_OFFSET / WORD + LW.POOL_CLASS.BLOCK_SIZE;
    const cases = [
      ['spsc', { capacity: 64 }, capacity, 1024],
      ['mpmc', { capacity: 8 }, capacity, 16],
      ['priority-queue', { capacity: 8 }, capacity, 16],
      ['buffer-pool', { blockSize: 64, blockCount: 2 }, blockCount, 3],
      ['object-pool', { recordSize: 64, capacity: 2 }, blockCount, 3],
      ['memory-pool', { classes: [{ size: 32, count: 2 }, { size: 100, count: 1 }] }, firstClassSize, 96],
    ];
    for (const [kind, options, word, value] of cases) {
      const buffer = new SharedArrayBuffer(1 << 17);
      const r = Registry.create({ buffer, maxEntries: 8 });
      const made = r.create(kind, 's', options);
      made.close();
      const next = r.create('bytes', 'next', { size: 4 * C.UNIT });
      next.fill(7);
      Atomics.store(new Uint32Array(buffer, made.byteOffset), word, value);
      assert.throws(() => r.open(kind, 's'), { code: 'ERR_CORRUPT' }, kind);
      assert.ok(next.every((b) => b === 7), kind);
      assert.deepStrictEqual(r.list().map((e) => e.name), ['next', 's']); // listed, deletable
      r.delete('s');
      r.close();
    }
  });

  it('list() shows a memory pool whose header or class table is damaged without options, and the others', () => {
    const WORD = Uint32Array.BYTES_PER_ELEMENT;
    const cases = [
      [LC.POOL_HEADER_OFFSET / WORD + LW.POOL_HEADER.MAGIC, 'ERR_BAD_MAGIC'],
      [LC.POOL_HEADER_OFFSET / WORD + LW.POOL_HEADER.VERSION, 'ERR_BAD_VERSION'],
      [LC.POOL_CLASSES_OFFSET / WORD + LW.POOL_CLASS.COUNT, 'ERR_CORRUPT'],
    ];
    for (const [word, code] of cases) {
      const buffer = new SharedArrayBuffer(1 << 17);
      const r = Registry.create({ buffer, maxEntries: 8 });
      const heap = r.create('memory-pool', 'heap', { classes: [{ size: 32, count: 2 }, { size: 100, count: 1 }] });
      heap.close();
      r.create('bytes', 'keep', { size: 8 });
      Atomics.xor(new Uint32Array(buffer, heap.byteOffset), word, 2);
      assert.deepStrictEqual(r.list().map((e) => [e.name, e.options]), [['heap', {}], ['keep', { size: 8 }]], code);
      assert.throws(() => r.open('memory-pool', 'heap'), { code });
      r.close();
    }
  });

  it('openOrCreate() of a name whose block lies past the data area clears it by repair and creates the name', () => {
    const { r, repairs } = withBlockPastData();
    const made = r.openOrCreate('bytes', 'bad', { size: 8 });
    assert.ok(made.every((b) => b === 0)); // a new block, zero-filled
    assert.strictEqual(r.stats().repairs, repairs + 1);
    assert.deepStrictEqual(r.list().map((e) => e.name), ['bad', 'keep']);
    assert.strictEqual(r.open('bytes', 'keep')[0], 7);
    r.close();
  });

  // The entry's units damaged smaller: a sync object takes its class's fixed size whatever its
  // block, so a handle on it would reach over the next block, which the registry handed out as
  // free space; and the owner records of its in-use check would be read from that block, or
  // past the end of the registry's buffer.
  it('open() of a sync object whose block is shorter than the object is ERR_CORRUPT; delete() reads nothing past the block', () => {
    const sync = [['mutex', {}], ['rwlock', {}], ['semaphore', {}], ['barrier', { parties: 2 }], ['condition', {}], ['waitgroup', {}]];
    for (const [kind, options] of sync) {
      // The data area ends where the buffer does.
      const buffer = new SharedArrayBuffer(LC.REGISTRY_ENTRIES_OFFSET + 8 * S.REGISTRY_ENTRY.SIZE + 512 * LC.UNIT);
      const r = Registry.create({ buffer, maxEntries: 8 });
      const made = r.create(kind, 's', options);
      made.close();
      const u32 = new Uint32Array(buffer);
      const slot = slotOf(u32, 8, made.byteOffset / LC.UNIT);
      Atomics.store(u32, entryWord(slot, 'UNITS'), 1);
      // A holder of the table lock that is gone (a zero owner record): the next operation runs
      // the repair pass, which rebuilds the free space from the blocks the entries record.
      Atomics.store(u32, (LC.REGISTRY_LOCK_OFFSET + LC.SYNC_MUTEX_OFFSET) / 4, acquiredWord(0, 9));
      const next = r.create('bytes', 'next', { size: 2 * LC.UNIT }); // in the units the damage freed
      assert.strictEqual(next.byteOffset, made.byteOffset + LC.UNIT, kind);
      next.fill(7);
      assert.throws(() => r.open(kind, 's'), { code: 'ERR_CORRUPT' }, kind);
      assert.ok(next.every((b) => b === 7), kind);
      // The one-unit block moved to the last unit of the buffer.
      Atomics.store(u32, entryWord(slot, 'UNIT'), buffer.byteLength / LC.UNIT - 1);
      assert.throws(() => r.open(kind, 's'), { code: 'ERR_CORRUPT' }, kind);
      r.delete('s');
      assert.deepStrictEqual(r.list().map((e) => e.name), ['next'], kind);
      assert.ok(next.every((b) => b === 7), kind);
      r.close();
    }
  });

  // A store's block names its segment; the name is derived from the entry (format.md §14, "The
  // store kind"), and one that is not its own is damage: followed, one flipped bit in the entry
  // index made open() return another entry's store and delete() unlink that store's segment.
  withAddon('a store reference damaged into another entry\'s segment name is ERR_CORRUPT from open() and never unlinked', () => {
    const name = uniqueName('regref');
    const r = Registry.create({ name, size: 1 << 16, maxEntries: 4 });
    try {
      const a = r.create('store', 'a', { size: 1 << 19 });
      a.set('ns', 'k', 'A');
      a.close();
      const b = r.create('store', 'b', { size: 1 << 19 });
      b.set('ns', 'k', 'B');
      b.close();
      const entries = r.list();
      const [ea, eb] = ['a', 'b'].map((n) => entries.find((e) => e.name === n));
      // The entry index in a's segment name, 0, made 1 (b's index; both are generation 1).
      assert.deepStrictEqual([ea.options.segment.name.endsWith('.0.1'), eb.options.segment.name.endsWith('.1.1')], [true, true]);
      const ref = new Uint8Array(r.buffer, ea.byteOffset, ea.byteLength);
      ref[S.REGISTRY_STORE_REF.SIZE + Buffer.byteLength(ea.options.segment.name) - 3] ^= 1;
      assert.throws(() => r.open('store', 'a'), { code: 'ERR_CORRUPT' });
      assert.strictEqual(r.list().find((e) => e.name === 'a').options.segment, null);
      r.delete('a'); // its own segment is left (a leak), never b's unlinked
      const again = r.open('store', 'b');
      assert.strictEqual(again.get('ns', 'k'), 'B');
      again.close();
      Store.open(ea.options.segment).close(); // a's own segment is still there
    } finally {
      r.close();
      for (const f of require('fs').readdirSync('/dev/shm').filter((x) => x.startsWith(`${name}.`))) removeShm(f);
      removeShm(name);
    }
  });

  // The kinds whose format version moved past 1, each with the options to create one.
  const UPGRADED = [['spsc', { capacity: 64 }], ['stack', { capacity: 8 }], ['barrier', { parties: 2 }], ['condition', {}], ['waitgroup', {}]];
  for (const [kind, options] of UPGRADED) {
    it(`a ${kind} of version 1 is refused by open() and deleted by delete(), after an upgrade`, () => {
      const buffer = new SharedArrayBuffer(1 << 20);
      const r = Registry.create({ buffer, maxEntries: 8 });
      const h = r.create(kind, 'x', options);
      const at = h.byteOffset;
      h.close();
      // As an earlier shmstore made it: its entry says version 1.
      const u32 = new Uint32Array(buffer);
      const slot = slotOf(u32, 8, at / LC.UNIT);
      assert.notStrictEqual(KINDS[kind].version, 1);
      Atomics.store(u32, entryWord(slot, 'VERSION'), 1);
      assert.throws(() => r.open(kind, 'x'), (e) => e.code === 'ERR_BAD_VERSION' && /delete it and create it again/.test(e.message));
      assert.throws(() => r.openOrCreate(kind, 'x'), { code: 'ERR_BAD_VERSION' });
      r.delete('x');
      assert.deepStrictEqual(r.list(), []);
      r.create(kind, 'x', options).close();
      assert.deepStrictEqual(r.list().map((e) => [e.name, e.version]), [['x', KINDS[kind].version]]);
      r.close();
    });
  }

  it('a stack of version 1 is not deleted while a live handle has it open', () => {
    const buffer = new SharedArrayBuffer(1 << 20);
    const r = Registry.create({ buffer, maxEntries: 8 });
    const s = r.create('stack', 'jobs', { capacity: 8 });
    const u32 = new Uint32Array(buffer);
    const slot = slotOf(u32, 8, s.byteOffset / LC.UNIT);
    Atomics.store(u32, entryWord(slot, 'VERSION'), C.MSG_FORMAT_VERSION);
    assert.throws(() => r.delete('jobs'), { code: 'ERR_IN_USE' });
    s.close();
    r.delete('jobs');
    assert.deepStrictEqual(r.list(), []);
    r.close();
  });

  it('delete() of an entry of another format version is ERR_BAD_VERSION and changes nothing', () => {
    const buffer = new SharedArrayBuffer(1 << 20);
    const r = Registry.create({ buffer, maxEntries: 8 });
    const m = r.create('mutex', 'lock');
    m.close();
    const u32 = new Uint32Array(buffer);
    const slot = slotOf(u32, 8, m.byteOffset / LC.UNIT);
    Atomics.store(u32, entryWord(slot, 'VERSION'), 99);
    assert.throws(() => r.delete('lock'), { code: 'ERR_BAD_VERSION' });
    assert.deepStrictEqual(r.list().map((e) => [e.name, e.version]), [['lock', 99]]);
    r.close();
  });
});
