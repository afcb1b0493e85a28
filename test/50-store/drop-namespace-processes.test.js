'use strict';
// store.dropNamespace(ns) across threads and processes (format.md §5, "Dropping"): writers in
// worker threads and in other processes (one per engine) keep writing the namespace being dropped, and no entry of a dropped life
// survives nor lands in the namespace that reuses its id; a dropper killed with SIGKILL at a
// random moment of a large drop leaves a store that verify() accepts and a repair pass finishes.
const assert = require('assert');
const path = require('path');
const { Store } = require('../../lib/store/store');
const { ENGINES, uniqueName } = require('../helpers/engines');
const { runNode, runAndKill, removeShm, until } = require('../helpers/process');
const { Worker } = require('worker_threads');

const ACTOR = path.join(__dirname, 'children', 'drop-actor.js');
const other = (engine) => (engine === 'js' ? 'native' : 'js');
const STORE = path.join(__dirname, '..', '..', 'lib', 'store', 'store.js');

// A worker thread that sets keys of 'hot' on the store in `buffer` until `stop[0]` is 1; it adds 1
// to `stop[1]` once it has written, so that the test starts dropping only when every writer runs.
function threadWriter(buffer, engine, id, stop) {
  const code = `
    const { workerData: d, parentPort } = require('worker_threads');
    const s = require(d.store).Store.attach(d.buffer, { engine: d.engine });
    const stop = new Int32Array(d.stop);
    let n = 0;
    s.set('hot', 't' + d.id + '-' + (n++ % 300), n);
    Atomics.add(stop, 1, 1); // one more writer is writing
    while (Atomics.load(stop, 0) === 0) s.set('hot', 't' + d.id + '-' + (n++ % 300), n);
    s.close();
    parentPort.postMessage(n);`;
  const w = new Worker(code, { eval: true, workerData: { store: STORE, buffer, engine, id, stop } });
  return new Promise((resolve, reject) => {
    w.on('message', resolve);
    w.on('error', reject);
  });
}

for (const engine of ENGINES) {
  describe(`store.dropNamespace() across processes [${engine} engine]`, () => {
    let name;
    beforeEach(() => { name = uniqueName('drop'); });
    afterEach(() => removeShm(name));

    it('writers of the namespace being dropped: nothing of a dropped life survives or lands in a reused id', async () => {
      const s = Store.create({ name, size: 1 << 23, buckets: 1024, engine });
      try {
        let running = 2;
        const writers = [engine, other(engine)].map((e, id) =>
          runNode(ACTOR, [JSON.stringify({ role: 'writer', name, engine: e, id, ms: 1500 })]).then((r) => {
            running--;
            return r;
          }));
        let rounds = 0;
        while (running > 0 || rounds < 5) {
          s.dropNamespace('hot');
          // Whatever takes the freed id holds only what was written to it by name.
          s.set(`cold-${rounds}`, 'mine', rounds);
          assert.deepStrictEqual(s.keys(`cold-${rounds}`), ['mine'], `round ${rounds}`);
          assert.strictEqual(s.dropNamespace(`cold-${rounds}`), 1);
          rounds++;
          await new Promise((r) => setTimeout(r, 5));
        }
        for (const r of await Promise.all(writers)) {
          assert.strictEqual(r.code, 0, r.stderr);
          assert.ok(Number(r.stdout) > 0, r.stdout);
        }
        // Only the last life of 'hot' (written after the last drop) may remain, and counts agree.
        assert.ok(s.namespaces().every((n) => n === 'hot'), s.namespaces().join());
        assert.strictEqual(s.count(), s.count('hot'));
        assert.strictEqual(s.keys('hot').length, s.count('hot'));
        assert.deepStrictEqual(s.verify().errors, []);
        s.dropNamespace('hot');
        assert.strictEqual(s.count(), 0);
        assert.deepStrictEqual(s.verify().errors, []);
      } finally {
        s.close();
      }
    });

    it('writer threads of the namespace being dropped: nothing survives or lands in a reused id', async () => {
      const s = Store.create({ buffer: new SharedArrayBuffer(1 << 23), buckets: 1024, engine });
      const stop = new SharedArrayBuffer(8);
      try {
        const writers = [engine, other(engine)].map((e, id) => threadWriter(s.buffer, e, id, stop));
        // A loaded machine may start a worker after the rounds below would be over.
        await until(() => Atomics.load(new Int32Array(stop), 1) === 2, 'both writer threads writing', 60000);
        for (let round = 0; round < 40; round++) {
          s.dropNamespace('hot');
          s.set(`cold-${round}`, 'mine', round);
          assert.deepStrictEqual(s.keys(`cold-${round}`), ['mine'], `round ${round}`);
          assert.strictEqual(s.dropNamespace(`cold-${round}`), 1);
          await new Promise((r) => setTimeout(r, 2));
        }
        Atomics.store(new Int32Array(stop), 0, 1);
        for (const n of await Promise.all(writers)) assert.ok(n > 0);
        assert.ok(s.namespaces().every((n) => n === 'hot'), s.namespaces().join());
        assert.strictEqual(s.count(), s.count('hot'));
        assert.deepStrictEqual(s.verify().errors, []);
      } finally {
        Atomics.store(new Int32Array(stop), 0, 1);
        s.close();
      }
    });

    it('a dropper killed at a random moment of a large drop: verify() is clean, repair finishes the drop', async () => {
      const BIG = 20000;
      for (let round = 0; round < 4; round++) {
        const s = Store.create({ name, size: 1 << 24, buckets: 4096, engine });
        try {
          for (let i = 0; i < BIG; i++) s.set('big', `k${i}`, i);
          for (let i = 0; i < 10; i++) s.set('keep', `k${i}`, i);
          const dropper = round % 2 ? other(engine) : engine;
          // The kill falls within about the time such a drop takes (native about 1 ms, pure JS about
          // 30 ms here), so that it lands in the middle of it often; every outcome is checked.
          const r = await runAndKill(ACTOR, [JSON.stringify({ role: 'dropper', name, engine: dropper })],
            { ready: /dropping/, maxDelayMs: dropper === 'native' ? 4 : 40 });
          assert.ok(r.signal === 'SIGKILL' || r.code === 0, r.stderr);
          // A drop under way is not damage; the namespace is all there or invisible.
          assert.deepStrictEqual(s.verify().errors, []);
          const left = s.count('big');
          assert.ok(left === 0 || left === BIG, `${left}`);
          s.repair();
          assert.deepStrictEqual(s.verify().errors, []);
          assert.strictEqual(s.count(), 10 + s.count('big'));
          assert.strictEqual(s.keys('keep').length, 10);
          // Every slot is usable again.
          s.dropNamespace('big');
          for (let i = 0; i < 254; i++) s.set(`n${i}`, 'k', i);
          assert.strictEqual(s.namespaces().length, 255);
          assert.deepStrictEqual(s.verify().errors, []);
        } finally {
          s.close();
          removeShm(name);
        }
      }
    });
  });
}
