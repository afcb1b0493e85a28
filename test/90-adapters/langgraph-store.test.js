'use strict';
// ShmstoreStore (require('shmstore/langgraph'), docs/api.md LangGraph): LangGraph's BaseStore
// over a store, on both engines: put/get/delete, search by namespace prefix with filters and
// pages, listNamespaces, batch, values larger than one entry; shared by worker threads and by
// processes; a writer killed at random moments never leaves a value that reads wrong; bad
// arguments.
const assert = require('assert');
const path = require('path');
const { spawnSync } = require('child_process');
const { ShmstoreStore } = require('shmstore/langgraph');
const { Store } = require('shmstore');
const { BaseStore } = require('@langchain/langgraph-checkpoint');
const { forEachEngine } = require('../helpers/engines');
const { ROOT, uniqueName, removeShm, runNode, runAndKill, runWorkers, requireWithout } = require('../helpers/process');

const ACTOR = path.join(ROOT, 'test/helpers/children/langgraph-actor.js');

forEachEngine('ShmstoreStore', ({ engine, make }) => {
  let store;
  let mem;
  beforeEach(() => {
    store = make({ size: 8 << 20 });
    mem = new ShmstoreStore(store);
  });

  it('an item whose toJSON gives no object is refused (TypeError, ERR_INVALID_ARG); reads and searches go on', async function () {
    await mem.put(['b'], 'ok', { v: 1 });
    for (const bad of [{ toJSON() { return undefined; } }, { toJSON() { return () => 1; } }, { toJSON() { return 'text'; } }]) {
      await assert.rejects(mem.put(['b'], 'k', bad), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
    }
    assert.strictEqual(await mem.get(['b'], 'k'), null);
    assert.deepStrictEqual((await mem.search(['b'])).map((x) => x.key), ['ok']);
  });

  it('is a BaseStore: put, get, delete; createdAt stays and updatedAt moves on replacement', async function () {
    assert.ok(mem instanceof BaseStore);
    await mem.put(['users', '42', 'memories'], 'likes', { food: 'pizza' });
    const a = await mem.get(['users', '42', 'memories'], 'likes');
    assert.deepStrictEqual(a.value, { food: 'pizza' });
    assert.deepStrictEqual(a.namespace, ['users', '42', 'memories']);
    assert.strictEqual(a.key, 'likes');
    assert.ok(a.createdAt instanceof Date && a.updatedAt instanceof Date);
    await new Promise((r) => setTimeout(r, 5));
    await mem.put(['users', '42', 'memories'], 'likes', { food: 'sushi' });
    const b = await mem.get(['users', '42', 'memories'], 'likes');
    assert.deepStrictEqual(b.value, { food: 'sushi' });
    assert.strictEqual(b.createdAt.getTime(), a.createdAt.getTime());
    assert.ok(b.updatedAt.getTime() > a.updatedAt.getTime());
    assert.strictEqual(await mem.get(['users', '42'], 'likes'), null);
    await mem.delete(['users', '42', 'memories'], 'likes');
    assert.strictEqual(await mem.get(['users', '42', 'memories'], 'likes'), null);
    assert.strictEqual(store.count('langgraph.items'), 0);
  });

  it('search: a namespace prefix matches whole labels, filters use every operator, pages are stable', async function () {
    for (let i = 0; i < 12; i++) await mem.put(['docs', 'a'], `d${i}`, { n: i, kind: i % 2 ? 'odd' : 'even', tags: [i % 3] });
    await mem.put(['docs', 'ab'], 'x', { n: 100, kind: 'odd' });
    await mem.put(['docs', 'a', 'deep'], 'y', { n: 200, kind: 'even' });
    await mem.put(['other'], 'z', { n: 300 });
    const keys = async (prefix, options) => (await mem.search(prefix, { limit: 100, ...options })).map((i) => i.key).sort();
    assert.deepStrictEqual(await keys(['docs', 'a']), [...Array.from({ length: 12 }, (_, i) => `d${i}`), 'y'].sort());
    assert.deepStrictEqual(await keys(['docs', 'ab']), ['x']);
    assert.strictEqual((await keys(['docs'])).length, 14);
    assert.strictEqual((await keys([])).length, 15);
    assert.deepStrictEqual(await keys(['docs', 'a'], { filter: { kind: 'odd' } }), ['d1', 'd11', 'd3', 'd5', 'd7', 'd9']);
    assert.deepStrictEqual(await keys(['docs'], { filter: { n: { $gte: 10, $lt: 101 } } }), ['d10', 'd11', 'x']);
    assert.deepStrictEqual(await keys(['docs'], { filter: { n: { $gt: 99 } } }), ['x', 'y']);
    assert.deepStrictEqual(await keys(['docs', 'a'], { filter: { n: { $lte: 1 } } }), ['d0', 'd1']);
    assert.deepStrictEqual(await keys(['docs', 'a'], { filter: { n: { $in: [3, 4] } } }), ['d3', 'd4']);
    assert.strictEqual((await keys(['docs', 'a'], { filter: { n: { $nin: [3, 4] } } })).length, 11);
    assert.strictEqual((await keys(['docs', 'a'], { filter: { kind: { $ne: 'odd' } } })).length, 7);
    assert.deepStrictEqual(await keys(['docs', 'a'], { filter: { kind: { $eq: 'even' }, tags: [0] } }), ['d0', 'd6']);
    // Default limit 10; newest first; offset pages through a stable order without repeats.
    assert.strictEqual((await mem.search(['docs'])).length, 10);
    const all = (await mem.search(['docs'], { limit: 100 })).map((i) => i.key);
    const paged = [];
    for (let off = 0; off < 14; off += 4) paged.push(...(await mem.search(['docs'], { limit: 4, offset: off })).map((i) => i.key));
    assert.deepStrictEqual(paged, all);
    const times = (await mem.search(['docs'], { limit: 100 })).map((i) => i.updatedAt.getTime());
    assert.deepStrictEqual(times, [...times].sort((x, y) => y - x)); // most recently updated first
    const item = (await mem.search(['other']))[0];
    assert.strictEqual(item.score, undefined);
    assert.deepStrictEqual(item.namespace, ['other']);
  });

  it('listNamespaces: prefix, suffix, * wildcards, maxDepth, limit and offset', async function () {
    const paths = [['a', 'b', 'c'], ['a', 'b', 'd'], ['a', 'x', 'c'], ['b'], ['b', 'y', 'c', 'd']];
    for (const p of paths) await mem.put(p, 'k', { p });
    await mem.put(['a', 'b', 'c'], 'k2', {});
    assert.deepStrictEqual(await mem.listNamespaces(), [...paths].sort((x, y) => (x.join(':') < y.join(':') ? -1 : 1)));
    assert.deepStrictEqual(await mem.listNamespaces({ prefix: ['a', 'b'] }), [['a', 'b', 'c'], ['a', 'b', 'd']]);
    assert.deepStrictEqual(await mem.listNamespaces({ suffix: ['c'] }), [['a', 'b', 'c'], ['a', 'x', 'c']]);
    assert.deepStrictEqual(await mem.listNamespaces({ prefix: ['a', '*', 'c'] }), [['a', 'b', 'c'], ['a', 'x', 'c']]);
    assert.deepStrictEqual(await mem.listNamespaces({ prefix: ['a'], suffix: ['d'] }), [['a', 'b', 'd']]);
    assert.deepStrictEqual(await mem.listNamespaces({ maxDepth: 1 }), [['a'], ['b']]);
    assert.deepStrictEqual(await mem.listNamespaces({ maxDepth: 2 }), [['a', 'b'], ['a', 'x'], ['b'], ['b', 'y']]);
    assert.deepStrictEqual(await mem.listNamespaces({ limit: 2, offset: 1 }), [['a', 'b', 'd'], ['a', 'x', 'c']]);
    await mem.delete(['b'], 'k');
    assert.deepStrictEqual(await mem.listNamespaces({ maxDepth: 1, prefix: ['b'] }), [['b']]);
    await mem.delete(['b', 'y', 'c', 'd'], 'k');
    assert.deepStrictEqual(await mem.listNamespaces({ prefix: ['b'] }), []);
  });

  it('a label with a lone surrogate: search and listNamespaces find the items that get reads', async function () {
    await mem.put(['user\uD800', 'notes'], 'k', { n: 1 });
    await mem.put(['other'], 'k', { n: 2 });
    assert.deepStrictEqual((await mem.get(['user\uD800', 'notes'], 'k')).value, { n: 1 });
    for (const prefix of [['user\uD800'], ['user\uD800', 'notes']]) {
      assert.deepStrictEqual((await mem.search(prefix)).map((item) => item.value), [{ n: 1 }], JSON.stringify(prefix));
    }
    // Paths come back as the store keeps them: the lone surrogate as U+FFFD.
    assert.deepStrictEqual(await mem.listNamespaces({ prefix: ['user\uD800'] }), [['user\uFFFD', 'notes']]);
    assert.deepStrictEqual(await mem.listNamespaces({ suffix: ['user\uD800', '*'] }), [['user\uFFFD', 'notes']]);
  });

  it('in a store that evicts by default (a cache shared with Keyv), items and the chunks of large ones are never evicted', async function () {
    const cache = make({ size: 1 << 20, eviction: 'auto' });
    const m = new ShmstoreStore(cache);
    await m.put(['u', 'notes'], 'small', { text: 'x'.repeat(500) });
    await m.put(['u', 'notes'], 'large', { text: 'y'.repeat(100000) });
    for (let i = 0; i < 20000; i++) cache.set('cache', `k${i}`, 'z'.repeat(200));
    assert.ok(cache.stats().namespaceStats.cache.evictions > 1000);
    assert.strictEqual((await m.get(['u', 'notes'], 'small')).value.text, 'x'.repeat(500));
    assert.strictEqual((await m.get(['u', 'notes'], 'large')).value.text, 'y'.repeat(100000));
    assert.strictEqual((await m.search(['u'])).length, 2);
  });

  it('batch runs its operations in order and returns one result each', async function () {
    const results = await mem.batch([
      { namespace: ['n'], key: 'a', value: { v: 1 } },
      { namespace: ['n'], key: 'a' },
      { namespacePrefix: ['n'], limit: 10, offset: 0 },
      { matchConditions: [{ matchType: 'prefix', path: ['n'] }], limit: 10, offset: 0 },
      { namespace: ['n'], key: 'a', value: null },
      { namespace: ['n'], key: 'a' },
    ]);
    assert.strictEqual(results.length, 6);
    assert.strictEqual(results[0], null);
    assert.deepStrictEqual(results[1].value, { v: 1 });
    assert.deepStrictEqual(results[2].map((i) => i.key), ['a']);
    assert.deepStrictEqual(results[3], [['n']]);
    assert.strictEqual(results[4], null);
    assert.strictEqual(results[5], null);
  });

  it('values larger than one entry round-trip, and replacing or deleting them frees their chunks', async function () {
    const big = { text: 'ab'.repeat(150000), list: Array.from({ length: 2000 }, (_, i) => i) };
    await mem.put(['big'], 'one', big);
    assert.deepStrictEqual((await mem.get(['big'], 'one')).value, big);
    assert.ok(store.count('langgraph.chunks') >= 5);
    await mem.put(['big'], 'one', { small: true });
    assert.strictEqual(store.count('langgraph.chunks'), 0);
    await mem.put(['big'], 'one', big);
    await mem.delete(['big'], 'one');
    assert.strictEqual(store.count('langgraph.chunks'), 0);
    assert.strictEqual(store.verify().ok, true);
  });

  it('a store that fills up fails the put with ERR_STORE_FULL and leaves the old value and no chunks', async function () {
    const small = make({ size: 1 << 20 });
    const m = new ShmstoreStore(small, { prefix: 'p' });
    await m.put(['x'], 'k', { old: 1 });
    await assert.rejects(m.put(['x'], 'k', { text: 'y'.repeat(4 << 20) }), { code: 'ERR_STORE_FULL' });
    assert.deepStrictEqual((await m.get(['x'], 'k')).value, { old: 1 });
    assert.strictEqual(small.count('p.chunks'), 0);
    assert.strictEqual(small.verify().ok, true);
  });

  it('bad namespaces, keys, values and options are refused and change nothing', async function () {
    for (const ns of [[], ['a.b'], ['a:b'], ['a\u0000'], [''], [1], 'a']) {
      await assert.rejects(mem.put(ns, 'k', { v: 1 }), (e) => e instanceof Error, JSON.stringify(ns));
    }
    await assert.rejects(mem.put(['a'], 'k', [1, 2]), TypeError);
    await assert.rejects(mem.put(['a'], 'k', 'text'), TypeError);
    const cyclic = {};
    cyclic.self = cyclic;
    await assert.rejects(mem.put(['a'], 'k', cyclic), TypeError);
    await assert.rejects(mem.put(['a'], 'x'.repeat(1100), { v: 1 }), { code: 'ERR_KEY_TOO_LONG' });
    await assert.rejects(mem.search(['a'], { limit: -1 }), RangeError);
    await assert.rejects(mem.listNamespaces({ maxDepth: 0 }), RangeError);
    assert.strictEqual(store.count(), 0);
    assert.throws(() => new ShmstoreStore(store, { nope: 1 }), TypeError);
    assert.throws(() => new ShmstoreStore(store, { prefix: 'p'.repeat(255) }), { name: 'RangeError', code: 'ERR_INVALID_ARG' });
    assert.throws(() => new ShmstoreStore(42), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
  });

  it('every bad argument carries code ERR_INVALID_ARG, with the class LangGraph gives it', async function () {
    const { InvalidNamespaceError } = require('@langchain/langgraph-checkpoint');
    const invalid = (name) => (e) => e.name === name && e.code === 'ERR_INVALID_ARG';
    // LangGraph's own namespace check: its InvalidNamespaceError, with the code.
    for (const ns of [[], ['a.b'], ['a:b'], ['a\u0000'], [''], [1], ['langgraph']]) {
      await assert.rejects(mem.put(ns, 'k', { v: 1 }), (e) => e instanceof InvalidNamespaceError && e.code === 'ERR_INVALID_ARG', JSON.stringify(ns));
    }
    await assert.rejects(mem.listNamespaces({ prefix: ['a.b'] }), (e) => e instanceof InvalidNamespaceError && e.code === 'ERR_INVALID_ARG');
    // Paths that are not arrays, and the checks of this store: TypeError or RangeError.
    for (const ns of ['a', 5, null, { 0: 'a' }]) {
      for (const call of [() => mem.put(ns, 'k', { v: 1 }), () => mem.get(ns, 'k'), () => mem.delete(ns, 'k'), () => mem.search(ns)]) {
        await assert.rejects(call(), invalid('TypeError'), String(ns));
      }
    }
    await assert.rejects(mem.listNamespaces({ suffix: 'a' }), invalid('TypeError'));
    await assert.rejects(mem.get([], 'k'), invalid('TypeError'));
    await assert.rejects(mem.batch([{ namespace: ['a.b'], key: 'k' }]), invalid('TypeError'));
    await assert.rejects(mem.batch([{ matchConditions: [{ matchType: 'middle', path: ['a'] }] }]), invalid('TypeError'));
    await assert.rejects(mem.get(['a'], 7), invalid('TypeError'));
    await assert.rejects(mem.put(['a'], 'k', [1]), invalid('TypeError'));
    const cyclic = {};
    cyclic.self = cyclic;
    await assert.rejects(mem.put(['a'], 'k', cyclic), invalid('TypeError'));
    await assert.rejects(mem.batch('ops'), invalid('TypeError'));
    await assert.rejects(mem.batch([null]), invalid('TypeError'));
    await assert.rejects(mem.search(['a'], null), invalid('TypeError'));
    await assert.rejects(mem.listNamespaces(null), invalid('TypeError'));
    // A misspelt option is refused, not read as the default (10 items, no filter).
    await assert.rejects(mem.search(['a'], { limt: 5 }), (e) => invalid('TypeError')(e) && /options\.limt/.test(e.message));
    await assert.rejects(mem.search(['a'], { filters: { v: 1 } }), invalid('TypeError'));
    await assert.rejects(mem.listNamespaces({ max_depth: 1 }), invalid('TypeError'));
    assert.deepStrictEqual(await mem.search(['a'], { filter: {}, limit: 1, offset: 0, query: 'q' }), []);
    assert.deepStrictEqual(await mem.listNamespaces({ prefix: ['a'], suffix: ['a'], maxDepth: 1, limit: 1, offset: 0 }), []);
    for (const page of [{ limit: -1 }, { limit: 1.5 }, { limit: NaN }, { offset: -1 }, { offset: '2' }]) {
      await assert.rejects(mem.search(['a'], page), invalid('RangeError'), JSON.stringify(page));
      await assert.rejects(mem.listNamespaces(page), invalid('RangeError'), JSON.stringify(page));
    }
    await assert.rejects(mem.listNamespaces({ maxDepth: 0 }), invalid('RangeError'));
    assert.throws(() => new ShmstoreStore(store, { nope: 1 }), invalid('TypeError'));
    assert.throws(() => new ShmstoreStore(store, null), invalid('TypeError'));
    assert.strictEqual(store.count(), 0);
  });

  it(`an option given as undefined is one not given, whatever its name: options spread from a configuration [${engine}]`, async function () {
    await mem.put(['u'], 'k', { v: 1 });
    assert.deepStrictEqual((await mem.search(['u'], { limit: undefined, limt: undefined })).map((i) => i.key), ['k']);
    assert.deepStrictEqual(await mem.listNamespaces({ prefix: ['u'], max_depth: undefined }), [['u']]);
    const spread = new ShmstoreStore(store, { prefix: 'spread', ttl: undefined });
    await spread.put(['u'], 'k', { v: 2 });
    assert.strictEqual((await spread.get(['u'], 'k')).value.v, 2);
    assert.strictEqual(store.count('spread.items'), 1);
    // One that holds a value is still checked: a misspelt option is refused, not dropped.
    await assert.rejects(mem.search(['u'], { limt: 5, offset: undefined }), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
    assert.throws(() => new ShmstoreStore(store, { prefx: 'p', ttl: undefined }), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
  });

  it(`is shared by worker threads: each worker's items are all there, exactly once [${engine}]`, async function () {
    const workers = 4;
    const count = 25;
    await runWorkers(ACTOR, Array.from({ length: workers }, (_, actor) => (
      { mode: 'items', buffer: store.buffer, engine: actor % 2 ? 'js' : engine, actor, count, bytes: actor === 0 ? 70000 : 20 })));
    const found = await mem.search(['agents'], { limit: 1000 });
    assert.strictEqual(found.length, workers * count);
    const seen = new Set(found.map((i) => `${i.value.actor}/${i.value.i}`));
    assert.strictEqual(seen.size, workers * count);
    for (const i of found) assert.strictEqual(i.key, `k${i.value.i}`);
    assert.deepStrictEqual(await mem.listNamespaces({ prefix: ['agents'] }), [['agents', '0'], ['agents', '1'], ['agents', '2'], ['agents', '3']]);
    assert.strictEqual(store.verify().ok, true);
  });

  it(`workers replacing the same large items at once: every read, meanwhile and after, is one whole value [${engine}]`, async function () {
    const sizes = [10, 70000, 200000];
    const whole = (v) => v.text === String(v.n % 10).repeat(sizes[v.n % 3]);
    let running = true;
    let reads = 0;
    const reader = (async () => {
      while (running) {
        for (const item of await mem.search(['churn'], { limit: 10 })) {
          assert.ok(whole(item.value), `item ${item.key}: n ${item.value.n}, ${item.value.text.length} bytes`);
          reads++;
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    try {
      await runWorkers(ACTOR, [0, 1, 2].map((actor) => ({ mode: 'churn', buffer: store.buffer, engine: actor % 2 ? 'js' : engine, actor, keys: 2, count: 60 })));
    } finally {
      running = false;
      await reader;
    }
    const items = await mem.search(['churn'], { limit: 10 });
    assert.deepStrictEqual(items.map((i) => i.key).sort(), ['0', '1']);
    for (const item of items) assert.ok(whole(item.value));
    assert.ok(reads > 0);
    assert.strictEqual(store.verify().ok, true);
  });
});

describe('ShmstoreStore across processes', function () {
  this.timeout(120000);

  it('processes that create-or-open one named store at once all write into it', async function () {
    const name = uniqueName('lgstore');
    try {
      const procs = 3;
      const count = 20;
      const runs = await Promise.all(Array.from({ length: procs }, (_, actor) => runNode(ACTOR,
        [JSON.stringify({ mode: 'items', name, size: 4 << 20, actor, count, bytes: 100 })])));
      for (const r of runs) assert.strictEqual(r.code, 0, r.stderr);
      const mem = new ShmstoreStore({ name });
      const found = await mem.search(['agents'], { limit: 1000 });
      assert.strictEqual(found.length, procs * count);
      assert.strictEqual(new Set(found.map((i) => `${i.value.actor}/${i.value.i}`)).size, procs * count);
      assert.strictEqual(mem.store.verify().ok, true);
      mem.close();
      assert.strictEqual(mem.store.closed, true);
    } finally {
      removeShm(name);
    }
  });

  it('a writer killed at random moments never leaves a value that reads wrong', async function () {
    const name = uniqueName('lgchurn');
    const owner = Store.create({ name, size: 8 << 20 });
    try {
      let checked = 0;
      for (let round = 0; round < 4; round++) {
        const r = await runAndKill(ACTOR, [JSON.stringify({ mode: 'churn', name, keys: 3 })], { ready: /^ok /m, maxDelayMs: 300 });
        assert.strictEqual(r.signal, 'SIGKILL', r.stderr);
        const mem = new ShmstoreStore(owner);
        for (const item of await mem.search(['churn'], { limit: 10 })) {
          const { n, text } = item.value;
          assert.strictEqual(text, String(n % 10).repeat([10, 70000, 200000][n % 3]));
          checked++;
        }
        assert.strictEqual(owner.verify().ok, true);
      }
      assert.ok(checked > 0, 'the writer wrote before it was killed');
      // Chunks no head names (a writer killed between its chunks and its head) are space, not
      // values: at most one value's worth per kill.
      assert.ok(owner.count('langgraph.chunks') <= 4 * 2 * 4, String(owner.count('langgraph.chunks')));
    } finally {
      owner.close();
      removeShm(name);
    }
  });

  it('without @langchain/langgraph-checkpoint, require(\'shmstore/langgraph\') throws ERR_PEER_MISSING', function () {
    const out = requireWithout('shmstore/langgraph', ['@langchain/langgraph-checkpoint']);
    assert.strictEqual(out.code, 'ERR_PEER_MISSING');
    assert.match(out.message, /npm install @langchain\/langgraph-checkpoint/);
  });

  it('import gets classes of the ES module copy of @langchain/langgraph-checkpoint, require those of the CommonJS copy', function () {
    const script = `import { ShmstoreStore, ShmstoreSaver } from 'shmstore/langgraph';
      import { BaseStore, BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
      import { createRequire } from 'node:module';
      const require = createRequire(import.meta.url);
      const cjs = require('shmstore/langgraph');
      const { Store } = require('shmstore');
      const s = Store.create({ buffer: new SharedArrayBuffer(1 << 20) });
      console.log(JSON.stringify([new ShmstoreStore(s) instanceof BaseStore, new ShmstoreSaver(s) instanceof BaseCheckpointSaver,
        new cjs.ShmstoreStore(s) instanceof BaseStore, new cjs.ShmstoreStore(s) instanceof require('@langchain/langgraph-checkpoint').BaseStore]));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60000 });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.deepStrictEqual(JSON.parse(r.stdout), [true, true, false, true]);
  });
});
