#!/usr/bin/env node
'use strict';
// Builds the addon (and optionally the C++ tests) with plain CMake, offline: Node's headers are
// taken from next to the running node and node-addon-api's from node_modules, so neither
// node-gyp nor cmake-js (which download headers) is involved.
//
//   node scripts/build.js              addon -> build/Release/shmstore.node (npm install, npm run build)
//   node scripts/build.js --tests      addon + GoogleTest program in build/ (npm test)
//   node scripts/build.js --bench      addon + Google Benchmark programs in build/
//   node scripts/build.js --sanitize   core + tests with ASan/UBSan in build-sanitize/ (no addon)
//   node scripts/build.js --tsan       core + the tests of the threaded rooms with ThreadSanitizer
//                                      in build-tsan/ (no addon; CTest label `tsan`)
//   node scripts/build.js --sanitize-addon   core + addon with ASan/UBSan in
//                                      build-sanitize-addon/Release/ (loaded by a stock node that
//                                      preloads libasan: scripts/test-sanitize-addon.js); build/
//                                      is left as it is
//   node scripts/build.js --format | --format-check   clang-format the C++ sources
//
// Environment: SHMSTORE_SKIP_BUILD=1 skips the build but for a sanitizer build asked for by name
// (the pure-JS parts still work);
// SHMSTORE_NODE_INCLUDE overrides the Node header directory; SHMSTORE_BUILD_DIR the build
// directory (default build/; lib/base/native.js reads SHMSTORE_ADDON_DIR).
//
// As the install script (npm_lifecycle_event 'install') a build that cannot be done does not fail
// the install: the package stays usable with the pure-JS engine, the reason is printed in one
// warning and recorded in <build>/Release/unavailable.json, where lib/base/native.js finds it to
// name the cause in ERR_ADDON_MISSING. SHMSTORE_REQUIRE_NATIVE=1 (set by .ci/run) makes such an
// install fail instead. Every other use of this script fails on a failed build.
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
const args = new Set(process.argv.slice(2));

// A build that cannot be done: main() decides whether that fails the command.
class BuildError extends Error {}

function fail(message) {
  throw new BuildError(message);
}

// What the build needs from the system (shared with `shmstore doctor`).
const { PREREQUISITES, TEST_PREREQUISITES, missingPrerequisites } = require('../lib/base/prerequisites');

function run(cmd, argv, options = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', cwd: root, ...options });
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} ${argv.join(' ')} exited with ${r.status ?? r.signal}`);
}

function cppSources() {
  const out = [];
  const walk = (dir) => {
    const abs = path.join(root, dir);
    if (!fs.existsSync(abs)) return;
    for (const ent of fs.readdirSync(abs, { withFileTypes: true }).sort((x, y) => (x.name < y.name ? -1 : 1))) {
      const rel = path.join(dir, ent.name);
      if (ent.isDirectory()) walk(rel);
      // Generated headers (*_gen.h): their format belongs to scripts/gen-layout.js.
      else if (/\.(h|cc|cpp)$/.test(ent.name) && !ent.name.endsWith('_gen.h')) out.push(rel);
    }
  };
  for (const dir of ['src', 'binding', 'test/cpp', 'bench/cpp']) walk(dir);
  return out;
}

function format(check) {
  const files = cppSources();
  run('clang-format', check ? ['--dry-run', '-Werror', ...files] : ['-i', ...files]);
}

function nodeIncludeDir() {
  const dir = process.env.SHMSTORE_NODE_INCLUDE ||
    path.join(path.dirname(process.execPath), '..', 'include', 'node');
  for (const h of ['node_api.h', 'v8.h', 'node_version.h']) {
    if (!fs.existsSync(path.join(dir, h))) {
      fail(`Node headers not found (${path.join(dir, h)} is missing). Install the headers that ` +
        'match this node (they ship with the official Node.js builds and the nodejs packages) ' +
        'or point SHMSTORE_NODE_INCLUDE at them.');
    }
  }
  return path.resolve(dir);
}

function addonApiDir() {
  let dir;
  try {
    // include_dir is relative to the current directory at the time of the require.
    dir = path.resolve(process.cwd(), require('node-addon-api').include_dir);
  } catch (e) {
    fail(`node-addon-api is not installed (${e.message}); run npm install`);
  }
  if (!fs.existsSync(path.join(dir, 'napi.h'))) fail(`napi.h not found in ${dir}`);
  return dir;
}

// The sanitizer builds: their own directory and CMake options; core and tests only, but for
// --sanitize-addon, which builds core and addon (addon: true) and no tests.
const SANITIZERS = {
  '--sanitize': { dir: 'build-sanitize', defs: ['-DSHMSTORE_SANITIZE=ON', '-DSHMSTORE_TESTS=ON', '-DSHMSTORE_ADDON=OFF'] },
  '--tsan': { dir: 'build-tsan', defs: ['-DSHMSTORE_TSAN=ON', '-DSHMSTORE_TESTS=OFF', '-DSHMSTORE_ADDON=OFF'], target: 'shmstore_tsan_tests' },
  '--sanitize-addon': {
    dir: 'build-sanitize-addon',
    defs: ['-DSHMSTORE_SANITIZE_ADDON=ON', '-DSHMSTORE_TESTS=OFF'],
    target: 'shmstore_addon',
    addon: true,
  },
};

function build(sanitize) {
  if (process.platform !== 'linux') fail(`unsupported platform ${process.platform} (Linux only)`);
  const needs = args.has('--tests') || (sanitize && !sanitize.addon) ? [...PREREQUISITES, ...TEST_PREREQUISITES] : PREREQUISITES;
  const missing = missingPrerequisites(needs);
  if (missing.length) fail(missing.join('\n'));
  const jobs = String(Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length));
  const buildDir = buildDirOf(sanitize);
  const addonDefs = () => [
    '-DSHMSTORE_ADDON=ON',
    `-DNODE_INCLUDE_DIR=${nodeIncludeDir()}`,
    `-DNODE_ADDON_API_DIR=${addonApiDir()}`,
  ];
  const defs = sanitize
    ? ['-DCMAKE_BUILD_TYPE=Debug', ...sanitize.defs, ...(sanitize.addon ? addonDefs() : [])]
    : ['-DCMAKE_BUILD_TYPE=Release', ...addonDefs()];
  if (!sanitize && args.has('--tests')) defs.push('-DSHMSTORE_TESTS=ON');
  if (!sanitize && args.has('--bench')) defs.push('-DSHMSTORE_BENCH=ON');

  run('cmake', ['-S', root, '-B', buildDir, '-Wno-dev', ...defs]);
  run('cmake', ['--build', buildDir, '--parallel', jobs, ...(sanitize && sanitize.target ? ['--target', sanitize.target] : [])]);
  if (sanitize && !sanitize.addon) return;

  const addon = path.join(buildDir, 'Release', 'shmstore.node');
  if (!fs.existsSync(addon)) fail(`build finished but ${addon} is missing`);
  // lib/base/native.js reads this before loading the addon: an addon built for another Node ABI
  // must be refused with a clear error, not loaded (V8's C++ ABI differs between versions).
  const abi = {
    modules: process.versions.modules,
    napi: process.versions.napi,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
  };
  fs.writeFileSync(path.join(buildDir, 'Release', 'abi.json'), JSON.stringify(abi, null, 2) + '\n');
  fs.rmSync(path.join(buildDir, 'Release', UNAVAILABLE), { force: true });
}

const UNAVAILABLE = 'unavailable.json';

function buildDirOf(sanitize) {
  // SHMSTORE_BUILD_DIR names the plain build only: a sanitized one never lands in build/.
  if (sanitize) return path.join(root, sanitize.dir);
  return process.env.SHMSTORE_BUILD_DIR ? path.resolve(process.env.SHMSTORE_BUILD_DIR) : path.join(root, 'build');
}

// The install goes on without the addon: the reason is kept for lib/base/native.js.
function installWithoutAddon(reason) {
  const dir = path.join(buildDirOf(false), 'Release');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, UNAVAILABLE), JSON.stringify({ reason, node: process.version }, null, 2) + '\n');
  console.warn(`shmstore: the native addon was not built, the pure-JS engine will be used: ${reason.split('\n').join('; ')}` +
    ' (`npx shmstore doctor` tells more; `npm rebuild shmstore` retries; SHMSTORE_REQUIRE_NATIVE=1 makes this fail the install)');
}

function main() {
  if (args.has('--format') || args.has('--format-check')) {
    try {
      format(args.has('--format-check'));
    } catch (err) {
      if (!(err instanceof BuildError)) throw err;
      console.error(`shmstore build: ${err.message}`);
      process.exitCode = 1;
    }
    return;
  }
  // The skip is the install's (the pure-JS parts stay usable): a sanitizer build asked for by
  // name is built, never left as whatever an earlier build put in its directory.
  const flag = Object.keys(SANITIZERS).find((f) => args.has(f));
  if (!flag && process.env.SHMSTORE_SKIP_BUILD && process.env.SHMSTORE_SKIP_BUILD !== '0') {
    console.log('shmstore build: skipped (SHMSTORE_SKIP_BUILD); the native addon is unavailable');
    return;
  }
  try {
    build(flag ? SANITIZERS[flag] : null);
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    const lenient = process.env.npm_lifecycle_event === 'install' && args.size === 0 &&
      !['1', 'true'].includes(String(process.env.SHMSTORE_REQUIRE_NATIVE || '').toLowerCase());
    if (lenient) return installWithoutAddon(err.message);
    for (const line of err.message.split('\n')) console.error(`shmstore build: ${line}`);
    process.exitCode = 1;
  }
}

main();
