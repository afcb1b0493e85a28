'use strict';
// Redis over loopback TCP through ioredis (the usual cross-process store). The driver starts a
// private redis-server (--save '' --appendonly no: no persistence) on a free loopback port and
// stops it afterwards; every operation is awaited before the next one is sent (no pipelining),
// except getMany (MGET) and setMany (MSET), which are one round trip per 100 keys.
const { version } = require('../lib/versions');

function adapter(client) {
  return {
    get: (k) => client.get(k),
    set: (k, v) => client.set(k, v),
    del: (k) => client.del(k),
    getMany: (ks) => client.mget(ks),
    setMany(pairs) {
      const flat = new Array(pairs.length * 2);
      for (let i = 0; i < pairs.length; i++) {
        flat[2 * i] = pairs[i][0];
        flat[2 * i + 1] = pairs[i][1];
      }
      return client.mset(flat);
    },
    async load(keys, vals) {
      for (let i = 0; i < keys.length; i += 1000) {
        const flat = [];
        for (let j = i; j < Math.min(keys.length, i + 1000); j++) flat.push(keys[j], vals[j]);
        await client.mset(flat);
      }
    },
    async close() {
      await client.quit();
    },
  };
}

async function connect(port) {
  const { Redis } = require('ioredis');
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  return client;
}

module.exports = {
  name: 'redis',
  label: 'Redis (ioredis, loopback)',
  async: true,
  shared: true,
  sharing: 'one ioredis connection per worker to the same server',
  needsRedis: true,
  unavailable(env) {
    try {
      require('ioredis');
    } catch (e) {
      return `ioredis is not installed (npm install): ${e.message}`;
    }
    if (!env || !env.redisPort) return env && env.redisNote ? env.redisNote : 'no redis-server running';
    return null;
  },
  async open({ redisPort }) {
    const client = await connect(redisPort);
    await client.flushall();
    const server = (await client.info('server')).match(/redis_version:(\S+)/);
    return {
      ad: adapter(client),
      share: { redisPort },
      info: {
        version: version('ioredis'),
        server: server ? server[1] : '?',
        port: redisPort,
        persistence: "--save '' --appendonly no",
      },
    };
  },
  async attach({ redisPort }) {
    return adapter(await connect(redisPort));
  },
};
