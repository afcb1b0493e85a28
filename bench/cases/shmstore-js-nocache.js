'use strict';
// The pure-JS engine with the read cache off (readCache: false): every get reads through the
// engine. Its ratio to shmstore-js is what the read cache saves, or costs.
const { shmstoreCase } = require('../lib/shmstore-case');

module.exports = shmstoreCase('js', 'shmstore pure-JS, readCache: false', false, false, true);
