'use strict';
// `shmstore restore <backupDir> --name <name>|--path <file> --dir <dir> [--mode <octal>]`:
// Store.restore(). The backup is checked completely first; a damaged one is refused (exit 2) with
// nothing created, as is a directory holding no backup (exit 1: ERR_SHM_NOT_FOUND).
const path = require('path');
const { EXIT, CliError, printJson } = require('./output');
const { persistDir } = require('./target');

// The permission bits --mode gives: one to three octal digits (0 to 777), bare or after 0 or 0o.
// A fourth digit (chmod's set-user-ID, set-group-ID and sticky bits, or a second leading 0) is
// refused: a segment's mode is 0..0o777 (Segment.create).
function modeOf(text) {
  const m = /^(?:0o?)?([0-7]{1,3})$/.exec(text);
  if (m === null) throw new CliError(`restore: --mode takes permission bits in octal, 0 to 777 (such as 640), not '${text}'`);
  return parseInt(m[1], 8);
}

module.exports = {
  usage: 'restore <backupDir> (--name <name> | --path <file>) --dir <dir> [--mode <octal>] [--json]',
  summary: 'create the persisted store <name> (or <file>) with its directory <dir> from a backup',
  help: 'Checks every file of the backup first: a damaged or incomplete backup is refused with exit 2\n' +
    'and nothing is created; a <backupDir> that holds no backup (missing, or empty) is exit 1.\n' +
    'The store must not exist yet and <dir> must not hold a store (exit 1).\n' +
    'The restored store has the original\'s size, geometry, eviction policy, sync options and segment\n' +
    'permissions; --mode <octal> (0 to 777: 660, 0660 or 0o660) gives its segment other permissions.',
  // Here --path names the target file (for the other commands it is a switch).
  valueFlags: ['path', 'mode'],
  run({ positional: [from], flags }) {
    if (from === undefined) throw new CliError('restore needs <backupDir> (see --help)');
    if ((flags.name === undefined) === (flags.path === undefined)) throw new CliError('restore needs one of --name <name> and --path <file> (see --help)');
    const dir = persistDir(flags, 'restore');
    const mode = flags.mode === undefined ? undefined : modeOf(flags.mode);
    const native = require('../../base/native');
    if (!native.addon) throw native.loadError;
    const { Store } = require('../../persist/store');
    const target = flags.name !== undefined ? { name: flags.name } : { path: path.resolve(flags.path) };
    const s = Store.restore(from, { ...target, dir, ...(mode === undefined ? {} : { mode }) });
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
