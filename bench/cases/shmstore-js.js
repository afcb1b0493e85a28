'use strict';
const { shmstoreCase } = require('../lib/shmstore-case');

module.exports = shmstoreCase('js', 'shmstore pure-JS');
