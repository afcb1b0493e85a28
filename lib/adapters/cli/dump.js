'use strict';
// `shmstore dump <store> [ns]`: each namespace's settings, then its entries, as JSON lines
// (the format of dump-lines.js), written as they are read: nothing is buffered beyond one entry.
const { EXIT, write } = require('./output');
const { targetOf, withStore } = require('./target');
const { namespaceLine, entryLine, absoluteExpiry } = require('./dump-lines');
const { Progress } = require('./progress');

module.exports = {
  usage: 'dump <store> [ns] [--path]',
  summary: 'write the namespaces\' settings and the entries (of one namespace) as JSON lines',
  help: 'Per namespace {"ns","eviction","ttl"} (ttl: its default TTL in ms, null for none), then its entries\n' +
    '{"ns","key","value"} or {"ns","key","bytes"} (base64), with "expiresAt" (epoch ms) when the entry\n' +
    'expires. Entries already expired are left out. `load` reads this back.\n' +
    'When stderr is a terminal and stdout is not, a progress line with an ETA is drawn on stderr.',
  run({ positional: [store, ns], flags }) {
    return withStore(targetOf(store, flags), {}, async (s) => {
      // The settings of every namespace, read once; a namespace created after this is dumped too
      // when named, without a settings line (load then keeps the target's settings for it).
      const settings = s.stats().namespaceStats;
      const namespaces = ns === undefined ? s.namespaces() : [ns];
      // Progress on a terminal's stderr, unless stdout is a terminal too (the lines show it).
      const total = namespaces.reduce((a, n) => a + (settings[n]?.count ?? 0), 0);
      const progress = new Progress('dump', total, { unit: 'entries', enabled: process.stderr.isTTY === true && process.stdout.isTTY !== true });
      for (const name of namespaces) {
        if (Object.hasOwn(settings, name)) await write(namespaceLine(name, settings[name]));
        // One namespace's keys at a time; the values are read one by one as they are written out.
        for (const key of s.keys(name)) {
          progress.add();
          const value = s.get(name, key);
          if (value === undefined) continue;
          // undefined: deleted or expired since the get; such an entry is not dumped.
          const expiresAt = absoluteExpiry(s, name, key);
          if (expiresAt !== undefined) await write(entryLine(name, key, value, expiresAt));
        }
      }
      progress.end();
      return EXIT.OK;
    });
  },
};
