'use strict';
// JS Map: the in-process ceiling. Cannot be shared between threads.

function adapter(m) {
  return {
    get: (k) => m.get(k),
    set: (k, v) => m.set(k, v),
    del: (k) => m.delete(k),
    getMany(ks) {
      const out = new Array(ks.length);
      for (let i = 0; i < ks.length; i++) out[i] = m.get(ks[i]);
      return out;
    },
    setMany(pairs) {
      for (let i = 0; i < pairs.length; i++) m.set(pairs[i][0], pairs[i][1]);
      return pairs.length;
    },
    load(keys, vals) {
      for (let i = 0; i < keys.length; i++) m.set(keys[i], vals[i]);
    },
    close() {
      m.clear();
    },
  };
}

module.exports = {
  name: 'map',
  label: 'JS Map',
  async: false,
  shared: false,
  sharing: 'n/a: a Map lives in one isolate',
  unavailable: () => null,
  async open() {
    return { ad: adapter(new Map()), share: null, info: {} };
  },
};
