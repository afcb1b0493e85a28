'use strict';
// `shmstore backup <store> --dir <dir> <backupDir>`: store.backup(backupDir) of a persisted store.
const path = require('path');
const { EXIT, CliError, printJson } = require('./output');
const { targetOf, persistDir, withStore } = require('./target');

module.exports = {
  usage: 'backup <store> <backupDir> --dir <dir> [--path] [--json]',
  summary: 'copy what a restore needs into <backupDir> (only what changed since a backup there)',
  help: '<dir> is the store\'s persistence directory. The backup holds every write acknowledged\n' +
    'before it started; writers keep writing meanwhile. Prints the files and the bytes copied of\n' +
    'the bytes the backup holds (--json: { files, bytesCopied, bytesTotal, end, ms }).',
  run({ positional: [store, to], flags }) {
    const dir = persistDir(flags, 'backup');
    if (to === undefined) throw new CliError('backup needs <store> <backupDir> (see --help)');
    return withStore(targetOf(store, flags), { dir }, (s) => {
      const r = s.backup(to);
      if (flags.json) printJson(r);
      else process.stdout.write(`backup in ${path.resolve(to)}: ${r.files} file(s), ${r.bytesCopied} of ${r.bytesTotal} bytes copied, up to LSN 0x${r.end.toString(16)}\n`);
      return EXIT.OK;
    });
  },
};
