'use strict';
// lmdb-js with noSync: true (no fsync at all; a machine crash can lose or corrupt data).
const { lmdbCase } = require('../lib/lmdb-case');

module.exports = lmdbCase('lmdb-nosync', 'lmdb noSync', { noSync: true });
