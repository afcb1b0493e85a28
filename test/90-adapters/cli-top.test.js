'use strict';
// `shmstore top` (docs/api.md, CLI), run as a child process: plain lines without cursor control
// when stdout is not a terminal, JSON lines whose interval counts add up exactly to what the test
// did, the view redrawn in place on a pseudo-terminal (script(1)), a clean exit on SIGINT and on
// a closed pipe, bad options.
const assert = require('assert');
const { spawn, spawnSync } = require('child_process');
const { Store } = require('../../index');
const native = require('../../lib/base/native');
const { uniqueName, removeShm } = require('../helpers/process');
const { BIN, cli, assertOneLine } = require('../helpers/cli');

const ESC = '\x1b';
const LINE = /^\d\d:\d\d:\d\d +\d+(\.\d)? +\d+(\.\d)? +(-|\d+\.\d%) +\d+ +\d+\.\d% +\d+(\.\d)? +\d+(\.\d)?$/;

/** Starts `shmstore top` with stdout piped; lines() resolves as lines arrive; exited the code. */
function startTop(args) {
  const child = spawn(process.execPath, [BIN, 'top', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters = [];
  child.stdout.setEncoding('utf8').on('data', (s) => {
    out += s;
    for (const w of waiters.splice(0)) w();
  });
  child.stderr.setEncoding('utf8').on('data', (s) => { err += s; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const lines = () => out.split('\n').slice(0, -1);
  // Resolves once pred(lines) holds (checked on each output; the test's timeout bounds it).
  const until = (pred) => new Promise((resolve) => {
    const check = () => (pred(lines()) ? resolve(lines()) : waiters.push(check));
    check();
  });
  return { child, until, exited, stderr: () => err };
}

describe('shmstore CLI: top\'s interval counts', function () {
  it('a namespace dropped and created again between two samples counts from 0, also when it counted more since than before', function () {
    const { sample, diff } = require('../../lib/adapters/cli/top-view');
    const store = Store.create({ buffer: new SharedArrayBuffer(1 << 20) });
    try {
      store.set('n', 'k', 'v');
      for (let i = 0; i < 10; i++) store.get('n', 'k');
      const a = sample(store);
      store.dropNamespace('n');
      store.set('n', 'k', 'v');
      for (let i = 0; i < 15; i++) store.get('n', 'k');
      store.get('n', 'missing');
      const d = diff(a, sample(store));
      assert.strictEqual(d.namespaces.n.hits, 15);
      assert.strictEqual(d.namespaces.n.misses, 1);
      assert.strictEqual(d.interval.hits, 15);
    } finally {
      store.close();
    }
  });
});

(native.addon ? describe : describe.skip)('shmstore CLI: top', function () {
  let name;
  let store;
  beforeEach(function () {
    name = uniqueName('clitop');
    store = Store.create({ name, size: 1 << 20 });
    store.set('a', 'k', 'v');
    store.stats();
  });
  afterEach(function () {
    store.close();
    removeShm(name);
  });

  it('--count n prints a header and n plain lines, no cursor control, exit 0', function () {
    const r = cli(['top', name, '--count', '3', '--interval', '20']);
    assert.strictEqual(r.code, 0, r.stderr);
    assert.strictEqual(r.stderr, '');
    assert.ok(!r.stdout.includes(ESC), JSON.stringify(r.stdout));
    const [head, ...rows] = r.stdout.trimEnd().split('\n');
    assert.match(head, /^time +reads\/s +writes\/s +hit% +entries +fill +evict\/s +expire\/s$/);
    assert.strictEqual(rows.length, 3);
    // Nobody uses the store meanwhile: no lookups (hit% -), one entry.
    for (const row of rows) {
      assert.match(row, LINE);
      assert.deepStrictEqual(row.split(/ +/).slice(1), ['0', '0', '-', '1', '0.0%', '0', '0']);
    }
    const once = cli(['top', name, '--once', '--interval', '10']);
    assert.strictEqual(once.code, 0);
    assert.strictEqual(once.stdout.trimEnd().split('\n').length, 2);
  });

  it('--json: the interval counts add up exactly to the operations done; SIGINT ends it with exit 0', async function () {
    const top = startTop([name, '--json', '--interval', '30']);
    const first = await top.until((l) => l.length >= 1);
    const base = JSON.parse(first[0]).totals;
    for (let i = 0; i < 30; i++) store.set('b', `k${i}`, i);
    for (let i = 0; i < 10; i++) assert.strictEqual(store.get('b', `k${i}`), i);
    for (let i = 0; i < 4; i++) assert.strictEqual(store.get('b', `none${i}`), undefined);
    store.set('t', 'e', 1, { ttl: 1 });
    for (const t0 = Date.now(); Date.now() - t0 < 5;); // let it expire
    assert.strictEqual(store.get('t', 'e'), undefined);
    // No stats() or close() here: the open handle flushes its counts within a second by itself.
    const lines = await top.until((l) => l.some((x) => JSON.parse(x).totals.expirations > base.expirations &&
      JSON.parse(x).totals.reads === base.reads + 15));
    top.child.kill('SIGINT');
    assert.deepStrictEqual(await top.exited, { code: 0, signal: null });
    assert.strictEqual(top.stderr(), '');
    const samples = lines.map((l) => JSON.parse(l));
    const sum = (k) => samples.reduce((a, s) => a + s.interval[k], 0);
    assert.deepStrictEqual({ writes: sum('writes'), reads: sum('reads'), hits: sum('hits'), misses: sum('misses'), expirations: sum('expirations') },
      // 31 sets, and the get that found 't'/'e' expired removed it: a write too.
      { writes: 32, reads: 15, hits: 10, misses: 5, expirations: 1 });
    for (const s of samples) {
      for (const k of Object.keys(s.interval)) assert.strictEqual(s.perSecond[k], Math.round((s.interval[k] * 10000) / s.ms) / 10, k);
      const lookups = s.interval.hits + s.interval.misses;
      assert.strictEqual(s.hitRatio, lookups ? s.interval.hits / lookups : null);
    }
    const last = samples[samples.length - 1];
    assert.strictEqual(last.entries, 31);
    assert.strictEqual(last.namespaces.b.count, 30);
  });

  it('--json lists every namespace under its name, those named like Object.prototype members included', function () {
    // A namespace name is any string: '__proto__' is one like 'a', and so is a name that an
    // earlier sample did not have while Object.prototype has a member of that name.
    for (const ns of ['__proto__', 'constructor', 'toString']) store.set(ns, 'k', ns);
    store.stats();
    const r = cli(['top', name, '--json', '--count', '2', '--interval', '10']);
    assert.strictEqual(r.code, 0, r.stderr);
    const samples = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    for (const s of samples) {
      assert.deepStrictEqual(Object.keys(s.namespaces).sort(), ['__proto__', 'a', 'constructor', 'toString']);
      for (const ns of ['__proto__', 'constructor', 'toString']) {
        assert.deepStrictEqual(s.namespaces[ns], { count: 1, bytes: 1 + ns.length, hits: 0, misses: 0, evictions: 0,
          expirations: 0, hitRatio: null }, ns);
      }
    }
  });

  it('on a terminal the view is redrawn in place and the cursor restored', function () {
    const cmd = [process.execPath, BIN, 'top', name, '--count', '2', '--interval', '20'].map((a) => `'${a}'`).join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 60000 });
    assert.strictEqual(r.status, 0, r.stderr + r.stdout);
    const out = r.stdout;
    assert.ok(out.startsWith(`${ESC}[?25l${ESC}[2J`), JSON.stringify(out.slice(0, 40)));
    assert.strictEqual(out.split(`${ESC}[H`).length - 1, 2);
    assert.strictEqual(out.split(`shmstore top: store '${name}'`).length - 1, 2);
    assert.match(out, /hit ratio - \(all time -\)/);
    assert.match(out, new RegExp(`^a +1 +2 +0 +0 +- +0 +0${ESC}\\[K`, 'm'));
    assert.ok(out.trimEnd().endsWith(`${ESC}[?25h`), JSON.stringify(out.slice(-40)));
  });

  it('a reader that goes away ends it with exit 0', async function () {
    const top = startTop([name, '--interval', '10']);
    await top.until((l) => l.length >= 2);
    top.child.stdout.destroy();
    assert.deepStrictEqual(await top.exited, { code: 0, signal: null });
    assert.strictEqual(top.stderr(), '');
  });

  it('bad options and a missing store: exit 1 in one line', function () {
    assertOneLine(cli(['top', name, '--interval', '5']), 1, /--interval must be an integer from 10 to 3600000, not '5'/);
    assertOneLine(cli(['top', name, '--count', '0']), 1, /--count must be an integer from 1/);
    assertOneLine(cli(['top', name, '--count', 'x']), 1, /--count must be an integer/);
    assertOneLine(cli(['top', name, '--once', '--count', '2']), 1, /--once and --count exclude each other/);
    assertOneLine(cli(['top', `${name}-none`, '--once']), 1, /ERR_SHM_NOT_FOUND/);
  });
});
