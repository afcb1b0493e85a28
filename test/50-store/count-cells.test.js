'use strict';
// The count cells (docs/format.md §5, "Count cells"): counts that are sums over the cells of
// the handles that wrote them, a grant under maxEntries that parties of both engines in threads
// and processes never pass and never lose, and unused grant given back to the header.
const assert = require('assert');
const path = require('path');
const { fork } = require('child_process');
const { Worker } = require('worker_threads');
const { Store } = require('../../lib/store/store');
const { C, W, AT } = require('../../lib/layout/layout');
const { forEachEngine, assertSoundForBoth, uniqueName } = require('../helpers/engines');
const { cellWord } = require('../helpers/store-bytes');
const { Segment } = require('../../lib/segment/segment');

const LIB = path.join(__dirname, '..', '..', 'lib', 'store', 'store.js');
const CHUNK = C.COUNT_GRANT_CHUNK;

// A party at the cap: `rounds` times either inserts a key of its own (refused only with
// ERR_STORE_FULL) or deletes one it inserted; after each, the store's count must not pass
// maxEntries. Reports { net, over, failures }. Runs as a worker thread (workerData) or as a
// child process (its last argument), on a buffer or a named store.
const PARTY = `
  const { Store } = require(${JSON.stringify(LIB)});
  const run = (t, send) => {
    const s = t.name ? Store.open({ name: t.name, engine: t.engine }) : Store.attach(t.buffer, { engine: t.engine });
    const max = s.stats().maxEntries;
    const mine = [];
    let seed = t.seed;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
    let net = 0, over = 0, failures = 0;
    for (let i = 0; i < t.rounds; i++) {
      if (mine.length === 0 || rnd() % 3 !== 0) {
        const key = 'p' + t.seed + ':' + i;
        try {
          s.set('n', key, 'v');
          mine.push(key);
          net++;
        } catch (e) {
          if (e.code !== 'ERR_STORE_FULL') failures++;
        }
      } else {
        const j = rnd() % mine.length;
        if (!s.delete('n', mine[j])) failures++;
        mine[j] = mine[mine.length - 1];
        mine.pop();
        net--;
      }
      if (s.count() > max || s.count('n') > max) over++;
    }
    s.close();
    send({ net, over, failures });
  };
  if (require('worker_threads').isMainThread) {
    run(JSON.parse(process.argv[process.argv.length - 1]), (r) => process.send(r, () => process.exit(0)));
  } else {
    const { workerData, parentPort } = require('worker_threads');
    run(workerData, (r) => parentPort.postMessage(r));
  }`;

function inThread(task) {
  return new Promise((resolve, reject) => {
    const w = new Worker(PARTY, { eval: true, workerData: task });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

function inChild(task) {
  return new Promise((resolve, reject) => {
    const c = fork('-e', [PARTY, JSON.stringify(task)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    c.once('message', resolve);
    c.once('error', reject);
    c.once('exit', (code) => code !== 0 && reject(new Error(`party exited with ${code}`)));
  });
}

// After parties of both engines ran at the cap: the counts are the sum of what they kept, and the
// store takes exactly maxEntries entries once filled from one handle (no grant lost in a cell).
function checkAfter(s, results, max, other) {
  for (const r of results) {
    assert.strictEqual(r.failures, 0);
    assert.strictEqual(r.over, 0, 'a count passed maxEntries');
  }
  const net = results.reduce((a, r) => a + r.net, 0);
  assert.strictEqual(s.count(), net);
  assert.strictEqual(s.count('n'), net);
  assertSoundForBoth(s, other);
  let added = 0;
  for (;;) {
    try {
      s.set('n', `fill:${added}`, 'v');
    } catch (e) {
      assert.strictEqual(e.code, 'ERR_STORE_FULL');
      break;
    }
    added++;
  }
  assert.strictEqual(added, max - net);
  assert.strictEqual(s.count(), max);
  assert.strictEqual(new Uint32Array(s.buffer)[AT.HEADER.GRANTED_ENTRIES], max);
  assertSoundForBoth(s, other);
}

forEachEngine('count cells', ({ engine, make, other }) => {
  it('counts are sums over the cells: an insert through one handle, its delete through another', () => {
    const a = make({ buckets: 64 });
    const b = Store.attach(a.buffer, { engine: other });
    try {
      for (let i = 0; i < 10; i++) a.set('n', `k${i}`, 'v');
      for (let i = 0; i < 4; i++) assert.strictEqual(b.delete('n', `k${i}`), true);
      assert.strictEqual(a.count('n'), 6);
      assert.strictEqual(b.count(), 6);
      // Each handle counted in its own cell: one of them holds 10 entries, another -4.
      const u32 = new Uint32Array(a.buffer);
      const entries = [];
      for (let k = 0; k < C.COUNT_CELLS; k++) entries.push(u32[cellWord(u32, k, W.COUNT_CELL.ENTRIES)] | 0);
      assert.deepStrictEqual(entries.filter((n) => n !== 0).sort((x, y) => x - y), [-4, 10]);
      assert.strictEqual(u32[AT.HEADER.GRANTED_ENTRIES], CHUNK);
      assertSoundForBoth(a, other);
    } finally {
      b.close();
    }
  });

  it('deletes give a cell\'s unused grant back to the header beyond two chunks', () => {
    const s = make({ size: 1 << 23, buckets: 1024 });
    const u32 = new Uint32Array(s.buffer);
    for (let i = 0; i < 1000; i++) s.set('n', `k${i}`, 'v');
    assert.ok(u32[AT.HEADER.GRANTED_ENTRIES] >= 1000 && u32[AT.HEADER.GRANTED_ENTRIES] < 1000 + CHUNK);
    for (let i = 0; i < 1000; i++) s.delete('n', `k${i}`);
    assert.ok(u32[AT.HEADER.GRANTED_ENTRIES] <= 2 * CHUNK, `${u32[AT.HEADER.GRANTED_ENTRIES]}`);
    assert.strictEqual(s.count(), 0);
    assert.ok(s.verify().ok);
  });

  it('a store of maxEntries below one chunk takes exactly maxEntries', () => {
    const s = make({ maxEntries: 5 });
    for (let i = 0; i < 5; i++) s.set('n', `k${i}`, 'v');
    assert.throws(() => s.set('n', 'k5', 'v'), (e) => e.code === 'ERR_STORE_FULL');
    assert.strictEqual(s.count(), 5);
    s.delete('n', 'k0');
    s.set('n', 'k5', 'v');
    assert.strictEqual(s.count(), 5);
    assert.ok(s.verify().ok);
  });

  it('worker threads of both engines at the cap never pass it and lose no grant', async function () {
    this.timeout(120000);
    const max = 300;
    // More parties than cells would be slow in threads; 8 parties, a handle each, on 8 cells.
    const s = make({ size: 1 << 23, buckets: 256, maxEntries: max });
    const tasks = Array.from({ length: 8 }, (_, i) => ({
      buffer: s.buffer, engine: i % 2 ? engine : other, seed: 1 + i, rounds: 2000,
    }));
    checkAfter(s, await Promise.all(tasks.map(inThread)), max, other);
  });

  it('processes of both engines at the cap never pass it and lose no grant', async function () {
    this.timeout(120000);
    const max = 200;
    const name = uniqueName('cells');
    const s = Store.create({ name, size: 1 << 22, buckets: 256, maxEntries: max, engine });
    try {
      const tasks = Array.from({ length: 4 }, (_, i) => ({ name, engine: i % 2 ? engine : other, seed: 11 + i, rounds: 1500 }));
      checkAfter(s, await Promise.all(tasks.map(inChild)), max, other);
    } finally {
      s.close();
      Segment.unlink({ name });
    }
  });
});
