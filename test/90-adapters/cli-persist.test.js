'use strict';
// The persistence commands of the shmstore command line (docs/api.md, CLI), run as a child
// process: `wal inspect` on good and damaged logs and snapshots, `checkpoint`, `backup` (full,
// then only what changed) and `restore`, which refuses a damaged backup creating nothing.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Store, Segment, persist, layout } = require('../../index');
const native = require('../../lib/base/native');
const { persistTarget, logFile, contents, recover, reboot } = require('../helpers/persist');
const { cli, assertOneLine } = require('../helpers/cli');

const SIZE = 1 << 22;

(native.addon ? describe : describe.skip)('shmstore CLI: wal inspect, checkpoint, backup, restore', function () {
  let t;
  let r;
  let bdir;
  beforeEach(function () {
    t = persistTarget('clip');
    r = persistTarget('clir');
    fs.rmSync(r.dir, { recursive: true });
    bdir = path.join(t.dir, '..', `${path.basename(t.dir)}-backup`);
  });
  afterEach(function () {
    t.cleanup();
    r.cleanup();
    fs.rmSync(bdir, { recursive: true, force: true });
  });

  /** A persisted store with a snapshot (3 entries) and a log after it (set, delete, clear). */
  function make() {
    const s = Store.create({ name: t.name, size: SIZE, persist: { dir: t.dir, sync: 'none', checkpointBytes: 0 } });
    s.set('a', 'x', 1);
    s.set('a', 'y', 2);
    s.set('c', 'q', 0);
    s.checkpoint();
    s.set('b', 'z', 'three');
    s.delete('a', 'x');
    s.clear('c');
    const { tail } = s.persistence;
    s.close();
    return tail;
  }

  describe('wal inspect', function () {
    it('lists the snapshot and the log with records by type; --json is persist.inspect()', function () {
      const tail = make();
      const h = cli(['wal', 'inspect', t.dir]);
      assert.strictEqual(h.code, 0, h.stderr);
      assert.strictEqual(h.stderr, '');
      const lines = h.stdout.split('\n');
      assert.match(lines.find((l) => l.startsWith('snap-')), /^snap-[0-9a-f]{16}\.snap\s+snapshot\s+ok\s+0x[0-9a-f]+\s+3\s+\d+$/);
      assert.match(lines.find((l) => /^wal-.*\blog\b/.test(l)), new RegExp(`\\bok\\s+0x[0-9a-f]+\\s+0x${tail.toString(16)}\\s+3\\s+\\d+\\s+\\d+ bytes free$`));
      assert.match(lines.find((l) => /^wal-\S+\s+\d/.test(l)), /^wal-\S+\s+1\s+1\s+1\s+0\s+0\s+0$/);
      const j = cli(['wal', 'inspect', t.dir, '--json']);
      assert.strictEqual(j.code, 0);
      assert.deepStrictEqual(JSON.parse(j.stdout), persist.inspect(t.dir));
    });

    it('reports a damaged log tail (exit 0) and a damaged snapshot or log header (exit 2), changing nothing', function () {
      const tail = make();
      const file = logFile(t.dir);
      const bytes = fs.readFileSync(file);
      const startLsn = persist.inspect(file).files[0].startLsn;
      const at = layout.C.WAL_FILE_HEADER_SIZE + (tail - startLsn);
      bytes.fill(0xee, at, at + 10);
      fs.writeFileSync(file, bytes);
      const h = cli(['wal', 'inspect', file]);
      assert.strictEqual(h.code, 0, h.stderr);
      assert.match(h.stdout, new RegExp(`\\b${bytes.length - at} bytes damaged$`, 'm'));
      assert.match(h.stdout, new RegExp(`^damaged tail: ${path.basename(file)}: ${bytes.length - at} bytes after LSN 0x${tail.toString(16)} \\(.+\\); a recovery cuts them$`, 'm'));
      assert.deepStrictEqual(fs.readFileSync(file), bytes);

      const snap = path.join(t.dir, fs.readdirSync(t.dir).find((f) => f.startsWith('snap-')));
      const sb = fs.readFileSync(snap);
      sb[sb.length - 1] ^= 1;
      fs.writeFileSync(snap, sb);
      const d = cli(['wal', 'inspect', t.dir]);
      assert.strictEqual(d.code, 2, d.stdout + d.stderr);
      assert.match(d.stdout, /^snap-\S+\s+snapshot\s+damaged\b/m);
      assert.match(d.stdout, new RegExp(`^damaged: ${path.basename(snap)}: .*damaged`, 'm'));
      assert.strictEqual(JSON.parse(cli(['wal', 'inspect', t.dir, '--json']).stdout).files[0].ok, false);

      bytes.fill(0xee, 0, 8);
      fs.writeFileSync(file, bytes);
      const l = cli(['wal', 'inspect', file]);
      assert.strictEqual(l.code, 2);
      assert.match(l.stdout, /^wal-\S+\s+log\s+damaged\b/m);
    });

    it('a missing path, a missing argument or subcommand: exit 1 in one line', function () {
      assertOneLine(cli(['wal', 'inspect', path.join(t.dir, 'nothing')]), 1, /does not exist \(ERR_SHM_NOT_FOUND\)/);
      assertOneLine(cli(['wal', 'inspect']), 1, /wal inspect needs <dir\|file>/);
      assertOneLine(cli(['wal']), 1, /wal needs a subcommand/);
      assertOneLine(cli(['wal', 'frob', t.dir]), 1, /unknown wal subcommand 'frob'/);
    });
  });

  describe('checkpoint, backup, restore', function () {
    it('checkpoint writes a snapshot; backup copies, then only what changed; restore rebuilds the store', function () {
      make();
      const c = cli(['checkpoint', t.name, '--dir', t.dir, '--json']);
      assert.strictEqual(c.code, 0, c.stderr);
      const cp = JSON.parse(c.stdout);
      assert.strictEqual(cp.records, 3); // a:y, b:z, and the settings of 'c', cleared
      const snaps = persist.inspect(t.dir).files.filter((f) => f.kind === 'snapshot');
      assert.deepStrictEqual(snaps.map((f) => [f.startLsn, f.records]), [[cp.startLsn, 3]]);
      assert.match(cli(['checkpoint', t.name, '--dir', t.dir]).stdout, /^checkpoint: 3 records, \d+ bytes, log replayed from LSN 0x[0-9a-f]+ \(\d+ ms\)\n$/);

      const b1 = cli(['backup', t.name, '--dir', t.dir, bdir, '--json']);
      assert.strictEqual(b1.code, 0, b1.stderr);
      const first = JSON.parse(b1.stdout);
      assert.strictEqual(first.bytesCopied, first.bytesTotal);
      assert.ok(fs.existsSync(path.join(bdir, 'manifest.json')));
      const s = Store.open({ name: t.name, persist: { dir: t.dir } });
      s.set('b', 'w', 'after');
      s.close();
      const b2 = cli(['backup', t.name, bdir, '--dir', t.dir]);
      assert.strictEqual(b2.code, 0, b2.stderr);
      const m = /^backup in (.+): (\d+) file\(s\), (\d+) of (\d+) bytes copied, up to LSN 0x[0-9a-f]+\n$/.exec(b2.stdout);
      assert.ok(m, b2.stdout);
      assert.strictEqual(m[1], path.resolve(bdir));
      assert.ok(Number(m[3]) < Number(m[4]) && Number(m[3]) > 0, b2.stdout);

      const o = cli(['restore', bdir, '--name', r.name, '--dir', r.dir]);
      assert.strictEqual(o.code, 0, o.stderr);
      assert.strictEqual(o.stdout, `restored ${path.resolve(bdir)} as store '${r.name}' (${path.resolve(r.dir)}): 3 entries\n`);
      const back = Store.open({ name: r.name, persist: { dir: r.dir } });
      try {
        assert.deepStrictEqual(contents(back, 'b'), [['w', 'after'], ['z', 'three']]);
        assert.deepStrictEqual(contents(back, 'a'), [['y', 2]]);
      } finally {
        back.close();
      }
      // A second restore onto the same target: refused, the restored store unchanged.
      assertOneLine(cli(['restore', bdir, '--name', r.name, '--dir', r.dir]), 1, /already holds a persisted store \(ERR_SHM_EXISTS\)/);
      // --path names a file target for restore.
      const fileTarget = path.join(bdir, '..', `${path.basename(bdir)}.shm`);
      const other = persistTarget('clio');
      try {
        const p = cli(['restore', bdir, '--path', fileTarget, '--dir', other.dir, '--json']);
        assert.strictEqual(p.code, 0, p.stderr);
        assert.strictEqual(JSON.parse(p.stdout).entries, 3);
        assert.ok(fs.existsSync(fileTarget));
      } finally {
        other.cleanup();
        fs.rmSync(fileTarget, { force: true });
      }
    });

    it('options given before the command are read as the command reads them: restore --path <file> names its target', function () {
      make();
      assert.strictEqual(cli(['--dir', t.dir, 'backup', t.name, bdir]).code, 0);
      const fileTarget = `${bdir}.shm`;
      try {
        const o = cli(['--json', 'restore', bdir, '--path', fileTarget, '--dir', r.dir]);
        assert.strictEqual(o.code, 0, o.stderr);
        assert.deepStrictEqual([JSON.parse(o.stdout).path, JSON.parse(o.stdout).entries], [fileTarget, 2]);
        const back = Store.open({ path: fileTarget, persist: { dir: r.dir } });
        try {
          assert.deepStrictEqual(contents(back, 'a'), [['y', 2]]);
        } finally {
          back.close();
        }
      } finally {
        fs.rmSync(fileTarget, { force: true });
      }
    });

    it('restore gives the segment the original\'s permissions, or those of --mode', function () {
      const s = Store.create({ name: t.name, size: SIZE, mode: 0o640, persist: { dir: t.dir, sync: 'none' } });
      s.set('a', 'x', 1);
      s.close();
      assert.strictEqual(cli(['backup', t.name, bdir, '--dir', t.dir]).code, 0);
      const modeOf = (name) => fs.statSync(`/dev/shm/${name}`).mode & 0o777;
      const o = cli(['restore', bdir, '--name', r.name, '--dir', r.dir]);
      assert.strictEqual(o.code, 0, o.stderr);
      assert.strictEqual(modeOf(r.name), 0o640);
      const other = persistTarget('clim');
      try {
        for (const bad of ['999', 'rw', '1000', '1777', '00660', '0o0660', '-1', '']) {
          assertOneLine(cli(['restore', bdir, '--name', other.name, '--dir', other.dir, '--mode', bad]), 1, /--mode takes permission bits in octal/);
        }
        assert.throws(() => Segment.open({ name: other.name }), { code: 'ERR_SHM_NOT_FOUND' });
        const m = cli(['restore', bdir, '--name', other.name, '--dir', other.dir, '--mode', '0660']);
        assert.strictEqual(m.code, 0, m.stderr);
        assert.strictEqual(modeOf(other.name), 0o660);
      } finally {
        other.cleanup();
      }
    });

    it('restore refuses a damaged or incomplete backup in one line, exit 2, creating nothing', function () {
      make();
      assert.strictEqual(cli(['backup', t.name, bdir, '--dir', t.dir]).code, 0);
      const snap = fs.readdirSync(bdir).find((f) => f.startsWith('snap-'));
      const damage = [
        ['a bit flipped in the snapshot', () => { const b = fs.readFileSync(path.join(bdir, snap)); b[b.length - 1] ^= 1; return b; }, snap],
        ['the manifest edited', () => fs.readFileSync(path.join(bdir, 'manifest.json'), 'utf8').replace('"sync"', '"synk"'), 'manifest.json'],
      ];
      for (const [what, edit, name] of damage) {
        const keep = fs.readFileSync(path.join(bdir, name));
        fs.writeFileSync(path.join(bdir, name), edit());
        const o = cli(['restore', bdir, '--name', r.name, '--dir', r.dir]);
        assertOneLine(o, 2, /damaged or incomplete: .*; nothing was restored \(ERR_PERSIST_CORRUPT\)$/);
        assert.strictEqual(o.stdout, '', what);
        assert.throws(() => Segment.open({ name: r.name }), { code: 'ERR_SHM_NOT_FOUND' }, what);
        assert.ok(!fs.existsSync(r.dir), what);
        fs.writeFileSync(path.join(bdir, name), keep);
      }
      fs.rmSync(path.join(bdir, snap));
      assertOneLine(cli(['restore', bdir, '--name', r.name, '--dir', r.dir]), 2, /ERR_PERSIST_CORRUPT/);
      assert.ok(!fs.existsSync(r.dir));
    });

    it('restore of a directory that holds no backup (empty, other files, a file) says so, exit 1, creating nothing; one holding copies without a manifest is incomplete, exit 2', function () {
      fs.mkdirSync(bdir);
      const noBackup = (what) => {
        const o = cli(['restore', bdir, '--name', r.name, '--dir', r.dir]);
        assertOneLine(o, 1, /^shmstore: persist: no backup in .*\(ERR_SHM_NOT_FOUND\)$/);
        assert.ok(o.stderr.includes(`no backup in ${path.resolve(bdir)}`), o.stderr);
        assert.strictEqual(o.stdout, '', what);
        assert.throws(() => Segment.open({ name: r.name }), { code: 'ERR_SHM_NOT_FOUND' }, what);
        assert.ok(!fs.existsSync(r.dir), what);
      };
      noBackup('an empty directory');
      fs.writeFileSync(path.join(bdir, 'notes.txt'), 'not a backup\n');
      noBackup('a directory of other files');
      fs.rmSync(bdir, { recursive: true });
      fs.writeFileSync(bdir, 'a file\n');
      noBackup('a file');
      fs.rmSync(bdir);
      // A first backup stopped before its manifest: the copies are there, the backup incomplete.
      make();
      assert.strictEqual(cli(['backup', t.name, bdir, '--dir', t.dir]).code, 0);
      fs.rmSync(path.join(bdir, 'manifest.json'));
      assertOneLine(cli(['restore', bdir, '--name', r.name, '--dir', r.dir]), 2, /damaged or incomplete: manifest\.json is missing; nothing was restored \(ERR_PERSIST_CORRUPT\)$/);
      assert.ok(!fs.existsSync(r.dir));
    });

    it('set, del and load with --dir log their writes: a recovery keeps them', function () {
      make();
      assert.strictEqual(cli(['set', t.name, 'n', 'k', '{"v":1}', '--json', '--dir', t.dir]).code, 0);
      assert.strictEqual(cli(['del', t.name, 'b', 'z', '--dir', t.dir]).code, 0);
      const l = cli(['load', t.name, '--dir', t.dir], { input: '{"ns":"n","key":"j","value":"loaded"}\n' });
      assert.strictEqual(l.code, 0, l.stderr);
      // Without --dir the write reaches the memory only: the recovery below loses it.
      assert.strictEqual(cli(['set', t.name, 'n', 'lost', 'x']).code, 0);
      const s = recover(t.name, t.dir);
      try {
        assert.deepStrictEqual(contents(s, 'n'), [['j', 'loaded'], ['k', { v: 1 }]]);
        assert.deepStrictEqual(contents(s, 'b'), []);
      } finally {
        s.close();
      }
    });

    it('usage errors and a missing store or directory: exit 1 in one line', function () {
      make();
      assertOneLine(cli(['checkpoint', t.name]), 1, /checkpoint needs --dir <dir>/);
      assertOneLine(cli(['backup', t.name, '--dir', t.dir]), 1, /backup needs <store> <backupDir>/);
      assertOneLine(cli(['restore', bdir, '--dir', r.dir]), 1, /restore needs one of --name <name> and --path <file>/);
      assertOneLine(cli(['restore', bdir, '--name', r.name, '--path', 'x', '--dir', r.dir]), 1, /restore needs one of/);
      assertOneLine(cli(['restore', bdir, '--name', r.name]), 1, /restore needs --dir <dir>/);
      assertOneLine(cli(['checkpoint', t.name, '--dir', r.dir]), 1, /ERR_SHM_NOT_FOUND/);
      assertOneLine(cli(['restore', path.join(t.dir, 'none'), '--name', r.name, '--dir', r.dir]), 1, /ERR_SHM_NOT_FOUND/);
      assert.ok(!fs.existsSync(r.dir));
    });

    it('a store whose log header is damaged: checkpoint and backup refuse in one line, exit 2', function () {
      make();
      reboot(t.name);
      const file = logFile(t.dir);
      const bytes = fs.readFileSync(file);
      bytes.fill(0xee, 0, 8);
      fs.writeFileSync(file, bytes);
      assertOneLine(cli(['checkpoint', t.name, '--dir', t.dir]), 2, /\(ERR_PERSIST_CORRUPT\)$/);
      assertOneLine(cli(['backup', t.name, bdir, '--dir', t.dir]), 2, /\(ERR_PERSIST_CORRUPT\)$/);
      assert.ok(!fs.existsSync(bdir));
      assert.strictEqual(cli(['wal', 'inspect', t.dir]).code, 2);
    });
  });
});
