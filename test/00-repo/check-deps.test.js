'use strict';
// The rooms' dependency check (scripts/check-deps.js, docs/architecture.md): the repository
// passes it, and it catches each kind of wrong arrow when one is planted in a copy.
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { check, roomOf } = require('../../scripts/check-deps');

const ROOT = path.join(__dirname, '..', '..');

describe('scripts/check-deps.js', function () {
  let dir;
  const put = (rel, text) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  };
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-deps-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finds no problem in the repository', function () {
    assert.deepStrictEqual(check(ROOT), []);
  });

  it('names the room of a path, numbered test folders included', function () {
    assert.strictEqual(roomOf('src/store/read.cpp'), 'store');
    assert.strictEqual(roomOf('binding/segment/futex.cc'), 'segment');
    assert.strictEqual(roomOf('lib/ownership/waiter.js'), 'ownership');
    assert.strictEqual(roomOf('test/50-store/get-set.test.js'), 'store');
    assert.strictEqual(roomOf('test/cpp/segment/futex_test.cc'), 'segment');
    assert.strictEqual(roomOf('lib/adapters/cli/stats.js'), 'adapters');
    assert.strictEqual(roomOf('test/90-adapters/cli.test.js'), 'adapters');
    assert.strictEqual(roomOf('test/helpers/engines.js'), null);
    assert.strictEqual(roomOf('binding/addon.cc'), null);
  });

  it('accepts arrows that point down and includes beside the file', function () {
    put('src/store/read.cpp', '#include "store/store.h"\n#include "base/hash.h"\n#include "internal.h"\n#include <atomic>\n');
    put('lib/store/store.js', "require('../segment/segment');\nrequire('./codec');\n");
    put('lib/adapters/cli/stats.js', "require('../../store/store');\nrequire('./output');\n");
    put('binding/store/ops.cc', '#include "binding/segment/external_sab.h"\n#include "store/store.h"\n#include <napi.h>\n');
    assert.deepStrictEqual(check(dir), []);
  });

  const planted = [
    ['an #include that points up', 'src/segment/segment.cpp', '#include "store/store.h"\n', /room 'segment' must not depend on 'store'/],
    ['a require() that points up', 'lib/base/errors.js', "require('../store/store');\n", /room 'base' must not depend on 'store'/],
    ['a binding include that points up', 'binding/segment/futex.cc', '#include "binding/store/store_binding.h"\n', /room 'segment' must not depend on 'store'/],
    ['a test that uses a room above its own', 'test/30-segment/x.test.js', "require('../../lib/store/store');\n", /room 'segment' must not depend on 'store'/],
    ['a C++ test that uses a room above its own', 'test/cpp/base/x_test.cc', '#include "ownership/waiter.h"\n', /room 'base' must not depend on 'ownership'/],
    ['a Node header in the core', 'src/base/x.h', '#include <napi.h>\n', /must not include Node headers/],
    ['a folder that is not a room', 'src/stuff/x.cpp', '#include "base/hash.h"\n', /'stuff' is not a room/],
    ['lib/ reaching outside lib/', 'lib/store/x.js', "require('../../test/helpers/values');\n", /must not require outside lib/],
    ['the addon loaded outside lib/base/native.js', 'lib/store/x.js', "require('../../build/Release/shmstore.node');\n", /only lib\/base\/native.js loads the addon/],
  ];
  for (const [what, file, text, message] of planted) {
    it(`reports ${what}`, function () {
      put(file, text);
      const problems = check(dir);
      assert.strictEqual(problems.length, 1, problems.join('\n'));
      assert.match(problems[0], message);
      assert.ok(problems[0].startsWith(`${file}:1:`), problems[0]);
    });
  }
});
