'use strict';
// `shmstore del <store> <ns> <key>`.
const { EXIT, CliError } = require('./output');
const { targetOf, persistOption, withStore } = require('./target');

module.exports = {
  usage: 'del <store> <ns> <key> [--dir <dir>] [--path]',
  summary: 'delete a key; exit 1 when it was absent',
  help: '--dir <dir>: the store is persisted in <dir>; the writes are logged there (without it, the\n' +
    'writes to a persisted store reach its memory only and a recovery loses them).',
  run({ positional: [store, ns, key], flags }) {
    if (key === undefined) throw new CliError('del needs <store> <ns> <key> (see --help)');
    return withStore(targetOf(store, flags), { write: true, ...persistOption(flags, 'del') }, (s) => {
      if (!s.delete(ns, key)) throw new CliError(`no key '${key}' in namespace '${ns}'`, EXIT.ERROR, 'ERR_NOT_FOUND');
      return EXIT.OK;
    });
  },
};
