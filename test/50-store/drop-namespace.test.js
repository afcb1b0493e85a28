'use strict';
// store.dropNamespace(ns) (docs/api.md, format.md §5 "Dropping"): removes the entries, the policy
// and the counters of a namespace and frees its id for reuse, in both engines and across them; a
// handle that resolved the dropped namespace never reads or writes through its old id.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { C, W, AT } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');
const { namespaceWord, nsStateWord, unindex } = require('../helpers/store-bytes');

const idOf = (s, ns) => s._id(ns, false);

forEachEngine('store.dropNamespace()', ({ engine, other, make }) => {
  it('removes the entries, the policy and the counters, and returns how many entries went', () => {
    const s = make();
    for (let i = 0; i < 50; i++) s.set('cache', `k${i}`, i);
    s.set('keep', 'k1', 'kept');
    s.namespace('cache', { eviction: 'clock', ttl: 60000 });
    s.get('cache', 'k1');
    assert.strictEqual(s.dropNamespace('cache'), 50);
    assert.deepStrictEqual(s.namespaces(), ['keep']);
    assert.strictEqual(s.count(), 1);
    assert.strictEqual(s.count('cache'), 0);
    assert.strictEqual(s.get('cache', 'k1'), undefined);
    assert.strictEqual(s.get('keep', 'k1'), 'kept');
    // Created anew: no policy, TTL or counter of the dropped namespace.
    s.set('cache', 'k1', 'new');
    const st = s.stats().namespaceStats.cache;
    assert.strictEqual(st.count, 1);
    assert.strictEqual(st.hits, 0);
    assert.strictEqual(st.ttl, Infinity);
    assert.strictEqual(st.eviction, 'none');
    assert.strictEqual(s.ttl('cache', 'k1'), Infinity);
    assert.deepStrictEqual(s.verify().errors, []);
  });

  it('stats() names the life of each namespace by its record id and generation: a drop and a new creation change the pair, both engines agree', () => {
    const s = make();
    s.set('a', 'k', 1);
    s.set('b', 'k', 1);
    const life = (st, ns) => [st.namespaceStats[ns].id, st.namespaceStats[ns].generation];
    const first = life(s.stats(), 'a');
    assert.deepStrictEqual(first, [idOf(s, 'a'), 0]);
    s.dropNamespace('a');
    s.set('a', 'k', 2); // the lowest free record: the same one, its generation moved on
    assert.deepStrictEqual(life(s.stats(), 'a'), [first[0], 1]);
    s.dropNamespace('a');
    s.set('c', 'k', 1); // takes the record
    s.set('a', 'k', 3);
    const third = life(s.stats(), 'a');
    assert.notStrictEqual(third[0], first[0]);
    assert.deepStrictEqual(life(s.stats(), 'c'), [first[0], 2]);
    const o = Store.attach(s.buffer, { engine: other });
    try {
      const [mine, theirs] = [s.stats(), o.stats()];
      for (const ns of ['a', 'b', 'c']) assert.deepStrictEqual(life(theirs, ns), life(mine, ns), ns);
    } finally {
      o.close();
    }
  });

  it('under drops and creations by another thread, each row of stats() holds the counters of the life its (id, generation) names', async function () {
    this.timeout(30000);
    const s = make({ size: 1 << 20, buckets: 64, readCache: false });
    // The other thread: in the life of generation g, exactly 1 + g % 5 hits, flushed at once by
    // its stats(); then a drop. A row of generation g therefore has 0 or 1 + g % 5 hits, never
    // the hits of the life before under the generation of the next.
    const src = `
      const { workerData: { buffer, engine, lives, root } } = require('worker_threads');
      const { Store } = require(root + '/lib/store/store');
      const w = Store.attach(buffer, { engine, readCache: false });
      for (let i = 0; i < lives; i++) {
        w.set('x', 'k', 1);
        const g = w.stats().namespaceStats.x.generation;
        for (let h = 0; h < 1 + (g % 5); h++) w.get('x', 'k');
        w.stats();
        w.dropNamespace('x');
      }
      w.close();`;
    const root = require('path').resolve(__dirname, '../..');
    const { Worker } = require('worker_threads');
    const worker = new Worker(src, { eval: true, workerData: { buffer: s.buffer, engine: other, lives: 400, root } });
    const done = new Promise((resolve, reject) => {
      worker.on('error', reject);
      worker.on('exit', resolve);
    });
    let running = true;
    done.then(() => { running = false; }, () => { running = false; });
    let rows = 0;
    while (running) {
      const x = s.stats().namespaceStats.x;
      if (x !== undefined) {
        rows++;
        assert.ok(x.hits === 0 || x.hits === 1 + (x.generation % 5), `generation ${x.generation}: ${x.hits} hits`);
      }
      await new Promise((r) => setImmediate(r));
    }
    assert.strictEqual(await done, 0);
    assert.ok(rows > 0);
  });

  it('returns false for a namespace that does not exist, 0 for an empty one', () => {
    const s = make();
    assert.strictEqual(s.dropNamespace('never'), false);
    s.namespace('empty', { ttl: 5 });
    assert.strictEqual(s.dropNamespace('empty'), 0);
    assert.strictEqual(s.dropNamespace('empty'), false);
    assert.deepStrictEqual(s.namespaces(), []);
  });

  it('refuses bad arguments with a TypeError or RangeError and changes nothing', () => {
    const s = make();
    s.set('a', 'k', 1);
    for (const bad of [undefined, null, 1, {}, Symbol('x')]) {
      assert.throws(() => s.dropNamespace(bad), TypeError);
    }
    assert.throws(() => s.dropNamespace(''), RangeError);
    assert.throws(() => s.dropNamespace('x'.repeat(C.MAX_NAMESPACE_BYTES + 1)), RangeError);
    assert.strictEqual(s.get('a', 'k'), 1);
    s.close();
    assert.throws(() => s.dropNamespace('a'), (e) => e.code === 'ERR_CLOSED');
  });

  it('frees the id: 255 namespaces, then 255 create/drop cycles never run out of slots', () => {
    const s = make({ buckets: 64 });
    for (let i = 1; i <= 255; i++) s.set(`ns${i}`, 'k', i);
    assert.throws(() => s.set('extra', 'k', 1), (e) => e.code === 'ERR_TOO_MANY_NAMESPACES');
    const id = idOf(s, 'ns7');
    assert.strictEqual(s.dropNamespace('ns7'), 1);
    s.set('extra', 'k', 'x');
    assert.strictEqual(idOf(s, 'extra'), id, 'the lowest free id is reused');
    for (let i = 0; i < 255; i++) {
      assert.strictEqual(s.dropNamespace('extra'), 1);
      s.set('extra', 'k', i);
      assert.strictEqual(s.get('extra', 'k'), i);
    }
    assert.strictEqual(s.namespaces().length, 255);
    assert.strictEqual(s.count(), 255);
    assert.deepStrictEqual(s.verify().errors, []);
  });

  it('a handle that cached the dropped id neither reads nor writes the namespace that reuses it', () => {
    const a = make();
    const b = Store.attach(a.buffer, { engine });
    try {
      a.set('old', 'k', 'old value');
      assert.strictEqual(b.get('old', 'k'), 'old value'); // b caches old's id
      const id = idOf(a, 'old');
      assert.strictEqual(a.dropNamespace('old'), 1);
      a.set('new', 'k', 'new value');
      assert.strictEqual(idOf(a, 'new'), id, 'the id is reused');
      // b's cached id for 'old' now names 'new': b must see 'old' as absent and create it anew.
      assert.strictEqual(b.get('old', 'k'), undefined);
      assert.strictEqual(b.has('old', 'k'), false);
      assert.strictEqual(b.count('old'), 0);
      assert.deepStrictEqual(b.keys('old'), []);
      b.set('old', 'k2', 'again');
      assert.notStrictEqual(idOf(b, 'old'), id);
      assert.strictEqual(a.get('new', 'k'), 'new value');
      assert.strictEqual(a.get('new', 'k2'), undefined);
      assert.strictEqual(a.get('old', 'k2'), 'again');
      assert.strictEqual(a.count('new'), 1);
      assert.deepStrictEqual(a.verify().errors, []);
    } finally {
      b.close();
    }
  });

  it(`drops in ${engine}, ${other} sees it and reuses the id, and the reverse`, () => {
    const a = make();
    const b = Store.attach(a.buffer, { engine: other });
    try {
      for (let i = 0; i < 20; i++) a.set('shared', `k${i}`, i);
      assert.strictEqual(b.count('shared'), 20);
      assert.strictEqual(a.dropNamespace('shared'), 20);
      assert.deepStrictEqual(b.namespaces(), []);
      assert.strictEqual(b.get('shared', 'k1'), undefined);
      b.set('shared', 'k1', 'b');
      assert.strictEqual(a.get('shared', 'k1'), 'b');
      assert.strictEqual(b.dropNamespace('shared'), 1);
      assert.strictEqual(a.get('shared', 'k1'), undefined);
      assert.deepStrictEqual(a.verify().errors, []);
      assert.deepStrictEqual(b.verify().errors, []);
    } finally {
      b.close();
    }
  });

  it('views of a dropped namespace follow its name: empty after the drop, filled again by a set', () => {
    const s = make();
    const view = s.namespace('v');
    view.set('a', 1).set('b', 2);
    assert.strictEqual(s.dropNamespace('v'), 2);
    assert.strictEqual(view.size, 0);
    assert.strictEqual(view.get('a'), undefined);
    assert.deepStrictEqual([...view.keys()], []);
    view.set('c', 3);
    assert.deepStrictEqual(s.namespaces(), ['v']);
    assert.deepStrictEqual(s.entries('v'), [['c', 3]]);
  });

  it('a repair pass finishes a drop left half way (a dropper killed between buckets)', () => {
    const s = make({ buckets: 16 });
    for (let i = 0; i < 40; i++) s.set('gone', `k${i}`, i);
    s.set('stay', 'k', 1);
    const id = idOf(s, 'gone');
    // The state a dropper leaves when it dies after its first step (format.md §5, "Dropping").
    const u32 = new Uint32Array(s.buffer);
    u32[namespaceWord(u32, id, W.NAMESPACE.GENERATION)] += 1;
    u32[nsStateWord(u32, id)] = C.NS_STATE_DROPPING;
    Atomics.sub(u32, AT.NS_STATE.LIVE_COUNT, 1);
    unindex(u32, id);
    // verify() accepts a namespace being dropped; its entries are invisible to every name.
    assert.deepStrictEqual(s.verify().errors, []);
    assert.deepStrictEqual(s.namespaces(), ['stay']);
    assert.strictEqual(s.get('gone', 'k1'), undefined);
    s.repair();
    assert.strictEqual(u32[nsStateWord(u32, id)], C.NS_STATE_FREE);
    assert.strictEqual(s.count(), 1);
    assert.deepStrictEqual(s.verify().errors, []);
    s.set('next', 'k', 2);
    assert.strictEqual(idOf(s, 'next'), id);
  });
});

// A configure checks that its namespace is current, then stores the policy and the TTL. A drop
// that finishes between the two, and a new namespace that takes the freed record, must not get
// the configure's settings (format.md §5, "Namespace policy records"). The JS engine's configure
// is interrupted at its first store (the TTL, made a BigInt) while a handle of each engine drops
// the namespace and creates a pinned one; if the configure holds NsState.lock there, a drop
// (which takes that lock) could not run until it returns, and runs then.
describe('store.namespace(): a drop and a creation between the check and the stores [js engine configure]', () => {
  for (const engine of ['native', 'js']) {
    it(`leaves the pinned namespace a ${engine} handle created meanwhile pinned`, () => {
      const s = Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine: 'js', maxEntries: 4, buckets: 1, eviction: 'none' });
      const o = Store.attach(s.buffer, { engine });
      const original = globalThis.BigInt;
      let interleaved = false;
      try {
        s.set('cache', 'k', 1); // the namespace exists: namespace() below goes straight to configure
        const dropAndCreate = () => {
          assert.strictEqual(o.dropNamespace('cache'), 1);
          o.namespace('memories', { eviction: 'none' }); // takes the freed record
        };
        let deferred = false;
        globalThis.BigInt = (x) => {
          if (!interleaved) {
            interleaved = true;
            if (new Uint32Array(s.buffer)[AT.NS_STATE.LOCK] & 1) deferred = true;
            else dropAndCreate();
          }
          return original(x);
        };
        s.namespace('cache', { eviction: 'clock', ttl: 1 });
        globalThis.BigInt = original;
        assert.ok(interleaved, 'the configure was interrupted');
        if (deferred) dropAndCreate();
        for (let i = 0; i < 4; i++) o.set('memories', `m${i}`, i);
        assert.throws(() => o.set('memories', 'one more', 1), { code: 'ERR_STORE_FULL' });
        for (let i = 0; i < 4; i++) assert.strictEqual(s.get('memories', `m${i}`), i, `m${i}`);
        const st = o.stats().namespaceStats.memories;
        assert.deepStrictEqual([st.eviction, st.ttl], ['none', Infinity]);
      } finally {
        globalThis.BigInt = original;
        o.close();
        s.close();
      }
    });
  }
});
