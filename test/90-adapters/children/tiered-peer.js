'use strict';
// Another process of the same machine in the tiered-cache test. Modes:
//   set <storeName> <redisUrl> <key>: sets { pid } through its own Cacheable (L1 + L2), ttl 60 s
//   l1get <storeName> <key>: prints what its L1 alone (Keyv over the store, no Redis) holds
const { Keyv } = require('keyv');
const KeyvRedis = require('@keyv/redis').default;
const { Cacheable } = require('cacheable');
const KeyvShmstore = require('../../../keyv');

const [mode, name, a, b] = process.argv.slice(2);

async function main() {
  const l1 = new Keyv({ store: new KeyvShmstore({ name }), namespace: 'tier' });
  if (mode === 'set') {
    const l2 = new Keyv({ store: new KeyvRedis(a), namespace: 'tier' });
    const cache = new Cacheable({ primary: l1, secondary: l2, namespace: 'tier' });
    await cache.set(b, { pid: process.pid }, 60000);
    await l2.disconnect();
  } else if (mode === 'l1get') {
    process.stdout.write(`${JSON.stringify({ value: await l1.get(a) ?? null })}\n`);
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  await l1.disconnect();
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
