'use strict';
// store.namespaces() and store.namespace(name) (docs/api.md): namespaces keep their entries
// apart, at most 255, a new namespace starts from a clean record, a record whose nameLength is
// impossible is reported and dropped, and the Map-like view.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { C, W } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');
const { namespaceWord, cellNsWord, nsStateWord } = require('../helpers/store-bytes');

forEachEngine('store.namespaces()', ({ engine, other, make }) => {
  it('keeps namespaces apart', () => {
    const s = make();
    s.set('agent-1', 'memory', 'one');
    s.set('agent-2', 'memory', 'two');
    assert.strictEqual(s.get('agent-1', 'memory'), 'one');
    assert.strictEqual(s.get('agent-2', 'memory'), 'two');
    assert.deepStrictEqual(s.namespaces().sort(), ['agent-1', 'agent-2']);
    assert.strictEqual(s.count('agent-1'), 1);
    assert.strictEqual(s.count(), 2);
    assert.strictEqual(s.clear('agent-1'), 1);
    assert.strictEqual(s.get('agent-1', 'memory'), undefined);
    assert.strictEqual(s.get('agent-2', 'memory'), 'two');
    assert.strictEqual(s.count(), 1);
    assert.strictEqual(s.count('unknown'), 0);
  });

  it('enforces 255 namespaces with a RangeError and no change', () => {
    const s = make();
    for (let i = 1; i <= 255; i++) s.set(`ns${i}`, 'k', i);
    assert.throws(() => s.set('one-too-many', 'k', 1), (e) => e instanceof RangeError &&
      e.code === 'ERR_TOO_MANY_NAMESPACES');
    assert.strictEqual(s.namespaces().length, 255);
    assert.strictEqual(s.get('ns255', 'k'), 255);
  });

  it('a new namespace starts with count 0 whatever count the cells held for its id', () => {
    const s = make({ buckets: 1 });
    const u32 = new Uint32Array(s.buffer);
    u32[cellNsWord(u32, 0, 1)] = 7; // left by damage, or by a party killed between two steps
    u32[cellNsWord(u32, 9, 1)] = 5;
    s.set('a', 'k', 'v');
    assert.strictEqual(s.count('a'), 1);
    assert.deepStrictEqual(s.stats().namespaceCounts, { a: 1 });
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
  });

  it('a new namespace takes the lowest record neither live nor dropping, whatever its state word holds', () => {
    const s = make({ buckets: 1 });
    const u32 = new Uint32Array(s.buffer);
    u32[nsStateWord(u32, 1)] = 3; // neither free (0), dropping (1) nor live (2): free (format.md §5)
    s.set('a', 'k', 'v');
    assert.strictEqual(u32[nsStateWord(u32, 1)], C.NS_STATE_LIVE);
    assert.strictEqual(u32[nsStateWord(u32, 2)], C.NS_STATE_FREE);
    assert.strictEqual(s.get('a', 'k'), 'v');
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
  });

  for (const len of [0, C.MAX_NAMESPACE_BYTES + 1, 0xffffffff]) {
    it(`nameLength ${len}: verify() reports it, repair() drops the namespace and its entries`, () => {
      const s = make({ buckets: 4 });
      for (let i = 0; i < 5; i++) s.set('a', `k${i}`, i);
      for (let i = 0; i < 3; i++) s.set('b', `k${i}`, i);
      const u32 = new Uint32Array(s.buffer);
      const nameLength = namespaceWord(u32, 1, W.NAMESPACE.NAME_LENGTH);
      u32[nameLength] = len;
      // Each entry (a 2-byte key, a 1-byte value) takes one block of this many units.
      const per = Math.ceil((C.ENTRY_HEADER_SIZE + 2 + 1) / C.BLOCK_UNIT);
      // The rest of the batch the first insert took is parked for this handle (format.md §8,
      // "Parked blocks"); its own repair pass frees them with the dropped namespace's blocks.
      const parked = s.stats().bytesParked / C.BLOCK_UNIT;
      assert.deepStrictEqual(s.verify(), { ok: false, errors: [`namespace 1: name length ${len}`],
        entries: 8, liveUnits: 8 * per, freeUnits: 0, leakedUnits: 0, parkedUnits: parked });
      s.repair();
      assert.deepStrictEqual(s.verify(), { ok: true, errors: [], entries: 3, liveUnits: 3 * per,
        freeUnits: 5 * per + parked, leakedUnits: 0, parkedUnits: 0 });
      assert.strictEqual(u32[nsStateWord(u32, 1)], C.NS_STATE_FREE);
      assert.deepStrictEqual(s.namespaces(), ['b']);
      assert.strictEqual(s.count(), 3);
      // This handle still knows the dropped namespace's id: reads find nothing (the id is not
      // current any more, format.md §5), and a write creates the name afresh in the freed record.
      assert.strictEqual(s.get('a', 'k1'), undefined);
      assert.strictEqual(s.count('a'), 0);
      const o = Store.attach(s.buffer, { engine });
      try {
        assert.strictEqual(o.get('a', 'k1'), undefined);
        s.set('a', 'k1', 'again');
        assert.strictEqual(o.get('a', 'k1'), 'again');
        assert.strictEqual(o.count('a'), 1);
      } finally {
        o.close();
      }
      assert.strictEqual(s.get('a', 'k1'), 'again');
      const v = s.verify();
      assert.ok(v.ok, v.errors.join('\n'));
    });
  }

  // The record repair freed for its name gets a new generation (format.md §9, step 4): a handle
  // that resolved the old name before must not write into the namespace that takes the record
  // next, whichever engine repaired.
  it('a handle that resolved a namespace repair freed for its name writes nothing into the namespace that takes its record', () => {
    const s = make();
    s.set('a', 'k', 'old');
    const u32 = new Uint32Array(s.buffer);
    const generation = u32[namespaceWord(u32, 1, W.NAMESPACE.GENERATION)];
    u32[namespaceWord(u32, 1, W.NAMESPACE.NAME_LENGTH)] = 0;
    const o = Store.attach(s.buffer, { engine: other });
    try {
      o.repair();
      assert.strictEqual(u32[namespaceWord(u32, 1, W.NAMESPACE.GENERATION)], generation + 1);
      o.set('b', 'x', 'y');
      assert.strictEqual(o._id('b', false), 1, 'the new namespace takes the freed record');
      s.set('a', 'k2', 'v2'); // this handle still holds (1, the old generation) for 'a'
      assert.deepStrictEqual(o.keys('b'), ['x']);
      assert.strictEqual(o.get('a', 'k2'), 'v2');
      assert.strictEqual(s.get('a', 'k2'), 'v2');
      const v = o.verify();
      assert.ok(v.ok, v.errors.join('\n'));
    } finally {
      o.close();
    }
  });
});

forEachEngine('store.namespace(name)', ({ make }) => {
  it('namespace() gives a Map-like view', () => {
    const s = make();
    const ns = s.namespace('view');
    assert.strictEqual(ns.set('a', 1), ns);
    ns.set('b', 2);
    assert.strictEqual(ns.get('a'), 1);
    assert.strictEqual(ns.has('b'), true);
    assert.strictEqual(ns.size, 2);
    assert.deepStrictEqual(new Map(ns), new Map([['a', 1], ['b', 2]]));
    assert.deepStrictEqual([...ns.keys()].sort(), ['a', 'b']);
    assert.deepStrictEqual([...ns.values()].sort(), [1, 2]);
    assert.deepStrictEqual(new Map(ns.entries()), new Map([['a', 1], ['b', 2]]));
    const seen = [];
    ns.forEach((v, k, m) => seen.push([k, v, m === ns]));
    assert.deepStrictEqual(seen.sort(), [['a', 1, true], ['b', 2, true]]);
    assert.strictEqual(ns.delete('a'), true);
    ns.clear();
    assert.strictEqual(ns.size, 0);
  });
});
