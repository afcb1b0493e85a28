'use strict';
// `shmstore del <store> <ns> <key>`.
const { EXIT, CliError } = require('./output');
const { targetOf, withStore } = require('./target');

module.exports = {
  usage: 'del <store> <ns> <key> [--path]',
  summary: 'delete a key; exit 1 when it was absent',
  run({ positional: [store, ns, key], flags }) {
    if (key === undefined) throw new CliError('del needs <store> <ns> <key> (see --help)');
    return withStore(targetOf(store, flags), { write: true }, (s) => {
      if (!s.delete(ns, key)) throw new CliError(`no key '${key}' in namespace '${ns}'`);
      return EXIT.OK;
    });
  },
};
