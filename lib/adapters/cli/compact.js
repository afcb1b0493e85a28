'use strict';
// `shmstore compact <store>`: store.compact() (one coalescing pass over the free space), then
// what it changed: the free bytes and the largest contiguous free space before and after.
const { EXIT, printJson, fields } = require('./output');
const { targetOf, withStore } = require('./target');

module.exports = {
  usage: 'compact <store> [--path] [--json]',
  summary: 'merge adjacent free blocks, so that freed space serves any size; show what changed',
  help: 'Runs one coalescing pass (the repair pass, which holds the store\'s locks while it walks the\n' +
    'pool: writers wait meanwhile) and prints the free bytes and the largest contiguous free space,\n' +
    'the most one large value can take, before and after.',
  run({ positional, flags }) {
    return withStore(targetOf(positional[0], flags), { write: true }, (store) => {
      const r = store.compact();
      if (flags.json) printJson(r);
      else {
        process.stdout.write(fields([['bytesFree', r.bytesFree], ['largestFreeBefore', r.bytesLargestFreeBefore],
          ['largestFree', r.bytesLargestFree], ['ms', r.ms.toFixed(1)]]));
      }
      return EXIT.OK;
    });
  },
};
