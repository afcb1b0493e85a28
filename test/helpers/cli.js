'use strict';
// Running the shmstore command line (bin/shmstore.js) as a child process in tests.
const assert = require('assert');
const { spawnSync } = require('child_process');
const path = require('path');
const { ROOT } = require('./process');

const BIN = path.join(ROOT, 'bin', 'shmstore.js');

/** Runs the CLI; returns { code, stdout, stderr } (code null when it was killed at `timeout` ms). */
function cli(args, { input, cwd = ROOT, env, timeout = 60000 } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    // 64 MiB of output: a listing of every namespace of a full store is a few MiB.
    cwd, input, encoding: 'utf8', env: { ...process.env, ...env }, timeout, maxBuffer: 64 << 20,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Asserts that the CLI failed with `code` and one line on stderr matching `re`, no stack trace. */
function assertOneLine(r, code, re) {
  assert.strictEqual(r.code, code, r.stderr + r.stdout);
  const lines = r.stderr.trimEnd().split('\n');
  assert.strictEqual(lines.length, 1, r.stderr);
  assert.match(lines[0], /^shmstore: /);
  assert.match(lines[0], / \(ERR_[A-Z_0-9]+\)$/, 'a failure line ends with its code');
  assert.match(lines[0], re);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

module.exports = { BIN, cli, assertOneLine };
