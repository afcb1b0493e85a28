'use strict';
// `shmstore inspect <store>`: the header fields, the namespaces with their counts, how full and
// how fragmented the store is.
const { AT, C } = require('../../layout/layout');
const { EXIT, printJson, fields, table, percent, shownNamespaces } = require('./output');
const { targetOf, withStore } = require('./target');

module.exports = {
  usage: 'inspect <store> [--path] [--all] [--json]',
  summary: 'print the header, the namespaces with their counts, fill and fragmentation',
  help: 'The text lists the 20 largest namespaces by bytes; --all lists every one (--json always does).',
  run({ positional, flags }) {
    return withStore(targetOf(positional[0], flags), {}, (store) => {
      const s = store.stats();
      const u32 = new Uint32Array(store.buffer);
      const header = {
        magic: `0x${u32[AT.HEADER.MAGIC].toString(16)}`,
        version: u32[AT.HEADER.VERSION],
        totalSize: s.bytesTotal,
        bucketCount: u32[AT.HEADER.BUCKET_COUNT],
        grantedEntries: u32[AT.HEADER.GRANTED_ENTRIES],
        maxEntries: u32[AT.HEADER.MAX_ENTRIES],
        maxNamespaces: u32[AT.HEADER.MAX_NAMESPACES],
        freeHead: u32[AT.HEADER.FREE_HEAD],
        gcCounter: u32[AT.HEADER.GC_COUNTER],
      };
      const namespaces = Object.entries(s.namespaceCounts).map(([name, entries]) => ({ name, entries }));
      const fill = {
        entries: percent(s.entries, s.maxEntries),
        bytes: percent(s.bytesLive, s.bytesLive + s.bytesFree),
        fragmentation: percent(s.fragmentation, 1),
      };
      if (flags.json) {
        printJson({ engine: store.engine, formatVersion: C.FORMAT_VERSION, header, namespaces, fill, stats: s });
        return EXIT.OK;
      }
      process.stdout.write('header\n' + fields(Object.entries(header)));
      const shown = shownNamespaces(s, flags.all);
      process.stdout.write('\n' + table(['namespace', 'entries'], shown.names.map((n) => [n, s.namespaceCounts[n]])) + shown.note);
      process.stdout.write('\n' + fields([
        ['namespaces', `${s.namespaces} of ${s.maxNamespaces}`],
        ['entries', `${s.entries} of ${s.maxEntries} (${fill.entries})`],
        ['bytes live', `${s.bytesLive} of ${s.bytesLive + s.bytesFree} (${fill.bytes})`],
        ['fragmentation', `${fill.fragmentation} (${s.bytesFreeLists} bytes on free lists)`],
        ['largest free', `${s.bytesLargestFree} bytes (the most one large value can take)`],
      ]));
      return EXIT.OK;
    });
  },
};
