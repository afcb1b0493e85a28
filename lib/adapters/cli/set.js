'use strict';
// `shmstore set <store> <ns> <key> <value>`: the value as a string, or parsed as JSON (--json).
const { EXIT, CliError } = require('./output');
const { targetOf, withStore } = require('./target');

module.exports = {
  usage: 'set <store> <ns> <key> <value> [--path] [--json]',
  summary: 'store a value: a string, or with --json the JSON value it spells',
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
    return withStore(targetOf(store, flags), { write: true }, (s) => {
      s.set(ns, key, value);
      return EXIT.OK;
    });
  },
};
