'use strict';
// `shmstore stats <store>`: store.stats() as a table.
const { EXIT, printJson, fields, table, shownNamespaces } = require('./output');
const { targetOf, withStore } = require('./target');

module.exports = {
  usage: 'stats <store> [--path] [--all] [--json]',
  summary: 'print store.stats(): entries, bytes, fragmentation, namespaces',
  help: 'The text lists the 20 largest namespaces by bytes; --all lists every one (--json always does).',
  run({ positional, flags }) {
    return withStore(targetOf(positional[0], flags), {}, (store) => {
      const s = store.stats();
      if (flags.json) {
        printJson(s);
        return EXIT.OK;
      }
      const { namespaceCounts, namespaceStats, ...rest } = s;
      process.stdout.write(fields(Object.entries(rest)));
      const { names, note } = shownNamespaces(s, flags.all);
      if (names.length) process.stdout.write('\n' + table(['namespace', 'entries'], names.map((n) => [n, namespaceCounts[n]])) + note);
      // The cache statistics of each namespace (docs/api.md, store.stats()).
      const cols = ['hits', 'misses', 'evictions', 'expirations', 'bytes', 'eviction', 'ttl'];
      if (names.length) {
        process.stdout.write('\n' + table(['namespace', ...cols],
          names.map((n) => [n, ...cols.map((c) => namespaceStats[n][c])])));
      }
      return EXIT.OK;
    });
  },
};
