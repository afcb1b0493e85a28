'use strict';
// The Keyv adapter (shmstore/keyv) as a Keyv user relies on it, under keyv 5 and keyv 6: Keyv
// namespaces are store namespaces, Keyv's TTL is the store's TTL, processes share entries, and
// bad input is refused without touching the store. The published suite runs in keyv-suite.spec.mjs.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { Store } = require('../..');
const KeyvShmstore = require('../../keyv');
const { Keyv: Keyv5 } = require('keyv');
const { Keyv: Keyv6 } = require('keyv6');
const { uniqueName, removeShm, runNode } = require('../helpers/process');
const { persistTarget, reboot } = require('../helpers/persist');

const PEER = path.join(__dirname, 'children', 'keyv-peer.js');
const majors = [[5, Keyv5], [6, Keyv6]];

describe('shmstore/keyv', function () {
  this.timeout(60000);
  let name;
  let store;

  beforeEach(function () {
    name = uniqueName('keyv');
    store = Store.create({ name, size: 1 << 20 });
  });

  afterEach(function () {
    if (!store.closed) store.close();
    removeShm(name);
  });

  for (const [major, Keyv] of majors) {
    describe(`keyv ${major}`, function () {
      it('a Keyv namespace is the store namespace of that name, holding the bare keys', async function () {
        const a = new Keyv({ store: new KeyvShmstore(store), namespace: 'sessions' });
        const b = new Keyv({ store: new KeyvShmstore(store), namespace: 'carts' });
        await a.set('u1', 'alice');
        await b.set('u1', 'cart-1');
        assert.deepStrictEqual(store.namespaces().sort(), ['carts', 'sessions']);
        assert.deepStrictEqual(store.keys('sessions'), ['u1']);
        assert.strictEqual(await a.get('u1'), 'alice');
        await a.clear();
        assert.strictEqual(store.count('sessions'), 0);
        assert.strictEqual(await b.get('u1'), 'cart-1');
      });

      it('a Keyv without a namespace writes to the adapter\'s default namespace', async function () {
        const keyv = new Keyv({ store: new KeyvShmstore(store, { namespace: 'cache' }), namespace: undefined });
        await keyv.set('k', 1);
        assert.deepStrictEqual(store.keys('cache'), ['k']);
        assert.strictEqual(await keyv.get('k'), 1);
      });

      it('Keyv\'s TTL becomes the store\'s TTL, and the store expires the entry for every reader', async function () {
        const keyv = new Keyv({ store: new KeyvShmstore(store), namespace: 'ttl' });
        const before = Date.now();
        await keyv.set('long', 'v', 60000);
        const left = store.ttl('ttl', 'long');
        assert.ok(left > 0 && left <= 60000 && left >= 60000 - (Date.now() - before) - 1, String(left));
        await keyv.set('short', 'v', 30);
        await keyv.setMany([{ key: 'm1', value: 1, ttl: 30 }, { key: 'm2', value: 2 }]);
        assert.ok(store.ttl('ttl', 'm1') <= 30);
        assert.strictEqual(store.ttl('ttl', 'm2'), Infinity);
        await new Promise((r) => setTimeout(r, 60));
        // The store itself no longer has them: any process reading the store directly agrees.
        assert.strictEqual(store.has('ttl', 'short'), false);
        assert.strictEqual(store.has('ttl', 'm1'), false);
        assert.strictEqual(await keyv.get('short'), undefined);
        assert.strictEqual(await keyv.get('m2'), 2);
      });

      it('without a TTL the namespace default TTL of the store applies', async function () {
        store.namespace('defaults', { ttl: 45000 });
        const keyv = new Keyv({ store: new KeyvShmstore(store), namespace: 'defaults' });
        await keyv.set('k', 'v');
        const left = store.ttl('defaults', 'k');
        assert.ok(left > 0 && left <= 45000, String(left));
      });

      it('many-key methods, has and iteration', async function () {
        const keyv = new Keyv({ store: new KeyvShmstore(store), namespace: 'many' });
        if (major === 5) KeyvShmstore.enableKeyv5Iterator(keyv);
        await keyv.setMany([{ key: 'a', value: 1 }, { key: 'b', value: 2 }]);
        assert.deepStrictEqual(await keyv.get(['a', 'b', 'c']), [1, 2, undefined]);
        assert.deepStrictEqual(await keyv.has(['a', 'c']), [true, false]);
        assert.strictEqual(await keyv.has('b'), true);
        const seen = [];
        for await (const [k, v] of keyv.iterator()) seen.push([k, v]);
        assert.deepStrictEqual(seen.sort(), [['a', 1], ['b', 2]]);
        await keyv.delete(['a', 'b']);
        assert.strictEqual(store.count('many'), 0);
      });
    });
  }

  it('iterator() reads the values as the loop reaches them: an entry deleted or changed before then is left out or handed out as it is then', async function () {
    const adapter = new KeyvShmstore(store, { namespace: 'walk' });
    const n = 250;
    for (let i = 0; i < n; i++) store.set('walk', `k${i}`, `v${i}`);
    const keys = store.keys('walk');
    const seen = new Map();
    for await (const [k, v] of adapter.iterator('walk')) {
      if (seen.size === 0) {
        // The last key of the listing is read last, well after this first one.
        store.delete('walk', keys[n - 1]);
        store.set('walk', keys[n - 2], 'changed');
      }
      seen.set(k, v);
    }
    assert.strictEqual(seen.size, n - 1);
    assert.strictEqual(seen.has(`walk:${keys[n - 1]}`) || seen.has(keys[n - 1]), false);
    const changed = [...seen].find(([k]) => k.endsWith(keys[n - 2]));
    assert.strictEqual(changed[1], 'changed');
  });

  it('keyv 5: namespaces that nest (\'a\' and \'a:b\') on one adapter each keep their own keys', async function () {
    const adapter = new KeyvShmstore(store);
    const outer = new Keyv5({ store: adapter, namespace: 'a:b' });
    const inner = new Keyv5({ store: adapter, namespace: 'a' });
    await inner.set('b:x', 'in a');
    assert.deepStrictEqual(store.keys('a'), ['b:x']);
    outer.namespace = 'a:b';
    await outer.set('x', 'in a:b');
    assert.deepStrictEqual(store.keys('a:b'), ['x']);
    inner.namespace = 'a';
    assert.strictEqual(await inner.get('b:x'), 'in a');
  });

  it('keyv 6 gives an absolute expiry: the store keeps exactly that deadline', async function () {
    const adapter = new KeyvShmstore(store, { keyv: 6 });
    const expires = Date.now() + 50000;
    await adapter.set('k', 'raw', expires);
    const left = store.ttl('keyv', 'k');
    assert.ok(left <= 50000 && left > 0, String(left));
    // An expiry already past deletes the key rather than writing it.
    await adapter.set('k', 'raw', Date.now() - 1);
    assert.strictEqual(store.has('keyv', 'k'), false);
  });

  it('delete() and deleteMany() of an entry that expired and was not reclaimed yet resolve false, as has() says', async function () {
    const v6 = new KeyvShmstore(store, { keyv: 6, namespace: 'gone' });
    const v5 = new KeyvShmstore(store, { keyv: 5, namespace: 'gone' });
    for (const k of ['a', 'b', 'c', 'live']) store.set('gone', k, 'v');
    // Overwrites give the expiry (no insert follows, so no expiry sweep meets them).
    const at = Date.now() + 20;
    for (const k of ['a', 'b', 'c']) store.set('gone', k, 'v', { expiresAt: at });
    while (Date.now() <= at);
    assert.strictEqual(await v6.delete('a'), false);
    assert.deepStrictEqual(await v6.deleteMany(['b', 'live']), [false, true]);
    assert.strictEqual(await v5.deleteMany(['c']), false);
    assert.strictEqual(store.count('gone'), 0);
    assert.strictEqual(store.stats().namespaceStats.gone.expirations, 3);
  });

  it('keyv 5 contract: a TTL of 0 is no expiry (as Keyv and @keyv/redis read it), a negative one deletes the key', async function () {
    store.namespace('zero', { ttl: 40000 });
    const adapter = new KeyvShmstore(store, { keyv: 5, namespace: 'zero' });
    assert.strictEqual(await adapter.set('k', 'v', 0), true);
    assert.strictEqual(store.get('zero', 'k'), 'v');
    // As a set without a TTL: the namespace's default applies.
    assert.ok(store.ttl('zero', 'k') > 0 && store.ttl('zero', 'k') <= 40000);
    await adapter.setMany([{ key: 'm', value: 'w', ttl: 0 }, { key: 'k', value: 'gone', ttl: -1 }]);
    assert.strictEqual(store.get('zero', 'm'), 'w');
    assert.strictEqual(store.has('zero', 'k'), false);
    // keyv 6's expires is absolute: 0 is long past.
    const v6 = new KeyvShmstore(store, { keyv: 6, namespace: 'zero' });
    await v6.set('m', 'x', 0);
    assert.strictEqual(store.has('zero', 'm'), false);
  });

  it('a TTL or expiry beyond the store\'s latest (Number.MAX_SAFE_INTEGER through Keyv) is stored as the latest, not refused', async function () {
    // Through Keyv itself, which keyv 6 turns into an absolute expires of now + ttl.
    for (const [major, Keyv] of majors) {
      const keyv = new Keyv({ store: new KeyvShmstore(store), namespace: `huge${major}`, throwOnErrors: true });
      assert.strictEqual(await keyv.set('k', 'v', Number.MAX_SAFE_INTEGER), true, `keyv ${major}`);
      assert.strictEqual(await keyv.get('k'), 'v', `keyv ${major}`);
      // Stored with a finite expiry: it counts down, and is never expired for a reader.
      const left = store.ttl(`huge${major}`, 'k');
      assert.ok(Number.isFinite(left) && left > 1e14, `keyv ${major}: ${left}`);
    }
    // The adapter's own contracts, with expiries past 2^53 - 1 ms.
    const v5 = new KeyvShmstore(store, { keyv: 5, namespace: 'huge' });
    const v6 = new KeyvShmstore(store, { keyv: 6, namespace: 'huge' });
    await v5.setMany([{ key: 'a', value: '1', ttl: 1e300 }, { key: 'b', value: '2', ttl: 2 ** 53 }]);
    await v6.set('c', '3', 1e300);
    assert.deepStrictEqual(store.getMany('huge', ['a', 'b', 'c']), ['1', '2', '3']);
    for (const k of ['a', 'b', 'c']) assert.ok(store.ttl('huge', k) > 1e14, k);
  });

  it('clear() and iterator() reach a namespace whose name has a lone surrogate, as set and get do', async function () {
    const ns = 'ns\uD800x';
    for (const major of [5, 6]) {
      const adapter = new KeyvShmstore(store, { keyv: major, namespace: ns });
      await adapter.set('k', `v${major}`);
      assert.strictEqual(await adapter.get('k'), `v${major}`);
      const seen = [];
      for await (const [key, value] of adapter.iterator()) seen.push([key, value]);
      assert.deepStrictEqual(seen, [['k', `v${major}`]], `keyv ${major}`);
      await adapter.clear();
      assert.strictEqual(await adapter.get('k'), undefined, `keyv ${major}`);
    }
  });

  it('the namespace option is checked when the adapter is made, not at its first write', async function () {
    const invalid = (e, name) => e.name === name && e.code === 'ERR_INVALID_ARG' && /options\.namespace/.test(e.message);
    for (const bad of [5, {}, true]) assert.throws(() => new KeyvShmstore(store, { namespace: bad }), (e) => invalid(e, 'TypeError'));
    for (const bad of ['', 'n'.repeat(256), 'é'.repeat(128)]) {
      assert.throws(() => new KeyvShmstore(store, { namespace: bad }), (e) => invalid(e, 'RangeError'));
    }
    assert.strictEqual(new KeyvShmstore(store, { namespace: 'é'.repeat(127) })._ns(), 'é'.repeat(127));
    assert.strictEqual(new KeyvShmstore(store, { namespace: null })._ns(), 'keyv');
    assert.deepStrictEqual(store.namespaces(), []);
  });

  it('keyv 6 reads capabilities (expires: true) and uses the adapter directly; keyv 5 never does', function () {
    const a6 = new KeyvShmstore(store);
    const k6 = new Keyv6({ store: a6 });
    assert.strictEqual(k6.store, a6);
    assert.strictEqual(a6._v6, true);
    const a5 = new KeyvShmstore(store);
    new Keyv5({ store: a5 });
    assert.strictEqual(a5._v6, false);
  });

  it('two processes with Keyv over the same store see each other\'s writes, under keyv 5 and 6', async function () {
    for (const [major, Keyv] of majors) {
      const keyv = new Keyv({ store: new KeyvShmstore(store), namespace: 'shared' });
      await keyv.set('from-parent', `hello ${major}`);
      const r = await runNode(PEER, ['read-write', name, String(major)]);
      assert.strictEqual(r.code, 0, r.stderr);
      assert.deepStrictEqual(JSON.parse(r.stdout), { seen: `hello ${major}` });
      assert.deepStrictEqual(await keyv.get('from-child'), { pid: r.child.pid, major: String(major) });
      const left = store.ttl('shared', 'from-child');
      assert.ok(left > 0 && left <= 60000, String(left));
    }
  });

  it('processes constructing the adapter with create options at once share one store', async function () {
    const fresh = uniqueName('keyv-race');
    try {
      const runs = await Promise.all([0, 1, 2].map(() => runNode(PEER, ['open', fresh])));
      for (const r of runs) assert.strictEqual(r.code, 0, r.stderr);
      const opened = Store.open({ name: fresh });
      try {
        assert.deepStrictEqual(opened.keys('race').sort(), runs.map((r) => String(r.child.pid)).sort());
      } finally {
        opened.close();
      }
    } finally {
      removeShm(fresh);
    }
  });

  it('a segment whose creator never initialised it is reported (ERR_BAD_SIZE) after a bounded wait, not waited on forever', function () {
    const stuck = uniqueName('keyv-stuck');
    fs.writeFileSync(path.join('/dev/shm', stuck), '');
    try {
      assert.throws(() => new KeyvShmstore({ name: stuck, size: 1 << 20 }), { code: 'ERR_BAD_SIZE' });
    } finally {
      removeShm(stuck);
    }
  });

  it('a process killed with SIGKILL while writing through Keyv leaves a store that verifies and keeps working', async function () {
    const child = spawn(process.execPath, [PEER, 'hammer', name], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the writer never started')), 30000);
      child.stdout.once('data', () => { clearTimeout(timer); resolve(); });
    });
    // Let it write for a moment, then kill it wherever it is.
    await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 150)));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.ok(store.count('hammer') > 0);
    assert.strictEqual(store.verify().ok, true);
    const keyv = new Keyv5({ store: new KeyvShmstore(store), namespace: 'hammer' });
    await keyv.set('after', 'ok');
    assert.strictEqual(await keyv.get('after'), 'ok');
  });

  it('store options with persist: the adapter creates and opens the persisted store, and its writes survive the loss of the segment', async function () {
    const t = persistTarget('keyvp');
    try {
      const created = new KeyvShmstore({ name: t.name, size: 1 << 20, persist: { dir: t.dir } }, { keyv: 6 });
      await created.set('a', '1');
      // Opened by options without size (Store.open), and with size (open-or-create).
      const opened = new KeyvShmstore({ name: t.name, persist: { dir: t.dir } }, { keyv: 6 });
      const again = new KeyvShmstore({ name: t.name, size: 1 << 20, persist: { dir: t.dir } }, { keyv: 6 });
      for (const a of [created, opened, again]) assert.notStrictEqual(a.store.persistence, null);
      await opened.set('b', '2');
      await again.set('c', '3');
      for (const a of [created, opened, again]) await a.disconnect();
      reboot(t.name);
      const rebuilt = new KeyvShmstore({ name: t.name, persist: { dir: t.dir } }, { keyv: 6 });
      assert.deepStrictEqual(await rebuilt.getMany(['a', 'b', 'c']), ['1', '2', '3']);
      await rebuilt.disconnect();
    } finally {
      t.cleanup();
    }
  });

  it('store options of the handle (latency) apply to an adapter that opens the store, not only to the one that creates it', async function () {
    // `store` (the beforeEach one) exists: these adapters open it, with and without size.
    const opened = new KeyvShmstore({ name, latency: true });
    const openedOrCreated = new KeyvShmstore({ name, size: 1 << 20, latency: true });
    try {
      for (const a of [opened, openedOrCreated]) {
        assert.strictEqual(a.store.latencyEnabled, true);
        await a.set('k', 'v');
        assert.strictEqual(a.store.latency().ops.set.count, 1);
      }
    } finally {
      await opened.disconnect();
      await openedOrCreated.disconnect();
    }
  });

  it('disconnect closes a store the adapter opened, and leaves a Store passed in open', async function () {
    const owned = new KeyvShmstore({ name });
    assert.deepStrictEqual(owned.opts, { dialect: 'shmstore', url: `shmstore:${name}` });
    await owned.disconnect();
    assert.strictEqual(owned.store.closed, true);
    await owned.disconnect();
    const lent = new KeyvShmstore(store);
    await lent.disconnect();
    assert.strictEqual(store.closed, false);
  });

  it('refuses bad arguments with TypeError/RangeError and leaves the store as it was', async function () {
    assert.throws(() => new KeyvShmstore(), TypeError);
    assert.throws(() => new KeyvShmstore('name'), TypeError);
    assert.throws(() => new KeyvShmstore(store, null), TypeError);
    assert.throws(() => new KeyvShmstore(store, { keyv: 4 }), RangeError);
    assert.throws(() => new KeyvShmstore({ buffer: new SharedArrayBuffer(1 << 20) }), TypeError);
    assert.throws(() => new KeyvShmstore({ name: uniqueName('missing') }), { code: 'ERR_SHM_NOT_FOUND' });
    const adapter = new KeyvShmstore(store);
    await assert.rejects(adapter.get(42), TypeError);
    await assert.rejects(adapter.set('k', undefined), TypeError);
    // A Keyv namespace longer than a store namespace may be (255 bytes): the write is refused.
    const keyv = new Keyv5({ store: new KeyvShmstore(store), namespace: 'n'.repeat(256), throwOnErrors: true });
    keyv.on('error', () => {});
    await assert.rejects(keyv.set('k', 'v'), RangeError);
    assert.deepStrictEqual(store.namespaces(), []);
    assert.strictEqual(store.verify().ok, true);
  });

  it('store options that Store.open does not take are refused, not dropped: a misspelt option, name and path both, a create option without size', async function () {
    const refused = (fn, what) => assert.throws(fn, (e) => e.name === 'TypeError' && e.code === 'ERR_INVALID_ARG' && e.message.includes(what));
    // Each of these opened the store `name` as if the option were not there.
    refused(() => new KeyvShmstore({ name, lockTimoutMs: 50 }), 'lockTimoutMs');
    refused(() => new KeyvShmstore({ name, path: '/nonexistent/cache.shm' }), 'options.path');
    refused(() => new KeyvShmstore({ name, eviction: 'auto' }), 'eviction');
    // The adapter's own options too: a misspelt namespace wrote to 'keyv'.
    refused(() => new KeyvShmstore(store, { namepsace: 'sessions' }), 'namepsace');
    // An option given as undefined is one not given.
    const a = new KeyvShmstore({ name, size: undefined, lockTimeoutMs: undefined }, { namespace: 'n', keyv: undefined });
    await a.set('k', 'v');
    assert.strictEqual(store.get('n', 'k'), 'v');
    await a.disconnect();
    assert.deepStrictEqual(store.namespaces(), ['n']);
  });

  it('an adapter option given as undefined is one not given, whatever its name: options spread from a configuration with unset members', async function () {
    const config = { namespace: 'spread', ttl: undefined, serialize: undefined };
    const a = new KeyvShmstore(store, { ...config, keyv: undefined });
    await a.set('k', 'v');
    assert.deepStrictEqual(store.keys('spread'), ['k']);
    // Through Keyv too, whose own options a configuration may share.
    for (const [major, Keyv] of majors) {
      const keyv = new Keyv({ store: new KeyvShmstore(store, { namespace: 'unused', ttl: undefined }), namespace: `spread${major}` });
      await keyv.set('k', major);
      assert.strictEqual(await keyv.get('k'), major);
    }
    // A misspelt option that holds a value is still refused, not dropped.
    assert.throws(() => new KeyvShmstore(store, { namepsace: 'x', ttl: undefined }), (e) => e.name === 'TypeError' &&
      e.code === 'ERR_INVALID_ARG' && /options\.namepsace/.test(e.message));
    assert.throws(() => new KeyvShmstore(store, { ttl: 1000 }), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
  });

  it('a Keyv namespace past the store\'s 255 is refused: set resolves false with the store\'s error', async function () {
    for (let i = 0; i < 255; i++) store.set(`ns${i}`, 'k', i);
    const keyv = new Keyv5({ store: new KeyvShmstore(store), namespace: 'one-too-many' });
    const errors = [];
    keyv.on('error', (e) => errors.push(e));
    assert.strictEqual(await keyv.set('k', 'v'), false);
    assert.strictEqual(errors.length, 1);
    assert.strictEqual(errors[0].code, 'ERR_TOO_MANY_NAMESPACES');
    assert.strictEqual(store.namespaces().length, 255);
    // The namespaces that exist keep working.
    const existing = new Keyv5({ store: new KeyvShmstore(store), namespace: 'ns7' });
    await existing.set('x', 'y');
    assert.strictEqual(await existing.get('x'), 'y');
  });
});

// A store error partway through setMany: the entry is false, the others are written, as Keyv's
// own set() of each entry would report it.
describe('shmstore/keyv: binary values', () => {
  for (const engine of ['native', 'js']) {
    it(`[${engine} engine] get, getMany and iterator hand back bytes owning their ArrayBuffer: value.buffer holds exactly their bytes`, async () => {
      const store = Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine });
      try {
        const adapter = new KeyvShmstore(store, { namespace: 'bin' });
        const floats = new Float32Array([1.5, -2.25, 3.75]);
        await adapter.set('f', Buffer.from(floats.buffer));
        await adapter.set('u', new Uint8Array(floats.buffer));
        const owns = (b) => Buffer.isBuffer(b) && b.byteOffset === 0 && b.buffer.byteLength === b.byteLength;
        const check = (b, what) => {
          assert.ok(owns(b), `${what}: offset ${b.byteOffset} in ${b.buffer.byteLength} bytes`);
          assert.deepStrictEqual([...new Float32Array(b.buffer)], [...floats]);
        };
        for (let i = 0; i < 3; i++) check(await adapter.get('f'), 'get'); // read cache hits too
        for (const b of await adapter.getMany(['f', 'u'])) check(b, 'getMany');
        for await (const [, b] of adapter.iterator()) check(b, 'iterator');
      } finally {
        store.close();
      }
    });
  }
});

describe('shmstore/keyv: a store closed under the adapter', () => {
  it('every method, and an iteration part way, rejects with ShmError ERR_CLOSED; disconnect() resolves', async () => {
    const store = Store.create({ buffer: new SharedArrayBuffer(1 << 20) });
    const a = new KeyvShmstore(store, { namespace: 'c' });
    for (let i = 0; i < 250; i++) await a.set(`k${i}`, 'v');
    const it = a.iterator();
    assert.strictEqual((await it.next()).done, false); // the first batch is read
    store.close();
    const closed = (e) => e.name === 'ShmError' && e.code === 'ERR_CLOSED';
    // The rest of the first batch was read before the close; the next batch is not.
    await assert.rejects(async () => {
      for (;;) if ((await it.next()).done) break;
    }, closed);
    for (const call of [() => a.get('k1'), () => a.getMany(['k1']), () => a.has('k1'), () => a.hasMany(['k1']), () => a.set('k', 'v'),
      () => a.setMany([{ key: 'k', value: 'v' }]), () => a.delete('k1'), () => a.deleteMany(['k1']), () => a.clear(),
      () => a.iterator().next()]) {
      await assert.rejects(call(), closed);
    }
    await a.disconnect();
  });
});

describe('shmstore/keyv: setMany with an entry the store refuses', () => {
  const big = 'x'.repeat(2 ** 20); // more than the 1 MiB store holds: ERR_STORE_FULL
  const entries = (v6) => [{ key: 'a', value: 'A' }, { key: 'b', value: big }, { key: 'c', value: 'C' }]
    .map((e) => (v6 ? { ...e, expires: undefined } : e));

  for (const [major, Keyv] of majors) {
    it(`through keyv ${major}: [true, false, true], the refusal emitted, both others written`, async () => {
      const store = Store.create({ buffer: new SharedArrayBuffer(1 << 20) });
      const keyv = new Keyv({ store: new KeyvShmstore(store), namespace: 'many' });
      const errors = [];
      keyv.on('error', (e) => errors.push(e));
      const result = await keyv.setMany([{ key: 'a', value: 'A' }, { key: 'b', value: big }, { key: 'c', value: 'C' }]);
      assert.deepStrictEqual(result, [true, false, true]);
      assert.strictEqual(errors.length, 1);
      assert.strictEqual(errors[0].code, 'ERR_STORE_FULL');
      assert.strictEqual(await keyv.get('a'), 'A');
      assert.strictEqual(await keyv.get('b'), undefined);
      assert.strictEqual(await keyv.get('c'), 'C');
      store.close();
    });
  }

  it('alone, without an error listener: rejects with the first refusal after every entry was tried', async () => {
    for (const v6 of [false, true]) {
      const store = Store.create({ buffer: new SharedArrayBuffer(1 << 20) });
      const a = new KeyvShmstore(store, { keyv: v6 ? 6 : 5 });
      await assert.rejects(a.setMany(entries(v6)), (e) => e.code === 'ERR_STORE_FULL' && e.results.join() === 'true,false,true');
      assert.strictEqual(await a.get('a'), 'A');
      assert.strictEqual(await a.has('b'), false);
      assert.strictEqual(await a.get('c'), 'C');
      const seen = [];
      a.on('error', (e) => seen.push(e.code));
      assert.deepStrictEqual(await a.setMany(entries(v6)), [true, false, true]);
      assert.deepStrictEqual(seen, ['ERR_STORE_FULL']);
      store.close();
    }
  });
});

// setMany checked each value by encoding it, then handed the value to the store, which encoded it
// again: a value's toJSON ran twice, and what was written was not what was checked. The encoded
// form is now written.
describe('shmstore/keyv: setMany encodes each value once', () => {
  for (const engine of ['native', 'js']) {
    it(`[${engine} engine] toJSON runs once per value, and every kind of value reads back as set() writes it`, async () => {
      const store = Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine });
      const a = new KeyvShmstore(store, { keyv: 5 });
      let calls = 0;
      const counted = { toJSON() { calls += 1; return { n: calls }; } };
      const values = { s: 'text', o: { a: [1, 'x', null] }, n: 42, t: true, b: Buffer.from([1, 2, 3]), c: counted };
      const result = await a.setMany(Object.entries(values).map(([key, value]) => ({ key, value })));
      assert.deepStrictEqual(result, [true, true, true, true, true, true]);
      assert.strictEqual(calls, 1);
      assert.deepStrictEqual(await a.getMany(['s', 'o', 'n', 't', 'b', 'c']), ['text', { a: [1, 'x', null] }, 42, true, Buffer.from([1, 2, 3]), { n: 1 }]);
      // The same entries set one by one read back the same.
      for (const [key, value] of Object.entries(values)) if (key !== 'c') await a.set(`one-${key}`, value);
      for (const key of ['s', 'o', 'n', 't', 'b']) assert.deepStrictEqual(await a.get(`one-${key}`), await a.get(key));
      // An entry whose expiry already passed deletes its key, as before.
      assert.deepStrictEqual(await a.setMany([{ key: 's', value: counted, ttl: -1 }]), [true]);
      assert.strictEqual(await a.has('s'), false);
      store.close();
    });
  }
});

// keyv 5 hands set() a relative TTL and keyv 6 an absolute expiry. An adapter in the other major's
// contract than the Keyv driving it would keep a 1 s TTL for 57 years, or delete every write with a
// TTL; it refuses such a write instead, loud through Keyv's own error channel.
describe('shmstore/keyv: an adapter made for one Keyv major and driven by the other', () => {
  const SECOND = 1000;
  let store;
  beforeEach(() => {
    store = Store.create({ buffer: new SharedArrayBuffer(1 << 20) });
  });
  afterEach(() => {
    assert.ok(store.verify().ok);
    store.close();
  });
  const mismatch = (made, driver) => (e) => e.name === 'ShmError' && e.code === 'ERR_INVALID_ARG' &&
    e.message.includes(`made for keyv ${made}`) && e.message.includes(`driven by keyv ${driver}`) &&
    e.message.includes(`{ keyv: ${driver} }`);

  it('under a clock set back before 2^40 ms (fake timers), keyv 6 and a { keyv: 5 } adapter whose capabilities were read are refused nothing', async () => {
    // The pure-JS engine reads the same (faked) clock for expiry; the native one reads the system's.
    const js = Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine: 'js' });
    const realNow = Date.now;
    Date.now = () => Date.UTC(2000, 0, 1);
    try {
      const keyv = new Keyv6({ store: new KeyvShmstore(js), namespace: 'n' });
      const errors = [];
      keyv.on('error', (e) => errors.push(e));
      assert.strictEqual(await keyv.set('k', 'v', 3600 * SECOND), true);
      assert.strictEqual(await keyv.get('k'), 'v');
      const five = new KeyvShmstore(js, { keyv: 5 });
      assert.strictEqual(five.capabilities.expires, true);
      const keyv5 = new Keyv5({ store: five, namespace: 'm', throwOnErrors: true });
      assert.strictEqual(await keyv5.set('long', 'w', 2 ** 41), true);
      assert.deepStrictEqual(errors, []);
    } finally {
      Date.now = realNow;
      js.close();
    }
  });

  it('keyv 6 over an adapter made with { keyv: 5 }: a 1 s TTL is refused, not kept for 57 years', async () => {
    const keyv = new Keyv6({ store: new KeyvShmstore(store, { keyv: 5 }), namespace: 'n' });
    const errors = [];
    keyv.on('error', (e) => errors.push(e));
    assert.strictEqual(await keyv.set('k', 'v', SECOND), false);
    assert.deepStrictEqual(await keyv.setMany([{ key: 'm', value: 'w', ttl: SECOND }]), [false]);
    assert.strictEqual(errors.length, 2);
    for (const e of errors) assert.ok(mismatch(5, 6)(e), e.message);
    assert.deepStrictEqual(store.keys('n'), []);
    // A write without a TTL has nothing to misread, and a TTL as long as the store allows is the
    // store's latest expiry in either contract.
    assert.strictEqual(await keyv.set('k', 'v'), true);
    assert.strictEqual(await keyv.set('forever', 'v', Number.MAX_SAFE_INTEGER), true);
    assert.strictEqual(store.ttl('n', 'k'), Infinity);
    assert.ok(store.ttl('n', 'forever') > 2 ** 40);
    assert.strictEqual(errors.length, 2);
  });

  for (const [how, make] of [
    ['made with { keyv: 6 }', () => new KeyvShmstore(store, { keyv: 6 })],
    ['switched to keyv 6 by a Keyv 6 given it first', () => {
      const adapter = new KeyvShmstore(store);
      new Keyv6({ store: adapter, namespace: 'n' });
      return adapter;
    }],
  ]) {
    it(`keyv 5 over an adapter ${how}: a 1 s TTL is refused, not deleted as an expiry in 1970`, async () => {
      const keyv = new Keyv5({ store: make(), namespace: 'n', throwOnErrors: true });
      await assert.rejects(keyv.set('k', 'v', SECOND), mismatch(6, 5));
      await assert.rejects(keyv.setMany([{ key: 'm', value: 'w', ttl: SECOND }]), mismatch(6, 5));
      assert.deepStrictEqual(store.keys('n'), []);
      // A negative TTL is one already past to either major: the key is deleted, as before.
      assert.strictEqual(await keyv.set('k', 'v', -1), true);
      assert.deepStrictEqual(store.keys('n'), []);
    });
  }

  it('every expiry each major hands through a matching adapter is taken, up to the bound and past it', async () => {
    const huge = [2 ** 40 - 1, 2 ** 40, 1e15, Number.MAX_SAFE_INTEGER];
    // keyv 5 never reads capabilities, so keyv 6 cannot be driving: every TTL is a TTL.
    const k5 = new Keyv5({ store: new KeyvShmstore(store), namespace: 'v5', throwOnErrors: true });
    for (const ttl of [1, SECOND, ...huge]) assert.strictEqual(await k5.set(`t${ttl}`, 'v', ttl), true, String(ttl));
    assert.ok(store.ttl('v5', `t${SECOND}`) <= SECOND);
    for (const ttl of huge) assert.ok(store.ttl('v5', `t${ttl}`) > 2 ** 40 - 60e3, String(ttl));
    assert.deepStrictEqual(await k5.setMany([{ key: 'm', value: 'w', ttl: 1e15 }, { key: 'z', value: 'w', ttl: 0 }]), [true, true]);
    assert.strictEqual(store.ttl('v5', 'z'), Infinity);
    // Made for keyv 5 and its capabilities read by something else: TTLs below 2^40 ms and those
    // reaching the store's latest expiry are still taken.
    const fixed5 = new KeyvShmstore(store, { keyv: 5 });
    assert.strictEqual(fixed5.capabilities.expires, true);
    const f5 = new Keyv5({ store: fixed5, namespace: 'f5', throwOnErrors: true });
    for (const ttl of [SECOND, 2 ** 40 - 1, Number.MAX_SAFE_INTEGER]) assert.strictEqual(await f5.set(`t${ttl}`, 'v', ttl), true);
    await assert.rejects(f5.set('t', 'v', 2 ** 40), mismatch(5, 6));
    // keyv 6: no TTL, a TTL of 0 (no expiry), short and huge ones.
    const k6 = new Keyv6({ store: new KeyvShmstore(store), namespace: 'v6' });
    for (const ttl of [undefined, 0, 1, SECOND, ...huge]) assert.strictEqual(await k6.set(`t${ttl}`, 'v', ttl), true, String(ttl));
    assert.strictEqual(store.ttl('v6', 't0'), Infinity);
    assert.ok(store.ttl('v6', `t${SECOND}`) <= SECOND);
    assert.deepStrictEqual(await k6.setMany([{ key: 'm', value: 'w', ttl: SECOND }, { key: 'z', value: 'w' }]), [true, true]);
    // keyv 6's contract directly: 0, a negative expiry and one past but after 2^40 ms delete the key.
    const a6 = new KeyvShmstore(store, { keyv: 6, namespace: 'v6' });
    for (const expires of [0, -1, 2 ** 40, Date.now() - 1]) {
      await a6.set('z', 'w');
      assert.strictEqual(await a6.set('z', 'w', expires), true);
      assert.strictEqual(store.has('v6', 'z'), false, String(expires));
    }
  });
});

// Bad arguments to the adapter's own methods (docs/api.md: every function validates its
// arguments): a TypeError or RangeError with ERR_INVALID_ARG, the store unchanged.
describe('shmstore/keyv: bad arguments', () => {
  it('non-array lists, non-object entries, non-string keys and bad options are refused with ERR_INVALID_ARG', async () => {
    const store = Store.create({ buffer: new SharedArrayBuffer(1 << 20) });
    const a = new KeyvShmstore(store);
    await a.set('k', 1);
    const refused = (p, name = 'TypeError') => assert.rejects(p, (e) => e.name === name && e.code === 'ERR_INVALID_ARG');
    for (const bad of [undefined, null, 'abc', 5, { length: 1 }]) {
      await refused(a.getMany(bad));
      await refused(a.hasMany(bad));
      await refused(a.deleteMany(bad));
      await refused(a.setMany(bad));
    }
    await refused(a.setMany([null]));
    // A bad entry or key anywhere in the list refuses the call before anything of it is written.
    for (const v6 of [false, true]) {
      const b = new KeyvShmstore(store, { keyv: v6 ? 6 : 5 });
      await refused(b.setMany([{ key: 'first', value: 'x' }, null]));
      await refused(b.setMany([{ key: 'first', value: 'x' }, { key: 5, value: 'y' }]));
      await refused(b.setMany([{ key: 'first', value: 'x' }, { key: 'second', value: 'y', ttl: '1000', expires: '1000' }]));
      assert.strictEqual(await b.has('first'), false);
      await refused(b.deleteMany(['k', 5]));
      assert.strictEqual(await b.get('k'), 1);
    }
    // A value no store takes, anywhere in the list, refuses the call as a bad key does: nothing
    // written, the entry named; the old value of a key stays.
    const cycle = {};
    cycle.self = cycle;
    for (const [bad, name] of [[undefined, 'TypeError'], [() => 1, 'TypeError'], [10n, 'TypeError'], [Symbol('s'), 'TypeError'],
      [cycle, 'TypeError'], [NaN, 'RangeError']]) {
      for (const v6 of [false, true]) {
        const b = new KeyvShmstore(store, { keyv: v6 ? 6 : 5 });
        await assert.rejects(b.setMany([{ key: 'first', value: 'x' }, { key: 'k', value: bad }, { key: 'third', value: 'z' }]),
          (e) => e.name === name && e.code === 'ERR_INVALID_ARG' && e.message.includes('"entries[1].value"'));
        assert.deepStrictEqual(await b.hasMany(['first', 'third']), [false, false]);
        await assert.rejects(b.set('k', bad), (e) => e.name === name && e.code === 'ERR_INVALID_ARG');
        assert.strictEqual(await b.get('k'), 1);
      }
    }
    for (const ttl of ['1000', 1000n, {}]) await refused(a.set('t', 1, ttl));
    assert.strictEqual(await a.has('t'), false);
    await refused(a.get(1));
    assert.throws(() => new KeyvShmstore(store, { keyv: 7 }), (e) => e.name === 'RangeError' && e.code === 'ERR_INVALID_ARG');
    assert.throws(() => new KeyvShmstore(42), (e) => e.name === 'TypeError' && e.code === 'ERR_INVALID_ARG');
    assert.strictEqual(await a.get('k'), 1);
    assert.ok(store.verify().ok);
    store.close();
  });
});
