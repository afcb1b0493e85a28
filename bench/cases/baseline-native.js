'use strict';
// The native engine of the checkout named by SHMSTORE_BASELINE (before/after in one run).
const { shmstoreCase } = require('../lib/shmstore-case');

module.exports = shmstoreCase('native', 'shmstore native, baseline checkout', true);
