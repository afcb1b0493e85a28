'use strict';
// lru-cache (isaacs): the usual in-process cache. max is set above the key count so nothing is
// evicted. Cannot be shared between threads.

function adapter(c) {
  return {
    get: (k) => c.get(k),
    set: (k, v) => c.set(k, v),
    del: (k) => c.delete(k),
    getMany(ks) {
      const out = new Array(ks.length);
      for (let i = 0; i < ks.length; i++) out[i] = c.get(ks[i]);
      return out;
    },
    setMany(pairs) {
      for (let i = 0; i < pairs.length; i++) c.set(pairs[i][0], pairs[i][1]);
      return pairs.length;
    },
    load(keys, vals) {
      for (let i = 0; i < keys.length; i++) c.set(keys[i], vals[i]);
    },
    close() {
      c.clear();
    },
  };
}

module.exports = {
  name: 'lru-cache',
  label: 'lru-cache',
  async: false,
  shared: false,
  sharing: 'n/a: lives in one isolate',
  unavailable() {
    try {
      require('lru-cache');
      return null;
    } catch (e) {
      return `lru-cache is not installed (npm install): ${e.message}`;
    }
  },
  async open({ maxKeys }) {
    const { LRUCache } = require('lru-cache');
    const max = maxKeys + 1024;
    return { ad: adapter(new LRUCache({ max })), share: null, info: { max, version: require('../lib/versions').version('lru-cache') } };
  },
};
