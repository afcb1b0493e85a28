'use strict';
// `shmstore checkpoint <store> --dir <dir>`: store.checkpoint() of a persisted store.
const { EXIT, printJson } = require('./output');
const { targetOf, persistDir, withStore } = require('./target');

module.exports = {
  usage: 'checkpoint <store> --dir <dir> [--path] [--json]',
  summary: 'write a snapshot of a persisted store and remove the log it covers',
  help: '<dir> is the store\'s persistence directory. Writers keep writing meanwhile. Prints the\n' +
    'snapshot\'s first LSN, records (its entries and namespace settings) and bytes (--json: { startLsn,\n' +
    'records, bytes, ms }).',
  run({ positional: [store], flags }) {
    const dir = persistDir(flags, 'checkpoint');
    return withStore(targetOf(store, flags), { dir }, (s) => {
      const r = s.checkpoint();
      if (flags.json) printJson(r);
      else process.stdout.write(`checkpoint: ${r.records} records, ${r.bytes} bytes, log replayed from LSN 0x${r.startLsn.toString(16)} (${r.ms} ms)\n`);
      return EXIT.OK;
    });
  },
};
