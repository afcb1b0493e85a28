'use strict';
// A two-tier cache: shmstore as the L1 shared by every process of a machine, Redis as the L2
// shared by every machine. The worker processes of machine A compute prices once between them
// (a value one worker computed is an L1 hit for the others); machine B then finds every price in
// Redis without computing any, and keeps it in its own L1 with the TTL it has left in Redis.
//
//   node examples/tiered-cache.js redis://127.0.0.1:6379 [workers]
//
// The L1 stores' segments are named EXAMPLE_SHM_PREFIX (default "example-") + "tiered-<pid>-a"
// and "-b".
//
// In your project: require('shmstore/keyv') and require('shmstore') instead of the paths below.
const { fork } = require('child_process');
const { Keyv } = require('keyv');
const KeyvRedis = require('@keyv/redis').default;
const { Cacheable } = require('cacheable');
const KeyvShmstore = require('../keyv');
const { Segment } = require('..');

const KEYS = 20;
const TTL = 60000;
const [redisUrl, workersArg] = process.argv.slice(2);
const RUN = process.env.TIERED_RUN || String(process.pid);
const storeName = (machine) => `${process.env.EXAMPLE_SHM_PREFIX || 'example-'}tiered-${RUN}-${machine}`;

// One machine's cache: L1 over the machine's store, L2 in Redis, both in namespace 'prices'.
function tieredCache(machine) {
  const l1 = new Keyv({ store: new KeyvShmstore({ name: storeName(machine), size: 4 << 20, eviction: 'auto' }),
    namespace: 'prices' });
  const l2 = new Keyv({ store: new KeyvRedis(redisUrl), namespace: `prices-${RUN}` });
  return { l1, l2, cache: new Cacheable({ primary: l1, secondary: l2, namespace: 'prices' }) };
}

// Stands for a slow call (a database query, a remote API).
async function price(i) {
  return { sku: i, cents: 100 + ((i * 7919) % 900) };
}

async function worker() {
  const { l1, l2, cache } = tieredCache('a');
  let computed = 0;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < KEYS; i++) {
      await cache.getOrSet(`sku:${i}`, () => { computed += 1; return price(i); }, { ttl: TTL });
    }
  }
  await l2.disconnect();
  await l1.disconnect();
  process.send({ computed });
}

async function main() {
  if (!redisUrl) throw new Error('usage: node examples/tiered-cache.js <redis-url> [workers]');
  const workers = Number(workersArg || 3);
  // Create machine A's store first so that the workers open the same one.
  const a = tieredCache('a');
  let computed = 0;
  await Promise.all(Array.from({ length: workers }, () => new Promise((resolve, reject) => {
    const child = fork(__filename, process.argv.slice(2), { env: { ...process.env, TIERED_RUN: RUN, TIERED_WORKER: '1' } });
    child.on('message', (m) => { computed += m.computed; });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
  })));
  // Machine B: a store of its own, the same Redis. Every price comes from L2 and fills B's L1.
  const b = tieredCache('b');
  let computedOnB = 0;
  for (let i = 0; i < KEYS; i++) {
    await b.cache.getOrSet(`sku:${i}`, () => { computedOnB += 1; return price(i); }, { ttl: TTL });
  }
  const storeA = a.l1.store.store;
  const storeB = b.l1.store.store;
  const inRedis = (await a.l2.get(Array.from({ length: KEYS }, (_, i) => `sku:${i}`))).filter((v) => v !== undefined).length;
  const ttlB = storeB.ttl('prices', 'sku:0');
  console.log(JSON.stringify({
    workers, keys: KEYS, computedOnA: computed, l1A: storeA.count('prices'), inRedis,
    computedOnB, l1B: storeB.count('prices'), ttlBWithinL2: ttlB > 0 && ttlB <= TTL, segments: [storeName('a'), storeName('b')],
  }));
  await a.l2.clear();
  for (const m of [a, b]) {
    await m.l2.disconnect();
    await m.l1.disconnect();
  }
  Segment.unlink({ name: storeName('a') });
  Segment.unlink({ name: storeName('b') });
}

(process.env.TIERED_WORKER ? worker() : main()).catch((err) => {
  console.error(err);
  process.exit(1);
});
