'use strict';
const assert = require('assert');
const { forEachEngine } = require('../helpers/engines');
const { C } = require('../../lib/layout/layout');

forEachEngine('Store API', ({ engine, make }) => {
  it('reports its engine and exposes the buffer', () => {
    const s = make();
    assert.strictEqual(s.engine, engine);
    assert.ok(s.buffer instanceof SharedArrayBuffer);
  });

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

  it('getMany and setMany', () => {
    const s = make();
    const n = s.setMany('m', [['a', 1], ['b', 'two'], ['c', Buffer.from('3')]]);
    assert.strictEqual(n, 3);
    s.setMany('m', new Map([['d', [4]]]));
    const got = s.getMany('m', ['a', 'b', 'zz', 'c', 'd']);
    assert.strictEqual(got[0], 1);
    assert.strictEqual(got[1], 'two');
    assert.strictEqual(got[2], undefined);
    assert.strictEqual(got[3].toString(), '3');
    assert.deepStrictEqual(got[4], [4]);
    assert.deepStrictEqual(s.getMany('nope', ['a']), [undefined]);
  });

  it('reports ERR_STORE_FULL when entries or space run out, and stays usable', () => {
    const s = make({ maxEntries: 10 });
    for (let i = 0; i < 10; i++) s.set('f', `k${i}`, i);
    assert.throws(() => s.set('f', 'k10', 10), { code: 'ERR_STORE_FULL' });
    s.set('f', 'k0', 'overwrite is fine when full');
    s.delete('f', 'k1');
    s.set('f', 'k10', 10);
    assert.strictEqual(s.count(), 10);
    const small = make({ size: 80 * 1024, buckets: 64 });
    let n = 0;
    assert.throws(() => {
      for (;;) small.set('f', `key${n++}`, 'x'.repeat(1000));
    }, { code: 'ERR_STORE_FULL' });
    assert.strictEqual(small.count(), n - 1);
    assert.strictEqual(small.get('f', 'key0'), 'x'.repeat(1000));
    assert.ok(small.verify().ok);
  });

  it('stats() reports entries, bytes and fragmentation', () => {
    const s = make();
    for (let i = 0; i < 100; i++) s.set('s', `k${i}`, 'x'.repeat(100));
    for (let i = 0; i < 50; i++) s.delete('s', `k${i}`);
    s.get('s', 'k60');
    const st = s.stats();
    assert.strictEqual(st.engine, engine);
    assert.strictEqual(st.entries, 50);
    assert.strictEqual(st.namespaces, 1);
    assert.deepStrictEqual(st.namespaceCounts, { s: 50 });
    // Each entry (header, a 2- or 3-byte key, 100 bytes of value) takes a block of 3 units.
    assert.strictEqual(st.bytesFreeLists, 50 * 3 * C.UNIT);
    assert.strictEqual(st.bytesLive, 50 * 3 * C.UNIT);
    assert.strictEqual(st.bytesFree, st.bytesFreeLists + st.bytesTail);
    assert.ok(st.fragmentation > 0 && st.fragmentation < 1);
    assert.ok(st.writes >= 150 && st.reads >= 1);
  });

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

  it('enforces 255 namespaces with a RangeError and no change', () => {
    const s = make();
    for (let i = 1; i <= 255; i++) s.set(`ns${i}`, 'k', i);
    assert.throws(() => s.set('one-too-many', 'k', 1), (e) => e instanceof RangeError &&
      e.code === 'ERR_TOO_MANY_NAMESPACES');
    assert.strictEqual(s.namespaces().length, 255);
    assert.strictEqual(s.get('ns255', 'k'), 255);
  });

  it('close() is idempotent and later calls throw ERR_CLOSED', () => {
    const s = make();
    s.set('c', 'k', 1);
    s.close();
    s.close();
    assert.strictEqual(s.closed, true);
    assert.throws(() => s.get('c', 'k'), { code: 'ERR_CLOSED' });
    assert.throws(() => s.set('c', 'k', 1), { code: 'ERR_CLOSED' });
    assert.throws(() => s.buffer, { code: 'ERR_CLOSED' });
  });

  it('verify() and a repair pass on a healthy store change nothing', () => {
    const s = make();
    for (let i = 0; i < 300; i++) s.set(`n${i % 3}`, `k${i}`, i);
    const before = s.verify();
    assert.ok(before.ok, before.errors.join('\n'));
    assert.strictEqual(before.entries, 300);
    s.repair();
    const after = s.verify();
    assert.deepStrictEqual(after, before);
    assert.strictEqual(s.stats().repairs, 1);
  });
});
