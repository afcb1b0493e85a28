'use strict';
// `require('shmstore/keyv')`: the Keyv storage adapter (docs/api.md, "Keyv adapter").
module.exports = require('./lib/adapters/keyv/adapter').KeyvShmstore;
module.exports.KeyvShmstore = module.exports;
