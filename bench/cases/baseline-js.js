'use strict';
// The pure-JS engine of the checkout named by SHMSTORE_BASELINE (before/after in one run).
const { shmstoreCase } = require('../lib/shmstore-case');

module.exports = shmstoreCase('js', 'shmstore pure JS, baseline checkout', true);
