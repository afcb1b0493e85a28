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
