'use strict';
// The two shmstore cases (native engine, pure-JS engine) share this adapter: one store in a
// plain SharedArrayBuffer created by the child, attached by each worker of the read-scaling op
// with Store.attach(buffer, { engine }).
const path = require('path');

const fs = require('fs');

const NS = 'bench';

// The tree a case loads: this one, or for the baseline cases the checkout named by
// SHMSTORE_BASELINE (an earlier commit, built, to compare before/after in one run).
function rootOf(baseline) {
  if (!baseline) return path.join(__dirname, '..', '..');
  if (!process.env.SHMSTORE_BASELINE) throw new Error('set SHMSTORE_BASELINE to a built checkout of an earlier commit');
  return path.resolve(process.env.SHMSTORE_BASELINE);
}

// lib/store/store.js, or lib/store.js in trees from before the rooms.
function libFile(root, ...names) {
  for (const rel of names) {
    if (fs.existsSync(path.join(root, rel))) return path.join(root, rel);
  }
  throw new Error(`none of ${names.join(', ')} in ${root}`);
}

// Bytes for a store that holds `maxKeys` reference entries (32-byte header + 14-byte key +
// 100-byte value = 146 bytes = 3 units of 64) with room for the free lists to work.
function sizeFor(maxKeys) {
  return Math.ceil((maxKeys * 256 + (8 << 20)) / 4096) * 4096;
}

function adapter(store) {
  return {
    get: (k) => store.get(NS, k),
    set: (k, v) => store.set(NS, k, v),
    del: (k) => store.delete(NS, k),
    getMany: (ks) => store.getMany(NS, ks),
    setMany: (pairs) => store.setMany(NS, pairs),
    load(keys, vals) {
      for (let i = 0; i < keys.length; i += 1000) {
        const pairs = [];
        for (let j = i; j < Math.min(keys.length, i + 1000); j++) pairs.push([keys[j], vals[j]]);
        store.setMany(NS, pairs);
      }
    },
    close: () => store.close(),
    store,
  };
}

// `latency`: the store is opened with `latency: true` (docs/api.md, Latency histograms), every
// timed call recorded into the handle's histograms; its summary is reported after the run.
// `noCache`: every handle is opened with `readCache: false` (docs/api.md, Read cache).
function shmstoreCase(engine, label, baseline = false, latency = false, noCache = false) {
  const extra = { ...(latency ? { latency: true } : {}), ...(noCache ? { readCache: false } : {}) };
  let ROOT;
  const load = () => {
    ROOT = rootOf(baseline);
    return require(libFile(ROOT, 'lib/store/store.js', 'lib/store.js')).Store;
  };
  return {
    name: `${baseline ? 'baseline' : 'shmstore'}-${engine}${latency ? '-latency' : ''}${noCache ? '-nocache' : ''}`,
    label,
    async: false,
    shared: true,
    sharing: 'one SharedArrayBuffer, Store.attach(buffer, { engine }) in each worker',
    // Returns null when usable, else why not (checked in the child, so a broken addon never
    // takes the driver down).
    unavailable() {
      let Store;
      try {
        Store = load();
      } catch (e) {
        return `the store failed to load: ${e.message}`;
      }
      if (engine === 'native') {
        const native = require(libFile(ROOT, 'lib/base/native.js', 'lib/native.js'));
        if (!native.addon) return `addon not built/loadable (${native.loadError && native.loadError.code}): ${native.loadError && native.loadError.message}`;
        if (typeof native.addon.NativeStore !== 'function') {
          return 'the addon exports no NativeStore (binding/store/store.cc not implemented yet)';
        }
      }
      try {
        const s = Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine });
        s.set(NS, 'probe', 'x'.repeat(100));
        const v = s.get(NS, 'probe');
        s.close();
        if (v !== 'x'.repeat(100)) return `round trip failed (got ${typeof v})`;
      } catch (e) {
        return `${e.code || e.name}: ${e.message}`;
      }
      return null;
    },
    async open({ maxKeys }) {
      const Store = load();
      const size = sizeFor(maxKeys);
      const store = Store.create({ buffer: new SharedArrayBuffer(size), engine, maxEntries: maxKeys, ...extra });
      const st = store.stats();
      return {
        ad: adapter(store),
        share: { buffer: store.buffer },
        info: { engine: store.engine, size, buckets: st.buckets, maxEntries: st.maxEntries, namespace: NS },
      };
    },
    async attach({ buffer, name }) {
      if (name) return adapter(load().open({ name, engine, ...extra }));
      return adapter(load().attach(buffer, { engine, ...extra }));
    },
    // The same store on a named shared memory segment (the write-scaling op attaches it from other
    // processes); close() removes the segment.
    async openNamed({ maxKeys }) {
      const Store = load();
      const name = `shmstore-bench-ws-${process.pid}-${Date.now()}`;
      const store = Store.create({ name, size: sizeFor(maxKeys), engine, maxEntries: maxKeys, ...extra });
      return {
        ad: adapter(store),
        share: { name },
        close() {
          store.close();
          require(libFile(ROOT, 'lib/segment/segment.js', 'lib/segment.js')).Segment.unlink({ name });
        },
      };
    },
    // After the run: the store must still be sound.
    check(ad) {
      const r = ad.store.verify();
      const out = { verify: r && r.ok ? 'ok' : r, stats: ad.store.stats() };
      if (latency) {
        // What the histograms recorded over the whole child (warm-up, loads and measured runs).
        const { ops } = ad.store.latency();
        out.latency = Object.fromEntries(Object.entries(ops).filter(([, o]) => o.count > 0)
          .map(([op, o]) => [op, { count: o.count, p50: o.p50, p99: o.p99, p999: o.p999, max: o.max }]));
      }
      return out;
    },
  };
}

module.exports = { shmstoreCase, sizeFor, NS };
