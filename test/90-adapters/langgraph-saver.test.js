'use strict';
// ShmstoreSaver (require('shmstore/langgraph'), docs/api.md LangGraph) beyond the published
// conformance suite (langgraph-validation.vitest.mjs, run by `npm run test:langgraph`): what it
// stores where, channel values larger than one entry, special writes, threads written by worker
// threads and by processes, and a writer killed at random moments: every checkpoint it reported
// stored is read back whole.
const assert = require('assert');
const path = require('path');
const { ShmstoreSaver } = require('shmstore/langgraph');
const { Store } = require('shmstore');
const { BaseCheckpointSaver, emptyCheckpoint, ERROR } = require('@langchain/langgraph-checkpoint');
const { forEachEngine } = require('../helpers/engines');
const { ROOT, uniqueName, removeShm, runNode, runAndKill, runWorkers } = require('../helpers/process');
const { persistTarget, reboot } = require('../helpers/persist');

const ACTOR = path.join(ROOT, 'test/helpers/children/langgraph-actor.js');
const meta = (step) => ({ source: 'loop', step, parents: {} });

async function toArray(gen) {
  const out = [];
  for await (const x of gen) out.push(x);
  return out;
}

forEachEngine('ShmstoreSaver', ({ engine, make }) => {
  let store;
  let saver;
  beforeEach(() => {
    store = make({ size: 8 << 20 });
    saver = new ShmstoreSaver(store);
  });

  it('stores a checkpoint without its channel values and each changed channel once per version', async function () {
    assert.ok(saver instanceof BaseCheckpointSaver);
    let config = { configurable: { thread_id: 't', checkpoint_ns: '' } };
    const versions = { messages: 1, counter: 1 };
    const cp1 = { ...emptyCheckpoint(), channel_values: { messages: ['hi'], counter: 1 }, channel_versions: { ...versions } };
    config = await saver.put(config, cp1, meta(0), versions);
    const cp2 = { ...emptyCheckpoint(), channel_values: { messages: ['hi'], counter: 2 }, channel_versions: { messages: 1, counter: 2 } };
    const second = await saver.put(config, cp2, meta(1), { counter: 2 });
    assert.deepStrictEqual(second, { configurable: { thread_id: 't', checkpoint_ns: '', checkpoint_id: cp2.id } });
    assert.deepStrictEqual(store.namespaces().sort(), ['langgraph.blobs', 'langgraph.checkpoints', 'langgraph.latest']);
    assert.strictEqual(store.get('langgraph.latest', 't\u0000'), cp2.id);
    assert.strictEqual(store.count('langgraph.checkpoints'), 2);
    assert.strictEqual(store.count('langgraph.blobs'), 3); // messages@1, counter@1, counter@2
    const latest = await saver.getTuple({ configurable: { thread_id: 't' } });
    assert.deepStrictEqual(latest.checkpoint.channel_values, { messages: ['hi'], counter: 2 });
    assert.strictEqual(latest.parentConfig.configurable.checkpoint_id, cp1.id);
    assert.deepStrictEqual((await saver.getTuple({ configurable: { thread_id: 't', checkpoint_id: cp1.id } })).checkpoint.channel_values,
      { messages: ['hi'], counter: 1 });
  });

  it('a channel value JSON leaves out (a symbol, a function, undefined) reads back as undefined; the thread and list() stay readable', async function () {
    const versions = { a: 1, b: 1, c: 1 };
    const cp = { ...emptyCheckpoint(), channel_values: { a: Symbol('x'), b: () => 1, c: 'kept' }, channel_versions: { ...versions } };
    const config = await saver.put({ configurable: { thread_id: 'odd' } }, cp, meta(0), versions);
    const t = await saver.getTuple(config);
    assert.deepStrictEqual(t.checkpoint.channel_values, { a: undefined, b: undefined, c: 'kept' });
    await saver.put({ configurable: { thread_id: 'fine' } }, { ...emptyCheckpoint(), channel_values: { v: 1 }, channel_versions: { v: 1 } }, meta(0), { v: 1 });
    assert.deepStrictEqual((await toArray(saver.list({}))).map((x) => x.config.configurable.thread_id).sort(), ['fine', 'odd']);
  });

  it('channel values and writes larger than one entry round-trip; deleteThread removes them and their chunks', async function () {
    const big = Array.from({ length: 3000 }, (_, i) => ({ role: i % 2 ? 'ai' : 'human', content: `message ${i} `.repeat(10) }));
    const cp = { ...emptyCheckpoint(), channel_values: { messages: big }, channel_versions: { messages: 1 } };
    const config = await saver.put({ configurable: { thread_id: 'big' } }, cp, meta(0), { messages: 1 });
    await saver.putWrites(config, [['messages', big.slice(0, 1500)]], 'task');
    assert.ok(store.count('langgraph.chunks') > 5);
    const t = await saver.getTuple(config);
    assert.deepStrictEqual(t.checkpoint.channel_values.messages, big);
    assert.deepStrictEqual(t.pendingWrites, [['task', 'messages', big.slice(0, 1500)]]);
    await saver.deleteThread('big');
    assert.strictEqual(await saver.getTuple(config), undefined);
    assert.strictEqual(store.count(), 0);
    assert.strictEqual(store.verify().ok, true);
  });

  it('binary channel values and writes come back owning their ArrayBuffer: value.buffer holds exactly their bytes', async function () {
    // A Uint8Array is stored as LangGraph's 'bytes' type, handed back by the serializer as the
    // bytes it was given: a slice of the stored record, unless copied out.
    const floats = new Float32Array([1.5, -2.25, 3.75]);
    const emb = new Uint8Array(floats.buffer);
    const big = new Uint8Array(200000).map((_, i) => i % 251); // chunked: larger than one entry
    const versions = { emb: 1, big: 1 };
    const cp = { ...emptyCheckpoint(), channel_values: { emb, big }, channel_versions: { ...versions } };
    const config = await saver.put({ configurable: { thread_id: 'bin' } }, cp, meta(0), versions);
    await saver.putWrites(config, [['emb', emb]], 'task');
    const owns = (b) => b.byteOffset === 0 && b.buffer.byteLength === b.byteLength;
    const check = (t) => {
      const { emb: e, big: g } = t.checkpoint.channel_values;
      assert.ok(e instanceof Uint8Array && owns(e), `emb: offset ${e.byteOffset} in ${e.buffer.byteLength} bytes`);
      assert.deepStrictEqual([...new Float32Array(e.buffer)], [...floats]);
      assert.ok(g instanceof Uint8Array && owns(g), `big: offset ${g.byteOffset} in ${g.buffer.byteLength} bytes`);
      assert.deepStrictEqual(new Uint8Array(g.buffer), big);
      const w = t.pendingWrites[0][2];
      assert.ok(w instanceof Uint8Array && owns(w), `write: offset ${w.byteOffset} in ${w.buffer.byteLength} bytes`);
      assert.deepStrictEqual([...new Float32Array(w.buffer)], [...floats]);
    };
    check(await saver.getTuple(config));
    for await (const t of saver.list({ configurable: { thread_id: 'bin' } })) check(t);
  });

  it('a store closed under the saver: every method, and a list part way, rejects with ShmError ERR_CLOSED', async function () {
    let config = { configurable: { thread_id: 'c' } };
    for (let step = 0; step < 3; step++) config = await saver.put(config, emptyCheckpoint(), meta(step), {});
    const listing = saver.list({ configurable: { thread_id: 'c' } });
    assert.strictEqual((await listing.next()).done, false);
    store.close();
    const closed = (e) => e.name === 'ShmError' && e.code === 'ERR_CLOSED';
    await assert.rejects(listing.next(), closed);
    for (const call of [() => saver.getTuple(config), () => saver.put(config, emptyCheckpoint(), meta(9), {}),
      () => saver.putWrites(config, [['a', 1]], 'task'), () => saver.list({}).next(), () => saver.deleteThread('c')]) {
      await assert.rejects(call(), closed);
    }
    saver.close(); // a Store passed in: left as it is
  });

  it('ordinary writes keep the first value of a retried task; special channels (ERROR) replace theirs', async function () {
    const config = await saver.put({ configurable: { thread_id: 'w' } }, emptyCheckpoint(), meta(0), {});
    await saver.putWrites(config, [['a', 1], [ERROR, 'first']], 'task');
    await saver.putWrites(config, [['a', 2], [ERROR, 'second']], 'task');
    const writes = (await saver.getTuple(config)).pendingWrites;
    assert.deepStrictEqual(writes.find((w) => w[1] === 'a'), ['task', 'a', 1]);
    assert.deepStrictEqual(writes.find((w) => w[1] === ERROR), ['task', ERROR, 'second']);
    assert.strictEqual(writes.length, 2);
  });

  it('a write stored but not yet indexed (a crash between the two) is not pending, and a retry stores and indexes it', async function () {
    const config = await saver.put({ configurable: { thread_id: 'r' } }, emptyCheckpoint(), meta(0), {});
    await saver.putWrites(config, [['a', 'lost']], 'task');
    const indexKey = ['r', '', config.configurable.checkpoint_id].join('\u0000');
    assert.strictEqual(store.delete('langgraph.windex', indexKey), true);
    assert.deepStrictEqual((await saver.getTuple(config)).pendingWrites, []);
    await saver.putWrites(config, [['a', 'retried']], 'task');
    assert.deepStrictEqual((await saver.getTuple(config)).pendingWrites, [['task', 'a', 'retried']]);
    assert.strictEqual(store.count('langgraph.writes'), 1);
  });

  it('list filters metadata by deep equality, across threads, newest first', async function () {
    for (const thread of ['x', 'y']) {
      let config = { configurable: { thread_id: thread } };
      for (let step = 0; step < 3; step++) {
        config = await saver.put(config, emptyCheckpoint(), { source: 'loop', step, parents: {}, tags: { team: step % 2 ? 'b' : 'a' } }, {});
      }
    }
    const all = await toArray(saver.list({}));
    assert.strictEqual(all.length, 6);
    const ids = all.map((t) => t.checkpoint.id);
    assert.deepStrictEqual(ids, [...ids].sort().reverse());
    assert.strictEqual((await toArray(saver.list({}, { filter: { tags: { team: 'a' } } }))).length, 4);
    assert.strictEqual((await toArray(saver.list({ configurable: { thread_id: 'x' } }, { filter: { step: 1 }, limit: 5 }))).length, 1);
    assert.strictEqual((await toArray(saver.list({}, { limit: 0 }))).length, 0);
  });

  it('a thread id or checkpoint ns with a lone surrogate: list finds its checkpoints and deleteThread removes them, as getTuple reads them', async function () {
    const thread = 'user\uD800';
    const ns = 'sub\uDC00';
    const versions = { v: 1 };
    const first = { ...emptyCheckpoint(), channel_values: { v: 1 }, channel_versions: { ...versions } };
    const config = await saver.put({ configurable: { thread_id: thread, checkpoint_ns: ns } }, first, meta(0), versions);
    await saver.putWrites(config, [['v', 2]], 'task');
    const second = { ...emptyCheckpoint(), channel_values: { v: 2 }, channel_versions: { v: 2 } };
    await saver.put(config, second, meta(1), { v: 2 });
    await saver.put({ configurable: { thread_id: 'other' } }, { ...emptyCheckpoint(), channel_values: {}, channel_versions: {} }, meta(0), {});
    assert.strictEqual((await saver.getTuple({ configurable: { thread_id: thread, checkpoint_ns: ns } })).checkpoint.id, second.id);
    const listed = await toArray(saver.list({ configurable: { thread_id: thread, checkpoint_ns: ns } }));
    assert.deepStrictEqual(listed.map((t) => t.checkpoint.id), [second.id, first.id]);
    assert.deepStrictEqual(listed[1].pendingWrites, [['task', 'v', 2]]);
    const before = await toArray(saver.list({ configurable: { thread_id: thread } }, { before: { configurable: { checkpoint_id: second.id } } }));
    assert.deepStrictEqual(before.map((t) => t.checkpoint.id), [first.id]);
    await saver.deleteThread(thread);
    assert.strictEqual(await saver.getTuple({ configurable: { thread_id: thread, checkpoint_ns: ns } }), undefined);
    assert.deepStrictEqual(await toArray(saver.list({ configurable: { thread_id: thread } })), []);
    // Nothing of the thread is left in any namespace; the other thread is untouched.
    for (const n of store.namespaces()) assert.ok(store.keys(n).every((k) => k.startsWith('other\u0000')), n);
    assert.ok(await saver.getTuple({ configurable: { thread_id: 'other' } }));
  });

  it('in a store that evicts by default (a cache shared with Keyv), a checkpoint, its channel values and its writes are never evicted', async function () {
    const cache = make({ size: 1 << 20, eviction: 'auto' });
    const s = new ShmstoreSaver(cache);
    const values = { small: 'x'.repeat(500), large: 'y'.repeat(100000) };
    const versions = { small: 1, large: 1 };
    const config = await s.put({ configurable: { thread_id: 't' } }, { ...emptyCheckpoint(), channel_values: values, channel_versions: { ...versions } }, meta(0), versions);
    await s.putWrites(config, [['small', 'next']], 'task');
    // Cache entries written until the store has evicted many of them.
    for (let i = 0; i < 20000; i++) cache.set('cache', `k${i}`, 'z'.repeat(200));
    assert.ok(cache.stats().namespaceStats.cache.evictions > 1000);
    const t = await s.getTuple({ configurable: { thread_id: 't' } });
    assert.ok(t, 'the latest checkpoint is still found');
    assert.deepStrictEqual(t.checkpoint.channel_values, values);
    assert.deepStrictEqual(t.pendingWrites, [['task', 'small', 'next']]);
    for (const ns of cache.namespaces().filter((n) => n.startsWith('langgraph.'))) {
      assert.strictEqual(cache.stats().namespaceStats[ns].evictions, 0, ns);
    }
  });

  it('list: a limit that is not undefined or a count >= 0 is refused (ERR_INVALID_ARG), not taken as no limit', async function () {
    let config = { configurable: { thread_id: 'x' } };
    for (let step = 0; step < 3; step++) config = await saver.put(config, emptyCheckpoint(), meta(step), {});
    for (const limit of [NaN, -1, 1.5, Infinity]) {
      await assert.rejects(toArray(saver.list({}, { limit })), { name: 'RangeError', code: 'ERR_INVALID_ARG' }, String(limit));
    }
    for (const limit of ['3', null, 2n, {}]) {
      await assert.rejects(toArray(saver.list({}, { limit })), { name: 'TypeError', code: 'ERR_INVALID_ARG' }, String(limit));
    }
    assert.strictEqual((await toArray(saver.list({}, { limit: undefined }))).length, 3);
    assert.strictEqual((await toArray(saver.list({}, { limit: 2 }))).length, 2);
    assert.strictEqual((await toArray(saver.list({}, { limit: 0 }))).length, 0);
  });

  it('bad configs and ids are refused before anything is written (TypeError, ERR_INVALID_ARG)', async function () {
    const bad = { name: 'TypeError', code: 'ERR_INVALID_ARG' };
    await assert.rejects(saver.put({ configurable: { thread_id: 'a\u0000b' } }, emptyCheckpoint(), meta(0), {}), bad);
    await assert.rejects(saver.put({ configurable: { thread_id: 7n } }, emptyCheckpoint(), meta(0), {}), bad);
    await assert.rejects(saver.put({ configurable: { thread_id: 't' } }, { ...emptyCheckpoint(), id: '' }, meta(0), {}), bad);
    await assert.rejects(saver.put({}, emptyCheckpoint(), meta(0), {}), bad);
    await assert.rejects(saver.put({ configurable: {} }, emptyCheckpoint(), meta(0), {}), bad);
    await assert.rejects(saver.putWrites({ configurable: { thread_id: 't', checkpoint_id: 'c' } }, 'nope', 'task'), bad);
    await assert.rejects(saver.putWrites({ configurable: { thread_id: 't' } }, [], 'task'), bad);
    await assert.rejects(saver.deleteThread(''), bad);
    assert.throws(() => new ShmstoreSaver(store, { prefix: 'x'.repeat(255) }), { name: 'RangeError', code: 'ERR_INVALID_ARG' });
    assert.throws(() => new ShmstoreSaver(store, { other: 1 }), bad);
    assert.throws(() => new ShmstoreSaver(store, null), bad);
    assert.strictEqual(store.count(), 0);
  });

  it('an option given as undefined is one not given, whatever its name (options spread from a configuration)', async function () {
    const spread = new ShmstoreSaver(store, { prefix: 'spread', serde: undefined, ttl: undefined });
    const config = await spread.put({ configurable: { thread_id: 't' } }, emptyCheckpoint(), meta(0), {});
    assert.strictEqual((await spread.getTuple(config)).checkpoint.id, config.configurable.checkpoint_id);
    assert.strictEqual(store.count('spread.checkpoints'), 1);
    assert.throws(() => new ShmstoreSaver(store, { prefx: 'p', ttl: undefined }), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
  });

  it('putWrites refuses a write that is not a [channel, value] pair (TypeError, ERR_INVALID_ARG) and writes nothing of the call', async function () {
    const config = await saver.put({ configurable: { thread_id: 't' } }, { ...emptyCheckpoint(), channel_values: {}, channel_versions: {} }, meta(0), {});
    const bad = { name: 'TypeError', code: 'ERR_INVALID_ARG' };
    for (const write of [null, 5, {}, 'ab', ['only-a-channel'], ['ch', 1, 'extra']]) {
      await assert.rejects(saver.putWrites(config, [['ok', 1], write], 'task'), bad, JSON.stringify(write));
    }
    assert.deepStrictEqual((await saver.getTuple(config)).pendingWrites, []);
    assert.strictEqual(store.count('langgraph.writes'), 0);
  });

  it('putWrites refuses a task path that is not a string (TypeError, ERR_INVALID_ARG): the checkpoint and list() stay readable', async function () {
    const config = await saver.put({ configurable: { thread_id: 't' } }, { ...emptyCheckpoint(), channel_values: {}, channel_versions: {} }, meta(0), {});
    const bad = { name: 'TypeError', code: 'ERR_INVALID_ARG' };
    await saver.putWrites(config, [['ch', 'a']], 'task-a', 'a');
    for (const taskPath of [5, {}, ['a'], true]) {
      await assert.rejects(saver.putWrites(config, [['ch', 'x']], 'task-x', taskPath), bad, JSON.stringify(taskPath));
    }
    // Without a path, or with none (undefined, null): the write is stored with the empty path.
    await saver.putWrites(config, [['ch', 'b']], 'task-b');
    await saver.putWrites(config, [['ch', 'c']], 'task-c', null);
    assert.deepStrictEqual((await saver.getTuple(config)).pendingWrites, [['task-b', 'ch', 'b'], ['task-c', 'ch', 'c'], ['task-a', 'ch', 'a']]);
    const listed = [];
    for await (const t of saver.list({ configurable: { thread_id: 't' } })) listed.push(t.pendingWrites.length);
    assert.deepStrictEqual(listed, [3]);
  });

  it(`threads written by worker threads are all listed, each checkpoint with its write [${engine}]`, async function () {
    const workers = 3;
    const count = 10;
    await runWorkers(ACTOR, Array.from({ length: workers }, (_, actor) => (
      { mode: 'checkpoints', buffer: store.buffer, engine: actor % 2 ? 'js' : engine, actor, count, bytes: actor === 0 ? 100000 : 50 })));
    const all = await toArray(saver.list({}));
    assert.strictEqual(all.length, workers * count);
    for (const t of all) {
      const { thread_id: thread, checkpoint_id: id } = t.config.configurable;
      const i = Number(id.slice(3));
      assert.strictEqual(t.checkpoint.channel_values.log, `${i}:`.padEnd(thread === 't0' ? 100000 : 50, '#'));
      assert.deepStrictEqual(t.pendingWrites, [[`task-${i}`, 'log', `w${i}`]]);
    }
    for (let a = 0; a < workers; a++) {
      const latest = await saver.getTuple({ configurable: { thread_id: `t${a}` } });
      assert.strictEqual(latest.checkpoint.id, `cp-${String(count - 1).padStart(8, '0')}`);
    }
    assert.strictEqual(store.verify().ok, true);
  });
});

describe('ShmstoreSaver across processes', function () {
  this.timeout(120000);

  it('a thread written by one process is read by another, through store options', async function () {
    const name = uniqueName('lgsaver');
    try {
      const r = await runNode(ACTOR, [JSON.stringify({ mode: 'checkpoints', name, size: 4 << 20, actor: 9, count: 5, bytes: 80000 })]);
      assert.strictEqual(r.code, 0, r.stderr);
      const saver = new ShmstoreSaver({ name });
      const latest = await saver.getTuple({ configurable: { thread_id: 't9' } });
      assert.strictEqual(latest.checkpoint.id, 'cp-00000004');
      assert.strictEqual(latest.checkpoint.channel_values.log.length, 80000);
      assert.strictEqual((await toArray(saver.list({ configurable: { thread_id: 't9' } }))).length, 5);
      saver.close();
    } finally {
      removeShm(name);
    }
  });

  it('store options of the handle (latency) apply to a saver that opens the store by name', function () {
    const name = uniqueName('lg-latency');
    const owner = Store.create({ name, size: 8 << 20 });
    const saver = new ShmstoreSaver({ name, latency: true });
    try {
      assert.strictEqual(saver.store.latencyEnabled, true);
    } finally {
      saver.close();
      owner.close();
      removeShm(name);
    }
  });

  it('store options that Store.open does not take are refused, not dropped (a misspelt option, name and path both)', function () {
    const { ShmstoreStore } = require('shmstore/langgraph');
    const name = uniqueName('lg-options');
    const owner = Store.create({ name, size: 8 << 20 });
    try {
      for (const Adapter of [ShmstoreSaver, ShmstoreStore]) {
        assert.throws(() => new Adapter({ name, lockTimoutMs: 50 }), (e) => e.name === 'TypeError' && e.code === 'ERR_INVALID_ARG' && /lockTimoutMs/.test(e.message));
        assert.throws(() => new Adapter({ name, path: '/nonexistent/store.shm' }), (e) => e.name === 'TypeError' && e.code === 'ERR_INVALID_ARG');
      }
    } finally {
      owner.close();
      removeShm(name);
    }
  });

  it('store options with persist: the saver and the memory store open the persisted store, and what they wrote survives the loss of the segment', async function () {
    const { ShmstoreStore } = require('shmstore/langgraph');
    const t = persistTarget('lgp');
    try {
      Store.create({ name: t.name, size: 8 << 20, persist: { dir: t.dir } }).close();
      // Opened by options without size (Store.open), and with size (open-or-create).
      const saver = new ShmstoreSaver({ name: t.name, persist: { dir: t.dir } });
      const memory = new ShmstoreStore({ name: t.name, size: 8 << 20, persist: { dir: t.dir } });
      assert.notStrictEqual(saver.store.persistence, null);
      assert.notStrictEqual(memory.store.persistence, null);
      const cp = { ...emptyCheckpoint(), channel_values: { v: 'kept' }, channel_versions: { v: 1 } };
      await saver.put({ configurable: { thread_id: 't' } }, cp, meta(0), { v: 1 });
      await memory.put(['u'], 'k', { n: 1 });
      saver.close();
      memory.close();
      reboot(t.name);
      const back = new ShmstoreSaver({ name: t.name, persist: { dir: t.dir } });
      try {
        assert.deepStrictEqual((await back.getTuple({ configurable: { thread_id: 't' } })).checkpoint.channel_values, { v: 'kept' });
        assert.deepStrictEqual((await new ShmstoreStore(back.store).get(['u'], 'k')).value, { n: 1 });
      } finally {
        back.close();
      }
    } finally {
      t.cleanup();
    }
  });

  it('a writer killed at random moments: every checkpoint it reported stored reads back whole, with its write', async function () {
    const name = uniqueName('lgkill');
    const owner = Store.create({ name, size: 32 << 20 });
    const sizeOf = (i) => (i % 25 === 0 ? 70000 : 10);
    try {
      let reported = 0;
      for (let round = 0; round < 3; round++) {
        const r = await runAndKill(ACTOR, [JSON.stringify({ mode: 'checkpoints', name, actor: round, count: 0, bytes: 70000, every: 25 })],
          { ready: /^ok /m, maxDelayMs: 300 });
        assert.strictEqual(r.signal, 'SIGKILL', r.stderr);
        const done = r.stdout.split('\n').filter((l) => l.startsWith('ok ')).map((l) => Number(l.slice(3)));
        reported += done.length;
        const saver = new ShmstoreSaver(owner);
        // The last ones reported (where the kill struck) and a sample of the others: each
        // getTuple walks the writes namespace (docs/api.md), so reading thousands is slow.
        const sample = done.filter((i, k) => k >= done.length - 20 || k % 50 === 0);
        for (const i of sample) {
          const t = await saver.getTuple({ configurable: { thread_id: `t${round}`, checkpoint_id: `cp-${String(i).padStart(8, '0')}` } });
          assert.ok(t, `checkpoint ${i} of round ${round}`);
          assert.strictEqual(t.checkpoint.channel_values.log, `${i}:`.padEnd(sizeOf(i), '#'));
          assert.deepStrictEqual(t.pendingWrites, [[`task-${i}`, 'log', `w${i}`]]);
        }
        // The latest checkpoint is the last one reported, or the one after it if the kill fell
        // between its put and its write (a put cut short before its index does not count).
        const latest = await saver.getTuple({ configurable: { thread_id: `t${round}` } });
        const last = done.length ? done[done.length - 1] : -1;
        assert.ok([last, last + 1].includes(Number(latest.checkpoint.id.slice(3))), `${latest.checkpoint.id} after ${last}`);
        // Whatever the kill interrupted: list reads every checkpoint of the thread without error.
        const listed = await toArray(saver.list({ configurable: { thread_id: `t${round}` } }));
        assert.ok(listed.length >= done.length && listed.length <= done.length + 1, `${listed.length} listed, ${done.length} reported`);
        assert.strictEqual(owner.verify().ok, true);
        // A thread cut short is deleted like any other (and its space reused by the next round).
        await saver.deleteThread(`t${round}`);
        assert.strictEqual((await toArray(saver.list({ configurable: { thread_id: `t${round}` } }))).length, 0);
        for (const part of ['checkpoints', 'writes', 'blobs', 'latest', 'windex']) assert.strictEqual(owner.count(`langgraph.${part}`), 0, part);
      }
      assert.ok(reported > 0, 'the writer stored checkpoints before it was killed');
    } finally {
      owner.close();
      removeShm(name);
    }
  });
});
