'use strict';
// Persistence paths the OS refuses or that are not files (docs/api.md, Errors): a ShmError with
// the code of the cause and its errno, never a raw file system error; a FIFO, given or met in a
// persistence directory, is never read (a read would block for ever).
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { Store, ShmError, persist } = require('../../index');
const native = require('../../lib/base/native');
const { uniqueName, removeShm } = require('../helpers/process');

(native.addon ? describe : describe.skip)('Persistence: paths that are refused', () => {
  let dir;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-paths-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const refused = (fn, code, errno) => assert.throws(fn, (e) => e instanceof ShmError && e.code === code &&
    (errno === undefined || e.errno === errno) && /^persist: /.test(e.message));

  it('a persistence directory that is a file, or whose name is too long: ERR_INVALID_ARG with the errno; nothing created', () => {
    const file = path.join(dir, 'plain-file');
    fs.writeFileSync(file, 'x');
    const name = uniqueName('paths');
    try {
      refused(() => Store.create({ name, size: 1 << 20, persist: { dir: file } }), 'ERR_INVALID_ARG', os.constants.errno.EEXIST);
      refused(() => Store.create({ name, size: 1 << 20, persist: { dir: path.join(dir, 'x'.repeat(300)) } }), 'ERR_INVALID_ARG', os.constants.errno.ENAMETOOLONG);
      refused(() => Store.open({ name, persist: { dir: path.join(file, 'below') } }), 'ERR_SHM_NOT_FOUND');
      assert.throws(() => require('../../index').Segment.open({ name }), { code: 'ERR_SHM_NOT_FOUND' });
    } finally {
      removeShm(name);
    }
  });

  it('a create refused after it made the persistence directory takes the directories it made away again', () => {
    const name = uniqueName('paths');
    const other = Store.create({ name, size: 1 << 20 }); // the segment exists: the create is refused
    try {
      const made = path.join(dir, 'new', 'deeper');
      assert.throws(() => Store.create({ name, size: 1 << 20, persist: { dir: made } }), { code: 'ERR_SHM_EXISTS' });
      assert.strictEqual(fs.existsSync(path.join(dir, 'new')), false);
      // A directory that was there before stays, and so does what another party put in one.
      fs.mkdirSync(path.join(dir, 'kept'));
      assert.throws(() => Store.create({ name, size: 1 << 20, persist: { dir: path.join(dir, 'kept') } }), { code: 'ERR_SHM_EXISTS' });
      assert.strictEqual(fs.existsSync(path.join(dir, 'kept')), true);
      const file = path.join(dir, 'plain-file');
      fs.writeFileSync(file, 'x');
      assert.throws(() => Store.create({ name: uniqueName('paths'), size: 1 << 20, persist: { dir: file } }),
        (e) => e.code === 'ERR_INVALID_ARG' && /exists and is not a directory/.test(e.message));
    } finally {
      other.close();
      removeShm(name);
    }
  });

  it('a directory to make under /proc (whose mkdir says ENOENT of parents that exist) is refused at once, not retried for ever', () => {
    // In a child with a deadline: Node's own recursive mkdir retried such a path without end, and a
    // synchronous call that never returns would hang the test run instead of failing it.
    const t = { name: uniqueName('paths'), dir: path.join(dir, 'p'), backup: path.join(dir, 'b') };
    const script = `
      const { Store } = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
      const t = ${JSON.stringify(t)};
      const codes = [];
      const attempt = (f) => { try { f(); codes.push('no error'); } catch (e) { codes.push(e.name + ' ' + e.code + ' ' + (e.message.startsWith('persist: ') && e.message.includes("mkdir '/proc/"))); } };
      attempt(() => Store.create({ name: t.name, size: 1 << 20, persist: { dir: '/proc/self/shmstore-test/deeper' } }));
      attempt(() => Store.create({ name: t.name, size: 1 << 20, persist: { dir: '/proc/shmstore-test' } }));
      const s = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'none' } });
      s.set('n', 'k', 1);
      attempt(() => s.backup('/proc/self/shmstore-test'));
      s.backup(t.backup);
      s.close();
      attempt(() => Store.restore(t.backup, { name: t.name + '-r', dir: '/proc/self/shmstore-test' }));
      console.log(JSON.stringify(codes));`;
    try {
      const out = execFileSync(process.execPath, ['-e', script], { timeout: 20000, encoding: 'utf8' });
      assert.deepStrictEqual(JSON.parse(out), Array(4).fill('ShmError ERR_SHM_NOT_FOUND true'));
    } finally {
      removeShm(t.name);
      removeShm(`${t.name}-r`);
    }
  });

  it('persist.inspect of a FIFO is refused, and a FIFO named like a log in a directory is reported, not read', () => {
    const fifo = path.join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    refused(() => persist.inspect(fifo), 'ERR_INVALID_ARG');
    const logDir = path.join(dir, 'logs');
    fs.mkdirSync(logDir);
    execFileSync('mkfifo', [path.join(logDir, 'wal-0000000000000000.log')]);
    const report = persist.inspect(logDir);
    assert.deepStrictEqual(report.files.map((f) => [f.kind, f.ok, f.error]), [['log', false, 'not a regular file']]);
  });

  it('a backup into a path that is a file: ERR_INVALID_ARG; the store goes on', () => {
    const t = { name: uniqueName('paths'), dir: path.join(dir, 'p') };
    const s = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'none' } });
    try {
      s.set('n', 'k', 1);
      const file = path.join(dir, 'plain-file');
      fs.writeFileSync(file, 'x');
      refused(() => s.backup(file), 'ERR_INVALID_ARG', os.constants.errno.EEXIST);
      s.set('n', 'k', 2);
      assert.strictEqual(s.get('n', 'k'), 2);
    } finally {
      s.close();
      removeShm(t.name);
    }
  });
});

// A persistence directory belongs to one segment (docs/format.md §16, "Files"): opening another
// store's segment with it is refused before anything is logged or checkpointed there, whatever
// the two stores hold; the directory's own store is unchanged.
(native.addon ? describe : describe.skip)('Persistence: a directory opened with another store', () => {
  let dir;
  const names = [];
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-owner-')); });
  afterEach(() => {
    for (const n of names.splice(0)) removeShm(n);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const named = (tag) => {
    const n = uniqueName(tag);
    names.push(n);
    return n;
  };

  it('another segment of the same geometry, or of another, is refused; the directory keeps its store', () => {
    const a = named('own-a');
    const pdir = path.join(dir, 'a');
    const sa = Store.create({ name: a, size: 1 << 22, persist: { dir: pdir, sync: 'always' } });
    sa.set('ns', 'a-key', 1);
    for (const size of [1 << 22, 1 << 21]) {
      const b = named('own-b');
      const sb = Store.create({ name: b, size });
      sb.set('bns', 'b-key', 2);
      sb.close();
      assert.throws(() => Store.open({ name: b, persist: { dir: pdir } }), (e) => e.code === 'ERR_INVALID_ARG' && e.message.includes(a));
    }
    sa.close();
    removeShm(a); // a reboot: the store is rebuilt from its directory
    const again = Store.open({ name: a, persist: { dir: pdir } });
    assert.deepStrictEqual(again.namespaces(), ['ns']);
    assert.strictEqual(again.get('ns', 'a-key'), 1);
    again.close();
  });

  it('a directory without the segment file (an older version) is taken by its first open, which writes it', () => {
    const a = named('own-old');
    const pdir = path.join(dir, 'old');
    Store.create({ name: a, size: 1 << 22, persist: { dir: pdir, sync: 'none' } }).close();
    fs.rmSync(path.join(pdir, 'segment'));
    Store.open({ name: a, persist: { dir: pdir } }).close();
    assert.strictEqual(fs.readFileSync(path.join(pdir, 'segment'), 'utf8'), `name:${a}\n`);
  });
});

// A FIFO (or device) named like a log, a snapshot or a backup's manifest is never opened for
// reading (an open would block until a writer came): ERR_PERSIST_CORRUPT. Run in a child process
// with a time limit, so that a regression is a failure, not a hung test run.
(native.addon ? describe : describe.skip)('Persistence: a FIFO among the files', function () {
  this.timeout(60000);
  const { spawnSync } = require('child_process');
  let dir;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-fifo-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function inChild(code) {
    const r = spawnSync(process.execPath, ['-e', code], { timeout: 20000, encoding: 'utf8', cwd: path.join(__dirname, '..', '..') });
    assert.strictEqual(r.signal, null, `the child was killed (${r.signal}): it blocked`);
    return r.stdout.trim();
  }

  it('a log file that is a FIFO: the rebuild refuses it; a manifest that is a FIFO: restore refuses it', () => {
    const name = uniqueName('fifo');
    const pdir = path.join(dir, 'p');
    const bdir = path.join(dir, 'b');
    try {
      const s = Store.create({ name, size: 1 << 22, persist: { dir: pdir, sync: 'none' } });
      s.set('n', 'k', 1);
      s.backup(bdir);
      s.close();
      removeShm(name); // a reboot: the next open rebuilds from the directory
      const log = fs.readdirSync(pdir).find((f) => f.startsWith('wal-'));
      fs.rmSync(path.join(pdir, log));
      execFileSync('mkfifo', [path.join(pdir, log)]);
      const manifest = path.join(bdir, 'manifest.json');
      fs.rmSync(manifest);
      execFileSync('mkfifo', [manifest]);
      const out = inChild(`
        const { Store } = require('./index');
        for (const f of [() => Store.open({ name: ${JSON.stringify(name)}, persist: { dir: ${JSON.stringify(pdir)} } }),
                         () => Store.restore(${JSON.stringify(bdir)}, { name: ${JSON.stringify(`${name}-r`)}, dir: ${JSON.stringify(path.join(dir, 'r'))} })]) {
          try { f(); console.log('opened'); } catch (e) { console.log(e.code); }
        }`);
      assert.deepStrictEqual(out.split('\n'), ['ERR_PERSIST_CORRUPT', 'ERR_PERSIST_CORRUPT']);
    } finally {
      removeShm(name);
      removeShm(`${name}-r`);
    }
  });
});
