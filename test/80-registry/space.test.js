'use strict';
// The space of deleted structures is reused (docs/format.md §14, "Space"): a free list in address
// order, first fit, coalescing with both neighbours and with the tail. Churn never exhausts a
// registry whose live structures fit, and a create is refused only when no free block is large
// enough (checked against the independent reader after every operation). A tail or a free record
// damaged in order and in range never hands out the bytes of a live structure.
const assert = require('assert');
const { Registry } = require('../../index');
const { C, S, W } = require('../../lib/layout/layout');
const { readRegistry } = require('../helpers/registry-reader');

function registryOf(maxEntries, dataUnits) {
  const buffer = new SharedArrayBuffer(C.REGISTRY_ENTRIES_OFFSET + maxEntries * S.REGISTRY_ENTRY.SIZE + dataUnits * C.UNIT);
  return Registry.create({ buffer, maxEntries });
}

// The largest run of free units (a free block or the tail), by the reader.
function largestFree(r) {
  return Math.max(r.header.endUnit - r.tailStart, ...r.free.map((f) => f.units));
}

describe('Registry: reuse of the space of deleted structures', () => {
  it('create/delete churn of a block of 3/4 of the space never runs out', () => {
    const registry = registryOf(2, 16);
    for (let i = 0; i < 10000; i++) {
      registry.create('bytes', 'big', { size: 12 * C.UNIT });
      registry.delete('big');
    }
    const s = registry.stats();
    assert.deepStrictEqual([s.entries, s.freeBytes, s.freeBlocks, s.changes], [0, 16 * C.UNIT, 0, 20000]);
    registry.close();
  });

  it('coalesces freed neighbours into one block that a larger structure then takes', () => {
    const registry = registryOf(8, 8);
    for (const n of 'abcdefgh') registry.create('bytes', n, { size: C.UNIT });
    const unitOf = (n) => readRegistry(registry.buffer).live.find((e) => e.name === n).unit;
    const bAt = unitOf('b');
    for (const n of 'bdf') registry.delete(n);
    assert.deepStrictEqual(readRegistry(registry.buffer).free.map((f) => f.units), [1, 1, 1]);
    assert.throws(() => registry.create('bytes', 'two', { size: 2 * C.UNIT }), { code: 'ERR_REGISTRY_FULL' });
    registry.delete('c'); // b, c and d become one block of 3 units
    assert.deepStrictEqual(readRegistry(registry.buffer).free.map((f) => f.units), [3, 1]);
    registry.create('bytes', 'three', { size: 3 * C.UNIT });
    assert.strictEqual(unitOf('three'), bAt);
    for (const n of ['a', 'e', 'g', 'h', 'three']) registry.delete(n);
    const r = readRegistry(registry.buffer);
    assert.deepStrictEqual([r.free.length, r.header.tail], [0, 0]);
    registry.close();
  });

  it('random churn: the table stays consistent and a create fails only when nothing free is large enough', () => {
    const units = 400;
    const maxEntries = 12;
    const registry = registryOf(maxEntries, units);
    const mutexUnits = Math.ceil(C.SYNC_REGION_BYTES / C.UNIT);
    let x = 12345;
    const rand = (n) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return (x >>> 8) % n;
    };
    let full = 0;
    for (let i = 0; i < 3000; i++) {
      const name = `s${rand(16)}`;
      const before = readRegistry(registry.buffer);
      if (before.live.some((e) => e.name === name)) {
        registry.delete(name);
      } else {
        const mutex = rand(5) === 0;
        const size = 1 + rand(40 * C.UNIT);
        const need = mutex ? mutexUnits : Math.ceil(size / C.UNIT);
        try {
          if (mutex) registry.create('mutex', name).close();
          else registry.create('bytes', name, { size });
        } catch (e) {
          if (e.code !== 'ERR_REGISTRY_FULL') throw e;
          full++;
          if (/table is full/.test(e.message)) assert.strictEqual(before.live.length, maxEntries);
          else assert.ok(need > largestFree(before), `refused ${need} units with ${largestFree(before)} free in one run`);
        }
      }
      assert.deepStrictEqual(readRegistry(registry.buffer).problems, [], `after operation ${i}`);
    }
    assert.ok(full > 0); // the registry was full at times: the limits were exercised
    for (const e of registry.list()) registry.delete(e.name);
    const s = registry.stats();
    assert.deepStrictEqual([s.freeBytes, s.freeBlocks], [units * C.UNIT, 0]);
    registry.close();
  });

  // The walk checks the free records and the tail against each other only; these two damages
  // pass it. Before a create takes space it is checked against the live blocks: the overlap is
  // damage, the repair pass rebuilds the space from the table, and the create goes elsewhere.
  const WORD = Uint32Array.BYTES_PER_ELEMENT;
  const TAIL = C.REGISTRY_HEADER_OFFSET / WORD + W.REGISTRY_HEADER.TAIL;
  const freeUnitsWord = (unit) => (unit * C.UNIT) / WORD + W.REGISTRY_FREE.UNITS;
  const disjoint = (list) => list.every((a) => list.every((b) => a === b ||
    a.byteOffset + a.byteLength <= b.byteOffset || b.byteOffset + b.byteLength <= a.byteOffset));

  for (const [damage, how] of [
    ['the tail moved down into the last live block', (u32) => Atomics.sub(u32, TAIL, 1)],
    ['a free record grown over the live block after it', (u32, freed) => Atomics.add(u32, freeUnitsWord(freed), 1)],
  ]) {
    it(`${damage}: a create gets other space and the live block keeps its bytes`, () => {
      const registry = registryOf(8, 16);
      const [a, b, c] = ['a', 'b', 'c'].map((n) => registry.create('bytes', n, { size: C.UNIT }));
      registry.delete('a'); // a free block of one unit, then b's block, then c's at the tail's start
      b.fill(7);
      c.fill(7);
      how(new Uint32Array(registry.buffer), a.byteOffset / C.UNIT);
      const repairs = registry.stats().repairs;
      const x = registry.create('bytes', 'x', { size: 2 * C.UNIT }); // more than a's one unit
      x.fill(1);
      assert.ok(b.every((v) => v === 7) && c.every((v) => v === 7));
      assert.ok(disjoint(registry.list()), JSON.stringify(registry.list()));
      assert.strictEqual(registry.stats().repairs, repairs + 1);
      assert.deepStrictEqual(readRegistry(registry.buffer).problems, []);
      registry.close();
    });
  }
});
