'use strict';
// Loading the addon: an ABI mismatch is refused with a clear error before loading; a missing or
// unloadable addon is reported as loadError without breaking the pure-JS parts.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const native = require('../../lib/base/native');
const { ShmError } = require('../..');
const { tempDir } = require('../helpers/process');

describe('native addon loading', function () {
  let tmp;
  beforeEach(() => { tmp = tempDir(); });
  afterEach(() => tmp.cleanup());

  it('is loaded and reports the running ABI', function () {
    assert.ok(native.addon, native.loadError && native.loadError.message);
    assert.strictEqual(String(native.addon.moduleVersion), process.versions.modules);
    const abi = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'build', 'Release', 'abi.json'), 'utf8'));
    assert.strictEqual(abi.modules, process.versions.modules);
  });

  it('refuses an addon built for another Node ABI with ERR_ADDON_ABI, without loading it', function () {
    // Not a real shared object: loading it would fail differently, so reaching the ABI error
    // proves the check happens first.
    fs.writeFileSync(path.join(tmp.dir, 'shmstore.node'), 'not an ELF file');
    fs.writeFileSync(path.join(tmp.dir, 'abi.json'), JSON.stringify({ modules: '108', node: 'v18.20.0' }));
    assert.throws(() => native.load(tmp.dir), (e) => {
      assert.ok(e instanceof ShmError);
      assert.strictEqual(e.code, 'ERR_ADDON_ABI');
      assert.match(e.message, /built for Node v18\.20\.0 \(ABI 108\)/);
      assert.match(e.message, /npm rebuild shmstore/);
      return true;
    });
  });

  it('refuses an addon with no ABI record', function () {
    fs.writeFileSync(path.join(tmp.dir, 'shmstore.node'), 'x');
    assert.throws(() => native.load(tmp.dir), { code: 'ERR_ADDON_ABI' });
  });

  it('reports a missing addon as loadError (ERR_ADDON_MISSING) instead of throwing', function () {
    const r = native.load(tmp.dir);
    assert.strictEqual(r.addon, null);
    assert.strictEqual(r.loadError.code, 'ERR_ADDON_MISSING');
    assert.match(r.loadError.message, /npm rebuild shmstore/);
  });

  it('reports an unloadable addon as loadError', function () {
    fs.writeFileSync(path.join(tmp.dir, 'shmstore.node'), 'not an ELF file');
    fs.writeFileSync(path.join(tmp.dir, 'abi.json'), JSON.stringify({ modules: process.versions.modules }));
    const r = native.load(tmp.dir);
    assert.strictEqual(r.addon, null);
    assert.strictEqual(r.loadError.code, 'ERR_ADDON_MISSING');
  });
});
