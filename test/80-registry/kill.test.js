'use strict';
// A holder of the registry's table lock that dies in the middle of a create or a delete (kill -9,
// worker.terminate()) never wedges the table (docs/format.md §14, "Protocol"): the next operation
// takes the lock over, runs the repair pass, and the table is consistent by the independent
// reader of the document, with no name, entry, unit or store segment lost or leaked.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { Worker } = require('worker_threads');
const { Registry, Store } = require('../../index');
const { addon } = require('../../lib/base/native');
const { C, S } = require('../../lib/layout/layout');
const { KINDS } = require('../../lib/registry/kinds');
const { isHeld, ownerOf } = require('../../lib/ownership/lockword');
const { readRegistry } = require('../helpers/registry-reader');
const { uniqueName, removeShm } = require('../helpers/process');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'registry-child.js');
const describeWithAddon = addon ? describe : describe.skip;
// Every wait of these tests ends: a registry operation waits for the table lock at most this long.
const TIMEOUT_MS = 20000;

// Starts `node registry-child.js args`; `said(word)` resolves when it printed that word.
function child(args) {
  const proc = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiting = [];
  proc.stdout.on('data', (d) => {
    out += d;
    for (const w of waiting) if (out.includes(w.word)) w.resolve();
  });
  proc.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve(signal || code)));
  const said = (word) => new Promise((resolve, reject) => {
    if (out.includes(word)) return resolve();
    waiting.push({ word, resolve });
    exited.then((how) => reject(new Error(`child ended (${how}) before "${word}": ${err}`)));
    return undefined;
  });
  return { proc, said, exited, kill: () => { proc.kill('SIGKILL'); return exited; } };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Segments in /dev/shm named after the registry `name` (its stores).
function storeSegments(name) {
  return fs.readdirSync('/dev/shm').filter((f) => f.startsWith(`${name}.`)).sort();
}

// After the holders are gone: the table is consistent, every live store's segment exists and is
// the only one, and deleting everything gives back all the space.
function checkAndEmpty(name) {
  const registry = Registry.open({ name, timeoutMs: TIMEOUT_MS });
  try {
    const list = registry.list(); // takes the lock over and repairs if a holder died in it
    const r = readRegistry(registry.buffer);
    assert.deepStrictEqual(r.problems, []);
    assert.strictEqual(r.lock.held, false);
    const stores = list.filter((e) => e.kind === 'store');
    assert.deepStrictEqual(storeSegments(name), stores.map((e) => e.options.segment.name).sort());
    for (const e of stores) Store.open(e.options.segment).close();
    for (const e of list) registry.delete(e.name);
    const stats = registry.stats();
    assert.deepStrictEqual([stats.entries, stats.freeBytes, stats.freeBlocks], [0, stats.bytes, 0]);
    assert.deepStrictEqual(storeSegments(name), []);
    return { repairs: stats.repairs, live: list.length };
  } finally {
    registry.close();
  }
}

describeWithAddon('Registry: a creator killed before it wrote the header', () => {
  // docs/format.md §14, "Opening": such a segment was refused (ERR_BAD_MAGIC) by every open and
  // kept its name from every create (ERR_SHM_EXISTS) until someone unlinked it by hand. An
  // opener now finishes it, holding the table lock, once it stayed without its magic for
  // REGISTRY_OPEN_WAIT_MS.
  for (const point of ['segment-made', 'holding-lock']) {
    it(`kill -9 of Registry.create() ${point === 'segment-made' ? 'once it made the segment' : 'holding the table lock'}: open() finishes the registry`, async () => {
      const name = uniqueName('regcreate');
      try {
        const c = child(['create-stall', name, point]);
        await c.said('stalled');
        await c.kill();
        const registry = Registry.open({ name, timeoutMs: TIMEOUT_MS });
        try {
          assert.strictEqual(registry.maxEntries, C.REGISTRY_DEFAULT_ENTRIES); // the creator wrote no geometry
          registry.create('mutex', 'm').close();
          registry.create('bytes', 'b', { size: 100 });
          assert.deepStrictEqual(registry.list().map((e) => e.name), ['b', 'm']);
          const r = readRegistry(registry.buffer);
          assert.deepStrictEqual(r.problems, []);
          assert.strictEqual(r.lock.held, false);
          const again = Registry.open({ name, timeoutMs: TIMEOUT_MS }); // at once, as any registry
          assert.deepStrictEqual(again.list().map((e) => e.name), ['b', 'm']);
          again.close();
        } finally {
          registry.close();
        }
      } finally {
        removeShm(name);
      }
    });
  }
});

describeWithAddon('Registry: a holder killed in the middle of an operation', () => {
  let discards = 0;
  before(() => {
    // The parent's side of the test kind 'stall' (registry-child.js): it never stalls and counts
    // the discards the repair pass runs.
    KINDS.stall = { ...KINDS.bytes, createOptions: [], check() {}, bytes: () => 1, params: () => [],
      init: () => null, discard: () => { discards++; } };
  });
  after(() => {
    delete KINDS.stall;
  });

  it('kill -9 inside create: the next operation rolls the entry back', async () => {
    const name = uniqueName('regkill');
    const registry = Registry.create({ name, size: 1 << 16, maxEntries: 4, timeoutMs: TIMEOUT_MS });
    try {
      registry.create('mutex', 'kept').close();
      const before = readRegistry(registry.buffer);
      const c = child(['stall', name, 'create']);
      await c.said('stalled');
      const mid = readRegistry(registry.buffer);
      assert.deepStrictEqual([mid.lock.held, mid.entries.filter((e) => e.state === 'creating').length], [true, 1]);
      // A live holder is waited for, never taken over: a bounded wait, then ERR_LOCK_TIMEOUT.
      const impatient = Registry.open({ name, timeoutMs: 100 });
      assert.throws(() => impatient.list(), { code: 'ERR_LOCK_TIMEOUT' });
      impatient.close();
      assert.strictEqual(readRegistry(registry.buffer).entries.filter((e) => e.state === 'creating').length, 1);
      await c.kill();
      discards = 0;
      assert.deepStrictEqual(registry.list().map((e) => e.name), ['kept']);
      assert.strictEqual(discards, 1);
      const after = readRegistry(registry.buffer);
      assert.deepStrictEqual(after.problems, []);
      assert.deepStrictEqual([after.tailStart, after.header.repairs], [before.tailStart, 1]);
      registry.create('mutex', 'stalled').close(); // the name is free again
    } finally {
      registry.close();
      removeShm(name);
    }
  });

  it('kill -9 inside delete: the next operation finishes it', async () => {
    const name = uniqueName('regkill');
    const registry = Registry.create({ name, size: 1 << 16, maxEntries: 4, timeoutMs: TIMEOUT_MS });
    try {
      registry.create('stall', 'stalled');
      registry.create('bytes', 'after', { size: 10 });
      const c = child(['stall', name, 'delete']);
      await c.said('stalled');
      assert.strictEqual(readRegistry(registry.buffer).entries.filter((e) => e.state === 'deleting').length, 1);
      await c.kill();
      discards = 0;
      assert.deepStrictEqual(registry.list().map((e) => e.name), ['after']);
      assert.strictEqual(discards, 1);
      const r = readRegistry(registry.buffer);
      assert.deepStrictEqual(r.problems, []);
      assert.strictEqual(r.free.length, 1); // the deleted block, before 'after'
    } finally {
      registry.close();
      removeShm(name);
    }
  });

  it('kill -9 at random moments of create/delete churn of every kind leaves a consistent table', async function () {
    this.timeout(120000);
    const name = uniqueName('regchurn');
    Registry.create({ name, size: 1 << 20, maxEntries: 8 }).close();
    const probe = Registry.open({ name });
    const lockWord = new Uint32Array(probe.buffer, C.REGISTRY_LOCK_OFFSET + C.SYNC_MUTEX_OFFSET, 1);
    const owners = C.REGISTRY_LOCK_OFFSET + C.SYNC_OWNERS_OFFSET;
    const churners = [];
    let seed = 1;
    const spawnChurner = async () => {
      const c = child(['churn', name, String(seed++)]);
      await c.said('ready');
      churners.push(c);
    };
    try {
      for (let i = 0; i < 3; i++) await spawnChurner();
      for (let round = 0; round < 12; round++) {
        await sleep(20 + Math.floor(Math.random() * 80));
        // Prefer the holder of the table lock, so that most kills land inside an operation.
        const w = Atomics.load(lockWord, 0);
        const holderPid = isHeld(w) ? new DataView(probe.buffer).getUint32(owners + ownerOf(w) * S.OWNER.SIZE, true) : 0;
        let victim = churners.findIndex((c) => c.proc.pid === holderPid);
        if (victim < 0) victim = Math.floor(Math.random() * churners.length);
        const [c] = churners.splice(victim, 1);
        assert.strictEqual(await c.kill(), 'SIGKILL'); // it was still churning
        await spawnChurner();
      }
    } finally {
      const ends = await Promise.all(churners.map((c) => c.kill()));
      assert.deepStrictEqual(ends, churners.map(() => 'SIGKILL'));
      probe.close();
    }
    try {
      checkAndEmpty(name);
    } finally {
      for (const f of storeSegments(name)) removeShm(f);
      removeShm(name);
    }
  });
});

// A worker that opens the structure `name` of `kind` in the registry in `buffer` and is stopped
// by worker.terminate() at the point between claiming the handle's owner record and the handle's
// watch() of it (the watch() call is interposed: it says so and waits to be terminated).
// Resolves once the worker has exited.
async function terminatedBeforeWatch(buffer, kind, name) {
  const w = new Worker(`
    const { workerData, parentPort } = require('worker_threads');
    const { Registry } = require(workerData.root);
    const { OwnerTable } = require(workerData.root + '/lib/ownership/owners');
    const registry = Registry.open({ buffer: workerData.buffer }); // its table lock's record is watched
    OwnerTable.prototype.watch = function () {
      parentPort.postMessage('claimed');
      for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    };
    registry.open(workerData.kind, workerData.name);
  `, { eval: true, workerData: { root: path.join(__dirname, '..', '..'), buffer, kind, name } });
  const exited = new Promise((resolve) => w.once('exit', resolve));
  await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await w.terminate();
  await exited;
}

describeWithAddon('Registry: a worker terminated in the middle of an operation', () => {
  // docs/format.md §6, "Dead owners": a record is watched from its claim on. A handle that
  // claimed its record and was terminated before its watch() left a record naming a thread that
  // is gone as a live one: the structure was in use for as long as the process lived, and
  // delete() refused it (ERR_IN_USE) for ever.
  for (const [kind, options] of [['mutex', {}], ['semaphore', { permits: 1 }], ['mpmc', { capacity: 4 }],
    ['stack', { capacity: 4 }], ['buffer-pool', { blockSize: 64, blockCount: 2 }]]) {
    it(`a ${kind} opened by a worker terminated between the claim of its owner record and its watch() can be deleted`, async () => {
      const buffer = new SharedArrayBuffer(C.REGISTRY_ENTRIES_OFFSET + 4 * S.REGISTRY_ENTRY.SIZE + (1 << 16));
      const registry = Registry.create({ buffer, maxEntries: 4, timeoutMs: TIMEOUT_MS });
      try {
        registry.create(kind, 'x', options).close();
        await terminatedBeforeWatch(buffer, kind, 'x');
        registry.delete('x');
        assert.deepStrictEqual(registry.list(), []);
        assert.deepStrictEqual(readRegistry(buffer).problems, []);
      } finally {
        registry.close();
      }
    });
  }

  it('worker.terminate() at random moments of churn in a SharedArrayBuffer registry leaves it usable', async function () {
    this.timeout(120000);
    const buffer = new SharedArrayBuffer(C.REGISTRY_ENTRIES_OFFSET + 8 * S.REGISTRY_ENTRY.SIZE + (1 << 18));
    Registry.create({ buffer, maxEntries: 8 }).close();
    for (let round = 0; round < 8; round++) {
      // Mutexes too: a handle's owner record is watched from its claim on (format.md §6), so a
      // worker terminated at any point leaves no record that reads as a live thread of this
      // process, and every mutex can be deleted at the end.
      const w = new Worker(CHILD, { workerData: { mode: 'churn', buffer, seed: round + 1, kinds: ['bytes', 'mutex'] } });
      let failed = null;
      w.on('error', (e) => { failed = e; });
      await new Promise((resolve) => w.once('message', resolve));
      await sleep(10 + Math.floor(Math.random() * 60));
      await w.terminate();
      assert.strictEqual(failed, null); // it was still churning
      const registry = Registry.open({ buffer, timeoutMs: TIMEOUT_MS });
      const list = registry.list();
      const r = readRegistry(buffer);
      assert.deepStrictEqual(r.problems, []);
      assert.deepStrictEqual(r.live.map((e) => e.name).sort(), list.map((e) => e.name));
      registry.close();
    }
    const registry = Registry.open({ buffer, timeoutMs: TIMEOUT_MS });
    for (const e of registry.list()) registry.delete(e.name);
    assert.strictEqual(registry.stats().freeBytes, registry.stats().bytes);
    registry.close();
  });
});
