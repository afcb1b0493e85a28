'use strict';
// The native engine with latency histograms on: every get/set/delete/getMany/setMany is
// timed (docs/api.md, Latency histograms). Its ratio to shmstore-native is the cost of turning them on.
const { shmstoreCase } = require('../lib/shmstore-case');

module.exports = shmstoreCase('native', 'shmstore native, opened with latency: true (histograms on)', false, true);
