'use strict';
// An install never strands a user (scripts/build.js, lib/base/native.js): a build that cannot be
// done names the missing package in one line; as the install script it leaves the package usable
// with the pure-JS engine and records why, which ERR_ADDON_MISSING then names; with
// SHMSTORE_REQUIRE_NATIVE=1 it fails the install.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const native = require('../../lib/base/native');
const { tempDir, ROOT } = require('../helpers/process');

const BUILD = path.join(ROOT, 'scripts', 'build.js');

// Runs `node scripts/build.js` as npm would run the install script, with `env` added.
function install(env, args = []) {
  const r = spawnSync(process.execPath, [BUILD, ...args], {
    // SHMSTORE_REQUIRE_NATIVE of the surrounding run (CI sets it) does not apply unless a test says so.
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, npm_lifecycle_event: 'install', SHMSTORE_REQUIRE_NATIVE: '', ...env },
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('installing without a working build', function () {
  this.timeout(60000);
  let tmp;
  beforeEach(() => { tmp = tempDir(); });
  afterEach(() => tmp.cleanup());

  // A PATH with no cmake, compiler or make (node itself is run by its full path): what a bare
  // machine looks like to the build.
  const bare = () => {
    const bin = path.join(tmp.dir, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    return { PATH: bin, SHMSTORE_BUILD_DIR: path.join(tmp.dir, 'build'), CPATH: '' };
  };
  const release = () => path.join(tmp.dir, 'build', 'Release');

  it('names each missing prerequisite in one line, with the package to install, and no CMake trace', function () {
    const r = install({ ...bare(), SHMSTORE_REQUIRE_NATIVE: '1' });
    assert.strictEqual(r.status, 1, r.out);
    assert.match(r.out, /missing cmake >= 3\.20: install it with `apt-get install cmake` \(Debian\/Ubuntu\) or `dnf install cmake` \(Fedora\)/);
    assert.match(r.out, /missing make: install it with `apt-get install make`/);
    assert.doesNotMatch(r.out, /CMake Error|CMakeLists/);
    assert.ok(!fs.existsSync(path.join(release(), 'shmstore.node')));
  });

  it('as the install script, succeeds without the addon and records why', function () {
    const r = install(bare());
    assert.strictEqual(r.status, 0, r.out);
    assert.match(r.out, /the native addon was not built, the pure-JS engine will be used: missing cmake/);
    assert.match(r.out, /npx shmstore doctor/);
    const record = JSON.parse(fs.readFileSync(path.join(release(), 'unavailable.json'), 'utf8'));
    assert.match(record.reason, /missing cmake/);
  });

  it('with SHMSTORE_REQUIRE_NATIVE=1 the same install fails', function () {
    const r = install({ ...bare(), SHMSTORE_REQUIRE_NATIVE: '1' });
    assert.strictEqual(r.status, 1, r.out);
    assert.ok(!fs.existsSync(path.join(release(), 'unavailable.json')));
  });

  it('a build that fails later (no Node headers) is recorded the same way', function () {
    const r = install({ SHMSTORE_BUILD_DIR: path.join(tmp.dir, 'build'), SHMSTORE_NODE_INCLUDE: path.join(tmp.dir, 'no-headers') });
    assert.strictEqual(r.status, 0, r.out);
    assert.match(r.out, /Node headers not found/);
    assert.match(native.load(release()).loadError.message, /could not be built at install \(Node headers not found/);
  });

  it('npm run build (not the install) fails on the same error', function () {
    const r = install({ ...bare(), npm_lifecycle_event: 'build' });
    assert.strictEqual(r.status, 1, r.out);
  });

  it('the package works with the pure-JS engine and says once why native is not there', function () {
    install(bare());
    const script = `
      const s = require(${JSON.stringify(ROOT)});
      const st = s.Store.create({ buffer: new SharedArrayBuffer(1 << 20) });
      st.set('a', 'k', { v: 1 });
      const other = s.Store.attach(st.buffer);
      const out = { engine: st.engine, value: other.get('a', 'k') };
      for (const [name, f] of [['native', () => s.Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine: 'native' })],
        ['segment', () => s.Segment.create({ name: 'x', size: 4096 })],
        ['futex', () => s.futex.wake(new Int32Array(new SharedArrayBuffer(4)), 0)]]) {
        try { f(); out[name] = 'no error'; } catch (e) { out[name] = e.code + ': ' + e.message; }
      }
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8', env: { ...process.env, SHMSTORE_ADDON_DIR: release() },
    });
    assert.strictEqual(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.strictEqual(out.engine, 'js');
    assert.deepStrictEqual(out.value, { v: 1 });
    for (const name of ['native', 'segment', 'futex']) {
      assert.match(out[name], /^ERR_ADDON_MISSING: .*could not be built at install \(missing cmake/, name);
    }
    const warnings = r.stderr.split('\n').filter((l) => l.includes('SHMSTORE_NATIVE_UNAVAILABLE'));
    assert.strictEqual(warnings.length, 1, r.stderr);
    assert.match(warnings[0], /npx shmstore doctor/);
  });
});
