'use strict';
// The pure-JS engine with latency histograms on: every get/set/delete/getMany/setMany is
// timed (docs/api.md, Latency histograms). Its ratio to shmstore-js is the cost of turning them on.
const { shmstoreCase } = require('../lib/shmstore-case');

module.exports = shmstoreCase('js', 'shmstore pure JS, opened with latency: true (histograms on)', false, true);
