'use strict';
// `shmstore dump <store> [ns]`: every entry as one JSON line, namespace by namespace.
const { EXIT, entryRecord, write } = require('./output');
const { targetOf, withStore } = require('./target');

module.exports = {
  usage: 'dump <store> [ns] [--path]',
  summary: 'write the entries (of one namespace) as JSON lines: {"ns","key","value"} or {"ns","key","bytes"}',
  help: 'A string or JSON value is written as "value", bytes as base64 in "bytes". `load` reads this back.',
  run({ positional: [store, ns], flags }) {
    return withStore(targetOf(store, flags), {}, async (s) => {
      const namespaces = ns === undefined ? s.namespaces() : [ns];
      for (const name of namespaces) {
        // One namespace's keys at a time; the values are read one by one as they are written out.
        for (const key of s.keys(name)) {
          const value = s.get(name, key);
          if (value !== undefined) await write(JSON.stringify(entryRecord(name, key, value)) + '\n');
        }
      }
      return EXIT.OK;
    });
  },
};
