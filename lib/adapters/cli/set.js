'use strict';
// `shmstore set <store> <ns> <key> <value>`: the value as a string, or parsed as JSON (--json).
const { EXIT, CliError } = require('./output');
const { targetOf, persistOption, withStore } = require('./target');

module.exports = {
  usage: 'set <store> <ns> <key> <value> [--dir <dir>] [--path] [--json]',
  summary: 'store a value: a string, or with --json the JSON value it spells',
  help: '--dir <dir>: the store is persisted in <dir>; the writes are logged there (without it, the\n' +
    'writes to a persisted store reach its memory only and a recovery loses them).',
  run({ positional: [store, ns, key, text], flags }) {
    if (text === undefined) throw new CliError('set needs <store> <ns> <key> <value> (see --help)');
    let value = text;
    if (flags.json) {
      try {
        value = JSON.parse(text);
      } catch (err) {
        throw new CliError(`the value is not JSON (${err.message})`);
      }
    }
    return withStore(targetOf(store, flags), { write: true, ...persistOption(flags, 'set') }, (s) => {
      s.set(ns, key, value);
      return EXIT.OK;
    });
  },
};
