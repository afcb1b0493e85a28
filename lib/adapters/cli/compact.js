'use strict';
// `shmstore compact <store> [--max-bytes n] [--max-ms n]`: store.compact({ maxBytes, maxMs })
// (incremental compaction steps: live entries moved, free runs merged; a whole sweep without a
// bound), then what it changed: the free bytes and the largest contiguous free space before and
// after, and what the steps did.
const { EXIT, CliError, printJson, fields } = require('./output');
const { targetOf, withStore } = require('./target');

// A bound given on the command line: a number (an integer for --max-bytes) in range, or absent.
function boundOf(flags, name, integer) {
  if (flags[name] === undefined) return undefined;
  const n = Number(flags[name]);
  if (flags[name] === '' || !Number.isFinite(n) || (integer ? !Number.isInteger(n) || n < 1 : n < 0)) {
    throw new CliError(`--${name} must be ${integer ? 'an integer >= 1' : 'a number >= 0'}, not '${flags[name]}'`);
  }
  return n;
}

module.exports = {
  usage: 'compact <store> [--max-bytes n] [--max-ms n] [--path] [--json]',
  summary: 'move live entries and merge free blocks, so that freed space serves any size; show what changed',
  help: 'Runs incremental compaction steps: each takes a window of at most 64 KiB of the pool, moves its\n' +
    'live entries into holes elsewhere and merges its free blocks, holding the allocator lock for one\n' +
    'window only (readers and writers keep running). --max-bytes bounds the pool bytes the steps cover,\n' +
    '--max-ms their time; without either, one whole sweep of the pool. Prints the free bytes and the\n' +
    'largest contiguous free space, the most one large value can take, before and after.',
  valueFlags: ['max-bytes', 'max-ms'],
  run({ positional, flags }) {
    const opts = {};
    const maxBytes = boundOf(flags, 'max-bytes', true);
    const maxMs = boundOf(flags, 'max-ms', false);
    if (maxBytes !== undefined) opts.maxBytes = maxBytes;
    if (maxMs !== undefined) opts.maxMs = maxMs;
    return withStore(targetOf(positional[0], flags), { write: true }, (store) => {
      const r = store.compact(opts);
      if (flags.json) printJson(r);
      else {
        process.stdout.write(fields([['bytesFree', r.bytesFree], ['largestFreeBefore', r.bytesLargestFreeBefore],
          ['largestFree', r.bytesLargestFree], ['steps', r.steps], ['movedEntries', r.movedEntries],
          ['mergedRuns', r.mergedRuns], ['done', r.done], ['ms', r.ms.toFixed(1)]]));
      }
      return EXIT.OK;
    });
  },
};
