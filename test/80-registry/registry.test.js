'use strict';
// Registry (docs/api.md "Registry"; bytes and protocol: docs/format.md §14): creating and opening
// registries, and each method's results and errors. Every refused call leaves the table as it was.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Worker } = require('worker_threads');
const { Registry, Mutex, Store, Segment, ShmError } = require('../../index');
const { addon } = require('../../lib/base/native');
const { C, S, W, BASE } = require('../../lib/layout/layout');
const { KINDS } = require('../../lib/registry/kinds');
const { acquiredWord, takeoverWord } = require('../../lib/ownership/lockword');
const { readRegistry } = require('../helpers/registry-reader');
const { uniqueName, removeShm, tempDir } = require('../helpers/process');
const { openWhileCreated, KINDS: LATE } = require('../helpers/late-creation');

const withAddon = addon ? it : it.skip;
const ENTRY = S.REGISTRY_ENTRY;
// The first size of a creator that sizes its segment in two steps: less than the header needs
// (REGISTRY_ENTRIES_OFFSET); four of them hold it.
const PAGE = 4096;

function bufferFor(maxEntries, dataBytes) {
  return new SharedArrayBuffer(C.REGISTRY_ENTRIES_OFFSET + maxEntries * ENTRY.SIZE + dataBytes);
}

// The header and the entry table (not the lock region, whose version moves on every operation).
function tableBytes(registry) {
  const end = C.REGISTRY_ENTRIES_OFFSET + registry.maxEntries * ENTRY.SIZE;
  return Buffer.concat([Buffer.from(registry.buffer, 0, C.REGISTRY_LOCK_OFFSET),
    Buffer.from(registry.buffer, C.REGISTRY_ENTRIES_OFFSET, end - C.REGISTRY_ENTRIES_OFFSET)]);
}

// Asserts that fn throws what `expected` says and that the table did not change.
function refuses(registry, fn, expected) {
  const before = tableBytes(registry);
  assert.throws(fn, expected);
  assert.ok(tableBytes(registry).equals(before), 'the table changed');
  assert.deepStrictEqual(readRegistry(registry.buffer).problems, []);
}

describe('Registry', () => {
  describe('Registry.create(options) and Registry.open(options)', () => {
    it('makes a registry in a SharedArrayBuffer that another handle opens', () => {
      const buffer = bufferFor(16, 1 << 16);
      const a = Registry.create({ buffer, maxEntries: 16 });
      a.create('bytes', 'x', { size: 10 });
      const b = Registry.open({ buffer });
      assert.deepStrictEqual(b.list().map((e) => e.name), ['x']);
      assert.deepStrictEqual([b.maxEntries, b.name, b.path, b.buffer === buffer], [16, null, null, true]);
      a.close();
      b.close();
    });

    it('a registry in a SharedArrayBuffer refuses a store with a TypeError, also when its table is full', () => {
      const buffer = bufferFor(1, 1 << 16);
      const a = Registry.create({ buffer, maxEntries: 1 });
      const noStore = (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG' && /needs a registry in a segment/.test(e.message);
      assert.throws(() => a.create('store', 's', { size: 1 << 19 }), noStore);
      a.create('bytes', 'x', { size: 10 });
      assert.throws(() => a.create('store', 's', { size: 1 << 19 }), noStore);
      assert.throws(() => a.openOrCreate('store', 's', { size: 1 << 19 }), noStore);
      assert.deepStrictEqual(a.list().map((e) => e.name), ['x']);
      a.close();
    });

    withAddon('makes a registry in a shared memory segment or a file', () => {
      const name = uniqueName('reg');
      const { dir, cleanup } = tempDir();
      const file = path.join(dir, 'registry');
      try {
        for (const target of [{ name }, { path: file }]) {
          const a = Registry.create({ ...target, size: 1 << 16, maxEntries: 4 });
          a.create('mutex', 'm').close();
          const b = Registry.open(target);
          assert.deepStrictEqual(b.list().map((e) => [e.name, e.kind]), [['m', 'mutex']]);
          assert.strictEqual(b.maxEntries, 4);
          a.close();
          b.close();
          assert.throws(() => Registry.create({ ...target, size: 1 << 16 }), { code: 'ERR_SHM_EXISTS' });
        }
        assert.strictEqual(Registry.open({ path: file }).path, file);
        assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
      } finally {
        removeShm(name);
        cleanup();
      }
    });

    it('refuses bad options with TypeError or RangeError (code ERR_INVALID_ARG)', () => {
      const buffer = bufferFor(4, 4096);
      const bad = [
        [undefined, TypeError], [{}, TypeError], [{ buffer, name: 'x' }, TypeError],
        [{ buffer: new ArrayBuffer(1 << 16) }, TypeError], [{ buffer, size: 1 << 16 }, TypeError],
        [{ buffer, maxEntries: 0 }, RangeError], [{ buffer, maxEntries: C.REGISTRY_MAX_ENTRIES + 1 }, RangeError],
        [{ buffer, maxEntries: 1.5 }, RangeError], [{ buffer, maxEntries: 64 }, RangeError],
        [{ buffer, timeoutMs: -1 }, RangeError], [{ buffer, bogus: 1 }, TypeError],
        [{ name: 'x' }, TypeError], [{ name: 'x', size: 100 }, RangeError],
      ];
      for (const [options, type] of bad) {
        assert.throws(() => Registry.create(options), (e) => e instanceof type && e.code === 'ERR_INVALID_ARG',
          JSON.stringify(options));
      }
      assert.throws(() => Registry.open({ buffer, size: 1 }), TypeError);
    });

    it('works at the limits of maxEntries (1 and 65536) and with a data area of one unit', () => {
      for (const maxEntries of [1, C.REGISTRY_MAX_ENTRIES]) {
        const registry = Registry.create({ buffer: bufferFor(maxEntries, C.UNIT), maxEntries });
        registry.create('bytes', 'only', { size: C.UNIT });
        assert.throws(() => registry.create('bytes', 'more', { size: 1 }), { code: 'ERR_REGISTRY_FULL' });
        const r = readRegistry(registry.buffer);
        assert.deepStrictEqual([r.problems, r.header.maxEntries, r.live.length], [[], maxEntries, 1]);
        registry.delete('only');
        assert.strictEqual(registry.stats().freeBytes, C.UNIT);
        registry.close();
      }
    });

    it('refuses to open bytes that are not a registry', () => {
      assert.throws(() => Registry.open({ buffer: bufferFor(4, 4096) }), { code: 'ERR_BAD_MAGIC' });
      assert.throws(() => Registry.open({ buffer: new SharedArrayBuffer(64) }), { code: 'ERR_BAD_SIZE' });
    });

    // A creator that sizes its segment in steps (posix_fallocate on ext4 for a large size, glibc's
    // fallback on a file system without fallocate: an older version of this package, another
    // tool) is found with part of its size: less than the header needs (a page), or enough for
    // the header but not for the geometry it writes. The opener waits for the size the header
    // needs and reads the size again once the magic is there, instead of refusing the registry
    // (ERR_BAD_SIZE).
    for (const firstBytes of [PAGE, 4 * PAGE]) {
      withAddon(`opens the whole registry of a creator that sizes its file in two steps, first ${firstBytes} bytes`, async () => {
        const { dir, cleanup } = tempDir();
        try {
          const target = { path: path.join(dir, 'registry') };
          fs.writeFileSync(target.path, '');
          assert.ok(LATE.Registry.bytes() > firstBytes, 'the registry is larger than the first step');
          const got = await openWhileCreated('Registry', target, { firstBytes });
          assert.ifError(got.error);
          assert.strictEqual(got.seen, true);
        } finally {
          cleanup();
        }
      });
    }

    withAddon('waits for a creator that has made the segment but not yet written the header', async () => {
      const name = uniqueName('reg');
      const seg = Segment.create({ name, size: 1 << 16 });
      const source = `
        const { workerData, parentPort } = require('worker_threads');
        const { formatHeader, dataOffset } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'lib', 'registry', 'table.js'))});
        const { Segment } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'index.js'))});
        const seg = Segment.open({ name: workerData.name });
        parentPort.postMessage('started');
        Atomics.wait(workerData.opening, 0, 0); // until the main thread is about to open
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
        formatHeader(seg.buffer, 4, workerData.endUnit, 1);
        seg.close();`;
      const opening = new Int32Array(new SharedArrayBuffer(4));
      const w = new Worker(source, { eval: true, workerData: { name, opening, endUnit: seg.size / C.UNIT } });
      try {
        await new Promise((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
        });
        Atomics.store(opening, 0, 1);
        Atomics.notify(opening, 0);
        const registry = Registry.open({ name }); // blocks until the worker wrote the header
        assert.strictEqual(registry.maxEntries, 4);
        registry.close();
      } finally {
        await new Promise((resolve) => (w.threadId === -1 ? resolve() : w.once('exit', resolve)));
        seg.close();
        removeShm(name);
      }
    });

    withAddon('refuses a missing segment; finishes one whose header is never written after a bounded wait', function () {
      // docs/format.md §14, "Opening": what a creator killed before its magic leaves.
      this.timeout(20000); // each open waits about 2 s for the header, as long as mocha's default timeout
      const name = uniqueName('reg');
      assert.throws(() => Registry.open({ name }), { code: 'ERR_SHM_NOT_FOUND' });
      const seg = Segment.create({ name, size: 1 << 16 });
      try {
        const registry = Registry.open({ name }); // zero bytes: no geometry written
        assert.strictEqual(registry.maxEntries, C.REGISTRY_DEFAULT_ENTRIES);
        assert.strictEqual(registry.stats().bytes, (1 << 16) - C.REGISTRY_ENTRIES_OFFSET - C.REGISTRY_DEFAULT_ENTRIES * ENTRY.SIZE);
        registry.create('mutex', 'm').close();
        registry.close();
        const again = Registry.open({ name }); // at once, as any registry
        assert.deepStrictEqual(again.list().map((e) => e.name), ['m']);
        again.close();
      } finally {
        seg.close();
        removeShm(name);
      }
    });

    withAddon('finishes a registry whose creator wrote its geometry but not its magic with that geometry', function () {
      this.timeout(20000);
      const name = uniqueName('reg');
      const made = Registry.create({ name, size: 1 << 16, maxEntries: 8 });
      const before = Buffer.from(made.buffer, 0, C.REGISTRY_LOCK_OFFSET).toString('hex');
      Atomics.store(new Uint32Array(made.buffer, 0, 1), 0, 0); // a creator killed before the magic
      made.close();
      try {
        const registry = Registry.open({ name });
        assert.strictEqual(registry.maxEntries, 8);
        assert.strictEqual(Buffer.from(registry.buffer, 0, C.REGISTRY_LOCK_OFFSET).toString('hex'), before, 'the same header, nonce included');
        registry.close();
      } finally {
        removeShm(name);
      }
    });

    withAddon('refuses, and leaves as they are, bytes without the magic that no registry creator leaves', function () {
      this.timeout(30000);
      const name = uniqueName('reg');
      const seg = Segment.create({ name, size: 1 << 16 });
      const u8 = new Uint8Array(seg.buffer);
      const u32 = new Uint32Array(seg.buffer);
      const WORD = Uint32Array.BYTES_PER_ELEMENT;
      const W_HDR = W.REGISTRY_HEADER;
      try {
        for (const [what, offset, value] of [
          ['an allocator word of the header', W_HDR.FREE_HEAD * WORD, 9],
          ['a checksum without the fields before it', W_HDR.HEADER_CHECKSUM * WORD, 9],
          ['another version', W_HDR.VERSION * WORD, C.REGISTRY_FORMAT_VERSION + 1],
          ['a table lock region that is not a mutex', C.REGISTRY_LOCK_OFFSET + 4, 2],
          ['an entry', C.REGISTRY_ENTRIES_OFFSET + 7 * ENTRY.SIZE + 64, 0x41],
        ]) {
          u8.fill(0);
          if (what === 'an entry') u8[offset] = value;
          else Atomics.store(u32, offset / WORD, value);
          const image = Buffer.from(u8).toString('hex');
          assert.throws(() => Registry.open({ name }), { code: 'ERR_BAD_MAGIC' }, what);
          assert.strictEqual(Buffer.from(u8).toString('hex'), image, what);
        }
      } finally {
        seg.close();
        removeShm(name);
      }
    });
  });

  describe('registry.create(kind, name, options)', () => {
    it('creates each kind and returns an open handle', () => {
      const registry = Registry.create({ buffer: bufferFor(8, 1 << 16), maxEntries: 8 });
      const m = registry.create('mutex', 'lock');
      assert.ok(m instanceof Mutex);
      assert.strictEqual(m.byteOffset % C.UNIT, 0);
      assert.deepStrictEqual(m.lock(), { recovered: false });
      m.unlock();
      const bytes = registry.create('bytes', 'data', { size: 12 });
      assert.ok(bytes instanceof Uint8Array);
      assert.strictEqual(bytes.length, 12);
      assert.ok(bytes.every((x) => x === 0));
      assert.strictEqual(bytes.buffer, registry.buffer);
      registry.close();
    });

    it('refuses a taken name with ERR_EXISTS', () => {
      const registry = Registry.create({ buffer: bufferFor(4, 1 << 16), maxEntries: 4 });
      registry.create('mutex', 'm');
      refuses(registry, () => registry.create('mutex', 'm'), (e) => e instanceof ShmError && e.code === 'ERR_EXISTS');
      refuses(registry, () => registry.create('bytes', 'm', { size: 1 }), { code: 'ERR_EXISTS' });
      registry.close();
    });

    it('refuses bad kinds, names and options, leaving the table unchanged', () => {
      const registry = Registry.create({ buffer: bufferFor(4, 1 << 16), maxEntries: 4 });
      registry.create('bytes', 'x', { size: 1 });
      const invalid = (type) => (e) => e instanceof type && e.code === 'ERR_INVALID_ARG';
      refuses(registry, () => registry.create('queue', 'q'), invalid(RangeError));
      refuses(registry, () => registry.create(1, 'q'), invalid(TypeError));
      refuses(registry, () => registry.create('mutex', 42), invalid(TypeError));
      refuses(registry, () => registry.create('mutex', ''), invalid(RangeError));
      refuses(registry, () => registry.create('mutex', 'a'.repeat(65)), invalid(RangeError));
      refuses(registry, () => registry.create('mutex', '€'.repeat(22)), invalid(RangeError)); // 66 bytes
      refuses(registry, () => registry.create('mutex', 'a\0b'), invalid(RangeError));
      refuses(registry, () => registry.create('mutex', 'a\ud800'), invalid(RangeError));
      refuses(registry, () => registry.create('mutex', 'm', { size: 1 }), invalid(TypeError));
      refuses(registry, () => registry.create('mutex', 'm', null), invalid(TypeError));
      refuses(registry, () => registry.create('bytes', 'b'), invalid(TypeError));
      refuses(registry, () => registry.create('bytes', 'b', { size: 0 }), invalid(RangeError));
      refuses(registry, () => registry.create('store', 's', { size: 1 << 20 }), invalid(TypeError)); // no segment
      // A creation option given to open() is named as such; a kind without handle options says
      // it takes none (not "Allowed: " and an empty list); a shape is refused under the
      // options' names, not those of the kind's bytesFor() arguments.
      registry.create('mpmc', 'q', { capacity: 4 });
      const says = (type, message) => (e) => invalid(type)(e) && message.test(e.message);
      refuses(registry, () => registry.open('mpmc', 'q', { capacity: 4 }),
        says(TypeError, /^Option "options\.capacity" is a creation option of the "mpmc" kind: open\(\) takes none/));
      refuses(registry, () => registry.open('mpmc', 'q', { bogus: 1 }), says(TypeError, /^Unknown option "options\.bogus"\. This call takes no options$/));
      refuses(registry, () => registry.open('mutex', 'm', { size: 1 }), says(TypeError, /takes no options$/));
      refuses(registry, () => registry.create('mpmc', 'r', { capacity: 3 }), says(RangeError, /^The "options\.capacity" argument/));
      refuses(registry, () => registry.create('spsc', 'r', { capacity: 3 }), says(RangeError, /^The "options\.capacity" argument/));
      refuses(registry, () => registry.create('buffer-pool', 'r', { blockCount: 0, blockSize: 8 }),
        says(RangeError, /^The "options\.blockCount" argument/));
      refuses(registry, () => registry.create('object-pool', 'r', { capacity: 2, recordSize: 0 }),
        says(RangeError, /^The "options\.recordSize" argument/));
      refuses(registry, () => registry.create('memory-pool', 'r', { classes: [] }), says(RangeError, /^The "options\.classes" argument/));
      // The longest names: 64 ASCII bytes, 21 three-byte characters (63 bytes) plus one byte.
      registry.create('bytes', 'a'.repeat(64), { size: 1 });
      registry.create('bytes', `${'€'.repeat(21)}!`, { size: 1 });
      assert.deepStrictEqual(registry.list().map((e) => Buffer.byteLength(e.name)).sort(), [1, 1, 64, 64]);
      registry.close();
    });

    it('refuses with ERR_REGISTRY_FULL when the table is full or no free block is large enough', () => {
      const registry = Registry.create({ buffer: bufferFor(2, 4 * C.UNIT), maxEntries: 2 });
      refuses(registry, () => registry.create('mutex', 'm'), { code: 'ERR_REGISTRY_FULL', message: /No space/ });
      refuses(registry, () => registry.create('bytes', 'big', { size: 4 * C.UNIT + 1 }), { code: 'ERR_REGISTRY_FULL' });
      registry.create('bytes', 'a', { size: C.UNIT });
      registry.create('bytes', 'b', { size: C.UNIT });
      refuses(registry, () => registry.create('bytes', 'c', { size: 1 }), { code: 'ERR_REGISTRY_FULL', message: /table is full/ });
      registry.delete('a');
      registry.create('bytes', 'c', { size: C.UNIT });
      // Three units are free in total but the largest free block has two.
      refuses(registry, () => registry.create('bytes', 'd', { size: 3 * C.UNIT }), { code: 'ERR_REGISTRY_FULL' });
      registry.close();
    });

    withAddon('creates a store in a segment of its own, removed again when the create fails', () => {
      const name = uniqueName('reg');
      const registry = Registry.create({ name, size: 1 << 16, maxEntries: 4 });
      try {
        const s = registry.create('store', 'kv', { size: 1 << 20, buckets: 64, engine: 'js' });
        assert.ok(s instanceof Store);
        assert.strictEqual(s.engine, 'js');
        s.set('ns', 'a', 1);
        // Store.create refuses buckets that are not a power of two: the entry and the segment go.
        const before = readRegistry(registry.buffer);
        assert.throws(() => registry.create('store', 'bad', { size: 1 << 20, buckets: 3 }), RangeError);
        const after = readRegistry(registry.buffer);
        assert.deepStrictEqual(after.problems, []);
        assert.deepStrictEqual(after.live.map((e) => e.name), ['kv']);
        assert.strictEqual(after.tailStart, before.tailStart);
        const leftovers = fs.readdirSync('/dev/shm').filter((f) => f.startsWith(`${name}.`));
        assert.strictEqual(leftovers.length, 1);
        // maxNamespaces reaches the store and is recorded with the entry; out of range it is refused.
        const wide = registry.create('store', 'wide', { size: 1 << 22, maxNamespaces: 3000 });
        assert.strictEqual(wide.stats().maxNamespaces, 3000);
        assert.strictEqual(registry.list().find((e) => e.name === 'wide').options.maxNamespaces, 3000);
        wide.close();
        assert.throws(() => registry.create('store', 'bad', { size: 1 << 22, maxNamespaces: 65536 }), RangeError);
        assert.deepStrictEqual(readRegistry(registry.buffer).live.map((e) => e.name).sort(), ['kv', 'wide']);
      } finally {
        registry.close();
        const r = Registry.open({ name });
        for (const e of r.list()) r.delete(e.name);
        r.close();
        removeShm(name);
      }
    });
  });

  describe('registry.open(kind, name, options) and registry.openOrCreate(kind, name, options)', () => {
    it('opens a structure by name, only as its own kind and version', () => {
      const registry = Registry.create({ buffer: bufferFor(4, 1 << 16), maxEntries: 4 });
      const a = registry.create('mutex', 'm');
      const b = registry.open('mutex', 'm');
      assert.strictEqual(b.byteOffset, a.byteOffset);
      a.lock();
      assert.strictEqual(b.tryLock(), false);
      a.unlock();
      const bytes = registry.create('bytes', 'data', { size: 5 });
      bytes[4] = 9;
      assert.strictEqual(registry.open('bytes', 'data')[4], 9);
      refuses(registry, () => registry.open('mutex', 'nope'), { code: 'ERR_NOT_FOUND' });
      refuses(registry, () => registry.open('bytes', 'm'), { code: 'ERR_KIND_MISMATCH', message: /is a mutex, not a bytes/ });
      refuses(registry, () => registry.open('mutex', 'data'), { code: 'ERR_KIND_MISMATCH' });
      refuses(registry, () => registry.open('bytes', 'data', { size: 5 }), TypeError); // creation options
      // An entry of another version of its kind is never read with this version's layout.
      const slot = readRegistry(registry.buffer).live.find((e) => e.name === 'm').index;
      const words = new Uint32Array(registry.buffer, C.REGISTRY_ENTRIES_OFFSET + slot * ENTRY.SIZE, ENTRY.SIZE / 4);
      words[ENTRY.VERSION / 4] = 2;
      assert.throws(() => registry.open('mutex', 'm'), { code: 'ERR_BAD_VERSION' });
      assert.throws(() => registry.openOrCreate('mutex', 'm'), { code: 'ERR_BAD_VERSION' });
      registry.close();
    });

    it('openOrCreate() creates once, then opens the same structure', () => {
      const registry = Registry.create({ buffer: bufferFor(4, 1 << 16), maxEntries: 4 });
      const a = registry.openOrCreate('bytes', 'counter', { size: 8 });
      a[0] = 5;
      const b = registry.openOrCreate('bytes', 'counter', { size: 8 });
      assert.strictEqual(b[0], 5);
      assert.strictEqual(registry.stats().entries, 1);
      refuses(registry, () => registry.openOrCreate('mutex', 'counter'), { code: 'ERR_KIND_MISMATCH' });
      registry.close();
    });
  });

  describe('registry.delete(name)', () => {
    it('deletes a structure and frees its name and space; refuses a missing name', () => {
      const registry = Registry.create({ buffer: bufferFor(4, 1 << 16), maxEntries: 4 });
      registry.create('bytes', 'x', { size: 100 });
      const free = registry.stats().freeBytes;
      registry.delete('x');
      assert.deepStrictEqual(registry.list(), []);
      assert.strictEqual(registry.stats().freeBytes, free + 2 * C.UNIT);
      refuses(registry, () => registry.delete('x'), { code: 'ERR_NOT_FOUND' });
      refuses(registry, () => registry.delete(''), RangeError);
      registry.create('mutex', 'x').close();
      registry.close();
    });

    it('refuses ERR_IN_USE while a handle on a mutex is open anywhere', () => {
      const registry = Registry.create({ buffer: bufferFor(4, 1 << 16), maxEntries: 4 });
      const m = registry.create('mutex', 'm');
      refuses(registry, () => registry.delete('m'), { code: 'ERR_IN_USE' });
      const other = Registry.open({ buffer: registry.buffer });
      const n = other.open('mutex', 'm');
      m.close();
      refuses(registry, () => registry.delete('m'), { code: 'ERR_IN_USE' });
      other.close(); // closes n
      assert.strictEqual(n.closed, true);
      registry.delete('m');
      registry.close();
    });

    withAddon('refuses ERR_IN_USE while a store is open, then unlinks its segment', () => {
      const name = uniqueName('reg');
      const registry = Registry.create({ name, size: 1 << 16, maxEntries: 4 });
      try {
        const s = registry.create('store', 'kv', { size: 1 << 20 });
        const [{ options }] = registry.list();
        assert.deepStrictEqual(Object.keys(options.segment), ['name']);
        refuses(registry, () => registry.delete('kv'), { code: 'ERR_IN_USE' });
        s.close();
        registry.delete('kv');
        assert.throws(() => Store.open(options.segment), { code: 'ERR_SHM_NOT_FOUND' });
      } finally {
        registry.close();
        removeShm(name);
      }
    });
  });

  describe('registry.delete(name) and damaged owner records', () => {
    // docs/format.md §14, "Delete": a record counts as an open handle only with its identity. A
    // bit flipped in the pid word of a free record names a pid (pid 1 is always alive) and
    // nothing else: the structure was in use for as long as that process lived.
    const WORD = Uint32Array.BYTES_PER_ELEMENT;
    const pidWordAt = (tableOffset, o) => tableOffset / WORD + o * W.OWNER.WORDS + W.OWNER.PID;
    for (const [kind, options, tableOffset] of [
      ['mutex', {}, C.SYNC_OWNERS_OFFSET],
      ['mpmc', { capacity: 4 }, C.MPMC_OWNERS_OFFSET],
      ['buffer-pool', { blockSize: 64, blockCount: 2 }, C.POOL_OWNERS_OFFSET],
    ]) {
      it(`a ${kind} whose free owner record reads pid 1 by a flipped bit is not in use`, () => {
        const registry = Registry.create({ buffer: bufferFor(4, 1 << 16), maxEntries: 4 });
        try {
          const h = registry.create(kind, 'x', options);
          const u32 = new Uint32Array(registry.buffer, registry.list()[0].byteOffset);
          assert.throws(() => registry.delete('x'), { code: 'ERR_IN_USE' }, 'a handle with its identity is open');
          h.close();
          Atomics.store(u32, pidWordAt(tableOffset, 3), 1); // record 3 was never claimed
          registry.delete('x');
          assert.deepStrictEqual(registry.list(), []);
        } finally {
          registry.close();
        }
      });
    }

    withAddon('a store whose free owner record reads pid 1 by a flipped bit is not in use', () => {
      const name = uniqueName('reg');
      const registry = Registry.create({ name, size: 1 << 16, maxEntries: 4 });
      try {
        registry.create('store', 'kv', { size: 1 << 20 }).close();
        const seg = Segment.open(registry.list()[0].options.segment);
        Atomics.store(new Uint32Array(seg.buffer), pidWordAt(BASE.OWNER * WORD, 3), 1);
        seg.close();
        registry.delete('kv');
        assert.deepStrictEqual(registry.list(), []);
      } finally {
        registry.close();
        removeShm(name);
      }
    });
  });

  describe('structures of a kind this process does not know', () => {
    it('are listed, kept by repair, never opened as another kind and not deleted', () => {
      const registry = Registry.create({ buffer: bufferFor(4, 1 << 16), maxEntries: 4 });
      KINDS.future = { ...KINDS.bytes, version: 7 };
      try {
        registry.create('future', 'later', { size: 10 });
      } finally {
        delete KINDS.future;
      }
      const [entry] = registry.list();
      assert.deepStrictEqual([entry.name, entry.kind, entry.version, entry.options], ['later', 'future', 7, {}]);
      refuses(registry, () => registry.open('bytes', 'later'), { code: 'ERR_KIND_MISMATCH' });
      refuses(registry, () => registry.delete('later'), { code: 'ERR_KIND_MISMATCH', message: /does not know/ });
      refuses(registry, () => registry.open('future', 'later'), RangeError);
      // A repair pass (after a table lock holder that is gone) keeps it.
      const lock = new Uint32Array(registry.buffer, C.REGISTRY_LOCK_OFFSET + C.SYNC_MUTEX_OFFSET, 1);
      lock[0] = takeoverWord(acquiredWord(0, 0), C.SYNC_OWNER_SLOTS - 1); // held by a released slot
      assert.deepStrictEqual(registry.list().map((e) => e.name), ['later']);
      assert.strictEqual(registry.stats().repairs, 1);
      registry.close();
    });
  });

  describe('registry.list(), registry.stats() and registry.close()', () => {
    withAddon('list() shows every live structure with its kind, place and creation options', () => {
      const name = uniqueName('reg');
      const registry = Registry.create({ name, size: 1 << 17, maxEntries: 8 });
      try {
        registry.create('store', 'sessions', { size: 1 << 20, maxEntries: 1000 });
        registry.create('mutex', 'jobs');
        registry.create('bytes', 'flags', { size: 3 });
        const list = registry.list();
        assert.deepStrictEqual(list.map((e) => [e.name, e.kind, e.version]),
          [['flags', 'bytes', 1], ['jobs', 'mutex', C.SYNC_FORMAT_VERSION], ['sessions', 'store', C.FORMAT_VERSION]]);
        assert.deepStrictEqual(list[0].options, { size: 3 });
        assert.deepStrictEqual([list[0].byteLength, list[1].byteLength], [C.UNIT, Mutex.BYTES]);
        assert.deepStrictEqual(list[1].options, {});
        assert.deepStrictEqual(Object.keys(list[2].options), ['segment', 'size', 'maxEntries']);
        assert.deepStrictEqual([list[2].options.size, list[2].options.maxEntries], [1 << 20, 1000]);
        for (const e of list) assert.strictEqual(e.byteOffset % C.UNIT, 0);
      } finally {
        registry.close();
        const r = Registry.open({ name });
        r.delete('sessions');
        r.close();
        removeShm(name);
      }
    });

    it('stats() counts entries, free space and completed changes', () => {
      const registry = Registry.create({ buffer: bufferFor(4, 16 * C.UNIT), maxEntries: 4 });
      assert.deepStrictEqual(registry.stats(), { entries: 0, maxEntries: 4, bytes: 16 * C.UNIT,
        freeBytes: 16 * C.UNIT, largestFreeBytes: 16 * C.UNIT, freeBlocks: 0, repairs: 0, changes: 0 });
      registry.create('bytes', 'a', { size: C.UNIT });
      registry.create('bytes', 'b', { size: C.UNIT });
      registry.delete('a');
      assert.deepStrictEqual(registry.stats(), { entries: 1, maxEntries: 4, bytes: 16 * C.UNIT,
        freeBytes: 15 * C.UNIT, largestFreeBytes: 14 * C.UNIT, freeBlocks: 1, repairs: 0, changes: 3 });
      registry.close();
    });

    it('close() closes the handles it returned; then every method throws ERR_CLOSED', () => {
      const registry = Registry.create({ buffer: bufferFor(4, 1 << 16), maxEntries: 4 });
      const m = registry.create('mutex', 'a');
      const n = registry.open('mutex', 'a');
      registry.close();
      registry.close();
      assert.deepStrictEqual([m.closed, n.closed, registry.closed], [true, true, true]);
      for (const call of [() => registry.list(), () => registry.stats(), () => registry.open('mutex', 'a'),
        () => registry.create('mutex', 'b'), () => registry.delete('a'), () => registry.buffer]) {
        assert.throws(call, { code: 'ERR_CLOSED' });
      }
    });

    // A channel's close() closes the channel for every party; its handle is released by dispose()
    // (docs/api.md, Channel). Released with close(), a registry's channel handles closed the
    // channel under every other handle and kept their owner records, so that the channel stayed
    // in use; and a handle disposed by its user made the next create() throw after it had made
    // its structure.
    it('close() releases a channel\'s handles with dispose(): the channel stays open for the others, and can be deleted', () => {
      const buffer = bufferFor(4, 1 << 16);
      const registry = Registry.create({ buffer, maxEntries: 4 });
      const other = Registry.open({ buffer });
      const mine = registry.create('channel', 'jobs', { capacity: 64 });
      const theirs = other.open('channel', 'jobs');
      registry.close();
      assert.throws(() => mine.trySend('x'), { code: 'ERR_CLOSED' }); // released
      assert.strictEqual(theirs.closed, false);
      assert.strictEqual(theirs.trySend('x'), true);
      theirs.dispose(); // its user releases it
      const made = other.create('mutex', 'after'); // the registry looks at its handles: none throws
      made.close();
      other.delete('jobs'); // no handle is left open on it
      assert.deepStrictEqual(other.list().map((e) => e.name), ['after']);
      other.close();
    });
  });
});
