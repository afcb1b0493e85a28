'use strict';
// The benchmarks' redis-server: the one the tests start (test/helpers/redis-server.js), with a
// missing or failing server turned into a note that the benchmark prints instead of its Redis
// cases. Resolves { port, pid, version, stop() } or { note }.
const { startRedis: start } = require('../../test/helpers/redis-server');

async function startRedis(opts) {
  try {
    return await start(opts);
  } catch (err) {
    return { note: `skipped: ${err.message.split('\n')[0]}` };
  }
}

module.exports = { startRedis };
