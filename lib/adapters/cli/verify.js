'use strict';
// `shmstore verify <store>`: store.verify(); exit 2 when the store is damaged.
const { EXIT, printJson, fields } = require('./output');
const { targetOf, withStore } = require('./target');

/** Prints a verify() report; returns the exit code it means. */
function report(r, flags) {
  if (flags.json) printJson(r);
  else {
    for (const e of r.errors) process.stdout.write(`error: ${e}\n`);
    process.stdout.write(fields([['status', r.ok ? 'ok' : `damaged (${r.errors.length} problem(s))`],
      ['entries', r.entries], ['liveUnits', r.liveUnits], ['freeUnits', r.freeUnits], ['leakedUnits', r.leakedUnits]]));
  }
  return r.ok ? EXIT.OK : EXIT.DAMAGED;
}

module.exports = {
  usage: 'verify <store> [--path] [--json]',
  summary: 'check the whole structure; exit 2 and list the problems when damaged',
  report,
  run({ positional, flags }) {
    return withStore(targetOf(positional[0], flags), {}, (store) => report(store.verify(), flags));
  },
};
