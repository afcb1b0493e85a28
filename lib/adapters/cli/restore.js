'use strict';
// `shmstore restore <backupDir> --name <name>|--path <file> --dir <dir>`: Store.restore(). The
// backup is checked completely first; a damaged one is refused (exit 2) with nothing created.
const path = require('path');
const { EXIT, CliError, printJson } = require('./output');
const { persistDir } = require('./target');

module.exports = {
  usage: 'restore <backupDir> (--name <name> | --path <file>) --dir <dir> [--json]',
  summary: 'create the persisted store <name> (or <file>) with its directory <dir> from a backup',
  help: 'Checks every file of the backup first: a damaged or incomplete backup is refused with exit 2\n' +
    'and nothing is created. The store must not exist yet and <dir> must not hold a store (exit 1).\n' +
    'The restored store has the original\'s size, geometry and sync options.',
  // Here --path names the target file (for the other commands it is a switch).
  valueFlags: ['path'],
  run({ positional: [from], flags }) {
    if (from === undefined) throw new CliError('restore needs <backupDir> (see --help)');
    if ((flags.name === undefined) === (flags.path === undefined)) throw new CliError('restore needs one of --name <name> and --path <file> (see --help)');
    const dir = persistDir(flags, 'restore');
    const native = require('../../base/native');
    if (!native.addon) throw native.loadError;
    const { Store } = require('../../persist/store');
    const target = flags.name !== undefined ? { name: flags.name } : { path: path.resolve(flags.path) };
    const s = Store.restore(from, { ...target, dir });
    try {
      const r = { entries: s.stats().entries, recovery: s.persistence.recovery };
      if (flags.json) printJson({ ...target, dir, ...r });
      else process.stdout.write(`restored ${path.resolve(from)} as store '${target.name ?? target.path}' (${dir}): ${r.entries} entries\n`);
    } finally {
      s.close();
    }
    return EXIT.OK;
  },
};
