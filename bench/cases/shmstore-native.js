'use strict';
const { shmstoreCase } = require('../lib/shmstore-case');

module.exports = shmstoreCase('native', 'shmstore native');
