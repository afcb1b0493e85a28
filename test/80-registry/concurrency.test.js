'use strict';
// Creation by name is atomic across processes and threads (docs/api.md "Registry"): participants
// that race to create the same names get one structure each, and all of them use it (an exact
// counter in a store, found by name, incremented under a mutex, found by name).
const assert = require('assert');
const path = require('path');
const { Worker } = require('worker_threads');
const { Registry } = require('../../index');
const { addon } = require('../../lib/base/native');
const { C, S } = require('../../lib/layout/layout');
const { readRegistry } = require('../helpers/registry-reader');
const { uniqueName, removeShm, runNode } = require('../helpers/process');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'registry-child.js');
const describeWithAddon = addon ? describe : describe.skip;

function runWorker(workerData) {
  return new Promise((resolve, reject) => {
    const w = new Worker(CHILD, { workerData });
    let line = null;
    w.on('message', (m) => { line = m; });
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 && line !== null ? resolve(JSON.parse(line)) : reject(new Error(`worker exit ${code}`))));
  });
}

// Releases the participants once all `n` are ready (they spin on the 'go' block's word 0).
async function release(go, n) {
  const deadline = Date.now() + 60000;
  while (Atomics.load(go, 1) < n) {
    if (Date.now() > deadline) throw new Error('participants never became ready');
    await new Promise((r) => setTimeout(r, 5));
  }
  Atomics.store(go, 0, 1);
}

function goWord(registry) {
  const bytes = registry.create('bytes', 'go', { size: 8 });
  return new Int32Array(bytes.buffer, bytes.byteOffset, 2);
}

describeWithAddon('Registry: concurrent creation by name', () => {
  it('processes and worker threads racing to create the same names get one structure each', async () => {
    const name = uniqueName('regrace');
    const registry = Registry.create({ name, size: 1 << 19, maxEntries: 8 });
    const K = 150;
    try {
      const go = goWord(registry);
      const runs = [];
      for (let i = 0; i < 4; i++) {
        runs.push(runNode(CHILD, ['race', name, String(K), i % 2 ? 'open-or-create' : ''])
          .then((r) => {
            if (r.code !== 0) throw new Error(`child failed: ${r.stderr}`);
            return JSON.parse(r.stdout.trim());
          }));
      }
      for (let i = 0; i < 2; i++) runs.push(runWorker({ mode: 'race', name, k: K, openOrCreate: i === 1 }));
      await release(go, runs.length);
      const results = await Promise.all(runs);
      // One structure per name: at most one participant created it (none when an openOrCreate
      // won), the table holds one entry per name, and everyone used the same mutex.
      for (const n of ['lock', 'counter']) {
        assert.ok(results.filter((r) => r.created.includes(n)).length <= 1, `${n} created twice`);
      }
      assert.deepStrictEqual(registry.list().map((e) => [e.name, e.kind]),
        [['counter', 'store'], ['go', 'bytes'], ['lock', 'mutex']]);
      assert.strictEqual(new Set(results.map((r) => r.lockAt)).size, 1);
      const counter = registry.open('store', 'counter');
      assert.strictEqual(counter.get('c', 'n'), K * runs.length);
      assert.deepStrictEqual(readRegistry(registry.buffer).problems, []);
    } finally {
      registry.close();
      const r = Registry.open({ name });
      if (r.list().some((e) => e.name === 'counter')) r.delete('counter');
      r.close();
      removeShm(name);
    }
  });

  it('exactly one of many processes that call create() wins; the others get ERR_EXISTS', async () => {
    const name = uniqueName('regrace');
    const registry = Registry.create({ name, size: 1 << 19, maxEntries: 8 });
    try {
      const go = goWord(registry);
      const runs = [];
      for (let i = 0; i < 5; i++) {
        runs.push(runNode(CHILD, ['race', name, '20']).then((r) => {
          if (r.code !== 0) throw new Error(`child failed: ${r.stderr}`);
          return JSON.parse(r.stdout.trim());
        }));
      }
      await release(go, runs.length);
      const results = await Promise.all(runs);
      for (const n of ['lock', 'counter']) {
        assert.strictEqual(results.filter((r) => r.created.includes(n)).length, 1, `${n}: not exactly one creator`);
      }
      assert.strictEqual(registry.open('store', 'counter').get('c', 'n'), 20 * runs.length);
    } finally {
      registry.close();
      const r = Registry.open({ name });
      r.delete('counter');
      r.close();
      removeShm(name);
    }
  });
});

describe('Registry: concurrent creation by name in a SharedArrayBuffer (worker threads)', () => {
  it('workers racing on openOrCreate() share one mutex and one counter block', async () => {
    const buffer = new SharedArrayBuffer(C.REGISTRY_ENTRIES_OFFSET + 8 * S.REGISTRY_ENTRY.SIZE + (1 << 16));
    const registry = Registry.create({ buffer, maxEntries: 8 });
    const go = goWord(registry);
    const source = `
      const { workerData, parentPort } = require('worker_threads');
      const { Registry } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'index.js'))});
      const registry = Registry.open({ buffer: workerData.buffer });
      const g = registry.open('bytes', 'go');
      const go = new Int32Array(g.buffer, g.byteOffset, 2);
      Atomics.add(go, 1, 1);
      while (Atomics.load(go, 0) === 0);
      const lock = registry.openOrCreate('mutex', 'lock');
      const block = registry.openOrCreate('bytes', 'counter', { size: 4 });
      const counter = new Uint32Array(block.buffer, block.byteOffset, 1);
      for (let i = 0; i < workerData.k; i++) {
        lock.lock(60000);
        const seen = counter[0]; // plain read and write: only the mutex keeps increments apart
        for (let j = 0; j < 20; j++) Math.sqrt(j);
        counter[0] = seen + 1;
        lock.unlock();
      }
      registry.close();
      parentPort.postMessage('done');`;
    const K = 2000;
    const workers = [];
    for (let i = 0; i < 4; i++) {
      const w = new Worker(source, { eval: true, workerData: { buffer, k: K } });
      workers.push(new Promise((resolve, reject) => {
        w.on('error', reject);
        w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exit ${code}`))));
      }));
    }
    await release(go, workers.length);
    await Promise.all(workers);
    assert.deepStrictEqual(registry.list().map((e) => e.name), ['counter', 'go', 'lock']);
    const block = registry.open('bytes', 'counter');
    assert.strictEqual(new Uint32Array(block.buffer, block.byteOffset, 1)[0], K * workers.length);
    assert.deepStrictEqual(readRegistry(buffer).problems, []);
    registry.close();
  });
});
