'use strict';
// Large values across threads and processes (format.md §8 "Large values", §9): readers in worker
// threads and other processes, of both engines, never see a torn value while writers of both
// engines overwrite large values (whose blocks are freed and reused under them), and a writer killed with SIGKILL in the middle of large-value writes leaves a
// store that verify() finds clean after recovery, with every acknowledged write present.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Store } = require('../../lib/store/store');
const { Segment } = require('../../lib/segment/segment');
const { uniqueName, tempDir } = require('../helpers/process');
const { inProcess, inWorker: inWorkerOf, announced } = require('../helpers/actors');
const { checkLargeValue, largeSeqOf } = require('../helpers/values');

const ACTOR = path.join(__dirname, '..', 'helpers', 'children', 'large-actor.js');

// Runs the actor in a worker thread; resolves with its result.
const inWorker = (task, onMessage) => inWorkerOf(task, onMessage, ACTOR).done;

describe('large values across threads and processes', function () {
  this.timeout(120000);

  it('readers of both engines while writers of both engines overwrite large values: no torn read', async () => {
    const name = uniqueName('large');
    const store = Store.create({ name, size: 96 << 20, maxEntries: 1000 });
    try {
      const keys = 6;
      const ms = 2500;
      const started = [announced(), announced(), announced()];
      const readers = [
        inProcess({ op: 'read', engine: 'native', name, keys, ms }, started[0].onMessage, ACTOR).done,
        inProcess({ op: 'read', engine: 'js', name, keys, ms }, started[1].onMessage, ACTOR).done,
        inWorker({ op: 'read', engine: 'js', buffer: store.buffer, keys, ms }, started[2].onMessage),
      ];
      await Promise.all(started.map((a) => a.promise));
      // Each writer its own keys' values (ids differ), overwriting the same keys as the other.
      const writers = [
        inWorker({ op: 'write', id: 'wn', engine: 'native', buffer: store.buffer, keys, sets: 150 }),
        inProcess({ op: 'write', id: 'wj', engine: 'js', name, keys, sets: 150 }, undefined, ACTOR).done,
      ];
      const w = await Promise.all(writers);
      const r = await Promise.all(readers);
      for (const x of r) {
        assert.strictEqual(x.bad, 0, `a torn value: ${JSON.stringify(x)}`);
        assert.ok(x.hits > 0, JSON.stringify(x));
      }
      assert.deepStrictEqual(w.map((x) => x.writes), [150, 150]);
      const v = store.verify();
      assert.ok(v.ok, v.errors.join('\n'));
      assert.strictEqual(store.count('large'), keys);
      for (const [k, val] of store.entries('large')) assert.ok(checkLargeValue(val), k);
    } finally {
      store.close();
      Segment.unlink({ name });
    }
  });

  for (const engine of ['native', 'js']) {
    it(`a ${engine}-engine writer of large values killed with SIGKILL (while compacting, too): verify() clean after recovery, every acknowledged write present`, async () => {
      const { dir, cleanup } = tempDir();
      const name = uniqueName('largekill');
      // Small enough that the writer soon runs out of never-used space and then compacts (a
      // repair pass) whenever it needs the space its overwrites freed; large enough that some
      // free run always holds its largest value (8 live values of at most 300 KB).
      const store = Store.create({ name, size: 12 << 20, maxEntries: 1000, lockTimeoutMs: 200 });
      try {
        for (let round = 0; round < 3; round++) {
          const record = path.join(dir, `acked-${round}`);
          const a = announced();
          const { child, done } = inProcess({ op: 'writeUntilKilled', engine, name, record, keys: 8, lockTimeoutMs: 200 },
            a.onMessage, ACTOR);
          await a.promise;
          await new Promise((r) => setTimeout(r, 10 + Math.floor(Math.random() * 120)));
          child.kill('SIGKILL');
          await assert.rejects(done, /SIGKILL/);
          // Writes of every key meet a lock the child may have held, and take it back.
          for (let i = 0; i < 8; i++) store.set('other', `o${i}`, i);
          const v = store.verify();
          assert.ok(v.ok, v.errors.join('\n'));
          assert.strictEqual(v.leakedUnits, 0);
          const last = new Map();
          for (const line of fs.readFileSync(record, 'utf8').split('\n').filter(Boolean)) {
            const [k, seq] = line.split(' ');
            last.set(k, Number(seq));
          }
          assert.ok(last.size > 0);
          for (const [k, seq] of last) {
            const val = store.get('large', k);
            assert.ok(checkLargeValue(val), k);
            // The acknowledged value, or a later one whose acknowledgement the kill cut off.
            assert.ok(largeSeqOf(val) >= seq, `${k}: ${largeSeqOf(val)} < ${seq}`);
          }
          store.clear('large');
        }
      } finally {
        store.close();
        Segment.unlink({ name });
        cleanup();
      }
    });
  }
});
