'use strict';
// docs/format.md §14 claims to specify the registry exactly enough for an independent reader:
// test/helpers/registry-reader.js is that reader, and here it reads what the library wrote, and
// the library reads states written by hand from the document (a holder that died halfway).
// layout-ok-file: this file writes the registry with the document's offsets on purpose, never
// lib/layout/layout.js (a layout that drifted from docs/format.md must fail here).
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Registry, Store } = require('../../index');
const { addon } = require('../../lib/base/native');
const { KINDS } = require('../../lib/registry/kinds');
const { readRegistry, storeReference } = require('../helpers/registry-reader');
const { uniqueName, removeShm } = require('../helpers/process');

const withAddon = addon ? it : it.skip;

function fresh(maxEntries = 8, bytes = 1 << 16) {
  const buffer = new SharedArrayBuffer(8448 + 128 * maxEntries + bytes);
  return { buffer, registry: Registry.create({ buffer, maxEntries }) };
}

// A lock word held (version 5) by owner slot 9 of the table lock, whose record is zero: the
// holder is gone by the gone rule (§6 rule 1), as after a holder killed in the middle of an operation.
function leaveLockHeldByGoneHolder(buffer) {
  new DataView(buffer).setUint32(64 + 64, (9 << 20) | 5, true);
}

describe('Registry: the format of docs/format.md §14', () => {
  it('writes the header as documented, and a fresh table is all free and consistent', () => {
    const { buffer, registry } = fresh(8, 4096);
    const r = readRegistry(buffer);
    assert.strictEqual(Buffer.from(buffer, 0, 4).toString('latin1'), 'REGS');
    assert.deepStrictEqual([r.header.maxEntries, r.header.dataUnit, r.header.endUnit],
      [8, (8448 + 128 * 8) / 64, (8448 + 128 * 8 + 4096) / 64]);
    assert.deepStrictEqual([r.header.freeHead, r.header.tail, r.header.repairs, r.header.changes], [0, 0, 0, 0]);
    assert.ok(r.entries.every((e) => e.state === 'free'));
    assert.deepStrictEqual(r.problems, []);
    assert.strictEqual(r.lock.held, false);
    registry.close();
  });

  it('records each structure as an entry: kind, version, name, block and params', () => {
    const { buffer, registry } = fresh();
    const m = registry.create('mutex', 'the lock');
    const b = registry.create('bytes', 'données', { size: 100 });
    const r = readRegistry(buffer);
    assert.deepStrictEqual(r.problems, []);
    const byName = new Map(r.live.map((e) => [e.name, e]));
    const me = byName.get('the lock');
    assert.deepStrictEqual([me.kind, me.version, me.units, me.generation], ['mutex', 1, 8384 / 64, 1]);
    assert.strictEqual(me.unit * 64, m.byteOffset);
    // The block is a sync region (§13), stamped 'SYNC' when the mutex was opened.
    assert.strictEqual(Buffer.from(buffer, me.unit * 64, 4).toString('latin1'), 'SYNC');
    const be = byName.get('données');
    assert.deepStrictEqual([be.kind, be.version, be.units, be.params[0], be.nameLength], ['bytes', 1, 2, 100, 8]);
    assert.strictEqual(be.unit * 64, b.byteOffset);
    b[99] = 7;
    assert.strictEqual(new Uint8Array(buffer)[be.unit * 64 + 99], 7);
    // list() agrees with the reader.
    assert.deepStrictEqual(registry.list().map((e) => [e.name, e.kind, e.byteOffset, e.byteLength]),
      [['données', 'bytes', be.unit * 64, 128], ['the lock', 'mutex', me.unit * 64, 8384]]);
    registry.close();
  });

  it('frees blocks into an address-ordered, coalesced free list and gives the end back to the tail', () => {
    const { buffer, registry } = fresh(8);
    for (const n of ['a', 'b', 'c', 'd']) registry.create('bytes', n, { size: 64 * 4 });
    const units = readRegistry(buffer).live.map((e) => e.unit).sort((x, y) => x - y);
    registry.delete('b');
    registry.delete('c'); // merges with b's block
    let r = readRegistry(buffer);
    assert.deepStrictEqual(r.problems, []);
    assert.deepStrictEqual(r.free.map((f) => [f.unit, f.units]), [[units[1], 8]]);
    registry.delete('d'); // ends at the tail: b, c and d go back to it
    r = readRegistry(buffer);
    assert.deepStrictEqual(r.problems, []);
    assert.deepStrictEqual([r.free.length, r.tailStart], [0, units[1]]);
    assert.strictEqual(registry.stats().freeBytes, (r.header.endUnit - r.tailStart) * 64);
    registry.close();
  });

  it('rolls back an entry left creating by a holder that is gone (the repair pass)', () => {
    const { buffer, registry } = fresh(8);
    registry.create('bytes', 'kept', { size: 64 });
    const before = readRegistry(buffer);
    // A create that died after step 4: entry 5 creating, its block taken from the tail.
    const dv = new DataView(buffer);
    const at = 8448 + 128 * 5;
    const name = Buffer.from('half made');
    dv.setUint32(at + 4, 1, true);
    dv.setUint32(at + 12, name.length, true);
    dv.setUint32(at + 16, before.tailStart, true);
    dv.setUint32(at + 20, 3, true);
    new Uint8Array(buffer, at + 32, 5).set(Buffer.from('bytes'));
    new Uint8Array(buffer, at + 64, name.length).set(name);
    dv.setUint32(28, before.header.tail + 3, true);
    dv.setUint32(at, 1, true);
    leaveLockHeldByGoneHolder(buffer);
    assert.deepStrictEqual(registry.list().map((e) => e.name), ['kept']);
    const r = readRegistry(buffer);
    assert.deepStrictEqual(r.problems, []);
    assert.strictEqual(r.entries[5].state, 'free');
    assert.strictEqual(r.entries[5].generation, 1); // kept: derived names stay unique
    assert.deepStrictEqual([r.tailStart, r.header.repairs], [before.tailStart, 1]);
    registry.close();
  });

  it('finishes a delete left half done and rebuilds a damaged free list', () => {
    const { buffer, registry } = fresh(8);
    for (const n of ['a', 'b', 'c']) registry.create('bytes', n, { size: 64 });
    const b = readRegistry(buffer).live.find((e) => e.name === 'b');
    new DataView(buffer).setUint32(8448 + 128 * b.index, 3, true); // deleting
    leaveLockHeldByGoneHolder(buffer);
    assert.deepStrictEqual(registry.list().map((e) => e.name), ['a', 'c']);
    let r = readRegistry(buffer);
    assert.deepStrictEqual(r.problems, []);
    assert.deepStrictEqual(r.free.map((f) => [f.unit, f.units]), [[b.unit, 1]]);
    // A free record whose tag is not "FREE" is damage that a walk detects; stats() repairs it.
    new DataView(buffer).setUint32(b.unit * 64, 0xdead, true);
    assert.strictEqual(registry.stats().freeBlocks, 1);
    r = readRegistry(buffer);
    assert.deepStrictEqual(r.problems, []);
    assert.strictEqual(r.header.repairs, 2);
    registry.close();
  });

  it('refuses a header with another magic, version or checksum, or a geometry that does not fit', () => {
    const cases = [
      [(dv) => dv.setUint32(0, 0x12345678, true), 'ERR_BAD_MAGIC'],
      [(dv) => dv.setUint32(4, 2, true), 'ERR_BAD_VERSION'],
      [(dv) => dv.setUint32(20, 1 + dv.getUint32(20, true), true), 'ERR_BAD_CHECKSUM'],
    ];
    for (const [damage, code] of cases) {
      const { buffer, registry } = fresh();
      registry.close();
      damage(new DataView(buffer));
      assert.throws(() => Registry.open({ buffer }), { code });
      assert.throws(() => readRegistry(buffer), new RegExp(code));
    }
    const { buffer, registry } = fresh(8, 4096);
    registry.close();
    assert.throws(() => Registry.open({ buffer: buffer.slice(0, buffer.byteLength - 64) }), { code: 'ERR_BAD_SIZE' });
  });

  it('lists every kind in its table of kinds once, with the version an entry of that kind records', () => {
    const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'format.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## 14. Registry'), doc.indexOf('## 15.'));
    const table = section.slice(section.indexOf('### Kinds'), section.indexOf('**The store kind.**'));
    const documented = {};
    for (const row of table.split('\n').filter((l) => l.startsWith('| `'))) {
      const [kinds, version] = row.split('|').slice(1, 3);
      for (const [, kind] of kinds.matchAll(/`([^`]+)`/g)) {
        assert.ok(!Object.hasOwn(documented, kind), `${kind} is in two rows`);
        documented[kind] = Number(/^\s*(\d+)/.exec(version)[1]);
      }
    }
    assert.deepStrictEqual(documented, Object.fromEntries(Object.entries(KINDS).map(([k, kind]) => [k, kind.version])));
  });

  withAddon('names a store segment in the entry block, as the document derives it', () => {
    const name = uniqueName('regfmt');
    const registry = Registry.create({ name, size: 1 << 16 });
    try {
      registry.create('store', 'kv', { size: 1 << 20 }).set('ns', 'k', 'v');
      const r = readRegistry(registry.buffer);
      const e = r.live[0];
      assert.deepStrictEqual([e.kind, e.version, e.params], ['store', 9, [1 << 20, 0, 0, 0]]);
      const nonce = r.header.nonce.toString(16).padStart(8, '0');
      const ref = storeReference(registry.buffer, e);
      assert.deepStrictEqual(ref, { name: `${name}.${nonce}.${e.index}.${e.generation}` });
      const s = Store.open(ref);
      assert.strictEqual(s.get('ns', 'k'), 'v');
      s.close();
      registry.close();
      const again = Registry.open({ name });
      again.delete('kv');
      assert.throws(() => Store.open(ref), { code: 'ERR_SHM_NOT_FOUND' });
      again.close();
    } finally {
      registry.close();
      removeShm(name);
    }
  });
});
