'use strict';
// `shmstore get <store> <ns> <key>`.
const { EXIT, CliError, humanValue } = require('./output');
const { targetOf, withStore } = require('./target');
const { entryLine, absoluteExpiry } = require('./dump-lines');

module.exports = {
  usage: 'get <store> <ns> <key> [--path] [--json]',
  summary: 'print a value (a string as is, bytes in hex, other values as JSON); exit 1 when absent',
  run({ positional: [store, ns, key], flags }) {
    if (ns === undefined || key === undefined) throw new CliError('get needs <store> <ns> <key> (see --help)');
    return withStore(targetOf(store, flags), {}, (s) => {
      const value = s.get(ns, key);
      if (value === undefined) throw new CliError(`no key '${key}' in namespace '${ns}'`, EXIT.ERROR, 'ERR_NOT_FOUND');
      // One line: the entry as a line of a dump, with its expiry (load reads it back as it was).
      if (flags.json) {
        const expiresAt = absoluteExpiry(s, ns, key);
        if (expiresAt === undefined) throw new CliError(`no key '${key}' in namespace '${ns}'`, EXIT.ERROR, 'ERR_NOT_FOUND');
        process.stdout.write(entryLine(ns, key, value, expiresAt));
      } else {
        process.stdout.write(humanValue(value) + '\n');
      }
      return EXIT.OK;
    });
  },
};
