'use strict';
// The shmstore command line (bin/shmstore.js, docs/api.md CLI), run as a child process on stores
// made by the tests: each command's output and exit code, --json, a missing store, damaged stores
// (header bytes, a chain), the read-only fallback without the addon. dump | load: cli-dump.test.js.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { Store } = require('../../lib/store/store');
const { Registry } = require('../../lib/registry/registry');
const { AT, C, W, SIZE_CLASSES } = require('../../lib/layout/layout');
const { uniqueName, tempDir, removeShm } = require('../helpers/process');
const { BIN, cli, assertOneLine } = require('../helpers/cli');
const { entryWord, chain } = require('../helpers/store-bytes');

const SIZE = 1 << 20;

/** Fills a store with a few entries of each kind of value. */
function fill(store) {
  store.set('a', 'k1', 'one');
  store.set('a', 'k2', { n: 2, list: [1, 'x'] });
  store.set('a', 'other', 7);
  store.set('b', 'bin', Buffer.from([0, 1, 254, 255]));
  store.set('b', 'flag', true);
}

/** Rewrites the bytes of a closed file store: fn(u32) edits a Uint32Array over them. */
function editFile(file, fn) {
  const bytes = fs.readFileSync(file);
  fn(new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / Uint32Array.BYTES_PER_ELEMENT));
  fs.writeFileSync(file, bytes);
}

describe('shmstore CLI', function () {
  let name;
  let tmp;
  let file;

  beforeEach(function () {
    name = uniqueName('cli');
    tmp = tempDir();
    file = path.join(tmp.dir, 'store.shm');
  });
  afterEach(function () {
    removeShm(name);
    tmp.cleanup();
  });

  describe('help and usage', function () {
    it('--help lists every command with the <store> rule and exit codes', function () {
      const r = cli(['--help']);
      assert.strictEqual(r.code, 0);
      for (const c of ['doctor', 'stats', 'inspect', 'verify', 'repair', 'compact', 'get', 'set', 'del', 'keys', 'ls', 'dump', 'load',
        'top', 'wal', 'checkpoint', 'backup', 'restore']) {
        assert.match(r.stdout, new RegExp(`shmstore ${c}\\b`));
      }
      assert.match(r.stdout, /--path/);
      assert.match(r.stdout, /Exit codes: 0 ok, 1 .*, 2 damaged store/);
    });

    it('each command has its --help', function () {
      for (const c of ['doctor', 'stats', 'inspect', 'verify', 'repair', 'compact', 'get', 'set', 'del', 'keys', 'ls', 'dump', 'load',
        'top', 'wal', 'checkpoint', 'backup', 'restore']) {
        const r = cli([c, '--help']);
        assert.strictEqual(r.code, 0, c);
        assert.match(r.stdout, new RegExp(`^Usage: shmstore ${c}\\b`), c);
        assert.deepStrictEqual(cli(['help', c]).stdout, r.stdout);
      }
    });

    it('an unknown command, an unknown option or a missing argument is exit 1 in one line', function () {
      // Every failure line ends with its code (docs/api.md, CLI).
      assertOneLine(cli(['frobnicate']), 1, /^shmstore: unknown command 'frobnicate' \(see --help\) \(ERR_INVALID_ARG\)$/);
      assertOneLine(cli(['stats', 'x', '--frob']), 1, /unknown option --frob.* \(ERR_INVALID_ARG\)$/);
      // An argument or an option the command's usage does not name is refused, not ignored.
      assertOneLine(cli(['get', 'x', 'ns', 'k', 'extra']), 1, /get: unexpected argument 'extra'/);
      assertOneLine(cli(['dump', 'x', 'ns', 'extra']), 1, /dump: unexpected argument 'extra'/);
      // The value an option of the usage takes (`--prefix <p>`, `--dir <dir>`, `--max-bytes n`) is
      // not an argument: one argument more than the command takes is refused all the same.
      assertOneLine(cli(['keys', 'x', 'ns', 'extra']), 1, /keys: unexpected argument 'extra'/);
      assertOneLine(cli(['set', 'x', 'ns', 'k', 'v', 'extra']), 1, /set: unexpected argument 'extra'/);
      assertOneLine(cli(['load', 'x', 'extra'], { input: '' }), 1, /load: unexpected argument 'extra'/);
      assertOneLine(cli(['compact', 'x', 'extra']), 1, /compact: unexpected argument 'extra'/);
      assertOneLine(cli(['top', 'x', 'extra', '--once']), 1, /top: unexpected argument 'extra'/);
      assertOneLine(cli(['checkpoint', 'x', 'extra', '--dir', '/tmp']), 1, /checkpoint: unexpected argument 'extra'/);
      assertOneLine(cli(['backup', 'x', '/tmp/b', 'extra', '--dir', '/tmp']), 1, /backup: unexpected argument 'extra'/);
      assertOneLine(cli(['restore', '/tmp/b', 'extra', '--name', 'x', '--dir', '/tmp']), 1, /restore: unexpected argument 'extra'/);
      assertOneLine(cli(['stats', 'x', '--interval', '10']), 1, /stats: unknown option --interval/);
      assertOneLine(cli(['get', 'x', 'ns', 'k', '--dir', '/tmp']), 1, /get: unknown option --dir/);
      assertOneLine(cli(['get', 'x', 'ns']), 1, /get needs <store> <ns> <key>/);
      assertOneLine(cli(['stats']), 1, /<store> argument is required/);
      assert.strictEqual(cli([]).code, 1);
    });
  });

  describe('doctor', function () {
    it('reports Node, the addon, /dev/shm and the prerequisites; exit 0 when all is well', function () {
      const r = cli(['doctor']);
      assert.strictEqual(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`node\\s+${process.version.replace(/\./g, '\\.')} \\(ABI ${process.versions.modules}`));
      assert.match(r.stdout, /native addon\s+loaded/);
      assert.match(r.stdout, /\/dev\/shm\s+\d/);
      assert.match(r.stdout, /cmake >= 3\.20/);
      const j = JSON.parse(cli(['doctor', '--json']).stdout);
      assert.strictEqual(j.ok, true);
      assert.strictEqual(j.abi, process.versions.modules);
      assert.strictEqual(j.addon.ok, true);
      assert.ok(j.shm.total > 0 && j.shm.free >= 0);
      assert.ok(j.prerequisites.length >= 4 && j.prerequisites.every((p) => typeof p.ok === 'boolean'));
    });

    it('exits 1 and says why when the addon is unavailable', function () {
      const r = cli(['doctor', '--json'], { env: { SHMSTORE_ADDON_DIR: tmp.dir } });
      assert.strictEqual(r.code, 1);
      const j = JSON.parse(r.stdout);
      assert.strictEqual(j.ok, false);
      assert.strictEqual(j.addon.ok, false);
      assert.strictEqual(j.addon.code, 'ERR_ADDON_MISSING');
      const human = cli(['doctor'], { env: { SHMSTORE_ADDON_DIR: tmp.dir } });
      assert.strictEqual(human.code, 1);
      assert.match(human.stdout, /native addon\s+unavailable: .*not built/);
    });

    it('an addon built for another Node ABI: --help works, doctor and the commands say why in one line', function () {
      fs.writeFileSync(path.join(tmp.dir, 'shmstore.node'), '');
      fs.writeFileSync(path.join(tmp.dir, 'abi.json'), JSON.stringify({ modules: 1, node: 'v0.0.0' }));
      const env = { SHMSTORE_ADDON_DIR: tmp.dir };
      assert.strictEqual(cli(['--help'], { env }).code, 0);
      const r = cli(['doctor', '--json'], { env });
      assert.strictEqual(r.code, 1);
      assert.strictEqual(JSON.parse(r.stdout).addon.code, 'ERR_ADDON_ABI');
      assertOneLine(cli(['stats', name], { env }), 1, /ERR_ADDON_ABI/);
    });
  });

  describe('on a shared memory store', function () {
    beforeEach(function () {
      const s = Store.create({ name, size: SIZE });
      fill(s);
      s.close();
    });

    it('stats prints an aligned table, --json the stats() object', function () {
      const r = cli(['stats', name]);
      assert.strictEqual(r.code, 0, r.stderr);
      assert.match(r.stdout, /^entries\s+5$/m);
      assert.match(r.stdout, /^namespace\s+entries$/m);
      assert.match(r.stdout, /^a\s+3$/m);
      const j = JSON.parse(cli(['stats', name, '--json']).stdout);
      assert.strictEqual(j.entries, 5);
      assert.deepStrictEqual(j.namespaceCounts, { a: 3, b: 2 });
      assert.strictEqual(j.bytesTotal, SIZE);
    });

    it('inspect prints the header, the namespaces, fill and fragmentation', function () {
      const r = cli(['inspect', name]);
      assert.strictEqual(r.code, 0, r.stderr);
      assert.match(r.stdout, /^magic\s+0x[0-9a-f]+$/m);
      assert.match(r.stdout, /^grantedEntries\s+\d+$/m);
      assert.match(r.stdout, /^entries\s+5 of \d+ \(\d+\.\d%\)$/m);
      assert.match(r.stdout, /^fragmentation\s+/m);
      assert.match(r.stdout, /^largest free\s+\d+ bytes/m);
      const j = JSON.parse(cli(['inspect', name, '--json']).stdout);
      assert.ok(j.header.grantedEntries >= 5, JSON.stringify(j.header));
      assert.strictEqual(j.header.totalSize, SIZE);
      assert.deepStrictEqual(j.namespaces, [{ name: 'a', entries: 3 }, { name: 'b', entries: 2 }]);
      assert.match(j.fill.entries, /%$/);
    });

    it('verify and repair of a healthy store exit 0', function () {
      const v = cli(['verify', name]);
      assert.strictEqual(v.code, 0, v.stdout);
      assert.match(v.stdout, /^status\s+ok$/m);
      const j = JSON.parse(cli(['verify', name, '--json']).stdout);
      assert.strictEqual(j.ok, true);
      assert.strictEqual(j.entries, 5);
      assert.strictEqual(cli(['repair', name]).code, 0);
    });

    it('compact merges the free blocks a run of deletes left into one: largest free space before and after; --max-bytes, --max-ms', function () {
      const s = Store.open({ name });
      // Entries written one after another sit in adjacent blocks; deleting them leaves a run of
      // free blocks, each on the list of its class, until a pass merges them.
      // (A handle takes its blocks in refill batches of 1, 2, 4, ... PARK_REFILL and uses each
      // batch last block first: the first m entries are adjacent when m ends a batch.)
      const value = 'v'.repeat(500);
      let m = 0;
      for (let b = 1; m + b <= 200; b = Math.min(2 * b, C.PARK_REFILL)) m += b;
      for (let i = 0; i < m; i++) s.set('run', `k${i}`, value);
      // Then fill the rest, so that the untouched tail is not the largest free space.
      let fill = 0;
      try {
        for (;; fill++) s.set('fill', `f${fill}`, value);
      } catch (err) {
        assert.strictEqual(err.code, 'ERR_STORE_FULL');
      }
      for (let i = 0; i < m; i++) s.delete('run', `k${i}`);
      const before = s.stats().bytesLargestFree;
      s.close();
      const r = cli(['compact', name, '--json']);
      assert.strictEqual(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.strictEqual(j.bytesLargestFreeBefore, before);
      // The m blocks (each of the class of a key of 2 to 4 bytes and 500 value bytes) now form
      // one free block.
      const block = SIZE_CLASSES.find((u) => u * C.BLOCK_UNIT >= C.ENTRY_HEADER_SIZE + 4 + 500);
      assert.ok(m > 100);
      assert.ok(before < m * block * C.BLOCK_UNIT && j.bytesLargestFree >= m * block * C.BLOCK_UNIT, `${before} -> ${j.bytesLargestFree}`);
      assert.strictEqual(j.done, true);
      assert.ok(j.steps >= 1 && j.mergedRuns >= 1, JSON.stringify(j));
      const human = cli(['compact', name]);
      assert.strictEqual(human.code, 0);
      assert.match(human.stdout, /^largestFree\s+\d+$/m);
      assert.match(human.stdout, /^movedEntries\s+\d+$/m);
      // Bounded: --max-ms 0 is one step, --max-bytes one window of at most that much.
      const one = JSON.parse(cli(['compact', name, '--max-ms', '0', '--json']).stdout);
      assert.strictEqual(one.steps, 1);
      const bytes = JSON.parse(cli(['compact', name, '--max-bytes=4096', '--json']).stdout);
      assert.ok(bytes.steps >= 1, JSON.stringify(bytes));
      for (const bad of [['--max-bytes', '0'], ['--max-bytes', '1.5'], ['--max-bytes', 'x'], ['--max-ms', '-1'], ['--max-ms', '']]) {
        const r2 = cli(['compact', name, ...bad]);
        assert.strictEqual(r2.code, 1, bad.join(' '));
        assert.match(r2.stderr, new RegExp(bad[0]));
      }
      assert.strictEqual(cli(['compact', name, '--max-bytes']).code, 1);
      // Nothing else changed: the five entries of the store are there and it verifies clean.
      const v = JSON.parse(cli(['verify', name, '--json']).stdout);
      assert.strictEqual(v.ok, true);
      assert.strictEqual(v.entries, 5 + fill);
      assert.strictEqual(cli(['compact']).code, 1);
      assert.strictEqual(cli(['compact', 'shmstore-no-such-store']).code, 1);
    });

    it('get, set, del and keys', function () {
      assert.strictEqual(cli(['get', name, 'a', 'k1']).stdout, 'one\n');
      assert.strictEqual(cli(['get', name, 'a', 'k2']).stdout, '{"n":2,"list":[1,"x"]}\n');
      assert.strictEqual(cli(['get', name, 'b', 'bin']).stdout, '<4 bytes> 0001feff\n');
      const line = cli(['get', name, 'b', 'bin', '--json']).stdout;
      assert.strictEqual(line, `${JSON.stringify({ ns: 'b', key: 'bin', bytes: 'AAH+/w==' })}\n`, 'one JSON line, as dump writes it');
      assertOneLine(cli(['get', name, 'a', 'nope']), 1, /no key 'nope' in namespace 'a' \(ERR_NOT_FOUND\)$/);

      assert.strictEqual(cli(['set', name, 'c', 's', '42']).code, 0);
      assert.strictEqual(cli(['set', name, 'c', 'j', '{"x":[1,2]}', '--json']).code, 0);
      assertOneLine(cli(['set', name, 'c', 'bad', '{', '--json']), 1, /not JSON/);
      const s = Store.open({ name });
      try {
        assert.strictEqual(s.get('c', 's'), '42');
        assert.deepStrictEqual(s.get('c', 'j'), { x: [1, 2] });
        assert.strictEqual(s.has('c', 'bad'), false);
      } finally {
        s.close();
      }

      assert.deepStrictEqual(cli(['keys', name, 'a']).stdout.split('\n').filter(Boolean).sort(), ['k1', 'k2', 'other']);
      assert.deepStrictEqual(JSON.parse(cli(['keys', name, 'a', '--prefix', 'k', '--json']).stdout).sort(), ['k1', 'k2']);
      assert.deepStrictEqual(JSON.parse(cli(['keys', name, 'a', '--prefix=o', '--json']).stdout), ['other']);

      assert.strictEqual(cli(['del', name, 'a', 'k1']).code, 0);
      assertOneLine(cli(['del', name, 'a', 'k1']), 1, /no key 'k1'/);
      assertOneLine(cli(['get', name, 'a', 'k1']), 1, /no key 'k1'/);

      // An entry that expired and was not reclaimed yet is absent for del as for get (exit 1),
      // and del removes it. Its expiry comes by an overwrite, which sweeps nothing.
      const e = Store.open({ name });
      try {
        e.set('a', 'exp', 'v');
        const at = Date.now() + 20;
        e.set('a', 'exp', 'v', { expiresAt: at });
        while (Date.now() <= at);
        assert.strictEqual(e.count('a'), 3);
      } finally {
        e.close();
      }
      assertOneLine(cli(['del', name, 'a', 'exp']), 1, /no key 'exp'/);
      const after = Store.open({ name });
      try {
        assert.strictEqual(after.count('a'), 2, 'the expired entry was removed');
      } finally {
        after.close();
      }
    });

    it('ls lists the store with its entries among the segments of /dev/shm', function () {
      const j = JSON.parse(cli(['ls', '--json']).stdout);
      const row = j.find((x) => x.name === name);
      assert.deepStrictEqual(row, { name, size: SIZE, kind: 'store', entries: 5, namespaces: 2 });
      assert.match(cli(['ls']).stdout, new RegExp(`^${name}\\s+${SIZE}\\s+store\\s+5\\s+2$`, 'm'));
    });

    it('an output that cannot be written (a full device) is exit 1 in one line ending with its code', function () {
      const full = fs.openSync('/dev/full', 'w');
      try {
        for (const c of [['stats', name, '--json'], ['keys', name, 'a'], ['dump', name]]) {
          const r = spawnSync(process.execPath, [BIN, ...c], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8', timeout: 60000 });
          assertOneLine({ code: r.status, stdout: '', stderr: r.stderr }, 1, /^shmstore: stdout: .*ENOSPC.* \(ERR_SHM_IO\)$/);
        }
      } finally {
        fs.closeSync(full);
      }
    });
  });

  describe('on a file store', function () {
    beforeEach(function () {
      const s = Store.create({ path: file, size: SIZE });
      fill(s);
      s.close();
    });

    it('takes a path with a "/" or a bare file name with --path', function () {
      const j = JSON.parse(cli(['stats', file, '--json']).stdout);
      assert.strictEqual(j.entries, 5);
      const rel = cli(['stats', './store.shm', '--json'], { cwd: tmp.dir });
      assert.strictEqual(JSON.parse(rel.stdout).entries, 5);
      const bare = cli(['get', 'store.shm', 'a', 'k1', '--path'], { cwd: tmp.dir });
      assert.strictEqual(bare.stdout, 'one\n');
      // Without --path a bare name is a shared memory name.
      assertOneLine(cli(['stats', 'store.shm'], { cwd: tmp.dir }), 1, /ERR_SHM_NOT_FOUND/);
    });

    it('ls on a folder tells stores and registries from other files', function () {
      fs.writeFileSync(path.join(tmp.dir, 'other.bin'), Buffer.alloc(SIZE));
      const registry = Registry.create({ path: path.join(tmp.dir, 'registry'), size: 1 << 16 });
      registry.create('mutex', 'a').close();
      registry.create('bytes', 'b', { size: 8 });
      registry.close();
      const j = JSON.parse(cli(['ls', tmp.dir, '--json']).stdout);
      assert.deepStrictEqual(j.map((r) => [path.basename(r.name), r.kind, r.entries]),
        [['other.bin', 'segment', null], ['registry', 'registry', 2], ['store.shm', 'store', 5]]);
    });

    it('ls lists empty and zero-filled files as segments without waiting on each for a store creator', function () {
      // Store.open takes such a file for a store its creator is still making and waits its
      // lockTimeoutMs (1 s) for the magic: ls asked it of every file, and a folder of 70 of them
      // (raw segments, what crashed creators left) ran past the 60 s the CLI is given here.
      const dir = path.join(tmp.dir, 'raw');
      fs.mkdirSync(dir);
      for (let i = 0; i < 70; i++) fs.writeFileSync(path.join(dir, `seg-${String(i).padStart(2, '0')}`), Buffer.alloc(i % 2 ? 4096 : 0));
      const r = cli(['ls', dir, '--json']);
      assert.strictEqual(r.code, 0, r.stderr);
      const rows = JSON.parse(r.stdout);
      assert.strictEqual(rows.length, 70);
      assert.ok(rows.every((row) => row.kind === 'segment'), r.stdout);
    });

    it('without the addon the read-only commands use the pure-JS engine and writes say why not', function () {
      const env = { SHMSTORE_ADDON_DIR: tmp.dir };
      const r = cli(['stats', file, '--json'], { env });
      assert.strictEqual(r.code, 0, r.stderr);
      assert.strictEqual(JSON.parse(r.stdout).engine, 'js');
      assert.strictEqual(cli(['verify', file], { env }).code, 0);
      assert.strictEqual(cli(['get', file, 'a', 'k1'], { env }).stdout, 'one\n');
      assertOneLine(cli(['set', file, 'a', 'k1', 'x'], { env }), 1, /ERR_ADDON_MISSING/);
    });

    it('without the addon a <store> that is no regular file is refused as with it, never read until it ends', function () {
      // A FIFO has no writer (opening it to read would wait for one) and /dev/zero never ends:
      // the copy the read-only commands read must not be taken from either.
      const fifo = path.join(tmp.dir, 'fifo');
      spawnSync('mkfifo', [fifo]);
      assert.ok(fs.statSync(fifo).isFIFO());
      const env = { SHMSTORE_ADDON_DIR: tmp.dir };
      for (const target of [fifo, '/dev/zero', tmp.dir]) {
        for (const c of [['stats', target], ['get', target, 'a', 'k1']]) {
          assertOneLine(cli(c, { env, timeout: 10000 }), 1, /not a regular file \(ERR_INVALID_ARG\)$/);
        }
      }
      assertOneLine(cli(['stats', fifo]), 1, /not a regular file \(ERR_INVALID_ARG\)$/);
    });
  });

  describe('missing and damaged stores', function () {
    it('a missing store is exit 1 with one line naming ERR_SHM_NOT_FOUND', function () {
      for (const c of [['stats', name], ['inspect', name], ['verify', name], ['get', name, 'a', 'b'], ['dump', name]]) {
        assertOneLine(cli(c), 1, /ERR_SHM_NOT_FOUND/);
      }
      assertOneLine(cli(['stats', path.join(tmp.dir, 'none.shm')]), 1, /ERR_SHM_NOT_FOUND/);
    });

    it('damaged header bytes are exit 2 with one line naming the check that failed', function () {
      const cases = [
        [AT.HEADER.MAGIC, /ERR_BAD_MAGIC/],
        [AT.HEADER.VERSION, /ERR_BAD_VERSION/],
        [AT.HEADER.MAX_ENTRIES, /ERR_BAD_CHECKSUM/],
      ];
      for (const [word, re] of cases) {
        fs.rmSync(file, { force: true });
        const s = Store.create({ path: file, size: SIZE });
        fill(s);
        s.close();
        editFile(file, (u32) => { u32[word] ^= 1; });
        for (const c of ['stats', 'inspect', 'verify', 'dump']) assertOneLine(cli([c, file]), 2, re);
      }
      const j = JSON.parse(cli(['ls', tmp.dir, '--json']).stdout);
      assert.match(j[0].kind, /^damaged store \(ERR_BAD_CHECKSUM\)$/);
    });

    it('a truncated store: ls lists it as a damaged store, as verify reports it, not as a segment', function () {
      const s = Store.create({ path: file, size: SIZE });
      fill(s);
      s.close();
      fs.truncateSync(file, SIZE / 4);
      assertOneLine(cli(['verify', file]), 2, /ERR_BAD_SIZE/);
      const j = JSON.parse(cli(['ls', tmp.dir, '--json']).stdout);
      assert.deepStrictEqual(j, [{ name: file, size: SIZE / 4, kind: 'damaged store (ERR_BAD_SIZE: truncated)',
        entries: null, namespaces: null }]);
      assert.match(cli(['ls', file]).stdout, /\sdamaged store \(ERR_BAD_SIZE: truncated\)$/m);
      // A file too small for any store and a file of zeros stay plain segments.
      fs.writeFileSync(path.join(tmp.dir, 'small.bin'), Buffer.alloc(16));
      fs.writeFileSync(path.join(tmp.dir, 'zeros.bin'), Buffer.alloc(SIZE));
      const kinds = JSON.parse(cli(['ls', tmp.dir, '--json']).stdout).map((r) => [path.basename(r.name), r.kind]);
      assert.deepStrictEqual(kinds, [['small.bin', 'segment'], ['store.shm', 'damaged store (ERR_BAD_SIZE: truncated)'],
        ['zeros.bin', 'segment']]);
    });

    it('a truncated or damaged registry: ls lists it as a damaged registry, not as a segment', function () {
      const reg = path.join(tmp.dir, 'reg.shm');
      Registry.create({ path: reg, size: 1 << 20 }).close();
      let j = JSON.parse(cli(['ls', reg, '--json']).stdout);
      assert.strictEqual(j[0].kind, 'registry');
      fs.truncateSync(reg, (1 << 20) / 2);
      j = JSON.parse(cli(['ls', reg, '--json']).stdout);
      assert.strictEqual(j[0].kind, 'damaged registry (ERR_BAD_SIZE)');
      fs.truncateSync(reg, 1 << 20);
      editFile(reg, (u32) => { u32[C.REGISTRY_HEADER_OFFSET / Uint32Array.BYTES_PER_ELEMENT + W.REGISTRY_HEADER.VERSION] ^= 1; });
      j = JSON.parse(cli(['ls', reg, '--json']).stdout);
      assert.strictEqual(j[0].kind, 'damaged registry (ERR_BAD_VERSION)');
    });

    it('a corrupt chain: verify exits 2 listing the problems, repair mends it', function () {
      const s = Store.create({ path: file, size: SIZE, buckets: 1 });
      for (const k of ['k1', 'k2', 'k3']) s.set('a', k, k);
      s.close();
      editFile(file, (u32) => {
        const units = chain(u32, 0);
        assert.strictEqual(units.length, 3);
        const last = units[units.length - 1];
        u32[entryWord(last, W.ENTRY.NEXT)] = units[0]; // a cycle
      });
      const v = cli(['verify', file]);
      assert.strictEqual(v.code, 2, v.stdout + v.stderr);
      assert.match(v.stdout, /^error: bucket 0, block \d+: .*reached twice/m);
      assert.match(v.stdout, /^status\s+damaged/m);
      const j = JSON.parse(cli(['verify', file, '--json']).stdout);
      assert.strictEqual(j.ok, false);
      assert.ok(j.errors.length > 0);

      const r = cli(['repair', file]);
      assert.strictEqual(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^status\s+ok$/m);
      assert.strictEqual(cli(['verify', file]).code, 0);
      assert.deepStrictEqual(JSON.parse(cli(['keys', file, 'a', '--json']).stdout).sort(), ['k1', 'k2', 'k3']);
    });
  });
});
