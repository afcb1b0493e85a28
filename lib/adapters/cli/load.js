'use strict';
// `shmstore load <store>`: applies the JSON lines of a dump read from stdin, line by line as they
// arrive: a namespace line sets the namespace's eviction policy and default TTL, an entry line
// sets the entry with its absolute expiry. An entry whose expiry has passed is not loaded. A bad
// line stops the load; the lines before it stay applied, nothing of it or after it is written.
const fs = require('fs');
const readline = require('readline');
const { EXIT, CliError } = require('./output');
const { targetOf, persistOption, withStore } = require('./target');
const { parseLine } = require('./dump-lines');
const { Progress } = require('./progress');

function stdinIsDirectory() {
  try {
    return require('fs').fstatSync(0).isDirectory();
  } catch {
    return false; // no stdin at all: the read finds nothing, as before
  }
}

// The bytes stdin holds when it is a file (`load x < dump.jsonl`), or null (a pipe: unknown).
function inputBytes() {
  try {
    const st = fs.fstatSync(0);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

// Applies one parsed line; returns what it did: 'namespace', 'loaded' or 'expired'.
function apply(s, r) {
  if (r.options !== undefined) {
    s.namespace(r.ns, r.options);
    return 'namespace';
  }
  if (r.expiresAt <= Date.now()) return 'expired';
  // expiresAt Infinity: no expiry, whatever the namespace's default TTL (the dump said none).
  s.set(r.ns, r.key, r.value, { expiresAt: r.expiresAt });
  return 'loaded';
}

module.exports = {
  usage: 'load <store> [--dir <dir>] [--path] [--json]',
  summary: 'apply the namespace settings and set the entries of JSON lines read from stdin (the format of dump)',
  help: 'Entries whose "expiresAt" has passed are skipped. A bad line stops the load with its line number;\n' +
    'the lines before it stay loaded. When stderr is a terminal, a progress line is drawn on it (with\n' +
    'an ETA when stdin is a file: `load <store> < dump.jsonl`).\n' +
    '--dir <dir>: the store is persisted in <dir>; the writes are logged there (without it, the\n' +
    'writes to a persisted store reach its memory only and a recovery loses them).',
  run({ positional: [store], flags }) {
    // Node reads a directory given as stdin as an empty stream: it would load nothing and say so
    // as a success.
    if (stdinIsDirectory()) throw new CliError('stdin is a directory: give the dump as a file (load <store> < dump.jsonl) or a pipe');
    return withStore(targetOf(store, flags), { write: true, ...persistOption(flags, 'load') }, async (s) => {
      let n = 0;
      const done = { loaded: 0, expired: 0, namespaces: 0 };
      const progress = new Progress('load', inputBytes(), { unit: 'bytes' });
      for await (const line of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
        n += 1;
        // The line and its end (a CRLF counts as one byte less than it is: the bar is a guide).
        progress.add(Buffer.byteLength(line) + 1);
        if (line.trim() === '') continue;
        const r = parseLine(line, n);
        let what;
        try {
          what = apply(s, r);
        } catch (err) {
          // The error itself goes on, its line number said first, so that it exits as it would
          // anywhere else (a damaged store: exit 2); one without a code is a bad argument.
          if (!(err instanceof Error) || err.code === undefined) {
            throw new CliError(`stdin line ${n}: ${err instanceof Error ? err.message : err}`, EXIT.ERROR, 'ERR_INVALID_ARG');
          }
          err.message = `stdin line ${n}: ${err.message.replace(/^shmstore: /, '')}`;
          throw err;
        }
        done[what === 'namespace' ? 'namespaces' : what] += 1;
      }
      progress.end();
      process.stdout.write(flags.json ? JSON.stringify(done) + '\n'
        : `loaded ${done.loaded} entries (${done.expired} expired, not loaded; ${done.namespaces} namespace settings)\n`);
      return EXIT.OK;
    });
  },
};
