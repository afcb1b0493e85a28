'use strict';
// `shmstore ls` on paths that are no regular file (a FIFO is listed with why, never skipped nor
// opened) and `shmstore keys` on keys that would not fit a line as they are (docs/api.md, CLI).
const assert = require('assert');
const fs = require('fs');
const net = require('net');
const path = require('path');
const { spawnSync } = require('child_process');
const { Store } = require('../../lib/store/store');
const { uniqueName, tempDir, removeShm } = require('../helpers/process');
const { cli } = require('../helpers/cli');

const FIFO_KIND = 'unreadable (ERR_INVALID_ARG: a FIFO, not a regular file)';

describe('shmstore CLI: ls of special files, keys that need quoting', function () {
  let tmp;
  let name;

  beforeEach(function () {
    tmp = tempDir();
    name = uniqueName('cli-keys');
  });
  afterEach(function () {
    removeShm(name);
    tmp.cleanup();
  });

  describe('ls', function () {
    let fifo;
    beforeEach(function () {
      fifo = path.join(tmp.dir, 'pipe');
      spawnSync('mkfifo', [fifo]);
      assert.ok(fs.statSync(fifo).isFIFO());
      Store.create({ path: path.join(tmp.dir, 'store.shm'), size: 1 << 20 }).close();
      fs.mkdirSync(path.join(tmp.dir, 'sub'));
    });

    it('lists a FIFO in a folder with why it is no segment, beside the files; a subfolder is not listed', function () {
      const r = cli(['ls', tmp.dir, '--json'], { timeout: 20000 });
      assert.strictEqual(r.code, 0, r.stderr);
      const rows = JSON.parse(r.stdout);
      assert.deepStrictEqual(rows.map((row) => [path.basename(row.name), row.kind]),
        [['pipe', FIFO_KIND], ['store.shm', 'store']]);
      assert.deepStrictEqual(rows[0], { name: fifo, size: null, kind: FIFO_KIND, entries: null, namespaces: null });
    });

    it('lists a FIFO given by its path, in the table too', function () {
      const r = cli(['ls', fifo], { timeout: 20000 });
      assert.strictEqual(r.code, 0, r.stderr);
      const lines = r.stdout.trimEnd().split('\n');
      assert.strictEqual(lines.length, 2, r.stdout);
      assert.match(lines[1], new RegExp(`^${fifo}\\s+unreadable \\(ERR_INVALID_ARG: a FIFO, not a regular file\\)$`));
    });

    it('lists a socket and a character device given by their paths', async function () {
      const sock = path.join(tmp.dir, 'sock');
      const server = net.createServer();
      await new Promise((resolve) => server.listen(sock, resolve));
      try {
        const r = cli(['ls', sock, '/dev/null', '--json'], { timeout: 20000 });
        assert.strictEqual(r.code, 0, r.stderr);
        assert.deepStrictEqual(JSON.parse(r.stdout).map((row) => row.kind), [
          'unreadable (ERR_INVALID_ARG: a socket, not a regular file)',
          'unreadable (ERR_INVALID_ARG: a character device, not a regular file)',
        ]);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });

  describe('keys', function () {
    const KEYS = ['plain', 'two\nlines', 'cr\rlf', 'tab\there', '', '"quoted"', 'ends "with" quote"', 'esc\u001b[2J',
      'del\u007f', 'sep\u2028x', 'nel\u0085x', 'c1\u009bx', 'ünïcödé 🙂', 'a\\nb'];

    beforeEach(function () {
      const s = Store.create({ name, size: 1 << 20 });
      try {
        for (const k of KEYS) s.set('ns', k, 1);
      } finally {
        s.close();
      }
    });

    it('prints one line a key, JSON-quoting those that would not read back as they are', function () {
      const r = cli(['keys', name, 'ns']);
      assert.strictEqual(r.code, 0, r.stderr);
      assert.ok(r.stdout.endsWith('\n'));
      const lines = r.stdout.slice(0, -1).split('\n');
      assert.strictEqual(lines.length, KEYS.length, r.stdout);
      for (const line of lines) assert.doesNotMatch(line, /[\p{Cc}\u2028\u2029]/u, JSON.stringify(line));
      const back = lines.map((l) => (l.startsWith('"') ? JSON.parse(l) : l));
      assert.deepStrictEqual(back.sort(), [...KEYS].sort());
      // Keys that read back as they are stay as they are.
      for (const k of ['plain', 'ends "with" quote"', 'ünïcödé 🙂', 'a\\nb']) assert.ok(lines.includes(k), k);
      assert.ok(lines.includes('"two\\nlines"'));
      assert.ok(lines.includes('""'));
      assert.ok(lines.includes('"\\"quoted\\""'));
    });

    it('--prefix selects among them; --json is the array of the keys as they are', function () {
      const r = cli(['keys', name, 'ns', '--prefix', 'two']);
      assert.strictEqual(r.stdout, '"two\\nlines"\n');
      assert.deepStrictEqual(JSON.parse(cli(['keys', name, 'ns', '--json']).stdout).sort(), [...KEYS].sort());
    });
  });
});
