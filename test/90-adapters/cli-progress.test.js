'use strict';
// Progress lines of dump, load and verify (docs/api.md, CLI): drawn on stderr only when it is a
// terminal (a pseudo-terminal from script(1) here), erased at the end, never mixed into stdout;
// with stderr not a terminal, stdout and stderr are what they were without progress.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { Store } = require('../../index');
const native = require('../../lib/base/native');
const { uniqueName, tempDir, removeShm } = require('../helpers/process');
const { W } = require('../../lib/layout/layout');
const { BIN, cli } = require('../helpers/cli');
const { entryWord, chain } = require('../helpers/store-bytes');

const ERASE = '\r\x1b[K';
const N = 500;

/** Runs `shmstore <args> <shellTail>` under a pseudo-terminal; { code, tty } (what it showed). */
function onTerminal(args, shellTail = '') {
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ') + shellTail;
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 60000 });
  return { code: r.status, tty: r.stdout };
}

(native.addon ? describe : describe.skip)('shmstore CLI: progress on a terminal', function () {
  let name;
  let copy;
  let tmp;
  beforeEach(function () {
    name = uniqueName('cliprog');
    copy = uniqueName('cliprog2');
    tmp = tempDir();
    const s = Store.create({ name, size: 1 << 22 });
    for (let i = 0; i < N; i++) s.set(i % 2 ? 'a' : 'b', `k${i}`, `value ${i}`);
    s.close();
    Store.create({ name: copy, size: 1 << 22 }).close();
  });
  afterEach(function () {
    removeShm(name);
    removeShm(copy);
    tmp.cleanup();
  });

  it('dump: a bar with an ETA on the terminal, the same lines on stdout as without it', function () {
    const plain = cli(['dump', name]);
    assert.strictEqual(plain.code, 0);
    assert.strictEqual(plain.stderr, '');
    const file = path.join(tmp.dir, 'dump.jsonl');
    const t = onTerminal(['dump', name], ` > '${file}'`);
    assert.strictEqual(t.code, 0, t.tty);
    assert.strictEqual(fs.readFileSync(file, 'utf8'), plain.stdout);
    assert.match(t.tty, new RegExp(`^\\r\\x1b\\[Kdump \\[-{24}\\]   0% 0/${N} entries ETA \\?`));
    assert.ok(t.tty.includes(`dump [${'#'.repeat(24)}] 100% ${N}/${N} entries ETA 0:00`), JSON.stringify(t.tty));
    assert.ok(t.tty.endsWith(ERASE), JSON.stringify(t.tty.slice(-30)));
    // stdout on the terminal too: the lines show the progress, no bar is drawn.
    const both = onTerminal(['dump', name, 'a']);
    assert.strictEqual(both.code, 0);
    assert.ok(!both.tty.includes('dump ['), JSON.stringify(both.tty.slice(0, 80)));
    assert.strictEqual(both.tty.replace(/\r\n/g, '\n'), cli(['dump', name, 'a']).stdout);
  });

  it('load: bytes of a file with an ETA, or the bytes read from a pipe; the same result line', function () {
    const file = path.join(tmp.dir, 'dump.jsonl');
    fs.writeFileSync(file, cli(['dump', name]).stdout);
    const bytes = fs.statSync(file).size;
    const plain = cli(['load', copy], { input: fs.readFileSync(file) });
    assert.strictEqual(plain.code, 0);
    assert.strictEqual(plain.stderr, '');
    assert.strictEqual(plain.stdout, `loaded ${N} entries (0 expired, not loaded; 2 namespace settings)\n`);

    const t = onTerminal(['load', copy], ` < '${file}'`);
    assert.strictEqual(t.code, 0, t.tty);
    assert.ok(t.tty.includes(`load [${'#'.repeat(24)}] 100% ${bytes}/${bytes} bytes ETA 0:00`), JSON.stringify(t.tty));
    assert.ok(t.tty.endsWith(ERASE + plain.stdout.replace('\n', '\r\n')), JSON.stringify(t.tty.slice(-120)));

    const piped = spawnSync('script', ['-qec', `cat '${file}' | '${process.execPath}' '${BIN}' load '${copy}'`, '/dev/null'], { encoding: 'utf8', timeout: 60000 });
    assert.strictEqual(piped.status, 0, piped.stdout);
    assert.match(piped.stdout, new RegExp(`load: ${bytes} bytes, \\d+:\\d\\d\\r\\x1b\\[Kloaded ${N} entries`));
  });

  it('verify: the elapsed time while it runs, then the same report and exit code', function () {
    const plain = cli(['verify', name]);
    assert.strictEqual(plain.code, 0);
    assert.strictEqual(plain.stderr, '');
    const t = onTerminal(['verify', name]);
    assert.strictEqual(t.code, 0, t.tty);
    assert.match(t.tty, new RegExp(`^\\r\\x1b\\[Kverify store '${name}': 0:00`));
    const report = t.tty.slice(t.tty.lastIndexOf(ERASE) + ERASE.length);
    assert.strictEqual(report.replace(/\r\n/g, '\n'), plain.stdout);
    // A damaged store (a cycle in a chain): the same problems listed and exit 2 on a terminal.
    const file = path.join(tmp.dir, 'store.shm');
    const s = Store.create({ path: file, size: 1 << 20, buckets: 1 });
    for (const k of ['x', 'y', 'z']) s.set('a', k, k);
    s.close();
    const bytes = fs.readFileSync(file);
    const u32 = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / Uint32Array.BYTES_PER_ELEMENT);
    const units = chain(u32, 0);
    const last = units[units.length - 1];
    u32[entryWord(last, W.ENTRY.NEXT)] = units[0]; // a cycle
    fs.writeFileSync(file, bytes);
    const damaged = cli(['verify', file]);
    assert.strictEqual(damaged.code, 2);
    const d = onTerminal(['verify', file]);
    assert.strictEqual(d.code, 2, d.tty);
    assert.strictEqual(d.tty.slice(d.tty.lastIndexOf(ERASE) + ERASE.length).replace(/\r\n/g, '\n'), damaged.stdout);
    const missing = onTerminal(['verify', `${name}-none`]);
    assert.strictEqual(missing.code, 1);
    assert.match(missing.tty.slice(missing.tty.lastIndexOf(ERASE) + ERASE.length), /^shmstore: .*\(ERR_SHM_NOT_FOUND\)\r\n$/);
  });
});
