'use strict';
// Namespace creation across threads and processes (format.md §5): creators of both engines in
// other processes and in worker threads race to create the same names, and each name gets exactly
// one id (one namespace holding every creator's key); a worker thread stopped by
// worker.terminate() or a process killed with SIGKILL at a random moment while it creates and
// drops namespaces leaves a store that a repair pass makes clean, with every record usable again.
const assert = require('assert');
const path = require('path');
const { Worker } = require('worker_threads');
const { Store } = require('../../lib/store/store');
const { ENGINES, uniqueName } = require('../helpers/engines');
const { runNode, runAndKill, removeShm } = require('../helpers/process');

const ACTOR = path.join(__dirname, 'children', 'ns-actor.js');
const STORE = path.join(__dirname, '..', '..', 'lib', 'store', 'store.js');
const other = (engine) => (engine === 'js' ? 'native' : 'js');
const NAMES = 200;

// A worker thread that does what the 'creator' actor does, on the store in `buffer`.
function threadCreator(buffer, engine, id) {
  const code = `
    const { workerData: d, parentPort } = require('worker_threads');
    const s = require(d.store).Store.attach(d.buffer, { engine: d.engine });
    for (let k = 0; k < d.names; k++) {
      const i = (k * 7 + d.id * 13) % d.names;
      s.set('ns' + i, 'w' + d.id, i);
    }
    s.close();
    parentPort.postMessage(d.names);`;
  const w = new Worker(code, { eval: true, workerData: { store: STORE, buffer, engine, id, names: NAMES } });
  return new Promise((resolve, reject) => {
    w.on('message', resolve);
    w.on('error', reject);
  });
}

for (const engine of ENGINES) {
  describe(`namespace creation across threads and processes [${engine} engine]`, () => {
    let name;
    beforeEach(() => { name = uniqueName('nsproc'); });
    afterEach(() => removeShm(name));

    it('creators in processes and threads of both engines create the same names: exactly one id per name', async () => {
      const s = Store.create({ name, size: 1 << 23, buckets: 1024, maxNamespaces: 300, engine });
      try {
        const procs = [engine, other(engine)].map((e, id) =>
          runNode(ACTOR, [JSON.stringify({ role: 'creator', name, engine: e, id, names: NAMES })]));
        const threads = [engine, other(engine)].map((e, k) => threadCreator(s.buffer, e, 2 + k));
        for (const r of await Promise.all(procs)) {
          assert.strictEqual(r.code, 0, r.stderr);
          assert.strictEqual(Number(r.stdout), NAMES);
        }
        for (const n of await Promise.all(threads)) assert.strictEqual(n, NAMES);
        // One namespace per name, each holding every creator's key: a second id for a name would
        // show as a repeated name, or as a namespace missing some creator's key.
        const names = s.namespaces();
        assert.strictEqual(names.length, NAMES);
        assert.strictEqual(new Set(names).size, NAMES);
        const o = Store.open({ name, engine: other(engine) });
        try {
          for (let i = 0; i < NAMES; i++) {
            assert.deepStrictEqual(s.keys(`ns${i}`).sort(), ['w0', 'w1', 'w2', 'w3'], `ns${i}`);
            assert.strictEqual(o.count(`ns${i}`), 4);
          }
        } finally {
          o.close();
        }
        assert.strictEqual(s.count(), 4 * NAMES);
        assert.strictEqual(s.stats().namespaces, NAMES);
        assert.deepStrictEqual(s.verify().errors, []);
      } finally {
        s.close();
      }
    });

    it('worker threads terminated at random moments while they create and drop namespaces: repair makes the store clean', async () => {
      const MAX = 64;
      const s = Store.create({ buffer: new SharedArrayBuffer(1 << 22), buckets: 256, maxNamespaces: MAX, engine });
      try {
        s.set('keep', 'k', 1);
        for (let round = 0; round < 6; round++) {
          const code = `
            const { workerData: d, parentPort } = require('worker_threads');
            const s = require(d.store).Store.attach(d.buffer, { engine: d.engine });
            parentPort.postMessage('ready');
            for (let n = 0; ; n++) {
              const ns = 'w' + d.round + '-' + (n % 40);
              s.set(ns, 'k', n);
              if (n % 3 !== 0) s.dropNamespace(ns);
            }`;
          const w = new Worker(code, { eval: true,
            workerData: { store: STORE, buffer: s.buffer, engine: round % 2 ? other(engine) : engine, round } });
          await new Promise((resolve, reject) => {
            w.once('message', resolve);
            w.once('error', reject);
          });
          await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 30)));
          await w.terminate();
          // The next operations proceed (a lock the worker held is taken over), and a repair
          // pass leaves nothing to report.
          s.set('keep', 'k', round);
          s.repair();
          assert.deepStrictEqual(s.verify().errors, []);
          assert.strictEqual(s.get('keep', 'k'), round);
          for (const n of s.namespaces()) assert.strictEqual(s.keys(n).length, s.count(n), n);
          for (const n of s.namespaces()) if (n !== 'keep') s.dropNamespace(n);
        }
        for (let i = 1; i < MAX; i++) s.set(`fill-${i}`, 'k', i);
        assert.throws(() => s.set('one-too-many', 'k', 0), { code: 'ERR_TOO_MANY_NAMESPACES' });
        assert.deepStrictEqual(s.verify().errors, []);
      } finally {
        s.close();
      }
    });

    it('a process killed at a random moment while it creates and drops namespaces: repair makes the store clean and every record usable', async () => {
      const MAX = 64;
      for (let round = 0; round < 4; round++) {
        const s = Store.create({ name, size: 1 << 22, buckets: 256, maxNamespaces: MAX, engine });
        try {
          for (let i = 0; i < 5; i++) s.set('keep', `k${i}`, i);
          const actor = round % 2 ? other(engine) : engine;
          const r = await runAndKill(ACTOR, [JSON.stringify({ role: 'churn', name, engine: actor, id: round })],
            { ready: /ready/, maxDelayMs: 60 });
          assert.strictEqual(r.signal, 'SIGKILL', r.stderr);
          s.repair();
          assert.deepStrictEqual(s.verify().errors, []);
          assert.deepStrictEqual(s.keys('keep').sort(), ['k0', 'k1', 'k2', 'k3', 'k4']);
          // Every namespace left is whole and found by name; the counts agree.
          const names = s.namespaces();
          let total = 0;
          for (const n of names) {
            assert.strictEqual(s.keys(n).length, s.count(n), n);
            total += s.count(n);
          }
          assert.strictEqual(s.count(), total);
          // Exactly the records not in use can be taken, then the table is full.
          for (let i = names.length; i < MAX; i++) s.set(`fill-${i}`, 'k', i);
          assert.throws(() => s.set('one-too-many', 'k', 0), { code: 'ERR_TOO_MANY_NAMESPACES' });
          assert.strictEqual(s.namespaces().length, MAX);
          assert.deepStrictEqual(s.verify().errors, []);
        } finally {
          s.close();
          removeShm(name);
        }
      }
    });
  });
}
