'use strict';
// The per-handle read cache (docs/api.md, "Read cache"; format.md §9, "Cached reads"): a get of an
// unchanged entry is answered without the engine, and never with a value that another handle
// (either engine) changed, deleted, cleared, dropped, expired, evicted, moved or repaired away.
// Statistics and the CLOCK mark are exactly those of an engine hit.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { C, W, H, AT, UNIT_HALFS } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');
const { exitedPid } = require('../helpers/process');
const { bucketWord, pidWord, tidWord, entryWord, chain, namespaceWord, nsStateWord, unindex, lockedBy } = require('../helpers/store-bytes');

// Counts the calls of the handle's engine get (the cache answers the others).
function countEngineGets(s) {
  const e = s._e;
  const inner = e.get;
  const c = { n: 0 };
  e.get = (...args) => {
    c.n++;
    return inner.apply(e, args);
  };
  return c;
}

// Reads `key` until the cache answers it (the second read admits it): returns the value.
function warm(s, ns, key) {
  s.get(ns, key);
  return s.get(ns, key);
}

// The unit of the entry of `key` in namespace `ns` (by its chain, through the layout names).
function unitOf(s, ns, key) {
  const u32 = new Uint32Array(s.buffer);
  const buckets = u32[AT.HEADER.BUCKET_COUNT];
  const u16 = new Uint16Array(s.buffer);
  const bytes = Buffer.from(s.buffer);
  for (let b = 0; b < buckets; b++) {
    for (const u of chain(u32, b)) {
      const kl = u16[u * UNIT_HALFS + H.ENTRY.KEY_LENGTH];
      const at = u * C.BLOCK_UNIT + C.ENTRY_HEADER_SIZE;
      if (kl === Buffer.byteLength(key) && bytes.toString('utf8', at, at + kl) === key &&
        u16[u * UNIT_HALFS + H.ENTRY.NAMESPACE_ID] === s._id(ns, false)) return { u, b };
    }
  }
  return null;
}

forEachEngine('read cache', ({ engine, make, other }) => {
  it('answers a repeated get without the engine, with the same value; JSON is parsed anew on every hit', () => {
    const s = make();
    s.set('n', 'text', 'v'.repeat(100));
    s.set('n', 'obj', { a: [1, 2] });
    const calls = countEngineGets(s);
    assert.strictEqual(warm(s, 'n', 'text'), 'v'.repeat(100));
    const o1 = warm(s, 'n', 'obj');
    assert.strictEqual(calls.n, 4);
    for (let i = 0; i < 10; i++) assert.strictEqual(s.get('n', 'text'), 'v'.repeat(100));
    const o2 = s.get('n', 'obj');
    assert.strictEqual(calls.n, 4, 'the cache answered the later gets');
    assert.deepStrictEqual(o2, { a: [1, 2] });
    o2.a.push(3);
    assert.notStrictEqual(o1, o2);
    assert.deepStrictEqual(s.get('n', 'obj'), { a: [1, 2] }, 'a caller\'s change to a returned object is its own');
    assert.deepStrictEqual(s.getMany('n', ['text', 'obj', 'none']), ['v'.repeat(100), { a: [1, 2] }, undefined]);
    assert.strictEqual(calls.n, 5, 'getMany used the cache for the cached keys');
  });

  it('never caches a Buffer (mutable) or a value above maxValueBytes', () => {
    const s = make({ readCache: { maxValueBytes: 10 } });
    s.set('n', 'bin', Buffer.from([1, 2, 3]));
    s.set('n', 'long', 'x'.repeat(11));
    s.set('n', 'short', 'x'.repeat(10));
    const calls = countEngineGets(s);
    for (let i = 0; i < 5; i++) {
      const b = s.get('n', 'bin');
      assert.deepStrictEqual([...b], [1, 2, 3]);
      b[0] = 9;
      assert.strictEqual(s.get('n', 'long'), 'x'.repeat(11));
      assert.strictEqual(s.get('n', 'short'), 'x'.repeat(10));
    }
    assert.strictEqual(calls.n, 5 * 2 + 2, 'binary and long values go to the engine every time');
  });

  it('readCache: false reads every get through the engine', () => {
    const s = make({ readCache: false });
    s.set('n', 'k', 'v');
    const calls = countEngineGets(s);
    for (let i = 0; i < 5; i++) assert.strictEqual(s.get('n', 'k'), 'v');
    assert.strictEqual(calls.n, 5);
  });

  it('holds at most `entries` records', () => {
    const s = make({ readCache: { entries: 10 } });
    for (let i = 0; i < 100; i++) s.set('n', `k${i}`, `v${i}`);
    for (let p = 0; p < 3; p++) for (let i = 0; i < 100; i++) assert.strictEqual(s.get('n', `k${i}`), `v${i}`);
    assert.ok(s._rc.size <= 10, `${s._rc.size} records`);
    const calls = countEngineGets(s);
    for (let i = 0; i < 100; i++) s.get('n', `k${i}`);
    assert.ok(calls.n >= 90, `${calls.n} engine reads of 100 with room for 10`);
  });

  it('after reads spread over many more keys than it holds, a hot set is answered from the cache again', () => {
    const s = make({ readCache: { entries: 64 } });
    for (let i = 0; i < 3000; i++) s.set('n', `k${i}`, `v${i}`);
    // Cold reads: few lookups hit, so the cache looks up only a sample of the gets.
    for (let p = 0; p < 2; p++) for (let i = 0; i < 3000; i++) assert.strictEqual(s.get('n', `k${i}`), `v${i}`);
    const calls = countEngineGets(s);
    let quiet = 0;
    for (let n = 0; n < 50000 && quiet < 200; n++) {
      const before = calls.n;
      assert.strictEqual(s.get('n', `k${n % 10}`), `v${n % 10}`);
      quiet = calls.n === before ? quiet + 1 : 0;
    }
    assert.strictEqual(quiet, 200, 'the hot keys came to be answered without the engine');
  });

  for (const writer of [engine, other]) {
    it(`a value set, deleted or cleared by another handle (${writer} engine) is never returned stale`, () => {
      const s = make();
      const w = Store.attach(s.buffer, { engine: writer });
      try {
        s.set('n', 'k', 'one');
        s.set('n', 'j', { v: 1 });
        assert.strictEqual(warm(s, 'n', 'k'), 'one');
        assert.deepStrictEqual(warm(s, 'n', 'j'), { v: 1 });
        w.set('n', 'k', 'two');
        w.set('n', 'j', { v: 2 });
        assert.strictEqual(s.get('n', 'k'), 'two');
        assert.deepStrictEqual(s.get('n', 'j'), { v: 2 });
        assert.strictEqual(warm(s, 'n', 'k'), 'two');
        // The same value again: a new entry, still the same value.
        w.set('n', 'k', 'two');
        assert.strictEqual(s.get('n', 'k'), 'two');
        assert.strictEqual(w.delete('n', 'k'), true);
        assert.strictEqual(s.get('n', 'k'), undefined);
        w.set('n', 'k', 'three');
        assert.strictEqual(warm(s, 'n', 'k'), 'three');
        assert.strictEqual(w.clear('n'), 2);
        assert.strictEqual(s.get('n', 'k'), undefined);
        assert.strictEqual(s.get('n', 'j'), undefined);
      } finally {
        w.close();
      }
    });

    it(`a namespace dropped and created again by another handle (${writer} engine): no value of the old one`, () => {
      const s = make();
      const w = Store.attach(s.buffer, { engine: writer });
      try {
        s.set('a', 'k', 'old-a');
        s.set('b', 'k', 'b');
        assert.strictEqual(warm(s, 'a', 'k'), 'old-a');
        assert.strictEqual(warm(s, 'b', 'k'), 'b', 'the same key in two namespaces');
        w.dropNamespace('a');
        assert.strictEqual(s.get('a', 'k'), undefined);
        // The freed id is reused by another name, holding the same key and value.
        w.set('c', 'k', 'old-a');
        assert.strictEqual(s.get('a', 'k'), undefined);
        assert.strictEqual(s.get('c', 'k'), 'old-a');
        w.set('a', 'k', 'new-a');
        assert.strictEqual(warm(s, 'a', 'k'), 'new-a');
        assert.strictEqual(warm(s, 'b', 'k'), 'b');
        s.dropNamespace('a');
        assert.strictEqual(s.get('a', 'k'), undefined);
        assert.strictEqual(s.get('b', 'k'), 'b');
      } finally {
        w.close();
      }
    });
  }

  it('an entry that expires while cached is a miss (counted as the engine counts it), and is removed', async () => {
    const s = make();
    s.set('n', 'k', 'v', { ttl: 1 });
    s.set('n', 'long', 'v', { ttl: 60000 });
    assert.strictEqual(warm(s, 'n', 'long'), 'v');
    const calls = countEngineGets(s);
    assert.strictEqual(s.get('n', 'long'), 'v');
    assert.strictEqual(calls.n, 0, 'an entry with an expiry is cached too');
    // Cached while it lives (when the machine is fast enough to read it twice within 1 ms).
    s.set('n', 'k', 'v', { ttl: 200 });
    warm(s, 'n', 'k');
    const end = Date.now() + 201;
    while (Date.now() <= end) await new Promise((r) => setTimeout(r, 20));
    const before = s.stats().namespaceStats.n.misses;
    assert.strictEqual(s.get('n', 'k'), undefined);
    assert.strictEqual(s.stats().namespaceStats.n.misses, before + 1);
    assert.strictEqual(s.count('n'), 1, 'the expired entry was removed');
  });

  it('an overwrite with the same value and another TTL: get and ttl() agree', () => {
    const s = make();
    s.set('n', 'k', 'v');
    assert.strictEqual(warm(s, 'n', 'k'), 'v');
    assert.strictEqual(s.ttl('n', 'k'), Infinity);
    s.set('n', 'k', 'v', { ttl: 60000 });
    assert.strictEqual(s.get('n', 'k'), 'v');
    const t = s.ttl('n', 'k');
    assert.ok(t > 0 && t <= 60000, `ttl ${t}`);
    s.set('n', 'k', 'v', { expiresAt: Date.now() - 1 });
    assert.strictEqual(s.get('n', 'k'), undefined);
    assert.strictEqual(s.ttl('n', 'k'), undefined);
  });

  it('an entry evicted by another handle is not returned', () => {
    const s = make({ maxEntries: 50, buckets: 64, eviction: 'auto' });
    const w = Store.attach(s.buffer, { engine: other });
    try {
      s.set('n', 'cached', 'v');
      assert.strictEqual(warm(s, 'n', 'cached'), 'v');
      // keys() lists without marking (has() would mark the entry, and the hand would spare it).
      for (let i = 0; w.keys('n').includes('cached'); i++) {
        assert.ok(i < 10000, 'the entry was never evicted');
        w.set('n', `fill${i}`, 'x');
      }
      assert.strictEqual(s.get('n', 'cached'), undefined);
      assert.ok(w.stats().namespaceStats.n.evictions > 0, 'the other handle evicted');
    } finally {
      w.close();
    }
  });

  it('a cached hit sets the CLOCK mark exactly as an engine hit does', () => {
    const s = make({ eviction: 'auto' });
    s.set('n', 'k', 'v');
    assert.strictEqual(warm(s, 'n', 'k'), 'v');
    const { u } = unitOf(s, 'n', 'k');
    const u32 = new Uint32Array(s.buffer);
    const flags = entryWord(u, W.ENTRY.FLAGS);
    assert.ok(u32[flags] & C.FLAG_ACCESSED, 'the engine hit marked it');
    // The hand's second chance clears the mark (format.md §8): the next hit sets it again.
    Atomics.and(u32, flags, ~C.FLAG_ACCESSED);
    const calls = countEngineGets(s);
    assert.strictEqual(s.get('n', 'k'), 'v');
    assert.strictEqual(calls.n, 0, 'answered by the cache');
    assert.ok(u32[flags] & C.FLAG_ACCESSED, 'the cached hit marked it');
    // A store that never evicts is not marked (as the engines do not mark it).
    const p = make();
    p.set('n', 'k', 'v');
    warm(p, 'n', 'k');
    p.get('n', 'k');
    const pu = unitOf(p, 'n', 'k').u;
    assert.strictEqual(new Uint32Array(p.buffer)[entryWord(pu, W.ENTRY.FLAGS)] & C.FLAG_ACCESSED, 0);
  });

  it('hit and miss statistics are identical with the cache on and off', () => {
    const run = (readCache) => {
      const s = make({ readCache });
      for (let i = 0; i < 50; i++) s.set(i % 2 ? 'a' : 'b', `k${i}`, i % 3 ? `v${i}` : { i });
      for (let p = 0; p < 4; p++) {
        for (let i = 0; i < 60; i++) s.get(i % 2 ? 'a' : 'b', `k${i}`);
        s.getMany('a', ['k1', 'k3', 'nope']);
        s.set('a', 'k1', `again${p}`);
      }
      const st = s.stats();
      return { reads: st.reads, a: st.namespaceStats.a, b: st.namespaceStats.b };
    };
    assert.deepStrictEqual(run(true), run(false));
  });

  it('hits are counted in the shared counters by the periodic flush, seen from another handle', async () => {
    const s = make();
    const w = Store.attach(s.buffer, { engine: other });
    try {
      s.set('n', 'k', 'v');
      for (let i = 0; i < 100; i++) s.get('n', 'k');
      const deadline = Date.now() + 20000;
      while (w.stats().namespaceStats.n.hits < 100) {
        assert.ok(Date.now() < deadline, 'the hits never reached the shared counters');
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.strictEqual(w.stats().namespaceStats.n.hits, 100);
    } finally {
      w.close();
    }
  });

  it('an entry moved by compaction is read from its new place; values changed after it are seen', () => {
    const s = make({ size: 1 << 20 });
    for (let i = 0; i < 400; i++) s.set('n', `k${i}`, `${i}`.padEnd(100 + (i % 7) * 40, '.'));
    // Holes of every class, then the survivors cached.
    for (let i = 0; i < 400; i += 2) s.delete('n', `k${i}`);
    for (let i = 1; i < 400; i += 2) warm(s, 'n', `k${i}`);
    const r = s.compact();
    assert.ok(r.movedEntries > 0, `compaction moved entries: ${JSON.stringify(r)}`);
    for (let i = 1; i < 400; i += 2) assert.strictEqual(s.get('n', `k${i}`), `${i}`.padEnd(100 + (i % 7) * 40, '.'));
    const w = Store.attach(s.buffer, { engine: other });
    try {
      for (let i = 1; i < 400; i += 2) w.set('n', `k${i}`, `new${i}`.padEnd(100 + (i % 7) * 40, '.'));
      for (let i = 1; i < 400; i += 2) assert.strictEqual(s.get('n', `k${i}`), `new${i}`.padEnd(100 + (i % 7) * 40, '.'));
    } finally {
      w.close();
    }
    assert.ok(s.verify().ok);
  });

  it('a bucket lock left by a dead writer: the get repairs through the engine, and later values are seen', () => {
    const s = make({ buckets: 4 });
    for (let i = 0; i < 10; i++) s.set('a', `k${i}`, `v${i}`);
    for (let i = 0; i < 10; i++) warm(s, 'a', `k${i}`);
    const u32 = new Uint32Array(s.buffer);
    const slot = 4000;
    u32[pidWord(slot)] = exitedPid();
    u32[tidWord(slot)] = 1;
    const { b } = unitOf(s, 'a', 'k3');
    const lock = bucketWord(b, W.BUCKET.LOCK);
    u32[lock] = lockedBy(u32[lock], slot);
    const repairs = s.stats().repairs;
    assert.strictEqual(s.get('a', 'k3'), 'v3');
    assert.strictEqual(s.stats().repairs, repairs + 1);
    const w = Store.attach(s.buffer, { engine: other });
    try {
      for (let i = 0; i < 10; i++) w.set('a', `k${i}`, `w${i}`);
      for (let i = 0; i < 10; i++) assert.strictEqual(s.get('a', `k${i}`), `w${i}`);
    } finally {
      w.close();
    }
    assert.ok(s.verify().ok);
  });

  it('entries a repair pass unlinks (a drop left half way) are not returned, whatever their bytes still say', () => {
    const s = make({ buckets: 16 });
    for (let i = 0; i < 20; i++) s.set('gone', `k${i}`, `v${i}`);
    for (let i = 0; i < 20; i++) warm(s, 'gone', `k${i}`);
    const id = s._id('gone', false);
    // The state a dropper leaves when it dies after its first step (format.md §5, "Dropping").
    const u32 = new Uint32Array(s.buffer);
    u32[namespaceWord(u32, id, W.NAMESPACE.GENERATION)] += 1;
    u32[nsStateWord(u32, id)] = C.NS_STATE_DROPPING;
    Atomics.sub(u32, AT.NS_STATE.LIVE_COUNT, 1);
    unindex(u32, id);
    assert.strictEqual(s.get('gone', 'k1'), undefined);
    s.repair();
    assert.strictEqual(s.get('gone', 'k2'), undefined);
    const w = Store.attach(s.buffer, { engine: other });
    try {
      w.set('gone', 'k3', 'again');
    } finally {
      w.close();
    }
    assert.strictEqual(s.get('gone', 'k3'), 'again');
    assert.strictEqual(s.get('gone', 'k4'), undefined);
  });

  it('an entry unlinked behind the cache\'s back (its header left intact) is not returned', () => {
    const s = make({ buckets: 1 });
    s.set('n', 'a', 'va');
    s.set('n', 'b', 'vb');
    assert.strictEqual(warm(s, 'n', 'a'), 'va');
    assert.strictEqual(warm(s, 'n', 'b'), 'vb');
    // A repair pass leaves the header of a block it merged into a free run as it was; here the
    // chain simply stops naming the entry, with the lock's version moved as a writer moves it.
    const u32 = new Uint32Array(s.buffer);
    const { u } = unitOf(s, 'n', 'a');
    const head = bucketWord(0, W.BUCKET.HEAD);
    const lock = bucketWord(0, W.BUCKET.LOCK);
    const links = [head, ...chain(u32, 0).map((x) => entryWord(x, W.ENTRY.NEXT))];
    const at = links.find((l) => u32[l] === u);
    u32[lock] += 2;
    u32[at] = u32[entryWord(u, W.ENTRY.NEXT)];
    assert.strictEqual(s.get('n', 'a'), undefined);
    assert.strictEqual(s.get('n', 'b'), 'vb');
  });

  it('bad readCache options: TypeError or RangeError, nothing created', () => {
    const bad = [['yes', TypeError], [null, TypeError], [[], TypeError], [{ entries: -1 }, RangeError],
      [{ entries: 1.5 }, RangeError], [{ entries: '10' }, TypeError], [{ maxValueBytes: 1e9 }, RangeError],
      [{ bogus: 1 }, TypeError]];
    const buffer = new SharedArrayBuffer(1 << 20);
    for (const [readCache, E] of bad) {
      assert.throws(() => Store.create({ buffer, engine, readCache }), (err) => err instanceof E && err.code === 'ERR_INVALID_ARG' && /readCache/.test(err.message));
      assert.strictEqual(new Uint32Array(buffer)[0], 0, 'nothing was written');
    }
    const s = make();
    for (const [readCache, E] of bad) {
      assert.throws(() => Store.attach(s.buffer, { engine, readCache }), E);
    }
    const z = Store.attach(s.buffer, { engine, readCache: { entries: 0 } });
    assert.strictEqual(z._rc, null, 'entries: 0 is no cache');
    z.close();
  });

  it('the engine contract: addHits counts reads and hits; a get leaves the GetOut words', () => {
    const s = make();
    s.set('n', 'k', 'v');
    const e = s._e;
    const id = s._id('n', false);
    assert.throws(() => e.addHits(id, -1), RangeError);
    assert.throws(() => e.addHits('1', 1), TypeError);
    assert.throws(() => e.addHits(0, 1), RangeError);
    const before = s.stats();
    e.addHits(id, 7);
    const after = s.stats();
    assert.strictEqual(after.reads, before.reads + 7);
    assert.strictEqual(after.namespaceStats.n.hits, before.namespaceStats.n.hits + 7);
    assert.strictEqual(e.get(id, 'k'), 'v');
    const out = new Uint32Array(s._out.buffer);
    const { u } = unitOf(s, 'n', 'k');
    const u32 = new Uint32Array(s.buffer);
    assert.strictEqual(out[W.GET_OUT.UNIT], u);
    assert.strictEqual(out[W.GET_OUT.ENCODING], C.ENC_UTF8);
    assert.strictEqual(out[W.GET_OUT.KEY_HASH], u32[entryWord(u, W.ENTRY.KEY_HASH)]);
    assert.strictEqual(out[W.GET_OUT.CHECKSUM], u32[entryWord(u, W.ENTRY.CHECKSUM)]);
    assert.strictEqual(out[W.GET_OUT.FLAGS], u32[entryWord(u, W.ENTRY.FLAGS)]);
    assert.strictEqual(out[W.GET_OUT.KEY_LENGTH], 1);
    assert.strictEqual(out[W.GET_OUT.VALUE_LENGTH], 1);
    assert.strictEqual(out[W.GET_OUT.EXPIRES_AT] + out[W.GET_OUT.EXPIRES_AT_HI], 0);
    // An expiry whose low word has its top bit set (in 2028): both words as the entry holds them.
    const at = 0x1b0 * 2 ** 32 + 0x80001234;
    s.set('n', 't', 'w', { expiresAt: at });
    assert.strictEqual(e.get(id, 't'), 'w');
    assert.strictEqual(out[W.GET_OUT.EXPIRES_AT], 0x80001234);
    assert.strictEqual(out[W.GET_OUT.EXPIRES_AT_HI], 0x1b0);
    assert.strictEqual(out[W.GET_OUT.UNIT], unitOf(s, 'n', 't').u);
  });
});
