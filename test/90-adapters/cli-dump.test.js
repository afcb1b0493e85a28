'use strict';
// `shmstore dump` and `load` (docs/api.md, CLI): the JSON-lines format with each namespace's
// eviction policy and default TTL and each entry's absolute expiry, written by either engine
// (the native one, and the pure-JS one the CLI falls back to without the addon) and read back by
// both; entries expired by dump or load time are left out; dumps of the earlier entry-only
// format still load; a bad line stops the load naming its line, with only the lines before it
// applied.
const assert = require('assert');
const { spawnSync } = require('child_process');
const path = require('path');
const { Store } = require('../../lib/store/store');
const { uniqueName, tempDir, removeShm } = require('../helpers/process');
const { BIN, cli, assertOneLine } = require('../helpers/cli');

const SIZE = 1 << 20;
const HOUR = 3600e3;

/** Every entry of a store as { ns: { key: value } }. */
function contents(store) {
  const out = {};
  for (const ns of store.namespaces()) out[ns] = Object.fromEntries(store.entries(ns));
  return out;
}

/** The lines of a dump, parsed. */
const linesOf = (stdout) => stdout.trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l));

/** Asserts that an entry expires exactly at `at` (epoch ms), Infinity for never. */
function assertExpiry(store, ns, key, at) {
  const before = Date.now();
  const left = store.ttl(ns, key);
  const after = Date.now();
  if (at === Infinity) {
    assert.strictEqual(left, Infinity, `${ns}/${key}`);
    return;
  }
  // ttl() is `at - now` for some now in [before, after].
  assert.ok(left >= at - after && left <= at - before, `${ns}/${key}: ${left} ms left, expected expiry at ${at}`);
}

describe('shmstore CLI: dump and load', function () {
  let name;
  let tmp;
  let file;

  beforeEach(function () {
    name = uniqueName('cli-dump');
    tmp = tempDir();
    file = path.join(tmp.dir, 'store.shm');
  });
  afterEach(function () {
    removeShm(name);
    tmp.cleanup();
  });

  describe('entries without expiry', function () {
    beforeEach(function () {
      const s = Store.create({ name, size: SIZE });
      s.set('a', 'k1', 'one');
      s.set('a', 'k2', { n: 2, list: [1, 'x'] });
      s.set('a', 'other', 7);
      s.set('b', 'bin', Buffer.from([0, 1, 254, 255]));
      s.set('b', 'flag', true);
      s.close();
    });

    it('dump then load into a fresh store gives equal contents', function () {
      const dumped = cli(['dump', name]);
      assert.strictEqual(dumped.code, 0, dumped.stderr);
      const lines = linesOf(dumped.stdout);
      assert.deepStrictEqual(lines.filter((l) => !('key' in l)), [
        { ns: 'a', eviction: 'none', ttl: null }, { ns: 'b', eviction: 'none', ttl: null },
      ]);
      assert.strictEqual(lines.filter((l) => 'key' in l).length, 5);
      assert.ok(lines.some((l) => l.ns === 'b' && l.key === 'bin' && l.bytes === 'AAH+/w==' && !('expiresAt' in l)));
      assert.strictEqual(linesOf(cli(['dump', name, 'b']).stdout).length, 3);

      Store.create({ path: file, size: SIZE }).close();
      const loaded = cli(['load', file, '--json'], { input: dumped.stdout });
      assert.strictEqual(loaded.code, 0, loaded.stderr);
      assert.deepStrictEqual(JSON.parse(loaded.stdout), { loaded: 5, expired: 0, namespaces: 2 });
      const a = Store.open({ name });
      const b = Store.open({ path: file });
      try {
        assert.deepStrictEqual(contents(b), contents(a));
      } finally {
        a.close();
        b.close();
      }
    });

    it('get --json writes the entry\'s dump line, with its expiry: load sets it back as it was', function () {
      const s = Store.open({ name });
      const before = Date.now();
      s.set('a', 'soon', 'v', { ttl: HOUR });
      const after = Date.now();
      s.close();
      const line = JSON.parse(cli(['get', name, 'a', 'soon', '--json']).stdout);
      assert.deepStrictEqual(Object.keys(line), ['ns', 'key', 'value', 'expiresAt']);
      assert.ok(line.expiresAt >= before + HOUR && line.expiresAt <= after + HOUR, JSON.stringify(line));
      // An entry that never expires has no expiresAt, as in a dump.
      assert.deepStrictEqual(JSON.parse(cli(['get', name, 'a', 'k1', '--json']).stdout), { ns: 'a', key: 'k1', value: 'one' });
      Store.create({ path: file, size: SIZE }).close();
      const loaded = cli(['load', file], { input: JSON.stringify(line) + '\n' });
      assert.strictEqual(loaded.code, 0, loaded.stderr);
      const b = Store.open({ path: file });
      try {
        const left = b.ttl('a', 'soon');
        assert.ok(left > 0 && left <= HOUR, String(left));
      } finally {
        b.close();
      }
    });

    it('dump into a reader that stops early ends quietly', function () {
      const s = Store.open({ name });
      try {
        s.setMany('big', Array.from({ length: 3000 }, (_, i) => [`key-${i}`, 'v'.repeat(100)]));
      } finally {
        s.close();
      }
      const r = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" dump ${name} big | head -n 1`], { encoding: 'utf8' });
      assert.strictEqual(r.stdout.split('\n').filter(Boolean).length, 1);
      assert.strictEqual(r.stderr, '');
    });
  });

  describe('expiries and namespace settings', function () {
    const at = Date.now() + 2 * HOUR; // fixed for the whole test: exact expiries to compare
    let defaultLow;
    let defaultHigh;

    // A store whose default policy is 'auto', written by both engines: a namespace with a default
    // TTL, a pinned one, one that inherits the store's policy.
    beforeEach(function () {
      const js = Store.create({ path: file, size: SIZE, eviction: 'auto', engine: 'js' });
      const native = Store.open({ path: file, engine: 'native' });
      try {
        js.namespace('cache', { eviction: 'auto', ttl: HOUR });
        native.namespace('pinned', { eviction: 'none' });
        defaultLow = Date.now() + HOUR;
        js.set('cache', 'default', 'takes the namespace TTL');
        defaultHigh = Date.now() + HOUR;
        native.set('cache', 'forever', { never: true }, { ttl: Infinity });
        js.set('cache', 'bin', Buffer.from([9, 8, 7]), { expiresAt: at });
        native.set('pinned', 'memory', 'kept', { expiresAt: at + 1 });
        js.set('pinned', 'plain', 42);
        native.set('inherits', 'x', 'y', { expiresAt: at + 2 });
        js.set('inherits', 'gone', 'expired', { expiresAt: Date.now() + 1 });
      } finally {
        js.close();
        native.close();
      }
      // Wait (bounded) until that entry has expired: a dump must leave it out.
      const until = Date.now() + 5000;
      while (Date.now() <= until && Date.now() < at) {
        const s = Store.open({ path: file });
        const left = s.ttl('inherits', 'gone');
        s.close();
        if (left === undefined) break;
      }
    });

    it('both engines dump the same lines; load restores policies, TTLs and expiries', function () {
      const native = cli(['dump', file]);
      assert.strictEqual(native.code, 0, native.stderr);
      // Without the addon the CLI reads a copy of the bytes with the pure-JS engine.
      const js = cli(['dump', file], { env: { SHMSTORE_ADDON_DIR: tmp.dir } });
      assert.strictEqual(js.code, 0, js.stderr);
      const sorted = (out) => linesOf(out).map((l) => JSON.stringify(l)).sort();
      assert.deepStrictEqual(sorted(js.stdout), sorted(native.stdout));

      const lines = linesOf(native.stdout);
      const byKey = Object.fromEntries(lines.filter((l) => 'key' in l).map((l) => [`${l.ns}/${l.key}`, l]));
      assert.deepStrictEqual(Object.keys(byKey).sort(),
        ['cache/bin', 'cache/default', 'cache/forever', 'inherits/x', 'pinned/memory', 'pinned/plain']);
      assert.strictEqual(byKey['cache/bin'].expiresAt, at);
      assert.strictEqual(byKey['pinned/memory'].expiresAt, at + 1);
      assert.strictEqual(byKey['inherits/x'].expiresAt, at + 2);
      const d = byKey['cache/default'].expiresAt;
      assert.ok(d >= defaultLow && d <= defaultHigh, `${d} not in [${defaultLow}, ${defaultHigh}]`);
      assert.ok(!('expiresAt' in byKey['cache/forever']) && !('expiresAt' in byKey['pinned/plain']));
      // Each namespace's line comes before its entries; 'inherits' records the policy it had.
      const settings = lines.filter((l) => !('key' in l));
      assert.deepStrictEqual(settings.sort((x, y) => x.ns.localeCompare(y.ns)), [
        { ns: 'cache', eviction: 'clock', ttl: HOUR },
        { ns: 'inherits', eviction: 'clock', ttl: null },
        { ns: 'pinned', eviction: 'none', ttl: null },
      ]);
      for (const s of settings) {
        assert.ok(lines.indexOf(s) < lines.findIndex((l) => l.ns === s.ns && 'key' in l));
      }

      // Into a store whose default policy is 'none', through the native engine.
      const target = path.join(tmp.dir, 'target.shm');
      Store.create({ path: target, size: SIZE }).close();
      const loaded = cli(['load', target, '--json'], { input: native.stdout });
      assert.strictEqual(loaded.code, 0, loaded.stderr);
      assert.deepStrictEqual(JSON.parse(loaded.stdout), { loaded: 6, expired: 0, namespaces: 3 });
      for (const engine of ['native', 'js']) {
        const src = Store.open({ path: file, engine });
        const dst = Store.open({ path: target, engine });
        try {
          assert.deepStrictEqual(contents(dst), contents(src));
          assertExpiry(dst, 'cache', 'bin', at);
          assertExpiry(dst, 'pinned', 'memory', at + 1);
          assertExpiry(dst, 'inherits', 'x', at + 2);
          assertExpiry(dst, 'cache', 'default', d);
          // No expiry in the dump: none after the load, even under the namespace's default TTL.
          assertExpiry(dst, 'cache', 'forever', Infinity);
          assertExpiry(dst, 'pinned', 'plain', Infinity);
          const ns = dst.stats().namespaceStats;
          assert.deepStrictEqual([ns.cache.eviction, ns.cache.ttl], ['clock', HOUR]);
          assert.deepStrictEqual([ns.pinned.eviction, ns.pinned.ttl], ['none', Infinity]);
          assert.deepStrictEqual([ns.inherits.eviction, ns.inherits.ttl], ['clock', Infinity]);
          assert.strictEqual(dst.stats().eviction, 'none');
        } finally {
          src.close();
          dst.close();
        }
      }
      assert.strictEqual(cli(['verify', target]).code, 0);
    });

    it('an entry whose expiry has passed by load time is not loaded', function () {
      const past = Date.now() - 1;
      const input = [
        JSON.stringify({ ns: 'c', eviction: 'auto', ttl: null }),
        JSON.stringify({ ns: 'c', key: 'stale', value: 'old', expiresAt: past }),
        JSON.stringify({ ns: 'c', key: 'stale-bytes', bytes: 'AQ==', expiresAt: 1 }),
        JSON.stringify({ ns: 'c', key: 'fresh', value: 'new', expiresAt: at }),
        '',
      ].join('\n');
      Store.create({ name, size: SIZE }).close();
      const r = cli(['load', name], { input });
      assert.strictEqual(r.code, 0, r.stderr);
      assert.strictEqual(r.stdout, 'loaded 1 entries (2 expired, not loaded; 1 namespace settings)\n');
      const s = Store.open({ name, engine: 'js' });
      try {
        assert.deepStrictEqual(s.keys('c'), ['fresh']);
        assert.strictEqual(s.count('c'), 1);
        assertExpiry(s, 'c', 'fresh', at);
      } finally {
        s.close();
      }
    });
  });

  it('load with a directory as stdin fails (exit 1, one line) instead of loading nothing as a success', function () {
    Store.create({ name, size: SIZE }).close();
    const fs = require('fs');
    const t = tempDir();
    const fd = fs.openSync(t.dir, 'r');
    try {
      const r = spawnSync(process.execPath, [BIN, 'load', name], { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8', timeout: 60000 });
      assertOneLine({ code: r.status, stdout: r.stdout, stderr: r.stderr }, 1, /stdin is a directory/);
    } finally {
      fs.closeSync(fd);
      t.cleanup();
    }
  });

  it('a dump of the earlier format (entries only, no expiry) loads as it did', function () {
    const s = Store.create({ name, size: SIZE });
    s.namespace('a', { ttl: HOUR });
    s.close();
    const input = '{"ns":"a","key":"k1","value":"one"}\n{"ns":"a","key":"k2","value":{"n":2}}\n' +
      '\n{"ns":"b","key":"bin","bytes":"AAH+/w=="}\n';
    const r = cli(['load', name, '--json'], { input });
    assert.strictEqual(r.code, 0, r.stderr);
    assert.deepStrictEqual(JSON.parse(r.stdout), { loaded: 3, expired: 0, namespaces: 0 });
    const t = Store.open({ name });
    try {
      assert.deepStrictEqual(contents(t), { a: { k1: 'one', k2: { n: 2 } }, b: { bin: Buffer.from([0, 1, 254, 255]) } });
      // The namespace keeps its settings; the loaded entries have no expiry, as in the dump.
      assertExpiry(t, 'a', 'k1', Infinity);
      assert.strictEqual(t.stats().namespaceStats.a.ttl, HOUR);
    } finally {
      t.close();
    }
  });

  describe('a bad line', function () {
    const good = '{"ns":"a","eviction":"auto","ttl":5000}\n{"ns":"a","key":"x","value":1}\n';
    const bad = [
      ['not json', /stdin line 3: not JSON/],
      ['[1,2]', /stdin line 3: expected an entry/],
      ['{"ns":"z"}', /stdin line 3: expected an entry/],
      ['{"ns":"z","key":"k","value":1,"bytes":"AQ=="}', /stdin line 3: expected an entry/],
      ['{"ns":"z","key":"k","value":1,"bytes":12345}', /stdin line 3: expected an entry/],
      ['{"ns":"z","key":"k","value":1,"bytes":null}', /stdin line 3: expected an entry/],
      ['{"ns":"z","key":"k","bytes":12345}', /stdin line 3: expected an entry/],
      ['{"ns":"z","key":"k","value":1,"expiresat":5}', /stdin line 3: .*unknown field "expiresat"/],
      ['{"ns":"z","key":"k","value":1,"expiresAt":"soon"}', /stdin line 3: "expiresAt" must be milliseconds/],
      ['{"ns":"z","key":"k","value":1,"expiresAt":-5}', /stdin line 3: "expiresAt" must be milliseconds/],
      ['{"ns":"z","key":"k","value":1,"expiresAt":1.5}', /stdin line 3: "expiresAt" must be milliseconds/],
      ['{"ns":"z","eviction":"lru"}', /stdin line 3: .*"options.eviction".*'none', 'auto', 'clock'/],
      ['{"ns":"z","eviction":3}', /stdin line 3: "eviction" must be a policy name/],
      ['{"ns":"z","ttl":0}', /stdin line 3: "ttl" must be milliseconds > 0 or null/],
      ['{"ns":"z","ttl":5,"pinned":true}', /stdin line 3: .*unknown field "pinned"/],
      [JSON.stringify({ ns: 'z', key: 'k'.repeat(1025), value: 1 }), /stdin line 3: .*ERR_KEY_TOO_LONG/],
      [JSON.stringify({ ns: 'z'.repeat(300), key: 'k', value: 1 }), /stdin line 3: /],
      // Buffer.from(text, 'base64') would skip the junk and load other bytes.
      ['{"ns":"z","key":"k","bytes":"AQ!!=="}', /stdin line 3: "bytes" must be base64/],
      ['{"ns":"z","key":"k","bytes":"A Q=="}', /stdin line 3: "bytes" must be base64/],
      ['{"ns":"z","key":"k","bytes":"AQ==AQ=="}', /stdin line 3: "bytes" must be base64/],
      ['{"ns":"z","key":"k","bytes":"A"}', /stdin line 3: "bytes" must be base64/],
      // Deeper than JSON.stringify's stack: the store's RangeError, with its code.
      [`{"ns":"z","key":"k","value":${'['.repeat(100000)}1${']'.repeat(100000)}}`,
        /stdin line 3: The "value" argument cannot be represented as JSON: .* \(ERR_INVALID_ARG\)$/],
    ];

    it('a store found damaged while a line is applied exits 2 (a damaged store), as any command does, with the line number', function () {
      // The engine's refusal of a damaged chain, made by hand: Store#set throws it.
      Store.create({ name, size: SIZE }).close();
      const script = `
        const [root, name] = process.argv.slice(1);
        const { ShmError } = require(root + '/lib/base/errors');
        const { Store } = require(root + '/lib/store/store');
        Store.prototype.set = function () { throw new ShmError('ERR_CORRUPT', 'set: bucket 3 is corrupt'); };
        require(root + '/lib/adapters/cli/main').main(['load', name]).then((code) => { process.exitCode = code; });`;
      const r = spawnSync(process.execPath, ['-e', script, path.join(__dirname, '..', '..'), name],
        { input: '{"ns":"a","key":"x","value":1}\n', encoding: 'utf8' });
      assertOneLine({ code: r.status, stdout: r.stdout, stderr: r.stderr }, 2, /damaged store or not a store: stdin line 1: set: bucket 3 is corrupt \(ERR_CORRUPT\)$/);
    });

    it('stops the load with its line number; only the lines before it are applied', function () {
      for (const [line, re] of bad) {
        removeShm(name);
        Store.create({ name, size: SIZE }).close();
        const input = `${good}${line}\n{"ns":"a","key":"after","value":2}\n`;
        assertOneLine(cli(['load', name], { input }), 1, re);
        const s = Store.open({ name });
        try {
          assert.deepStrictEqual(s.namespaces(), ['a'], line);
          assert.deepStrictEqual(s.keys('a'), ['x'], line);
          const a = s.stats().namespaceStats.a;
          assert.deepStrictEqual([a.eviction, a.ttl], ['clock', 5000], line);
          assert.strictEqual(s.verify().ok, true);
        } finally {
          s.close();
        }
      }
    });
  });
});
