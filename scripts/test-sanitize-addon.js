#!/usr/bin/env node
'use strict';
// Runs the Mocha test files that drive the addon's own code (binding/: the futex watcher and its
// thread-per-wait fallback, the log writer, sealer and prefault threads, the external
// SharedArrayBuffers, the store, sync and msg entry points) and the core it links, with the addon
// built under AddressSanitizer + UBSan, inside the stock node:
//
//   node scripts/build.js --sanitize-addon     build-sanitize-addon/Release/shmstore.node
//   node scripts/test-sanitize-addon.js        the files of FILES below (npm run test:sanitize-addon)
//   node scripts/test-sanitize-addon.js F...   these test files instead
//
// ASan must be the first library of a process, so node is started with the runtime preloaded
// (LD_PRELOAD) and SHMSTORE_ADDON_DIR pointing lib/base/native.js at the sanitized addon. Worker
// threads share the process; child processes that the tests start inherit the environment, and a
// probe checks before the tests that a process started so, a worker of it and a child it starts
// all load the sanitized addon with the runtime. A report in a child process need not fail the test that started it (many tests
// expect children to die), so every report goes to a file of a fresh directory (log_path) and the
// run fails when one was written, whatever Mocha says.
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
const buildDir = path.join(root, 'build-sanitize-addon');
const addonDir = path.join(buildDir, 'Release');

// The test files that run binding/ most, chosen to take about two minutes on two cores (three
// with the build), as CI's other steps take about seventeen of its twenty: the segment and futex
// files (the watcher threads, the thread-per-wait fallback, futexWakeOwn), the persist files of
// the log writer, the sealer, prefault, backup and replay, the native engine's entry points, and
// the sync and msg files with native parties, jobs and terminated workers. Left out: the store's
// wide suites (their code is the core, under ASan in `npm run test:sanitize`, or the pure-JS
// engine); the kill -9, crash, fuzz and many-process files, which mostly start processes, slow
// under the preloaded runtime (crash-create, open-or-create, torn-tail, power-loss,
// stack-parties, mpmc-parties: 20 to 40 s each); the pools, registry and adapters (JavaScript
// over the entry points listed here). Any of them runs with its path as an argument.
const FILES = [
  'test/10-base/addon-load-terminate.test.js',
  'test/30-segment/segment.test.js',
  'test/30-segment/futex.test.js',
  'test/30-segment/futex-watch.test.js',
  'test/30-segment/async-fifo.test.js',
  'test/40-ownership/owners.test.js',
  'test/40-ownership/waiter.test.js',
  'test/50-store/interop.test.js',
  'test/50-store/get-set.test.js',
  'test/50-store/arguments.test.js',
  'test/50-store/bad-values.test.js',
  'test/50-store/close.test.js',
  'test/50-store/large-values.test.js',
  'test/50-store/get-many-set-many.test.js',
  'test/50-store/gone-holder.test.js',
  'test/50-store/drop-namespace.test.js',
  'test/55-persist/wal.test.js',
  'test/55-persist/group-commit.test.js',
  'test/55-persist/native-append.test.js',
  'test/55-persist/set-record.test.js',
  'test/55-persist/prefault.test.js',
  'test/55-persist/backup.test.js',
  'test/55-persist/replay-native.test.js',
  'test/55-persist/stale-handle.test.js',
  'test/55-persist/truncate-mapped.test.js',
  'test/55-persist/log-limit.test.js',
  'test/55-persist/dispose.test.js',
  'test/60-sync/mutex.test.js',
  'test/60-sync/native-interop.test.js',
  'test/60-sync/async-waits.test.js',
  'test/60-sync/lifetime.test.js',
  'test/60-sync/condition.test.js',
  'test/70-msg/spsc.test.js',
  'test/70-msg/spsc-batch.test.js',
  'test/70-msg/spsc-wake.test.js',
  'test/70-msg/mpmc.test.js',
  'test/70-msg/mpmc-native-batch.test.js',
  'test/70-msg/channel-native.test.js',
  'test/70-msg/native-terminate.test.js',
  'test/70-msg/pending-terminate.test.js',
  'test/70-msg/async-waiters.test.js',
  'test/70-msg/handle.test.js',
];

function fail(message) {
  console.error(`test-sanitize-addon: ${message}`);
  process.exit(1);
}

// The runtime of the compiler that built the addon (the one CMake recorded), so that the
// preloaded libasan is the one the addon was linked against.
function runtime() {
  let compiler = 'g++';
  try {
    const cache = fs.readFileSync(path.join(buildDir, 'CMakeCache.txt'), 'utf8');
    const m = /^CMAKE_CXX_COMPILER:[A-Z]+=(.+)$/m.exec(cache);
    if (m) compiler = m[1].trim();
  } catch {
    // no cache: the check for the addon below says what to do
  }
  const r = spawnSync(compiler, ['-print-file-name=libasan.so'], { encoding: 'utf8' });
  const lib = r.status === 0 ? r.stdout.trim() : '';
  if (!path.isAbsolute(lib) || !fs.existsSync(lib)) fail(`${compiler} names no libasan.so (${lib || r.stderr})`);
  return fs.realpathSync(lib);
}

function sanitizedEnv(logDir, preload) {
  // detect_leaks=0: node and V8 keep their isolates' memory until exit on purpose.
  // halt_on_error: the first report ends the process.
  // detect_stack_use_after_return: a thread (a futex watcher, the log writer) that kept a
  // pointer into the frame of a call that has returned is caught too.
  // UBSan (libubsan, loaded with the addon) writes its report to stderr only: next to ASan it
  // does not follow log_path. So it aborts (abort_on_error) and ASan, handling SIGABRT
  // (handle_abort), writes a report with the stack through the UBSan handler to this directory;
  // its own log_path points there too, as UBSan sets the report path of both when it starts.
  // A process that aborts or crashes (SIGSEGV, SIGBUS) for any other reason is reported alike.
  // print_stacktrace=0: UBSan's own stack (on stderr, which tests discard) takes some 0.1 s to
  // symbolize before it aborts, a time in which a test's SIGKILL of the process would lose the
  // report; ASan's report of the abort, in the directory, has the faulting frame.
  // The options set here come after the caller's, and so win (a log_path of the caller's would
  // take the reports out of the directory this run looks in).
  const options = (user, own) => [user, own].filter(Boolean).join(':');
  return {
    ...process.env,
    LD_PRELOAD: [preload, process.env.LD_PRELOAD].filter(Boolean).join(':'),
    ASAN_OPTIONS: options(process.env.ASAN_OPTIONS,
      `detect_leaks=0:halt_on_error=1:detect_stack_use_after_return=1:handle_abort=1:log_path=${path.join(logDir, 'asan')}`),
    UBSAN_OPTIONS: options(process.env.UBSAN_OPTIONS,
      `halt_on_error=1:abort_on_error=1:print_stacktrace=0:log_path=${path.join(logDir, 'ubsan')}`),
    SHMSTORE_ADDON_DIR: addonDir,
  };
}

// Which addon file and sanitizer runtime a process has mapped, from the process, a worker of it
// and a child it starts the way the tests do (environment inherited).
const PROBE = `
const { Worker } = require('worker_threads');
const { spawnSync } = require('child_process');
const seen = () => {
  const fs = require('fs');
  require(${JSON.stringify(path.join(root, 'lib', 'base', 'native.js'))}).requireAddon();
  const maps = fs.readFileSync('/proc/self/maps', 'utf8');
  const addon = (/\\s(\\/\\S*shmstore\\.node)$/m.exec(maps) || [])[1] || null;
  return { addon, asan: /libasan\\.so/.test(maps), ubsan: /libubsan\\.so/.test(maps) };
};
if (process.argv[1] === 'child') {
  console.log(JSON.stringify(seen()));
} else {
  const w = new Worker('const { parentPort } = require("worker_threads"); parentPort.postMessage((' + seen + ')());', { eval: true });
  w.once('message', (inWorker) => {
    const c = spawnSync(process.execPath, ['-e', process.argv[1], 'child'], { encoding: 'utf8' });
    const inChild = c.status === 0 ? JSON.parse(c.stdout) : { error: c.stderr || String(c.signal) };
    console.log(JSON.stringify({ main: seen(), worker: inWorker, child: inChild }));
    w.terminate();
  });
}
`;

// Returns why the probe failed, or null.
function probe(env) {
  const r = spawnSync(process.execPath, ['-e', PROBE, '--', PROBE], { env, encoding: 'utf8' });
  if (r.status !== 0) return `the probe failed (${r.status ?? r.signal}): ${r.stderr}`;
  const want = fs.realpathSync(path.join(addonDir, 'shmstore.node'));
  const got = JSON.parse(r.stdout);
  for (const [where, s] of Object.entries(got)) {
    if (!s.addon || fs.realpathSync(s.addon) !== want || !s.asan || !s.ubsan) {
      return `the ${where} did not load the sanitized addon with its runtime: ${JSON.stringify(s)}`;
    }
  }
  console.log(`test-sanitize-addon: main thread, worker and child process load ${path.relative(root, want)} under ASan/UBSan`);
  return null;
}

function main() {
  if (!fs.existsSync(path.join(addonDir, 'shmstore.node'))) {
    fail(`${path.relative(root, addonDir)}/shmstore.node is missing: build it with \`node scripts/build.js --sanitize-addon\``);
  }
  const files = process.argv.length > 2 ? process.argv.slice(2) : FILES;
  const missing = files.filter((f) => !fs.existsSync(path.resolve(root, f)));
  if (missing.length) fail(`no such test file: ${missing.join(', ')}`);
  const preload = runtime();
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-sanitize-'));
  const env = sanitizedEnv(logDir, preload);
  const failed = probe(env);
  if (failed !== null) {
    fs.rmSync(logDir, { recursive: true, force: true });
    fail(failed);
  }
  const started = Date.now();
  const mocha = path.join(path.dirname(require.resolve('mocha/package.json')), 'bin', 'mocha.js');
  const r = spawnSync(process.execPath, [mocha, '--timeout', '240000', ...files], { cwd: root, env, stdio: 'inherit' });
  const reports = fs.readdirSync(logDir).map((f) => path.join(logDir, f))
    .filter((f) => fs.statSync(f).size > 0);
  for (const f of reports) {
    console.error(`\n---- ${path.basename(f)} ----\n${fs.readFileSync(f, 'utf8')}`);
  }
  console.log(`test-sanitize-addon: ${files.length} files in ${Math.round((Date.now() - started) / 1000)} s`);
  if (reports.length) fail(`${reports.length} sanitizer report(s), above (kept in ${logDir})`);
  fs.rmSync(logDir, { recursive: true, force: true });
  if (r.status !== 0) fail(`mocha exited with ${r.status ?? r.signal}`);
}

main();
