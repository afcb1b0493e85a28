'use strict';
// `shmstore get <store> <ns> <key>`.
const { EXIT, CliError, entryRecord, humanValue } = require('./output');
const { targetOf, withStore } = require('./target');

module.exports = {
  usage: 'get <store> <ns> <key> [--path] [--json]',
  summary: 'print a value (a string as is, bytes in hex, other values as JSON); exit 1 when absent',
  run({ positional: [store, ns, key], flags }) {
    if (ns === undefined || key === undefined) throw new CliError('get needs <store> <ns> <key> (see --help)');
    return withStore(targetOf(store, flags), {}, (s) => {
      const value = s.get(ns, key);
      if (value === undefined) throw new CliError(`no key '${key}' in namespace '${ns}'`, EXIT.ERROR, 'ERR_NOT_FOUND');
      // One line: the entry as a line of a dump (load reads it back).
      if (flags.json) process.stdout.write(`${JSON.stringify(entryRecord(ns, key, value))}\n`);
      else process.stdout.write(humanValue(value) + '\n');
      return EXIT.OK;
    });
  },
};
