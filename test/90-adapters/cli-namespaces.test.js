'use strict';
// The shmstore command line on a store of 65535 namespaces (docs/api.md CLI): inspect and stats
// list the 20 largest by bytes with a line saying so (--all: every one; --json: every one), and
// their totals and ls count every namespace.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { C } = require('../../lib/layout/layout');
const { uniqueName, removeShm } = require('../helpers/process');
const { cli } = require('../helpers/cli');
const native = require('../../lib/base/native');

const MAX = C.MAX_NAMESPACES;
const SIZE = 48 << 20;

(native.addon ? describe : describe.skip)('shmstore CLI on a store of 65535 namespaces', function () {
  this.timeout(180000);
  const name = uniqueName('clins');

  before(function () {
    const s = Store.create({ name, size: SIZE, buckets: 1 << 16, maxNamespaces: MAX });
    try {
      // big-0 .. big-24 are the largest by bytes, big-24 first; every other namespace holds one
      // small entry.
      for (let i = 0; i < 25; i++) s.set(`big-${i}`, 'v', 'x'.repeat(1000 + 100 * i));
      for (let i = 25; i < MAX; i++) s.set(`ns-${i}`, 'k', 1);
      s.stats(); // flushes this handle's byte counts into the namespace records
    } finally {
      s.close();
    }
  });
  after(() => removeShm(name));

  const rowsOf = (text) => text.split('\n').filter((l) => /^(big|ns)-\d+\s+\d+$/.test(l));

  it('inspect: 20 rows, the largest first, a note, and the count of every namespace', function () {
    const r = cli(['inspect', name]);
    assert.strictEqual(r.code, 0, r.stderr);
    const rows = rowsOf(r.stdout);
    assert.strictEqual(rows.length, 20);
    assert.deepStrictEqual(rows.map((l) => l.split(/\s+/)[0]), Array.from({ length: 20 }, (_, k) => `big-${24 - k}`));
    assert.match(r.stdout, /the 20 largest of 65535 namespaces by bytes; --all lists every one/);
    assert.match(r.stdout, /^namespaces\s+65535 of 65535$/m);
    assert.match(r.stdout, /^maxNamespaces\s+65535$/m);
    const all = cli(['inspect', name, '--all']);
    assert.strictEqual(rowsOf(all.stdout).length, MAX);
    assert.doesNotMatch(all.stdout, /--all lists/);
    const j = JSON.parse(cli(['inspect', name, '--json']).stdout);
    assert.strictEqual(j.namespaces.length, MAX);
    assert.strictEqual(j.header.maxNamespaces, MAX);
  });

  it('stats: the same bound, the totals of every namespace', function () {
    const r = cli(['stats', name]);
    assert.strictEqual(r.code, 0, r.stderr);
    assert.match(r.stdout, /^namespaces\s+65535$/m);
    assert.match(r.stdout, /^maxNamespaces\s+65535$/m);
    assert.strictEqual(rowsOf(r.stdout).length, 20);
    assert.strictEqual(rowsOf(cli(['stats', name, '--all']).stdout).length, MAX);
    const j = JSON.parse(cli(['stats', name, '--json']).stdout);
    assert.strictEqual(Object.keys(j.namespaceCounts).length, MAX);
  });

  it('ls counts the namespaces', function () {
    const row = JSON.parse(cli(['ls', '--json']).stdout).find((x) => x.name === name);
    assert.deepStrictEqual(row, { name, size: SIZE, kind: 'store', entries: MAX, namespaces: MAX });
  });
});
