'use strict';
// The native engine with the read cache off (readCache: false): every get reads through the
// engine. Its ratio to shmstore-native is what the read cache saves, or costs.
const { shmstoreCase } = require('../lib/shmstore-case');

module.exports = shmstoreCase('native', 'shmstore native, readCache: false', false, false, true);
