'use strict';
// `shmstore wal inspect <dir|file>`: persist.inspect() of a persistence directory, a log file or a
// snapshot file, without opening the store and without changing anything (docs/api.md, CLI).
// Exit 2 when a file is damaged (a bad header, a snapshot that fails its checks); a damaged tail
// of a log (what a crash leaves, cut by the next recovery) is reported and is not a failure.
const path = require('path');
const { EXIT, CliError, printJson, table } = require('./output');

const TYPES = ['set', 'delete', 'clear', 'nsCreate', 'nsDrop', 'nsSettings'];
const hex = (lsn) => (lsn === undefined ? '' : `0x${lsn.toString(16)}`);

function human(report) {
  const files = report.files;
  if (report.dir !== undefined) process.stdout.write(`${report.dir}: ${files.length} file(s)\n\n`);
  if (files.length === 0) return;
  process.stdout.write(table(['file', 'kind', 'status', 'startLsn', 'end', 'records', 'bytes', 'tail'], files.map((f) => [
    path.basename(f.file), f.kind, f.ok ? 'ok' : 'damaged', hex(f.startLsn), hex(f.end), f.ok ? f.records : '', f.bytes,
    f.kind !== 'log' || !f.ok ? '' : f.cutBytes > 0 ? `${f.cutBytes} bytes damaged` : f.zeroBytes > 0 ? `${f.zeroBytes} bytes free` : '',
  ])));
  const logs = files.filter((f) => f.kind === 'log' && f.ok);
  if (logs.length) process.stdout.write('\n' + table(['log', ...TYPES], logs.map((f) => [path.basename(f.file), ...TYPES.map((t) => f.types[t])])));
  const notes = [];
  for (const f of files) {
    if (!f.ok) notes.push(`damaged: ${path.basename(f.file)}: ${f.error}`);
    else if (f.cutBytes > 0) notes.push(`damaged tail: ${path.basename(f.file)}: ${f.cutBytes} bytes after LSN ${hex(f.end)} (${f.reason}); a recovery cuts them`);
  }
  if (notes.length) process.stdout.write('\n' + notes.join('\n') + '\n');
}

module.exports = {
  usage: 'wal inspect <dir|file> [--json]',
  summary: 'report on a persistence directory, log or snapshot: records by type, damaged tails, snapshots',
  help: 'Reads the files only: the store need not exist and nothing is changed. For each file: its kind,\n' +
    'status, first LSN, the LSN after its valid records (end), records and bytes; for a log, the\n' +
    'records by type and the bytes after its valid records: zeros (free, preallocated) or a damaged\n' +
    'tail a recovery cuts (with the reason). Exit 2 when a file is damaged (a bad log header or\n' +
    'snapshot); a damaged log tail alone is exit 0.',
  run({ positional: [sub, target], flags }) {
    if (sub !== 'inspect') throw new CliError(sub === undefined ? 'wal needs a subcommand: wal inspect <dir|file> (see --help)' : `unknown wal subcommand '${sub}' (see --help)`);
    if (target === undefined) throw new CliError('wal inspect needs <dir|file> (see --help)');
    const { inspect } = require('../../persist/inspect');
    const report = inspect(target);
    if (flags.json) printJson(report);
    else human(report);
    return report.files.every((f) => f.ok) ? EXIT.OK : EXIT.DAMAGED;
  },
};
