'use strict';
// `shmstore repair <store>`: a repair pass, then the verify() report of the result.
const { targetOf, withStore } = require('./target');
const { report } = require('./verify');

module.exports = {
  usage: 'repair <store> [--path] [--json]',
  summary: 'run a repair pass, then verify; exit 2 when still damaged',
  run({ positional, flags }) {
    return withStore(targetOf(positional[0], flags), { write: true }, (store) => {
      store.repair();
      return report(store.verify(), flags);
    });
  },
};
