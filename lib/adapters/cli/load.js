'use strict';
// `shmstore load <store>`: sets the entries read as JSON lines (the output of dump) from stdin.
const readline = require('readline');
const { EXIT, CliError, entryRecord, recordValue } = require('./output');
const { targetOf, withStore } = require('./target');

function parse(line, n) {
  let r;
  try {
    r = JSON.parse(line);
  } catch (err) {
    throw new CliError(`stdin line ${n}: not JSON (${err.message})`);
  }
  if (r === null || typeof r !== 'object' || typeof r.ns !== 'string' || typeof r.key !== 'string' ||
      !('value' in r || typeof r.bytes === 'string')) {
    throw new CliError(`stdin line ${n}: expected ${JSON.stringify(entryRecord('ns', 'key', 'value'))}`);
  }
  return r;
}

module.exports = {
  usage: 'load <store> [--path] [--json]',
  summary: 'set the entries of JSON lines read from stdin (the format of dump)',
  run({ positional: [store], flags }) {
    return withStore(targetOf(store, flags), { write: true }, async (s) => {
      let n = 0;
      let loaded = 0;
      for await (const line of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
        n += 1;
        if (line.trim() === '') continue;
        const r = parse(line, n);
        try {
          s.set(r.ns, r.key, recordValue(r));
        } catch (err) {
          throw new CliError(`stdin line ${n}: ${err.message}`, err.exitCode);
        }
        loaded += 1;
      }
      process.stdout.write(flags.json ? JSON.stringify({ loaded }) + '\n' : `loaded ${loaded} entries\n`);
      return EXIT.OK;
    });
  },
};
