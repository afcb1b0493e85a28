'use strict';
// shmstore as the L1 shared by the processes of a machine, Redis as the L2 shared by machines,
// through cacheable 2 and cache-manager 7 with @keyv/redis, against a real redis-server started
// on a free loopback port (no persistence) and stopped after. Two "machines" are two stores;
// two processes of one machine are two processes on one store.
const assert = require('assert');
const path = require('path');
const { Keyv } = require('keyv');
const KeyvRedis = require('@keyv/redis').default;
const { Cacheable } = require('cacheable');
const { createCache } = require('cache-manager');
const Redis = require('ioredis');
const { Store } = require('../..');
const KeyvShmstore = require('../../keyv');
const { uniqueName, removeShm, runNode, until } = require('../helpers/process');
const { startRedis } = require('../helpers/redis-server');

const PEER = path.join(__dirname, 'children', 'tiered-peer.js');
const NS = 'tier';

describe('tiered cache: shmstore L1 + Redis L2', function () {
  this.timeout(120000);
  let redis;
  let client;
  const machines = [];
  const closers = [];

  // One machine: a named store (its L1) and a Cacheable over it and the shared Redis.
  function machine() {
    const name = uniqueName('tier');
    const store = Store.create({ name, size: 1 << 20, eviction: 'auto' });
    const l1 = new Keyv({ store: new KeyvShmstore(store), namespace: NS });
    const l2 = new Keyv({ store: new KeyvRedis(redis.url), namespace: NS });
    const cache = new Cacheable({ primary: l1, secondary: l2, namespace: NS });
    const m = { name, store, l1, l2, cache };
    machines.push(m);
    return m;
  }

  // The Redis key Keyv wrote for `key` (@keyv/redis adds its own namespace prefix).
  async function redisKey(key) {
    const keys = await client.keys(`*${NS}:${key}`);
    assert.strictEqual(keys.length, 1, `redis keys for ${key}: ${keys}`);
    return keys[0];
  }

  before(async function () {
    redis = await startRedis();
    client = new Redis(redis.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
  });

  afterEach(async function () {
    for (const m of machines.splice(0)) {
      await m.l2.disconnect();
      m.store.close();
      removeShm(m.name);
    }
    for (const close of closers.splice(0)) await close();
    await client.flushall();
  });

  after(async function () {
    if (client) client.disconnect();
    if (redis) await redis.stop();
  });

  it('an L1 miss falls through to Redis and fills L1 with the L2 entry\'s remaining TTL', async function () {
    const a = machine();
    const b = machine();
    await b.cache.set('k', { from: 'b' }, 20000);
    assert.strictEqual(a.store.has(NS, 'k'), false);
    assert.deepStrictEqual(await a.cache.get('k'), { from: 'b' });
    // A's L1 now holds it: its processes read it from shared memory without Redis.
    assert.deepStrictEqual(await a.l1.get('k'), { from: 'b' });
    const raw = await b.l2.get('k', { raw: true });
    const l1Deadline = Date.now() + a.store.ttl(NS, 'k');
    // The L1 copy never outlives the L2 entry (1 ms for the rounding up of the store's TTL).
    assert.ok(l1Deadline <= raw.expires + 1, `${l1Deadline} > ${raw.expires}`);
    assert.ok(a.store.ttl(NS, 'k') > 0);
  });

  it('a write from one process is visible to another process\'s L1 at once, and in Redis', async function () {
    const a = machine();
    const r = await runNode(PEER, ['set', a.name, redis.url, 'p']);
    assert.strictEqual(r.code, 0, r.stderr);
    // Read from this process's L1 alone (no Redis): the other process's write is there.
    assert.deepStrictEqual(await a.l1.get('p'), { pid: r.child.pid });
    assert.deepStrictEqual(await a.l2.get('p'), { pid: r.child.pid });
    // And the other way round: this process writes, a new process reads its L1 alone.
    await a.cache.set('q', 'from parent', 60000);
    const g = await runNode(PEER, ['l1get', a.name, 'q']);
    assert.strictEqual(g.code, 0, g.stderr);
    assert.deepStrictEqual(JSON.parse(g.stdout), { value: 'from parent' });
  });

  it('TTLs agree in both tiers, and an expired entry is gone from both', async function () {
    const a = machine();
    const before = Date.now();
    await a.cache.set('t', 'v', 30000);
    const l1 = a.store.ttl(NS, 't');
    const l2 = await client.pttl(await redisKey('t'));
    const elapsed = Date.now() - before;
    for (const left of [l1, l2]) assert.ok(left > 30000 - elapsed - 1 && left <= 30000, `${l1} ${l2} after ${elapsed} ms`);
    await a.cache.set('short', 'v', 150);
    const key = await redisKey('short');
    await until(() => !a.store.has(NS, 'short'), 'the L1 entry to expire', 20000);
    // Redis expires by its own clock; wait for it, bounded.
    const deadline = Date.now() + 20000;
    while ((await client.exists(key)) === 1) {
      assert.ok(Date.now() < deadline, 'the Redis entry never expired');
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.strictEqual(await a.cache.get('short'), undefined);
  });

  it('an L1 that evicts under a working set twice its size: every write and read through cacheable and cache-manager succeeds, L1 serves what it keeps', async function () {
    const a = machine(); // 1 MiB, eviction 'auto'
    const errors = [];
    a.l1.on('error', (e) => errors.push(e));
    const cm = createCache({ stores: [a.l1, a.l2] });
    const value = (i) => `${i}:`.padEnd(5000, 'x');
    for (let i = 0; i < 400; i++) {
      assert.strictEqual(await a.cache.set(`c${i}`, value(i), 60000), true);
      await cm.set(`m${i}`, value(i), 60000);
    }
    assert.deepStrictEqual(errors, []);
    const kept = a.store.count(NS);
    assert.ok(kept > 0 && kept < 800, `${kept} entries kept in L1`);
    for (let i = 0; i < 400; i++) {
      assert.strictEqual(await a.cache.get(`c${i}`), value(i));
      assert.strictEqual(await cm.get(`m${i}`), value(i));
    }
    assert.deepStrictEqual(errors, []);
    assert.ok(a.store.verify().ok);
  });

  it('an L1 that does not evict, once full: the writes it refuses reach Redis, every read is answered, the refusals are ERR_STORE_FULL', async function () {
    const name = uniqueName('tier');
    const store = Store.create({ name, size: 1 << 20 });
    const l1 = new Keyv({ store: new KeyvShmstore(store), namespace: NS });
    const l2 = new Keyv({ store: new KeyvRedis(redis.url), namespace: NS });
    machines.push({ name, store, l1, l2 });
    const errors = [];
    l1.on('error', (e) => errors.push(e));
    const cache = new Cacheable({ primary: l1, secondary: l2, namespace: NS });
    const value = (i) => `${i}:`.padEnd(5000, 'x');
    for (let i = 0; i < 400; i++) await cache.set(`c${i}`, value(i), 60000);
    const kept = store.count(NS);
    assert.ok(kept > 0 && kept < 400, `${kept} entries in L1`);
    assert.ok(errors.length > 0 && errors.every((e) => e.code === 'ERR_STORE_FULL'), errors.map((e) => e.code).join());
    for (let i = 0; i < 400; i++) {
      assert.strictEqual(await l2.has(`c${i}`), true);
      assert.strictEqual(await cache.get(`c${i}`), value(i));
    }
    assert.ok(store.verify().ok);
  });

  it('cache-manager 7 createCache({ stores: [shmstore, redis] }): set writes both tiers, get falls through, wrap fills L1', async function () {
    const a = machine();
    const cache = createCache({ stores: [a.l1, a.l2] });
    await cache.set('cm', { n: 1 }, 25000);
    assert.ok(a.store.ttl(NS, 'cm') <= 25000 && a.store.ttl(NS, 'cm') > 0);
    const l2 = await client.pttl(await redisKey('cm'));
    assert.ok(l2 <= 25000 && l2 > 0);
    // Drop it from L1 (as an eviction would): get falls through to Redis.
    a.store.delete(NS, 'cm');
    assert.deepStrictEqual(await cache.get('cm'), { n: 1 });
    let calls = 0;
    const value = await cache.wrap('cm', async () => { calls += 1; return { n: 2 }; }, 25000);
    assert.deepStrictEqual(value, { n: 1 });
    assert.strictEqual(calls, 0);
    assert.deepStrictEqual(a.store.has(NS, 'cm'), true);
    assert.deepStrictEqual(await a.l1.get('cm'), { n: 1 });
  });
});
