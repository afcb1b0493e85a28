'use strict';
// lmdb-js with its default durability (on Linux: sync commits with overlappingSync, i.e. every
// putSync/removeSync commits its own transaction and the fsync of that commit overlaps with the
// following transactions).
const { lmdbCase } = require('../lib/lmdb-case');

module.exports = lmdbCase('lmdb', 'lmdb (default sync)', {});
