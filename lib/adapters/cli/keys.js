'use strict';
// `shmstore keys <store> <ns> [--prefix p]`.
const { EXIT, CliError, write } = require('./output');
const { targetOf, withStore } = require('./target');

module.exports = {
  usage: 'keys <store> <ns> [--prefix <p>] [--path] [--json]',
  summary: 'list the keys of a namespace, one a line (--json: a JSON array)',
  run({ positional: [store, ns], flags }) {
    if (ns === undefined) throw new CliError('keys needs <store> <ns> (see --help)');
    const prefix = flags.prefix === undefined ? '' : flags.prefix;
    return withStore(targetOf(store, flags), {}, async (s) => {
      const keys = s.keys(ns).filter((k) => k.startsWith(prefix));
      if (flags.json) await write(JSON.stringify(keys) + '\n');
      else for (const k of keys) await write(k + '\n');
      return EXIT.OK;
    });
  },
};
