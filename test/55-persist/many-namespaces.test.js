'use strict';
// A persisted store of thousands of namespaces with names of up to 255 bytes (format.md §5, §16):
// the log's nsLength reaches 255, recovery rebuilds a store of the same maxNamespaces from the log
// and from a snapshot, and a backup restores it, every namespace with its entries.
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Store } = require('../../index');
const native = require('../../lib/base/native');
const { ENGINES } = require('../helpers/engines');
const { persistTarget, recover, logFile } = require('../helpers/persist');
const { readLog } = require('../helpers/independent-wal-reader');
const { uniqueName, removeShm } = require('../helpers/process');

const N = 3000;
const MAX = 5000;
// Unique names of 1 to 255 UTF-8 bytes (the number first), some of 255 ending in a 2-byte character.
const nameOf = (i) => {
  const target = i === 1 ? 1 : i % 7 === 0 ? 255 : String(i).length + (i % 240);
  const s = `${i}-${'x'.repeat(300)}`.slice(0, target);
  return target === 255 && i % 2 === 0 ? `${s.slice(0, 253)}é` : s;
};

function check(s) {
  assert.strictEqual(s.stats().maxNamespaces, MAX);
  assert.strictEqual(s.namespaces().filter((n) => n !== 'after').length, N - N / 10);
  for (let i = 0; i < N; i++) {
    assert.strictEqual(s.get(nameOf(i), 'k'), i % 10 === 3 ? undefined : i, nameOf(i));
  }
  assert.deepStrictEqual(s.verify().errors, []);
}

for (const engine of ENGINES) {
  (native.addon ? describe : describe.skip)(`Persistence: thousands of namespaces [${engine} engine]`, function () {
    this.timeout(120000);
    let t;
    const open = [];
    const track = (s) => { open.push(s); return s; };
    beforeEach(() => { t = persistTarget('manyns'); });
    afterEach(() => {
      for (const s of open.splice(0)) s.close();
      t.cleanup();
    });

    const fill = () => {
      const s = track(Store.create({ name: t.name, size: 1 << 23, buckets: 1024, maxNamespaces: MAX, engine,
        persist: { dir: t.dir, sync: 'none' } }));
      for (let i = 0; i < N; i++) s.set(nameOf(i), 'k', i);
      for (let i = 3; i < N; i += 10) s.dropNamespace(nameOf(i));
      return s;
    };

    it('recovers from the log alone and from a snapshot, with the same maxNamespaces', () => {
      const names = new Set(Array.from({ length: N }, (_, i) => Buffer.byteLength(nameOf(i))));
      assert.ok(names.has(255) && names.has(1), 'names of 1 and 255 bytes');
      const s = fill();
      s.close();
      open.length = 0;
      const lengths = readLog(logFile(t.dir)).records.filter((r) => r.ns !== undefined).map((r) => Buffer.byteLength(r.ns));
      assert.strictEqual(Math.max(...lengths), 255);
      const r = track(recover(t.name, t.dir, engine));
      check(r);
      r.checkpoint();
      r.set('after', 'k', 1);
      r.close();
      open.length = 0;
      const again = track(recover(t.name, t.dir, engine));
      check(again);
      assert.strictEqual(again.get('after', 'k'), 1);
    });

    it('a backup restores every namespace', () => {
      const s = fill();
      const bdir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-backup-'));
      const name = uniqueName('manynsr');
      const rdir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-restore-'));
      fs.rmdirSync(rdir);
      try {
        s.backup(bdir);
        const restored = track(Store.restore(bdir, { name, dir: rdir, engine }));
        check(restored);
      } finally {
        for (const x of open.splice(1)) x.close();
        removeShm(name);
        fs.rmSync(bdir, { recursive: true, force: true });
        fs.rmSync(rdir, { recursive: true, force: true });
      }
    });
  });
}
